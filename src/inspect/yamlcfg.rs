//! YAML configs that loaders turn into code: Hydra/OmegaConf `_target_` entries (NeMo's
//! `model_config.yaml`, and any Hydra config shipped with a model: `hydra.utils.instantiate`
//! imports and calls the named callable, CVE-2025-23304), PyYAML `!!python/...` tags (which
//! PyYAML's unsafe loaders construct), and an MLflow `MLmodel`'s `loader_module` (the module
//! `mlflow.pyfunc.load_model` imports).
//!
//! Read as PyYAML reads it: libyaml's scanner and parser (`libyaml-safer`, the YAML 1.1 grammar
//! PyYAML's pure-Python reader, scanner and parser mirror: NEL/LS/PS line breaks, UTF-16 by its
//! BOM, `%TAG` handles resolved), in every view a loader has of the file: PyYAML's own decoding
//! of the bytes (`yaml.safe_load(open(f, 'rb'))`) and OmegaConf's/Hydra's utf-8 text read, a
//! divergence between them reported. Where libyaml refuses the stream, yaml-rust2 reads it too
//! (entries either finds are reported) and the refusal is an error: fail closed.
//!
//! Read as events (the parser's, never building a tree), so aliases are resolved by anchor
//! without being expanded: a "billion laughs" document costs its length, not its expansion.
//! Merge keys (`<<`) add no pair that is not in the merged mapping's own events.

use super::Cx;
use crate::ev;
use crate::finding::{Code, Severity};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Largest YAML read.
pub const MAX_YAML: u64 = 16 << 20;

/// Module prefixes whose classes a model config may instantiate: the frameworks whose
/// checkpoints ship Hydra configs. Only class-like names (an upper-case first letter) pass;
/// functions (`torch.load`, `torch.hub.load`) do not.
const TARGET_PREFIXES: &[&str] = &[
    "nemo",
    "nemo_text_processing",
    "torch",
    "torchaudio",
    "torchvision",
    "torchmetrics",
    "pytorch_lightning",
    "lightning",
    "lightning_fabric",
    "omegaconf",
    "transformers",
    "megatron",
    "apex",
    "timm",
    "diffusers",
];

use super::configrefs::{path_denied as target_denied, report_reference};

/// Whether `_target_` names a class of a listed framework (and reaches no denied module
/// through any component: see [`target_denied`]).
fn target_allowed(t: &str) -> bool {
    if target_denied(t).is_some() {
        return false;
    }
    let Some((module, name)) = t.rsplit_once('.') else {
        return false;
    };
    let top = module.split('.').next().unwrap_or("");
    TARGET_PREFIXES.contains(&top)
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && !name.contains("__")
}

#[derive(Default)]
struct Walk {
    /// Per open container: `Some(key)` in a mapping (the key just read, `None` before one);
    /// `None` for a sequence.
    stack: Vec<Option<Option<String>>>,
    /// Scalars that carry an anchor, by anchor name.
    anchors: HashMap<String, String>,
    /// (key, value, line) of the mapping entries asked for.
    entries: Vec<(String, String, usize)>,
    /// PyYAML python tags (tag, line).
    tags: Vec<(String, usize)>,
    events: u64,
    /// Something was not kept because a bound was reached (reported: fail closed).
    dropped: bool,
    /// OmegaConf resolvers named by `${name:...}` interpolations (name, line).
    resolvers: Vec<(String, usize)>,
}

/// Resolvers OmegaConf and Hydra register themselves: they read the environment, other keys,
/// dates and literals, and run no code of the config's choosing.
const SAFE_RESOLVERS: &[&str] = &[
    "oc.env",
    "oc.create",
    "oc.deprecated",
    "oc.decode",
    "oc.select",
    "oc.dict.keys",
    "oc.dict.values",
    "hydra",
    "now",
];

/// The resolver names of the `${name:...}` interpolations in `v`.
fn interpolation_resolvers(v: &str) -> impl Iterator<Item = &str> {
    v.match_indices("${").filter_map(move |(at, _)| {
        let rest = v.get(at.saturating_add(2)..)?.trim_start();
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '-')))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        (!name.is_empty() && after.trim_start().starts_with(':')).then_some(name)
    })
}

/// Keys whose values loaders import: Hydra's `_target_`, jsonargparse's (LightningCLI)
/// `class_path`, the `target` of Stable Diffusion's `instantiate_from_config` (ldm, sgm),
/// MLflow's `loader_module`, `code` and `model_code_path`.
const KEYS: &[&str] = &[
    "_target_",
    "class_path",
    "target",
    "loader_module",
    "code",
    "model_code_path",
];

/// Module prefixes of the classes Stable Diffusion configs (`target:`) instantiate.
const LDM_PREFIXES: &[&str] = &[
    "ldm",
    "sgm",
    "taming",
    "imaginaire",
    "k_diffusion",
    "open_clip",
];

/// A dotted path of Python identifiers (`pkg.mod.Class`): what `target:` names when a loader
/// imports it (elsewhere `target` is a number, a label, a path).
fn dotted_path(v: &str) -> bool {
    v.contains('.')
        && v.split('.').all(|p| {
            let mut c = p.chars();
            c.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && c.all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// `key: value` pairs for the keys loaders import, written inside an interpolation's argument
/// (OmegaConf's `oc.create` and `oc.decode` build a node from it, which `instantiate` then
/// imports and calls): scanned in the argument's text, escapes dropped, any quotes or spacing.
fn embedded_targets(v: &str) -> Vec<(String, String)> {
    let text: String = v.chars().filter(|c| *c != '\\').collect();
    let mut out = Vec::new();
    for key in ["_target_", "class_path", "target"] {
        for (at, _) in text.match_indices(key) {
            // A whole key: not inside a longer name (`target` within `_target_`).
            let before = text.get(..at).and_then(|b| b.chars().last());
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = text.get(at.saturating_add(key.len())..).unwrap_or("");
            let rest = rest.trim_start_matches(['\'', '"', ' ', '\t']);
            let Some(rest) = rest.strip_prefix(':') else {
                continue;
            };
            let value: String = rest
                .trim_start_matches([' ', '\t', '\'', '"'])
                .chars()
                .take_while(|c| !matches!(c, ',' | '}' | '\'' | '"' | ' ' | '\t' | '\n'))
                .collect();
            if !value.is_empty() && out.len() < 64 {
                out.push((key.to_string(), value));
            }
        }
    }
    out
}

impl Walk {
    /// A scalar (or an alias resolved to one) in the current container.
    fn scalar(&mut self, value: Option<String>, line: usize) {
        if let Some(v) = value
            .as_deref()
            .filter(|v| v.contains("oc.create") || v.contains("oc.decode"))
        {
            for (k, t) in embedded_targets(v) {
                if self.entries.len() < 1 << 16 {
                    self.entries.push((k, t, line));
                } else {
                    self.dropped = true;
                }
            }
        }
        if let Some(v) = value.as_deref().filter(|v| v.contains("${")) {
            for r in interpolation_resolvers(v) {
                if SAFE_RESOLVERS.contains(&r) || self.resolvers.iter().any(|(n, _)| n == r) {
                    continue;
                }
                if self.resolvers.len() < 64 {
                    self.resolvers.push((r.to_string(), line));
                } else {
                    self.dropped = true;
                }
            }
        }
        let Some(Some(slot)) = self.stack.last_mut() else {
            return;
        };
        match slot.take() {
            None => *slot = Some(value.unwrap_or_default()),
            Some(key) => {
                if let Some(v) = value {
                    if KEYS.contains(&key.as_str()) {
                        if self.entries.len() < 1 << 16 {
                            self.entries.push((key, v, line));
                        } else {
                            self.dropped = true;
                        }
                    }
                }
            }
        }
    }

    /// A container opens: as a value, it completes the pending key.
    fn open(&mut self, mapping: bool) {
        if let Some(Some(slot)) = self.stack.last_mut() {
            // A container as a key, or as a value: either way the next scalar is a key again
            // after it.
            if slot.is_some() {
                *slot = None;
            } else {
                *slot = Some(String::new());
            }
        }
        self.stack.push(if mapping { Some(None) } else { None });
    }
}

impl Walk {
    fn tag(&mut self, tag: &str, line: usize) {
        if tag.contains("python/") {
            if self.tags.len() < 64 {
                if !self.tags.iter().any(|(t, _)| t == tag) {
                    self.tags.push((tag.to_string(), line));
                }
            } else {
                self.dropped = true;
            }
        }
    }

    fn anchor(&mut self, anchor: String, value: &str) {
        if self.anchors.len() < 100_000 {
            self.anchors.insert(anchor, value.to_string());
        } else {
            self.dropped = true;
        }
    }

    fn alias(&mut self, anchor: &str, line: usize) {
        let v = self.anchors.get(anchor).cloned();
        self.scalar(v.or(Some(String::new())), line);
    }
}

impl MarkedEventReceiver for Walk {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        self.events = self.events.saturating_add(1);
        let line = mark.line();
        match ev {
            Event::Scalar(v, _, anchor, tag) => {
                if let Some(t) = &tag {
                    self.tag(&format!("{}{}", t.handle, t.suffix), line);
                }
                if anchor > 0 {
                    self.anchor(anchor.to_string(), &v);
                }
                self.scalar(Some(v), line);
            }
            Event::Alias(id) => self.alias(&id.to_string(), line),
            Event::MappingStart(_, ref tag) | Event::SequenceStart(_, ref tag) => {
                if let Some(t) = &tag {
                    self.tag(&format!("{}{}", t.handle, t.suffix), line);
                }
                self.open(matches!(ev, Event::MappingStart(..)));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

/// Read `bytes` as PyYAML does (libyaml's grammar; the encoding from a UTF-16 BOM, else UTF-8,
/// a UTF-8 BOM skipped) into `w`; the error that stopped the stream, if any.
fn walk_pyyaml(bytes: &[u8], w: &mut Walk) -> Result<(), String> {
    // PyYAML decodes UTF-16 strictly (a lone surrogate is an error); libyaml-safer's own UTF-16
    // reader is not relied on.
    let decoded: Option<String> = match bytes {
        [0xff, 0xfe, rest @ ..] | [0xfe, 0xff, rest @ ..] => {
            let big = bytes.first() == Some(&0xfe);
            if rest.len() % 2 != 0 {
                return Err("a UTF-16 stream of an odd length".into());
            }
            let units = rest.chunks_exact(2).map(|c| match c {
                [a, b] if big => u16::from_be_bytes([*a, *b]),
                [a, b] => u16::from_le_bytes([*a, *b]),
                _ => 0,
            });
            Some(
                char::decode_utf16(units)
                    .collect::<Result<String, _>>()
                    .map_err(|e| format!("invalid UTF-16: {e}"))?,
            )
        }
        _ => None,
    };
    let bytes = decoded.as_deref().map_or(bytes, str::as_bytes);
    // PyYAML's scanner skips a BOM at the stream's first character only.
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    // libyaml refuses a directive it does not know; PyYAML warns and ignores it (a line at
    // column 0 starting with `%` in a document's prefix): such lines are read as comments.
    let owned: Vec<u8>;
    let bytes = if bytes.contains(&b'%') {
        owned = mask_reserved_directives(bytes);
        &owned[..]
    } else {
        bytes
    };
    let run = |b: &[u8], w: &mut Walk| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| events(b, w))).ok()
    };
    match run(bytes, w) {
        Some(r) => r,
        None => {
            // libyaml-safer fails at some ends of input where libyaml reads a final NUL: read
            // it again ending in a line break.
            let mut again = bytes.to_vec();
            again.push(b'\n');
            *w = Walk::default();
            run(&again, w).unwrap_or_else(|| Err("the YAML reader failed".into()))
        }
    }
}

/// `bytes` with every reserved directive (a line starting with `%` other than `%YAML` and
/// `%TAG`, at a line start, whatever break ends the line before) turned into a comment.
fn mask_reserved_directives(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let text = String::from_utf8_lossy(bytes);
    if text.len() != bytes.len() {
        return out;
    }
    let mut line_start = true;
    for (i, c) in text.char_indices() {
        if line_start && c == '%' {
            let rest = text.get(i..).unwrap_or_default();
            if !rest.starts_with("%YAML") && !rest.starts_with("%TAG") {
                if let Some(b) = out.get_mut(i) {
                    *b = b'#';
                }
            }
        }
        line_start = matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
    }
    out
}

fn events(bytes: &[u8], w: &mut Walk) -> Result<(), String> {
    use libyaml_safer::EventData;
    let mut input = bytes;
    let mut p = libyaml_safer::Parser::new();
    p.set_input_string(&mut input);
    p.set_encoding(libyaml_safer::Encoding::Utf8);
    loop {
        let ev = p.parse().map_err(|e| e.to_string())?;
        w.events = w.events.saturating_add(1);
        let line = usize::try_from(ev.start_mark.line).unwrap_or(usize::MAX);
        match ev.data {
            EventData::StreamEnd => return Ok(()),
            EventData::Scalar {
                anchor, tag, value, ..
            } => {
                if let Some(t) = &tag {
                    w.tag(t, line);
                }
                if let Some(a) = anchor {
                    w.anchor(a, &value);
                }
                w.scalar(Some(value), line);
            }
            EventData::Alias { anchor } => w.alias(&anchor, line),
            EventData::SequenceStart { ref tag, .. } | EventData::MappingStart { ref tag, .. } => {
                if let Some(t) = tag {
                    w.tag(t, line);
                }
                w.open(matches!(ev.data, EventData::MappingStart { .. }));
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                w.stack.pop();
            }
            EventData::DocumentStart { .. } => {
                w.stack.clear();
                w.anchors.clear();
            }
            _ => {}
        }
    }
}

/// Read `text` with yaml-rust2 (YAML 1.2, line breaks NEL/LS/PS made `\n` as PyYAML breaks
/// there) into `w`; the error, if any.
fn walk_yaml_rust2(text: &str, w: &mut Walk) -> Result<(), String> {
    let text: std::borrow::Cow<'_, str> = if text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        text.replace(['\u{85}', '\u{2028}', '\u{2029}'], "\n")
            .into()
    } else {
        text.into()
    };
    let mut parser = Parser::new_from_str(&text);
    parser.load(w, true).map_err(|e| e.to_string())
}

/// Whether `bytes` starts with a UTF-16 byte order mark (PyYAML then decodes UTF-16).
fn utf16(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff")
}

/// Inspect a YAML file named `name` (an MLflow `MLmodel`, a Hydra/OmegaConf config, ...) in
/// every view a loader has of its bytes.
pub fn check_bytes(bytes: &[u8], name: &str, cx: &mut Cx<'_>) {
    let mut w = Walk::default();
    let strict = std::str::from_utf8(bytes);
    let mut refused = Vec::new();
    if let Err(e) = walk_pyyaml(bytes, &mut w) {
        refused.push(format!("PyYAML's grammar (libyaml) refuses it: {e}"));
    }
    if utf16(bytes) {
        // PyYAML's binary read decodes UTF-16 from the BOM; OmegaConf and Hydra open the file
        // as utf-8 text, which fails. Loaders differ: the view that reads was inspected.
        cx.report(
            Code::ConfigMalformed,
            None,
            format!("{name} is UTF-16: PyYAML reading the bytes (yaml.safe_load(open(f, 'rb'))) decodes it, OmegaConf's and Hydra's utf-8 text read refuses it; loaders read it differently"),
            ev! {"format" => "yaml", "encoding" => "utf-16"},
        );
    }
    if !refused.is_empty() || strict.is_err() && !utf16(bytes) {
        // Another reader (and a lossy decoding, where the bytes are not UTF-8) may read what
        // this one cannot: read it that way too, and fail closed.
        let text = String::from_utf8_lossy(bytes);
        let mut w2 = Walk::default();
        let _ = walk_yaml_rust2(&text, &mut w2);
        if strict.is_err() && !utf16(bytes) {
            refused.push("it is not UTF-8, as PyYAML and OmegaConf decode it".into());
            let mut w3 = Walk::default();
            let _ = walk_pyyaml(text.as_bytes(), &mut w3);
            w.merge(w3);
        }
        w.merge(w2);
        // What neither reader reached: every tag-like token naming a python tag.
        for tok in
            text.split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}'))
        {
            if tok.starts_with('!') && tok.contains("python/") {
                let tag = tok
                    .strip_prefix("!<")
                    .map_or(tok, |t| t.trim_end_matches('>'));
                w.tag(tag, 0);
            }
        }
    }
    if !refused.is_empty() {
        cx.report_as(
            Code::ConfigMalformed,
            Severity::Error,
            None,
            format!(
                "{name} cannot be read here as PyYAML reads it ({}); its entries were not all checked",
                refused.join("; ")
            ),
            ev! {"format" => "yaml"},
        );
    }
    report(&w, name, cx);
}

/// Inspect a YAML document named `name` given as text (as [`check_bytes`] on its UTF-8).
pub fn check(text: &str, name: &str, cx: &mut Cx<'_>) {
    check_bytes(text.as_bytes(), name, cx);
}

impl Walk {
    /// Add what another reading found (entries and tags not already found).
    fn merge(&mut self, other: Walk) {
        for e in other.entries {
            if !self.entries.iter().any(|x| x.0 == e.0 && x.1 == e.1) {
                self.entries.push(e);
            }
        }
        for t in other.tags {
            if !self.tags.iter().any(|x| x.0 == t.0) {
                self.tags.push(t);
            }
        }
        for r in other.resolvers {
            if !self.resolvers.iter().any(|x| x.0 == r.0) {
                self.resolvers.push(r);
            }
        }
        self.dropped |= other.dropped;
    }
}

fn report(w: &Walk, name: &str, cx: &mut Cx<'_>) {
    let mlmodel = name.rsplit('/').next() == Some("MLmodel");
    if w.dropped {
        cx.report(
            Code::LimitExceeded,
            None,
            format!("{name}: more loader entries, tags or anchors than this check keeps; the rest were not checked"),
            ev! {"limit" => "yaml_entries"},
        );
    }
    for (resolver, line) in &w.resolvers {
        // The application registers resolvers (`eval`, `python`, ... are common in training
        // templates: `OmegaConf.register_new_resolver("eval", eval)`); what one runs is the
        // application's, the argument the config's.
        let line = line.saturating_add(1);
        let evaluating = matches!(
            resolver.as_str(),
            "eval" | "exec" | "python" | "py" | "lambda"
        );
        cx.report_as(
            Code::ConfigCodeReference,
            if evaluating { Severity::Error } else { Severity::Warning },
            None,
            format!("line {line}: an OmegaConf interpolation calls the resolver '{resolver}', which the loading application registered{}", if evaluating { " (a resolver of that name evaluates its argument as Python)" } else { "" }),
            ev! {"key" => "interpolation", "target" => resolver, "line" => line},
        );
    }
    for (tag, line) in &w.tags {
        let line = line.saturating_add(1);
        cx.report(
            Code::ConfigCodeReference,
            None,
            format!(
                "line {line}: the tag {tag} makes PyYAML's unsafe loaders import and call Python"
            ),
            ev! {"tag" => tag, "line" => line},
        );
    }
    for (key, value, line) in &w.entries {
        let line = line.saturating_add(1);
        let Some(how) = judge(key, value, mlmodel) else {
            continue;
        };
        // Import paths are judged by every tail; file paths (`code`, `model_code_path`) are not
        // module paths.
        let path = matches!(
            key.as_str(),
            "_target_" | "class_path" | "target" | "loader_module"
        );
        let denied = path.then(|| target_denied(value)).flatten();
        report_reference(cx, key, value, how, Some(line), denied);
    }
}

/// Why a loader acts on `key: value` (a string value of a mapping), or `None` when it does not
/// or the target is an allowed framework class. `mlmodel`: the file is an MLflow `MLmodel`.
fn judge(key: &str, value: &str, mlmodel: bool) -> Option<&'static str> {
    let (how, allowed) = match key {
        "_target_" => (
            "Hydra's instantiate imports and calls it when the config is loaded",
            target_allowed(value),
        ),
        "class_path" => (
            "jsonargparse (LightningCLI) imports and instantiates it when the config is parsed",
            target_allowed(value),
        ),
        "target" if dotted_path(value) => (
            "instantiate_from_config (Stable Diffusion's ldm/sgm) imports and instantiates it",
            target_allowed(value)
                || LDM_PREFIXES.contains(&value.split('.').next().unwrap_or(""))
                    && target_denied(value).is_none(),
        ),
        // MLflow puts a model's `code` paths on sys.path before it imports the loader.
        "code" if mlmodel && !value.is_empty() && value != "null" => (
            "code path: mlflow.pyfunc.load_model puts it on sys.path and imports from it (code shipped with the model)",
            false,
        ),
        "model_code_path" if mlmodel && !value.is_empty() && value != "null" => (
            "MLflow's models-from-code runs this Python file to build the model when it is loaded",
            false,
        ),
        "loader_module" if mlmodel && !value.starts_with("mlflow.") => (
            "mlflow.pyfunc.load_model imports it (code shipped with the model, or any installed module)",
            false,
        ),
        _ => return None,
    };
    (!allowed).then_some(how)
}

/// Whether modelgate reports `key: value` found in a YAML config (a loader acts on it and the
/// target is not an allowed framework class); `mlmodel`: the file is an MLflow `MLmodel`.
pub fn reported(key: &str, value: &str, mlmodel: bool) -> bool {
    judge(key, value, mlmodel).is_some()
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic
)]
mod tests {
    use super::*;

    fn run(text: &str, name: &str) -> Vec<(Code, Severity, String)> {
        super::super::inspect_bytes(name, text.as_bytes(), &Default::default())
            .into_iter()
            .map(|f| (f.code, f.severity, f.message))
            .collect()
    }

    #[test]
    fn hydra_targets() {
        let clean = "model:\n  _target_: nemo.collections.asr.models.EncDecCTCModel\n  optim:\n    _target_: torch.optim.AdamW\n";
        assert!(run(clean, "model_config.yaml").is_empty());
        let f = run(
            "a:\n  _target_: os.system\n  _args_: [id]\n",
            "model_config.yaml",
        );
        assert_eq!(f[0].0, Code::ConfigCodeReference);
        assert_eq!(f[0].1, Severity::Critical, "{f:?}");
        let f = run("{x: {_target_: torch.load, f: /etc/passwd}}", "c.yaml");
        assert_eq!(f[0].1, Severity::Error, "{f:?}");
        // Through an alias and a quoted key.
        let f = run("v: &t builtins.exec\nm:\n  \"_target_\": *t\n", "c.yaml");
        assert!(f[0].2.contains("builtins.exec"), "{f:?}");
        // A sequence of mappings.
        let f = run("l:\n  - _target_: subprocess.run\n", "c.yaml");
        assert_eq!(f.len(), 1, "{f:?}");
        // Resolved as Hydra's _locate resolves it: through a framework module that re-exports
        // a denied one (an allowed prefix and an upper-case name are not enough).
        let f = run(
            "a:\n  _target_: transformers.utils.import_utils.subprocess.Popen\n  args: [id]\n",
            "c.yaml",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, Severity::Critical, "{f:?}");
        let f = run("a: {_target_: torch.os.system}\n", "c.yaml");
        assert_eq!(f[0].1, Severity::Critical, "{f:?}");
    }

    #[test]
    fn python_tags_and_mlflow() {
        let f = run("x: !!python/object/apply:os.system [id]\n", "c.yaml");
        assert_eq!(f[0].0, Code::ConfigCodeReference);
        let f = run(
            "flavors:\n  python_function:\n    loader_module: mycode.loader\n    code: code\n",
            "m/MLmodel",
        );
        assert_eq!(f.len(), 2, "{f:?}");
        // `code` means something else outside MLmodel files.
        assert!(run("code: 3\n", "c.yaml").is_empty());
        let f = run(
            "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n",
            "m/MLmodel",
        );
        assert!(f.is_empty());
    }

    #[test]
    fn aliases_are_not_expanded() {
        let mut t = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..40 {
            t.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = if i == 1 {
                    String::new()
                } else {
                    (i - 1).to_string()
                }
            ));
        }
        assert!(run(&t, "c.yaml").is_empty());
    }
}
