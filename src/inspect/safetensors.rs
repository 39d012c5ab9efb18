//! safetensors: a verifier stricter than the loader. Each violation is its own finding.

use super::{Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::Format;
use crate::input::Input;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::RefCell;
use std::fmt;
use std::io::Read;

/// Bits per element for every dtype the format defines.
fn dtype_bits(d: &str) -> Option<u64> {
    Some(match d {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}

/// Where a value sits in the header, as a chain of borrowed links: the path text is built only
/// for a duplicate (building it for every element made a long key over a long array quadratic).
#[derive(Clone, Copy)]
enum At<'p> {
    Root,
    Key(&'p At<'p>, &'p str),
    Index(&'p At<'p>, usize),
}

impl At<'_> {
    fn text(&self) -> String {
        let mut parts = Vec::new();
        let mut cur = *self;
        loop {
            match cur {
                At::Root => break,
                At::Key(p, k) => {
                    parts.push(format!(".{k}"));
                    cur = *p;
                }
                At::Index(p, i) => {
                    parts.push(format!("[{i}]"));
                    cur = *p;
                }
            }
        }
        let s: String = parts.iter().rev().map(String::as_str).collect();
        s.strip_prefix('.').map(str::to_string).unwrap_or(s)
    }
}

/// Duplicated keys listed, at most (the rest are counted).
const MAX_DUPS: usize = 64;

/// Deserializes JSON into a `Value` while recording every duplicated object key.
struct DupSeed<'a, 'p> {
    at: At<'p>,
    dups: &'a RefCell<(Vec<String>, u64)>,
}

impl<'de> DeserializeSeed<'de> for DupSeed<'_, '_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DupSeed<'_, '_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let at = At::Index(&self.at, out.len());
            let Some(v) = a.next_element_seed(DupSeed {
                at,
                dups: self.dups,
            })?
            else {
                break;
            };
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = a.next_key::<String>()? {
            let at = At::Key(&self.at, &k);
            let v = a.next_value_seed(DupSeed {
                at,
                dups: self.dups,
            })?;
            let dup_text = out.contains_key(&k).then(|| at.text());
            out.insert(k, v);
            if let Some(path) = dup_text {
                let mut d = self.dups.borrow_mut();
                d.1 = d.1.saturating_add(1);
                if d.0.len() < MAX_DUPS {
                    d.0.push(path);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    let fmt = Format::Safetensors.into();
    let mut nb = [0u8; 8];
    nb.copy_from_slice(input.head.get(..8).unwrap_or(&[0; 8]));
    let n = u64::from_le_bytes(nb);
    let limit = cx.limits.max_safetensors_header;
    let len = input.len;
    if n > limit || len.is_some_and(|l| n > l.saturating_sub(8)) {
        cx.report(
            Code::SafetensorsHeader,
            Some(0),
            format!("header length {n} exceeds the file or the {limit}-byte limit"),
            ev! {"header_length" => n, "file_length" => len},
        );
        return fmt;
    }
    let mut header = Vec::new();
    let mut rd = match input.reader_at(8) {
        Ok(r) => r,
        Err(e) => {
            cx.io_error(Code::ReadError, "reading safetensors header", &e);
            return fmt;
        }
    };
    if let Err(e) = (&mut rd).take(n).read_to_end(&mut header) {
        cx.io_error(Code::ReadError, "reading safetensors header", &e);
        return fmt;
    }
    if (header.len() as u64) < n {
        cx.report(
            Code::SafetensorsHeader,
            Some(8),
            "header is truncated",
            ev! {"header_length" => n},
        );
        return fmt;
    }
    // The total length of a stream is only known once it is read to its end.
    let total = match len {
        Some(l) => l,
        None => {
            let rest = std::io::copy(&mut rd, &mut std::io::sink()).unwrap_or(0);
            n.saturating_add(8).saturating_add(rest)
        }
    };
    drop(rd);
    check_header(&header, total.saturating_sub(8).saturating_sub(n), cx);
    fmt
}

/// Validate a header against a data section of `data_len` bytes.
pub fn check_header(header: &[u8], data_len: u64, cx: &mut Cx<'_>) {
    let Ok(text) = std::str::from_utf8(header) else {
        cx.report(
            Code::SafetensorsHeader,
            Some(8),
            "header is not valid UTF-8",
            ev! {},
        );
        return;
    };
    let dups = RefCell::new((Vec::new(), 0u64));
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = DupSeed {
        at: At::Root,
        dups: &dups,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|_| v));
    let value = match parsed {
        Ok(v) => v,
        Err(e) => {
            cx.report(
                Code::SafetensorsHeader,
                Some(8),
                format!("header is not valid JSON: {e}"),
                ev! {},
            );
            return;
        }
    };
    let (listed, total) = dups.into_inner();
    for d in &listed {
        cx.report(
            Code::SafetensorsDuplicateKey,
            Some(8),
            format!("key '{d}' appears more than once in the header"),
            ev! {"key" => d},
        );
    }
    if total > listed.len() as u64 {
        cx.report(
            Code::SafetensorsDuplicateKey,
            Some(8),
            format!(
                "{} more duplicated keys in the header were counted, not listed",
                total.saturating_sub(listed.len() as u64)
            ),
            ev! {"not_listed" => total.saturating_sub(listed.len() as u64)},
        );
    }
    let Value::Object(map) = value else {
        cx.report(
            Code::SafetensorsHeader,
            Some(8),
            "header is not a JSON object",
            ev! {},
        );
        return;
    };
    let mut spans: Vec<(u64, u64, String)> = Vec::new();
    for (name, info) in &map {
        if name == "__metadata__" {
            let ok = info
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            if !ok {
                cx.report(
                    Code::SafetensorsMetadata,
                    Some(8),
                    "__metadata__ must map strings to strings",
                    ev! {},
                );
            }
            continue;
        }
        let Some(obj) = info.as_object() else {
            cx.report(
                Code::SafetensorsHeader,
                Some(8),
                format!("tensor '{name}' is not an object"),
                ev! {"tensor" => name},
            );
            continue;
        };
        let dtype = obj.get("dtype").and_then(Value::as_str);
        let shape: Option<Vec<u64>> = obj
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect());
        let offs: Option<Vec<u64>> = obj
            .get("data_offsets")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_u64).collect())
            .filter(|v: &Vec<u64>| v.len() == 2);
        let (Some(dtype), Some(shape), Some(offs)) = (dtype, shape, offs) else {
            cx.report(
                Code::SafetensorsHeader,
                Some(8),
                format!(
                    "tensor '{name}' needs a string dtype, a shape of sizes and two data_offsets"
                ),
                ev! {"tensor" => name},
            );
            continue;
        };
        let extra: Vec<&String> = obj
            .keys()
            .filter(|k| !matches!(k.as_str(), "dtype" | "shape" | "data_offsets"))
            .collect();
        if !extra.is_empty() {
            cx.report(
                Code::SafetensorsHeader,
                Some(8),
                format!("tensor '{name}' has unexpected fields {extra:?}"),
                ev! {"tensor" => name, "fields" => extra},
            );
        }
        let (begin, end) = match offs[..] {
            [b, e] => (b, e),
            _ => continue,
        };
        if begin > end || end > data_len {
            cx.report(
                Code::SafetensorsOffsets,
                Some(8),
                format!("tensor '{name}' has offsets [{begin}, {end}] outside the {data_len}-byte data section"),
                ev! {"tensor" => name, "begin" => begin, "end" => end, "data_length" => data_len},
            );
            spans.push((begin.min(data_len), end.min(data_len), name.clone()));
            continue;
        }
        match dtype_bits(dtype) {
            None => cx.report(
                Code::SafetensorsDtype,
                Some(8),
                format!("tensor '{name}' has unknown dtype '{dtype}'"),
                ev! {"tensor" => name, "dtype" => dtype},
            ),
            Some(bits) => {
                let numel = shape.iter().try_fold(1u64, |a, d| a.checked_mul(*d));
                let bytes = numel
                    .and_then(|n| n.checked_mul(bits))
                    .filter(|b| b % 8 == 0)
                    .map(|b| b / 8);
                if bytes != Some(end.saturating_sub(begin)) {
                    cx.report(
                        Code::SafetensorsSizeMismatch,
                        Some(8),
                        format!(
                            "tensor '{name}': {dtype} x {shape:?} is {} bytes, offsets give {}",
                            bytes.map_or("an impossible number of".to_string(), |b| b.to_string()),
                            end.saturating_sub(begin)
                        ),
                        ev! {"tensor" => name, "dtype" => dtype, "shape" => shape, "expected" => bytes, "actual" => end.saturating_sub(begin)},
                    );
                }
            }
        }
        spans.push((begin, end, name.clone()));
    }
    spans.sort();
    let mut cursor = 0u64;
    for (b, e, name) in &spans {
        if *b != cursor {
            let what = if *b < cursor {
                "overlaps the previous tensor"
            } else {
                "leaves a gap before it"
            };
            cx.report(
                Code::SafetensorsOffsets,
                Some(8),
                format!("tensor '{name}' starts at {b}, expected {cursor}: it {what}"),
                ev! {"tensor" => name, "begin" => b, "expected" => cursor},
            );
        }
        cursor = cursor.max(*e);
    }
    if cursor < data_len {
        cx.report(
            Code::SafetensorsTrailing,
            None,
            format!(
                "{} bytes after the last tensor",
                data_len.saturating_sub(cursor)
            ),
            ev! {"bytes" => data_len.saturating_sub(cursor)},
        );
    }
}
