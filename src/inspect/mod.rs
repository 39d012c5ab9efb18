//! Inspectors: one per format, dispatched by an exhaustive match over [`Format`].
//!
//! An inspector reads an [`Input`], pushes findings into the [`Cx`] as it goes (so partial
//! results survive a later parse error), and may recurse into members through [`inspect`].
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used
)]

pub mod compress;
pub mod configrefs;
pub mod executorch;
pub mod gguf;
pub mod hdf5;
pub mod jinja;
pub mod keras;
pub mod numpy;
pub mod onnx;
pub mod pbtxt;
pub mod pickle;
pub mod protobuf;
pub mod pyjson;
pub mod pyliteral;
pub mod safetensors;
pub mod tar;
pub mod tensorflow;
pub mod tflite;
pub mod yamlcfg;
pub mod zip;

use crate::finding::{Code, Finding};
use crate::identify::{expected_formats, identify, inner_suffix_formats, Format};
use crate::input::Input;
use std::collections::BTreeMap;
use std::io::Read;

pub use pickle::PickleLimits;

pub type Evidence = BTreeMap<String, serde_json::Value>;

/// Build an [`Evidence`] map: `ev!{"module" => m, "count" => 3}`.
#[macro_export]
macro_rules! ev {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = $crate::inspect::Evidence::new();
        $( m.insert($k.to_string(), serde_json::json!($v)); )*
        m
    }};
}

/// Safety limits for one top-level file.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Archive / compression / nested-pickle nesting.
    pub max_depth: u32,
    /// Archive members, summed over all archives in one file.
    pub max_entries: u64,
    /// Bytes produced by decompression, summed over one file.
    pub max_decompressed: u64,
    /// Bytes held in memory at once for random access (zips inside compressed streams), per file.
    pub max_materialize: u64,
    /// Zip members up to this size are read whole (CRC checked); larger ones are sniffed.
    pub small_member: u64,
    pub max_safetensors_header: u64,
    /// Bytes of JSON validation spent looking for Keras configs inside one binary file.
    pub max_config_parse: u64,
    /// Largest zip central directory read into memory.
    pub max_central_directory: u64,
    /// Seconds of decompression and reading one top-level file may take.
    pub max_seconds_per_file: u64,
    pub pickle: PickleLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 16,
            max_entries: 200_000,
            max_decompressed: 16 << 30,
            max_materialize: 256 << 20,
            small_member: 1 << 20,
            max_safetensors_header: 100 << 20,
            max_central_directory: 128 << 20,
            max_config_parse: 1 << 30,
            max_seconds_per_file: 300,
            pickle: PickleLimits::default(),
        }
    }
}

/// Findings of one code listed per file; the rest are counted in one more finding.
pub const MAX_PER_CODE: u32 = 64;

/// Longest text (a message, a member name, an evidence string) kept from a finding, in bytes.
const MAX_TEXT: usize = 2048;

/// `s` cut to [`MAX_TEXT`] bytes on a character boundary, marked when cut.
fn bounded(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_string();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    format!(
        "{}... ({} bytes in all)",
        s.get(..end).unwrap_or_default(),
        s.len()
    )
}

/// Every string in an evidence value bounded, and long arrays cut.
fn bound_value(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if s.len() > MAX_TEXT => *s = bounded(s),
        serde_json::Value::Array(a) => {
            a.truncate(64);
            a.iter_mut().for_each(bound_value);
        }
        serde_json::Value::Object(o) => o.values_mut().for_each(bound_value),
        _ => {}
    }
}

/// The context of one top-level file's inspection.
pub struct Cx<'a> {
    pub limits: &'a Limits,
    pub path: String,
    pub member: Vec<String>,
    pub depth: u32,
    pub findings: Vec<Finding>,
    pub entries: u64,
    pub decompressed: u64,
    /// Bytes currently held by materialized streams (see `Limits::max_materialize`).
    pub materialized: u64,
    /// Inside a TorchScript archive (its `__torch__` globals are TorchScript classes).
    pub torchscript: bool,
    /// The format whose own layout puts a zip after other data (a TFLite model's metadata):
    /// that zip is not reported as a polyglot.
    pub expected_zip_prefix: Option<&'static str>,
    /// Findings reported per code, and where each capped code's summary finding is.
    per_code: std::collections::HashMap<Code, u32>,
    summary_of: std::collections::HashMap<Code, usize>,
}

impl<'a> Cx<'a> {
    pub fn new(limits: &'a Limits, path: String) -> Self {
        Cx {
            limits,
            path,
            member: Vec::new(),
            depth: 0,
            findings: Vec::new(),
            entries: 0,
            decompressed: 0,
            materialized: 0,
            torchscript: false,
            expected_zip_prefix: None,
            per_code: std::collections::HashMap::new(),
            summary_of: std::collections::HashMap::new(),
        }
    }

    pub fn report(
        &mut self,
        code: Code,
        offset: Option<u64>,
        message: impl Into<String>,
        evidence: Evidence,
    ) {
        self.report_as(code, code.default_severity(), offset, message, evidence);
    }

    /// [`Cx::report`] with a severity other than the code's default (an oddity the loader
    /// resolves leniently, a domain known to run code). Setting it on the last finding after
    /// the fact would hit another finding once this code's findings are capped.
    pub fn report_as(
        &mut self,
        code: Code,
        severity: crate::finding::Severity,
        offset: Option<u64>,
        message: impl Into<String>,
        mut evidence: Evidence,
    ) {
        // One hostile file must not flood the report: past MAX_PER_CODE findings of one code,
        // the rest are counted in a last finding of that code, not listed.
        let n = self.per_code.entry(code).or_insert(0);
        *n = n.saturating_add(1);
        if *n > MAX_PER_CODE {
            let extra = n.saturating_sub(MAX_PER_CODE);
            if let Some(i) = self.summary_of.get(&code).copied() {
                if let Some(f) = self.findings.get_mut(i) {
                    // As severe as the worst of the findings it counts.
                    f.severity = f.severity.max(severity);
                    f.message = format!(
                        "{extra} more finding(s) of this code in this file were counted, not listed"
                    );
                    f.evidence
                        .insert("not_listed".into(), serde_json::json!(extra));
                }
            } else {
                self.summary_of.insert(code, self.findings.len());
                self.findings.push(Finding {
                    code,
                    severity,
                    path: self.path.clone(),
                    member: Vec::new(),
                    offset: None,
                    message: "1 more finding of this code in this file was counted, not listed"
                        .into(),
                    evidence: ev! {"not_listed" => 1, "limit" => MAX_PER_CODE},
                });
            }
            return;
        }
        // Names and values from the file are shown bounded.
        for v in evidence.values_mut() {
            bound_value(v);
        }
        self.findings.push(Finding {
            code,
            severity,
            path: self.path.clone(),
            member: self.member.iter().map(|m| bounded(m)).collect(),
            offset,
            message: bounded(&message.into()),
            evidence,
        });
    }

    /// Run `f` inside member `name`, one level deeper. `None` (and a finding) past the depth limit.
    pub fn nest<T>(
        &mut self,
        name: impl Into<String>,
        f: impl FnOnce(&mut Cx<'a>) -> T,
    ) -> Option<T> {
        let name = name.into();
        if self.depth >= self.limits.max_depth {
            self.report(
                Code::LimitExceeded,
                None,
                format!(
                    "'{name}' is nested deeper than {} levels; not inspected",
                    self.limits.max_depth
                ),
                ev! {"limit" => "max_depth", "value" => self.limits.max_depth},
            );
            return None;
        }
        self.member.push(name);
        self.depth = self.depth.saturating_add(1);
        let r = f(self);
        self.depth = self.depth.saturating_sub(1);
        self.member.pop();
        Some(r)
    }

    /// Count one archive member; false (and a finding, once) past the limit.
    pub fn count_entry(&mut self) -> bool {
        self.entries = self.entries.saturating_add(1);
        if self.entries == self.limits.max_entries.saturating_add(1) {
            self.report(
                Code::LimitExceeded,
                None,
                format!(
                    "more than {} archive members; the rest were not inspected",
                    self.limits.max_entries
                ),
                ev! {"limit" => "max_entries", "value" => self.limits.max_entries},
            );
        }
        self.entries <= self.limits.max_entries
    }

    /// Decompressed bytes still allowed in this file.
    pub fn decompress_budget(&self) -> u64 {
        self.limits
            .max_decompressed
            .saturating_sub(self.decompressed)
    }

    pub fn io_error(&mut self, code: Code, what: &str, e: &std::io::Error) {
        if e.kind() == std::io::ErrorKind::TimedOut {
            self.report(
                Code::LimitExceeded,
                None,
                format!("{what}: {e}; the rest of the file was not inspected"),
                ev! {"limit" => "max_seconds_per_file", "value" => self.limits.max_seconds_per_file},
            );
        } else if crate::input::is_limit_error(e) {
            self.report(
                Code::LimitExceeded,
                None,
                format!("{what}: {e}"),
                ev! {"limit" => "max_decompressed", "value" => self.limits.max_decompressed},
            );
        } else {
            self.report(code, None, format!("{what}: {e}"), ev! {});
        }
    }
}

/// What an inspection found the content to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identified {
    pub format: Format,
    /// A finer label for reports (`torch-zip`, `torchscript`, `npz`, `joblib`, ...).
    pub label: &'static str,
}

impl From<Format> for Identified {
    fn from(format: Format) -> Self {
        Identified {
            format,
            label: format.label(),
        }
    }
}

/// Identify `input` by content and run its inspector. `name` (the file or member name) is only
/// compared with the content, never used to decide.
pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>, name: Option<&str>) -> Identified {
    // A file that loaders read by its name as a config or as code is read by several checks
    // (what its bytes are, and what its name says): a stream (a member of a compressed
    // archive) is held in memory first, within the buffer budget, so that each can read it.
    if !input.is_seekable() && name.is_some_and(|n| read_by_name(n, &input.head)) {
        let room = cx
            .limits
            .max_materialize
            .saturating_sub(cx.materialized)
            .min(MAX_NAMED_CONFIG);
        let buf = match input.materialize(room) {
            Ok(Some(buf)) => buf,
            Ok(None) => {
                cx.report(
                    Code::LimitExceeded,
                    None,
                    format!("a file that loaders read by its name as a config or as code, larger than the {room} bytes this check holds in memory, was not inspected"),
                    ev! {"limit" => "max_materialize", "value" => room},
                );
                return Format::Unknown.into();
            }
            Err(e) => {
                cx.io_error(Code::ReadError, "reading", &e);
                return Format::Unknown.into();
            }
        };
        {
            let len = buf.len() as u64;
            cx.materialized = cx.materialized.saturating_add(len);
            let mut c = std::io::Cursor::new(buf);
            let found = match Input::seekable(&mut c, len) {
                Ok(mut held) => inspect(&mut held, cx, name),
                Err(e) => {
                    cx.io_error(Code::ReadError, "reading", &e);
                    Format::Unknown.into()
                }
            };
            cx.materialized = cx.materialized.saturating_sub(len);
            return found;
        }
    }
    let format = identify(&input.head, input.len);
    let found: Identified = match format {
        Format::Pickle => pickle::inspect(input, cx, pickle::Kind::Plain),
        Format::TorchLegacy => pickle::inspect(input, cx, pickle::Kind::TorchLegacy),
        Format::Unknown => {
            let id = pickle::inspect(input, cx, pickle::Kind::Sniff);
            let onnx_named = name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".onnx"));
            let tf_graph = name
                .filter(|n| {
                    let n = n.to_ascii_lowercase();
                    n.ends_with(".pb") || n.ends_with(".meta")
                })
                .map(|n| tensorflow::kind_of(n, &input.head));
            let unread = if id.format == Format::Unknown && !onnx_named && tf_graph.is_none() {
                crate::identify::uninspected(&input.head, name)
            } else {
                None
            };
            if id.format == Format::Unknown && onnx_named {
                // External data resolves against the model file's own folder (on disk only).
                let dir = (cx.member.is_empty())
                    .then(|| {
                        std::path::Path::new(&cx.path)
                            .parent()
                            .map(|p| p.to_path_buf())
                    })
                    .flatten();
                onnx::inspect(input, cx, dir.as_deref())
            } else if let (Format::Unknown, Some(kind)) = (id.format, tf_graph) {
                tensorflow::inspect(input, cx, kind)
            } else if id.format == Format::Unknown
                && name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".pbtxt"))
            {
                tensorflow::inspect_text(input, cx)
            } else if id.format == Format::Unknown && input.head.get(4..8) == Some(b"TFL3") {
                tflite::inspect(input, cx)
            } else if id.format == Format::Unknown
                && input.head.get(4..6) == Some(b"ET")
                && input
                    .head
                    .get(6..8)
                    .is_some_and(|v| v.iter().all(u8::is_ascii_digit))
            {
                executorch::inspect(input, cx)
            } else if let (Format::Unknown, Some(kind)) = (id.format, native_code(&input.head)) {
                cx.report(
                    Code::NativeCode,
                    None,
                    format!("a native {kind}: whatever loads it (an OpenVINO or ONNX Runtime extension, a custom op library, ctypes) runs its code; it is not inspected"),
                    ev! {"kind" => kind},
                );
                Identified {
                    format,
                    label: "native-code",
                }
            } else if let Some(u) = unread {
                let (label, what) = (u.label, u.what);
                let severity = if u.fails {
                    crate::finding::Severity::Error
                } else {
                    Code::NotInspected.default_severity()
                };
                cx.report_as(
                    Code::NotInspected,
                    severity,
                    None,
                    format!("{label}: {what}"),
                    ev! {"format" => label, "whole_file" => true},
                );
                Identified { format, label }
            } else if id.format == Format::Unknown && keras_json(input, cx, name) {
                Identified {
                    format,
                    label: "keras-config",
                }
            } else {
                id
            }
        }
        Format::Zip => zip::inspect(input, cx),
        Format::Tar => tar::inspect(input, cx),
        Format::Gzip
        | Format::Bzip2
        | Format::Xz
        | Format::Lzma
        | Format::Zstd
        | Format::Zlib
        | Format::Lz4
        | Format::JoblibZfile => compress::inspect(input, cx, format),
        Format::Npy => numpy::inspect(input, cx),
        Format::Safetensors => safetensors::inspect(input, cx),
        Format::LfsPointer => {
            let text = String::from_utf8_lossy(&input.head);
            let oid = text
                .lines()
                .find_map(|l| l.strip_prefix("oid "))
                .unwrap_or("")
                .to_string();
            let size = text
                .lines()
                .find_map(|l| l.strip_prefix("size "))
                .unwrap_or("")
                .to_string();
            cx.report(
                Code::LfsPointer,
                None,
                "Git LFS pointer: the real file was never fetched, so it was not scanned",
                ev! {"oid" => oid, "size" => size},
            );
            format.into()
        }
        Format::Gguf => gguf::inspect(input, cx),
        Format::Hdf5 => keras::inspect_h5(input, cx),
        Format::Empty => format.into(),
    };
    // pickle.load reads a pickle from the first byte of whatever it is given: a tar, a GGUF or
    // a safetensors file can be a pickle as well (a polyglot).
    if !matches!(
        format,
        Format::Pickle | Format::TorchLegacy | Format::Unknown | Format::Empty
    ) {
        pickle::sniff_start(input, cx);
    }
    // The HDF5 library finds its superblock after a user block of any content: a pickle, a zip
    // or a tar can be an HDF5 file as well.
    let user_block = match (input.len, input.source()) {
        (Some(len), Some(src)) => hdf5::find_superblock(src, len).is_some_and(|at| at > 0),
        _ => crate::identify::hdf5_after_user_block(&input.head),
    };
    if format != Format::Hdf5 && user_block {
        cx.nest("<hdf5 after user block>", |cx| keras::inspect_h5(input, cx));
    }
    // A zip can be found from the end of any file: a polyglot.
    if format != Format::Zip {
        zip::inspect_trailing_zip(input, cx);
    }
    if let Some(name) = name {
        // Whatever else the bytes read as (a `.py` can be a valid pickle too), the import
        // system runs a file by its name: names never subtract. TorchScript's code/ members
        // are compiled by TorchScript (reported on their own).
        if let Some(kind) = importable_python(name, input).filter(|_| !cx.torchscript) {
            python_file(name, kind, input, cx);
        }
        // Configs that loaders read by name, whatever else the bytes read as (names never
        // subtract): transformers renders chat_template.jinja (and
        // additional_chat_templates/*.jinja); Hydra and OmegaConf instantiate YAML configs
        // (NeMo's model_config.yaml), MLflow reads MLmodel. Read whole, within a limit that
        // fails closed.
        let base = name.rsplit('/').next().unwrap_or(name);
        let ext = base.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        let jinja = ext.as_deref() == Some("jinja");
        let yaml = matches!(ext.as_deref(), Some("yaml" | "yml")) || base == "MLmodel";
        if configrefs::handles(name, !cx.member.is_empty()) {
            match read_whole(input, MAX_NAMED_CONFIG) {
                Ok(bytes) => configrefs::check(name, &bytes, cx),
                Err(why) => cx.report(
                    Code::LimitExceeded,
                    None,
                    format!("{name}: a config that a loader reads was not inspected: {why}"),
                    ev! {"limit" => "config_bytes", "value" => MAX_NAMED_CONFIG},
                ),
            }
        }
        if jinja || yaml {
            let limit = if jinja { 16 << 20 } else { yamlcfg::MAX_YAML };
            let what = if jinja {
                "chat template"
            } else {
                "YAML config"
            };
            match read_whole(input, limit) {
                Ok(bytes) if jinja => {
                    check_chat_template(name, &String::from_utf8_lossy(&bytes), cx)
                }
                Ok(bytes) => yamlcfg::check_bytes(&bytes, name, cx),
                Err(why) => cx.report(
                    Code::LimitExceeded,
                    None,
                    format!("{name}: a {what} that a loader reads was not inspected: {why}"),
                    ev! {"limit" => "config_bytes", "value" => limit, "format" => what},
                ),
            }
        }
        if let Some(expected) = expected_formats(name) {
            if !expected.contains(&found.format) {
                // A name that promises a binary format the content is not: an error (the
                // loader that name selects would read something else). Conventional names
                // are information: an inner suffix names the content (`checkpoint.pth.tar`
                // holding a torch archive), or the name and the content are both compressed
                // streams (joblib's `compress=` and its old `ZF` files choose the compressor
                // whatever the name says; every loader detects it by its magic).
                let compressed = |f: Format| f.is_compression() || f == Format::JoblibZfile;
                let conventional = inner_suffix_formats(name).contains(&found.format)
                    || compressed(found.format) && expected.iter().any(|f| compressed(*f));
                let severity = if conventional {
                    crate::finding::Severity::Info
                } else if expected.contains(&Format::Unknown) {
                    Code::FormatMismatch.default_severity()
                } else {
                    crate::finding::Severity::Error
                };
                cx.report_as(
                    Code::FormatMismatch,
                    severity,
                    None,
                    format!(
                        "content is {}, but the name '{name}' says otherwise",
                        found.label
                    ),
                    ev! {"content" => found.label, "name" => name},
                );
            }
        }
    }
    found
}

/// Base names of the JSON configs Python loaders read by name and act on: Hugging Face
/// `config.json` and `*_config.json` (tokenizer, processor, preprocessor, feature extractor,
/// generation, adapter), TorchServe's `MANIFEST.json`, a `.keras` archive's `config.json`, and
/// the processor's `chat_template.json`.
fn loader_json(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base == "config.json"
        || base.ends_with("_config.json")
        || base == "MANIFEST.json"
        || base == "chat_template.json"
}

/// Top-level keys whose values loaders act on.
const HF_KEYS: &[&str] = &[
    "auto_map",
    "custom_pipelines",
    "chat_template",
    "model",
    "auto_mapping",
];

/// A JSON document that is a Keras model config (e.g. `config.json` in a `.keras` archive), a
/// Hugging Face config (auto_map, custom_pipelines, chat templates) or a TorchServe manifest.
/// Read as Python reads it ([`pyjson`]), in every view a loader has of it: `json.loads(bytes)`
/// and `json.loads(open(path, encoding="utf-8").read())`. A loader's config that no view reads,
/// or that is nested deeper than this reader goes, is an error; views that disagree are reported.
fn keras_json(input: &mut Input<'_>, cx: &mut Cx<'_>, name: Option<&str>) -> bool {
    const MAX_JSON: u64 = 64 << 20;
    let named = name.is_some_and(loader_json);
    if !(keras::starts_object(&input.head) || named) {
        return false;
    }
    let label = name.unwrap_or("JSON");
    let bytes = if input.is_seekable() {
        if input.len.is_none_or(|l| l > MAX_JSON) {
            if named {
                cx.report_as(
                    Code::LimitExceeded,
                    crate::finding::Severity::Error,
                    None,
                    format!(
                        "{label}: a JSON config larger than {} MiB was not inspected",
                        MAX_JSON >> 20
                    ),
                    ev! {"limit" => "max_json", "value" => MAX_JSON},
                );
            }
            return false;
        }
        let mut bytes = Vec::new();
        if let Err(e) = input.reader().and_then(|mut r| r.read_to_end(&mut bytes)) {
            cx.io_error(Code::ReadError, "reading json", &e);
            return false;
        }
        bytes
    } else if input.len.is_some() {
        // A stream no longer than its head: the head is all of it.
        input.head.clone()
    } else {
        if named {
            cx.report_as(
                Code::NotInspected,
                crate::finding::Severity::Error,
                None,
                format!("{label}: a JSON config read as a stream (inside a compressed archive) was not inspected"),
                ev! {"format" => "json", "whole_file" => true},
            );
        }
        return false;
    };
    // A `.keras` archive's config.json is read by Keras whatever it holds.
    let keras_config = name.is_some_and(|n| n == "config.json");
    let mut texts: Vec<(pyjson::View, pyjson::Text, pyjson::Oddities)> = Vec::new();
    let mut failed: Vec<(pyjson::View, pyjson::Error)> = Vec::new();
    for (view, text) in pyjson::views(&bytes) {
        match text.and_then(|t| pyjson::validate(&t.bytes).map(|o| (t, o))) {
            Ok((t, o)) => texts.push((view, t, o)),
            Err(e) => failed.push((view, e)),
        }
    }
    drop(bytes);
    let Some((_, _, odd)) = texts.first() else {
        let limit = failed.iter().any(|(_, e)| e.limit);
        let why = failed
            .iter()
            .map(|(v, e)| format!("{}: {e}", v.label()))
            .collect::<Vec<_>>()
            .join("; ");
        if keras_config {
            cx.report(
                Code::KerasConfigMalformed,
                None,
                format!(
                    "config.json is not JSON Python's json reads ({why}); it was not inspected"
                ),
                ev! {"limit" => limit},
            );
        } else if named || limit {
            // Loaders with other JSON readers (serde_json in Rust servers) may still read it.
            cx.report_as(
                Code::ConfigMalformed,
                crate::finding::Severity::Error,
                None,
                format!("{label} is not JSON Python's json reads ({why}); a loader that reads it differently was not checked against"),
                ev! {"format" => "json", "limit" => limit},
            );
        }
        return false;
    };
    if odd.duplicate_count > 0 {
        cx.report(
            Code::ConfigMalformed,
            None,
            format!(
                "{label} repeats keys ({}): Python's json keeps the last value, other readers the first or none",
                odd.duplicates.join(", ")
            ),
            ev! {"format" => "json", "duplicate_keys" => odd.duplicates, "count" => odd.duplicate_count},
        );
    }
    if named && !failed.is_empty() {
        let ok = texts.first().map_or(pyjson::View::Bytes, |(v, _, _)| *v);
        let why = failed
            .iter()
            .map(|(v, e)| format!("{} refuses it ({e})", v.label()))
            .collect::<Vec<_>>()
            .join("; ");
        cx.report(
            Code::ConfigMalformed,
            None,
            format!("{label}: loaders read it differently: {} reads it, {why}; the view that reads was inspected", ok.label()),
            ev! {"format" => "json", "surrogates" => odd.surrogates},
        );
    }
    let mut config = false;
    let mut seen: Vec<Vec<u8>> = Vec::new();
    for (_, text, _) in texts {
        if seen.contains(&text.bytes) {
            continue;
        }
        // The grammar was validated, so this read does not fail; the values recurse per
        // level, so they are read and dropped on a deep stack.
        let manifest = name.is_some_and(|n| n.ends_with("MAR-INF/MANIFEST.json"));
        let read = pyjson::with_stack(|| {
            let entries = pyjson::top_entries(&text.bytes, HF_KEYS).unwrap_or_default();
            let templates: Vec<&pyjson::Value> = entries
                .iter()
                .filter(|(k, _)| k == "chat_template")
                .map(|(_, v)| v)
                .collect();
            for (key, t) in jinja::hf_templates(&templates) {
                check_chat_template(&key, &t, cx);
            }
            hf_remote_code(&entries, cx);
            if manifest {
                torchserve_manifest(&entries, cx);
            }
        });
        if read.is_none() {
            cx.report_as(
                Code::ConfigMalformed,
                crate::finding::Severity::Error,
                None,
                format!("{label}: no thread to read it on; it was not inspected"),
                ev! {"format" => "json"},
            );
        }
        match keras::check_doc(&text.bytes, cx, None, false) {
            keras::Doc::Config => config = true,
            keras::Doc::NotConfig => {}
            keras::Doc::NotJson => {
                // Validated above, so only a limit of the walker's.
                cx.report_as(
                    Code::ConfigMalformed,
                    crate::finding::Severity::Error,
                    None,
                    format!("{label}: the config walker could not read it whole; it was not fully inspected"),
                    ev! {"format" => "json"},
                );
            }
        }
        seen.push(text.bytes);
    }
    config
}

/// The seekable source a model reader needs (`label` names the format); a model that arrives
/// as a stream (inside a compressed stream) is reported as not inspected, and `None` returned.
pub(crate) fn model_source<'i>(
    input: &'i mut Input<'_>,
    cx: &mut Cx<'_>,
    label: &str,
) -> Option<&'i mut dyn crate::input::ReadSeek> {
    let src = input.source();
    if src.is_none() {
        cx.report(
            Code::NotInspected,
            None,
            format!("{label}: a model read as a stream is not inspected"),
            ev! {"format" => label},
        );
    }
    src
}

/// A native executable or shared library: ELF, Mach-O (thin), or PE (an MZ stub whose header
/// offset points at a PE signature).
fn native_code(head: &[u8]) -> Option<&'static str> {
    match head {
        [0x7f, b'E', b'L', b'F', ..] => Some("ELF library or executable"),
        [0xcf, 0xfa, 0xed, 0xfe, ..]
        | [0xce, 0xfa, 0xed, 0xfe, ..]
        | [0xfe, 0xed, 0xfa, 0xcf, ..]
        | [0xfe, 0xed, 0xfa, 0xce, ..] => Some("Mach-O library or executable"),
        [b'M', b'Z', ..] => {
            let at: [u8; 4] = head.get(0x3c..0x40)?.try_into().ok()?;
            let at = usize::try_from(u32::from_le_bytes(at)).ok()?;
            (head.get(at..at.checked_add(4)?)? == b"PE\0\0")
                .then_some("PE (Windows) DLL or executable")
        }
        _ => None,
    }
}

/// Hugging Face configs that map classes to code shipped with the model: `auto_map` (config,
/// tokenizer, processor and feature-extractor configs) and `custom_pipelines`. Every occurrence
/// of a repeated key counts (Python keeps the last; other readers may keep another).
fn hf_remote_code(entries: &[(String, pyjson::Value)], cx: &mut Cx<'_>) {
    for key in ["auto_map", "custom_pipelines"] {
        let mut found = false;
        let mut refs: Vec<String> = Vec::new();
        for (_, v) in entries.iter().filter(|(k, _)| k == key) {
            found = true;
            v.strings(&mut refs, 64);
        }
        if !found {
            continue;
        }
        refs.sort();
        refs.dedup();
        refs.truncate(32);
        cx.report(
            Code::HfRemoteCode,
            None,
            format!(
                "'{key}' maps classes to code shipped with the model ({}): transformers imports it with trust_remote_code=True",
                refs.join(", ")
            ),
            ev! {"key" => key, "references" => refs},
        );
    }
    // PEFT's adapter_config.json: `auto_mapping.parent_library` is imported
    // (`importlib.import_module`) and `base_model_class` taken from it.
    for (_, v) in entries.iter().filter(|(k, _)| k == "auto_mapping") {
        let library = v.get("parent_library").and_then(|l| l.as_str());
        let class = v.get("base_model_class").and_then(|c| c.as_str());
        let Some(library) = library else {
            continue;
        };
        let ours = library == "transformers" || library.starts_with("transformers.");
        if ours && pickle::globals::deny_module(&library).is_none() {
            continue;
        }
        let target = format!("{library}.{}", class.as_deref().unwrap_or("?"));
        let denied = pickle::globals::deny_module(&library);
        cx.report_as(
            Code::ConfigCodeReference,
            if denied.is_some() {
                crate::finding::Severity::Critical
            } else {
                crate::finding::Severity::Error
            },
            None,
            format!(
                "auto_mapping '{target}': PEFT imports the parent library to build the base model"
            ),
            ev! {"key" => "auto_mapping", "target" => target},
        );
    }
}

/// TorchServe's default handlers, which ship with TorchServe rather than with the model.
const TORCHSERVE_HANDLERS: &[&str] = &[
    "image_classifier",
    "image_segmenter",
    "object_detector",
    "text_classifier",
];

/// A TorchServe `.mar` archive's `MAR-INF/MANIFEST.json`: a handler that is not one of
/// TorchServe's own is Python shipped in the archive, imported when the model is served. Every
/// `model` and `handler` of repeated keys is judged.
fn torchserve_manifest(entries: &[(String, pyjson::Value)], cx: &mut Cx<'_>) {
    let handlers = entries
        .iter()
        .filter(|(k, _)| k == "model")
        .flat_map(|(_, m)| m.all("handler"))
        .filter_map(|h| h.as_str().map(|s| s.into_owned()));
    let mut seen = Vec::new();
    for handler in handlers {
        if TORCHSERVE_HANDLERS.contains(&handler.as_str()) || seen.contains(&handler) {
            continue;
        }
        cx.report(
            Code::ConfigCodeReference,
            None,
            format!("TorchServe handler '{handler}': torchserve imports it from the archive and runs it to serve the model"),
            ev! {"key" => "handler", "target" => handler},
        );
        seen.push(handler);
    }
}

/// Largest config or code file held in memory for the checks its name calls for.
const MAX_NAMED_CONFIG: u64 = 64 << 20;

/// Whether loaders read a file of this name as a config or as code (see [`inspect`]): YAML
/// configs, MLmodel, chat templates, the JSON configs loaders act on, Python files, and a
/// text `.pth` (a binary one is a checkpoint).
fn read_by_name(name: &str, head: &[u8]) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    let ext = base
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    base == "MLmodel"
        || configrefs::handles(base, true)
        || base.ends_with("config.json")
        || base == "MANIFEST.json"
        || base == "chat_template.json"
        || matches!(
            ext.as_str(),
            "yaml" | "yml" | "jinja" | "py" | "pyw" | "pyc" | "pyo"
        )
        || ext == "pth" && !head.contains(&0)
}

/// The whole content, up to `limit` bytes; why not, where it is larger or cannot be read
/// (a stream already read by the other format it also is).
fn read_whole(input: &mut Input<'_>, limit: u64) -> Result<Vec<u8>, String> {
    if input.len.is_some_and(|l| l > limit) {
        return Err(format!("it is larger than {limit} bytes"));
    }
    let mut bytes = Vec::new();
    input
        .reader()
        .and_then(|r| r.take(limit.saturating_add(1)).read_to_end(&mut bytes))
        .map_err(|e| format!("it cannot be read ({e})"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("it is larger than {limit} bytes"));
    }
    Ok(bytes)
}

/// The form in which Python's import system (or `site`) runs the file named `name`: source
/// (`.py`, `.pyw`), bytecode (`.pyc`, `.pyo`: a sourceless file is imported as it is), or a
/// `.pth` file holding an `import` line (`site` executes such lines for every `.pth` in a
/// site directory; a `.pth` checkpoint is binary and has none). Extension modules are native
/// libraries, found by their content (`native-code`).
fn importable_python(name: &str, input: &mut Input<'_>) -> Option<&'static str> {
    const PTH: &str = "a .pth file with import lines (run by site at interpreter start)";
    let base = name.rsplit('/').next().unwrap_or(name);
    let ext = base.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    match ext.as_str() {
        "py" | "pyw" => Some("Python source"),
        "pyc" | "pyo" => Some("compiled Python (bytecode)"),
        // A binary .pth (a torch checkpoint) is not text site would read.
        "pth" if !input.head.contains(&0) => {
            // site.addpackage exec()s every line starting with "import " or "import\t".
            let mut text = Vec::new();
            let read = input
                .reader()
                .and_then(|r| r.take(64 << 20).read_to_end(&mut text));
            let imports = String::from_utf8_lossy(&text)
                .lines()
                .any(|l| l.starts_with("import ") || l.starts_with("import\t"));
            // What cannot be read whole is taken as code (fail closed).
            (read.is_err() || imports || input.len.is_none_or(|l| l > 64 << 20)).then_some(PTH)
        }
        _ => None,
    }
}

/// A Python file: reported with its SHA-256, so that a policy can approve exact files.
fn python_file(name: &str, kind: &str, input: &mut Input<'_>, cx: &mut Cx<'_>) {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let hashed = input
        .reader()
        .and_then(|mut r| std::io::copy(&mut r, &mut h));
    match hashed {
        Ok(n) => {
            let sha = crate::digest::hex(&h.finalize());
            cx.report(
                Code::PythonCode,
                None,
                format!("{kind} '{name}' (sha256 {sha}) runs when a loader imports it; it is not analysed"),
                ev! {"sha256" => sha, "bytes" => n, "form" => kind},
            );
        }
        // Already read once from a stream (by the format it also is): still code.
        Err(e) => cx.report(
            Code::PythonCode,
            None,
            format!("{kind} '{name}' runs when a loader imports it; it is not analysed (not hashed: {e})"),
            ev! {"form" => kind},
        ),
    }
}

fn check_chat_template(key: &str, t: &str, cx: &mut Cx<'_>) {
    let hits = jinja::injections(t);
    if !hits.is_empty() {
        cx.report(
            Code::ChatTemplateInjection,
            None,
            format!(
                "chat template '{key}' reaches Python internals ({})",
                hits.join(", ")
            ),
            ev! {"key" => key, "markers" => hits, "template_bytes" => t.len()},
        );
    }
}

/// Inspect an in-memory file named `name` (the fuzz targets' and tests' entry point).
pub fn inspect_bytes(name: &str, data: &[u8], limits: &Limits) -> Vec<Finding> {
    let mut cx = Cx::new(limits, name.to_string());
    let mut c = std::io::Cursor::new(data);
    match Input::seekable(&mut c, data.len() as u64) {
        Ok(mut input) => {
            inspect(&mut input, &mut cx, Some(name));
        }
        Err(e) => cx.io_error(Code::ReadError, "reading", &e),
    }
    cx.findings
}
