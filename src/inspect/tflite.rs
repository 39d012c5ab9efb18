//! TFLite / LiteRT models: the flatbuffer's operator codes, read by hand (no schema compiled in)
//! and bounded by the file. A custom operator is resolved by name in the interpreter's op
//! resolver, so the file cannot carry its code: each is listed (`custom-operator`, info). Flex
//! operators (`Flex` + a TensorFlow op name) run TensorFlow ops through the Flex delegate: those
//! that call Python or open files are reported as the TensorFlow graph inspector reports them.

use super::{Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::Format;
use crate::input::{Input, ReadSeek};
use std::io::SeekFrom;

/// Operator codes read, at most.
const MAX_OPS: u32 = 1 << 16;
/// A custom operator's name, at most this long.
const MAX_NAME: u32 = 1024;
/// Vector items and tables visited in one file, at most. Flatbuffer offsets may alias: a few
/// kilobytes can point 65,536 execution plans at one plan of 65,536 operators, billions of
/// visits (a 32 KB program took 190 s before this bound).
pub(super) const MAX_STEPS: u64 = 1 << 18;

pub(super) struct Fb<'a> {
    pub src: &'a mut dyn ReadSeek,
    pub len: u64,
    steps: u64,
    /// Set when a limit, not the file's structure, ended the read.
    limited: bool,
}

impl Fb<'_> {
    /// An error for a limit the file exceeds: reported as `limit-exceeded`, not as an
    /// unreadable file.
    pub(super) fn limit(&mut self, msg: String) -> String {
        self.limited = true;
        msg
    }
    /// Counts one visit against [`MAX_STEPS`].
    pub(super) fn step(&mut self) -> Result<(), String> {
        self.steps = self.steps.saturating_add(1);
        if self.steps > MAX_STEPS {
            return Err(self.limit(format!(
                "more than {MAX_STEPS} vector items visited: offsets that alias"
            )));
        }
        Ok(())
    }
    fn bytes<const N: usize>(&mut self, at: u64) -> Result<[u8; N], String> {
        let end = at.checked_add(N as u64).filter(|e| *e <= self.len);
        if end.is_none() {
            return Err(format!("offset {at} is outside the file"));
        }
        let mut b = [0u8; N];
        self.src
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.src.read_exact(&mut b))
            .map_err(|e| format!("at {at}: {e}"))?;
        Ok(b)
    }
    pub(super) fn u32(&mut self, at: u64) -> Result<u32, String> {
        self.bytes::<4>(at).map(u32::from_le_bytes)
    }
    fn u16(&mut self, at: u64) -> Result<u16, String> {
        self.bytes::<2>(at).map(u16::from_le_bytes)
    }
    /// Where field `i` of the table at `table` is, if present.
    pub(super) fn field(&mut self, table: u64, i: u64) -> Result<Option<u64>, String> {
        let soff = i64::from(i32::from_le_bytes(self.bytes::<4>(table)?));
        let vt = i64::try_from(table)
            .ok()
            .and_then(|t| t.checked_sub(soff))
            .and_then(|v| u64::try_from(v).ok())
            .ok_or("a vtable offset points outside the file")?;
        let vt_len = u64::from(self.u16(vt)?);
        let slot = i
            .checked_mul(2)
            .and_then(|s| s.checked_add(4))
            .unwrap_or(u64::MAX);
        if slot.saturating_add(2) > vt_len {
            return Ok(None);
        }
        let off = u64::from(self.u16(vt.saturating_add(slot))?);
        Ok((off != 0).then(|| table.saturating_add(off)))
    }
    /// The target of the offset stored at `at`.
    pub(super) fn follow(&mut self, at: u64) -> Result<u64, String> {
        Ok(at.saturating_add(u64::from(self.u32(at)?)))
    }
    pub(super) fn string(&mut self, at: u64) -> Result<String, String> {
        let s = self.follow(at)?;
        let n = self.u32(s)?.min(MAX_NAME);
        let start = s.saturating_add(4);
        if start.saturating_add(u64::from(n)) > self.len {
            return Err("a string runs past the end of the file".into());
        }
        let mut b = vec![0u8; n as usize];
        self.src
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.src.read_exact(&mut b))
            .map_err(|e| format!("at {start}: {e}"))?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
}

/// The custom operators' names (`custom_code` of every operator code).
fn custom_ops(fb: &mut Fb<'_>) -> Result<Vec<String>, String> {
    let model = fb.follow(0)?;
    let Some(codes_at) = fb.field(model, 1)? else {
        return Ok(Vec::new());
    };
    let vec = fb.follow(codes_at)?;
    let n = fb.u32(vec)?;
    if n > MAX_OPS {
        return Err(fb.limit(format!("{n} operator codes (more than {MAX_OPS})")));
    }
    let mut out = Names::default();
    for i in 0..u64::from(n) {
        fb.step()?;
        let slot = vec.saturating_add(4).saturating_add(i.saturating_mul(4));
        let code = fb.follow(slot)?;
        if let Some(name_at) = fb.field(code, 1)? {
            let name = fb.string(name_at)?;
            if !name.is_empty() {
                out.add(name);
            }
        }
    }
    Ok(out.list)
}

/// Names in the order first seen, each once.
#[derive(Default)]
pub(super) struct Names {
    pub list: Vec<String>,
    seen: std::collections::HashSet<String>,
}

impl Names {
    pub(super) fn add(&mut self, name: String) {
        if self.seen.insert(name.clone()) {
            self.list.push(name);
        }
    }
}

/// Read a flatbuffer model with `read`: `label` for the report; what `read` cannot read (or a
/// model that arrives as a stream) is `not-inspected`, what a limit stopped `limit-exceeded`,
/// and `None` is returned.
pub(super) fn read_model<T>(
    input: &mut Input<'_>,
    cx: &mut Cx<'_>,
    label: &'static str,
    read: impl FnOnce(&mut Fb<'_>) -> Result<T, String>,
) -> (Identified, Option<T>) {
    let id = Identified {
        format: Format::Unknown,
        label,
    };
    let len = input.len.unwrap_or(0);
    let Some(src) = super::model_source(input, cx, label) else {
        return (id, None);
    };
    let mut fb = Fb {
        src,
        len,
        steps: 0,
        limited: false,
    };
    match read(&mut fb) {
        Ok(t) => (id, Some(t)),
        Err(e) if fb.limited => {
            cx.report(
                Code::LimitExceeded,
                None,
                format!("{label}: its operators were not all read ({e}); they were not checked"),
                ev! {"format" => label, "whole_file" => true},
            );
            (id, None)
        }
        Err(e) => {
            cx.report(
                Code::NotInspected,
                None,
                format!("{label}: its operators cannot be read ({e}); they were not checked"),
                ev! {"format" => label, "whole_file" => true},
            );
            (id, None)
        }
    }
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    let (id, ops) = read_model(input, cx, "tflite", custom_ops);
    if let Some(ops) = ops {
        for op in ops {
            let tf_op = op.strip_prefix("Flex").unwrap_or("");
            let (code, what) = if super::tensorflow::PYTHON_OPS.contains(&tf_op) {
                (Code::TfPythonOp, "a Flex (TensorFlow) op that calls Python")
            } else if super::tensorflow::FILE_OPS.contains(&tf_op) {
                (Code::TfFileOp, "a Flex (TensorFlow) op that opens files")
            } else {
                (
                    Code::CustomOperator,
                    "a custom operator: the interpreter runs whatever the application registered under this name",
                )
            };
            cx.report(
                code,
                None,
                format!("operator '{op}': {what}"),
                ev! {"op" => op},
            );
        }
    }
    id
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    /// A minimal TFLite flatbuffer: Model { operator_codes: [ {custom_code: a}, {}, ... ] }.
    fn model(customs: &[&str]) -> Vec<u8> {
        // Layout: [root u32][ident "TFL3"] then the model's vtable and table, the vector, then
        // each operator code's vtable, table and string.
        let mut b = vec![0u8; 8];
        b[4..8].copy_from_slice(b"TFL3");
        // Model vtable: 3 fields (version, operator_codes, subgraphs), table size 8.
        let mvt = b.len();
        b.extend(10u16.to_le_bytes());
        b.extend(8u16.to_le_bytes());
        b.extend(0u16.to_le_bytes()); // version absent
        b.extend(4u16.to_le_bytes()); // operator_codes at table+4
        b.extend(0u16.to_le_bytes());
        let mt = b.len();
        b.extend(((mt - mvt) as i32).to_le_bytes());
        let vec_ref_at = b.len();
        b.extend(0u32.to_le_bytes()); // patched
        b[0..4].copy_from_slice(&(mt as u32).to_le_bytes());
        let vec_at = b.len();
        b[vec_ref_at..vec_ref_at + 4]
            .copy_from_slice(&((vec_at - vec_ref_at) as u32).to_le_bytes());
        b.extend((customs.len() as u32).to_le_bytes());
        let slots = b.len();
        b.extend(vec![0u8; 4 * customs.len()]);
        for (i, name) in customs.iter().enumerate() {
            let vt = b.len();
            b.extend(8u16.to_le_bytes()); // vtable size: two fields
            b.extend(8u16.to_le_bytes()); // table size
            b.extend(0u16.to_le_bytes()); // field 0 absent
            b.extend(if name.is_empty() { 0u16 } else { 4u16 }.to_le_bytes());
            let t = b.len();
            b.extend(((t - vt) as i32).to_le_bytes());
            let sref = b.len();
            b.extend(0u32.to_le_bytes());
            let slot = slots + 4 * i;
            b[slot..slot + 4].copy_from_slice(&((t - slot) as u32).to_le_bytes());
            let s = b.len();
            b[sref..sref + 4].copy_from_slice(&((s - sref) as u32).to_le_bytes());
            b.extend((name.len() as u32).to_le_bytes());
            b.extend(name.as_bytes());
            b.push(0);
        }
        b
    }

    fn codes(bytes: &[u8]) -> Vec<crate::finding::Code> {
        super::super::inspect_bytes("m.tflite", bytes, &Default::default())
            .iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn custom_and_flex_ops() {
        use crate::finding::Code;
        assert_eq!(codes(&model(&[])), vec![]);
        assert_eq!(
            codes(&model(&["MyOp", "", "FlexReadFile", "FlexEagerPyFunc"])),
            vec![Code::CustomOperator, Code::TfFileOp, Code::TfPythonOp]
        );
        // Offsets out of the file: not inspected, never a panic.
        let mut m = model(&["MyOp"]);
        let n = m.len();
        m.truncate(n - 6);
        assert_eq!(codes(&m), vec![Code::NotInspected]);
    }
}
