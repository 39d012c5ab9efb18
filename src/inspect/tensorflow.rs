//! TensorFlow graphs: a SavedModel's `saved_model.pb` (`SavedModel` → `MetaGraphDef` →
//! `GraphDef`), a frozen `GraphDef` `.pb`, and a Keras SavedModel's `keras_metadata.pb`, read
//! with the bounded protobuf wire reader (no TensorFlow, no schema compiled in).
//!
//! What TensorFlow runs when the graph runs is its ops: every `NodeDef.op` of the graph and of
//! its function library is collected. Ops that call back into the loading process's Python
//! (`PyFunc`, `EagerPyFunc`) are `tf-python-op`; ops that read or write files named by the graph
//! (`ReadFile`, `WriteFile`, readers, datasets, summary writers) are `tf-file-op`. The
//! checkpoint ops every SavedModel's saver uses (`SaveV2`, `RestoreV2`, `MergeV2Checkpoints`)
//! are not reported. `keras_metadata.pb` holds each layer's Keras config as JSON: each goes
//! through the Keras config checks.

use super::protobuf::{message, Wire, R};
use super::{Cx, Identified};
use crate::ev;
use crate::finding::{Code, Severity};
use crate::identify::Format;
use crate::input::Input;
use std::collections::BTreeMap;
use std::io::BufReader;

/// A Keras metadata JSON document kept, at most this long.
const MAX_METADATA: u64 = 64 << 20;
/// Distinct op names kept.
const MAX_OPS: usize = 4096;

/// Which message a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    SavedModel,
    GraphDef,
    /// A TF1 `.meta` file: one `MetaGraphDef` (what `tf.train.import_meta_graph` loads).
    MetaGraph,
    KerasMetadata,
}

#[derive(Clone, Copy, PartialEq)]
enum Msg {
    SavedModel,
    MetaGraph,
    Graph,
    Library,
    Function,
    Node,
    SavedMetadata,
    SavedObject,
}

/// (field number, kind) pairs followed inside each message kind.
fn child(of: Msg, field: u64) -> Option<Msg> {
    use Msg::*;
    Some(match (of, field) {
        (SavedModel, 2) => MetaGraph,
        (MetaGraph, 2) => Graph,
        (Graph, 1) => Node,
        (Graph, 2) => Library,
        (Library, 1) => Function,
        (Function, 3) => Node,
        (SavedMetadata, 1) => SavedObject,
        _ => return None,
    })
}

#[derive(Default)]
struct Seen {
    /// Op name → nodes using it.
    ops: BTreeMap<String, u64>,
    metadata: Vec<String>,
}

fn walk(w: &mut Wire<'_>, kind: Msg, end: Option<u64>, depth: u32, seen: &mut Seen) -> R<()> {
    message(w, end, depth, |w, field, n, stop| {
        if let Some(c) = child(kind, field) {
            walk(w, c, Some(stop), depth.saturating_add(1), seen)?;
        } else if kind == Msg::Node && field == 2 {
            let op = w.string(n)?;
            if seen.ops.len() < MAX_OPS || seen.ops.contains_key(&op) {
                let count = seen.ops.entry(op).or_default();
                *count = count.saturating_add(1);
            }
        } else if kind == Msg::SavedObject && field == 5 {
            let m = w.string_max(n, MAX_METADATA)?;
            if !m.is_empty() {
                seen.metadata.push(m);
            }
        } else {
            return Ok(false);
        }
        Ok(true)
    })
}

/// Ops that call Python functions of the loading process.
pub(crate) const PYTHON_OPS: &[&str] = &["PyFunc", "PyFuncStateless", "EagerPyFunc"];

/// Ops that open files (or write them) at paths the graph supplies.
pub(crate) const FILE_OPS: &[&str] = &[
    "ReadFile",
    "WriteFile",
    "MatchingFiles",
    "Save",
    "SaveSlices",
    "Restore",
    "RestoreSlice",
    "ImmutableConst",
    "CreateSummaryFileWriter",
    "CreateSummaryDbWriter",
    "TFRecordDataset",
    "TFRecordDatasetV2",
    "TextLineDataset",
    "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2",
    "CSVDataset",
    "CSVDatasetV2",
    "ExperimentalCSVDataset",
    "LoadDataset",
    "SaveDataset",
    "SaveDatasetV2",
    "DatasetToTFRecord",
    "ExperimentalDatasetToTFRecord",
    "WholeFileReader",
    "WholeFileReaderV2",
    "TextLineReader",
    "TextLineReaderV2",
    "TFRecordReader",
    "TFRecordReaderV2",
    "FixedLengthRecordReader",
    "FixedLengthRecordReaderV2",
    "LMDBReader",
    "LMDBDataset",
    "DebugIdentity",
    "DebugIdentityV2",
    "DebugIdentityV3",
    "DebugNumericSummary",
    "DebugNumericSummaryV2",
];

/// Which kind a `.pb` holds: `keras_metadata.pb` and `saved_model.pb` by name; otherwise a
/// `SavedModel` starts with its schema version (field 1, a varint) and a `GraphDef` with
/// nodes (field 1, length-delimited).
pub fn kind_of(name: &str, head: &[u8]) -> Kind {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    if base == "keras_metadata.pb" {
        Kind::KerasMetadata
    } else if base.ends_with(".meta") {
        Kind::MetaGraph
    } else if base == "saved_model.pb" || head.first() == Some(&0x08) {
        Kind::SavedModel
    } else {
        Kind::GraphDef
    }
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>, kind: Kind) -> Identified {
    let label = match kind {
        Kind::SavedModel => "tf-saved-model",
        Kind::GraphDef => "tf-graph",
        Kind::MetaGraph => "tf-meta-graph",
        Kind::KerasMetadata => "keras-metadata",
    };
    let id = Identified {
        format: Format::Unknown,
        label,
    };
    let len = input.len.unwrap_or(0);
    let Some(src) = super::model_source(input, cx, label) else {
        return id;
    };
    if let Err(e) = src.rewind() {
        cx.io_error(Code::ReadError, "reading a TensorFlow graph", &e);
        return id;
    }
    let mut w = Wire::new(BufReader::with_capacity(1 << 16, src), len);
    let mut seen = Seen::default();
    let top = match kind {
        Kind::SavedModel => Msg::SavedModel,
        Kind::GraphDef => Msg::Graph,
        Kind::MetaGraph => Msg::MetaGraph,
        Kind::KerasMetadata => Msg::SavedMetadata,
    };
    if let Err(e) = walk(&mut w, top, None, 0, &mut seen) {
        cx.report(
            Code::TfGraphMalformed,
            None,
            format!("the {label} cannot be read as TensorFlow reads it: {e}; its ops were not all checked"),
            ev! {"format" => label},
        );
    }
    report_ops(&seen, cx);
    for m in &seen.metadata {
        if let super::keras::Doc::NotJson = super::keras::check_doc(m.as_bytes(), cx, None, false) {
            cx.report_as(
                Code::KerasConfigMalformed,
                Severity::Error,
                None,
                "a layer's metadata in keras_metadata.pb is not JSON Keras can read",
                ev! {},
            );
        }
    }
    id
}

/// Python and file ops among those seen.
fn report_ops(seen: &Seen, cx: &mut Cx<'_>) {
    for (op, nodes) in &seen.ops {
        let (code, what) = if PYTHON_OPS.contains(&op.as_str()) {
            (
                Code::TfPythonOp,
                "calls a Python function of the process that runs the graph",
            )
        } else if FILE_OPS.contains(&op.as_str()) {
            (
                Code::TfFileOp,
                "reads or writes a file at a path the graph supplies",
            )
        } else {
            continue;
        };
        cx.report(
            code,
            None,
            format!(
                "op {op} ({}) {what}",
                crate::finding::plural(*nodes, "node", "nodes")
            ),
            ev! {"op" => op, "nodes" => nodes},
        );
    }
}

/// A graph in protobuf text format (`saved_model.pbtxt`, `.pbtxt`): every `op` field judged as
/// the binary graphs' ops are (see [`super::pbtxt`]); text that cannot be read as protobuf
/// reads it is `tf-graph-malformed` (error).
pub fn inspect_text(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    use std::io::Read;
    let id = Identified {
        format: Format::Unknown,
        label: "tf-graph-text",
    };
    let mut text = Vec::new();
    let read = input.reader().and_then(|r| {
        r.take(super::pbtxt::MAX_TEXT.saturating_add(1))
            .read_to_end(&mut text)
    });
    let ops = match read {
        Err(e) => Err(format!("it cannot be read ({e})")),
        Ok(n) if n as u64 > super::pbtxt::MAX_TEXT => Err(format!(
            "it is larger than {} bytes",
            super::pbtxt::MAX_TEXT
        )),
        Ok(_) => super::pbtxt::ops(&text, MAX_OPS),
    };
    match ops {
        Ok(ops) => {
            let seen = Seen {
                ops,
                metadata: Vec::new(),
            };
            report_ops(&seen, cx);
        }
        Err(why) => cx.report(
            Code::TfGraphMalformed,
            None,
            format!("the graph in text format cannot be read as TensorFlow reads it: {why}; its ops were not checked"),
            ev! {"format" => "tf-graph-text"},
        ),
    }
    id
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

    fn ld(field: u64, body: &[u8]) -> Vec<u8> {
        let mut o = vec![(field << 3 | 2) as u8];
        let mut n = body.len() as u64;
        while n >= 0x80 {
            o.push((n as u8) | 0x80);
            n >>= 7;
        }
        o.push(n as u8);
        o.extend_from_slice(body);
        o
    }

    fn node(name: &str, op: &str) -> Vec<u8> {
        [ld(1, name.as_bytes()), ld(2, op.as_bytes())].concat()
    }

    /// The findings of a file named for `kind` (the name selects the reading).
    fn findings(bytes: &[u8], kind: Kind) -> Vec<crate::finding::Finding> {
        let name = match kind {
            Kind::SavedModel => "saved_model.pb",
            Kind::GraphDef => "frozen.pb",
            Kind::MetaGraph => "model.ckpt.meta",
            Kind::KerasMetadata => "keras_metadata.pb",
        };
        super::super::inspect_bytes(name, bytes, &Default::default())
    }

    #[test]
    fn ops_in_graphs_and_function_libraries() {
        // GraphDef: a ReadFile node, and a function whose body calls PyFunc.
        let function = ld(3, &node("f", "PyFunc"));
        let graph = [
            ld(1, &node("r", "ReadFile")),
            ld(1, &node("s", "SaveV2")),
            ld(2, &ld(1, &function)),
        ]
        .concat();
        let f = findings(&graph, Kind::GraphDef);
        let codes: Vec<Code> = f.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec![Code::TfPythonOp, Code::TfFileOp], "{f:#?}");
        // The same graph inside a SavedModel (schema version, then a MetaGraphDef).
        // A TF1 meta graph: the MetaGraphDef alone.
        assert_eq!(findings(&ld(2, &graph), Kind::MetaGraph).len(), 2);
        let saved = [vec![0x08, 0x01], ld(2, &ld(2, &graph))].concat();
        assert_eq!(kind_of("x.pb", &saved), Kind::SavedModel);
        assert_eq!(findings(&saved, Kind::SavedModel).len(), 2);
    }

    #[test]
    fn truncated_graphs_are_reported() {
        let graph = ld(1, &node("r", "Identity"));
        let f = findings(&graph[..graph.len() - 2], Kind::GraphDef);
        assert_eq!(f[0].code, Code::TfGraphMalformed);
    }

    #[test]
    fn keras_metadata_configs_are_checked() {
        let json = br#"{"class_name": "Lambda", "config": {"function": "lambda"}}"#;
        let meta = ld(1, &ld(5, json));
        let f = findings(&meta, Kind::KerasMetadata);
        assert!(!f.is_empty(), "{f:#?}");
    }
}
