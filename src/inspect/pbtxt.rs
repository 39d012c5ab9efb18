//! TensorFlow graphs in protobuf text format (`saved_model.pbtxt`, which
//! `tf.saved_model.load` reads when there is no `saved_model.pb`, and `.pbtxt` graphs), read as
//! protobuf's text-format tokenizer reads them: `#` comments, identifiers, numbers, strings in
//! single or double quotes with C escapes (octal, `\x`, `\u`), adjacent strings concatenated.
//! Every `op` field's value is a node's op, judged as the binary graphs' ops are.

use std::collections::BTreeMap;

/// Most bytes of text read.
pub const MAX_TEXT: u64 = 256 << 20;

/// The value of every `op` field with the number of fields naming it (at most `max` distinct),
/// or why the text cannot be read as protobuf reads it.
pub fn ops(text: &[u8], max: usize) -> Result<BTreeMap<String, u64>, String> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    let mut t = Tokens { b: text, i: 0 };
    // The previous tokens: an `op` identifier, then perhaps `:`.
    let mut after_op = false;
    while let Some(tok) = t.next()? {
        match tok {
            Tok::Ident(id) => after_op = id == b"op",
            Tok::Colon if after_op => {}
            Tok::Str(mut s) if after_op => {
                // Adjacent string literals are one value.
                let mut look = Tokens { b: t.b, i: t.i };
                while let Some(Tok::Str(more)) = look.next()? {
                    s.extend(more);
                    t.i = look.i;
                }
                let op = String::from_utf8_lossy(&s).into_owned();
                if !out.contains_key(&op) && out.len() >= max {
                    return Err(format!("more than {max} distinct ops"));
                }
                let n = out.entry(op).or_insert(0);
                *n = n.saturating_add(1);
                after_op = false;
            }
            _ => after_op = false,
        }
    }
    Ok(out)
}

enum Tok {
    Ident(Vec<u8>),
    Str(Vec<u8>),
    Colon,
    Other,
}

struct Tokens<'a> {
    b: &'a [u8],
    i: usize,
}

impl Tokens<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i = self.i.saturating_add(1);
        Some(c)
    }

    fn next(&mut self) -> Result<Option<Tok>, String> {
        loop {
            match self.peek() {
                None => return Ok(None),
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) => {
                    self.bump();
                }
                Some(b'#') => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.bump();
                    }
                }
                Some(_) => break,
            }
        }
        let start = self.i;
        let Some(c) = self.bump() else {
            return Ok(None);
        };
        Ok(Some(match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.bump();
                }
                Tok::Ident(self.b.get(start..self.i).unwrap_or_default().to_vec())
            }
            b'"' | b'\'' => Tok::Str(self.string(c)?),
            b':' => Tok::Colon,
            _ => Tok::Other,
        }))
    }

    /// A quoted string's bytes, escapes decoded as protobuf's `UnescapeCEscapeString`.
    fn string(&mut self, quote: u8) -> Result<Vec<u8>, String> {
        let mut s = Vec::new();
        loop {
            let Some(c) = self.bump() else {
                return Err("a string is not terminated".into());
            };
            match c {
                b'\n' => return Err("a string is not terminated before the line ends".into()),
                c if c == quote => return Ok(s),
                b'\\' => {
                    let Some(e) = self.bump() else {
                        return Err("a string ends in a backslash".into());
                    };
                    match e {
                        b'n' => s.push(b'\n'),
                        b't' => s.push(b'\t'),
                        b'r' => s.push(b'\r'),
                        b'a' => s.push(7),
                        b'b' => s.push(8),
                        b'f' => s.push(12),
                        b'v' => s.push(11),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e.saturating_sub(b'0'));
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v
                                            .saturating_mul(8)
                                            .saturating_add(u32::from(d.saturating_sub(b'0')));
                                        self.bump();
                                    }
                                    _ => break,
                                }
                            }
                            s.push((v & 0xff) as u8);
                        }
                        b'x' | b'X' => {
                            let mut v: u32 = 0;
                            let mut n: u8 = 0;
                            while n < 2 {
                                let Some(d) = self.peek().and_then(|d| (d as char).to_digit(16))
                                else {
                                    break;
                                };
                                v = v.saturating_mul(16).saturating_add(d);
                                self.bump();
                                n = n.saturating_add(1);
                            }
                            if n == 0 {
                                return Err("a \\x escape has no hex digit".into());
                            }
                            s.push((v & 0xff) as u8);
                        }
                        b'u' | b'U' => {
                            let len = if e == b'u' { 4 } else { 8 };
                            let mut v: u32 = 0;
                            for _ in 0..len {
                                let Some(d) = self.bump().and_then(|d| (d as char).to_digit(16))
                                else {
                                    return Err("a \\u escape is short".into());
                                };
                                v = v.saturating_mul(16).saturating_add(d);
                            }
                            let ch = char::from_u32(v).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            s.extend(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        // \\ \' \" \? and any other character stand for themselves.
                        other => s.push(other),
                    }
                }
                c => s.push(c),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ops_as_the_text_format_reads_them() {
        let t = b"node { name: 'a' op: 'ReadFile' }\n# op: 'Commented'\nnode {\n  op :\"Py\" 'Func' # split\n}\nnode { op: \"\\x45ager\\120y\\u0046unc\" }";
        let got: Vec<String> = ops(t, 16).unwrap().into_keys().collect();
        assert_eq!(got, ["EagerPyFunc", "PyFunc", "ReadFile"]);
        assert!(ops(b"node { op: 'unterminated }", 16).is_err());
        assert!(ops(b"name: 'x'", 16).unwrap().is_empty());
    }
}
