//! JSON read exactly as Python reads it: `json.loads(bytes)` (the encoding `json.detect_encoding`
//! picks, decoded with `surrogatepass`), and `json.loads(open(path, encoding="utf-8").read())`
//! (transformers' configs: strict UTF-8, and a BOM is an error), then the grammar of the
//! pure-Python decoder (`json.decoder.py_scanstring`, `json.scanner.py_make_scanner`,
//! `JSONObject`, `JSONArray`), whose only differences from the C accelerator are leniencies
//! (`\u` escapes read by `int(esc, 16)`: whitespace, a sign, `0x`, underscores and Unicode
//! digits; Unicode decimal digits in numbers), so a document either path accepts is read here.
//!
//! Python's `str` may hold lone surrogates (`"\ud800"`, or UTF-8/16/32 bytes `surrogatepass`
//! keeps): text is held as generalized UTF-8 (each code point encoded on its own, surrogates
//! included), which keeps keys exact; consumers see it as a Rust string with U+FFFD for each
//! lone surrogate, and a flag. Of a repeated key the last value counts (`dict(pairs)`), but
//! consumers see every pair and the duplicates are counted. `NaN`, `Infinity`, `-Infinity` are
//! numbers; integers of more than 4,300 digits are refused (`int()`'s limit); nesting is
//! bounded by [`MAX_DEPTH`] (CPython refuses past its recursion limit, about 1,000 levels
//! before 3.12; later versions read deeper, so a deeper document is an error, never skipped).
//!
//! The reader is a pull parser (no recursion); [`Deserializer`] serves it to serde visitors
//! (streaming, memory bounded by nesting), and [`parse`] builds an exact [`Value`] tree.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// Deepest nesting read: CPython 3.11 refuses documents nested about 990 deep (the recursion
/// limit), 3.12 about 1,500 (the C recursion limit), 3.13 about 10,000; 3.14 checks the stack
/// itself and may go deeper, so past this a document is an error (fail closed).
pub const MAX_DEPTH: usize = 10_000;

/// The stack of the thread the recursive walkers run on ([`with_stack`]): room for
/// [`MAX_DEPTH`] levels of serde visitors in unoptimized builds (virtual memory; only what a
/// document's depth touches is used).
const STACK: usize = 256 << 20;

/// Run `f` on a thread whose stack holds [`MAX_DEPTH`] levels of recursive walking (serde
/// visitors and [`Value`] trees recurse per level; scans run on rayon's 2 MiB stacks). `None`
/// when no thread could be made: the caller fails closed. A panic in `f` is resumed here.
pub fn with_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name("pyjson".into())
            .stack_size(STACK)
            .spawn_scoped(s, f)
            .ok()?;
        match h.join() {
            Ok(v) => Some(v),
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// `int()` refuses decimal strings of more digits (`sys.get_int_max_str_digits()`, 3.11+).
pub const MAX_INT_DIGITS: usize = 4300;

/// Why a document was refused (Python raises too, except when `limit` is set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub msg: String,
    /// Byte offset in the decoded text (generalized UTF-8).
    pub pos: usize,
    /// A limit of this reader (nesting depth), not a refusal of Python's.
    pub limit: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.msg, self.pos)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            msg: msg.to_string(),
            pos: 0,
            limit: false,
        }
    }
}

fn err(msg: impl Into<String>, pos: usize) -> Error {
    Error {
        msg: msg.into(),
        pos,
        limit: false,
    }
}

/// Decoded text: a Python `str` as generalized UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub bytes: Vec<u8>,
    /// The codec Python used (`json.detect_encoding`'s answer, or `utf-8` for the text view).
    pub encoding: &'static str,
}

/// Append code point `cp` (surrogates included) as generalized UTF-8.
fn push_cp(out: &mut Vec<u8>, cp: u32) {
    match char::from_u32(cp) {
        Some(c) => {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
        None => {
            // A surrogate (callers never pass more than 0x10FFFF): three bytes, as UTF-8
            // would encode it.
            out.push(0xe0 | (cp.wrapping_shr(12) & 0x0f) as u8);
            out.push(0x80 | (cp.wrapping_shr(6) & 0x3f) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
    }
}

/// The code point starting at `b[i]` of generalized UTF-8, and its length.
fn cp_at(b: &[u8], i: usize) -> Option<(u32, usize)> {
    let b0 = u32::from(*b.get(i)?);
    let cont = |k: usize| -> Option<u32> { Some(u32::from(*b.get(i.checked_add(k)?)?) & 0x3f) };
    if b0 < 0x80 {
        Some((b0, 1))
    } else if b0 < 0xe0 {
        Some((((b0 & 0x1f) << 6) | cont(1)?, 2))
    } else if b0 < 0xf0 {
        Some((((b0 & 0x0f) << 12) | (cont(1)? << 6) | cont(2)?, 3))
    } else {
        Some((
            ((b0 & 0x07) << 18) | (cont(1)? << 12) | (cont(2)? << 6) | cont(3)?,
            4,
        ))
    }
}

/// Generalized UTF-8 as a Rust string: each lone surrogate becomes U+FFFD. Also says whether
/// there was one.
pub fn lossy(b: &[u8]) -> (Cow<'_, str>, bool) {
    if let Ok(s) = std::str::from_utf8(b) {
        return (Cow::Borrowed(s), false);
    }
    let mut out = String::with_capacity(b.len());
    let mut i = 0usize;
    while let Some((cp, n)) = cp_at(b, i) {
        out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
        i = i.saturating_add(n);
    }
    (Cow::Owned(out), true)
}

/// The encoding `json.loads(bytes)` decodes with (`json.detect_encoding`).
pub fn detect_encoding(b: &[u8]) -> &'static str {
    match b {
        [0, 0, 0xfe, 0xff, ..] | [0xff, 0xfe, 0, 0, ..] => "utf-32",
        [0xfe, 0xff, ..] | [0xff, 0xfe, ..] => "utf-16",
        [0xef, 0xbb, 0xbf, ..] => "utf-8-sig",
        [0, b1, _, _, ..] => {
            if *b1 != 0 {
                "utf-16-be"
            } else {
                "utf-32-be"
            }
        }
        [_, 0, b2, b3, ..] => {
            if *b2 != 0 || *b3 != 0 {
                "utf-16-le"
            } else {
                "utf-32-le"
            }
        }
        [0, _] => "utf-16-be",
        [_, 0] => "utf-16-le",
        _ => "utf-8",
    }
}

/// UTF-8 as Python decodes it; `surrogatepass` also takes encoded surrogates (ED A0..BF xx).
fn decode_utf8(b: &[u8], surrogatepass: bool) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(b.len());
    let mut rest = b;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.extend_from_slice(s.as_bytes());
                return Ok(out);
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.extend_from_slice(good);
                let at = b
                    .len()
                    .saturating_sub(rest.len())
                    .saturating_add(good.len());
                match bad {
                    [0xed, b1 @ 0xa0..=0xbf, b2 @ 0x80..=0xbf, ..] if surrogatepass => {
                        out.extend_from_slice(&[0xed, *b1, *b2]);
                        rest = bad.get(3..).unwrap_or_default();
                    }
                    _ => {
                        return Err(err(
                            format!("'utf-8' codec can't decode byte at position {at}"),
                            at,
                        ))
                    }
                }
            }
        }
    }
}

/// UTF-16 or UTF-32 code units as Python decodes them with `surrogatepass`.
fn decode_units(b: &[u8], width: usize, big: bool) -> Result<Vec<u8>, Error> {
    if !b.len().is_multiple_of(width) {
        return Err(err("truncated data", b.len()));
    }
    let mut out = Vec::with_capacity(b.len());
    let unit = |c: &[u8]| -> u32 {
        let fold = |acc: u32, x: &u8| acc.wrapping_shl(8) | u32::from(*x);
        if big {
            c.iter().fold(0, fold)
        } else {
            c.iter().rev().fold(0, fold)
        }
    };
    let units: Vec<u32> = b.chunks_exact(width).map(unit).collect();
    let mut i = 0usize;
    while let Some(&u) = units.get(i) {
        i = i.saturating_add(1);
        if width == 4 {
            if u > 0x10ffff {
                return Err(err(
                    "code point not in range(0x110000)",
                    i.saturating_mul(4),
                ));
            }
            push_cp(&mut out, u);
            continue;
        }
        if (0xd800..0xdc00).contains(&u) {
            if let Some(&lo) = units.get(i).filter(|lo| (0xdc00..0xe000).contains(*lo)) {
                i = i.saturating_add(1);
                let cp = 0x10000u32
                    .saturating_add((u & 0x3ff).wrapping_shl(10))
                    .saturating_add(lo & 0x3ff);
                push_cp(&mut out, cp);
                continue;
            }
        }
        // A lone surrogate is kept (surrogatepass).
        push_cp(&mut out, u);
    }
    Ok(out)
}

/// The text `json.loads(bytes)` decodes: `bytes.decode(detect_encoding(b), 'surrogatepass')`.
pub fn decode_bytes(b: &[u8]) -> Result<Text, Error> {
    let encoding = detect_encoding(b);
    let bytes = match encoding {
        "utf-32" => decode_units(b.get(4..).unwrap_or_default(), 4, b.first() == Some(&0))?,
        "utf-16" => decode_units(b.get(2..).unwrap_or_default(), 2, b.first() == Some(&0xfe))?,
        "utf-32-be" => decode_units(b, 4, true)?,
        "utf-32-le" => decode_units(b, 4, false)?,
        "utf-16-be" => decode_units(b, 2, true)?,
        "utf-16-le" => decode_units(b, 2, false)?,
        "utf-8-sig" => decode_utf8(b.get(3..).unwrap_or_default(), true)?,
        _ => decode_utf8(b, true)?,
    };
    Ok(Text { bytes, encoding })
}

/// The text of `json.loads(open(path, encoding="utf-8").read())`: strict UTF-8, and a leading
/// BOM refused (`json.loads(str)` raises "Unexpected UTF-8 BOM").
pub fn decode_utf8_text(b: &[u8]) -> Result<Text, Error> {
    let bytes = decode_utf8(b, false)?;
    if bytes.starts_with(&[0xef, 0xbb, 0xbf]) {
        return Err(err("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0));
    }
    Ok(Text {
        bytes,
        encoding: "utf-8",
    })
}

/// The first code point of every block of ten Unicode decimal digits (`str.isdecimal()`,
/// which is what `\d` in `re` and `int()`/`float()` take), Unicode 14 (CPython 3.11).
const DECIMAL_ZEROS: &[u32] = &[
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66,
    0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90,
    0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
    0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
    0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// The value of a Unicode decimal digit (`\d`).
fn decimal(cp: u32) -> Option<u8> {
    let i = DECIMAL_ZEROS.partition_point(|z| *z <= cp);
    let zero = *DECIMAL_ZEROS.get(i.checked_sub(1)?)?;
    let d = cp.checked_sub(zero)?;
    (d < 10).then_some(d as u8)
}

/// Whitespace `int()` strips (`str.isspace()` less U+001C..U+001F).
fn int_space(cp: u32) -> bool {
    matches!(
        cp,
        0x09..=0x0d
            | 0x20
            | 0x85
            | 0xa0
            | 0x1680
            | 0x2000..=0x200a
            | 0x2028
            | 0x2029
            | 0x202f
            | 0x205f
            | 0x3000
    )
}

/// `int(esc, 16)` on the four code points of a `\u` escape; `None` where Python raises.
fn int16(esc: &[u32]) -> Option<i64> {
    let mut s = esc;
    while let [c, rest @ ..] = s {
        if !int_space(*c) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., c] = s {
        if !int_space(*c) {
            break;
        }
        s = rest;
    }
    let mut negative = false;
    if let [c, rest @ ..] = s {
        if *c == u32::from(b'+') || *c == u32::from(b'-') {
            negative = *c == u32::from(b'-');
            s = rest;
        }
    }
    let mut prefixed = false;
    if let [z, x, rest @ ..] = s {
        if *z == u32::from(b'0') && (*x == u32::from(b'x') || *x == u32::from(b'X')) {
            s = rest;
            prefixed = true;
        }
    }
    let mut value: i64 = 0;
    let mut digits = 0usize;
    let mut prev_underscore = false;
    for (k, c) in s.iter().enumerate() {
        if *c == u32::from(b'_') {
            // One underscore between digits (or right after the 0x prefix).
            if prev_underscore || (k == 0 && !prefixed) {
                return None;
            }
            prev_underscore = true;
            continue;
        }
        let d = match char::from_u32(*c).and_then(|ch| ch.to_digit(16)) {
            Some(d) if *c < 0x80 => d,
            _ => u32::from(decimal(*c)?),
        };
        prev_underscore = false;
        digits = digits.saturating_add(1);
        value = value.saturating_mul(16).saturating_add(i64::from(d));
    }
    if digits == 0 || prev_underscore {
        return None;
    }
    Some(if negative {
        value.saturating_neg()
    } else {
        value
    })
}

/// One thing the reader reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Null,
    Bool(bool),
    /// An integer, its digits made ASCII (`-` and up to [`MAX_INT_DIGITS`] digits).
    Int(String),
    Float(f64),
    /// `NaN`, `Infinity` or `-Infinity`.
    Constant(&'static str),
    /// A string value (generalized UTF-8).
    Str(Vec<u8>),
    /// An object's key (generalized UTF-8).
    Key(Vec<u8>),
    StartArray,
    EndArray,
    StartObject,
    EndObject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Top,
    /// After `[`: `]` or a value.
    ArrayFirst,
    /// After `{`: `}` or a key.
    ObjectFirst,
    /// After `,` in an object: a key.
    Key,
    /// After `:` or `,` in an array: a value.
    Value,
    AfterValue,
    Done,
}

/// What the reader noticed that Python accepts but a stricter reader would not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Oddities {
    /// Repeated keys of one object (lossy, the first 16), and how many in all.
    pub duplicates: Vec<String>,
    pub duplicate_count: u64,
    /// A string holds a lone surrogate.
    pub surrogates: bool,
    /// `NaN`, `Infinity` or `-Infinity`.
    pub nonfinite: bool,
    /// Deepest nesting reached.
    pub depth: usize,
}

/// The pull parser over decoded text.
pub struct Reader<'t> {
    s: &'t [u8],
    pos: usize,
    state: State,
    /// Open containers: `Some(keys)` for an object, `None` for an array.
    stack: Vec<Option<HashSet<Vec<u8>>>>,
    pub odd: Oddities,
}

impl<'t> Reader<'t> {
    pub fn new(text: &'t [u8]) -> Self {
        Reader {
            s: text,
            pos: 0,
            state: State::Top,
            stack: Vec::new(),
            odd: Oddities::default(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos = self.pos.saturating_add(1);
        }
    }

    fn starts(&self, lit: &[u8]) -> bool {
        self.s.get(self.pos..).is_some_and(|r| r.starts_with(lit))
    }

    fn bump(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n);
    }

    /// The next event; `None` once the document has ended (after checking nothing follows).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Event>, Error> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Top => {
                    self.ws();
                    return self.value().map(Some);
                }
                State::ArrayFirst => {
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.bump(1);
                        self.stack.pop();
                        self.state = State::AfterValue;
                        return Ok(Some(Event::EndArray));
                    }
                    return self.value().map(Some);
                }
                State::Value => {
                    self.ws();
                    return self.value().map(Some);
                }
                State::ObjectFirst | State::Key => {
                    self.ws();
                    match self.peek() {
                        Some(b'}') if self.state == State::ObjectFirst => {
                            self.bump(1);
                            self.stack.pop();
                            self.state = State::AfterValue;
                            return Ok(Some(Event::EndObject));
                        }
                        Some(b'"') => {
                            self.bump(1);
                            let key = self.string()?;
                            self.ws();
                            if self.peek() != Some(b':') {
                                return Err(err("Expecting ':' delimiter", self.pos));
                            }
                            self.bump(1);
                            if let Some(Some(keys)) = self.stack.last_mut() {
                                if !keys.insert(key.clone()) {
                                    self.odd.duplicate_count =
                                        self.odd.duplicate_count.saturating_add(1);
                                    if self.odd.duplicates.len() < 16 {
                                        self.odd.duplicates.push(lossy(&key).0.into_owned());
                                    }
                                }
                            }
                            self.state = State::Value;
                            return Ok(Some(Event::Key(key)));
                        }
                        Some(b'}') => {
                            return Err(err(
                                "Illegal trailing comma before end of object",
                                self.pos,
                            ))
                        }
                        _ => {
                            return Err(err(
                                "Expecting property name enclosed in double quotes",
                                self.pos,
                            ))
                        }
                    }
                }
                State::AfterValue => {
                    self.ws();
                    let Some(top) = self.stack.last() else {
                        if self.pos < self.s.len() {
                            return Err(err("Extra data", self.pos));
                        }
                        self.state = State::Done;
                        return Ok(None);
                    };
                    let object = top.is_some();
                    match (self.peek(), object) {
                        (Some(b']'), false) => {
                            self.bump(1);
                            self.stack.pop();
                            return Ok(Some(Event::EndArray));
                        }
                        (Some(b'}'), true) => {
                            self.bump(1);
                            self.stack.pop();
                            return Ok(Some(Event::EndObject));
                        }
                        (Some(b','), _) => {
                            self.bump(1);
                            if object {
                                self.state = State::Key;
                            } else {
                                self.ws();
                                if self.peek() == Some(b']') {
                                    return Err(err(
                                        "Illegal trailing comma before end of array",
                                        self.pos,
                                    ));
                                }
                                self.state = State::Value;
                            }
                        }
                        _ => return Err(err("Expecting ',' delimiter", self.pos)),
                    }
                }
            }
        }
    }

    fn open(&mut self, object: bool) -> Result<Event, Error> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Error {
                msg: format!("nested deeper than {MAX_DEPTH} levels"),
                pos: self.pos,
                limit: true,
            });
        }
        self.bump(1);
        self.stack.push(object.then(HashSet::new));
        self.odd.depth = self.odd.depth.max(self.stack.len());
        if object {
            self.state = State::ObjectFirst;
            Ok(Event::StartObject)
        } else {
            self.state = State::ArrayFirst;
            Ok(Event::StartArray)
        }
    }

    /// `_scan_once` at the current position (whitespace already skipped by the caller).
    fn value(&mut self) -> Result<Event, Error> {
        let ev = match self.peek() {
            Some(b'"') => {
                self.bump(1);
                Event::Str(self.string()?)
            }
            Some(b'{') => return self.open(true),
            Some(b'[') => return self.open(false),
            Some(b'n') if self.starts(b"null") => {
                self.bump(4);
                Event::Null
            }
            Some(b't') if self.starts(b"true") => {
                self.bump(4);
                Event::Bool(true)
            }
            Some(b'f') if self.starts(b"false") => {
                self.bump(5);
                Event::Bool(false)
            }
            _ => match self.number()? {
                Some(ev) => ev,
                None => {
                    let c = [
                        ("NaN", "NaN"),
                        ("Infinity", "Infinity"),
                        ("-Infinity", "-Infinity"),
                    ]
                    .into_iter()
                    .find(|(lit, _)| self.starts(lit.as_bytes()));
                    match c {
                        Some((lit, name)) => {
                            self.bump(lit.len());
                            self.odd.nonfinite = true;
                            Event::Constant(name)
                        }
                        None => return Err(err("Expecting value", self.pos)),
                    }
                }
            },
        };
        self.state = State::AfterValue;
        Ok(ev)
    }

    /// Unicode decimal digits at the position (`\d*`), appended as ASCII to `out`.
    fn digits(&mut self, out: &mut String) -> usize {
        let mut n = 0usize;
        while let Some((cp, len)) = cp_at(self.s, self.pos) {
            let Some(d) = decimal(cp) else { break };
            out.push(char::from(b'0'.saturating_add(d)));
            self.bump(len);
            n = n.saturating_add(1);
        }
        n
    }

    /// `NUMBER_RE = (-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?`, then `int()` or `float()`.
    fn number(&mut self) -> Result<Option<Event>, Error> {
        let start = self.pos;
        let mut int = String::new();
        if self.peek() == Some(b'-') {
            int.push('-');
            self.bump(1);
        }
        match self.peek() {
            Some(b'0') => {
                int.push('0');
                self.bump(1);
            }
            Some(c @ b'1'..=b'9') => {
                int.push(char::from(c));
                self.bump(1);
                self.digits(&mut int);
            }
            _ => {
                self.pos = start;
                return Ok(None);
            }
        }
        let mut literal = int.clone();
        let mut float = false;
        // (\.\d+)?
        if self.peek() == Some(b'.') {
            let back = self.pos;
            self.bump(1);
            let mut frac = String::from(".");
            if self.digits(&mut frac) > 0 {
                literal.push_str(&frac);
                float = true;
            } else {
                self.pos = back;
            }
        }
        // ([eE][-+]?\d+)?
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let back = self.pos;
            let mut exp = String::from("e");
            self.bump(1);
            if let Some(c @ (b'+' | b'-')) = self.peek() {
                exp.push(char::from(c));
                self.bump(1);
            }
            if self.digits(&mut exp) > 0 {
                literal.push_str(&exp);
                float = true;
            } else {
                self.pos = back;
            }
        }
        if float {
            // float() of a literal this grammar matched never fails (overflow is inf).
            let v: f64 = literal.parse().unwrap_or(f64::NAN);
            return Ok(Some(Event::Float(v)));
        }
        let digits = int.trim_start_matches('-').len();
        if digits > MAX_INT_DIGITS {
            return Err(err(
                format!("Exceeds the limit ({MAX_INT_DIGITS} digits) for integer string conversion: value has {digits} digits"),
                start,
            ));
        }
        Ok(Some(Event::Int(int)))
    }

    /// The four code points of a `\u` escape at `at` (the `u`), as `_decode_uXXXX` reads them.
    fn escape_u(&self, at: usize) -> Result<(u32, usize), Error> {
        let mut esc = [0u32; 4];
        let mut i = at.saturating_add(1);
        for slot in esc.iter_mut() {
            let Some((cp, n)) = cp_at(self.s, i) else {
                return Err(err("Invalid \\uXXXX escape", at));
            };
            *slot = cp;
            i = i.saturating_add(n);
        }
        if esc[1] == u32::from(b'x') || esc[1] == u32::from(b'X') {
            return Err(err("Invalid \\uXXXX escape", at));
        }
        let v = int16(&esc).ok_or_else(|| err("Invalid \\uXXXX escape", at))?;
        // chr() of a negative value raises ValueError.
        let v = u32::try_from(v).map_err(|_| err("chr() arg not in range(0x110000)", at))?;
        Ok((v, i))
    }

    /// `py_scanstring` from just after the opening quote.
    fn string(&mut self) -> Result<Vec<u8>, Error> {
        let begin = self.pos.saturating_sub(1);
        let mut out = Vec::new();
        loop {
            let rest = self.s.get(self.pos..).unwrap_or_default();
            let Some(k) = rest
                .iter()
                .position(|b| matches!(b, b'"' | b'\\' | 0..=0x1f))
            else {
                self.pos = self.s.len();
                return Err(err("Unterminated string starting at", begin));
            };
            out.extend_from_slice(rest.get(..k).unwrap_or_default());
            self.bump(k);
            let term = self.peek().unwrap_or(b'"');
            self.bump(1);
            match term {
                b'"' => break,
                b'\\' => {}
                c => {
                    return Err(err(
                        format!("Invalid control character {:?} at", char::from(c)),
                        self.pos,
                    ))
                }
            }
            let Some(esc) = self.peek() else {
                return Err(err("Unterminated string starting at", begin));
            };
            let simple = match esc {
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'/' => Some(b'/'),
                b'b' => Some(0x08),
                b'f' => Some(0x0c),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'u' => None,
                _ => {
                    let (shown, _) = lossy(self.s.get(self.pos..).unwrap_or_default());
                    let c = shown.chars().next().unwrap_or('?');
                    return Err(err(format!("Invalid \\escape: {c:?}"), self.pos));
                }
            };
            if let Some(b) = simple {
                out.push(b);
                self.bump(1);
                continue;
            }
            let (mut uni, mut end) = self.escape_u(self.pos)?;
            if (0xd800..=0xdbff).contains(&uni)
                && self.s.get(end..end.saturating_add(2)) == Some(b"\\u")
            {
                let (uni2, end2) = self.escape_u(end.saturating_add(1))?;
                if (0xdc00..=0xdfff).contains(&uni2) {
                    uni = 0x10000u32
                        .saturating_add((uni.wrapping_sub(0xd800)).wrapping_shl(10))
                        .saturating_add(uni2.wrapping_sub(0xdc00));
                    end = end2;
                }
            }
            if uni > 0x10ffff {
                return Err(err("chr() arg not in range(0x110000)", self.pos));
            }
            push_cp(&mut out, uni);
            self.pos = end;
        }
        if std::str::from_utf8(&out).is_err() {
            self.odd.surrogates = true;
        }
        Ok(out)
    }
}

/// A value as Python builds it; objects keep every pair in order (see [`Value::dict`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(String),
    Float(f64),
    Str(Vec<u8>),
    Array(Vec<Value>),
    Object(Vec<(Vec<u8>, Value)>),
}

impl Value {
    /// The object as `dict(pairs)` makes it: each key at its first position, with its last
    /// value.
    pub fn dict(&self) -> Vec<(&[u8], &Value)> {
        let Value::Object(pairs) = self else {
            return Vec::new();
        };
        let mut out: Vec<(&[u8], &Value)> = Vec::with_capacity(pairs.len());
        let mut at: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        for (k, v) in pairs {
            match at.get(k.as_slice()) {
                Some(&i) => {
                    if let Some(slot) = out.get_mut(i) {
                        slot.1 = v;
                    }
                }
                None => {
                    at.insert(k, out.len());
                    out.push((k, v));
                }
            }
        }
        out
    }

    /// Every value of `key` in this object, duplicates included, in order.
    pub fn all<'v>(&'v self, key: &str) -> impl Iterator<Item = &'v Value> + 'v {
        let pairs: &[(Vec<u8>, Value)] = match self {
            Value::Object(p) => p,
            _ => &[],
        };
        let key = key.as_bytes().to_vec();
        pairs.iter().filter(move |(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The value Python's dict holds for `key` (the last).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.all(key).last()
    }

    /// A string value as Rust text (lone surrogates as U+FFFD).
    pub fn as_str(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(b) => Some(lossy(b).0),
            _ => None,
        }
    }

    /// Every string below (values, not keys), depth first, lossy.
    pub fn strings(&self, out: &mut Vec<String>, max: usize) {
        let mut todo = vec![self];
        while let Some(v) = todo.pop() {
            match v {
                Value::Str(b) if out.len() < max => out.push(lossy(b).0.into_owned()),
                Value::Array(a) => todo.extend(a.iter().rev()),
                Value::Object(p) => todo.extend(p.iter().rev().map(|(_, v)| v)),
                _ => {}
            }
        }
    }
}

/// Parse a whole document into a [`Value`] (iteratively), and what was odd about it.
pub fn parse(text: &[u8]) -> Result<(Value, Oddities), Error> {
    let mut r = Reader::new(text);
    // Open containers, with the key each value completes.
    let mut stack: Vec<(Value, Option<Vec<u8>>)> = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    let mut root: Option<Value> = None;
    while let Some(ev) = r.next()? {
        let done = match ev {
            Event::Null => Value::Null,
            Event::Bool(b) => Value::Bool(b),
            Event::Int(s) => Value::Int(s),
            Event::Float(f) => Value::Float(f),
            Event::Constant(c) => Value::Float(match c {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            }),
            Event::Str(s) => Value::Str(s),
            Event::Key(k) => {
                key = Some(k);
                continue;
            }
            Event::StartArray => {
                stack.push((Value::Array(Vec::new()), key.take()));
                continue;
            }
            Event::StartObject => {
                stack.push((Value::Object(Vec::new()), key.take()));
                continue;
            }
            Event::EndArray | Event::EndObject => {
                let Some((v, k)) = stack.pop() else {
                    return Err(err("unbalanced", r.pos));
                };
                key = k;
                v
            }
        };
        match stack.last_mut() {
            Some((Value::Array(a), _)) => a.push(done),
            Some((Value::Object(p), _)) => p.push((key.take().unwrap_or_default(), done)),
            _ => root = Some(done),
        }
    }
    let odd = std::mem::take(&mut r.odd);
    root.map(|v| (v, odd))
        .ok_or_else(|| err("Expecting value", 0))
}

/// The value as the oracle's canonical JSON (`tests/oracle/json_oracle.py`, `canon`): `null`,
/// `true`/`false`, `["i", digits]`, `["f", hex of the IEEE double]`, strings with every
/// non-printable-ASCII code point escaped as `\uxxxx` (`ensure_ascii`), `["a", [...]]`, and
/// `["o", [[key, value], ...]]` with the pairs `pairs` (all, as `object_pairs_hook=list` sees
/// them) or as `dict(pairs)` makes them.
pub fn canonical(v: &Value, pairs: bool) -> String {
    let mut out = String::new();
    canon_into(v, pairs, &mut out);
    out
}

fn canon_str(b: &[u8], out: &mut String) {
    out.push('"');
    let mut i = 0usize;
    while let Some((cp, n)) = cp_at(b, i) {
        i = i.saturating_add(n);
        match cp {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(char::from_u32(cp).unwrap_or('?')),
            0x10000.. => {
                let v = cp.saturating_sub(0x10000);
                let hi = 0xd800 | (v.wrapping_shr(10) & 0x3ff);
                let lo = 0xdc00 | (v & 0x3ff);
                out.push_str(&format!("\\u{hi:04x}\\u{lo:04x}"));
            }
            _ => out.push_str(&format!("\\u{cp:04x}")),
        }
    }
    out.push('"');
}

fn canon_into(v: &Value, pairs: bool, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(s) => {
            // Python prints int("-0") as 0, and drops leading zeros (none: the grammar has none).
            let s = if s == "-0" { "0" } else { s.as_str() };
            out.push_str(&format!("[\"i\",\"{s}\"]"));
        }
        Value::Float(f) => {
            let bits = if f.is_nan() {
                0x7ff8_0000_0000_0000
            } else {
                f.to_bits()
            };
            out.push_str(&format!("[\"f\",\"{bits:016x}\"]"));
        }
        Value::Str(b) => canon_str(b, out),
        Value::Array(a) => {
            out.push_str("[\"a\",[");
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canon_into(x, pairs, out);
            }
            out.push_str("]]");
        }
        Value::Object(p) => {
            out.push_str("[\"o\",[");
            let list: Vec<(&[u8], &Value)> = if pairs {
                p.iter().map(|(k, v)| (k.as_slice(), v)).collect()
            } else {
                v.dict()
            };
            for (i, (k, x)) in list.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('[');
                canon_str(k, out);
                out.push(',');
                canon_into(x, pairs, out);
                out.push(']');
            }
            out.push_str("]]");
        }
    }
}

/// The reader served to serde visitors: strings as Rust text (lone surrogates as U+FFFD),
/// integers as `i64`/`u64` or else `f64`, the constants as `f64`. Every pair of an object is
/// visited, duplicates included.
pub struct Deserializer<'t> {
    r: Reader<'t>,
    peeked: Option<Event>,
}

impl<'t> Deserializer<'t> {
    pub fn new(text: &'t [u8]) -> Self {
        Deserializer {
            r: Reader::new(text),
            peeked: None,
        }
    }

    fn next(&mut self) -> Result<Event, Error> {
        if let Some(e) = self.peeked.take() {
            return Ok(e);
        }
        self.r
            .next()?
            .ok_or_else(|| err("Expecting value", self.r.pos))
    }

    fn peek(&mut self) -> Result<&Event, Error> {
        if self.peeked.is_none() {
            let e = self.next()?;
            self.peeked = Some(e);
        }
        self.peeked
            .as_ref()
            .ok_or_else(|| err("Expecting value", self.r.pos))
    }

    /// After the value: nothing but whitespace may follow ("Extra data").
    pub fn end(&mut self) -> Result<(), Error> {
        match self.r.next()? {
            None => Ok(()),
            Some(_) => Err(err("Extra data", self.r.pos)),
        }
    }

    pub fn oddities(&self) -> &Oddities {
        &self.r.odd
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.next()? {
            Event::Null => visitor.visit_unit(),
            Event::Bool(b) => visitor.visit_bool(b),
            Event::Int(s) => {
                if let Ok(v) = s.parse::<i64>() {
                    visitor.visit_i64(v)
                } else if let Ok(v) = s.parse::<u64>() {
                    visitor.visit_u64(v)
                } else {
                    visitor.visit_f64(s.parse().unwrap_or(f64::NAN))
                }
            }
            Event::Float(f) => visitor.visit_f64(f),
            Event::Constant(c) => visitor.visit_f64(match c {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            }),
            Event::Str(b) | Event::Key(b) => match lossy(&b).0 {
                Cow::Borrowed(s) => visitor.visit_str(s),
                Cow::Owned(s) => visitor.visit_string(s),
            },
            Event::StartArray => visitor.visit_seq(Seq { de: self }),
            Event::StartObject => visitor.visit_map(Map { de: self }),
            Event::EndArray | Event::EndObject => Err(err("Expecting value", self.r.pos)),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct Seq<'a, 't> {
    de: &'a mut Deserializer<'t>,
}

impl<'de> SeqAccess<'de> for Seq<'_, '_> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if *self.de.peek()? == Event::EndArray {
            self.de.peeked = None;
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }
}

struct Map<'a, 't> {
    de: &'a mut Deserializer<'t>,
}

impl<'de> MapAccess<'de> for Map<'_, '_> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.de.peek()? {
            Event::EndObject => {
                self.de.peeked = None;
                Ok(None)
            }
            Event::Key(_) => seed.deserialize(&mut *self.de).map(Some),
            _ => Err(err("Expecting property name", self.de.r.pos)),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(&mut *self.de)
    }
}

/// One way a Python loader reads a JSON file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// `json.loads(bytes)` (Keras, TorchServe, most loaders).
    Bytes,
    /// `json.loads(open(path, encoding="utf-8").read())` (transformers' configs).
    Utf8Text,
}

impl View {
    pub fn label(self) -> &'static str {
        match self {
            View::Bytes => "json.loads(bytes)",
            View::Utf8Text => "json.load(open(path, encoding='utf-8'))",
        }
    }

    pub fn decode(self, b: &[u8]) -> Result<Text, Error> {
        match self {
            View::Bytes => decode_bytes(b),
            View::Utf8Text => decode_utf8_text(b),
        }
    }
}

/// The length of the one JSON value at the start of `b` (after whitespace), as the grammar
/// reads it, whatever follows; on an error, whether the input ended first (the value may
/// continue past `b`).
pub fn value_extent(b: &[u8]) -> Result<usize, (Error, bool)> {
    let mut r = Reader::new(b);
    loop {
        match r.next() {
            Ok(Some(_)) => {
                if r.stack.is_empty() && r.state == State::AfterValue {
                    return Ok(r.pos);
                }
            }
            Ok(None) => return Ok(r.pos),
            Err(e) => {
                let ended = r.pos >= b.len();
                return Err((e, ended));
            }
        }
    }
}

/// Every way Python loaders decode a JSON file, each with its text or why it fails.
pub fn views(b: &[u8]) -> Vec<(View, Result<Text, Error>)> {
    [View::Bytes, View::Utf8Text]
        .into_iter()
        .map(|v| (v, v.decode(b)))
        .collect()
}

/// Top-level entries of an object document, every occurrence, in order: for each of `keys`
/// found, its values (strings lossy). Nothing else of the document is kept.
pub fn top_entries(text: &[u8], keys: &[&str]) -> Result<Vec<(String, Value)>, Error> {
    use serde::de::{Deserializer as _, IgnoredAny};
    struct Top<'k>(&'k [&'k str]);
    impl<'de> Visitor<'de> for Top<'_> {
        type Value = Vec<(String, Value)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(k) = a.next_key::<String>()? {
                if self.0.contains(&k.as_str()) {
                    let v: Value = a.next_value()?;
                    out.push((k, v));
                } else {
                    a.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    let mut de = Deserializer::new(text);
    let out = (&mut de).deserialize_any(Top(keys))?;
    de.end()?;
    Ok(out)
}

impl<'de> de::Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Int(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Str(v.as_bytes().to_vec()))
            }
            fn visit_string<E>(self, v: String) -> Result<Value, E> {
                Ok(Value::Str(v.into_bytes()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = a.next_element()? {
                    out.push(v);
                }
                Ok(Value::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = a.next_key::<String>()? {
                    let v = a.next_value()?;
                    out.push((k.into_bytes(), v));
                }
                Ok(Value::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Check a whole document's grammar without building anything; its oddities.
pub fn validate(text: &[u8]) -> Result<Oddities, Error> {
    let mut r = Reader::new(text);
    while r.next()?.is_some() {}
    Ok(r.odd)
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic
)]
mod tests {
    use super::*;

    fn loads(b: &[u8]) -> Result<String, Error> {
        let t = decode_bytes(b)?;
        parse(&t.bytes).map(|(v, _)| canonical(&v, false))
    }

    #[test]
    fn grammar() {
        assert_eq!(
            loads(b" {\"a\" : [1, 2.5, -0, null, true, false]}\r\n").unwrap(),
            r#"["o",[["a",["a",[["i","1"],["f","4004000000000000"],["i","0"],null,true,false]]]]]"#
        );
        for bad in [
            &b"[1,]"[..],
            b"{\"a\":1,}",
            b"01",
            b"1.",
            b"[1 2]",
            b"{'a':1}",
            b"\"a\x01\"",
            b"\"\\x41\"",
            b"[] []",
            b"",
            b" ",
            b"-",
            b"nul",
            b"[\x0c]",
            b"\"\\u12\"",
            b"\"\\u0x12\"",
            b"\"\\u-001\"",
            b"\"\\u0_x1\"",
        ] {
            assert!(loads(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(loads(&vec![b'1'; 4301]).is_err());
        assert!(loads(&vec![b'1'; 4300]).is_ok());
    }

    #[test]
    fn python_leniencies() {
        // NaN and the infinities; Unicode digits; int(esc, 16) in \u escapes.
        assert_eq!(
            loads(b"[NaN,-Infinity,1\xd9\xa3]").unwrap(),
            r#"["a",[["f","7ff8000000000000"],["f","fff0000000000000"],["i","13"]]]"#
        );
        for (esc, want) in [
            (&b"\"\\u 12a\""[..], "\"\\u012a\""),
            (b"\"\\u1_2a\"", "\"\\u012a\""),
            (b"\"\\u-000\"", "\"\\u0000\""),
            (b"\"\\u+01a\"", "\"\\u001a\""),
            (b"\"\\u 0x1\"", "\"\\u0001\""),
            (b"\"\\u\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\"", "\"\\u1234\""),
            (b"\"\\u\xc2\xa0\xc2\xa012\"", "\"\\u0012\""),
            (b"\"\\ud800\\u dc0\"", "\"\\ud800\\u0dc0\""),
            (b"\"\\ud800\\udc00\"", "\"\\ud800\\udc00\""),
            (b"\"\\ud800\"", "\"\\ud800\""),
        ] {
            assert_eq!(
                loads(esc).unwrap(),
                want,
                "{:?}",
                String::from_utf8_lossy(esc)
            );
        }
    }

    #[test]
    fn encodings() {
        let u16le: Vec<u8> = "{\"a\": \"\u{e9}\"}"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(loads(&u16le).unwrap(), r#"["o",[["a","\u00e9"]]]"#);
        // A lone surrogate in UTF-8 (surrogatepass) and in UTF-16.
        assert_eq!(loads(b"\"\xed\xa0\x80\"").unwrap(), "\"\\ud800\"");
        assert_eq!(loads(b"\"\x00\x00\xd8\"\x00").unwrap(), "\"\\ud800\"");
        assert!(loads(b"\"\xed\xa0\"").is_err());
        // BOMs: json.loads(bytes) takes them, the utf-8 text view refuses one.
        assert!(loads(b"\xef\xbb\xbf{}").is_ok());
        assert!(decode_utf8_text(b"\xef\xbb\xbf{}").is_err());
        assert!(decode_utf8_text(b"\"\xed\xa0\x80\"").is_err());
    }

    #[test]
    fn duplicates_last_wins() {
        let t = decode_bytes(b"{\"a\": 1, \"b\": 2, \"a\": 3}").unwrap();
        let (v, odd) = parse(&t.bytes).unwrap();
        assert_eq!(
            canonical(&v, false),
            r#"["o",[["a",["i","3"]],["b",["i","2"]]]]"#
        );
        assert_eq!(odd.duplicates, vec!["a".to_string()]);
        assert_eq!(v.all("a").count(), 2);
    }

    #[test]
    fn depth_bounded_fail_closed() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let e = parse(deep.as_bytes()).unwrap_err();
        assert!(e.limit, "{e}");
    }

    #[test]
    fn deepest_documents_are_walked_on_a_small_stack() {
        // Scans run on rayon threads (2 MiB stacks): the serde walkers recurse per level.
        let d = MAX_DEPTH - 1;
        let doc = format!(
            "{{\"auto_map\": {}\"x.y\"{}, \"class_name\": \"Lambda\", \"config\": {{}}}}",
            "[{\"a\": ".repeat(d / 2),
            "}]".repeat(d / 2)
        );
        let h = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                crate::inspect::inspect_bytes("config.json", doc.as_bytes(), &Default::default())
            })
            .unwrap();
        let f = h.join().unwrap();
        let codes: Vec<_> = f.iter().map(|f| f.code).collect();
        assert!(
            codes.contains(&crate::finding::Code::HfRemoteCode),
            "{codes:?}"
        );
        assert!(
            codes.contains(&crate::finding::Code::KerasLambdaLayer),
            "{codes:?}"
        );
        let deep = format!(
            "{{\"a\": {}{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        let f = crate::inspect::inspect_bytes("x.json", deep.as_bytes(), &Default::default());
        assert!(
            f.iter()
                .any(|f| f.code == crate::finding::Code::ConfigMalformed
                    && f.severity == crate::finding::Severity::Error),
            "{f:?}"
        );
    }

    #[test]
    fn serde_view() {
        use serde::Deserialize;
        let t = decode_bytes(b"{\"k\": [\"\\ud800x\", 18446744073709551616, NaN]}").unwrap();
        let mut de = Deserializer::new(&t.bytes);
        let v = serde_json::Value::deserialize(&mut de);
        // serde_json's Value cannot hold NaN; the text arrives lossy.
        assert!(v.is_ok() || v.is_err());
        let mut de = Deserializer::new(&t.bytes);
        let v =
            <std::collections::BTreeMap<String, Vec<serde::de::IgnoredAny>>>::deserialize(&mut de)
                .unwrap();
        assert_eq!(v["k"].len(), 3);
        de.end().unwrap();
        let mut de = Deserializer::new(b"{} x");
        serde::de::IgnoredAny::deserialize(&mut de).unwrap();
        assert!(de.end().is_err());
    }
}
