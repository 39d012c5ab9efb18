//! The YAML oracle: PyYAML itself (tests/oracle/yaml_oracle.py, PyYAML installed into
//! target/yaml-venv) reads generated and mutated YAML configs in both views a loader has of a
//! file (PyYAML's own decoding of the bytes, and OmegaConf's/Hydra's utf-8 text read), and
//! records every loader key (`_target_`, `class_path`, `target`, `loader_module`, `code`,
//! `model_code_path`) with its string value in the constructed data (merge keys flattened,
//! aliases resolved) and every python tag the composer saw. modelgate must report each of them
//! (`config-code-reference`) that its policy does not allow. PyYAML's branch coverage of its
//! reader, scanner, parser, composer and merge-key flattening is measured and must reach the
//! floor.

mod common;
mod loader_coverage;

use common::Rng;
use modelgate::finding::{Code, Severity};
use modelgate::inspect::yamlcfg;

const WHAT: &str = "the yaml oracle";

/// Values loaders would import, and some they may.
const PAYLOADS: &[&str] = &[
    "os.system",
    "builtins.exec",
    "subprocess.Popen",
    "mypkg.evil.Run",
    "torch.optim.AdamW",
    "ldm.models.autoencoder.AutoencoderKL",
    "transformers.utils.import_utils.subprocess.Popen",
    "nemo.collections.asr.models.EncDecCTCModel",
    "mlflow.pyfunc.model",
    "code/model.py",
    "evil",
    "pkg.mod.Thing",
];
const KEYS: &[&str] = &[
    "_target_",
    "class_path",
    "target",
    "loader_module",
    "code",
    "model_code_path",
];
const WORDS: &[&str] = &[
    "a",
    "name",
    "lr",
    "0.001",
    "1e-3",
    "yes",
    "on",
    "~",
    "null",
    "true",
    "x y",
    "a:b",
    "a#b",
    "-a",
    "?a",
    "é",
    "2001-12-14t21:59:43.10-05:00",
    "0x1F",
    "0o17",
    "1_000",
    "12:30:00",
    ".inf",
    "-.NaN",
    "<<",
    "=",
    "\u{1f600}",
    "a\u{feff}b",
];
const PYTHON_TAGS: &[&str] = &[
    "!!python/object/apply:os.system",
    "!!python/name:os.system",
    "!!python/object:mypkg.Evil",
    "!!python/object/new:subprocess.Popen",
    "!!python/module:os",
    "!!python/tuple",
    "!<tag:yaml.org,2002:python/name:builtins.exec>",
    "!py!object/apply:os.system",
    "!!python/name:os%2Esystem",
];
const OTHER_TAGS: &[&str] = &[
    "!!str",
    "!!map",
    "!!seq",
    "!!set",
    "!!omap",
    "!!pairs",
    "!!int",
    "!!float",
    "!!bool",
    "!!null",
    "!!binary",
    "!!timestamp",
    "!local",
    "!",
    "!e!tag%21",
    "!<!verbatim>",
    "!<tag:example.com,2000:x>",
];
const BREAKS: &[&str] = &["\n", "\r\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"];

struct Gen<'r> {
    rng: &'r mut Rng,
    anchors: Vec<String>,
    next_anchor: usize,
}

impl Gen<'_> {
    fn one<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.rng.below(of.len())]
    }
    fn chance(&mut self, n: usize) -> bool {
        self.rng.below(n) == 0
    }

    /// Horizontal space: spaces, sometimes a tab.
    fn sp(&mut self) -> &'static str {
        match self.rng.below(20) {
            0 => "\t",
            1 => "  ",
            2 => " \t",
            _ => " ",
        }
    }

    fn comment(&mut self) -> String {
        if self.chance(6) {
            format!(
                "{}# c{}",
                self.sp(),
                self.one(&["", " _target_: os.system", " é"])
            )
        } else {
            String::new()
        }
    }

    /// An anchor and/or a tag before a node.
    fn props(&mut self, python: bool) -> String {
        let mut out = String::new();
        let anchor = self.chance(5).then(|| {
            self.next_anchor += 1;
            let a = format!("a{}", self.next_anchor);
            self.anchors.push(a.clone());
            format!("&{a}")
        });
        let tag = if python && self.chance(6) {
            Some(self.one(PYTHON_TAGS).to_string())
        } else if self.chance(12) {
            Some(self.one(OTHER_TAGS).to_string())
        } else {
            None
        };
        let mut parts = vec![anchor, tag].into_iter().flatten().collect::<Vec<_>>();
        if self.chance(2) {
            parts.reverse();
        }
        for p in parts {
            out.push_str(&p);
            out.push(' ');
        }
        out
    }

    fn double_quoted(&mut self, s: &str, multiline: bool) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match self.rng.below(24) {
                0 => out.push_str(&format!("\\x{:02X}", c as u32 & 0xff)),
                1 => out.push_str(&format!("\\u{:04x}", c as u32 & 0xffff)),
                2 => out.push_str(&format!("\\U{:08x}", c as u32)),
                3 if multiline => {
                    // An escaped line break joins without a space; a bare one folds.
                    out.push_str(self.one(&["\\\n  ", "\n  ", "\n\n  ", "\\\n\t"]));
                    out.push(c);
                }
                4 => {
                    out.push_str(self.one(&[
                        "\\0",
                        "\\a",
                        "\\b",
                        "\\t",
                        "\\\t",
                        "\\n",
                        "\\v",
                        "\\f",
                        "\\r",
                        "\\e",
                        "\\ ",
                        "\\\"",
                        "\\/",
                        "\\\\",
                        "\\N",
                        "\\_",
                        "\\L",
                        "\\P",
                        "\\q",
                        "\\x4",
                        "\\u00e9",
                        "\\UFFFFFFFF",
                    ]));
                    out.push(c);
                }
                _ => match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c => out.push(c),
                },
            }
        }
        out.push('"');
        out
    }

    fn single_quoted(&mut self, s: &str, multiline: bool) -> String {
        let mut out = String::from("'");
        for c in s.chars() {
            if multiline && self.chance(20) {
                out.push_str(self.one(&["\n  ", "\n\n ", " \n  "]));
            }
            if c == '\'' {
                out.push_str("''");
            } else {
                out.push(c);
            }
        }
        out.push('\'');
        out
    }

    /// A scalar spelling `s` on (mostly) one line.
    fn scalar(&mut self, s: &str, flow: bool, ind: usize) -> String {
        let multiline = !flow || self.chance(4);
        match self.rng.below(10) {
            0 | 1 => self.double_quoted(s, multiline),
            2 => self.single_quoted(s, multiline),
            3 if !flow && s.contains('.') => {
                // A plain scalar folded over lines.
                let (a, b) = s.split_once('.').unwrap();
                format!("{a}.\n{}{b}", " ".repeat(ind + 1 + self.rng.below(3)))
            }
            _ => s.to_string(),
        }
    }

    /// A block scalar (`|` or `>`) holding `s`, after its key at indentation `ind`.
    fn block_scalar(&mut self, s: &str, ind: usize) -> String {
        let style = self.one(&["|", ">"]);
        let chomp = self.one(&["", "-", "+"]);
        let extra = 1 + self.rng.below(3);
        let explicit = self.chance(3);
        let indicator = if explicit {
            extra.to_string()
        } else {
            String::new()
        };
        let head = if self.chance(2) {
            format!("{style}{chomp}{indicator}")
        } else {
            format!("{style}{indicator}{chomp}")
        };
        let pad = " ".repeat(ind + extra);
        let mut body = String::new();
        if self.chance(5) {
            body.push('\n');
        }
        if explicit && self.chance(4) {
            // A more-indented first line, kept as text.
            body.push_str(&format!("{pad}  lead\n"));
        }
        body.push_str(&format!("{pad}{s}\n"));
        if self.chance(4) {
            body.push_str(&format!("{pad} more\n\n{pad}tail\n"));
        }
        if self.chance(4) {
            body.push_str(self.one(&["\n", "\n\n", " \n", "#x\n"]));
        }
        format!(" {head}{}\n{body}", self.comment())
    }

    fn key(&mut self, k: &str, flow: bool) -> String {
        match self.rng.below(9) {
            0 => self.double_quoted(k, false),
            1 => self.single_quoted(k, false),
            2 => format!("!!str {k}"),
            3 if !self.anchors.is_empty() && self.chance(2) => {
                let a = self.anchors[self.rng.below(self.anchors.len())].clone();
                format!("*{a} ")
            }
            4 if !flow => {
                self.next_anchor += 1;
                let a = format!("k{}", self.next_anchor);
                self.anchors.push(a.clone());
                format!("&{a} {k}")
            }
            _ => k.to_string(),
        }
    }

    /// A key and value pair of names: a loader key with a payload, or another word.
    fn pair_words(&mut self) -> (String, String) {
        if self.chance(3) {
            (self.one(KEYS).to_string(), self.one(PAYLOADS).to_string())
        } else {
            (self.one(WORDS).to_string(), self.one(WORDS).to_string())
        }
    }

    fn flow_node(&mut self, depth: usize) -> String {
        let ws = |g: &mut Self| -> &'static str {
            match g.rng.below(12) {
                0 => "",
                1 => "\n  ",
                2 => "\n   # c\n  ",
                3 => " \t",
                _ => " ",
            }
        };
        if depth > 3 || self.chance(3) {
            let (_, v) = self.pair_words();
            let props = self.props(true);
            if !self.anchors.is_empty() && self.chance(8) {
                let a = self.anchors[self.rng.below(self.anchors.len())].clone();
                return format!("*{a}");
            }
            let s = self.scalar(&v, true, 0);
            return format!("{props}{s}");
        }
        let props = self.props(true);
        let n = self.rng.below(4);
        let mapping = self.chance(2);
        let mut out = format!("{props}{}", if mapping { "{" } else { "[" });
        for i in 0..n {
            if i > 0 {
                out.push_str(ws(self));
                out.push(',');
            }
            out.push_str(ws(self));
            let (k, v) = self.pair_words();
            let shape = self.rng.below(if mapping { 6 } else { 8 });
            match shape {
                0 if mapping => {
                    let k = self.key(&k, true);
                    out.push_str(&k);
                }
                1 => {
                    let k = self.key(&k, true);
                    out.push_str(&format!("? {k}{}:{}", ws(self), ws(self)));
                    out.push_str(&self.flow_node(depth + 1));
                }
                2 if mapping => {
                    let k = self.key(&k, true);
                    out.push_str(&format!("{k}:"));
                }
                _ if mapping || shape == 3 => {
                    let k = self.key(&k, true);
                    let sep = self.one(&[": ", ":", " : ", ":\t"]);
                    let v = if self.chance(3) {
                        self.flow_node(depth + 1)
                    } else {
                        self.scalar(&v, true, 0)
                    };
                    out.push_str(&format!("{k}{sep}{v}"));
                }
                _ => out.push_str(&self.flow_node(depth + 1)),
            }
        }
        if n > 0 && self.chance(5) {
            out.push(',');
        }
        out.push_str(ws(self));
        out.push(if mapping { '}' } else { ']' });
        out
    }

    /// What follows `key:` in a block mapping at indentation `ind` (through the line break).
    fn value_after_colon(&mut self, v: &str, ind: usize, depth: usize) -> String {
        let deeper = ind + 1 + self.rng.below(3);
        match self.rng.below(if depth > 3 { 5 } else { 9 }) {
            0 | 1 => {
                let props = self.props(true);
                let s = self.scalar(v, false, ind);
                format!("{}{props}{s}{}\n", self.sp(), self.comment())
            }
            2 => self.block_scalar(v, ind),
            3 if !self.anchors.is_empty() => {
                let a = self.anchors[self.rng.below(self.anchors.len())].clone();
                format!(" *{a}{}\n", self.comment())
            }
            4 => format!(" {}{}\n", self.flow_node(depth + 1), self.comment()),
            5 | 6 => {
                let props = self.props(true);
                let props = if props.is_empty() {
                    String::new()
                } else {
                    format!(" {}", props.trim_end())
                };
                format!(
                    "{props}{}\n{}",
                    self.comment(),
                    self.block_mapping(deeper, depth + 1)
                )
            }
            7 => {
                // A sequence as a mapping's value may sit at the key's own indentation.
                let at = if self.chance(2) { ind } else { deeper };
                format!("{}\n{}", self.comment(), self.block_seq(at, depth + 1))
            }
            _ => format!("{}\n", self.comment()),
        }
    }

    fn block_mapping(&mut self, ind: usize, depth: usize) -> String {
        let pad = " ".repeat(ind);
        let mut out = String::new();
        for _ in 0..1 + self.rng.below(4) {
            let (k, v) = self.pair_words();
            match self.rng.below(14) {
                0 => {
                    // An explicit key.
                    let kk = if self.chance(3) {
                        self.flow_node(depth + 1)
                    } else {
                        self.key(&k, false)
                    };
                    out.push_str(&format!("{pad}? {kk}{}\n", self.comment()));
                    if !self.chance(6) {
                        let rest = self.value_after_colon(&v, ind, depth);
                        out.push_str(&format!("{pad}:{rest}"));
                    }
                }
                1 if !self.anchors.is_empty() => {
                    let a = self.anchors[self.rng.below(self.anchors.len())].clone();
                    if self.chance(3) {
                        let b = self.anchors[self.rng.below(self.anchors.len())].clone();
                        out.push_str(&format!("{pad}<<: [*{a}, *{b}]\n"));
                    } else {
                        out.push_str(&format!("{pad}<<: *{a}\n"));
                    }
                }
                2 => out.push_str(&format!("{pad}<<: {{{k}: {v}}}\n")),
                3 => out.push_str(&format!(
                    "{}# {k}: {v}\n",
                    " ".repeat(self.rng.below(ind + 2))
                )),
                4 => out.push('\n'),
                _ => {
                    let kk = self.key(&k, false);
                    let sep = if self.chance(10) { " :" } else { ":" };
                    let rest = self.value_after_colon(&v, ind, depth);
                    out.push_str(&format!("{pad}{kk}{sep}{rest}"));
                }
            }
        }
        if !out.starts_with(&format!("{pad}{}", "")) || out.trim().is_empty() {
            out.push_str(&format!("{pad}k: v\n"));
        }
        out
    }

    fn block_seq(&mut self, ind: usize, depth: usize) -> String {
        let pad = " ".repeat(ind);
        let mut out = String::new();
        for _ in 0..1 + self.rng.below(3) {
            let (_, v) = self.pair_words();
            match self.rng.below(if depth > 3 { 3 } else { 6 }) {
                0 | 1 => {
                    let props = self.props(true);
                    let s = self.scalar(&v, false, ind + 1);
                    out.push_str(&format!("{pad}- {props}{s}{}\n", self.comment()));
                }
                2 => out.push_str(&format!("{pad}- {}\n", self.flow_node(depth + 1))),
                3 => {
                    // A compact mapping: its first line after the dash.
                    let m = self.block_mapping(ind + 2, depth + 1);
                    out.push_str(&format!("{pad}- {}", &m[ind + 2..]));
                }
                4 => {
                    let s = self.block_seq(ind + 2, depth + 1);
                    out.push_str(&format!("{pad}- {}", &s[ind + 2..]));
                }
                _ => {
                    let m = self.block_mapping(ind + 2, depth + 1);
                    out.push_str(&format!("{pad}-{}\n{m}", self.comment()));
                }
            }
        }
        out
    }

    fn document(&mut self) -> String {
        let mut out = String::new();
        for i in 0..1 + usize::from(self.chance(5)) + usize::from(self.chance(10)) {
            self.anchors.clear();
            let mut explicit = i > 0;
            if self.chance(5) {
                out.push_str(self.one(&["%YAML 1.1\n", "%YAML 1.2\n", "%YAML 1.1 # c\n"]));
                explicit = true;
            }
            if self.chance(5) {
                out.push_str(self.one(&[
                    "%TAG !py! tag:yaml.org,2002:python/\n",
                    "%TAG !e! tag:example.com,2000:\n",
                    "%TAG ! tag:yaml.org,2002:\n",
                    "%FOO bar baz\n",
                ]));
                explicit = true;
            }
            if explicit || self.chance(4) {
                out.push_str(self.one(&["---\n", "--- ", "--- # c\n", "---\t"]));
                if out.ends_with(' ') || out.ends_with('\t') {
                    if self.chance(2) {
                        out.push_str(&self.flow_node(0));
                        out.push('\n');
                    } else {
                        out.push_str(self.one(&["|\n  os.system\n", "!!map\n", "&r\n"]));
                        out.push_str(&self.block_mapping(0, 0));
                    }
                    continue;
                }
            }
            match self.rng.below(8) {
                0 => out.push_str(&format!("{}\n", self.flow_node(0))),
                1 => out.push_str(&self.block_seq(0, 0)),
                2 => {
                    let at = self.rng.below(2);
                    out.push_str(&self.block_seq(at, 0))
                }
                _ => {
                    let props = self.props(true);
                    if !props.is_empty() && self.chance(2) {
                        out.push_str(&format!("{}\n", props.trim_end()));
                    }
                    let at = usize::from(self.chance(8));
                    out.push_str(&self.block_mapping(at, 0));
                }
            }
            if self.chance(6) {
                out.push_str("...\n");
            }
        }
        out
    }
}

/// Line breaks as PyYAML knows them, the same throughout or mixed.
fn breaks(rng: &mut Rng, text: &str) -> String {
    match rng.below(10) {
        0..=4 => text.to_string(),
        5 => {
            let mut out = String::new();
            for c in text.chars() {
                if c == '\n' {
                    out.push_str(BREAKS[rng.below(BREAKS.len())]);
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => text.replace('\n', BREAKS[rng.below(BREAKS.len())]),
    }
}

/// Text encoded as PyYAML may meet it in a file.
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
    match rng.below(20) {
        0 => [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat(),
        1 | 2 => [&b"\xff\xfe"[..], &u16s(false)].concat(),
        3 => [&b"\xfe\xff"[..], &u16s(true)].concat(),
        4 => u16s(false),
        5 => {
            let u32s: Vec<u8> = text
                .chars()
                .flat_map(|c| (c as u32).to_le_bytes())
                .collect();
            [&b"\xff\xfe\0\0"[..], &u32s].concat()
        }
        6 => {
            // An invalid UTF-8 sequence, or a BOM in the middle.
            let bad: &[&[u8]] = &[b"\xff", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\xc2\x85"];
            let mut b = text.as_bytes().to_vec();
            let at = rng.below(b.len() + 1);
            let at = (0..=at)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            b.splice(at..at, bad[rng.below(bad.len())].iter().copied());
            b
        }
        _ => text.as_bytes().to_vec(),
    }
}

/// A byte-level mutation: insert an indicator, delete, truncate, duplicate a span.
fn mutate(rng: &mut Rng, b: &mut Vec<u8>) {
    if b.is_empty() {
        b.push(b'a');
        return;
    }
    let i = rng.below(b.len());
    match rng.below(6) {
        0 => {
            let set = b":-?[]{},#&*!|>'\"%@` \t\n\r\\.\x00";
            b.insert(i, set[rng.below(set.len())]);
        }
        1 => {
            b.remove(i);
        }
        2 => b.truncate(i),
        3 => {
            let j = (i + 1 + rng.below(12)).min(b.len());
            let span = b[i..j].to_vec();
            b.splice(i..i, span);
        }
        4 => b.insert(i, b' '),
        _ => {
            let words: &[&[u8]] = &[
                b"\n---\n", b"\n...\n", b"\n? ", b": ", b"- ", b"\t", b"&x ", b"*x", b"!!str ",
                b"<<: ",
            ];
            let w = words[rng.below(words.len())];
            b.splice(i..i, w.iter().copied());
        }
    }
}

/// Documents kept: each differential found so far, and edges of PyYAML's grammar.
fn regressions() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        // A UTF-16 file: PyYAML decodes it from its BOM, OmegaConf's utf-8 text read fails.
        &b"\xff\xfe_\0t\0a\0r\0g\0e\0t\0_\0:\0 \0o\0s\0.\0s\0y\0s\0t\0e\0m\0\n\0"[..],
        b"\xfe\xff\0_\0t\0a\0r\0g\0e\0t\0_\0:\0 \0o\0s\0.\0s\0y\0s\0t\0e\0m\0\n",
        b"\xef\xbb\xbf_target_: os.system\n",
        b"a: 1 # c\x85_target_: os.system\n",
        b"a: 1 # c\xe2\x80\xa8_target_: os.system\n",
        b"a: 1 # c\r_target_: os.system\n",
        b"%TAG !py! tag:yaml.org,2002:python/\n---\nx: !py!object/apply:os.system [id]\n",
        b"x: !<tag:yaml.org,2002:python/name:os.system> y\n",
        b"x: !!python/name:os%2Esystem y\n",
        b"b: &b {_target_: os.system}\nm:\n  <<: *b\n",
        b"? _target_\n: os.system\n",
        b"{_target_:os.system}\n",
        b"[_target_: os.system]\n",
        b"\"_tar\\x67et_\": \"os.\\\n  system\"\n",
        b"_target_: >-\n  os.system\n",
        b"_target_: 'os.system'\n...\n---\nclass_path: a.B\n",
        b"--- |\n  x\n--- {_target_: os.system}\n",
        b"k: &k _target_\n*k : os.system\n",
        b"a:\n- _target_: os.system\n",
        b"a:\t{_target_: os.system}\n",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    // Deep nesting.
    let mut deep = b"_target_: os.system\nx: ".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 300));
    deep.extend(std::iter::repeat_n(b']', 300));
    deep.push(b'\n');
    v.push(deep);
    v
}

/// Tags as the finding names them, and as PyYAML resolves them, compared without the
/// `tag:yaml.org,2002:` / `!!` prefix.
fn tag_tail(t: &str) -> String {
    let t = t
        .strip_prefix("tag:yaml.org,2002:")
        .or_else(|| t.strip_prefix("!!"))
        .unwrap_or(t);
    t.to_string()
}

#[test]
fn modelgate_reports_every_target_pyyaml_reaches() {
    let (python, measure) =
        match common::oracle_python(WHAT, "yaml-venv", "tests/oracle/yaml_requirements.txt") {
            Some(p) => (p, true),
            None => return,
        };
    let cases = common::oracle_cases(2500);
    let mut rng = Rng(0x7961_6d6c_5f6f_7263);
    let mut docs: Vec<Vec<u8>> = regressions();
    for _ in 0..cases {
        let text = Gen {
            rng: &mut rng,
            anchors: Vec::new(),
            next_anchor: 0,
        }
        .document();
        let text = breaks(&mut rng, &text);
        let mut b = encode(&mut rng, &text);
        if rng.below(4) == 0 {
            for _ in 0..1 + rng.below(3) {
                mutate(&mut rng, &mut b);
            }
        }
        docs.push(b);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let p = dir.path().join(format!("{i}.yaml"));
        std::fs::write(&p, d).unwrap();
        paths.push(p.display().to_string());
    }
    let (lines, cov) = loader_coverage::run_oracle_measured(
        &python,
        "tests/oracle/yaml_oracle.py",
        paths,
        measure,
    );
    let mut misses = Vec::new();
    let (mut read, mut reaching, mut refused_here, mut extra) = (0, 0, 0, 0);
    for (doc, line) in docs.iter().zip(&lines) {
        let shown = String::from_utf8_lossy(&doc[..doc.len().min(300)]).into_owned();
        let findings = modelgate::inspect::inspect_bytes("m/MLmodel", doc, &Default::default());
        let refs: Vec<&modelgate::finding::Finding> = findings
            .iter()
            .filter(|f| f.code == Code::ConfigCodeReference)
            .collect();
        let malformed = findings
            .iter()
            .any(|f| f.code == Code::ConfigMalformed && f.severity >= Severity::Error);
        let mut wanted = Vec::new();
        let mut any_ok = false;
        for view in ["bytes", "text"] {
            let v = &line[view];
            any_ok |= v["ok"] == true || v["documents"].as_u64().unwrap_or(0) > 0;
            for e in v["entries"].as_array().unwrap() {
                let (k, val) = (e[0].as_str().unwrap(), e[1].as_str().unwrap());
                if yamlcfg::reported(k, val, true) && !wanted.contains(&(k, val, view)) {
                    wanted.push((k, val, view));
                }
            }
            for t in v["tags"].as_array().unwrap() {
                let t = t.as_str().unwrap();
                let want = tag_tail(t);
                let seen = refs.iter().any(|f| {
                    f.evidence
                        .get("tag")
                        .and_then(|x| x.as_str())
                        .is_some_and(|x| tag_tail(x) == want)
                });
                if !seen {
                    misses.push(format!("{view}: {shown:?}: tag {t} not reported"));
                }
            }
        }
        if any_ok {
            read += 1;
            if malformed {
                refused_here += 1;
            }
        }
        if !wanted.is_empty() {
            reaching += 1;
        }
        for (k, val, view) in &wanted {
            let seen = refs.iter().any(|f| {
                f.evidence.get("key").and_then(|x| x.as_str()) == Some(k)
                    && f.evidence.get("target").and_then(|x| x.as_str()) == Some(val)
            });
            if !seen {
                misses.push(format!(
                    "{view}: {shown:?}: {k}: {val:?} not reported{}",
                    if malformed {
                        " (config-malformed: modelgate refused the document)"
                    } else {
                        ""
                    }
                ));
            }
        }
        // Reported targets PyYAML does not construct (counted, not failed).
        extra += refs
            .iter()
            .filter(|f| {
                let (Some(k), Some(t)) = (
                    f.evidence.get("key").and_then(|x| x.as_str()),
                    f.evidence.get("target").and_then(|x| x.as_str()),
                ) else {
                    return false;
                };
                k != "interpolation" && !wanted.iter().any(|(wk, wv, _)| *wk == k && *wv == t)
            })
            .count();
    }
    eprintln!(
        "{WHAT}: {} documents, {read} read by PyYAML in some view, {reaching} with a loader target, {refused_here} of those read refused here (config-malformed error: fail closed), {extra} targets reported that PyYAML does not construct",
        docs.len()
    );
    let ratio = cov.map(|cov| loader_coverage::report(WHAT, &cov));
    common::assert_no_misses(&misses, 20);
    if let Some(r) = ratio {
        loader_coverage::assert_floor(WHAT, r);
    }
}
