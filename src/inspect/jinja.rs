//! Chat templates (Jinja2, rendered by llama-cpp-python, transformers and other loaders),
//! judged by their tokens as Jinja's lexer reads them, not by their text: names can be built at
//! render time (`'__glo' ~ 'bals__'`), spelled with escapes (`'\x5f\x5fglobals\x5f\x5f'`) and
//! reached by subscription (Jinja falls back from `[]` to attribute access), so no marker need
//! appear in the text.
//!
//! Flagged: an attribute whose name starts with `_` or is a frame/function internal; a
//! subscript whose key is a string that unescapes to such a name, or a string computed at
//! render time (concatenation, filters, formatting), directly or through a `set` variable;
//! the `attr` filter; an `attribute=` argument naming such a name. What real templates use
//! (loops, `namespace`, filters, `raise_exception`, `~` on content, subscripts by literal keys
//! and loop indices) passes.

/// The chat templates of a Hugging Face `tokenizer_config.json` (JSON text as
/// `json.loads` decodes it): `chat_template` is a string, or a list of `{"name", "template"}`;
/// of a repeated key the last counts, as in a Python dict. Nothing else of the document is
/// kept in memory.
pub fn hf_templates(text: &str) -> Vec<(String, String)> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Last;
    impl<'de> Visitor<'de> for Last {
        type Value = Option<serde_json::Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut last = None;
            while let Some(k) = a.next_key::<String>()? {
                if k == "chat_template" {
                    last = Some(a.next_value()?);
                } else {
                    a.next_value::<IgnoredAny>()?;
                }
            }
            Ok(last)
        }
    }
    if !text.contains("chat_template") {
        return Vec::new();
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let Ok(Some(v)) = (&mut de).deserialize_map(Last) else {
        return Vec::new();
    };
    match v {
        serde_json::Value::String(t) => vec![("chat_template".into(), t)],
        serde_json::Value::Array(list) => list
            .iter()
            .filter_map(|item| {
                let t = item.get("template")?.as_str()?;
                let name = item.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                Some((format!("chat_template[{name}]"), t.to_string()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// One token inside a `{{ }}` or `{% %}` tag.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    /// A string literal, unescaped as Jinja's lexer does (`unicode-escape`).
    Str(String),
    Num,
    Op(String),
}

/// Attribute names that reach Python internals without a leading underscore.
const INTERNAL: &[&str] = &[
    "mro",
    "func_globals",
    "func_code",
    "gi_frame",
    "gi_code",
    "cr_frame",
    "ag_frame",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_back",
    "tb_frame",
    "tb_next",
];

fn internal(name: &str) -> bool {
    name.starts_with('_') || INTERNAL.contains(&name)
}

/// Python's `unicode-escape` decoding of a literal's body (as Jinja applies it).
fn unescape(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0usize;
    while let Some(&ch) = c.get(i) {
        i = i.saturating_add(1);
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        let Some(&e) = c.get(i) else {
            out.push('\\');
            break;
        };
        i = i.saturating_add(1);
        let hex = |i: &mut usize, n: usize| -> Option<char> {
            let h: String = c.get(*i..i.saturating_add(n))?.iter().collect();
            let v = u32::from_str_radix(&h, 16).ok()?;
            *i = i.saturating_add(n);
            char::from_u32(v)
        };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' | '\'' | '"' => out.push(e),
            '\n' => {}
            'x' => out.push(hex(&mut i, 2).unwrap_or('\u{fffd}')),
            'u' => out.push(hex(&mut i, 4).unwrap_or('\u{fffd}')),
            'U' => out.push(hex(&mut i, 8).unwrap_or('\u{fffd}')),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match c.get(i).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v.saturating_mul(8).saturating_add(d);
                            i = i.saturating_add(1);
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// The code inside every tag (`{{ }}`, `{% %}`), in order; text, comments and raw blocks are
/// data.
fn tags(t: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = t;
    let mut raw = false;
    while let Some(i) = rest.find('{') {
        let after = rest.get(i..).unwrap_or_default();
        let (close, open_len) = if after.starts_with("{{") {
            ("}}", 2)
        } else if after.starts_with("{%") {
            ("%}", 2)
        } else if after.starts_with("{#") {
            ("#}", 2)
        } else {
            rest = rest.get(i.saturating_add(1)..).unwrap_or_default();
            continue;
        };
        let body_start = i.saturating_add(open_len);
        let Some(j) = rest.get(body_start..).and_then(|b| b.find(close)) else {
            // An unclosed tag: the rest is code to Jinja (it fails to parse, or not).
            out.push(rest.get(body_start..).unwrap_or_default());
            break;
        };
        let body = rest
            .get(body_start..body_start.saturating_add(j))
            .unwrap_or_default();
        let stmt = body.trim_matches(|c| c == '-' || c == '+').trim();
        if raw {
            if close == "%}" && stmt == "endraw" {
                raw = false;
            }
        } else if close == "%}" && stmt == "raw" {
            raw = true;
        } else if close != "#}" {
            out.push(body);
        }
        rest = rest
            .get(body_start.saturating_add(j).saturating_add(2)..)
            .unwrap_or_default();
    }
    out
}

fn lex(code: &str) -> Vec<Tok> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0usize;
    while let Some(&ch) = c.get(i) {
        if ch.is_whitespace() {
            i = i.saturating_add(1);
        } else if ch == '\'' || ch == '"' {
            let mut j = i.saturating_add(1);
            let mut body = String::new();
            while let Some(&d) = c.get(j) {
                if d == '\\' {
                    body.push(d);
                    if let Some(&n) = c.get(j.saturating_add(1)) {
                        body.push(n);
                    }
                    j = j.saturating_add(2);
                    continue;
                }
                if d == ch {
                    break;
                }
                body.push(d);
                j = j.saturating_add(1);
            }
            out.push(Tok::Str(unescape(&body)));
            i = j.saturating_add(1);
        } else if ch.is_alphabetic() || ch == '_' {
            let mut j = i;
            while c.get(j).is_some_and(|d| d.is_alphanumeric() || *d == '_') {
                j = j.saturating_add(1);
            }
            out.push(Tok::Name(c.get(i..j).unwrap_or_default().iter().collect()));
            i = j;
        } else if ch.is_ascii_digit() {
            while c
                .get(i)
                .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '.' || *d == '_')
            {
                i = i.saturating_add(1);
            }
            out.push(Tok::Num);
        } else {
            let two: String = c
                .get(i..i.saturating_add(2))
                .unwrap_or_default()
                .iter()
                .collect();
            let op = if ["**", "//", "==", "!=", "<=", ">="].contains(&two.as_str()) {
                two
            } else {
                ch.to_string()
            };
            i = i.saturating_add(op.chars().count());
            out.push(Tok::Op(op));
        }
    }
    out
}

/// Tokens that make a string at render time out of parts.
fn computes(toks: &[Tok]) -> bool {
    let has_str = toks.iter().any(|t| matches!(t, Tok::Str(_)));
    let ops = toks
        .iter()
        .any(|t| matches!(t, Tok::Op(o) if ["~", "+", "|", "%", "*", "("].contains(&o.as_str())));
    has_str && ops || toks.iter().any(|t| matches!(t, Tok::Str(s) if internal(s)))
}

/// What in `template` reaches Python internals; empty when nothing does.
pub fn injections(template: &str) -> Vec<String> {
    let tags = tags(template);
    let lexed: Vec<Vec<Tok>> = tags.iter().map(|t| lex(t)).collect();
    // Variables set from a string computed at render time.
    let mut tainted: std::collections::HashSet<String> = std::collections::HashSet::new();
    for toks in &lexed {
        if let (Some(Tok::Name(kw)), Some(Tok::Name(var))) = (toks.first(), toks.get(1)) {
            if kw == "set" {
                let value = toks.iter().position(|t| *t == Tok::Op("=".into()));
                if value.is_some_and(|v| computes(toks.get(v..).unwrap_or_default())) {
                    tainted.insert(var.clone());
                }
            }
        }
    }
    let mut hits = Vec::new();
    let hit = |h: String, hits: &mut Vec<String>| {
        if !hits.contains(&h) && hits.len() < 16 {
            hits.push(h);
        }
    };
    for toks in &lexed {
        // Each bracket's partner, and running counts for `computes` over any span, found in
        // one pass: scanning forward from every '[' would be quadratic in a hostile tag.
        let mut close: Vec<Option<usize>> = vec![None; toks.len()];
        let mut open: Vec<usize> = Vec::new();
        let (mut strs, mut ops, mut internals) = (vec![0usize], vec![0usize], vec![0usize]);
        for (m, x) in toks.iter().enumerate() {
            match x {
                Tok::Op(o) if o == "[" || o == "(" => open.push(m),
                Tok::Op(o) if o == "]" || o == ")" => {
                    if let Some(o) = open.pop() {
                        if let Some(c) = close.get_mut(o) {
                            *c = Some(m);
                        }
                    }
                }
                _ => {}
            }
            let last = |v: &Vec<usize>| v.last().copied().unwrap_or(0);
            let (s0, o0, i0) = (last(&strs), last(&ops), last(&internals));
            strs.push(s0.saturating_add(usize::from(matches!(x, Tok::Str(_)))));
            ops.push(o0.saturating_add(usize::from(
                matches!(x, Tok::Op(o) if ["~", "+", "|", "%", "*", "("].contains(&o.as_str())),
            )));
            internals.push(i0.saturating_add(usize::from(matches!(x, Tok::Str(s) if internal(s)))));
        }
        let count = |v: &Vec<usize>, a: usize, b: usize| {
            v.get(b)
                .copied()
                .unwrap_or(0)
                .saturating_sub(v.get(a).copied().unwrap_or(0))
        };
        // `computes` over toks[a..b].
        let computed = |a: usize, b: usize| {
            count(&strs, a, b) > 0 && count(&ops, a, b) > 0 || count(&internals, a, b) > 0
        };
        for (k, t) in toks.iter().enumerate() {
            let prev = k.checked_sub(1).and_then(|p| toks.get(p));
            match t {
                Tok::Name(n) if matches!(prev, Some(Tok::Op(o)) if o == ".") && internal(n) => {
                    hit(format!("attribute .{n}"), &mut hits);
                }
                Tok::Name(n) if n == "attr" && matches!(prev, Some(Tok::Op(o)) if o == "|") => {
                    hit("the attr filter".into(), &mut hits);
                }
                Tok::Str(s)
                    if internal(s)
                        && matches!(prev, Some(Tok::Op(o)) if o == "=")
                        && matches!(k.checked_sub(2).and_then(|p| toks.get(p)), Some(Tok::Name(a)) if a == "attribute") =>
                {
                    hit(format!("attribute={s:?}"), &mut hits);
                }
                Tok::Op(o) if o == "[" => {
                    // A subscript follows a value; a list literal does not.
                    let subscript = matches!(prev, Some(Tok::Name(_) | Tok::Str(_)))
                        || matches!(prev, Some(Tok::Op(p)) if p == ")" || p == "]");
                    if !subscript {
                        continue;
                    }
                    let end = close.get(k).copied().flatten().unwrap_or(k);
                    let from = k.saturating_add(1);
                    let key = toks.get(from..end).unwrap_or_default();
                    match key {
                        [Tok::Str(s)] if internal(s) => {
                            hit(format!("subscript [{s:?}]"), &mut hits)
                        }
                        [Tok::Str(_)] | [Tok::Num] => {}
                        [Tok::Name(n)] if tainted.contains(n) => {
                            hit(format!("subscript [{n}] by a computed string"), &mut hits)
                        }
                        _ if !key.is_empty() && computed(from, end) => hit(
                            "subscript by a string computed at render time".into(),
                            &mut hits,
                        ),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_templates_pass() {
        for t in [
            "{% set ns = namespace(x=1) %}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{% endfor %}",
            "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endfor %}",
            "{%- for m in messages -%}{{- '<|im_start|>' ~ m.role ~ '\\n' ~ m.content | trim ~ '<|im_end|>' -}}{%- endfor -%}{% if messages[-1]['role'] == 'user' %}{{ messages[loop.index0 - 1] }}{% endif %}",
            "{% raw %}{{ x.__class__ }}{% endraw %}{# {{ y.__globals__ }} #}__init__ is only text",
            "{{ tools | tojson(indent=4) }}{{ messages | map(attribute='content') | join(' ') }}",
        ] {
            assert!(injections(t).is_empty(), "{t}: {:?}", injections(t));
        }
    }

    #[test]
    fn hf_templates_keep_the_last_of_a_repeated_key() {
        let t = hf_templates(r#"{"chat_template": "a", "x": [1, {"y": 2}], "chat_template": "b"}"#);
        assert_eq!(t, vec![("chat_template".to_string(), "b".to_string())]);
        assert!(hf_templates(r#"["chat_template"]"#).is_empty());
    }

    #[test]
    fn hostile_text_never_panics() {
        // Random splices of template pieces: unclosed tags, stray quotes, escapes at the end.
        let parts = [
            "{{", "}}", "{%", "%}", "{#", "#}", "'", "\"", "\\", "\\x5", "[", "]", "(", ")", ".",
            "_", "__", "~", "|", "attr", "set", "=", "raw", "endraw", "x", "0", " ", "\n", "é",
        ];
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..20_000 {
            let mut t = String::new();
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                t.push_str(parts.get((x % parts.len() as u64) as usize).unwrap_or(&""));
            }
            let _ = injections(&t);
        }
    }

    #[test]
    fn many_brackets_cost_their_number_not_its_square() {
        let t = format!("{{{{ x{} }}}}", "[a".repeat(200_000));
        assert!(injections(&t).is_empty());
        let t = format!(
            "{{{{ x{}'__x'{} }}}}",
            "[a[".repeat(50_000),
            "]]".repeat(50_000)
        );
        assert!(!injections(&t).is_empty());
    }

    #[test]
    fn disguised_access_is_found() {
        for t in [
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "{{ cycler['__init__']['__globals__'] }}",
            "{{ cycler['\\x5f\\x5finit\\x5f\\x5f'] }}",
            "{{ cycler['__in' ~ 'it__'] }}",
            "{% set g = '__glo' ~ 'bals__' %}{{ cycler.__init__[g] }}",
            "{{ x|attr('__class__') }}",
            "{{ messages|map(attribute='__class__')|list }}",
            "{{ lipsum['_' * 2 + 'globals' + '_' * 2] }}",
            "{{ (x.gi_frame) }}",
        ] {
            assert!(!injections(t).is_empty(), "{t}");
        }
    }
}
