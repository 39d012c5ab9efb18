//! The JSON oracle: Python's own json (tests/oracle/json_oracle.py: the pure-Python decoder, the
//! C accelerator, and transformers' utf-8 text read) reads generated and mutated documents, and
//! modelgate's reader (`inspect::pyjson`) must accept exactly what the pure decoder accepts and
//! make the same value of it (every pair, duplicates included), in both the `json.loads(bytes)`
//! and the utf-8 text view; and modelgate must report every `auto_map` entry and every hostile
//! chat template Python would hand to the loader. The decoder's branch coverage is measured
//! (coverage.py) and must reach the floor.

mod common;
mod loader_coverage;

use common::Rng;
use modelgate::finding::Code;
use modelgate::inspect::pyjson::{self, Value};

const WHAT: &str = "the json oracle";

/// Whitespace Python's JSON takes, and some it does not.
fn ws(rng: &mut Rng) -> &'static str {
    match rng.below(48) {
        0 => " ",
        1 => "\n",
        2 => "\t",
        3 => "\r\n ",
        4 => "\x0c",
        5 => "\u{a0}",
        6 => "\x0b",
        7 => "  ",
        _ => "",
    }
}

/// A string literal's body spelled at random: escapes of every kind, some Python refuses.
fn spell(rng: &mut Rng, s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match rng.below(40) {
            0 => out.push_str(&format!("\\u{:04x}", c as u32 & 0xffff)),
            1 => out.push_str(&format!("\\u{:04X}", c as u32 & 0xffff)),
            2 if c == '/' => out.push_str("\\/"),
            3 if (c as u32) < 0x100 => out.push_str(&format!("\\u {:03x}", c as u32)),
            4 if (c as u32) < 0x1000 => out.push_str(&format!("\\u+{:03x}", c as u32)),
            5 if (c as u32) < 0x100 => out.push_str(&format!("\\u0_{:02x}", c as u32)),
            6 if (c as u32) < 0x10 => out.push_str(&format!("\\u 0x{:x}", c as u32)),
            _ => match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            },
        }
    }
    out
}

const WORDS: &[&str] = &[
    "auto_map",
    "chat_template",
    "AutoModel",
    "modeling_x.XModel",
    "class_name",
    "config",
    "a",
    "é",
    "\u{1f600}",
    "",
    "x\"y",
    "back\\slash",
    "tab\there",
];

/// Escapes Python reads that a strict reader may not.
const ODD_STRINGS: &[&str] = &[
    "\\ud800",
    "\\udc00x",
    "\\ud83d\\ude00",
    "\\ud800\\u0041",
    "\\ud800\\ud800",
    "\\u-000",
    "\\u\u{661}\u{662}\u{663}\u{664}",
    "\\u\u{a0}\u{a0}12",
    "\\u00",
    "\\x41",
    "\\u0x41",
    "\\uD8",
    "\x01",
    "\x7f",
    "\u{2028}",
    "\\b\\f\\r\\t\\/",
    "\\u-001",
    "\\u12_",
    "\\u_123",
    "\\u1__2",
    "\\u1 2 ",
    "\\u\x1c123",
];

fn string(rng: &mut Rng) -> String {
    let body = if rng.below(5) == 0 {
        ODD_STRINGS[rng.below(ODD_STRINGS.len())].to_string()
    } else {
        let w = WORDS[rng.below(WORDS.len())];
        spell(rng, w)
    };
    format!("\"{body}\"")
}

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-12",
    "1.5",
    "1e5",
    "1E+5",
    "-1.25e-3",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "1.e3",
    "+1",
    "NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "-NaN",
    "1\u{663}",
    "1.\u{663}",
    "1e\u{663}",
    "\u{663}",
    "0\u{663}",
    "1e400",
    "123456789012345678901234567890",
    "18446744073709551616",
    "-9223372036854775809",
    "true",
    "false",
    "null",
    "tru",
    "nul",
    "True",
];

fn value(rng: &mut Rng, depth: usize, out: &mut String) {
    let leaf = depth > 6 || rng.below(3) == 0;
    if leaf {
        match rng.below(3) {
            0 => out.push_str(&string(rng)),
            1 if rng.below(6) == 0 => out.push_str(NUMBERS[rng.below(NUMBERS.len())]),
            _ => out.push_str(NUMBERS[rng.below(9)]),
        }
        return;
    }
    let n = rng.below(4);
    if rng.below(2) == 0 {
        out.push('[');
        out.push_str(ws(rng));
        for i in 0..n {
            if i > 0 {
                out.push_str(ws(rng));
                out.push(',');
                out.push_str(ws(rng));
            }
            value(rng, depth + 1, out);
        }
        if n > 0 && rng.below(40) == 0 {
            out.push(',');
        }
        out.push_str(ws(rng));
        out.push(']');
    } else {
        out.push('{');
        out.push_str(ws(rng));
        let mut keys: Vec<String> = Vec::new();
        for i in 0..n {
            if i > 0 {
                out.push_str(ws(rng));
                out.push(',');
                out.push_str(ws(rng));
            }
            // Repeat an earlier key now and then.
            let k = if !keys.is_empty() && rng.below(4) == 0 {
                keys[rng.below(keys.len())].clone()
            } else if rng.below(60) == 0 {
                "'k'".to_string()
            } else {
                string(rng)
            };
            keys.push(k.clone());
            out.push_str(&k);
            out.push_str(ws(rng));
            out.push(if rng.below(80) == 0 { '=' } else { ':' });
            out.push_str(ws(rng));
            value(rng, depth + 1, out);
        }
        if n > 0 && rng.below(40) == 0 {
            out.push(',');
        }
        out.push_str(ws(rng));
        out.push('}');
    }
}

/// A Hugging Face config: auto_map and chat templates among other keys, spelled every way.
fn hf_config(rng: &mut Rng) -> String {
    let mut out = String::from("{");
    out.push_str(ws(rng));
    let mut first = true;
    for _ in 0..1 + rng.below(5) {
        if !first {
            out.push(',');
            out.push_str(ws(rng));
        }
        first = false;
        match rng.below(5) {
            0 | 1 => {
                let refs = ["modeling_x.XModel", "configuration_x.XConfig", "tok.T"];
                let (a, b) = (refs[rng.below(refs.len())], refs[rng.below(refs.len())]);
                let key = spell(rng, "auto_map");
                let model = spell(rng, "AutoModel");
                let (a, b) = (spell(rng, a), spell(rng, b));
                out.push_str(&format!(
                    "\"{key}\": {{\"{model}\": \"{a}\", \"AutoConfig\": [\"{b}\", null]}}"
                ));
            }
            2 => out.push_str(&format!(
                "\"{}\": \"{}\"",
                spell(rng, "chat_template"),
                spell(rng, "{{ messages.__class__.__init__.__globals__ }}")
            )),
            3 => out.push_str(&format!(
                "\"{}\": [{{\"name\": \"tool_use\", \"template\": \"{}\"}}]",
                spell(rng, "chat_template"),
                spell(rng, "{{ cycler.__init__.__globals__.os }}")
            )),
            _ => {
                out.push_str(&string(rng));
                out.push(':');
                value(rng, 3, &mut out);
            }
        }
    }
    out.push_str(ws(rng));
    out.push('}');
    out
}

/// Text encoded as json.loads(bytes) may meet it.
fn encode(rng: &mut Rng, text: &str) -> Vec<u8> {
    let u16s = |big: bool| -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| {
                if big {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    };
    let u32s = |big: bool| -> Vec<u8> {
        text.chars()
            .flat_map(|c| {
                let c = c as u32;
                if big {
                    c.to_be_bytes()
                } else {
                    c.to_le_bytes()
                }
            })
            .collect()
    };
    match rng.below(16) {
        0 => [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat(),
        1 => u16s(false),
        2 => u16s(true),
        3 => [&b"\xff\xfe"[..], &u16s(false)].concat(),
        4 => [&b"\xfe\xff"[..], &u16s(true)].concat(),
        5 => u32s(false),
        6 => u32s(true),
        7 => [&b"\xff\xfe\0\0"[..], &u32s(false)].concat(),
        8 => [&b"\0\0\xfe\xff"[..], &u32s(true)].concat(),
        9 => {
            // A surrogate or an invalid sequence in UTF-8 (surrogatepass keeps the first).
            let bad: &[&[u8]] = &[
                b"\xed\xa0\x80",
                b"\xed\xbf\xbf",
                b"\xed\xa0",
                b"\xc0\xaf",
                b"\xff",
                b"\xf4\x90\x80\x80",
                b"\xe2\x82",
            ];
            let t = text.replacen('é', "\u{0}", 1);
            let b = bad[rng.below(bad.len())];
            let mut out = Vec::new();
            for (i, part) in t.split('\u{0}').enumerate() {
                if i > 0 {
                    out.extend_from_slice(b);
                }
                out.extend_from_slice(part.as_bytes());
            }
            out
        }
        10 => {
            // Lone surrogates in UTF-16.
            let mut u: Vec<u16> = text.encode_utf16().collect();
            if !u.is_empty() {
                let i = rng.below(u.len());
                u[i] = [0xd800, 0xdc00, 0xdbff][rng.below(3)];
            }
            u.iter().flat_map(|x| x.to_le_bytes()).collect()
        }
        _ => text.as_bytes().to_vec(),
    }
}

/// A byte-level mutation: flip, insert, delete, truncate, duplicate a span.
fn mutate(rng: &mut Rng, b: &mut Vec<u8>) {
    if b.is_empty() {
        b.push(b'{');
        return;
    }
    let i = rng.below(b.len());
    match rng.below(6) {
        0 => b[i] ^= 1 << rng.below(8),
        1 => {
            let set = b"{}[]\",:\\ \x00u0eE.-+";
            b.insert(i, set[rng.below(set.len())])
        }
        2 => {
            b.remove(i);
        }
        3 => b.truncate(i),
        4 => {
            let j = (i + 1 + rng.below(8)).min(b.len());
            let span = b[i..j].to_vec();
            b.splice(i..i, span);
        }
        _ => b[i] = rng.below(256) as u8,
    }
}

/// Fixed cases: each differential found so far, and edges of the grammar.
fn regressions() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        &b"{\"auto\\u005fmap\": {\"AutoModel\": \"m.M\"}}"[..],
        b"{\"auto_map\": {\"AutoModel\": \"m.M\", \"x\": NaN}}",
        b"{\"auto_map\": {\"AutoModel\": \"m.\\ud800M\"}}",
        b"{\"auto_map\": {\"AutoModel\": \"m.\xed\xa0\x80M\"}}",
        b"{\"auto_map\": {}, \"auto_map\": {\"AutoModel\": \"m.M\"}}",
        b"\xef\xbb\xbf{\"auto_map\": {\"AutoModel\": \"m.M\"}}",
        b"{\"chat_template\": \"{{ x.__class__ }}\", \"chat_template\": \"ok\"}",
        b"{\"a\": 1\x0c}",
        b"{\"a\": \"\\u 12a\"}",
        b"{\"a\": [1\xd9\xa3]}",
        b"[] ",
        b" \t\n\r{}",
        b"{\"a\":1}{\"b\":2}",
        b"{\"a\":1} x",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    let mut big = b"{\"n\": ".to_vec();
    big.extend(std::iter::repeat_n(b'7', 4301));
    big.push(b'}');
    v.push(big);
    let mut edge = b"{\"n\": -".to_vec();
    edge.extend(std::iter::repeat_n(b'7', 4300));
    edge.push(b'}');
    v.push(edge);
    // A whitespace head longer than modelgate's first read, then an object.
    let mut pad = vec![b' '; 5000];
    pad.extend_from_slice(b"{\"auto_map\": {\"AutoModel\": \"m.M\"}}");
    v.push(pad);
    for d in [500, 2000] {
        let mut deep = b"{\"auto_map\": {\"AutoModel\": \"m.M\"}, \"x\": ".to_vec();
        deep.extend(std::iter::repeat_n(b'[', d));
        deep.extend(std::iter::repeat_n(b']', d));
        deep.push(b'}');
        v.push(deep);
    }
    v
}

/// The strings under a canonical value (`["o", ...]` etc.), lossy.
fn canon_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Str(_) => out.push(v.as_str().unwrap().into_owned()),
        Value::Array(a) => {
            // ["a", [..]] / ["o", [[k, v]..]] / ["i", ..] / ["f", ..]
            match (a.first().and_then(|t| t.as_str()), a.get(1)) {
                (Some(t), Some(Value::Array(items))) if t == "a" => {
                    items.iter().for_each(|x| canon_strings(x, out))
                }
                (Some(t), Some(Value::Array(items))) if t == "o" => {
                    for kv in items {
                        if let Value::Array(kv) = kv {
                            if let Some(x) = kv.get(1) {
                                canon_strings(x, out);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// The value of `key` at the root of a canonical object (the dict view: at most one).
fn canon_get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    let Value::Array(a) = v else { return None };
    if a.first()?.as_str()? != "o" {
        return None;
    }
    let Value::Array(items) = a.get(1)? else {
        return None;
    };
    items.iter().find_map(|kv| {
        let Value::Array(kv) = kv else { return None };
        (kv.first()?.as_str()? == key).then(|| kv.get(1)).flatten()
    })
}

/// Our reading of `bytes` in `view`, canonical (dict and pairs), or the error.
fn ours(bytes: &[u8], view: pyjson::View) -> Result<(String, String), pyjson::Error> {
    let text = view.decode(bytes)?;
    pyjson::with_stack(|| {
        pyjson::parse(&text.bytes)
            .map(|(v, _)| (pyjson::canonical(&v, false), pyjson::canonical(&v, true)))
    })
    .unwrap()
}

#[test]
fn modelgate_reads_json_as_python_does() {
    let (python, measure) = match common::oracle_python(
        "measuring the loader's branch coverage",
        "oracle-venv",
        "tests/oracle/coverage_requirements.txt",
    ) {
        Some(p) => (p, true),
        None => {
            eprintln!("skipped: {WHAT} is measured in the oracle venv; with MODELGATE_OFFLINE=1 it runs unmeasured on python3");
            ("python3".into(), false)
        }
    };
    let cases = common::oracle_cases(3000);
    let mut rng = Rng(0x6a73_6f6e_5f6f_7263);
    let mut docs: Vec<Vec<u8>> = regressions();
    for i in 0..cases {
        let text = if i % 3 == 0 {
            hf_config(&mut rng)
        } else {
            let mut s = String::new();
            s.push_str(ws(&mut rng));
            value(&mut rng, 0, &mut s);
            s.push_str(ws(&mut rng));
            s
        };
        let mut b = encode(&mut rng, &text);
        if rng.below(5) == 0 {
            for _ in 0..1 + rng.below(3) {
                mutate(&mut rng, &mut b);
            }
        }
        docs.push(b);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let p = dir.path().join(format!("{i}.json"));
        std::fs::write(&p, d).unwrap();
        paths.push(p.display().to_string());
    }
    let (lines, cov) = loader_coverage::run_oracle_measured(
        &python,
        "tests/oracle/json_oracle.py",
        paths,
        measure,
    );
    let mut misses = Vec::new();
    let (mut accepted, mut c_differs, mut hf_checked) = (0, 0, 0);
    for (doc, line) in docs.iter().zip(&lines) {
        let shown = String::from_utf8_lossy(&doc[..doc.len().min(200)]).into_owned();
        for (view, key) in [
            (pyjson::View::Bytes, "py"),
            (pyjson::View::Utf8Text, "text"),
        ] {
            let py = &line[key];
            let mine = ours(doc, view);
            match (py["ok"].as_str(), &mine) {
                (Some(want), Ok((dict, pairs))) => {
                    if want != dict {
                        misses.push(format!("{key}: {shown:?}: python {want}, modelgate {dict}"));
                    }
                    if view == pyjson::View::Bytes {
                        accepted += 1;
                        let want_pairs = line["py_pairs"]["ok"].as_str().unwrap_or("");
                        if want_pairs != pairs {
                            misses.push(format!(
                                "pairs: {shown:?}: python {want_pairs}, modelgate {pairs}"
                            ));
                        }
                    }
                }
                (None, Err(_)) => {}
                (None, Ok(_)) if py["error"] == "recursion" => {}
                (Some(_), Err(e)) => {
                    misses.push(format!("{key}: {shown:?}: python reads it, modelgate: {e}"))
                }
                (None, Ok((dict, _))) => misses.push(format!(
                    "{key}: {shown:?}: python refuses it ({}), modelgate reads {dict}",
                    py["error"]
                )),
            }
        }
        if std::env::var_os("MODELGATE_ORACLE_SHOW_REFUSED").is_some() && line["py"]["ok"].is_null()
        {
            eprintln!("refused: {shown:?}: {}", line["py"]["error"]);
        }
        // The C accelerator is stricter than the pure decoder, never more lenient.
        let (c, p) = (&line["c"]["ok"], &line["py"]["ok"]);
        if c != p {
            c_differs += 1;
            if c.is_string() {
                misses.push(format!(
                    "c: {shown:?}: the C decoder reads {c}, the pure one {p}"
                ));
            }
        }
        // What the loader acts on: every auto_map reference and hostile template is reported.
        let Some(want) = line["py"]["ok"].as_str() else {
            continue;
        };
        let (canon, _) = pyjson::parse(want.as_bytes()).unwrap();
        let auto_map = canon_get(&canon, "auto_map");
        let template = canon_get(&canon, "chat_template");
        if auto_map.is_none() && template.is_none() {
            continue;
        }
        hf_checked += 1;
        let findings =
            modelgate::inspect::inspect_bytes("tokenizer_config.json", doc, &Default::default());
        if let Some(m) = auto_map {
            let mut refs = Vec::new();
            canon_strings(m, &mut refs);
            let reported: Vec<String> = findings
                .iter()
                .filter(|f| f.code == Code::HfRemoteCode)
                .flat_map(|f| {
                    f.evidence["references"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
            let seen = findings.iter().any(|f| f.code == Code::HfRemoteCode);
            for r in refs.iter().take(32) {
                if !reported.contains(r) {
                    misses.push(format!(
                        "auto_map: {shown:?}: '{r}' not reported ({reported:?})"
                    ));
                }
            }
            if !seen {
                misses.push(format!("auto_map: {shown:?}: no hf-remote-code"));
            }
        }
        if let Some(t) = template {
            // What transformers renders: the string, or each item's "template".
            let mut ts = Vec::new();
            match t {
                Value::Str(_) => ts.push(t.as_str().unwrap().into_owned()),
                Value::Array(a) if a.first().and_then(|x| x.as_str()).as_deref() == Some("a") => {
                    if let Some(Value::Array(items)) = a.get(1) {
                        for item in items {
                            if let Some(x @ Value::Str(_)) = canon_get(item, "template") {
                                ts.push(x.as_str().unwrap().into_owned());
                            }
                        }
                    }
                }
                _ => {}
            }
            let hostile = ts.iter().any(|t| t.contains("__globals__"));
            if hostile
                && !findings
                    .iter()
                    .any(|f| f.code == Code::ChatTemplateInjection)
            {
                misses.push(format!("chat_template: {shown:?}: not reported"));
            }
        }
    }
    eprintln!(
        "{WHAT}: {} documents, {accepted} read by Python, {hf_checked} Hugging Face configs checked, {c_differs} read differently by the C accelerator",
        docs.len()
    );
    common::assert_no_misses(&misses, 20);
    if let Some(cov) = cov {
        let r = loader_coverage::report(WHAT, &cov);
        loader_coverage::assert_floor(WHAT, r);
    }
}
