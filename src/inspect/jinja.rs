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

/// The chat templates of a Hugging Face `tokenizer_config.json` (or `chat_template.json`),
/// from the values of its top-level `chat_template` keys, every occurrence of a repeated key
/// (Python keeps the last; other readers may keep another): a string, or a list of
/// `{"name", "template"}` (every `template` of an item).
pub fn hf_templates(values: &[&super::pyjson::Value]) -> Vec<(String, String)> {
    use super::pyjson::Value;
    let mut out = Vec::new();
    for v in values {
        match v {
            Value::Str(_) => {
                if let Some(t) = v.as_str() {
                    out.push(("chat_template".to_string(), t.into_owned()));
                }
            }
            Value::Array(list) => {
                for item in list {
                    let name = item
                        .get("name")
                        .and_then(|n| n.as_str())
                        .map_or_else(|| "?".to_string(), |n| n.into_owned());
                    for t in item.all("template").filter_map(|t| t.as_str()) {
                        out.push((format!("chat_template[{name}]"), t.into_owned()));
                    }
                }
            }
            _ => {}
        }
    }
    out
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

/// Filters that look an attribute path up at render time (`make_attrgetter`: every dotted part
/// through `environment.getitem`): map's `attribute=`, and the first arguments of these.
const ATTRIBUTE_FILTERS: &[&str] = &[
    "map",
    "selectattr",
    "rejectattr",
    "sort",
    "groupby",
    "unique",
    "min",
    "max",
    "sum",
];

/// An attribute path (`'a.__class__'`) with a part that names an internal.
fn internal_path(path: &str) -> bool {
    path.split('.').any(internal)
}

/// A `str.format` string whose replacement fields reach an internal (`'{0.__class__}'`,
/// `'{x[__globals__]}'`): the attribute and index parts after each field's first name.
fn internal_format_fields(s: &str) -> bool {
    s.split('{').skip(1).any(|f| {
        let field = f.split(['}', '!', ':']).next().unwrap_or_default();
        field
            .split(['.', '['])
            .skip(1)
            .any(|p| internal(p.trim_end_matches(']')))
    })
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

/// Operators that make a value at render time whatever their operands: concatenation, filters,
/// calls.
const BUILDS: &[&str] = &["~", "|", "("];
/// Operators that make a string only from a string operand.
const BUILDS_FROM_STR: &[&str] = &["+", "%", "*"];

/// For every position, where a value starting there ends: the next `,` or unmatched closing
/// bracket at its own depth, or the end of the tag. One backward pass (scanning forward from
/// every position would be quadratic in a tag of many nested calls).
fn value_ends(toks: &[Tok]) -> Vec<usize> {
    let mut ends = vec![toks.len(); toks.len().saturating_add(1)];
    let mut frames = vec![toks.len()];
    for (i, t) in toks.iter().enumerate().rev() {
        let end = match t {
            Tok::Op(o) if o == ")" || o == "]" || o == "}" => {
                frames.push(i);
                i
            }
            Tok::Op(o) if o == "(" || o == "[" || o == "{" => {
                if frames.len() > 1 {
                    frames.pop();
                }
                frames.last().copied().unwrap_or(toks.len())
            }
            Tok::Op(o) if o == "," => {
                if let Some(top) = frames.last_mut() {
                    *top = i;
                }
                i
            }
            _ => frames.last().copied().unwrap_or(toks.len()),
        };
        if let Some(e) = ends.get_mut(i) {
            *e = end;
        }
    }
    ends
}

/// Running counts over one tag's tokens, so that any span is judged in constant time (a tag
/// of many nested brackets or keyword arguments would otherwise cost its length squared).
struct Spans {
    strs: Vec<usize>,
    weak: Vec<usize>,
    builds: Vec<usize>,
    internals: Vec<usize>,
}

impl Spans {
    fn new(toks: &[Tok]) -> Self {
        let mut s = Spans {
            strs: vec![0],
            weak: vec![0],
            builds: vec![0],
            internals: vec![0],
        };
        for x in toks {
            let op = |set: &[&str]| matches!(x, Tok::Op(o) if set.contains(&o.as_str()));
            push_count(&mut s.strs, matches!(x, Tok::Str(_)));
            push_count(&mut s.weak, op(BUILDS_FROM_STR));
            push_count(&mut s.builds, op(BUILDS));
            push_count(&mut s.internals, matches!(x, Tok::Str(s) if internal(s)));
        }
        s
    }
    /// Whether `toks[a..b]` makes a string at render time out of parts (concatenation, a
    /// filter, a call; `+`, `%` or `*` with a string operand), or names an internal.
    fn computes(&self, a: usize, b: usize) -> bool {
        count(&self.builds, a, b) > 0
            || count(&self.strs, a, b) > 0 && count(&self.weak, a, b) > 0
            || count(&self.internals, a, b) > 0
    }
}

fn push_count(v: &mut Vec<usize>, yes: bool) {
    let last = v.last().copied().unwrap_or(0);
    v.push(last.saturating_add(usize::from(yes)));
}

/// How many counted tokens lie in `[a, b)`, from running counts.
fn count(v: &[usize], a: usize, b: usize) -> usize {
    v.get(b)
        .copied()
        .unwrap_or(0)
        .saturating_sub(v.get(a).copied().unwrap_or(0))
}

/// One assignment: the names assigned, and the span of their value in the tag's tokens (`None`
/// for a block set, whose value is rendered text).
struct Assign<'a> {
    names: Vec<&'a String>,
    value: Option<(usize, usize)>,
}

/// The assignments of one tag. `NAME = value` in any position (set, with, keyword arguments,
/// namespace attributes) and `for NAMES in value`.
fn assignments<'a>(toks: &'a [Tok], ends: &[usize]) -> Vec<Assign<'a>> {
    let mut out = Vec::new();
    if let Some(Tok::Name(kw)) = toks.first() {
        // A block set (`{% set v %}text{% endset %}`) holds rendered text: any string at all.
        if kw == "set" && !toks.iter().any(|t| *t == Tok::Op("=".into())) {
            if let Some(Tok::Name(v)) = toks.get(1) {
                out.push(Assign {
                    names: vec![v],
                    value: None,
                });
            }
        }
        if kw == "for" {
            let at_in = toks
                .iter()
                .position(|t| matches!(t, Tok::Name(n) if n == "in"))
                .unwrap_or(toks.len());
            let names = toks
                .get(1..at_in)
                .unwrap_or_default()
                .iter()
                .filter_map(|t| match t {
                    Tok::Name(n) => Some(n),
                    _ => None,
                })
                .collect();
            out.push(Assign {
                names,
                value: Some((at_in, toks.len())),
            });
        }
    }
    for (i, t) in toks.iter().enumerate() {
        if *t != Tok::Op("=".into()) {
            continue;
        }
        if let Some(Tok::Name(n)) = i.checked_sub(1).and_then(|p| toks.get(p)) {
            let from = i.saturating_add(1);
            // `set x = ...` runs to the end of the tag; a keyword argument to its comma.
            let whole = matches!(toks.first(), Some(Tok::Name(kw)) if kw == "set" || kw == "with")
                && i <= 3;
            let end = if whole {
                toks.len()
            } else {
                ends.get(from).copied().unwrap_or(toks.len())
            };
            // `namespace(...)` itself holds no string; its keyword arguments are assignments
            // of their own (`ns.v` is then matched by `v`).
            let namespace = matches!(
                (toks.get(from), toks.get(from.saturating_add(1))),
                (Some(Tok::Name(f)), Some(Tok::Op(p))) if f == "namespace" && p == "("
            ) && ends.get(from.saturating_add(2)).copied()
                == Some(end.saturating_sub(1));
            if !namespace {
                out.push(Assign {
                    names: vec![n],
                    value: Some((from, end)),
                });
            }
        }
    }
    out
}

/// What in `template` reaches Python internals; empty when nothing does.
pub fn injections(template: &str) -> Vec<String> {
    let tags = tags(template);
    let lexed: Vec<Vec<Tok>> = tags.iter().map(|t| lex(t)).collect();
    let ends: Vec<Vec<usize>> = lexed.iter().map(|t| value_ends(t)).collect();
    let spans: Vec<Spans> = lexed.iter().map(|t| Spans::new(t)).collect();
    // Variables that may hold a string computed at render time, or naming an internal: set by
    // `set`, `with`, keyword arguments (`namespace(v=...)`, macro defaults) or `for`, directly or
    // from another such variable.
    let assigns: Vec<Vec<Assign<'_>>> = lexed
        .iter()
        .zip(&ends)
        .map(|(t, e)| assignments(t, e))
        .collect();
    let mut tainted: std::collections::HashSet<&String> = std::collections::HashSet::new();
    let names_of = |tainted: &std::collections::HashSet<&String>, toks: &[Tok]| {
        let mut v = vec![0usize];
        for x in toks {
            push_count(&mut v, matches!(x, Tok::Name(n) if tainted.contains(n)));
        }
        v
    };
    // A chain of n variables needs n passes; past the cap, every assigned name is suspect.
    for pass in 0..=32 {
        let mut grew = false;
        for ((toks, sp), list) in lexed.iter().zip(&spans).zip(&assigns) {
            if list.is_empty() {
                continue;
            }
            let named = names_of(&tainted, toks);
            for a in list {
                let taints = pass == 32
                    || a.value.is_none_or(|(from, end)| {
                        sp.computes(from, end) || count(&named, from, end) > 0
                    });
                if taints {
                    for n in &a.names {
                        grew |= tainted.insert(n);
                    }
                }
            }
        }
        if !grew {
            break;
        }
    }
    let mut hits = Vec::new();
    let hit = |h: String, hits: &mut Vec<String>| {
        if !hits.contains(&h) && hits.len() < 16 {
            hits.push(h);
        }
    };
    for ((toks, sp), ends) in lexed.iter().zip(&spans).zip(&ends) {
        // Each bracket's partner, found in one pass: scanning forward from every '[' would be
        // quadratic in a hostile tag.
        let mut close: Vec<Option<usize>> = vec![None; toks.len()];
        let mut open: Vec<usize> = Vec::new();
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
        }
        let taints = names_of(&tainted, toks);
        let computed = |a: usize, b: usize| sp.computes(a, b);
        for (k, t) in toks.iter().enumerate() {
            let prev = k.checked_sub(1).and_then(|p| toks.get(p));
            match t {
                Tok::Name(n) if matches!(prev, Some(Tok::Op(o)) if o == ".") && internal(n) => {
                    hit(format!("attribute .{n}"), &mut hits);
                }
                Tok::Name(n)
                    if internal(n)
                        && matches!(toks.get(k.saturating_add(1)), Some(Tok::Op(o)) if o == "=") =>
                {
                    // dict(__class__=1)|first is the string '__class__'.
                    hit(
                        format!("keyword {n}= (a name that becomes a string)"),
                        &mut hits,
                    );
                }
                Tok::Name(n) if n == "attr" && matches!(prev, Some(Tok::Op(o)) if o == "|") => {
                    hit("the attr filter".into(), &mut hits);
                }
                Tok::Name(n)
                    if ATTRIBUTE_FILTERS.contains(&n.as_str())
                        && matches!(prev, Some(Tok::Op(o)) if o == "|" || o == "is")
                        && matches!(toks.get(k.saturating_add(1)), Some(Tok::Op(p)) if p == "(") =>
                {
                    // selectattr('__class__'), map(attribute='x.__class__'), groupby(v): the
                    // arguments are attribute paths looked up at render time.
                    let from = k.saturating_add(2);
                    let end = close
                        .get(k.saturating_add(1))
                        .copied()
                        .flatten()
                        .unwrap_or(toks.len());
                    let args = toks.get(from..end).unwrap_or_default();
                    if args
                        .iter()
                        .any(|a| matches!(a, Tok::Str(s) if internal_path(s)))
                    {
                        hit(
                            format!("{n} looks up an attribute path naming an internal"),
                            &mut hits,
                        );
                    } else if count(&taints, from, end) > 0 || computed(from, end) {
                        hit(
                            format!("{n} looks up an attribute path computed at render time"),
                            &mut hits,
                        );
                    }
                }
                Tok::Str(s)
                    if internal_format_fields(s)
                        && matches!(toks.get(k.saturating_add(1)), Some(Tok::Op(o)) if o == ".")
                        && matches!(toks.get(k.saturating_add(2)), Some(Tok::Name(f)) if f == "format" || f == "format_map") =>
                {
                    hit(
                        "a format string whose fields reach an internal".into(),
                        &mut hits,
                    );
                }
                Tok::Op(o)
                    if o == "=" && matches!(prev, Some(Tok::Name(a)) if a == "attribute") =>
                {
                    // map(attribute=...), sort(attribute=...): the value is looked up as an
                    // attribute or key at render time.
                    let from = k.saturating_add(1);
                    let end = ends.get(from).copied().unwrap_or(toks.len());
                    if computed(from, end) || count(&taints, from, end) > 0 {
                        hit(
                            "attribute= naming a computed or internal name".into(),
                            &mut hits,
                        );
                    }
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
                        _ if count(&taints, from, end) > 0 => hit(
                            "subscript by a variable holding a computed string".into(),
                            &mut hits,
                        ),
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
#[allow(clippy::unwrap_used)]
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
    #[allow(clippy::unwrap_used)]
    fn hf_templates_take_every_occurrence_of_a_repeated_key() {
        let doc = br#"{"chat_template": "a", "x": [1, {"y": 2}], "chat_template": [{"name": "n", "template": "b", "template": "c"}]}"#;
        let e = crate::inspect::pyjson::top_entries(doc, &["chat_template"]).unwrap();
        let v: Vec<_> = e.iter().map(|(_, v)| v).collect();
        let t = hf_templates(&v);
        let keys: Vec<&str> = t.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let e = crate::inspect::pyjson::top_entries(br#"["chat_template"]"#, &["chat_template"]);
        assert!(e.unwrap().is_empty());
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
    fn nested_keyword_arguments_cost_their_number_not_its_square() {
        // Every keyword's value spans the rest of the tag: judged from running counts.
        let t = format!(
            "{{{{ f({}1{} }}}}",
            "f(a=".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(injections(&t).is_empty());
        let t = format!(
            "{{% set v = '__cla' ~ 'ss__' %}}{{% set w = v %}}{{{{ f({}x[w]{} }}}}",
            "f(a=".repeat(50_000),
            ")".repeat(50_000)
        );
        assert!(!injections(&t).is_empty());
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
