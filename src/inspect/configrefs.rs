//! Configs that name Python to import, read by name as their loaders read them (see
//! docs/loaders.md): sentence-transformers' `modules.json` (each module's `type` is imported
//! with `import_from_string` and its `load` called), diffusers' `model_index.json` (each
//! component's `[library, class]` pair is imported; a library that is not an installed package
//! is custom code from the repository, as is `custom_pipeline`), and MLflow's
//! `pickle_module_info.txt` (the module `mlflow.pytorch.load_model` imports and hands to
//! `torch.load` as its unpickler).

use super::pickle::globals::deny_module;
use super::{pyjson, Cx};
use crate::ev;
use crate::finding::{Code, Severity};

/// Package prefixes whose classes sentence-transformers configs load as modules.
const ST_MODULES: &[&str] = &["sentence_transformers"];

/// Libraries a diffusers pipeline's components come from (installed packages, not code shipped
/// with the model).
const DIFFUSERS_LIBRARIES: &[&str] = &[
    "diffusers",
    "transformers",
    "onnxruntime",
    "diffusers.pipelines",
    "peft",
    "torch",
];

/// Modules MLflow's torch flavour is saved with as `pickle_module`.
const PICKLE_MODULES: &[&str] = &[
    "mlflow.pytorch.pickle_module",
    "pickle",
    "cloudpickle",
    "dill",
    "torch.serialization",
];

/// Whether `name` is one of the files this module reads (`inside`: a member of an archive;
/// skops' `schema.json` is the member of a `.skops` zip).
pub fn handles(name: &str, inside: bool) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    matches!(
        base,
        "modules.json" | "model_index.json" | "pickle_module_info.txt"
    ) || inside && base == "schema.json"
}

/// skops' `schema.json`: every node names the `__module__` and `__class__` that
/// `skops.io.load` imports (classes, functions and types alike); `load(trusted=...)` is how users
/// accept them, often all of them at once. Each pair is judged as a pickle global is (the same
/// exact allowlist: skops stores what pickle would import).
fn skops_schema(doc: &pyjson::Value, cx: &mut Cx<'_>) {
    use super::pickle::globals::{classify, Verdict};
    let mut todo = vec![doc];
    let mut seen = std::collections::BTreeSet::new();
    let mut nodes: u32 = 0;
    while let Some(v) = todo.pop() {
        nodes = nodes.saturating_add(1);
        if nodes > 1 << 20 {
            cx.report(
                Code::LimitExceeded,
                None,
                "schema.json: more nodes than this check walks; the rest were not checked",
                ev! {"limit" => "skops_nodes"},
            );
            return;
        }
        match v {
            pyjson::Value::Array(a) => todo.extend(a.iter()),
            pyjson::Value::Object(pairs) => {
                let m = v.get("__module__").and_then(|m| m.as_str());
                let c = v.get("__class__").and_then(|c| c.as_str());
                if let (Some(m), Some(c)) = (m, c) {
                    if seen.insert((m.to_string(), c.to_string())) {
                        let (severity, why) = match classify(&m, &c, false) {
                            Verdict::Allowed => (None, ""),
                            Verdict::Dangerous(w) => (Some(Severity::Critical), w),
                            Verdict::Unknown => (Some(Severity::Error), "not on the allowlist"),
                        };
                        if let Some(severity) = severity {
                            cx.report_as(
                                Code::ConfigCodeReference,
                                severity,
                                None,
                                format!("skops node {m}.{c}: skops.io.load imports it when it is trusted ({why})"),
                                ev! {"key" => "__class__", "target" => format!("{m}.{c}"), "module" => m, "name" => c},
                            );
                        }
                    }
                }
                todo.extend(pairs.iter().map(|(_, v)| v));
            }
            _ => {}
        }
    }
}

/// Inspect `bytes`, the whole file named `name` (see [`handles`]).
pub fn check(name: &str, bytes: &[u8], cx: &mut Cx<'_>) {
    let base = name.rsplit('/').next().unwrap_or(name);
    if base == "pickle_module_info.txt" {
        let module = String::from_utf8_lossy(bytes).trim().to_string();
        if !module.is_empty() && !PICKLE_MODULES.contains(&module.as_str()) {
            reference(
                cx,
                "pickle_module",
                &module,
                "mlflow.pytorch.load_model imports it and unpickles the model with it",
            );
        }
        return;
    }
    // Every view a loader has of the file (json.load of utf-8 text, json.loads(bytes)).
    let Some(doc) = pyjson::views(bytes)
        .into_iter()
        .find_map(|(_, t)| t.ok().and_then(|t| pyjson::parse(&t.bytes).ok()))
        .map(|(v, _)| v)
    else {
        cx.report_as(
            Code::ConfigMalformed,
            Severity::Error,
            None,
            format!("{name} is not JSON Python's json reads; the code it names was not checked"),
            ev! {"format" => "json"},
        );
        return;
    };
    if base == "schema.json" {
        skops_schema(&doc, cx);
    } else if base == "modules.json" {
        let pyjson::Value::Array(mods) = &doc else {
            return;
        };
        for m in mods {
            let Some(t) = m.get("type").and_then(|t| t.as_str()) else {
                continue;
            };
            let top = t.split('.').next().unwrap_or("");
            if !ST_MODULES.contains(&top) || t.contains("__") {
                reference(
                    cx,
                    "type",
                    &t,
                    "sentence-transformers imports this module class and calls its load()",
                );
            }
        }
    } else {
        for (key, v) in doc.dict() {
            let key = String::from_utf8_lossy(key);
            if key == "custom_pipeline" {
                if let Some(p) = v.as_str() {
                    reference(
                        cx,
                        "custom_pipeline",
                        &p,
                        "diffusers loads this pipeline's code from the repository or the Hub",
                    );
                }
                continue;
            }
            let pyjson::Value::Array(pair) = v else {
                continue;
            };
            let (Some(lib), Some(class)) = (
                pair.first().and_then(|l| l.as_str()),
                pair.get(1).and_then(|c| c.as_str()),
            ) else {
                continue;
            };
            // A bare module name is one of diffusers' pipeline modules (`stable_diffusion`)
            // or a module shipped beside the config, whose `.py` is `python-code` itself.
            let bare = !lib.contains('.') && deny_module(&lib).is_none();
            if !bare && !DIFFUSERS_LIBRARIES.contains(&lib.as_ref()) {
                reference(
                    cx,
                    &key,
                    &format!("{lib}.{class}"),
                    "diffusers imports this component's class from that library (a library that is not an installed package is code from the repository)",
                );
            }
        }
    }
}

fn reference(cx: &mut Cx<'_>, key: &str, target: &str, how: &str) {
    report_reference(cx, key, target, how, None, path_denied(target));
}

/// Why an import path (a Hydra `_target_`, a module to import, a `module.Class`) reaches a
/// denied module, judged as Hydra's `_locate` resolves it: it imports the first component,
/// then walks the rest by `getattr` (importing a submodule where an attribute is missing), so
/// any component may be a module that another re-exports
/// (`transformers.utils.import_utils.subprocess.Popen` is `subprocess.Popen`). Every tail of
/// the path is therefore judged as a module path of its own.
pub(super) fn path_denied(t: &str) -> Option<&'static str> {
    let parts: Vec<&str> = t.split('.').collect();
    (0..parts.len()).find_map(|k| {
        let tail = parts.get(k..).unwrap_or_default().join(".");
        deny_module(&tail)
    })
}

/// A config entry that makes its loader import `target` (`key` in the config; `line` where
/// known): critical when it reaches a denied module, else an error.
pub(super) fn report_reference(
    cx: &mut Cx<'_>,
    key: &str,
    target: &str,
    how: &str,
    line: Option<usize>,
    denied: Option<&'static str>,
) {
    let severity = if denied.is_some() {
        Severity::Critical
    } else {
        Severity::Error
    };
    let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
    let mut evidence = ev! {"key" => key, "target" => target};
    if let Some(l) = line {
        evidence.insert("line".into(), serde_json::json!(l));
    }
    cx.report_as(
        Code::ConfigCodeReference,
        severity,
        None,
        format!(
            "{at}{key} '{target}': {how}{}",
            denied.map(|w| format!(" ({w})")).unwrap_or_default()
        ),
        evidence,
    );
}
