//! YAML configs that loaders turn into code: Hydra/OmegaConf `_target_` entries (NeMo's
//! `model_config.yaml`, and any Hydra config shipped with a model: `hydra.utils.instantiate`
//! imports and calls the named callable, CVE-2025-23304), PyYAML `!!python/...` tags (which
//! PyYAML's unsafe loaders construct), and an MLflow `MLmodel`'s `loader_module` (the module
//! `mlflow.pyfunc.load_model` imports).
//!
//! Read as events (the parser's, never building a tree), so aliases are resolved by anchor
//! without being expanded: a "billion laughs" document costs its length, not its expansion.

use super::pickle::globals::deny_module;
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

/// Why `_target_` (or a path like it) reaches a denied module, judged as Hydra's `_locate`
/// resolves it: it imports the first component, then walks the rest by `getattr` (importing
/// a submodule where an attribute is missing), so any component may be a module that another
/// re-exports (`transformers.utils.import_utils.subprocess.Popen` is `subprocess.Popen`).
/// Every tail of the path is therefore judged as a module path of its own.
fn target_denied(t: &str) -> Option<&'static str> {
    let parts: Vec<&str> = t.split('.').collect();
    (0..parts.len()).find_map(|k| {
        let tail = parts.get(k..).unwrap_or_default().join(".");
        deny_module(&tail)
    })
}

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
    /// Scalars that carry an anchor, by anchor id.
    anchors: HashMap<usize, String>,
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

impl Walk {
    /// A scalar (or an alias resolved to one) in the current container.
    fn scalar(&mut self, value: Option<String>, line: usize) {
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

impl MarkedEventReceiver for Walk {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        self.events = self.events.saturating_add(1);
        let line = mark.line();
        match ev {
            Event::Scalar(v, _, anchor, tag) => {
                if let Some(t) = &tag {
                    let full = format!("{}{}", t.handle, t.suffix);
                    if full.contains("python/") {
                        if self.tags.len() < 64 {
                            self.tags.push((full, line));
                        } else {
                            self.dropped = true;
                        }
                    }
                }
                if anchor > 0 {
                    if self.anchors.len() < 100_000 {
                        self.anchors.insert(anchor, v.clone());
                    } else {
                        self.dropped = true;
                    }
                }
                self.scalar(Some(v), line);
            }
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned();
                self.scalar(v.or(Some(String::new())), line);
            }
            Event::MappingStart(_, ref tag) | Event::SequenceStart(_, ref tag) => {
                if let Some(t) = &tag {
                    let full = format!("{}{}", t.handle, t.suffix);
                    if full.contains("python/") {
                        if self.tags.len() < 64 {
                            self.tags.push((full, line));
                        } else {
                            self.dropped = true;
                        }
                    }
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

/// Inspect a YAML file's bytes (read as UTF-8, lossily).
pub fn check_bytes(bytes: &[u8], name: &str, cx: &mut Cx<'_>) {
    check(&String::from_utf8_lossy(bytes), name, cx);
}

/// Inspect a YAML document named `name`: `mlmodel` when it is an MLflow `MLmodel` file.
pub fn check(text: &str, name: &str, cx: &mut Cx<'_>) {
    let mlmodel = name.rsplit('/').next() == Some("MLmodel");
    let mut w = Walk::default();
    // PyYAML's reader breaks lines at NEL, LS and PS too (YAML 1.1); yaml-rust2 does not, and
    // would read what follows one inside a comment as part of the comment.
    let text: std::borrow::Cow<'_, str> = if text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        text.replace(['\u{85}', '\u{2028}', '\u{2029}'], "\n")
            .into()
    } else {
        text.into()
    };
    let mut parser = Parser::new_from_str(&text);
    if let Err(e) = parser.load(&mut w, true) {
        // A loader may still read what this reader cannot (PyYAML accepts more): fail closed.
        cx.report_as(
            Code::ConfigMalformed,
            Severity::Error,
            None,
            format!("{name} cannot be read here as PyYAML reads it ({e}); its entries were not all checked"),
            ev! {},
        );
    }
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
        let module = value.rsplit_once('.').map_or(value.as_str(), |(m, _)| m);
        let (how, allowed) = match key.as_str() {
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
            "code" if mlmodel && !value.is_empty() && value != "null" => {
                // MLflow puts a model's `code` paths on sys.path before it imports the loader.
                cx.report(
                    Code::ConfigCodeReference,
                    None,
                    format!("line {line}: code path '{value}': mlflow.pyfunc.load_model puts it on sys.path and imports from it (code shipped with the model)"),
                    ev! {"key" => key, "target" => value, "line" => line},
                );
                continue;
            }
            "model_code_path" if mlmodel && !value.is_empty() && value != "null" => {
                cx.report(
                    Code::ConfigCodeReference,
                    None,
                    format!("line {line}: model_code_path '{value}': MLflow's models-from-code runs this Python file to build the model when it is loaded"),
                    ev! {"key" => key, "target" => value, "line" => line},
                );
                continue;
            }
            "loader_module" if mlmodel && !value.starts_with("mlflow.") => (
                "mlflow.pyfunc.load_model imports it (code shipped with the model, or any installed module)",
                false,
            ),
            _ => continue,
        };
        if allowed {
            continue;
        }
        let denied = deny_module(module).or_else(|| target_denied(value));
        let severity = if denied.is_some() {
            Severity::Critical
        } else {
            Severity::Error
        };
        cx.report_as(
            Code::ConfigCodeReference,
            severity,
            None,
            format!(
                "line {line}: {key} '{value}': {how}{}",
                denied.map(|w| format!(" ({w})")).unwrap_or_default()
            ),
            ev! {"key" => key, "target" => value, "line" => line},
        );
    }
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
