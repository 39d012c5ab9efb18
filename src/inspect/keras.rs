//! Keras models: the config (a `.keras` zip's `config.json`, or the `model_config` attribute of
//! a legacy `.h5` file) is walked for Lambda layers and objects from foreign modules.
//!
//! Configs are walked by a streaming visitor that never builds a JSON tree (memory grows with
//! nesting depth only), and candidates inside binary files are first validated without
//! allocating, so hostile JSON costs time in proportion to its bytes, within a budget.

use super::{hdf5, pyjson, Cx, Evidence, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::Format;
use crate::input::Input;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::sync::OnceLock;

/// Largest config parsed (a config is kilobytes; a huge one is not a config).
const MAX_CONFIG: usize = 64 << 20;

/// Findings reported per config, at most.
const MAX_REPORTS: usize = 100;

fn keras_module(m: &str) -> bool {
    ["keras", "tensorflow", "tf_keras", "builtins"]
        .iter()
        .any(|k| m == *k || m.strip_prefix(k).is_some_and(|r| r.starts_with('.')))
}

/// The (kind, module, name) triples Keras writes for its own components, generated from Keras
/// by `testdata/generate_keras_objects.py`.
const OBJECTS: &str = include_str!("keras_objects.txt");

/// Listed (function, module, name) triples, and (function, name) pairs.
type Listed = (
    HashSet<(bool, &'static str, &'static str)>,
    HashSet<(bool, &'static str)>,
);

fn objects() -> &'static Listed {
    static SET: OnceLock<Listed> = OnceLock::new();
    SET.get_or_init(|| {
        let mut exact = HashSet::new();
        let mut names = HashSet::new();
        for line in OBJECTS.lines().filter(|l| !l.starts_with('#')) {
            let mut f = line.split('\t');
            if let (Some(kind), Some(module), Some(name)) = (f.next(), f.next(), f.next()) {
                exact.insert((kind == "function", module, name));
                names.insert((kind == "function", name));
            }
        }
        (exact, names)
    })
}

/// Whether Keras writes `module`.`name` (a class, or a function when `function`) for one of its
/// own components. Modules of Keras 3 (`keras`, `keras.*`, and `builtins` for functions) are
/// matched exactly; TensorFlow's and tf_keras's, which the list does not cover, by name.
fn listed(function: bool, module: &str, name: &str) -> bool {
    let (exact, names) = objects();
    if module == "keras" || module.starts_with("keras.") || module == "builtins" {
        exact.contains(&(function, module, name))
    } else {
        names.contains(&(function, name))
    }
}

/// Keys whose string value Keras layers read as a path or URL (a vocabulary file, a download).
const PATH_KEYS: &[&str] = &[
    "vocabulary",
    "vocabulary_file",
    "vocabulary_path",
    "vocab_file",
    "idf_weights",
    "filepath",
    "file_path",
    "fname",
    "origin",
    "cache_dir",
    "url",
];

/// A URL of any scheme (`https://`, `gs://`, `file://`, ...).
fn is_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme.len() <= 16
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    })
}

/// What a walked JSON value tells its parent.
#[derive(Default)]
struct Node {
    /// The value itself, when it is a string.
    string: Option<String>,
    /// For an object: its `class_name`, `name` and `function_type` strings, whether it has a
    /// `config` key, and that config's `name` / `function_type`.
    class_name: Option<String>,
    name: Option<String>,
    function_type: Option<String>,
    has_config: bool,
    config_name: Option<String>,
    config_function_type: Option<String>,
    /// The object's own `module` string, and its config's (a TorchModuleWrapper keeps its
    /// torch.save'd module there, base64-encoded).
    module: Option<String>,
    config_module: Option<String>,
    /// The object's `config` when it is a string (a function's name).
    config_string: Option<String>,
    /// A `__lambda__` function object below that no Lambda layer has reported yet.
    pending_lambda: bool,
}

/// Walks a value, collecting findings (code, message, evidence) and embedded payloads that
/// the loader deserializes (layer name, bytes).
struct Walk<'a> {
    found: &'a mut Vec<(Code, String, Evidence)>,
    blobs: &'a mut Vec<(String, Vec<u8>)>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Node;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::default())
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::default())
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node {
            string: Some(v.to_string()),
            ..Node::default()
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut pending = false;
        while let Some(n) = a.next_element_seed(Walk {
            found: &mut *self.found,
            blobs: &mut *self.blobs,
        })? {
            pending |= n.pending_lambda;
        }
        Ok(Node {
            pending_lambda: pending,
            ..Node::default()
        })
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut a: A) -> Result<Node, A::Error> {
        let mut node = Node::default();
        let mut module: Option<String> = None;
        let mut registered: Option<String> = None;
        while let Some(k) = a.next_key::<String>()? {
            let child = a.next_value_seed(Walk {
                found: &mut *self.found,
                blobs: &mut *self.blobs,
            })?;
            node.pending_lambda |= child.pending_lambda;
            if let Some(v) = child.string.as_deref() {
                let path_key = PATH_KEYS.contains(&k.as_str()) && !v.is_empty();
                if path_key || is_url(v) {
                    self.push(
                        Code::KerasExternalReference,
                        format!("config key '{k}' makes the loader read '{v}'"),
                        ev! {"key" => k, "value" => v},
                    );
                }
            }
            match k.as_str() {
                "class_name" => node.class_name = child.string,
                "module" => module = child.string,
                "registered_name" => registered = child.string,
                "name" => node.name = child.string,
                "function_type" => node.function_type = child.string,
                "config" => {
                    node.has_config = true;
                    node.config_string = child.string.clone();
                    node.config_name = child.name;
                    node.config_function_type = child.function_type;
                    node.config_module = child.module;
                }
                _ => {}
            }
        }
        node.module = module.clone();
        let name = node.config_name.clone().unwrap_or_default();
        match node.class_name.as_deref() {
            Some("TorchModuleWrapper") => {
                // from_config: torch.load(BytesIO(b64decode(config["module"])), weights_only=False)
                if let Some(b64) = node.config_module.as_deref() {
                    self.push(
                        Code::KerasTorchModule,
                        format!("TorchModuleWrapper layer '{name}' carries a torch.save'd module that Keras loads with torch.load(weights_only=False); it was analysed as '<torch module of {name}>'"),
                        ev! {"layer" => name, "class_name" => "TorchModuleWrapper", "base64_chars" => b64.len()},
                    );
                    if self.blobs.len() < MAX_REPORTS {
                        self.blobs.push((name.clone(), b64decode_lenient(b64)));
                    }
                }
            }
            Some("Lambda") => {
                // The layer's own function object is the same finding.
                node.pending_lambda = false;
                let kind = node
                    .config_function_type
                    .clone()
                    .unwrap_or_else(|| "lambda".into());
                self.push(
                    Code::KerasLambdaLayer,
                    format!("Lambda layer '{name}' carries a Python function ({kind}) that runs when the model is loaded"),
                    ev! {"layer" => name, "class_name" => "Lambda"},
                );
            }
            Some("__lambda__") => node.pending_lambda = true,
            _ => {}
        }
        if let (Some(module), Some(class)) = (module, node.class_name.as_deref()) {
            // A function is written as class_name "function", its name in config.
            let function = class == "function";
            let name = if function {
                node.config_string.as_deref().unwrap_or_default()
            } else {
                class
            };
            let own_code = matches!(class, "Lambda" | "TorchModuleWrapper" | "__lambda__");
            if !keras_module(&module) {
                self.push(
                    Code::KerasCustomObject,
                    format!("loading imports {module}.{name}"),
                    ev! {"module" => module, "class_name" => class, "name" => name, "registered_name" => registered},
                );
            } else if !own_code && !listed(function, &module, name) {
                let what = if function { "function" } else { "class" };
                self.push(
                    Code::KerasUnlistedObject,
                    format!("the config names the {what} {module}.{name}, which is not a Keras component; Keras resolves it on load"),
                    ev! {"module" => module, "class_name" => class, "name" => name, "registered_name" => registered},
                );
            }
        }
        Ok(node)
    }
}

impl Walk<'_> {
    fn push(&mut self, code: Code, message: String, evidence: Evidence) {
        if self.found.len() < MAX_REPORTS {
            self.found.push((code, message, evidence));
        }
    }
}

/// What a JSON document turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doc {
    /// Not JSON that could be walked (a syntax error, or nested deeper than the walker goes).
    NotJson,
    /// JSON, but not a Keras config.
    NotConfig,
    Config,
}

/// Walk one JSON document; true when it is a Keras config (an object with a string
/// `class_name` and a `config`): its findings, reported at `offset`.
fn check(json: &[u8], cx: &mut Cx<'_>, offset: Option<u64>) -> bool {
    check_doc(json, cx, offset, false) == Doc::Config
}

/// Walk one JSON document (text as Python decoded it: generalized UTF-8, see [`pyjson`]) and
/// report its findings when it is a Keras config, or whatever it is when `always` (a training
/// config, whose objects Keras deserializes too). Read with Python's grammar: a document Python
/// refuses, or one nested deeper than [`pyjson::MAX_DEPTH`], is `NotJson`.
pub fn check_doc(json: &[u8], cx: &mut Cx<'_>, offset: Option<u64>, always: bool) -> Doc {
    let walked = pyjson::with_stack(|| {
        let mut found = Vec::new();
        let mut blobs = Vec::new();
        let mut de = pyjson::Deserializer::new(json);
        let root = (Walk {
            found: &mut found,
            blobs: &mut blobs,
        })
        .deserialize(&mut de)
        .ok()?;
        de.end().ok()?;
        Some((root, found, blobs))
    });
    let Some(Some((root, mut found, blobs))) = walked else {
        return Doc::NotJson;
    };
    let config = root.class_name.is_some() && root.has_config;
    if !config && !always {
        return Doc::NotConfig;
    }
    if root.pending_lambda {
        found.push((
            Code::KerasLambdaLayer,
            "Lambda layer '' carries a Python function (lambda) that runs when the model is loaded"
                .into(),
            ev! {"layer" => "", "class_name" => "__lambda__"},
        ));
    }
    for (code, message, evidence) in found {
        cx.report(code, offset, message, evidence);
    }
    for (name, bytes) in blobs {
        cx.nest(format!("<torch module of {name}>"), |cx| {
            let mut c = std::io::Cursor::new(&bytes[..]);
            match Input::seekable(&mut c, bytes.len() as u64) {
                Ok(mut inp) => {
                    super::inspect(&mut inp, cx, None);
                }
                Err(e) => cx.io_error(Code::ReadError, "reading embedded torch module", &e),
            }
        });
    }
    if config {
        Doc::Config
    } else {
        Doc::NotConfig
    }
}

/// A legacy Keras `.h5` (or any HDF5 file), read by structure: every string attribute that is
/// a JSON object is walked as a Keras config (`model_config` and `training_config` on the root
/// always, as `load_model` reads them), and links to other files are reported. Parts the walker
/// cannot read are reported, and then the file is also searched for config text.
pub fn inspect_h5(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    let format = Format::Hdf5;
    let len = input.len;
    let walked = match (input.source(), len) {
        (Some(src), Some(len)) => hdf5::walk(src, len),
        _ => {
            let limit = cx.limits.max_materialize.saturating_sub(cx.materialized);
            match input.materialize(limit) {
                Ok(Some(bytes)) => {
                    let n = bytes.len() as u64;
                    let mut c = std::io::Cursor::new(bytes);
                    hdf5::walk(&mut c, n)
                }
                Ok(None) => {
                    cx.report(
                        Code::LimitExceeded,
                        None,
                        format!("an HDF5 stream larger than {} MiB cannot be read by structure; its attributes were not inspected", limit >> 20),
                        ev! {"limit" => "max_materialize", "value" => cx.limits.max_materialize},
                    );
                    return format.into();
                }
                Err(e) => {
                    cx.io_error(Code::ReadError, "reading hdf5", &e);
                    return format.into();
                }
            }
        }
    };
    let mut found_config = false;
    let mut unreadable = false;
    let mut config_attr = false;
    match walked {
        Err(e) => {
            unreadable = true;
            cx.report(
                Code::Hdf5Malformed,
                None,
                format!("the HDF5 structure could not be read: {e}"),
                ev! {},
            );
        }
        Ok(w) => {
            // What PyTables (pandas.read_hdf) would unpickle: attribute values and object rows.
            hdf5::analyse_pickles(&w, cx);
            for link in &w.links {
                if link.kind != "soft" {
                    cx.report(
                        Code::Hdf5ExternalLink,
                        None,
                        format!(
                            "'{}' is an {} link to '{}': h5py opens it when the group is read",
                            link.path, link.kind, link.target
                        ),
                        ev! {"link" => link.path, "kind" => link.kind, "target" => link.target},
                    );
                }
            }
            for attr in &w.attrs {
                let model = attr.object == "/" && attr.name == "model_config";
                let training = attr.object == "/" && attr.name == "training_config";
                config_attr |= model;
                for v in &attr.values {
                    if !(model || training || starts_object(v)) {
                        continue;
                    }
                    let at = format!("attribute '{}' of '{}'", attr.name, attr.object);
                    // Keras decodes the attribute as UTF-8 text (h5py, or .decode("utf-8"))
                    // before json.loads; other readers hand json.loads the bytes. Every view
                    // that decodes is walked.
                    let mut doc = Doc::NotJson;
                    let mut seen: Vec<Vec<u8>> = Vec::new();
                    for (_, text) in pyjson::views(v) {
                        let Ok(text) = text else { continue };
                        if seen.contains(&text.bytes) {
                            continue;
                        }
                        let d = check_doc(&text.bytes, cx, None, training);
                        seen.push(text.bytes);
                        doc = match (doc, d) {
                            (Doc::Config, _) | (_, Doc::Config) => Doc::Config,
                            (Doc::NotConfig, _) | (_, Doc::NotConfig) => Doc::NotConfig,
                            _ => Doc::NotJson,
                        };
                    }
                    match doc {
                        Doc::Config => found_config = true,
                        Doc::NotJson if model || training => cx.report(
                            Code::KerasConfigMalformed,
                            None,
                            format!("{at} is not JSON that Keras's json.loads would read the same way; it was not inspected"),
                            ev! {"object" => attr.object, "attribute" => attr.name, "bytes" => v.len()},
                        ),
                        _ => {}
                    }
                }
            }
            if !w.problems.is_empty() {
                unreadable = true;
                let n = w.problems.len();
                let shown: Vec<&String> = w.problems.iter().take(5).collect();
                cx.report(
                    Code::Hdf5Malformed,
                    None,
                    format!(
                        "{n} part(s) of the HDF5 structure could not be read: {}",
                        shown
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    ev! {"problems" => w.problems.iter().take(20).collect::<Vec<_>>(), "count" => n},
                );
            }
        }
    }
    if unreadable && !found_config && input.is_seekable() {
        // Attributes are never compressed: a config held where the walker could not go is
        // still contiguous text.
        match scan_embedded_json(input, cx) {
            Ok(f) => found_config |= f,
            Err(e) => cx.io_error(Code::ReadError, "reading hdf5", &e),
        }
    }
    if found_config {
        return Identified {
            format,
            label: "keras-h5",
        };
    }
    if !unreadable && !config_attr {
        cx.report(
            Code::NotInspected,
            None,
            "hdf5 file without a Keras model config: its numeric datasets are data and were not inspected (attributes and object rows PyTables unpickles were)",
            ev! {"format" => format.label()},
        );
    }
    format.into()
}

/// `base64.b64decode(s)` as Python does by default: characters outside the alphabet are
/// discarded, and decoding stops at the padding.
// Each arm's subtraction stays within its range; `bits` stays below 14.
#[allow(clippy::arithmetic_side_effects)]
fn b64decode_lenient(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Whether `head` starts, after JSON whitespace, with `{` in the encoding `json.loads(bytes)`
/// detects: the cheap test before a file is read whole as JSON.
pub fn starts_object(head: &[u8]) -> bool {
    let (body, width, big) = match pyjson::detect_encoding(head) {
        "utf-32" => (head.get(4..), 4, head.first() == Some(&0)),
        "utf-16" => (head.get(2..), 2, head.first() == Some(&0xfe)),
        "utf-32-be" => (Some(head), 4, true),
        "utf-32-le" => (Some(head), 4, false),
        "utf-16-be" => (Some(head), 2, true),
        "utf-16-le" => (Some(head), 2, false),
        "utf-8-sig" => (head.get(3..), 1, false),
        _ => (Some(head), 1, false),
    };
    body.unwrap_or_default()
        .chunks_exact(width)
        .map(|unit| {
            // Units of 1, 2 or 4 bytes: fold them in reading order.
            let fold = |acc: u32, b: &u8| acc.wrapping_shl(8) | u32::from(*b);
            if big {
                unit.iter().fold(0, fold)
            } else {
                unit.iter().rev().fold(0, fold)
            }
        })
        .find(|u| !matches!(u, 0x20 | 0x09 | 0x0a | 0x0d))
        // A head of nothing but whitespace may still open an object further on.
        .is_none_or(|u| u == u32::from(b'{'))
}

/// Find Keras configs stored as JSON text inside a binary container (HDF5 attributes are never
/// compressed, so the text is contiguous). Returns whether one was found.
pub fn scan_embedded_json(input: &mut Input<'_>, cx: &mut Cx<'_>) -> std::io::Result<bool> {
    const NEEDLE: &[u8] = b"{\"class_name\"";
    const CHUNK: usize = 8 << 20;
    // Small files need no 8 MiB buffer.
    let chunk = input.len.map_or(CHUNK, |l| {
        usize::try_from(l).unwrap_or(CHUNK).clamp(4096, CHUNK)
    });
    let mut r = input.reader()?;
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0u64;
    let mut found = false;
    // Validation of a candidate reads at most to the end of the window; bound the sum.
    let mut budget: u64 = cx.limits.max_config_parse;
    loop {
        let start = buf.len();
        buf.resize(start.saturating_add(chunk), 0);
        let n = r.read(buf.get_mut(start..).unwrap_or_default())?;
        buf.truncate(start.saturating_add(n));
        let mut pos = 0;
        while let Some(i) = buf
            .get(pos..)
            .and_then(|b| b.windows(NEEDLE.len()).position(|w| w == NEEDLE))
        {
            let at = pos.saturating_add(i);
            let tail = buf.get(at..).unwrap_or_default();
            let parsed = pyjson::value_extent(tail);
            // A document that parsed cost its length; a failed one is charged the window.
            let cost = match &parsed {
                Ok(n) => *n,
                _ => tail.len(),
            } as u64;
            if budget < cost {
                cx.report(
                    Code::LimitExceeded,
                    Some(base.saturating_add(at as u64)),
                    "too many Keras config candidates to parse; the rest of the file was not searched",
                    ev! {"limit" => "max_config_parse", "value" => cx.limits.max_config_parse},
                );
                return Ok(found);
            }
            budget = budget.saturating_sub(cost);
            match parsed {
                Ok(end) => {
                    let raw = tail.get(..end).unwrap_or_default();
                    let text = pyjson::decode_bytes(raw)
                        .map(|t| t.bytes)
                        .unwrap_or_default();
                    if check(&text, cx, Some(base.saturating_add(at as u64))) {
                        found = true;
                        pos = at.saturating_add(end.max(1));
                    } else {
                        pos = at.saturating_add(1);
                    }
                }
                Err((_, ended)) if ended && n > 0 && tail.len() < MAX_CONFIG => {
                    // The document continues in the next chunk: keep it and read on.
                    break;
                }
                _ => pos = at.saturating_add(1),
            }
        }
        if n == 0 {
            return Ok(found);
        }
        // Keep the unparsed tail (a config may straddle chunks), bounded.
        let keep_from = match buf
            .get(pos..)
            .and_then(|b| b.windows(NEEDLE.len()).position(|w| w == NEEDLE))
        {
            Some(i) => pos.saturating_add(i),
            None => buf.len().saturating_sub(NEEDLE.len()),
        };
        let keep_from = keep_from.max(buf.len().saturating_sub(MAX_CONFIG));
        base = base.saturating_add(keep_from as u64);
        buf.drain(..keep_from);
    }
}
