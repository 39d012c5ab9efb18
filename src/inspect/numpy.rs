//! NumPy `.npy`: the header is a Python dict literal; object arrays carry a pickle after it.

use super::pickle::{self, Kind};
use super::{Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::Format;
use crate::input::Input;
use std::io::Read;

/// numpy refuses headers larger than this by default (`max_header_size`).
const MAX_HEADER: u64 = 10_000 * 100;

/// Parsed essentials of an .npy header.
#[derive(Debug, PartialEq)]
pub struct NpyHeader {
    pub descr: String,
    pub data_offset: u64,
    pub object: bool,
}

/// Parse the magic, version, length and the `descr` entry.
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader, String> {
    let major = *bytes.get(6).ok_or("header truncated")?;
    // The header length is a u16 (version 1) or u32 (versions 2 and 3) at offset 8.
    let start = match major {
        1 => 10usize,
        2 | 3 => 12,
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let lb = bytes.get(8..start).ok_or("header truncated")?;
    let hlen = lb.iter().rev().fold(0u64, |a, b| (a << 8) | u64::from(*b));
    if hlen > MAX_HEADER {
        return Err(format!("header length {hlen} exceeds {MAX_HEADER}"));
    }
    let end = (start as u64).saturating_add(hlen);
    let text = bytes.get(start..end as usize).ok_or("header truncated")?;
    let text = std::str::from_utf8(text).map_err(|_| "header is not text")?;
    // ast.literal_eval keeps the last of duplicated keys; look at every 'descr' key so that
    // none can hide an object dtype, and report the last one as numpy uses it.
    let mut descr: Option<String> = None;
    let mut object = false;
    for key in ["'descr'", "\"descr\""] {
        for (i, _) in text.match_indices(key) {
            let after = text.get(i.saturating_add(key.len())..).unwrap_or_default();
            let Some(rest) = after.trim_start().strip_prefix(':') else {
                continue;
            };
            let value = descr_value(rest.trim_start())?;
            object |= has_object(&value);
            descr = Some(value);
        }
    }
    let descr = descr.ok_or("header has no 'descr'")?;
    Ok(NpyHeader {
        object,
        descr,
        data_offset: end,
    })
}

/// The literal after `'descr':`: a quoted string, or a bracketed list / tuple.
fn descr_value(rest: &str) -> Result<String, String> {
    if let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = rest.get(1..).unwrap_or_default();
        let close = body.find(q).ok_or("unterminated 'descr' string")?;
        return Ok(body.get(..close).unwrap_or_default().to_string());
    }
    if !rest.starts_with(['[', '(']) {
        return Err("'descr' is neither a string, a list nor a tuple".into());
    }
    let mut depth = 0i32;
    let mut out = String::new();
    for c in rest.chars() {
        out.push(c);
        match c {
            '[' | '(' => depth = depth.saturating_add(1),
            ']' | ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Ok(out);
                }
            }
            _ => {}
        }
    }
    Err("unterminated 'descr' list".into())
}

/// True when any field of the dtype is of kind 'O'.
fn has_object(descr: &str) -> bool {
    let is_obj = |t: &str| {
        let t = t.trim().trim_start_matches(['<', '>', '|', '=']);
        matches!(t, "object" | "object_")
            || t.starts_with('O')
                && t.get(1..)
                    .is_some_and(|r| r.chars().all(|c| c.is_ascii_digit()))
    };
    if !descr.starts_with(['[', '(']) {
        return is_obj(descr);
    }
    if descr.starts_with('(') {
        // (base, shape): every quoted token is a type (counting names inside a nested field
        // list too only errs on the side of analysing).
        return descr.split(['\'', '"']).skip(1).step_by(2).any(is_obj);
    }
    // A structured descr is a list of (name, type[, shape]) tuples, types possibly nested lists.
    // A quoted token right after '(' is a field name; every other quoted token is a type.
    let mut prev = ' ';
    let mut chars = descr.chars();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            let tok: String = chars.by_ref().take_while(|x| *x != c).collect();
            if prev != '(' && is_obj(&tok) {
                return true;
            }
            prev = c;
        } else if !c.is_whitespace() {
            prev = c;
        }
    }
    false
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    let head = input.head.clone();
    let parsed = if head.len() >= 12 && head.len() < crate::input::HEAD_LEN {
        parse_header(&head)
    } else {
        // The header may be longer than the head: read it whole (bounded).
        let mut buf = Vec::new();
        match input.reader() {
            Ok(r) => {
                if let Err(e) = r.take(MAX_HEADER + 12).read_to_end(&mut buf) {
                    cx.io_error(Code::ReadError, "reading .npy header", &e);
                    return Format::Npy.into();
                }
                parse_header(&buf)
            }
            Err(e) => {
                cx.io_error(Code::ReadError, "reading .npy header", &e);
                return Format::Npy.into();
            }
        }
    };
    let h = match parsed {
        Ok(h) => h,
        Err(m) => {
            cx.report(Code::NpyMalformed, Some(0), m, ev! {});
            return Format::Npy.into();
        }
    };
    if h.object {
        cx.report(
            Code::NpyObjectArray,
            Some(h.data_offset),
            format!("object array (descr {}): its data is a pickle, run by numpy.load(allow_pickle=True)", h.descr),
            ev! {"descr" => h.descr},
        );
        // Offsets reported by the pickle are relative to the start of the data.
        let at = h.data_offset;
        cx.nest("<object data>", |cx| {
            pickle::analyse_input(input, cx, Kind::NpyObject, at)
        });
    }
    Format::Npy.into()
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;

    fn npy(header: &str) -> Vec<u8> {
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(header.len() as u16).to_le_bytes());
        v.extend_from_slice(header.as_bytes());
        v
    }

    #[test]
    fn parses_simple_and_object() {
        let h = parse_header(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n",
        ))
        .unwrap();
        assert_eq!(h.descr, "<f8");
        assert!(!h.object);
        let h = parse_header(&npy(
            "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n",
        ))
        .unwrap();
        assert!(h.object);
        let h = parse_header(&npy(
            "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (2,), }\n",
        ))
        .unwrap();
        assert!(h.object);
        let h = parse_header(&npy(
            "{'descr': [('O', '<i4')], 'fortran_order': False, 'shape': (2,), }\n",
        ))
        .unwrap();
        assert!(!h.object, "a field named O is not an object field");
    }

    #[test]
    fn rejects_bad_headers() {
        assert!(parse_header(b"\x93NUMPY\x09\x00").is_err());
        assert!(parse_header(&npy("{'shape': (3,)}\n")).is_err());
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&5000u16.to_le_bytes());
        assert!(parse_header(&v).is_err());
    }
}
