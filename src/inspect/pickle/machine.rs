//! A symbolic pickle machine that follows CPython's `_pickle.c` unpickler: a real stack with
//! mark fences, a memo, FRAME handled as the C unpickler handles it, every opcode of
//! protocols 0-5. Nothing is ever imported or called: globals are recorded, calls are noted.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read};
use std::rc::Rc;

/// Hard limits for one pickle stream.
#[derive(Clone, Debug)]
pub struct PickleLimits {
    pub max_stack: usize,
    pub max_memo: usize,
    pub max_line: usize,
    /// Total bytes of strings and bytes objects kept whole; beyond it only a prefix is kept.
    pub max_retained: usize,
    /// Largest bytes object kept whole (nested pickles are analysed from these).
    pub max_bytes_object: usize,
    /// Items kept per dict/tuple (more are counted, not kept).
    pub max_items: usize,
    /// Depth of pickles nested inline in a stream (joblib object arrays).
    pub max_inline_depth: u32,
    /// Stop at an import whose names are not dotted identifiers, where `find_class` fails.
    /// Used when sniffing data without pickle magic, so that text and binary headers read as
    /// opcodes stop where CPython would.
    pub stop_at_implausible: bool,
    /// Follow joblib's inline array data after a NumpyArrayWrapper (joblib.load's reading).
    /// Off: read those bytes as opcodes, as pickle.load does on the same file.
    pub joblib_inline: bool,
}

impl Default for PickleLimits {
    fn default() -> Self {
        PickleLimits {
            max_stack: 1 << 20,
            max_memo: 1 << 22,
            max_line: 1 << 20,
            max_retained: 64 << 20,
            max_bytes_object: 16 << 20,
            max_items: 256,
            max_inline_depth: 8,
            stop_at_implausible: false,
            joblib_inline: true,
        }
    }
}

/// One imported global.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub opcode: &'static str,
    pub offset: u64,
    pub count: u64,
    /// Called (REDUCE, NEWOBJ, OBJ, INST) or given state by BUILD.
    pub invoked: bool,
}

/// Why a stream stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum End {
    /// A STOP opcode was executed.
    Stop,
    /// No byte at all where a pickle should start.
    Empty,
    /// The unpickler would raise here. Everything before was executed.
    Error { offset: u64, message: String },
    /// A safety limit was hit.
    Limit { offset: u64, message: String },
}

/// What one simulated pickle did.
#[derive(Debug, Default)]
pub struct Events {
    pub imports: Vec<Import>,
    index: HashMap<(String, String), usize>,
    /// Bytes arguments that look like pickles or were passed to a call (offset, content).
    pub nested: Vec<(u64, Rc<[u8]>)>,
    /// BUILD applied to an imported global (offset, import index).
    pub build_on_global: Vec<(u64, usize)>,
    /// EXT1/2/4 codes used (offset, code).
    pub ext_codes: Vec<(u64, u32)>,
    /// Calls of objects that are not imported globals (results of other calls).
    pub computed_calls: u64,
    /// joblib arrays whose raw data followed inline.
    pub joblib_arrays: u64,
    pub opcodes: u64,
    /// Highest PROTO seen.
    pub proto: u8,
    pub uses_persid: bool,
}

impl Events {
    fn import(&mut self, module: String, name: String, opcode: &'static str, offset: u64) -> usize {
        let key = (module, name);
        if let Some(&i) = self.index.get(&key) {
            if let Some(imp) = self.imports.get_mut(i) {
                imp.count = imp.count.saturating_add(1);
            }
            return i;
        }
        let i = self.imports.len();
        self.imports.push(Import {
            module: key.0.clone(),
            name: key.1.clone(),
            opcode,
            offset,
            count: 1,
            invoked: false,
        });
        self.index.insert(key, i);
        i
    }

    fn invoked(&mut self, i: usize) {
        if let Some(imp) = self.imports.get_mut(i) {
            imp.invoked = true;
        }
    }

    fn is(&self, i: usize, module: &str, name: &str) -> bool {
        self.imports
            .get(i)
            .is_some_and(|imp| imp.module == module && imp.name == name)
    }
}

#[derive(Debug)]
struct Inst {
    class: Option<usize>,
    args: Rc<[V]>,
    state: RefCell<Option<V>>,
}

#[derive(Clone, Debug)]
struct DictV {
    items: Vec<(V, V)>,
}

#[derive(Clone, Debug)]
enum V {
    None,
    Bool,
    Int(i64),
    BigInt,
    Float,
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    /// A bytes object too large to keep.
    BigBytes,
    Tuple(Rc<[V]>),
    List,
    Dict(Rc<RefCell<DictV>>),
    Set,
    Global(usize),
    Inst(Rc<Inst>),
    Opaque,
}

/// The name recorded for a global whose module or name is only known at load time.
pub const COMPUTED: &str = "<computed at load time>";

impl V {
    fn as_str(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Certainly not a str when loaded (results of calls may be anything).
    fn not_str(&self) -> bool {
        !matches!(self, V::Str(_) | V::Inst(_) | V::Opaque)
    }
}

/// The arguments of a call: a tuple, or a value that may be one at load time (a call result).
fn call_args(v: V) -> Option<Rc<[V]>> {
    match v {
        V::Tuple(t) => Some(t),
        V::Inst(_) | V::Opaque => Some(Rc::from(Vec::new())),
        _ => None,
    }
}

enum Fail {
    Error(String),
    Truncated,
    Limit(String),
    Io(io::Error),
}

type R<T> = Result<T, Fail>;

fn err<T>(m: impl Into<String>) -> R<T> {
    Err(Fail::Error(m.into()))
}

/// A buffered reader that tracks absolute offsets and gives contiguous slices.
pub struct Src<'r> {
    r: &'r mut dyn Read,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    base: u64,
    eof: bool,
    /// Total length, when known, for FRAME checks.
    len: Option<u64>,
}

const CHUNK: usize = 64 * 1024;

// Invariant: pos <= end <= buf.len(), and base + end is the number of bytes read so far, so
// none of this bookkeeping can overflow; lengths coming from the input are checked by callers.
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
impl<'r> Src<'r> {
    pub fn new(r: &'r mut dyn Read, len: Option<u64>) -> Self {
        Src {
            r,
            buf: vec![0; CHUNK],
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            len,
        }
    }

    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Ensure `need` bytes are buffered; false when the input ends first.
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        while self.end - self.pos < need {
            if self.eof {
                return Ok(false);
            }
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.base += self.pos as u64;
                self.end -= self.pos;
                self.pos = 0;
            }
            if self.buf.len() < need {
                self.buf.resize(need.max(CHUNK), 0);
            }
            let n = loop {
                match self.r.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
        Ok(true)
    }

    /// True when no byte is left.
    pub fn at_eof(&mut self) -> io::Result<bool> {
        Ok(!self.fill(1)?)
    }

    pub fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(if self.fill(1)? {
            self.buf.get(self.pos).copied()
        } else {
            None
        })
    }

    fn byte(&mut self) -> R<Option<u8>> {
        let b = self.peek().map_err(Fail::Io)?;
        if b.is_some() {
            self.pos += 1;
        }
        Ok(b)
    }

    fn take(&mut self, n: usize) -> R<&[u8]> {
        if !self.fill(n).map_err(Fail::Io)? {
            return Err(Fail::Truncated);
        }
        let s = self.pos;
        self.pos += n;
        self.buf.get(s..s + n).ok_or(Fail::Truncated)
    }

    fn fixed<const N: usize>(&mut self) -> R<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Discard `n` bytes.
    pub fn skip(&mut self, mut n: u64) -> io::Result<bool> {
        while n > 0 {
            if !self.fill(1)? {
                return Ok(false);
            }
            let avail = (self.end - self.pos) as u64;
            let k = avail.min(n);
            self.pos += k as usize;
            n -= k;
        }
        Ok(true)
    }

    /// A line without its trailing newline. End of input before a newline: truncated.
    fn line(&mut self, max: usize) -> R<&[u8]> {
        let mut scanned = 0;
        loop {
            if let Some(i) = self
                .buf
                .get(self.pos + scanned..self.end)
                .and_then(|s| s.iter().position(|b| *b == b'\n'))
            {
                let s = self.pos;
                let e = s + scanned + i;
                self.pos = e + 1;
                return self.buf.get(s..e).ok_or(Fail::Truncated);
            }
            scanned = self.end - self.pos;
            if scanned >= max {
                return Err(Fail::Limit(format!("line longer than {max} bytes")));
            }
            if !self.fill(scanned + 1).map_err(Fail::Io)? {
                return Err(Fail::Truncated);
            }
        }
    }
}

fn is_opcode(b: u8) -> bool {
    matches!(
        b,
        b'(' | b'.'
            | b'0'
            | b'1'
            | b'2'
            | b'F'
            | b'I'
            | b'J'
            | b'K'
            | b'L'
            | b'M'
            | b'N'
            | b'P'
            | b'Q'
            | b'R'
            | b'S'
            | b'T'
            | b'U'
            | b'V'
            | b'X'
            | b'a'
            | b'b'
            | b'c'
            | b'd'
            | b'}'
            | b'e'
            | b'g'
            | b'h'
            | b'i'
            | b'j'
            | b'l'
            | b']'
            | b'o'
            | b'p'
            | b'q'
            | b'r'
            | b's'
            | b't'
            | b')'
            | b'u'
            | b'G'
            | b'B'
            | b'C'
            | 0x80..=0x98
    )
}

/// A dotted Python identifier (Unicode letters allowed, as in Python 3), or a name computed at
/// load time.
pub fn plausible(s: &str) -> bool {
    s == COMPUTED
        || !s.is_empty()
            && s.split('.').all(|part| {
                let mut c = part.chars();
                c.next().is_some_and(|f| f == '_' || f.is_alphabetic())
                    && c.all(|x| x == '_' || x.is_alphanumeric())
            })
}

/// Whether a byte can start a pickle at all.
pub fn starts_pickle(b: u8) -> bool {
    is_opcode(b)
}

struct Machine<'a> {
    stack: Vec<V>,
    marks: Vec<usize>,
    memo: Vec<Option<V>>,
    memo_sparse: HashMap<u64, V>,
    memo_count: usize,
    retained: usize,
    proto: u8,
    lim: &'a PickleLimits,
    depth: u32,
}

/// Simulate one pickle from the current position of `src`, up to and including STOP.
pub fn run(src: &mut Src<'_>, lim: &PickleLimits, ev: &mut Events) -> End {
    run_at_depth(src, lim, ev, 0)
}

fn run_at_depth(src: &mut Src<'_>, lim: &PickleLimits, ev: &mut Events, depth: u32) -> End {
    let mut m = Machine {
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
        memo_sparse: HashMap::new(),
        memo_count: 0,
        retained: 0,
        proto: 0,
        lim,
        depth,
    };
    let mut op_offset = src.offset();
    let start = op_offset;
    let r = m.exec(src, ev, &mut op_offset);
    match r {
        Ok(()) => End::Stop,
        Err(Fail::Truncated) if op_offset == start && src.offset() == start => End::Empty,
        Err(Fail::Truncated) => End::Error {
            offset: op_offset,
            message: "pickle data was truncated".into(),
        },
        Err(Fail::Error(message)) => End::Error {
            offset: op_offset,
            message,
        },
        Err(Fail::Io(e)) if crate::input::is_limit_error(&e) => End::Limit {
            offset: op_offset,
            message: e.to_string(),
        },
        Err(Fail::Io(e)) => End::Error {
            offset: op_offset,
            message: format!("read error: {e}"),
        },
        Err(Fail::Limit(message)) => End::Limit {
            offset: op_offset,
            message,
        },
    }
}

fn decode_utf8(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An integer line as INT/LONG write it. Never fails: the C unpickler accepts more forms
/// (base prefixes, underscores) than worth mirroring, and stopping where it would go on
/// would hide what follows. Unparsed values are opaque.
fn parse_int_line(l: &[u8]) -> V {
    py_int(l).map_or(V::BigInt, V::Int)
}

/// A base-10 integer as Python's int() reads it (whitespace, sign, underscores). A superset is
/// fine: accepting more than C only means analysing further than a loader would run.
fn py_int(l: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(l).ok()?.trim().trim_end_matches('L');
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    Some(if neg { v.checked_neg()? } else { v })
}

/// Python's `codecs.escape_decode` as the STRING opcode uses it (latin-1 result).
// Indices only advance within `s` (checked by `get`); octal digits are < 8.
#[allow(clippy::arithmetic_side_effects)]
fn escape_decode(s: &[u8]) -> R<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = s.get(i) else {
            return err("Trailing \\ in string");
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let h = s.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                let v = h.and_then(|h| u8::from_str_radix(h, 16).ok());
                match v {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => return err("invalid \\x escape"),
                }
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Python's `raw-unicode-escape` decoding, as the UNICODE opcode uses it.
#[allow(clippy::arithmetic_side_effects)] // indices advance within `s`, checked by `get`
fn raw_unicode_decode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'\\' {
            let n = match s.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => 0,
            };
            // Python decides by the parity of the backslash run; a bad escape here is kept as
            // text rather than treated as an error, so the analysis never stops before Python's.
            if n > 0 {
                let h = s
                    .get(i + 2..i + 2 + n)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u32::from_str_radix(h, 16).ok());
                if let Some(ch) = h.and_then(char::from_u32) {
                    out.push(ch);
                    i += 2 + n;
                    continue;
                }
            }
        }
        out.push(char::from(c));
        i += 1;
    }
    out
}

/// The itemsize of a numpy dtype string such as `f8`, `<U5`, `V64`; `None` for object dtypes.
pub(crate) fn dtype_itemsize(descr: &str) -> Result<Option<u64>, ()> {
    let d = descr.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = d.chars();
    let kind = chars.next().ok_or(())?;
    let rest: String = chars.take_while(|c| c.is_ascii_digit()).collect();
    if kind == 'O' {
        return Ok(None);
    }
    let n: u64 = if rest.is_empty() {
        match kind {
            '?' | 'b' | 'B' => 1,
            'h' | 'H' | 'e' => 2,
            'i' | 'I' | 'f' | 'l' | 'L' => 4,
            'q' | 'Q' | 'd' | 'g' | 'M' | 'm' => 8,
            'D' => 16,
            _ => return Err(()),
        }
    } else {
        rest.parse().map_err(|_| ())?
    };
    match kind {
        'U' => n.checked_mul(4).map(Some).ok_or(()),
        'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'a' | 'V' | 'M' | 'm' | '?' | 'B' | 'h' | 'H' | 'e'
        | 'I' | 'l' | 'L' | 'q' | 'Q' | 'd' | 'g' | 'D' => Ok(Some(n)),
        _ => Err(()),
    }
}

impl Machine<'_> {
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn push(&mut self, v: V) -> R<()> {
        if self.stack.len() >= self.lim.max_stack {
            return Err(Fail::Limit(format!(
                "pickle stack deeper than {} entries",
                self.lim.max_stack
            )));
        }
        self.stack.push(v);
        Ok(())
    }

    fn pop(&mut self) -> R<V> {
        if self.stack.len() <= self.fence() {
            return err("unpickling stack underflow");
        }
        self.stack
            .pop()
            .ok_or(Fail::Error("unpickling stack underflow".into()))
    }

    fn top(&self) -> R<&V> {
        if self.stack.len() <= self.fence() {
            return err("unpickling stack underflow");
        }
        self.stack
            .last()
            .ok_or(Fail::Error("unpickling stack underflow".into()))
    }

    fn pop_mark(&mut self) -> R<Vec<V>> {
        let m = self
            .marks
            .pop()
            .ok_or(Fail::Error("could not find MARK".into()))?;
        if m > self.stack.len() {
            return err("could not find MARK");
        }
        Ok(self.stack.split_off(m))
    }

    fn tuple(&self, items: Vec<V>) -> V {
        let mut items = items;
        items.truncate(self.lim.max_items);
        V::Tuple(items.into())
    }

    fn mk_str(&mut self, s: String) -> V {
        self.retained = self.retained.saturating_add(s.len());
        if self.retained > self.lim.max_retained && s.len() > 256 {
            let mut cut = 256;
            while !s.is_char_boundary(cut) {
                cut = cut.saturating_sub(1);
            }
            return V::Str(Rc::from(format!("{}…", &s[..cut])));
        }
        V::Str(Rc::from(s))
    }

    fn read_bytes(&mut self, src: &mut Src<'_>, n: u64) -> R<V> {
        let keep = n <= self.lim.max_bytes_object as u64
            && self.retained.saturating_add(n as usize) <= self.lim.max_retained;
        if keep {
            let b: Rc<[u8]> = Rc::from(src.take(n as usize)?);
            self.retained = self.retained.saturating_add(b.len());
            Ok(V::Bytes(b))
        } else {
            if !src.skip(n).map_err(Fail::Io)? {
                return Err(Fail::Truncated);
            }
            Ok(V::BigBytes)
        }
    }

    fn read_text(&mut self, src: &mut Src<'_>, n: u64) -> R<V> {
        if n > self.lim.max_bytes_object as u64 {
            if !src.skip(n).map_err(Fail::Io)? {
                return Err(Fail::Truncated);
            }
            return Ok(V::Opaque);
        }
        let s = decode_utf8(src.take(n as usize)?);
        Ok(self.mk_str(s))
    }

    fn memo_put(&mut self, idx: u64, v: V) -> R<()> {
        // Dense storage only while indices stay near the number of entries: sparse indices
        // (BINPUT 2n+1023 again and again) must not grow the vector exponentially.
        let dense_ok = idx
            < (self.memo_count as u64)
                .saturating_mul(2)
                .saturating_add(1024);
        let fresh = if dense_ok {
            let i = idx as usize;
            if i >= self.memo.len() {
                self.memo.resize(i.saturating_add(1), None);
            }
            let slot = self.memo.get_mut(i).ok_or(Fail::Truncated)?;
            let fresh = slot.is_none();
            *slot = Some(v);
            fresh
        } else {
            self.memo_sparse.insert(idx, v).is_none()
        };
        if fresh {
            self.memo_count = self.memo_count.saturating_add(1);
            if self.memo_count > self.lim.max_memo {
                return Err(Fail::Limit(format!(
                    "pickle memo larger than {} entries",
                    self.lim.max_memo
                )));
            }
        }
        Ok(())
    }

    fn memo_get(&self, idx: u64) -> R<V> {
        let v = usize::try_from(idx)
            .ok()
            .and_then(|i| self.memo.get(i))
            .and_then(|v| v.clone())
            .or_else(|| self.memo_sparse.get(&idx).cloned());
        v.ok_or_else(|| Fail::Error(format!("Memo value not found at index {idx}")))
    }

    fn import(
        &mut self,
        ev: &mut Events,
        module: String,
        name: String,
        op: &'static str,
        off: u64,
    ) -> R<()> {
        self.check_importable(&module, &name)?;
        let i = ev.import(module, name, op, off);
        self.push(V::Global(i))
    }

    fn check_importable(&self, module: &str, name: &str) -> R<()> {
        if self.lim.stop_at_implausible && !(plausible(module) && plausible(name)) {
            return err(format!("No module named {module:?}"));
        }
        Ok(())
    }

    /// A call of `callee(*args)`: note who is invoked, look for pickles in the arguments.
    fn call(&mut self, ev: &mut Events, callee: &V, args: Rc<[V]>, off: u64) -> V {
        for a in args.iter() {
            let inner: &[V] = match a {
                V::Tuple(t) => t,
                other => std::slice::from_ref(other),
            };
            for v in inner {
                if let V::Bytes(b) = v {
                    let looks = matches!(&b[..], [0x80, 2..=5, ..]);
                    let to_loader = matches!(callee, V::Global(_)) && b.len() >= 2;
                    let candidate =
                        looks || (to_loader && b.first().is_some_and(|x| starts_pickle(*x)));
                    if candidate && !ev.nested.iter().any(|(_, n)| Rc::ptr_eq(n, b)) {
                        ev.nested.push((off, b.clone()));
                    }
                }
            }
        }
        match callee {
            V::Global(i) => {
                let i = *i;
                ev.invoked(i);
                if ev.is(i, "_codecs", "encode") {
                    if let Some(V::Str(s)) = args.first() {
                        // Protocol-2 pickles write bytes as _codecs.encode(text, 'latin1').
                        let b: Vec<u8> = s.chars().map(|c| (c as u32 & 0xff) as u8).collect();
                        let b: Rc<[u8]> = b.into();
                        if matches!(&b[..], [0x80, 2..=5, ..]) {
                            ev.nested.push((off, b.clone()));
                        }
                        return V::Bytes(b);
                    }
                }
                let is_str_ctor = ev.is(i, "builtins", "str") || ev.is(i, "__builtin__", "str");
                if let (true, Some(V::Str(s))) = (is_str_ctor, args.first()) {
                    return V::Str(s.clone());
                }
                let mut class = Some(i);
                if ev.is(i, "copyreg", "_reconstructor") || ev.is(i, "copy_reg", "_reconstructor") {
                    if let Some(V::Global(c)) = args.first() {
                        ev.invoked(*c);
                        class = Some(*c);
                    }
                }
                V::Inst(Rc::new(Inst {
                    class,
                    args,
                    state: RefCell::new(None),
                }))
            }
            V::Inst(_) | V::Opaque => {
                ev.computed_calls = ev.computed_calls.saturating_add(1);
                V::Inst(Rc::new(Inst {
                    class: None,
                    args,
                    state: RefCell::new(None),
                }))
            }
            _ => V::Opaque,
        }
    }

    fn exec(&mut self, src: &mut Src<'_>, ev: &mut Events, op_off: &mut u64) -> R<()> {
        loop {
            *op_off = src.offset();
            let off = *op_off;
            let Some(op) = src.byte()? else {
                return Err(Fail::Truncated);
            };
            ev.opcodes = ev.opcodes.saturating_add(1);
            match op {
                // --- control ---
                0x80 => {
                    let p = src.fixed::<1>()?[0];
                    if p > 5 {
                        return err(format!("unsupported pickle protocol: {p}"));
                    }
                    self.proto = p;
                    ev.proto = ev.proto.max(p);
                }
                0x95 => {
                    let n = u64::from_le_bytes(src.fixed::<8>()?);
                    if n > i64::MAX as u64 {
                        return err("FRAME length exceeds system's maximum");
                    }
                    // The C unpickler requires the whole frame to be readable, then rewinds.
                    if let Some(len) = src.len {
                        if src.offset().saturating_add(n) > len {
                            return Err(Fail::Truncated);
                        }
                    }
                }
                b'.' => {
                    self.pop()?;
                    return Ok(());
                }
                b'(' => {
                    if self.marks.len() >= self.lim.max_stack {
                        return Err(Fail::Limit("too many MARKs".into()));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    if self.stack.len() > self.fence() {
                        self.stack.pop();
                    } else if self.marks.pop().is_none() {
                        return err("unpickling stack underflow");
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v)?;
                }
                // --- numbers ---
                b'I' => {
                    let l = src.line(self.lim.max_line)?;
                    let v = match l {
                        b"01" => V::Bool,
                        b"00" => V::Bool,
                        _ => parse_int_line(l),
                    };
                    self.push(v)?;
                }
                b'L' => {
                    let v = parse_int_line(src.line(self.lim.max_line)?);
                    self.push(v)?;
                }
                b'J' => {
                    let v = i32::from_le_bytes(src.fixed::<4>()?);
                    self.push(V::Int(i64::from(v)))?;
                }
                b'K' => {
                    let v = src.fixed::<1>()?[0];
                    self.push(V::Int(i64::from(v)))?;
                }
                b'M' => {
                    let v = u16::from_le_bytes(src.fixed::<2>()?);
                    self.push(V::Int(i64::from(v)))?;
                }
                0x8a => {
                    let n = src.fixed::<1>()?[0] as usize;
                    let b = src.take(n)?;
                    let v = if n <= 8 {
                        let mut a = if b.last().is_some_and(|x| x & 0x80 != 0) {
                            [0xffu8; 8]
                        } else {
                            [0u8; 8]
                        };
                        a.get_mut(..n).ok_or(Fail::Truncated)?.copy_from_slice(b);
                        V::Int(i64::from_le_bytes(a))
                    } else {
                        V::BigInt
                    };
                    self.push(v)?;
                }
                0x8b => {
                    let n = i32::from_le_bytes(src.fixed::<4>()?);
                    if n < 0 {
                        return err("LONG pickle has negative byte count");
                    }
                    if !src.skip(n as u64).map_err(Fail::Io)? {
                        return Err(Fail::Truncated);
                    }
                    self.push(V::BigInt)?;
                }
                b'F' => {
                    // Never an error here: see parse_int_line.
                    src.line(self.lim.max_line)?;
                    self.push(V::Float)?;
                }
                b'G' => {
                    src.fixed::<8>()?;
                    self.push(V::Float)?;
                }
                // --- strings and bytes ---
                b'S' => {
                    let l = src.line(self.lim.max_line)?;
                    let body = match l {
                        [q @ (b'\'' | b'"'), mid @ .., e] if q == e => mid,
                        _ => return err("the STRING opcode argument must be quoted"),
                    };
                    let b = escape_decode(body)?;
                    let s: String = b.iter().map(|&c| char::from(c)).collect();
                    let v = self.mk_str(s);
                    self.push(v)?;
                }
                b'T' => {
                    let n = i32::from_le_bytes(src.fixed::<4>()?);
                    if n < 0 {
                        return err("BINSTRING pickle has negative byte count");
                    }
                    let v = self.read_latin1(src, n as u64)?;
                    self.push(v)?;
                }
                b'U' => {
                    let n = src.fixed::<1>()?[0];
                    let v = self.read_latin1(src, u64::from(n))?;
                    self.push(v)?;
                }
                b'V' => {
                    let l = src.line(self.lim.max_line)?.to_vec();
                    let s = raw_unicode_decode(&l);
                    let v = self.mk_str(s);
                    self.push(v)?;
                }
                b'X' => {
                    let n = u32::from_le_bytes(src.fixed::<4>()?);
                    let v = self.read_text(src, u64::from(n))?;
                    self.push(v)?;
                }
                0x8c => {
                    let n = src.fixed::<1>()?[0];
                    let v = self.read_text(src, u64::from(n))?;
                    self.push(v)?;
                }
                0x8d => {
                    let n = u64::from_le_bytes(src.fixed::<8>()?);
                    if n > i64::MAX as u64 {
                        return err("BINUNICODE8 exceeds system's maximum size");
                    }
                    let v = self.read_text(src, n)?;
                    self.push(v)?;
                }
                b'B' => {
                    let n = u32::from_le_bytes(src.fixed::<4>()?);
                    let v = self.read_bytes(src, u64::from(n))?;
                    self.push(v)?;
                }
                b'C' => {
                    let n = src.fixed::<1>()?[0];
                    let v = self.read_bytes(src, u64::from(n))?;
                    self.push(v)?;
                }
                0x8e | 0x96 => {
                    let n = u64::from_le_bytes(src.fixed::<8>()?);
                    if n > i64::MAX as u64 {
                        return err("BINBYTES8 exceeds system's maximum size");
                    }
                    let v = self.read_bytes(src, n)?;
                    self.push(v)?;
                }
                0x97 => {
                    // NEXT_BUFFER needs out-of-band buffers passed to the loader.
                    self.push(V::Opaque)?;
                }
                0x98 => {
                    self.top()?;
                }
                // --- constants ---
                b'N' => self.push(V::None)?,
                0x88 => self.push(V::Bool)?,
                0x89 => self.push(V::Bool)?,
                // --- containers ---
                b')' => self.push(V::Tuple(Rc::from(Vec::new())))?,
                b't' => {
                    let items = self.pop_mark()?;
                    let t = self.tuple(items);
                    self.push(t)?;
                }
                0x85..=0x87 => {
                    let n = usize::from(op.saturating_sub(0x84));
                    let Some(start) = self
                        .stack
                        .len()
                        .checked_sub(n)
                        .filter(|s| *s >= self.fence())
                    else {
                        return err("unpickling stack underflow");
                    };
                    let items = self.stack.split_off(start);
                    let t = self.tuple(items);
                    self.push(t)?;
                }
                b']' => self.push(V::List)?,
                b'l' => {
                    self.pop_mark()?;
                    self.push(V::List)?;
                }
                b'a' => {
                    let x = self.stack.len().saturating_sub(1);
                    self.extend_at(x)?;
                }
                b'e' => {
                    let x = self
                        .marks
                        .pop()
                        .ok_or(Fail::Error("could not find MARK".into()))?;
                    self.extend_at(x)?;
                }
                b'}' => self.push(V::Dict(Rc::new(RefCell::new(DictV { items: Vec::new() }))))?,
                b'd' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return err("odd number of items for DICT");
                    }
                    let mut d = DictV { items: Vec::new() };
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        if d.items.len() < self.lim.max_items {
                            d.items.push((k, v));
                        }
                    }
                    self.push(V::Dict(Rc::new(RefCell::new(d))))?;
                }
                b's' => {
                    let x = self.stack.len().saturating_sub(2);
                    self.set_items_at(x)?;
                }
                b'u' => {
                    let x = self
                        .marks
                        .pop()
                        .ok_or(Fail::Error("could not find MARK".into()))?;
                    self.set_items_at(x)?;
                }
                0x8f => self.push(V::Set)?,
                0x90 => {
                    let x = self
                        .marks
                        .pop()
                        .ok_or(Fail::Error("could not find MARK".into()))?;
                    self.extend_at(x)?;
                }
                0x91 => {
                    self.pop_mark()?;
                    self.push(V::Set)?;
                }
                // --- memo ---
                b'g' => {
                    let l = src.line(self.lim.max_line)?;
                    let idx = py_int(l).ok_or(Fail::Error("invalid GET index".into()))?;
                    let v = self.memo_get(
                        u64::try_from(idx).map_err(|_| Fail::Error("negative GET index".into()))?,
                    )?;
                    self.push(v)?;
                }
                b'h' => {
                    let i = src.fixed::<1>()?[0];
                    let v = self.memo_get(u64::from(i))?;
                    self.push(v)?;
                }
                b'j' => {
                    let i = u32::from_le_bytes(src.fixed::<4>()?);
                    let v = self.memo_get(u64::from(i))?;
                    self.push(v)?;
                }
                b'p' => {
                    let l = src.line(self.lim.max_line)?;
                    let idx = py_int(l).ok_or(Fail::Error("invalid PUT index".into()))?;
                    let idx = u64::try_from(idx)
                        .map_err(|_| Fail::Error("negative PUT argument".into()))?;
                    let v = self.top()?.clone();
                    self.memo_put(idx, v)?;
                }
                b'q' => {
                    let i = src.fixed::<1>()?[0];
                    let v = self.top()?.clone();
                    self.memo_put(u64::from(i), v)?;
                }
                b'r' => {
                    let i = u32::from_le_bytes(src.fixed::<4>()?);
                    let v = self.top()?.clone();
                    self.memo_put(u64::from(i), v)?;
                }
                0x94 => {
                    let v = self.top()?.clone();
                    let idx = self.memo_count as u64;
                    self.memo_put(idx, v)?;
                }
                // --- globals and calls ---
                b'c' => {
                    let module = decode_utf8(src.line(self.lim.max_line)?);
                    let name = decode_utf8(src.line(self.lim.max_line)?);
                    self.import(ev, module, name, "GLOBAL", off)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    if module.not_str() || name.not_str() {
                        return err("STACK_GLOBAL requires str");
                    }
                    // An operand computed by a call (e.g. builtins.str) is a str only at load
                    // time: the import happens, with a name this analysis cannot know.
                    let m = module.as_str().unwrap_or(COMPUTED).to_string();
                    let n = name.as_str().unwrap_or(COMPUTED).to_string();
                    self.import(ev, m, n, "STACK_GLOBAL", off)?;
                }
                b'i' => {
                    let module = decode_utf8(src.line(self.lim.max_line)?);
                    let name = decode_utf8(src.line(self.lim.max_line)?);
                    self.check_importable(&module, &name)?;
                    let args = self.pop_mark()?;
                    let i = ev.import(module, name, "INST", off);
                    let args: Rc<[V]> = args.into();
                    let v = self.call(ev, &V::Global(i), args, off);
                    self.push(v)?;
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return err("unpickling stack underflow");
                    }
                    let cls = items.remove(0);
                    let v = self.call(ev, &cls, items.into(), off);
                    self.push(v)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let callee = self.pop()?;
                    let Some(args) = call_args(args) else {
                        return err("argument list must be a tuple");
                    };
                    let v = self.call(ev, &callee, args, off);
                    self.push(v)?;
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let Some(args) = call_args(args) else {
                        return err("NEWOBJ expected an arg tuple");
                    };
                    let v = self.call(ev, &cls, args, off);
                    self.push(v)?;
                }
                0x92 => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let Some(args) = call_args(args) else {
                        return err("NEWOBJ_EX args argument must be a tuple");
                    };
                    let mut all: Vec<V> = args.to_vec();
                    all.push(kwargs);
                    let v = self.call(ev, &cls, all.into(), off);
                    self.push(v)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?.clone();
                    match target {
                        V::Global(i) => ev.build_on_global.push((off, i)),
                        V::Inst(inst) => {
                            if let Some(c) = inst.class {
                                ev.invoked(c);
                            }
                            if let V::Dict(d) = &state {
                                for (_, v) in &d.borrow().items {
                                    if let V::Bytes(b) = v {
                                        if matches!(&b[..], [0x80, 2..=5, ..]) {
                                            ev.nested.push((off, b.clone()));
                                        }
                                    }
                                }
                            }
                            *inst.state.borrow_mut() = Some(state);
                            let wrapper = inst.class.is_some_and(|c| {
                                ev.is(c, "joblib.numpy_pickle", "NumpyArrayWrapper")
                            });
                            if wrapper {
                                ev.joblib_arrays = ev.joblib_arrays.saturating_add(1);
                                if self.lim.joblib_inline {
                                    self.joblib_array(src, ev, &inst)?;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                b'P' => {
                    src.line(self.lim.max_line)?;
                    ev.uses_persid = true;
                    self.push(V::Opaque)?;
                }
                b'Q' => {
                    self.pop()?;
                    ev.uses_persid = true;
                    self.push(V::Opaque)?;
                }
                0x82 => {
                    let c = src.fixed::<1>()?[0];
                    self.ext(ev, u32::from(c), off)?;
                }
                0x83 => {
                    let c = u16::from_le_bytes(src.fixed::<2>()?);
                    self.ext(ev, u32::from(c), off)?;
                }
                0x84 => {
                    let c = i32::from_le_bytes(src.fixed::<4>()?);
                    self.ext(ev, c as u32, off)?;
                }
                other => {
                    return err(format!("invalid load key, '\\x{other:02x}'"));
                }
            }
        }
    }

    fn read_latin1(&mut self, src: &mut Src<'_>, n: u64) -> R<V> {
        if n > self.lim.max_bytes_object as u64 {
            if !src.skip(n).map_err(Fail::Io)? {
                return Err(Fail::Truncated);
            }
            return Ok(V::Opaque);
        }
        let b = src.take(n as usize)?;
        // Loaders decode py2 strings with an encoding (ASCII, latin1, utf-8) or keep bytes;
        // keep the text reading for STACK_GLOBAL and the bytes for nested pickles.
        if b.first() == Some(&0x80) {
            let v: Rc<[u8]> = Rc::from(b);
            self.retained = self.retained.saturating_add(v.len());
            return Ok(V::Bytes(v));
        }
        let s: String = b.iter().map(|&c| char::from(c)).collect();
        Ok(self.mk_str(s))
    }

    /// APPEND, APPENDS, ADDITEMS as `_pickle.c`'s do_append: the target sits at `x - 1`, the
    /// items above it; the mark fence is not consulted.
    fn extend_at(&mut self, x: usize) -> R<()> {
        if x == 0 || x > self.stack.len() {
            return err("unpickling stack underflow");
        }
        self.stack.truncate(x);
        Ok(())
    }

    /// SETITEM, SETITEMS as `_pickle.c`'s do_setitems.
    fn set_items_at(&mut self, x: usize) -> R<()> {
        let len = self.stack.len();
        if x == 0 || x > len {
            return err("unpickling stack underflow");
        }
        if !len.saturating_sub(x).is_multiple_of(2) {
            return err("odd number of items for SETITEMS");
        }
        let items = self.stack.split_off(x);
        if let Some(V::Dict(d)) = self.stack.last() {
            let mut d = d.borrow_mut();
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                if d.items.len() < self.lim.max_items {
                    d.items.push((k, v));
                }
            }
        }
        Ok(())
    }

    fn ext(&mut self, ev: &mut Events, code: u32, off: u64) -> R<()> {
        if code == 0 {
            return err("EXT specifies code <= 0");
        }
        ev.ext_codes.push((off, code));
        self.push(V::Opaque)
    }

    /// joblib writes a NumpyArrayWrapper, then the array's raw bytes (or, for object arrays,
    /// a whole pickle) straight into the stream; its unpickler reads them right after BUILD.
    fn joblib_array(&mut self, src: &mut Src<'_>, ev: &mut Events, inst: &Inst) -> R<()> {
        let state = inst.state.borrow();
        let Some(V::Dict(d)) = state.as_ref() else {
            return err("joblib NumpyArrayWrapper without a state dict");
        };
        let d = d.borrow();
        let get = |key: &str| {
            d.items
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v.clone())
        };
        let descr = match get("dtype") {
            Some(V::Inst(dt)) => dt.args.first().and_then(|a| a.as_str().map(str::to_string)),
            _ => None,
        };
        let Some(descr) = descr else {
            return err("joblib array without a readable dtype");
        };
        let itemsize = dtype_itemsize(&descr)
            .map_err(|_| Fail::Error(format!("joblib array with unsupported dtype {descr:?}")))?;
        let count = match get("shape") {
            Some(V::Tuple(t)) => {
                let mut c: u64 = 1;
                for x in t.iter() {
                    match x {
                        V::Int(n) if *n >= 0 => {
                            c = c
                                .checked_mul(*n as u64)
                                .ok_or(Fail::Error("array size overflows".into()))?
                        }
                        _ => return err("joblib array shape is not a tuple of sizes"),
                    }
                }
                c
            }
            _ => return err("joblib array without a shape"),
        };
        let aligned = matches!(get("numpy_array_alignment_bytes"), Some(V::Int(_)));
        drop(d);
        drop(state);
        match itemsize {
            None => {
                // Object array: joblib calls pickle.load on the same stream.
                if self.depth >= self.lim.max_inline_depth {
                    return Err(Fail::Limit("joblib object arrays nested too deeply".into()));
                }
                match run_at_depth(src, self.lim, ev, self.depth.saturating_add(1)) {
                    End::Stop => {}
                    End::Empty => return Err(Fail::Truncated),
                    End::Error { message, .. } => {
                        return err(format!("in joblib object array: {message}"))
                    }
                    End::Limit { message, .. } => return Err(Fail::Limit(message)),
                }
            }
            Some(size) => {
                if aligned {
                    let pad = src.fixed::<1>()?[0];
                    if !src.skip(u64::from(pad)).map_err(Fail::Io)? {
                        return Err(Fail::Truncated);
                    }
                }
                let n = count
                    .checked_mul(size)
                    .ok_or(Fail::Error("array size overflows".into()))?;
                if !src.skip(n).map_err(Fail::Io)? {
                    return Err(Fail::Truncated);
                }
            }
        }
        // The unpickler replaces the wrapper with the array.
        self.pop()?;
        self.push(V::Opaque)
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;

    pub(crate) fn sim(bytes: &[u8]) -> (Events, End) {
        let mut r = bytes;
        let mut src = Src::new(&mut r, Some(bytes.len() as u64));
        let mut ev = Events::default();
        let end = run(&mut src, &PickleLimits::default(), &mut ev);
        (ev, end)
    }

    fn names(ev: &Events) -> Vec<(String, String, bool)> {
        ev.imports
            .iter()
            .map(|i| (i.module.clone(), i.name.clone(), i.invoked))
            .collect()
    }

    fn imp(m: &str, n: &str, inv: bool) -> (String, String, bool) {
        (m.into(), n.into(), inv)
    }

    #[test]
    fn protocol0_global_reduce() {
        let (ev, end) = sim(b"cos\nsystem\n(S'echo hi'\ntR.");
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
    }

    #[test]
    fn stack_global_from_memo_and_string_kinds() {
        // module via SHORT_BINUNICODE memoized, name via STRING (protocol 0 opcode in a proto 4 stream)
        let p = b"\x80\x04\x8c\x02os\x94S'system'\n\x93\x94h\x00\x85R.";
        let (ev, end) = sim(p);
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
    }

    #[test]
    fn broken_tail_keeps_imports() {
        let (ev, end) = sim(b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00echo\x85R\xff");
        assert!(matches!(end, End::Error { offset: 27, .. }), "{end:?}");
        assert_eq!(names(&ev), vec![imp("posix", "system", true)]);
    }

    #[test]
    fn frame_beyond_data_stops_like_c() {
        // FRAME claims 1000 bytes; the C unpickler fails before running anything after it.
        let (ev, end) = sim(b"\x80\x04\x95\xe8\x03\x00\x00\x00\x00\x00\x00cos\nsystem\n.");
        assert!(matches!(end, End::Error { offset: 2, .. }), "{end:?}");
        assert!(ev.imports.is_empty());
        // Opcodes may cross frame boundaries in the C unpickler.
        let (ev, end) = sim(b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n\x95\x01\x00\x00\x00\x00\x00\x00\x00N.");
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", false)]);
    }

    #[test]
    fn mark_fence_underflow() {
        let (_, end) = sim(b"N(R.");
        assert!(
            matches!(end, End::Error { ref message, .. } if message == "unpickling stack underflow")
        );
        let (_, end) = sim(b"t.");
        assert!(matches!(end, End::Error { ref message, .. } if message == "could not find MARK"));
    }

    #[test]
    fn memo_miss_is_an_error() {
        let (_, end) = sim(b"\x80\x02h\x05.");
        assert!(
            matches!(end, End::Error { ref message, .. } if message.contains("Memo value not found"))
        );
    }

    #[test]
    fn protocol_too_high() {
        let (_, end) = sim(b"\x80\x06N.");
        assert!(matches!(end, End::Error { offset: 0, .. }));
    }

    #[test]
    fn inst_and_obj_are_calls() {
        let (ev, end) = sim(b"(S'ls'\nios\nsystem\n.");
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
        let (ev, end) = sim(b"(cos\nsystem\nS'ls'\no.");
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("os", "system", true)]);
    }

    #[test]
    fn newobj_ex_and_build() {
        let p = b"\x80\x04\x8c\x08__main__\x8c\x01A\x93)}\x92}b.";
        let (ev, end) = sim(p);
        assert_eq!(end, End::Stop);
        assert_eq!(names(&ev), vec![imp("__main__", "A", true)]);
    }

    #[test]
    fn build_on_global_recorded() {
        let (ev, end) = sim(b"ccollections\nOrderedDict\n}b.");
        assert_eq!(end, End::Stop);
        assert_eq!(ev.build_on_global.len(), 1);
    }

    #[test]
    fn ext_codes_recorded() {
        let (ev, _) = sim(b"\x80\x02\x82\x01.");
        assert_eq!(ev.ext_codes, vec![(2, 1)]);
    }

    #[test]
    fn codecs_encode_nested_pickle() {
        // pickle.loads(_codecs.encode('\x80\x02cos\nsystem\n...', 'latin1'))
        let inner = "\u{80}\u{2}cos\nsystem\n.";
        let mut p = b"\x80\x02cpickle\nloads\nc_codecs\nencode\nX".to_vec();
        let utf8 = inner.as_bytes();
        p.extend_from_slice(&(utf8.len() as u32).to_le_bytes());
        p.extend_from_slice(utf8);
        p.extend_from_slice(b"X\x06\x00\x00\x00latin1\x86R\x85R.");
        let (ev, end) = sim(&p);
        assert_eq!(end, End::Stop);
        assert_eq!(ev.nested.len(), 1);
        assert_eq!(&ev.nested[0].1[..], b"\x80\x02cos\nsystem\n.");
    }

    #[test]
    fn escape_decoding() {
        assert_eq!(escape_decode(br"a\x41\n\101\\").ok().unwrap(), b"aA\nA\\");
        assert_eq!(raw_unicode_decode(br"os\u0073"), "oss");
        assert_eq!(raw_unicode_decode(br"a\uZZ"), "a\\uZZ");
    }

    #[test]
    fn dtype_sizes() {
        assert_eq!(dtype_itemsize("<f8"), Ok(Some(8)));
        assert_eq!(dtype_itemsize("U5"), Ok(Some(20)));
        assert_eq!(dtype_itemsize("V64"), Ok(Some(64)));
        assert_eq!(dtype_itemsize("|O"), Ok(None));
        assert_eq!(dtype_itemsize("O8"), Ok(None));
        assert_eq!(dtype_itemsize("b1"), Ok(Some(1)));
        assert!(dtype_itemsize("Z3").is_err());
    }

    #[test]
    fn sparse_memo_indices_stay_small() {
        let mut p = b"\x80\x02N".to_vec();
        for i in 0..40u32 {
            p.push(b'r');
            p.extend(((i + 1) * 3000).to_le_bytes());
        }
        p.push(b'.');
        let (_, end) = sim(&p);
        assert_eq!(end, End::Stop);
    }

    #[test]
    fn stack_limit() {
        let mut p = vec![b'N'; 5000];
        p.push(b'.');
        let mut r = &p[..];
        let mut src = Src::new(&mut r, None);
        let lim = PickleLimits {
            max_stack: 100,
            ..PickleLimits::default()
        };
        let end = run(&mut src, &lim, &mut Events::default());
        assert!(matches!(end, End::Limit { offset: 100, .. }), "{end:?}");
    }
}
