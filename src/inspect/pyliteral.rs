//! A Python literal parser for what `ast.literal_eval` accepts in a NumPy `.npy` header: dicts,
//! tuples, lists, sets, strings (every prefix and escape, adjacent strings concatenated, triple
//! quotes), numbers, `True`/`False`/`None`, comments and line continuations. Nothing is
//! evaluated beyond building the value; nesting and size are bounded. (The `inspect` module's
//! no-panic lints apply here.)

/// A Python literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Str(String),
    Bytes(Vec<u8>),
    Int(i128),
    Float,
    Bool(bool),
    None,
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Set(Vec<Lit>),
    /// Key-value pairs in order; a repeated key keeps its first position and its last value,
    /// as a Python dict does.
    Dict(Vec<(Lit, Lit)>),
}

impl Lit {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Lit::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The dict's value for a string key.
    pub fn get(&self, key: &str) -> Option<&Lit> {
        match self {
            Lit::Dict(items) => items
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

const MAX_DEPTH: u32 = 100;

struct P<'a> {
    s: &'a [char],
    i: usize,
    depth: u32,
}

/// Parse `text` as one Python literal expression.
pub fn parse(text: &str) -> Result<Lit, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = P {
        s: &chars,
        i: 0,
        depth: 0,
    };
    let v = p.expr()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(format!("unexpected {:?} after the literal", p.peek_char()));
    }
    Ok(v)
}

/// A dict being built: a repeated key keeps its first position and takes the last value. Keys
/// are found through an index (a header of many keys must not cost their square).
#[derive(Default)]
struct DictBuilder {
    items: Vec<(Lit, Lit)>,
    index: std::collections::HashMap<String, usize>,
}

impl DictBuilder {
    fn insert(&mut self, k: Lit, v: Lit) {
        let key = format!("{k:?}");
        match self.index.get(&key).and_then(|i| self.items.get_mut(*i)) {
            Some(slot) => slot.1 = v,
            None => {
                self.index.insert(key, self.items.len());
                self.items.push((k, v));
            }
        }
    }
}

// Indices move within `s` (every access goes through `get`).
#[allow(clippy::arithmetic_side_effects)]
impl P<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_char(&self) -> String {
        self.peek().map_or("end".into(), |c| c.to_string())
    }

    fn at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    /// Whitespace, newlines, comments and backslash continuations (inside brackets and at the
    /// top level alike: an over-approximation of where Python allows them is harmless here).
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' | '\x0c' => self.i += 1,
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                '\\' if matches!(self.at(1), Some('\n')) => self.i += 2,
                '\\' if matches!((self.at(1), self.at(2)), (Some('\r'), Some('\n'))) => self.i += 3,
                _ => break,
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Lit, String> {
        self.ws();
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("literal nested deeper than {MAX_DEPTH} levels"));
        }
        let v = self.atom();
        self.depth -= 1;
        v
    }

    fn atom(&mut self) -> Result<Lit, String> {
        let c = self.peek().ok_or("literal ends early")?;
        match c {
            '{' => {
                self.i += 1;
                if self.eat('}') {
                    return Ok(Lit::Dict(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat(':') {
                    let mut d = DictBuilder::default();
                    let v = self.expr()?;
                    d.insert(first, v);
                    while self.eat(',') {
                        if self.eat('}') {
                            return Ok(Lit::Dict(d.items));
                        }
                        let k = self.expr()?;
                        if !self.eat(':') {
                            return Err("expected ':' in dict".into());
                        }
                        let v = self.expr()?;
                        d.insert(k, v);
                    }
                    if self.eat('}') {
                        return Ok(Lit::Dict(d.items));
                    }
                    return Err("expected ',' or '}' in dict".into());
                }
                let items = self.rest_of_seq(first, '}')?;
                Ok(Lit::Set(items))
            }
            '[' => {
                self.i += 1;
                if self.eat(']') {
                    return Ok(Lit::List(Vec::new()));
                }
                let first = self.expr()?;
                Ok(Lit::List(self.rest_of_seq(first, ']')?))
            }
            '(' => {
                self.i += 1;
                if self.eat(')') {
                    return Ok(Lit::Tuple(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat(')') {
                    // A parenthesised expression, not a tuple.
                    return Ok(first);
                }
                if !self.eat(',') {
                    return Err("expected ',' or ')'".into());
                }
                let mut items = vec![first];
                loop {
                    if self.eat(')') {
                        return Ok(Lit::Tuple(items));
                    }
                    items.push(self.expr()?);
                    if self.eat(')') {
                        return Ok(Lit::Tuple(items));
                    }
                    if !self.eat(',') {
                        return Err("expected ',' or ')' in tuple".into());
                    }
                }
            }
            '-' | '+' => {
                self.i += 1;
                let v = self.expr()?;
                match v {
                    Lit::Int(n) if c == '-' => {
                        Ok(Lit::Int(n.checked_neg().ok_or("integer overflows")?))
                    }
                    Lit::Int(_) | Lit::Float => Ok(v),
                    _ => Err("a sign before something that is not a number".into()),
                }
            }
            '0'..='9' | '.' => self.number(),
            _ if c.is_alphabetic() || c == '_' => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.i += 1;
                }
                let word: String = self
                    .s
                    .get(start..self.i)
                    .unwrap_or_default()
                    .iter()
                    .collect();
                match word.as_str() {
                    "True" => Ok(Lit::Bool(true)),
                    "False" => Ok(Lit::Bool(false)),
                    "None" => Ok(Lit::None),
                    w if self.peek().is_some_and(|q| q == '\'' || q == '"')
                        && w.len() <= 2
                        && w.chars().all(|c| "rRbBuUfF".contains(c)) =>
                    {
                        if w.chars().any(|c| c == 'f' || c == 'F') {
                            return Err("f-strings are not literals".into());
                        }
                        self.i = start;
                        self.strings()
                    }
                    w => Err(format!("name {w:?} is not a literal")),
                }
            }
            '\'' | '"' => self.strings(),
            other => Err(format!("unexpected {other:?}")),
        }
    }

    fn rest_of_seq(&mut self, first: Lit, close: char) -> Result<Vec<Lit>, String> {
        let mut items = vec![first];
        loop {
            if self.eat(close) {
                return Ok(items);
            }
            if !self.eat(',') {
                return Err(format!("expected ',' or '{close}'"));
            }
            if self.eat(close) {
                return Ok(items);
            }
            items.push(self.expr()?);
        }
    }

    fn number(&mut self) -> Result<Lit, String> {
        let start = self.i;
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '.' => self.i += 1,
                // An exponent's sign (not in a hex literal, where 'e' is a digit).
                Some('+' | '-')
                    if matches!(self.s.get(self.i.wrapping_sub(1)), Some('e' | 'E'))
                        && !self.text(start).to_ascii_lowercase().starts_with("0x") =>
                {
                    self.i += 1
                }
                _ => break,
            }
        }
        let t = self.text(start).replace('_', "");
        // numpy's _filter_header drops Python 2's long suffix (a NAME `L` after any NUMBER
        // token: `3L`, `0x2L`) before evaluating.
        let lower = t.to_ascii_lowercase();
        let lower = lower.strip_suffix('l').unwrap_or(&lower);
        let int = |digits: &str, radix: u32| {
            i128::from_str_radix(digits, radix)
                .map(Lit::Int)
                .map_err(|_| format!("bad number {t:?}"))
        };
        if let Some(h) = lower.strip_prefix("0x") {
            return int(h, 16);
        }
        if let Some(o) = lower.strip_prefix("0o") {
            return int(o, 8);
        }
        if let Some(b) = lower.strip_prefix("0b") {
            return int(b, 2);
        }
        let d = lower;
        if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) {
            if d.len() > 1 && d.starts_with('0') && d.bytes().any(|b| b != b'0') {
                return Err(format!("leading zeros in {t:?}"));
            }
            return int(d, 10).or(Ok(Lit::Float));
        }
        let f = d.strip_suffix('j').unwrap_or(d);
        if f.parse::<f64>().is_ok() {
            return Ok(Lit::Float);
        }
        Err(format!("bad number {t:?}"))
    }

    fn text(&self, start: usize) -> String {
        self.s
            .get(start..self.i)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    /// One or more adjacent string literals, concatenated.
    fn strings(&mut self) -> Result<Lit, String> {
        let mut text = String::new();
        let mut bytes: Option<Vec<u8>> = None;
        let mut any = false;
        loop {
            self.ws();
            let start = self.i;
            let mut prefix = String::new();
            while self.peek().is_some_and(|c| "rRbBuU".contains(c)) && prefix.len() < 2 {
                prefix.push(self.peek().unwrap_or(' ').to_ascii_lowercase());
                self.i += 1;
            }
            let Some(q) = self.peek().filter(|c| *c == '\'' || *c == '"') else {
                self.i = start;
                break;
            };
            let raw = prefix.contains('r');
            let is_bytes = prefix.contains('b');
            let triple = self.at(1) == Some(q) && self.at(2) == Some(q);
            self.i += if triple { 3 } else { 1 };
            let body = self.body(q, triple, raw)?;
            if any && bytes.is_some() != is_bytes {
                return Err("cannot mix bytes and str literals".into());
            }
            if is_bytes {
                let b = bytes.get_or_insert_with(Vec::new);
                for c in body.chars() {
                    b.push(u8::try_from(u32::from(c)).map_err(|_| "non-ASCII in bytes literal")?);
                }
            } else {
                text.push_str(&body);
            }
            any = true;
        }
        if !any {
            return Err("expected a string".into());
        }
        Ok(match bytes {
            Some(b) => Lit::Bytes(b),
            None => Lit::Str(text),
        })
    }

    fn body(&mut self, q: char, triple: bool, raw: bool) -> Result<String, String> {
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            if c == q && (!triple || (self.at(1) == Some(q) && self.at(2) == Some(q))) {
                self.i += if triple { 3 } else { 1 };
                return Ok(out);
            }
            if c == '\n' && !triple {
                return Err("unterminated string".into());
            }
            self.i += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let e = self.peek().ok_or("unterminated string")?;
            self.i += 1;
            if raw {
                out.push('\\');
                out.push(e);
                continue;
            }
            match e {
                '\n' => {}
                '\\' | '\'' | '"' => out.push(e),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut v = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match self.peek().and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                self.i += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(v).ok_or("bad octal escape")?);
                }
                'x' | 'u' | 'U' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let h: String = self
                        .s
                        .get(self.i..self.i + n)
                        .unwrap_or_default()
                        .iter()
                        .collect();
                    let v = u32::from_str_radix(&h, 16)
                        .ok()
                        .filter(|_| h.len() == n)
                        .ok_or("truncated \\x, \\u or \\U escape")?;
                    self.i += n;
                    out.push(char::from_u32(v).ok_or("escape out of range")?);
                }
                'N' => {
                    // \N{NAME}: the character is not needed to judge a dtype; keep a marker.
                    if self.peek() != Some('{') {
                        return Err("malformed \\N escape".into());
                    }
                    while self.peek().is_some_and(|c| c != '}') {
                        self.i += 1;
                    }
                    self.i += 1;
                    out.push('\u{fffd}');
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn s(x: &str) -> Lit {
        Lit::Str(x.into())
    }

    #[test]
    fn strings_as_python_reads_them() {
        assert_eq!(parse("'' '|O'").unwrap(), s("|O"));
        assert_eq!(parse(r"'\x7cO'").unwrap(), s("|O"));
        assert_eq!(parse(r"'\x64escr'").unwrap(), s("descr"));
        assert_eq!(parse(r#"u"a\u0062" r'\n' '''c'''"#).unwrap(), s("ab\\nc"));
        assert_eq!(parse(r"'\117'").unwrap(), s("O"));
        assert_eq!(parse("('<' 'f8')").unwrap(), s("<f8"));
        assert!(parse("'a' b'b'").is_err());
        assert!(parse("f'x'").is_err());
    }

    #[test]
    fn containers_numbers_and_duplicates() {
        let d = parse("{'a': 1, 'a': (2,), # comment\n 'b': [True, None, -3.5e-1, 0x10, 10L], }")
            .unwrap();
        assert_eq!(d.get("a"), Some(&Lit::Tuple(vec![Lit::Int(2)])));
        assert_eq!(
            d.get("b"),
            Some(&Lit::List(vec![
                Lit::Bool(true),
                Lit::None,
                Lit::Float,
                Lit::Int(16),
                Lit::Int(10)
            ]))
        );
        assert_eq!(parse("()").unwrap(), Lit::Tuple(vec![]));
        assert_eq!(parse("(1)").unwrap(), Lit::Int(1));
        assert!(parse("{'a': 1} x").is_err());
        assert!(parse("os.system").is_err());
        assert!(parse(&"(".repeat(500)).is_err());
    }

    #[test]
    fn many_keys_cost_their_number_not_its_square() {
        let mut t = String::from("{");
        for i in 0..100_000 {
            t.push_str(&format!("{i}: 0, "));
        }
        t.push_str("0: 1}");
        let Lit::Dict(items) = parse(&t).unwrap() else {
            panic!("a dict")
        };
        assert_eq!(items.len(), 100_000);
        assert_eq!(items[0], (Lit::Int(0), Lit::Int(1)));
    }
}
