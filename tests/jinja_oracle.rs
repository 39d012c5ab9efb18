//! The chat-template oracle: jinja2 itself (tests/oracle/jinja_oracle.py, jinja2 installed into
//! target/jinja-venv) parses generated templates as transformers configures it and walks the
//! parsed AST (never rendering) for what would reach an unsafe attribute at render time: an
//! attribute or constant key naming an internal, a key or `attr` argument computed at render
//! time, attribute paths of filters, format fields. Every template the walk flags, modelgate
//! must flag (however the name is spelled, built or carried); real templates must pass; other
//! false alarms are counted and printed. The templates come from a grammar of every tag and
//! expression kind, and mutations of them; jinja2's lexer and parser branch coverage is
//! measured and must reach the floor.

mod common;
mod loader_coverage;

use common::Rng;
use modelgate::inspect::jinja::injections;

const NAMES: &[&str] = &[
    "__class__",
    "__globals__",
    "__init__",
    "__subclasses__",
    "__builtins__",
    "__mro__",
    "mro",
    "_private",
];
const OBJECTS: &[&str] = &[
    "messages",
    "cycler",
    "joiner",
    "namespace",
    "raise_exception",
    "''",
    "messages[0]",
];

/// `s` as a Jinja string literal with random quotes and escapes.
fn literal(rng: &mut Rng, s: &str) -> String {
    let q = if rng.below(2) == 0 { '\'' } else { '"' };
    let mut out = String::from(q);
    for c in s.chars() {
        match rng.below(8) {
            0 => out.push_str(&format!("\\x{:02x}", c as u32)),
            1 => out.push_str(&format!("\\u{:04x}", c as u32)),
            2 => out.push_str(&format!("\\{:03o}", c as u32)),
            _ => out.push(c),
        }
    }
    out.push(q);
    out
}

/// An expression that evaluates to the string `s` at render time.
fn spell(rng: &mut Rng, s: &str) -> String {
    let cut = 1 + rng.below(s.len().max(2) - 1).min(s.len() - 1);
    let (a, b) = s.split_at(cut.min(s.len()));
    match rng.below(8) {
        0 | 1 => literal(rng, s),
        2 => format!("{} ~ {}", literal(rng, a), literal(rng, b)),
        3 => format!("({} + {})", literal(rng, a), literal(rng, b)),
        4 => format!(
            "{}|format({})",
            literal(rng, &format!("%s{b}")),
            literal(rng, a)
        ),
        5 => format!("{}|lower", literal(rng, &s.to_uppercase())),
        6 => format!("[{}, {}]|join", literal(rng, a), literal(rng, b)),
        _ => format!("{}|replace('X', '_')", literal(rng, &s.replace('_', "X"))),
    }
}

/// A template that reaches `name` on some object, by one of the ways Jinja offers.
fn hostile(rng: &mut Rng) -> String {
    let name = NAMES[rng.below(NAMES.len())];
    let obj = OBJECTS[rng.below(OBJECTS.len())];
    let s = spell(rng, name);
    let (o, c) = if rng.below(2) == 0 {
        ("{{", "}}")
    } else {
        ("{{-", "-}}")
    };
    match rng.below(17) {
        13 => format!("{o} [{obj}]|selectattr({s})|list {c}"),
        14 => format!("{o} [{obj}]|map(attribute='a.{name}')|list {c}"),
        15 => format!("{o} '{{0.{name}}}'.format({obj}) {c}"),
        16 => format!("{o} [{obj}]|sort(attribute={s}) {c}"),
        9 => format!("{{% set v %}}{name}{{% endset %}}{o} {obj}[v] {c}"),
        10 => format!("{o} {obj}[dict({name}=1)|first] {c}"),
        11 => {
            format!("{{% set u = dict({name}=1)|list %}}{{% set w = u %}}{o} {obj}|attr(w[0]) {c}")
        }
        12 => format!(
            "{{% set p = {} %}}{{% set q = {} %}}{o} {obj}[p ~ q] {c}",
            literal(rng, &name[..1]),
            literal(rng, &name[1..])
        ),
        0 => format!("{o} {obj}.{name} {c}"),
        1 => format!("{o} {obj}[{s}] {c}"),
        2 => format!("{o} {obj}|attr({s}) {c}"),
        3 => format!("{o} [{obj}]|map(attribute={s})|list {c}"),
        4 => format!("{{% set v = {s} %}}{o} {obj}[v] {c}"),
        5 => format!("{{% for v in [{s}] %}}{o} {obj}[v] {c}{{% endfor %}}"),
        6 => format!("{{% with v = {s} %}}{o} {obj}|attr(v) {c}{{% endwith %}}"),
        7 => format!("{{% set ns = namespace(v={s}) %}}{o} {obj}[ns.v] {c}"),
        _ => format!("{{% macro f(v={s}) %}}{o} {obj}[v] {c}{{% endmacro %}}{{{{ f() }}}}"),
    }
}

/// Pieces of real chat templates (ChatML, Llama, Mistral, Gemma styles).
const REAL: &[&str] = &[
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}",
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% endfor %}",
    "{% set ns = namespace(system='') %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.system = m.content %}{% endif %}{% endfor %}{{ ns.system }}",
    "{% for m in messages %}{{ '[INST] ' ~ m['content'] | trim ~ ' [/INST]' if m['role'] == 'user' else m['content'] ~ eos_token }}{% endfor %}",
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% else %}{% set loop_messages = messages %}{% endif %}{{ loop_messages|length }}",
    "{%- for message in messages -%}{{- '<start_of_turn>' + (message['role'] | replace('assistant', 'model')) + '\\n' + message['content'] | trim + '<end_of_turn>\\n' -}}{%- endfor -%}",
    "{% for m in messages %}{% if loop.last %}{{ m['content'] }}{% endif %}{% if m.role == 'tool' %}{% continue %}{% endif %}{% endfor %}",
    "{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | join('\\n') }}",
    "{# a comment mentioning __globals__ #}{% raw %}{{ x.__class__ }}{% endraw %}{{ eos_token }}",
    "{% set ns = namespace(last=0) %}{% for m in messages %}{% set ns.last = loop.index0 %}{% endfor %}{{ messages[ns.last]['content'] }}{{ messages[-1]['role'] }}",
    "{% if messages[0]['content'] is string %}{{ messages[0]['content'].split('</think>')[-1] }}{% endif %}",
    "{% if tools is not none %}{{ tools | tojson(indent=2) }}{% endif %}",
];

/// A random template from a grammar of Jinja's tags and expressions.
struct Gen<'r> {
    rng: &'r mut Rng,
}

impl Gen<'_> {
    fn one<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.rng.below(of.len())]
    }
    fn chance(&mut self, n: usize) -> bool {
        self.rng.below(n) == 0
    }
    fn ws(&mut self) -> &'static str {
        self.one(&[" ", " ", " ", "", "\n", "\t", "  "])
    }
    fn open(&mut self, block: bool) -> String {
        let mark = if block { "%" } else { "{" };
        format!("{{{mark}{}", self.one(&["", "", "", "-", "+"]))
    }
    fn close(&mut self, block: bool) -> String {
        let mark = if block { "%" } else { "}" };
        format!("{}{mark}}}", self.one(&["", "", "", "-", "+"]))
    }
    fn tag(&mut self, body: &str) -> String {
        let body = body.to_string();
        let (o, c) = (self.open(true), self.close(true));
        let (a, b) = (self.ws(), self.ws());
        format!("{o}{a}{body}{b}{c}")
    }
    fn name(&mut self) -> &'static str {
        self.one(&[
            "messages",
            "message",
            "m",
            "x",
            "ns",
            "loop",
            "tools",
            "bos_token",
            "item",
            "v",
            "content",
            "role",
            "k",
        ])
    }
    fn string(&mut self) -> String {
        let s = self.one(&[
            "user", "role", "content", "a\nb", "it's", "\"q\"", "", "é", "%s", "{0}",
        ]);
        let q = if self.chance(2) { '\'' } else { '"' };
        let mut out = String::from(q);
        for c in s.chars() {
            match self.rng.below(12) {
                0 => out.push_str(&format!("\\x{:02x}", c as u32 & 0xff)),
                1 => out.push_str(&format!("\\u{:04x}", c as u32)),
                2 => out.push_str(&format!("\\{:03o}", c as u32 & 0xff)),
                3 => out.push_str(self.one(&[
                    "\\n",
                    "\\t",
                    "\\\\",
                    "\\r",
                    "\\a",
                    "\\b",
                    "\\f",
                    "\\v",
                    "\\N{BULLET}",
                    "\\U0001F600",
                    "\\0",
                    "\\q",
                ])),
                _ if c == q || c == '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out.push(q);
        out
    }
    fn atom(&mut self, depth: usize) -> String {
        match self.rng.below(if depth > 2 { 6 } else { 14 }) {
            0 | 1 => self.name().to_string(),
            2 => self.string(),
            3 => self
                .one(&[
                    "1", "-1", "1.5", "1_000", "0x1F", "0o17", "0b101", "1e3", "2.5E-3", "true",
                    "false", "none", "True", "None", "12_3.4_5",
                ])
                .to_string(),
            4 => format!(
                "{}.{}",
                self.name(),
                self.one(&[
                    "role",
                    "content",
                    "index0",
                    "cycle('a', 'b')",
                    "0",
                    "last",
                    "first",
                    "length",
                    "items()"
                ])
            ),
            5 => format!(
                "{}[{}]",
                self.name(),
                self.one(&[
                    "0",
                    "-1",
                    "'role'",
                    "\"content\"",
                    "1:",
                    "::2",
                    ":-1",
                    "1:2:1",
                    "loop.index0",
                    "ns.last"
                ])
            ),
            6 => format!("[{}, {}]", self.expr(depth + 1), self.expr(depth + 1)),
            7 => format!(
                "{{{}: {}, 'k': {}}}",
                self.string(),
                self.expr(depth + 1),
                self.expr(depth + 1)
            ),
            8 => format!("({}, {})", self.expr(depth + 1), self.expr(depth + 1)),
            9 => format!("namespace({}={})", self.name(), self.expr(depth + 1)),
            10 => format!(
                "{}({}, {}={}{})",
                self.one(&[
                    "range",
                    "raise_exception",
                    "dict",
                    "m",
                    "caller",
                    "loop",
                    "lipsum",
                    "cycler",
                    "joiner"
                ]),
                self.expr(depth + 1),
                self.name(),
                self.expr(depth + 1),
                self.one(&["", ", *x", ", **x", ", *x, **x"])
            ),
            11 => format!("({})", self.expr(depth + 1)),
            12 => format!("{}.format({})", self.string(), self.expr(depth + 1)),
            _ => "()".to_string(),
        }
    }
    fn expr(&mut self, depth: usize) -> String {
        let a = self.atom(depth + 1);
        if depth > 2 {
            return a;
        }
        match self.rng.below(20) {
            0 => format!("{a} ~ {}", self.atom(depth + 1)),
            1 => format!("{a} + {}", self.atom(depth + 1)),
            2 => format!(
                "{a} {} {}",
                self.one(&["-", "*", "/", "//", "%", "**"]),
                self.atom(depth + 1)
            ),
            3 => format!(
                "{a} {} {}",
                self.one(&["==", "!=", "<", "<=", ">", ">=", "in", "not in"]),
                self.atom(depth + 1)
            ),
            4 => format!("{a} {} {}", self.one(&["and", "or"]), self.atom(depth + 1)),
            5 => format!("not {a}"),
            6 => format!("-{a}"),
            7 => format!(
                "{a} if {} else {}",
                self.atom(depth + 1),
                self.atom(depth + 1)
            ),
            8 => format!("{a} if {}", self.atom(depth + 1)),
            9 => format!(
                "{a} is {}",
                self.one(&[
                    "defined",
                    "not none",
                    "string",
                    "divisibleby 3",
                    "sameas(none)",
                    "eq 1",
                    "in [1]",
                    "mapping",
                    "not string"
                ])
            ),
            10 | 11 => {
                let f = self.one(&[
                    "trim",
                    "upper",
                    "length",
                    "tojson",
                    "tojson(indent=2)",
                    "join(', ')",
                    "format('x')",
                    "replace('a', 'b')",
                    "map(attribute='content')",
                    "selectattr('role', 'equalto', 'user')",
                    "rejectattr('role')",
                    "sort(attribute='role')",
                    "groupby('role')",
                    "unique(attribute='role')",
                    "min(attribute='x')",
                    "sum(attribute='x')",
                    "list",
                    "first",
                    "last",
                    "items",
                    "default('x')",
                    "int",
                    "string",
                    "safe",
                    "e",
                    "escape",
                    "indent(2)",
                    "batch(2)",
                    "dictsort",
                ]);
                format!("{a}{}|{}{f}", self.ws(), self.ws())
            }
            12 => format!("{a}, {}", self.atom(depth + 1)),
            13 => format!(
                "{a} {} {}",
                self.one(&["<", "=="]),
                format_args!("{} < 3", self.atom(depth + 1))
            ),
            _ => a,
        }
    }
    fn body(&mut self, depth: usize) -> String {
        let mut out = String::new();
        for _ in 0..1 + self.rng.below(3) {
            out.push_str(&self.stmt(depth + 1));
        }
        out
    }
    fn stmt(&mut self, depth: usize) -> String {
        if depth > 3 {
            return self.one(&["text", "\n", " x ", "{{ x }}"]).to_string();
        }
        match self.rng.below(24) {
            0 | 1 => {
                let (o, c) = (self.open(false), self.close(false));
                format!("{o} {} {c}", self.expr(0))
            }
            2 => self
                .one(&[
                    "hello ",
                    "\n",
                    "  \n",
                    "<|im_start|>",
                    "} } %",
                    "{ x",
                    "#}",
                    "\t",
                ])
                .to_string(),
            3 => format!(
                "{{#{} comment {{{{ x.__class__ }}}} {}#}}",
                self.one(&["", "-", "+"]),
                self.one(&["", "-"])
            ),
            4 => {
                let t = self.tag("raw");
                let e = self.tag("endraw");
                format!("{t}{{{{ x.__class__ }}}}{{% if %}}{e}")
            }
            5 => {
                let what = format!(
                    "set {} = {}",
                    self.one(&["x", "v", "a, b", "ns.v", "ns.last", "(a, b)"]),
                    self.expr(0)
                );
                self.tag(&what)
            }
            6 => {
                let f = self.one(&["", " | upper", " | trim | lower"]);
                let t = {
                    let s = format!("set {}{f}", self.one(&["x", "v", "a"]));
                    self.tag(&s)
                };
                let b = self.body(depth);
                let e = self.tag("endset");
                format!("{t}{b}{e}")
            }
            7 | 8 => {
                let target = self.one(&["m", "k, v", "(k, v)", "v", "item"]);
                let iter = self.expr(1);
                let cond = if self.chance(4) {
                    format!(" if {}", self.atom(2))
                } else {
                    String::new()
                };
                let rec = if self.chance(6) { " recursive" } else { "" };
                let t = {
                    let s = format!("for {target} in {iter}{cond}{rec}");
                    self.tag(&s)
                };
                let mut b = self.body(depth);
                if self.chance(4) {
                    b.push_str(&{
                        let s = self.one_static(&["break", "continue"]);
                        self.tag(s)
                    });
                }
                if self.chance(5) {
                    b.push_str(
                        "{{ loop.cycle('odd', 'even') }}{{ loop.index }}{{ loop.previtem }}",
                    );
                }
                if !rec.is_empty() {
                    b.push_str("{{ loop(m.children) }}");
                }
                let els = if self.chance(4) {
                    let e = self.tag("else");
                    format!("{e}{}", self.body(depth))
                } else {
                    String::new()
                };
                let e = self.tag("endfor");
                format!("{t}{b}{els}{e}")
            }
            9 | 10 => {
                let t = {
                    let s = format!("if {}", self.expr(0));
                    self.tag(&s)
                };
                let mut out = format!("{t}{}", self.body(depth));
                for _ in 0..self.rng.below(3) {
                    let c = {
                        let s = format!("elif {}", self.expr(0));
                        self.tag(&s)
                    };
                    out.push_str(&format!("{c}{}", self.body(depth)));
                }
                if self.chance(2) {
                    let c = self.tag("else");
                    out.push_str(&format!("{c}{}", self.body(depth)));
                }
                out.push_str(&self.tag("endif"));
                out
            }
            11 => {
                let t = {
                    let s = format!("macro m(a, b={}, c='x')", self.expr(1));
                    self.tag(&s)
                };
                let b = self.body(depth);
                let e = {
                    let s = self.one_static(&["endmacro", "endmacro m"]);
                    self.tag(s)
                };
                let call = if self.chance(2) {
                    let c = {
                        let s = format!(
                            "call{} m({})",
                            self.one(&["", "(x)", "(x, y=1)"]),
                            self.expr(1)
                        );
                        self.tag(&s)
                    };
                    let e2 = self.tag("endcall");
                    format!("{c}{{{{ caller() }}}}{}{e2}", self.body(depth))
                } else {
                    format!("{{{{ m({}) }}}}", self.expr(1))
                };
                format!(
                    "{t}{b}{{{{ caller(1) if caller }}}}{{{{ varargs }}}}{{{{ kwargs }}}}{e}{call}"
                )
            }
            12 => {
                let t = {
                    let s = format!(
                        "filter {}",
                        self.one(&["upper", "trim | lower", "replace('a', 'b')", "indent(2)"])
                    );
                    self.tag(&s)
                };
                let b = self.body(depth);
                let e = self.tag("endfilter");
                format!("{t}{b}{e}")
            }
            13 => {
                let t = {
                    let s = format!(
                        "with {} = {}{}",
                        self.one(&["v", "x", "a"]),
                        self.expr(1),
                        self.one(&["", ", w = 1"])
                    );
                    self.tag(&s)
                };
                let b = self.body(depth);
                let e = self.tag("endwith");
                format!("{t}{b}{e}")
            }
            14 => {
                let s = self.one_static(&[
                    "include 'x.jinja'",
                    "include 'x' ignore missing",
                    "include ['a', 'b'] ignore missing with context",
                    "include x without context",
                    "import 'm.jinja' as lib",
                    "import 'm' as lib with context",
                    "from 'm' import a as b, c",
                    "from 'm' import a, without context",
                    "from 'm' import a with context",
                    "extends 'base.jinja'",
                    "extends x",
                ]);
                self.tag(s)
            }
            15 => {
                let t = {
                    let s = self.one_static(&[
                        "block b",
                        "block b scoped",
                        "block b required",
                        "block c scoped required",
                    ]);
                    self.tag(s)
                };
                let b = self.body(depth);
                let e = {
                    let s = self.one_static(&["endblock", "endblock b"]);
                    self.tag(s)
                };
                format!("{t}{b}{e}")
            }
            16 => {
                let t = {
                    let s = self.one_static(&["autoescape true", "autoescape false"]);
                    self.tag(s)
                };
                let b = self.body(depth);
                let e = self.tag("endautoescape");
                format!("{t}{b}{e}")
            }
            17 => {
                let t = self.tag("generation");
                let b = self.body(depth);
                let e = self.tag("endgeneration");
                format!("{t}{b}{e}")
            }
            18 => hostile(self.rng),
            19 => REAL[self.rng.below(REAL.len())].to_string(),
            20 => {
                let what = format!(
                    "set ns = namespace({}={})",
                    self.one(&["v", "last", "system"]),
                    self.expr(1)
                );
                self.tag(&what)
            }
            _ => self.body(depth + 1),
        }
    }
    fn one_static(&mut self, of: &[&'static str]) -> &'static str {
        of[self.rng.below(of.len())]
    }
}

/// A byte-level mutation of a template: an indicator inserted, a span deleted or repeated, a cut.
fn mutate(rng: &mut Rng, t: &mut String) {
    let mut b = std::mem::take(t).into_bytes();
    if b.is_empty() {
        b.push(b'{');
    }
    let i = rng.below(b.len());
    match rng.below(5) {
        0 => {
            let set = b"{}%#-+'\"\\[]()|.~_=, \n";
            b.insert(i, set[rng.below(set.len())]);
        }
        1 => {
            b.remove(i);
        }
        2 => b.truncate(i),
        3 => {
            let j = (i + 1 + rng.below(10)).min(b.len());
            let span = b[i..j].to_vec();
            b.splice(i..i, span);
        }
        _ => {
            let w: &[&[u8]] = &[
                b"{{",
                b"}}",
                b"{%",
                b"%}",
                b"{#",
                b"#}",
                b"{%- endraw %}",
                b"__class__",
            ];
            b.splice(i..i, w[rng.below(w.len())].iter().copied());
        }
    }
    *t = String::from_utf8_lossy(&b).into_owned();
}

#[test]
fn modelgate_flags_every_template_that_reaches_python_internals() {
    let Some(python) = common::oracle_python(
        "the jinja2 oracle",
        "jinja-venv",
        "tests/oracle/jinja_requirements.txt",
    ) else {
        return;
    };
    let cases = common::oracle_cases(3000);
    let mut rng = Rng(0x6a69_6e6a_615f_6f72);
    let dir = tempfile::tempdir().unwrap();
    let mut templates: Vec<String> = REAL.iter().map(|r| r.to_string()).collect();
    templates.extend(regressions().iter().map(|r| r.to_string()));
    for i in 0..cases {
        let mut t = if i % 3 == 0 {
            // A hostile access among real pieces, or real pieces alone.
            let mut t = String::new();
            if rng.below(2) == 0 {
                t.push_str(REAL[rng.below(REAL.len())]);
            }
            if rng.below(4) > 0 {
                t.push_str(&hostile(&mut rng));
            }
            t.push_str(REAL[rng.below(REAL.len())]);
            t
        } else {
            Gen { rng: &mut rng }.body(0)
        };
        if rng.below(5) == 0 {
            for _ in 0..1 + rng.below(2) {
                mutate(&mut rng, &mut t);
            }
        }
        templates.push(t);
    }
    let mut paths = Vec::new();
    for (i, t) in templates.iter().enumerate() {
        let p = dir.path().join(format!("{i}.jinja"));
        std::fs::write(&p, t).unwrap();
        paths.push(p.display().to_string());
    }
    let (lines, cov) =
        loader_coverage::run_oracle_measured(&python, "tests/oracle/jinja_oracle.py", paths, true);
    let (mut parsed, mut reaching, mut misses, mut false_alarms, mut real_flagged) =
        (0, 0, Vec::new(), Vec::new(), Vec::new());
    for (t, o) in templates.iter().zip(&lines) {
        if o["parsed"] != true {
            continue;
        }
        parsed += 1;
        let flagged = o["flagged"].as_array().unwrap();
        let ours = injections(t);
        if !flagged.is_empty() {
            reaching += 1;
            if ours.is_empty() {
                misses.push(format!("{t:?}\n  jinja2's AST: {flagged:?}"));
            }
        } else if !ours.is_empty() {
            if REAL.iter().any(|r| r == t) {
                real_flagged.push(format!("{t}\n  modelgate: {ours:?}"));
            }
            false_alarms.push(format!("{t:?}\n  modelgate: {ours:?}"));
        }
    }
    eprintln!(
        "jinja oracle: {} templates, {parsed} parsed, {reaching} reach Python internals by jinja2's AST, {} flagged by modelgate only (false alarms)",
        templates.len(),
        false_alarms.len()
    );
    if std::env::var_os("MODELGATE_ORACLE_SHOW_FALSE_ALARMS").is_some() {
        for f in false_alarms.iter().take(30) {
            eprintln!("  false alarm: {f}");
        }
    }
    let ratio = cov.map(|c| loader_coverage::report("the jinja oracle", &c));
    assert!(
        reaching > templates.len() / 10,
        "hostile cases must parse and reach"
    );
    assert!(
        real_flagged.is_empty(),
        "real templates flagged:\n{}",
        real_flagged.join("\n")
    );
    common::assert_no_misses(&misses, 40);
    if let Some(r) = ratio {
        loader_coverage::assert_floor("the jinja oracle", r);
    }
}

/// Templates kept: each differential found so far.
fn regressions() -> Vec<&'static str> {
    vec![
        "{{ messages|selectattr('__class__') }}",
        "{{ messages|map(attribute='x.__class__')|list }}",
        "{{ '{0.__class__}'.format(x) }}",
    ]
}
