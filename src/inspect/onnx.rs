//! ONNX models: a bounded protobuf wire reader over `ModelProto` that skips weights and looks
//! at what onnxruntime acts on when it loads a model: tensors' external data (a file path the
//! runtime opens) and operator-set domains (custom ops; `ai.onnx.contrib` runs Python through
//! onnxruntime-extensions). Graphs nested in node attributes (If, Loop, Scan) and model-local
//! functions are walked too.

use super::protobuf::{message, Wire, R};
use super::{Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::Format;
use crate::input::Input;
use std::io::BufReader;

/// The message kinds walked.
#[derive(Clone, Copy, PartialEq)]
enum Msg {
    Model,
    Graph,
    Node,
    Attribute,
    Tensor,
    SparseTensor,
    Entry,
    OpsetId,
    Function,
}

/// (field number, kind) pairs followed inside each message kind.
fn child(of: Msg, field: u64) -> Option<Msg> {
    use Msg::*;
    Some(match (of, field) {
        (Model, 7) => Graph,
        (Model, 8) => OpsetId,
        (Model, 25) => Function,
        (Graph, 1) => Node,
        (Graph, 5) => Tensor,
        (Graph, 15) => SparseTensor,
        (Node, 5) => Attribute,
        (Attribute, 5) => Tensor,
        (Attribute, 6) => Graph,
        (Attribute, 10) => Tensor,
        (Attribute, 11) => Graph,
        (Attribute, 22) => SparseTensor,
        (Tensor, 13) => Entry,
        (SparseTensor, 1) | (SparseTensor, 2) => Tensor,
        (Function, 4) => Node,
        (Function, 7) => OpsetId,
        _ => return None,
    })
}

#[derive(Default)]
struct Seen {
    locations: Vec<String>,
    domains: Vec<String>,
}

fn walk(w: &mut Wire<'_>, kind: Msg, end: Option<u64>, depth: u32, seen: &mut Seen) -> R<()> {
    let mut key: Option<String> = None;
    let mut value: Option<String> = None;
    message(w, end, depth, |w, field, n, stop| {
        if let Some(c) = child(kind, field) {
            walk(w, c, Some(stop), depth.saturating_add(1), seen)?;
        } else if kind == Msg::Entry && (field == 1 || field == 2) {
            let s = w.string(n)?;
            if field == 1 {
                key = Some(s);
            } else {
                value = Some(s);
            }
        } else if (kind == Msg::OpsetId && field == 1) || (kind == Msg::Node && field == 7) {
            let d = w.string(n)?;
            if !seen.domains.contains(&d) && seen.domains.len() < 256 {
                seen.domains.push(d);
            }
        } else {
            // Weights (raw_data) and everything else: skipped, never read.
            return Ok(false);
        }
        Ok(true)
    })?;
    if kind == Msg::Entry && key.as_deref() == Some("location") {
        if let Some(v) = value {
            if seen.locations.len() < 1024 {
                seen.locations.push(v);
            }
        }
    }
    Ok(())
}

/// Domains of the ONNX standard and of onnxruntime's own contributed operators.
const STANDARD: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
    "org.pytorch.aten",
];

/// Whether an external-data location leaves the model's folder by its text: absolute, a drive
/// or UNC path, or a `..` component.
fn escapes(loc: &str) -> bool {
    let l = loc.replace('\\', "/");
    l.starts_with('/') || l.as_bytes().get(1) == Some(&b':') || l.split('/').any(|c| c == "..")
}

pub fn inspect(
    input: &mut Input<'_>,
    cx: &mut Cx<'_>,
    dir: Option<&std::path::Path>,
) -> Identified {
    let id = Identified {
        format: Format::Unknown,
        label: "onnx",
    };
    let len = input.len.unwrap_or(0);
    let Some(src) = super::model_source(input, cx, "onnx") else {
        return id;
    };
    if let Err(e) = src.rewind() {
        cx.io_error(Code::ReadError, "reading onnx", &e);
        return id;
    }
    let mut w = Wire::new(BufReader::with_capacity(1 << 16, src), len);
    let mut seen = Seen::default();
    let res = walk(&mut w, Msg::Model, None, 0, &mut seen);
    if let Err(e) = res {
        cx.report(
            Code::OnnxMalformed,
            None,
            format!("the ONNX model cannot be read as onnxruntime reads it: {e}"),
            ev! {},
        );
    }
    for loc in &seen.locations {
        // Resolved against the model's folder: a link out of it is an escape as well.
        let outside = dir.is_some_and(|d| {
            let target = d.join(loc);
            match (target.canonicalize(), d.canonicalize()) {
                (Ok(t), Ok(base)) => !t.starts_with(base),
                _ => false,
            }
        });
        if escapes(loc) || outside {
            cx.report(
                Code::OnnxExternalData,
                None,
                format!("a tensor's external data is '{loc}': onnxruntime reads that file, outside the model's folder, when it loads the model"),
                ev! {"location" => loc},
            );
        }
    }
    for d in &seen.domains {
        if !STANDARD.contains(&d.as_str()) {
            let (severity, message) = if d == "ai.onnx.contrib" {
                (
                    crate::finding::Severity::Error,
                    format!("operators of domain '{d}' (onnxruntime-extensions, whose PyOp runs Python)"),
                )
            } else {
                (
                    Code::OnnxCustomDomain.default_severity(),
                    format!("operators of the custom domain '{d}', served by a library the runtime must load"),
                )
            };
            cx.report_as(
                Code::OnnxCustomDomain,
                severity,
                None,
                message,
                ev! {"domain" => d},
            );
        }
    }
    id
}
