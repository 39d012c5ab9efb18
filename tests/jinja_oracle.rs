//! The chat-template oracle: jinja2 itself (tests/oracle/jinja_oracle.py, jinja2 installed into
//! target/jinja-venv) parses and renders generated templates in a sandbox that records every
//! attribute and key name asked for. Wherever a template reaches a Python internal at render
//! time, however the name is spelled, built or carried, modelgate must flag it; real templates
//! must pass.

mod common;

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
    match rng.below(13) {
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

#[test]
fn modelgate_flags_every_template_that_reaches_python_internals() {
    let Some(python) = common::oracle_python(
        "the jinja2 oracle",
        "jinja-venv",
        "tests/oracle/jinja_requirements.txt",
    ) else {
        return;
    };
    let cases = common::oracle_cases(1500);
    let mut rng = Rng(0x6a69_6e6a_615f_6f72);
    let dir = tempfile::tempdir().unwrap();
    let mut templates = Vec::new();
    for r in REAL {
        templates.push(r.to_string());
    }
    for _ in 0..cases {
        // A hostile access among real pieces, or real pieces alone.
        let mut t = String::new();
        if rng.below(2) == 0 {
            t.push_str(REAL[rng.below(REAL.len())]);
        }
        let hostile_case = rng.below(4) > 0;
        if hostile_case {
            t.push_str(&hostile(&mut rng));
        }
        t.push_str(REAL[rng.below(REAL.len())]);
        templates.push(t);
    }
    let mut paths = Vec::new();
    for (i, t) in templates.iter().enumerate() {
        let p = dir.path().join(format!("{i}.jinja"));
        std::fs::write(&p, t).unwrap();
        paths.push(p.display().to_string());
    }
    let lines = common::run_oracle(&python, "tests/oracle/jinja_oracle.py", paths);
    let (mut parsed, mut reaching, mut misses, mut false_alarms) = (0, 0, Vec::new(), Vec::new());
    for (t, o) in templates.iter().zip(&lines) {
        if o["parsed"] != true {
            continue;
        }
        parsed += 1;
        let reached = o["reached"].as_array().unwrap();
        let ours = injections(t);
        if !reached.is_empty() {
            reaching += 1;
            if ours.is_empty() {
                misses.push(format!("{t}\n  jinja2 reached {reached:?}"));
            }
        } else if !ours.is_empty() && REAL.iter().any(|r| r == t) {
            false_alarms.push(format!("{t}\n  modelgate: {ours:?}"));
        }
    }
    eprintln!(
        "jinja oracle: {} templates, {parsed} parsed, {reaching} reach Python internals",
        templates.len()
    );
    assert!(
        reaching > templates.len() / 3,
        "most hostile cases must parse and reach"
    );
    assert!(
        false_alarms.is_empty(),
        "real templates flagged:\n{}",
        false_alarms.join("\n")
    );
    common::assert_no_misses(&misses, 8);
}
