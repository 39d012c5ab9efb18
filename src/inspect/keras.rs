//! Keras models: the config (a `.keras` zip's `config.json`, or the `model_config` attribute of
//! a legacy `.h5` file) is walked for Lambda layers and objects from foreign modules.

use super::Cx;
use crate::ev;
use crate::finding::Code;
use crate::input::Input;
use serde_json::Value;
use std::io::Read;

/// Largest config parsed (a config is kilobytes; a huge one is not a config).
const MAX_CONFIG: usize = 64 << 20;

fn keras_module(m: &str) -> bool {
    ["keras", "tensorflow", "tf_keras", "builtins"]
        .iter()
        .any(|k| m == *k || m.strip_prefix(k).is_some_and(|r| r.starts_with('.')))
}

/// Whether a JSON value looks like a Keras config (an object with class_name and config).
pub fn is_keras_config(v: &Value) -> bool {
    v.get("class_name").is_some_and(Value::is_string) && v.get("config").is_some()
}

/// Walk a config and report what runs or imports code. Returns how many layers were seen.
pub fn check_config(v: &Value, cx: &mut Cx<'_>, offset: Option<u64>) -> usize {
    let mut layers = 0usize;
    // (value, inside a reported Lambda layer: its `__lambda__` function is the same finding)
    let mut stack = vec![(v, false)];
    let mut reported = 0usize;
    while let Some((v, in_lambda)) = stack.pop() {
        match v {
            Value::Object(m) => {
                let class = m.get("class_name").and_then(Value::as_str);
                if class.is_some() {
                    layers = layers.saturating_add(1);
                }
                let name = m
                    .get("config")
                    .and_then(|c| c.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let lambda = match class {
                    Some("Lambda") => true,
                    Some("__lambda__") => !in_lambda,
                    _ => false,
                };
                if lambda && reported < 100 {
                    reported = reported.saturating_add(1);
                    let kind = m
                        .get("config")
                        .and_then(|c| c.get("function_type"))
                        .and_then(Value::as_str)
                        .unwrap_or("lambda");
                    cx.report(
                        Code::KerasLambdaLayer,
                        offset,
                        format!("Lambda layer '{name}' carries a Python function ({kind}) that runs when the model is loaded"),
                        ev! {"layer" => name, "class_name" => class},
                    );
                }
                if let (Some(module), Some(class)) =
                    (m.get("module").and_then(Value::as_str), class)
                {
                    if !keras_module(module) && reported < 100 {
                        reported = reported.saturating_add(1);
                        cx.report(
                            Code::KerasCustomObject,
                            offset,
                            format!("loading imports {module}.{class}"),
                            ev! {"module" => module, "class_name" => class, "registered_name" => m.get("registered_name")},
                        );
                    }
                }
                stack.extend(m.values().map(|c| (c, in_lambda || lambda)));
            }
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, in_lambda))),
            _ => {}
        }
    }
    layers
}

/// A JSON document that may be a Keras config (inspected as text content).
pub fn inspect_json(bytes: &[u8], cx: &mut Cx<'_>) -> bool {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) if is_keras_config(&v) => {
            check_config(&v, cx, None);
            true
        }
        _ => false,
    }
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
            let mut it = serde_json::Deserializer::from_slice(tail).into_iter::<Value>();
            match it.next() {
                Some(Ok(v)) if is_keras_config(&v) => {
                    check_config(&v, cx, Some(base.saturating_add(at as u64)));
                    found = true;
                    pos = at.saturating_add(it.byte_offset().max(1));
                }
                Some(Err(e)) if e.is_eof() && n > 0 && tail.len() < MAX_CONFIG => {
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
