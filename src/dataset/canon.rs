//! RFC 8785 (JCS) canonical JSON straight from the bytes of a record, without building a tree.
//!
//! The output is byte-identical to serializing the parsed value with `serde_json_canonicalizer`
//! (a test checks this on generated values), but a flat record costs one pass, one output
//! buffer and no per-value allocation. The grammar is strict JSON as `serde_json` reads it:
//! the same inputs are refused (control characters in strings, lone surrogates, numbers out of
//! range, trailing characters, nesting deeper than [`MAX_DEPTH`]). Duplicate keys keep the last
//! value, as `serde_json` and Python's `json` do.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used
)]

use std::cmp::Ordering;
use std::ops::Range;

/// Deepest nesting accepted (serde_json's own limit).
pub const MAX_DEPTH: usize = 128;

type Res<T> = Result<T, String>;

/// An object key: borrowed from the source when it has no escapes, decoded otherwise.
#[derive(Clone, Debug)]
enum Key {
    Src(Range<usize>),
    Owned(String),
}

/// A top-level member after canonicalization.
#[derive(Clone, Debug)]
pub struct Member {
    key: Key,
    /// The canonical value in the member buffer.
    value: Range<usize>,
    /// The value as written in the source (for label and key text).
    source: Range<usize>,
    /// Whether the value is a JSON string.
    pub is_string: bool,
}

/// A canonicalized record object; buffers are reused from one record to the next.
#[derive(Default)]
pub struct Record {
    values: Vec<u8>,
    members: Vec<Member>,
    out: Vec<u8>,
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

fn err<T>(at: usize, what: &str) -> Res<T> {
    Err(format!("{what} at byte {at}"))
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn bump(&mut self) {
        self.i = self.i.saturating_add(1);
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, b: u8) -> Res<()> {
        self.ws();
        if self.peek() == Some(b) {
            self.bump();
            Ok(())
        } else {
            err(self.i, &format!("expected '{}'", b as char))
        }
    }

    fn src(&self, r: Range<usize>) -> &'a str {
        // The whole source was checked as UTF-8 and ranges end on ASCII delimiters.
        std::str::from_utf8(self.s.get(r).unwrap_or_default()).unwrap_or_default()
    }

    /// A string after its opening quote: the raw range when it has no escapes, else decoded.
    /// Plain text from here to the next quote or backslash (checked: no control characters,
    /// valid UTF-8); `self.i` is left on that quote or backslash.
    fn plain(&mut self) -> Res<Range<usize>> {
        let start = self.i;
        let rest = self.s.get(start..).unwrap_or_default();
        let Some(k) = memchr::memchr2(b'"', b'\\', rest) else {
            return err(self.s.len(), "EOF while parsing a string");
        };
        let span = rest.get(..k).unwrap_or_default();
        // One branch-free pass (it vectorizes) says whether anything needs a closer look.
        let odd = span
            .iter()
            .fold(0u8, |acc, b| acc | u8::from(*b < 0x20) | (b & 0x80));
        if odd != 0 {
            if let Some(c) = span.iter().position(|b| *b < 0x20) {
                return err(start.saturating_add(c), "control character in string");
            }
            std::str::from_utf8(span).map_err(|e| format!("invalid UTF-8 in string: {e}"))?;
        }
        self.i = start.saturating_add(k);
        Ok(start..self.i)
    }

    fn string(&mut self) -> Res<Result<Range<usize>, String>> {
        let head = self.plain()?;
        if self.peek() == Some(b'"') {
            self.bump();
            return Ok(Ok(head));
        }
        let mut out = String::from(self.src(head));
        loop {
            match self.peek() {
                None => return err(self.i, "unterminated string"),
                Some(b'"') => {
                    self.bump();
                    return Ok(Err(out));
                }
                Some(b'\\') => {
                    self.bump();
                    let e = self.peek();
                    self.bump();
                    let c = match e {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4()?;
                            if (0xDC00..0xE000).contains(&hi) {
                                return err(self.i, "lone trailing surrogate");
                            }
                            if (0xD800..0xDC00).contains(&hi) {
                                if self.s.get(self.i..self.i.saturating_add(2)) != Some(b"\\u") {
                                    return err(self.i, "lone leading surrogate");
                                }
                                self.i = self.i.saturating_add(2);
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return err(self.i, "lone leading surrogate");
                                }
                                let cp = 0x10000u32
                                    .saturating_add((hi.saturating_sub(0xD800)) << 10)
                                    .saturating_add(lo.saturating_sub(0xDC00));
                                char::from_u32(cp).unwrap_or('\u{FFFD}')
                            } else {
                                char::from_u32(hi).unwrap_or('\u{FFFD}')
                            }
                        }
                        _ => return err(self.i, "invalid escape"),
                    };
                    out.push(c);
                }
                Some(c) if c < 0x20 => return err(self.i, "control character in string"),
                Some(_) => {
                    let r = self.plain()?;
                    out.push_str(self.src(r));
                }
            }
        }
    }

    fn hex4(&mut self) -> Res<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .peek()
                .and_then(|c| (c as char).to_digit(16))
                .ok_or_else(|| format!("invalid \\u escape at byte {}", self.i))?;
            v = (v << 4) | d;
            self.bump();
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let from = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.bump();
        }
        self.i.saturating_sub(from)
    }

    fn number(&mut self, out: &mut Vec<u8>) -> Res<()> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        let int = match self.peek() {
            Some(b'0') => {
                self.bump();
                1
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return err(self.i, "invalid number"),
        };
        let mut plain = true;
        if self.peek() == Some(b'.') {
            self.bump();
            plain = false;
            if self.digits() == 0 {
                return err(self.i, "invalid number");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            plain = false;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if self.digits() == 0 {
                return err(self.i, "invalid number");
            }
        }
        let lit = self.s.get(start..self.i).unwrap_or_default();
        if plain && int <= 15 {
            // Exactly representable: ECMAScript prints the integer itself (and -0 as 0).
            out.extend_from_slice(if lit == b"-0" { b"0" } else { lit });
            return Ok(());
        }
        let f: f64 = self
            .src(start..self.i)
            .parse()
            .map_err(|_| format!("invalid number at byte {start}"))?;
        if !f.is_finite() {
            return err(start, "number out of range");
        }
        out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
        Ok(())
    }

    fn literal(&mut self, word: &[u8], out: &mut Vec<u8>) -> Res<()> {
        if self.s.get(self.i..self.i.saturating_add(word.len())) == Some(word) {
            self.i = self.i.saturating_add(word.len());
            out.extend_from_slice(word);
            Ok(())
        } else {
            err(self.i, "invalid literal")
        }
    }

    /// One value, canonical, appended to `out`.
    fn value(&mut self, out: &mut Vec<u8>, depth: usize) -> Res<()> {
        self.ws();
        match self.peek() {
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return err(self.i, "recursion limit exceeded");
                }
                self.bump();
                let mut values = Vec::new();
                let mut members = Vec::new();
                self.members(&mut values, &mut members, depth.saturating_add(1))?;
                emit_object(self.s, &values, &members, None, out);
                Ok(())
            }
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return err(self.i, "recursion limit exceeded");
                }
                self.bump();
                out.push(b'[');
                self.ws();
                if self.peek() == Some(b']') {
                    self.bump();
                } else {
                    loop {
                        self.value(out, depth.saturating_add(1))?;
                        self.ws();
                        match self.peek() {
                            Some(b',') => {
                                self.bump();
                                out.push(b',');
                            }
                            Some(b']') => {
                                self.bump();
                                break;
                            }
                            _ => return err(self.i, "expected ',' or ']'"),
                        }
                    }
                }
                out.push(b']');
                Ok(())
            }
            Some(b'"') => {
                self.bump();
                match self.string()? {
                    Ok(raw) => {
                        out.push(b'"');
                        out.extend_from_slice(self.s.get(raw).unwrap_or_default());
                        out.push(b'"');
                    }
                    Err(decoded) => write_string(&decoded, out),
                }
                Ok(())
            }
            Some(b't') => self.literal(b"true", out),
            Some(b'f') => self.literal(b"false", out),
            Some(b'n') => self.literal(b"null", out),
            Some(b'-' | b'0'..=b'9') => self.number(out),
            None => err(self.i, "EOF while parsing a value"),
            Some(_) => err(self.i, "expected value"),
        }
    }

    /// The members of an object after its `{`, values canonical in `values`, sorted by key as
    /// JCS orders them (UTF-16 code units), duplicates reduced to the last.
    fn members(
        &mut self,
        values: &mut Vec<u8>,
        members: &mut Vec<Member>,
        depth: usize,
    ) -> Res<()> {
        self.ws();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return err(self.i, "expected a key");
            }
            self.bump();
            let key = match self.string()? {
                Ok(r) => Key::Src(r),
                Err(s) => Key::Owned(s),
            };
            self.expect(b':')?;
            self.ws();
            let is_string = self.peek() == Some(b'"');
            let from = values.len();
            let src_from = self.i;
            self.value(values, depth)?;
            members.push(Member {
                key,
                value: from..values.len(),
                source: src_from..self.i,
                is_string,
            });
            self.ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    break;
                }
                _ => return err(self.i, "expected ',' or '}'"),
            }
        }
        let s = self.s;
        members.sort_by(|a, b| cmp_keys(key_bytes(s, &a.key), key_bytes(s, &b.key)));
        // Stable sort: of equal keys the last written comes last; keep only it.
        let mut i = members.len();
        while i > 1 {
            i = i.saturating_sub(1);
            let same = match (members.get(i.saturating_sub(1)), members.get(i)) {
                (Some(a), Some(b)) => key_bytes(s, &a.key) == key_bytes(s, &b.key),
                _ => false,
            };
            if same {
                members.remove(i.saturating_sub(1));
            }
        }
        Ok(())
    }
}

fn key_bytes<'a>(s: &'a [u8], k: &'a Key) -> &'a [u8] {
    match k {
        Key::Src(r) => s.get(r.clone()).unwrap_or_default(),
        Key::Owned(o) => o.as_bytes(),
    }
}

fn key_str<'a>(s: &'a [u8], k: &'a Key) -> &'a str {
    match k {
        Key::Src(r) => {
            std::str::from_utf8(s.get(r.clone()).unwrap_or_default()).unwrap_or_default()
        }
        Key::Owned(o) => o,
    }
}

/// JCS property order: by UTF-16 code units (differs from UTF-8 order only for characters
/// above U+FFFF against U+E000..U+FFFF).
fn cmp_keys(a: &[u8], b: &[u8]) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        let s = |x| std::str::from_utf8(x).unwrap_or_default();
        s(a).encode_utf16().cmp(s(b).encode_utf16())
    }
}

/// A string as JCS writes it.
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn write_key(s: &[u8], k: &Key, out: &mut Vec<u8>) {
    match k {
        Key::Src(r) => {
            out.push(b'"');
            out.extend_from_slice(s.get(r.clone()).unwrap_or_default());
            out.push(b'"');
        }
        Key::Owned(o) => write_string(o, out),
    }
}

/// Write an object's canonical form. With `skip`, also say where that member sits together
/// with the comma that goes with it (its leading one, or for the first of several the one
/// after it): the form without it is the bytes around that range.
fn emit_object(
    s: &[u8],
    values: &[u8],
    members: &[Member],
    skip: Option<usize>,
    out: &mut Vec<u8>,
) -> Option<Range<usize>> {
    out.push(b'{');
    let mut cut = None;
    let last = members.len().saturating_sub(1);
    for (n, m) in members.iter().enumerate() {
        let start = out.len();
        if n > 0 {
            out.push(b',');
        }
        write_key(s, &m.key, out);
        out.push(b':');
        out.extend_from_slice(values.get(m.value.clone()).unwrap_or_default());
        if Some(n) == skip {
            let end = if n == 0 && n < last {
                out.len().saturating_add(1)
            } else {
                out.len()
            };
            cut = Some(start..end);
        }
    }
    out.push(b'}');
    cut
}

/// The text of a canonical JSON string value (JCS escapes only).
fn unescape_canonical(v: &[u8]) -> String {
    let inner = v
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(v);
    if !inner.contains(&b'\\') {
        return String::from_utf8_lossy(inner).into_owned();
    }
    serde_json::from_slice::<String>(v).unwrap_or_default()
}

impl Record {
    /// Parse and canonicalize one record. A value that is not an object becomes
    /// `{"value": v}`.
    /// The record keeps ranges into `line`: its other methods take the same line again.
    /// Strings are checked as UTF-8 as they are read; outside strings only ASCII is valid JSON.
    pub fn parse(&mut self, line: &[u8]) -> Res<()> {
        self.values.clear();
        self.members.clear();
        let mut p = P { s: line, i: 0 };
        p.ws();
        if p.peek() == Some(b'{') {
            p.bump();
            p.members(&mut self.values, &mut self.members, 1)?;
        } else {
            let src_from = p.i;
            p.value(&mut self.values, 0)?;
            self.members.push(Member {
                key: Key::Owned("value".into()),
                value: 0..self.values.len(),
                source: src_from..p.i,
                is_string: line.get(src_from) == Some(&b'"'),
            });
        }
        p.ws();
        if p.i < line.len() {
            return err(p.i, "trailing characters");
        }
        Ok(())
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn key<'a>(&'a self, line: &'a [u8], m: &'a Member) -> &'a str {
        key_str(line, &m.key)
    }

    /// The member named `k`.
    pub fn get(&self, line: &[u8], k: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| key_bytes(line, &m.key) == k.as_bytes())
    }

    /// A member's value as text: a string's contents, anything else as compact JSON the way
    /// serde_json writes it.
    pub fn text(&self, line: &[u8], m: &Member) -> String {
        if m.is_string {
            return unescape_canonical(self.values.get(m.value.clone()).unwrap_or_default());
        }
        let raw = line.get(m.source.clone()).unwrap_or_default();
        // Literals and plain integers read as themselves (serde_json writes them back as is).
        let plain_int = matches!(raw.first(), Some(b'1'..=b'9'))
            && raw.len() <= 18
            && raw.iter().all(u8::is_ascii_digit);
        if plain_int || raw == b"0" || matches!(raw, b"true" | b"false" | b"null") {
            return String::from_utf8_lossy(raw).into_owned();
        }
        serde_json::from_slice::<serde_json::Value>(raw)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// Feed the canonical form to `sink`, leaving out the member `skip` (by index).
    pub fn canonical(&self, line: &[u8], skip: Option<usize>, mut sink: impl FnMut(&[u8])) {
        let mut out = Vec::new();
        let cut = emit_object(line, &self.values, &self.members, skip, &mut out);
        let r = cut.unwrap_or(out.len()..out.len());
        sink(out.get(..r.start).unwrap_or_default());
        sink(out.get(r.end..).unwrap_or_default());
    }

    /// SHA-256 of the canonical form, and of the canonical form without member `skip`
    /// (the same digest when there is none). The form is written once, into a reused buffer.
    pub fn digests(&mut self, line: &[u8], skip: Option<usize>) -> ([u8; 32], [u8; 32]) {
        use sha2::{Digest, Sha256};
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let cut = emit_object(line, &self.values, &self.members, skip, &mut out);
        let full: [u8; 32] = Sha256::digest(&out).into();
        let input = match cut {
            Some(r) => {
                let mut h = Sha256::new();
                h.update(out.get(..r.start).unwrap_or_default());
                h.update(out.get(r.end..).unwrap_or_default());
                h.finalize().into()
            }
            None => full,
        };
        self.out = out;
        (full, input)
    }

    pub fn index_of(&self, line: &[u8], k: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| key_bytes(line, &m.key) == k.as_bytes())
    }
}

/// The canonical bytes of a whole JSON document (for tests and small uses).
pub fn canonicalize(doc: &[u8]) -> Res<Vec<u8>> {
    std::str::from_utf8(doc).map_err(|e| format!("invalid UTF-8: {e}"))?;
    let mut p = P { s: doc, i: 0 };
    let mut out = Vec::new();
    p.value(&mut out, 0)?;
    p.ws();
    if p.i < doc.len() {
        return err(p.i, "trailing characters");
    }
    Ok(out)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn reference(doc: &[u8]) -> Option<Vec<u8>> {
        let v: Value = serde_json::from_slice(doc).ok()?;
        serde_json_canonicalizer::to_vec(&v).ok()
    }

    #[test]
    fn agrees_with_the_reference_on_samples() {
        let cases: &[&str] = &[
            r#"{"b":1,"a":"x"}"#,
            r#" { "z" : [1, 2.50, -0, 1e2, 1E-7, 123456789012345678, 0.1, -0.0] , "a" : {"y":null,"x":true} } "#,
            r#"{"\u00e9":1,"e":2,"\ud83d\ude00":3,"\uffff":4,"a\"b":5}"#,
            r#"{"s":"tab\there \/ \u0001 \u001f \u007f é \ud834\udd1e \\ \"q\""}"#,
            r#"{"dup":1,"dup":2,"a":[{"k":1,"k":[]}]}"#,
            r#"[1,"two",{"3":4}]"#,
            r#""just a string""#,
            r#"12345678901234567890123"#,
            r#"{"n":1.7976931348623157e308,"m":5e-324,"k":100000000000000000000000,"j":0.000001,"i":1e21}"#,
            r#"{}"#,
            r#"[]"#,
        ];
        for c in cases {
            assert_eq!(
                canonicalize(c.as_bytes()).map_err(|e| format!("{c}: {e}")),
                Ok(reference(c.as_bytes()).unwrap()),
                "{c}"
            );
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        let bad: &[&[u8]] = &[
            b"{\"a\":1,}",
            b"{\"a\" 1}",
            b"[1,]",
            b"01",
            b"1.",
            b"-",
            b"1e",
            b"1e400",
            b"\"\\ud800\"",
            b"\"\\udc00\"",
            b"\"a\x01b\"",
            b"\"\\x\"",
            b"{\"a\":1} x",
            b"tru",
            b"\"\xff\"",
            b"",
        ];
        for b in bad {
            assert!(serde_json::from_slice::<Value>(b).is_err(), "{b:?}");
            assert!(canonicalize(b).is_err(), "{b:?}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(canonicalize(deep.as_bytes()).is_err());
    }

    /// Generated values, written with random spacing and escapes, canonicalize as the
    /// reference does.
    #[test]
    fn agrees_with_the_reference_on_generated_values() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        fn gen(r: &mut dyn FnMut(u64) -> u64, depth: u32, out: &mut String) {
            let ws = |r: &mut dyn FnMut(u64) -> u64, out: &mut String| {
                out.push_str([" ", "", "\n\t", ""][r(4) as usize])
            };
            match if depth > 3 { r(4) } else { r(6) } {
                0 => out.push_str(["true", "false", "null"][r(3) as usize]),
                1 => {
                    let n = [
                        "0",
                        "-0",
                        "7",
                        "-12",
                        "3.25",
                        "1e3",
                        "-2.5E-3",
                        "123456789012345678",
                        "9007199254740993",
                        "0.1",
                        "1e-7",
                        "4.35",
                        "1e21",
                        "1e20",
                    ];
                    out.push_str(n[r(n.len() as u64) as usize]);
                }
                2 | 3 => {
                    out.push('"');
                    for _ in 0..r(6) {
                        let p = [
                            "a",
                            "\\n",
                            "\\u00e9",
                            "é",
                            "\\ud83d\\ude00",
                            "😀",
                            "\\\"",
                            "\\/",
                            "\\u001b",
                            "\u{ffff}",
                            "z",
                            "\\t",
                        ];
                        out.push_str(p[r(p.len() as u64) as usize]);
                    }
                    out.push('"');
                }
                4 => {
                    out.push('[');
                    let n = r(4);
                    for i in 0..n {
                        if i > 0 {
                            out.push(',');
                        }
                        ws(r, out);
                        gen(r, depth + 1, out);
                    }
                    out.push(']');
                }
                _ => {
                    out.push('{');
                    let n = r(5);
                    for i in 0..n {
                        if i > 0 {
                            out.push(',');
                        }
                        ws(r, out);
                        let keys = [
                            "\"a\"",
                            "\"b\"",
                            "\"\\u00e9\"",
                            "\"\u{e000}\"",
                            "\"\\ud83d\\ude00\"",
                            "\"A\"",
                            "\"aa\"",
                            "\"\"",
                        ];
                        out.push_str(keys[r(keys.len() as u64) as usize]);
                        ws(r, out);
                        out.push(':');
                        gen(r, depth + 1, out);
                    }
                    out.push('}');
                }
            }
        }
        for i in 0..20_000 {
            let mut doc = String::new();
            gen(&mut rnd, 0, &mut doc);
            let want = reference(doc.as_bytes());
            let got = canonicalize(doc.as_bytes()).ok();
            assert_eq!(got, want, "{doc}");
            // Broken copies: the same verdict, and the same bytes when valid.
            let mut bytes = doc.into_bytes();
            if bytes.is_empty() {
                continue;
            }
            let at = rnd(bytes.len() as u64) as usize;
            match i % 3 {
                0 => bytes[at] = b"{}[]\",:\\u0e-. \x01\xff"[rnd(16) as usize],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, b"\"\\{,0"[rnd(5) as usize]),
            }
            assert_eq!(
                canonicalize(&bytes).ok(),
                reference(&bytes),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn record_members_and_text() {
        let mut r = Record::default();
        let line = br#"{"text":"a\u00e9\n","label":1.0,"id":"x"}"#;
        r.parse(line).unwrap();
        let l = r.get(line, "label").unwrap();
        assert_eq!(r.text(line, l), "1.0");
        assert_eq!(r.text(line, r.get(line, "text").unwrap()), "a\u{e9}\n");
        let mut full = Vec::new();
        r.canonical(line, None, |b| full.extend_from_slice(b));
        assert_eq!(
            String::from_utf8(full.clone()).unwrap(),
            "{\"id\":\"x\",\"label\":1,\"text\":\"a\u{e9}\\n\"}"
        );
        let mut without = Vec::new();
        r.canonical(line, r.index_of(line, "label"), |b| {
            without.extend_from_slice(b)
        });
        assert_eq!(
            String::from_utf8(without).unwrap(),
            "{\"id\":\"x\",\"text\":\"a\u{e9}\\n\"}"
        );
        use sha2::{Digest, Sha256};
        let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
        for k in ["id", "label", "text"] {
            let mut want = Vec::new();
            r.canonical(line, r.index_of(line, k), |b| want.extend_from_slice(b));
            assert_eq!(
                r.digests(line, r.index_of(line, k)),
                (sha(&full), sha(&want)),
                "{k}"
            );
        }
        assert_eq!(r.digests(line, None), (sha(&full), sha(&full)));
    }
}
