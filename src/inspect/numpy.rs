//! NumPy `.npy`: the header is a Python dict literal; object arrays carry a pickle after it.

use super::pickle::{self, Kind};
use super::pyliteral::{self, Lit};
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
    let raw = bytes.get(start..end as usize).ok_or("header truncated")?;
    // numpy decodes versions 1 and 2 as latin-1, version 3 as UTF-8, then ast.literal_eval.
    let text: String = if major == 3 {
        std::str::from_utf8(raw)
            .map_err(|_| "header is not UTF-8")?
            .to_string()
    } else {
        raw.iter().map(|b| char::from(*b)).collect()
    };
    let d = pyliteral::parse(&text).map_err(|e| format!("header is not a Python literal: {e}"))?;
    let Lit::Dict(items) = &d else {
        return Err("header is not a dict".into());
    };
    // numpy requires exactly these keys (a repeated key counts once: the last value wins).
    let mut keys: Vec<&str> = items.iter().filter_map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    if keys != ["descr", "fortran_order", "shape"] || keys.len() != items.len() {
        return Err(format!(
            "header keys are {keys:?}, not descr, fortran_order and shape"
        ));
    }
    if !matches!(d.get("fortran_order"), Some(Lit::Bool(_))) {
        return Err("fortran_order is not a bool".into());
    }
    match d.get("shape") {
        Some(Lit::Tuple(t)) if t.iter().all(|x| matches!(x, Lit::Int(_) | Lit::Bool(_))) => {}
        _ => return Err("shape is not a tuple of ints".into()),
    }
    let descr = d.get("descr").ok_or("header has no 'descr'")?;
    Ok(NpyHeader {
        object: has_object(descr),
        descr: match descr {
            Lit::Str(s) => s.clone(),
            other => show(other),
        },
        data_offset: end,
    })
}

/// A short Python-like rendering of a literal, for reports.
fn show(v: &Lit) -> String {
    let seq = |xs: &[Lit], o: &str, c: &str| {
        let inner: Vec<String> = xs.iter().take(16).map(show).collect();
        format!("{o}{}{c}", inner.join(", "))
    };
    match v {
        Lit::Str(s) => format!("{s:?}").replace('"', "'"),
        Lit::Bytes(b) => format!("b{:?}", String::from_utf8_lossy(b)),
        Lit::Int(n) => n.to_string(),
        Lit::Float => "<float>".into(),
        Lit::Bool(b) => if *b { "True" } else { "False" }.into(),
        Lit::None => "None".into(),
        Lit::Tuple(t) => seq(t, "(", ")"),
        Lit::List(t) => seq(t, "[", "]"),
        Lit::Set(t) => seq(t, "{", "}"),
        Lit::Dict(_) => "{...}".into(),
    }
}

/// Whether numpy's `descr_to_dtype` makes an object dtype of `descr`: a dtype string (a
/// comma-separated list of fields counts too), `(base, shape)`, or fields `(name, type[,
/// shape])` in any iterable (a dict iterates its keys).
fn has_object(descr: &Lit) -> bool {
    match descr {
        Lit::Str(s) => str_has_object(s),
        Lit::Bytes(b) => str_has_object(&String::from_utf8_lossy(b)),
        Lit::Tuple(t) => t.first().is_some_and(has_object),
        Lit::List(fields) | Lit::Set(fields) => fields.iter().any(field_has_object),
        Lit::Dict(items) => items.iter().any(|(k, _)| field_has_object(k)),
        _ => false,
    }
}

/// A field as `descr_to_dtype` unpacks it: `name, descr_str[, shape] = field`, whatever the
/// field's type, so its second item is a dtype. A string of two or three characters unpacks
/// into characters (`'aO'` is the field `a` of type `O`), a dict into its keys, a set into its
/// elements in an order that hash randomisation picks (any of them may come second).
fn field_has_object(field: &Lit) -> bool {
    match field {
        Lit::Tuple(f) | Lit::List(f) => f.get(1).is_some_and(has_object),
        Lit::Str(s) => (2..=3).contains(&s.chars().count()) && s.chars().nth(1) == Some('O'),
        Lit::Dict(items) => items.get(1).is_some_and(|(k, _)| has_object(k)),
        Lit::Set(items) => items.iter().any(has_object),
        _ => false,
    }
}

/// A dtype string: `'|O'`, `'O8'`, `'object'`, `'i4, O'`, `'(2,3)O'`...
fn str_has_object(s: &str) -> bool {
    // Fields are separated by commas outside a shape's parentheses.
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0u32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth = depth.saturating_add(1),
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(s.get(start..i).unwrap_or_default());
                start = i.saturating_add(1);
            }
            _ => {}
        }
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts.into_iter().any(|part| {
        // numpy's comma-string grammar: a byte order, a repeat count or shape (`3O`, `0O`,
        // `(2,3)O`, `2,O`: digits, commas, spaces, parentheses), a byte order, the type.
        let t = part.trim().trim_start_matches(['<', '>', '|', '=']);
        let t = t.trim_start_matches(|c: char| c.is_ascii_digit() || " ,()".contains(c));
        let t = t.trim_start_matches(['<', '>', '|', '=']).trim_end();
        matches!(t, "O" | "object" | "object_" | "object0")
            || t.strip_prefix('O')
                .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
    })
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
    clippy::unwrap_used,
    clippy::expect_used
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
    fn fields_unpacked_as_descr_to_dtype_unpacks_them() {
        // `name, descr_str = field` whatever the field is: a two-character string, a dict's
        // keys, a set's elements (in hash order); and Python 2's `L` after a hex number.
        for (descr, object) in [
            ("['aO']", true),
            ("['af']", false),
            ("[{'': 0, 'object': 1}]", true),
            ("{('a', 'O'): 1}", true),
            ("{'aO': 1}", true),
            ("[{'a', 'O'}]", true),
            ("[{'a': 0, 'f8': 1}]", false),
            // A repeat count before the type: numpy reads '0O' as ('O', (0,)).
            ("'0O'", true),
            ("'<3O8'", true),
            ("'2f8'", false),
        ] {
            let h = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}\n");
            assert_eq!(parse_header(&npy(&h)).unwrap().object, object, "{descr}");
        }
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (0x2L, 3L), }\n";
        assert!(parse_header(&npy(h)).is_ok());
    }

    #[test]
    fn header_read_as_literal_eval_reads_it() {
        // Object dtypes numpy sees whatever the spelling; text matching saw none of them.
        for header in [
            "{'descr': '' '|O', 'fortran_order': False, 'shape': (2,), }\n",
            "{'descr': '\\x7cO', 'fortran_order': False, 'shape': (2,), }\n",
            "{'\\x64escr': '|O', 'fortran_order': False, 'shape': (2,), }\n",
            "{'descr': '<f8', 'descr': '|O', 'fortran_order': False, 'shape': (2,)}\n",
            "{'descr': 'i4, O', 'fortran_order': False, 'shape': (2,)}\n",
            "{'descr': [('a', '<i4'), ('b', ('|O', (2,)))], 'fortran_order': False, 'shape': (2,)}\n",
            "{'descr': ('|O', (3,)), 'fortran_order': False, 'shape': (2,)} # note\n",
            "{'descr': \"\\117\", 'fortran_order': False, 'shape': (2,)}\n",
        ] {
            let h = parse_header(&npy(header)).expect(header);
            assert!(h.object, "{header}");
        }
        // Near misses that are plain arrays.
        for header in [
            "{'descr': '<' 'f8', 'fortran_order': False, 'shape': (3,), }\n",
            "{'descr': '|O', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}\n",
            "{'descr': [('O', '<i4')], 'fortran_order': False, 'shape': (2,)}\n",
        ] {
            let h = parse_header(&npy(header)).expect(header);
            assert!(!h.object, "{header}");
        }
        // Version 1 headers are latin-1.
        let h = parse_header(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\u{e9}",
        ));
        assert!(
            h.is_err(),
            "a stray character after the literal is not a literal"
        );
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
