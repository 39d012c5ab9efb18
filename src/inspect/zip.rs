//! Zip archives (PyTorch checkpoints, TorchScript, .npz), read from raw headers.
//!
//! Read as leniently as PyTorch's reader (CRC mismatches, flag bits and local/central name
//! disagreement are ignored for reading) and every such inconsistency is reported.

use super::{inspect as inspect_member, Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::Format;
use crate::input::{read_at, Input, Limited, ReadSeek, Window};
use std::collections::HashMap;
use std::io::{self, Cursor, Read};

const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const EOCD64_LOC_SIG: &[u8; 4] = b"PK\x06\x07";
const EOCD64_SIG: &[u8; 4] = b"PK\x06\x06";
const CEN_SIG: &[u8; 4] = b"PK\x01\x02";
const LOC_SIG: &[u8; 4] = b"PK\x03\x04";

#[derive(Debug, Clone)]
struct Eocd {
    /// Where the end records start (the zip64 record if present, else the classic one).
    records_start: u64,
    pos: u64,
    entries: u64,
    cd_size: u64,
    cd_offset: u64,
    comment_len: u64,
    /// miniz (inside torch.load) follows the zip64 locator's offset to its record, where
    /// Python's zipfile reads the record right before the locator: when they differ, the
    /// central directory miniz reads.
    miniz: Option<Box<Eocd>>,
    /// Where the locator points, when that is not the record before it.
    locator_points_to: Option<u64>,
}

fn le<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}
fn le16(b: &[u8], at: usize) -> u64 {
    le::<2>(b, at).map_or(0, |a| u64::from(u16::from_le_bytes(a)))
}
fn le32(b: &[u8], at: usize) -> u64 {
    le::<4>(b, at).map_or(0, |a| u64::from(u32::from_le_bytes(a)))
}
fn le64(b: &[u8], at: usize) -> u64 {
    le::<8>(b, at).map_or(0, u64::from_le_bytes)
}

fn find_eocd(src: &mut dyn ReadSeek, len: u64) -> io::Result<Option<Eocd>> {
    if len < 22 {
        return Ok(None);
    }
    // zipfile searches from 65,536 + 22 bytes before the end (a comment's length is at most
    // 65,535, but bytes after a declared comment are searched too).
    let tail_len = len.min(22 + 65536);
    let mut tail = vec![0u8; tail_len as usize];
    let tail_start = len.saturating_sub(tail_len);
    read_at(src, tail_start, &mut tail)?;
    // The last signature wins, as in Python's zipfile.
    // (A signature starts at most 22 bytes before the end.)
    let hay = tail
        .get(..tail.len().saturating_sub(18))
        .unwrap_or_default();
    let mut end = hay.len();
    let found = loop {
        let Some(i) = memchr::memrchr(EOCD_SIG[0], hay.get(..end).unwrap_or_default()) else {
            break None;
        };
        if hay.get(i..).is_some_and(|r| r.starts_with(EOCD_SIG)) {
            break Some(i);
        }
        end = i;
    };
    let Some(i) = found else {
        return Ok(None);
    };
    let rec = tail.get(i..).unwrap_or_default();
    let pos = tail_start.saturating_add(i as u64);
    let mut e = Eocd {
        records_start: pos,
        pos,
        entries: le16(rec, 10),
        cd_size: le32(rec, 12),
        cd_offset: le32(rec, 16),
        comment_len: le16(rec, 20),
        miniz: None,
        locator_points_to: None,
    };
    if pos >= 20 {
        let mut loc = [0u8; 20];
        read_at(src, pos.saturating_sub(20), &mut loc)?;
        if &loc[..4] == EOCD64_LOC_SIG && pos >= 20 + 56 {
            // Python reads the zip64 record right before the locator, whatever offset the
            // locator states (which is stale when data was prepended).
            let classic = e.clone();
            let mut r = [0u8; 56];
            if read_at(src, pos.saturating_sub(76), &mut r).is_ok() && r.starts_with(EOCD64_SIG) {
                e.entries = le64(&r, 32);
                e.cd_size = le64(&r, 40);
                e.cd_offset = le64(&r, 48);
                // Python measures the prepended-data shift from the zip64 record.
                e.records_start = pos.saturating_sub(76);
            }
            let stated = le64(&loc, 8);
            // Data prepended to the archive shifts every offset the archive states, the
            // locator's too: that is the same record (and reported as prefix data).
            let before = pos.saturating_sub(76);
            let shift = e
                .records_start
                .checked_sub(e.cd_size)
                .and_then(|v| v.checked_sub(e.cd_offset))
                .unwrap_or(0);
            if stated != before && stated.checked_add(shift) != Some(before) {
                e.locator_points_to = Some(stated);
                let mut m = [0u8; 56];
                if read_at(src, stated, &mut m).is_ok() && m.starts_with(EOCD64_SIG) {
                    let mut alt = classic;
                    alt.entries = le64(&m, 32);
                    alt.cd_size = le64(&m, 40);
                    alt.cd_offset = le64(&m, 48);
                    // miniz takes offsets as they are: no shift for prepended data.
                    alt.records_start = alt.cd_offset.saturating_add(alt.cd_size);
                    e.miniz = Some(Box::new(alt));
                }
            }
        }
    }
    Ok(Some(e))
}

struct Entry {
    /// The name as zipfile's ZipInfo holds it (cut at a NUL); `orig` as stored.
    name: String,
    orig: String,
    flags: u64,
    method: u64,
    crc: u32,
    csize: u64,
    usize: u64,
    offset: u64,
}

// Offsets here are sums of u16 field lengths within `cd` (at most 128 MiB): no overflow;
// every access goes through `get`.
#[allow(clippy::arithmetic_side_effects)]
fn parse_cd(cd: &[u8], limit: u64) -> Result<(Vec<Entry>, Option<String>), String> {
    let mut entries = Vec::new();
    let mut p = 0usize;
    while p < cd.len() {
        if entries.len() as u64 >= limit {
            break;
        }
        let h = cd
            .get(p..p + 46)
            .ok_or("central directory entry truncated")?;
        if h.get(..4) != Some(CEN_SIG) {
            return Ok((
                entries,
                Some(format!("bad central directory signature at +{p}")),
            ));
        }
        let name_len = le16(h, 28) as usize;
        let extra_len = le16(h, 30) as usize;
        let comment_len = le16(h, 32) as usize;
        let name_start = p + 46;
        // zipfile reads the directory from memory: a name or extra field running past its end
        // is read short, not refused (the entry still loads).
        let clip =
            |a: usize, b: usize| cd.get(a.min(cd.len())..b.min(cd.len())).unwrap_or_default();
        let name_b = clip(name_start, name_start + name_len);
        let extra = clip(name_start + name_len, name_start + name_len + extra_len);
        let flags = le16(h, 8);
        let mut name = if flags & 0x800 != 0 {
            String::from_utf8_lossy(name_b).into_owned()
        } else {
            name_b.iter().map(|&b| cp437(b)).collect()
        };
        // The name as stored, which the local header must repeat.
        let orig = name.clone();
        // ZipInfo ends a name at its first NUL (miniz keeps the whole name).
        if let Some(i) = name.find('\0') {
            name.truncate(i);
        }
        let mut e = Entry {
            orig,
            name,
            flags,
            method: le16(h, 10),
            crc: le32(h, 16) as u32,
            csize: le32(h, 20),
            usize: le32(h, 24),
            offset: le32(h, 42),
        };
        // zip64 extended information: only the fields that are saturated are present, in order.
        let mut x = 0usize;
        while x + 4 <= extra.len() {
            let id = le16(extra, x);
            let sz = le16(extra, x + 2) as usize;
            let body = extra.get(x + 4..x + 4 + sz).unwrap_or_default();
            if id == 1 {
                let mut q = 0;
                if e.usize == 0xffff_ffff {
                    e.usize = le64(body, q);
                    q += 8;
                }
                if e.csize == 0xffff_ffff {
                    e.csize = le64(body, q);
                    q += 8;
                }
                if e.offset == 0xffff_ffff {
                    e.offset = le64(body, q);
                }
            }
            x += 4 + sz;
        }
        entries.push(e);
        p = name_start + name_len + extra_len + comment_len;
    }
    Ok((entries, None))
}

/// Code page 437 above ASCII, as zipfile decodes names without the UTF-8 flag.
const CP437_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";

fn cp437(b: u8) -> char {
    if b < 0x80 {
        char::from(b)
    } else {
        CP437_HIGH
            .chars()
            .nth(usize::from(b.wrapping_sub(0x80)))
            .unwrap_or('?')
    }
}

/// Inspect an input identified as a zip (starts with a zip signature).
pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    if let (Some(len), Some(src)) = (input.len, input.source()) {
        return inspect_archive(src, len, cx, false).unwrap_or_else(|| Format::Zip.into());
    }
    // Buffers held for nested zips count against one budget per file: nesting compressed zips
    // must not stack up memory.
    let room = cx.limits.max_materialize.saturating_sub(cx.materialized);
    match input.materialize(room) {
        Ok(Some(buf)) => {
            let len = buf.len() as u64;
            cx.materialized = cx.materialized.saturating_add(len);
            let mut c = Cursor::new(buf);
            let r = inspect_archive(&mut c, len, cx, false).unwrap_or_else(|| Format::Zip.into());
            cx.materialized = cx.materialized.saturating_sub(len);
            r
        }
        Ok(None) => {
            cx.report(
                Code::LimitExceeded,
                None,
                format!(
                    "a zip inside a compressed stream would take more than the {} bytes left of the {}-byte buffer budget; not inspected",
                    room, cx.limits.max_materialize
                ),
                ev! {"limit" => "max_materialize", "value" => cx.limits.max_materialize},
            );
            Format::Zip.into()
        }
        Err(e) => {
            cx.io_error(Code::ZipMalformed, "reading zip", &e);
            Format::Zip.into()
        }
    }
}

/// Any seekable input may also be a zip read from its end (a polyglot). Inspect that zip too.
pub fn inspect_trailing_zip(input: &mut Input<'_>, cx: &mut Cx<'_>) {
    // A TFLite model with metadata is a flatbuffer with its associated files (labels,
    // vocabularies) appended as a zip: the format itself, not a polyglot. Its members are
    // inspected all the same.
    let tflite = input.head.get(4..8) == Some(b"TFL3");
    if let (Some(len), Some(src)) = (input.len, input.source()) {
        let was = std::mem::replace(&mut cx.expected_zip_prefix, tflite.then_some("tflite"));
        inspect_archive(src, len, cx, true);
        cx.expected_zip_prefix = was;
    }
}

fn inspect_archive(
    src: &mut dyn ReadSeek,
    len: u64,
    cx: &mut Cx<'_>,
    polyglot_probe: bool,
) -> Option<Identified> {
    let eocd = match find_eocd(src, len) {
        Ok(Some(e)) => e,
        Ok(None) => {
            if !polyglot_probe {
                cx.report(
                    Code::ZipMalformed,
                    None,
                    "no end-of-central-directory record",
                    ev! {},
                );
            }
            return None;
        }
        Err(e) => {
            if !polyglot_probe {
                cx.io_error(Code::ZipMalformed, "reading zip end record", &e);
            }
            return None;
        }
    };
    let mut done = std::collections::HashSet::new();
    let mut miniz = eocd.miniz.clone();
    // Data prepended to an archive: Python's zipfile shifts every stated offset by its length,
    // miniz (torch.load) takes them as stated. Where a central directory sits at the stated
    // offset too, the two read different archives.
    let shift = eocd
        .records_start
        .checked_sub(eocd.cd_size)
        .and_then(|v| v.checked_sub(eocd.cd_offset))
        .unwrap_or(0);
    if miniz.is_none() && shift > 0 {
        let mut sig = [0u8; 4];
        if read_at(src, eocd.cd_offset, &mut sig).is_ok() && &sig == b"PK\x01\x02" {
            let mut alt = eocd.clone();
            alt.records_start = alt.cd_offset.saturating_add(alt.cd_size);
            alt.locator_points_to = None;
            alt.miniz = None;
            if !polyglot_probe {
                cx.report(
                    Code::ZipMalformed,
                    Some(eocd.pos),
                    format!(
                        "{shift} bytes precede the archive and a central directory sits at the offset the end record states: Python's zipfile (offsets shifted) and torch's miniz (offsets as stated) read different archives; both were inspected"
                    ),
                    ev! {"prefix" => shift, "cd_offset" => eocd.cd_offset},
                );
            }
            miniz = Some(Box::new(alt));
        }
    }
    if let Some(stated) = eocd.locator_points_to {
        cx.report(
            Code::ZipMalformed,
            Some(eocd.pos),
            format!(
                "the zip64 locator points at offset {stated}, not at the record before it: Python's zipfile and torch's miniz read different central directories{}",
                if miniz.is_some() { "; both were inspected" } else { "" }
            ),
            ev! {"locator_offset" => stated, "record_before" => eocd.pos.saturating_sub(76)},
        );
    }
    let found = inspect_view(src, len, cx, polyglot_probe, eocd, &mut done);
    if let Some(alt) = miniz {
        cx.nest("<miniz view>", |cx| {
            inspect_view(src, len, cx, polyglot_probe, *alt, &mut done)
        });
    }
    found
}

/// Inspect the archive as one reader sees it from `eocd`. Members already inspected (by local
/// header offset) in another view are not inspected again.
fn inspect_view(
    src: &mut dyn ReadSeek,
    len: u64,
    cx: &mut Cx<'_>,
    polyglot_probe: bool,
    eocd: Eocd,
    done: &mut std::collections::HashSet<u64>,
) -> Option<Identified> {
    // Python's zipfile tolerates data prepended to the archive and shifts offsets by it.
    let concat = eocd
        .records_start
        .checked_sub(eocd.cd_size)
        .and_then(|v| v.checked_sub(eocd.cd_offset));
    let Some(concat) = concat else {
        if !polyglot_probe {
            cx.report(
                Code::ZipMalformed,
                Some(eocd.pos),
                "central directory lies outside the file",
                ev! {"cd_offset" => eocd.cd_offset, "cd_size" => eocd.cd_size},
            );
        }
        return None;
    };
    let cd_start = eocd.cd_offset.saturating_add(concat);
    if polyglot_probe {
        // Only a structurally sound archive counts as a polyglot: random bytes can hold "PK\5\6".
        let mut sig = [0u8; 4];
        if eocd.entries == 0
            || eocd.cd_size < 46
            || read_at(src, cd_start, &mut sig).is_err()
            || &sig != CEN_SIG
        {
            return None;
        }
    }
    if eocd.cd_size > len {
        cx.report(
            Code::ZipMalformed,
            Some(eocd.pos),
            "central directory is larger than the file",
            ev! {"cd_size" => eocd.cd_size},
        );
        return None;
    }
    if eocd.cd_size > cx.limits.max_central_directory {
        cx.report(
            Code::LimitExceeded,
            Some(eocd.pos),
            format!(
                "central directory of {} bytes exceeds the {}-byte limit; members not inspected",
                eocd.cd_size, cx.limits.max_central_directory
            ),
            ev! {"limit" => "max_central_directory", "value" => cx.limits.max_central_directory},
        );
        return None;
    }
    let mut cd = vec![0u8; eocd.cd_size as usize];
    if let Err(e) = read_at(src, cd_start, &mut cd) {
        cx.io_error(Code::ZipMalformed, "reading central directory", &e);
        return None;
    }
    let (entries, cd_error) = match parse_cd(&cd, cx.limits.max_entries.saturating_add(1)) {
        Ok(x) => x,
        Err(m) => {
            cx.report(Code::ZipMalformed, Some(cd_start), m, ev! {});
            return None;
        }
    };
    drop(cd);
    if let Some(m) = cd_error {
        cx.report(Code::ZipMalformed, Some(cd_start), m, ev! {});
    }
    if entries.len() as u64 != eocd.entries && (entries.len() as u64) <= cx.limits.max_entries {
        cx.report(
            Code::ZipMalformed,
            Some(eocd.pos),
            format!(
                "end record counts {} entries, the central directory holds {}",
                eocd.entries,
                entries.len()
            ),
            ev! {"declared" => eocd.entries, "found" => entries.len()},
        );
    }
    if polyglot_probe {
        if cx.expected_zip_prefix.is_none() {
            cx.report(
                Code::ZipPrefixData,
                Some(0),
                format!("a zip archive is appended after {concat} bytes of other data (polyglot); both were analysed"),
                ev! {"prefix_bytes" => concat},
            );
        }
    } else if concat > 0 {
        cx.report(
            Code::ZipTrailingData,
            Some(eocd.records_start.saturating_sub(concat)),
            format!("{concat} bytes between the central directory and the end record shift every offset"),
            ev! {"bytes" => concat},
        );
    }
    let end_of_records = eocd.pos.saturating_add(22).saturating_add(eocd.comment_len);
    if end_of_records != len {
        cx.report(
            Code::ZipTrailingData,
            Some(end_of_records.min(len)),
            format!(
                "{} bytes after the end record (comment length says {})",
                i128::from(len).saturating_sub(i128::from(eocd.pos.saturating_add(22))),
                eocd.comment_len
            ),
            ev! {"comment_length" => eocd.comment_len, "actual" => len.saturating_sub(eocd.pos.saturating_add(22))},
        );
    }

    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let torchscript = names.iter().any(|n| n.ends_with("constants.pkl"))
        || names
            .iter()
            .any(|n| n.starts_with("code/") || n.contains("/code/"));
    let label = if torchscript {
        "torchscript"
    } else if names
        .iter()
        .any(|n| *n == "data.pkl" || n.ends_with("/data.pkl"))
    {
        "torch-zip"
    } else if names.contains(&"config.json") && names.contains(&"metadata.json") {
        "keras"
    } else if !names.is_empty()
        && names
            .iter()
            .all(|n| n.ends_with(".npy") || n.ends_with('/'))
    {
        "npz"
    } else {
        "zip"
    };
    let code_files: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| (n.starts_with("code/") || n.contains("/code/")) && !n.ends_with('/'))
        .collect();
    if !code_files.is_empty() {
        cx.report(
            Code::TorchScriptCode,
            None,
            format!("TorchScript archive with {} code files (e.g. {})", code_files.len(), code_files.first().unwrap_or(&"")),
            ev! {"code_files" => code_files.len(), "first" => code_files.iter().take(5).collect::<Vec<_>>()},
        );
    }

    // torch.load unpickles the archive's data.pkl (and a TorchScript archive's constants.pkl);
    // the members of data/ beside it are raw storage bytes, which no loader unpickles.
    let roots: Vec<&str> = names
        .iter()
        .filter_map(|n| {
            n.strip_suffix("data.pkl")
                .or_else(|| n.strip_suffix("constants.pkl"))
        })
        .filter(|d| d.is_empty() || d.ends_with('/'))
        .collect();
    let is_storage = |name: &str| {
        roots.iter().any(|d| {
            name.strip_prefix(d)
                .and_then(|r| r.strip_prefix("data/"))
                .is_some_and(|r| !r.is_empty() && !r.contains('/'))
        })
    };
    let mut seen: HashMap<&str, u32> = HashMap::new();
    // Local header offset -> the first entry naming it, in this view.
    let mut shared: HashMap<u64, usize> = HashMap::new();
    let mut spans: Vec<(u64, u64, usize)> = Vec::new();
    let mut first_local = u64::MAX;
    let was_ts = cx.torchscript;
    cx.torchscript = was_ts || torchscript;
    for (idx, e) in entries.iter().enumerate() {
        if !cx.count_entry() {
            break;
        }
        let n = seen.entry(e.name.as_str()).or_insert(0);
        *n = n.saturating_add(1);
        if *n == 2 {
            cx.report(
                Code::ZipDuplicateMember,
                None,
                format!(
                    "member name '{}' appears more than once; every copy was analysed",
                    e.name
                ),
                ev! {"name" => e.name},
            );
        }
        let local = e.offset.saturating_add(concat);
        first_local = first_local.min(local);
        let first = *shared.entry(local).or_insert(idx);
        if first != idx {
            // Entries that name one local header: zipfile reads the same bytes under each
            // name. Read once; reported, never silently merged.
            let a = entries.get(first).map(|e| e.name.as_str()).unwrap_or("?");
            cx.report(
                Code::ZipOverlap,
                Some(local),
                format!(
                    "members '{a}' and '{}' share the local header at offset {local}",
                    e.name
                ),
                ev! {"first" => a, "second" => e.name, "offset" => local},
            );
        }
        if !done.insert(local) {
            continue;
        }
        if let Some(span) = member(src, len, cx, e, local, is_storage(&e.name)) {
            spans.push((span.0, span.1, idx));
        }
    }
    cx.torchscript = was_ts;
    if !polyglot_probe && first_local != u64::MAX && first_local > concat {
        cx.report(
            Code::ZipPrefixData,
            Some(0),
            format!(
                "{} bytes precede the first zip entry",
                first_local.saturating_sub(concat)
            ),
            ev! {"bytes" => first_local.saturating_sub(concat)},
        );
    }
    spans.sort_unstable();
    let overlap = spans.windows(2).find_map(|w| match w {
        [a, b] if b.0 < a.1 => Some((a.2, b.2, b.0)),
        _ => None,
    });
    if let Some((ia, ib, at)) = overlap {
        let a = entries.get(ia).map(|e| e.name.as_str()).unwrap_or("?");
        let b = entries.get(ib).map(|e| e.name.as_str()).unwrap_or("?");
        cx.report(
            Code::ZipOverlap,
            Some(at),
            format!("members '{a}' and '{b}' overlap"),
            ev! {"first" => a, "second" => b},
        );
    }
    Some(Identified {
        format: Format::Zip,
        label,
    })
}

/// An LZMA member (zipfile's layout: version, properties size, properties, raw stream) decoded
/// into `out` from the start of `win`, `size` bytes expected (`u64::MAX`: up to an end marker),
/// at most `limit` + 1 bytes.
fn lzma_whole(win: &mut Window<'_>, size: u64, limit: u64, out: &mut Vec<u8>) -> io::Result<usize> {
    use std::io::{Seek, SeekFrom};
    win.seek(SeekFrom::Start(0))?;
    let mut hdr = [0u8; 9];
    win.read_exact(&mut hdr)?;
    let dict = u32::from_le_bytes([hdr[5], hdr[6], hdr[7], hdr[8]]);
    let d = lzma_rust2::LzmaReader::new_with_props(&mut *win, size, hdr[4], dict, None)?;
    d.take(limit.saturating_add(1)).read_to_end(out)
}

/// Inspect one member. Returns its byte span in the archive.
fn member(
    src: &mut dyn ReadSeek,
    len: u64,
    cx: &mut Cx<'_>,
    e: &Entry,
    local: u64,
    storage: bool,
) -> Option<(u64, u64)> {
    let mut e = Entry {
        name: e.name.clone(),
        orig: e.orig.clone(),
        ..*e
    };
    if e.orig != e.name {
        cx.report(
            Code::ZipMalformed,
            Some(local),
            format!(
                "member name '{}' holds a NUL: zipfile reads it as '{}', miniz (torch.load) by the whole name",
                e.orig.escape_debug(),
                e.name
            ),
            ev! {"name" => e.orig, "zipfile_name" => e.name},
        );
    }
    let mut lh = [0u8; 30];
    if read_at(src, local, &mut lh).is_err() || &lh[..4] != LOC_SIG {
        cx.report(
            Code::ZipMalformed,
            Some(local),
            format!("member '{}': no local header at offset {local}", e.name),
            ev! {"name" => e.name, "offset" => local},
        );
        return None;
    }
    let lname_len = le16(&lh, 26);
    let lextra_len = le16(&lh, 28);
    let mut lname = vec![0u8; lname_len as usize];
    if read_at(src, local.saturating_add(30), &mut lname).is_err() {
        cx.report(
            Code::ZipMalformed,
            Some(local),
            format!("member '{}': local name truncated", e.name),
            ev! {"name" => e.name},
        );
        return None;
    }
    // zipfile decodes the local name by the local header's own UTF-8 flag.
    let lname_s = if le16(&lh, 6) & 0x800 != 0 {
        String::from_utf8_lossy(&lname).into_owned()
    } else {
        lname.iter().map(|&b| cp437(b)).collect()
    };
    if lname_s != e.orig {
        cx.report(
            Code::ZipNameMismatch,
            Some(local),
            format!(
                "member '{}' is named '{}' in its local header",
                e.name, lname_s
            ),
            ev! {"central" => e.name, "local" => lname_s},
        );
    }
    let odd_flags = e.flags & !(0x0002 | 0x0004 | 0x0008 | 0x0800);
    if odd_flags != 0 {
        cx.report(
            Code::ZipFlagAnomaly,
            Some(local),
            format!(
                "member '{}' has general-purpose flags {:#06x}{}",
                e.name,
                e.flags,
                if e.flags & 1 != 0 {
                    " (encrypted bit)"
                } else {
                    ""
                }
            ),
            ev! {"name" => e.name, "flags" => e.flags},
        );
    }
    let data = local
        .saturating_add(30)
        .saturating_add(lname_len)
        .saturating_add(lextra_len);
    let mut end = data.saturating_add(e.csize);
    if end > len {
        cx.report(
            Code::ZipMalformed,
            Some(local),
            format!("member '{}' extends past the end of the file", e.name),
            ev! {"name" => e.name, "compressed_size" => e.csize},
        );
        if e.method == 0 {
            // A stored member: zipfile reads its uncompressed size and stops there, whatever
            // the compressed size says. Those bytes are what it loads.
            let short = data.saturating_add(e.usize);
            if short > len {
                return None;
            }
            e.csize = e.usize;
            end = short;
        } else {
            // A compressed one: zipfile feeds the decompressor what the file holds and reads
            // to the end of the compressed stream.
            e.csize = len.saturating_sub(data);
            end = len;
        }
    }
    if storage || e.name.ends_with('/') && e.usize == 0 {
        return Some((local, end));
    }
    let name = e.name.clone();
    cx.nest(name.clone(), |cx| {
        let mut win = Window::new(src, data, e.csize);
        let small = e.usize <= cx.limits.small_member && e.csize <= cx.limits.small_member;
        let method = e.method;
        let budget = if method == 0 {
            u64::MAX
        } else {
            cx.decompress_budget()
        };
        let decoder: Box<dyn Read + '_> = match method {
            0 => Box::new(&mut win),
            8 => Box::new(flate2::read::DeflateDecoder::new(&mut win)),
            12 => Box::new(bzip2::read::BzDecoder::new(&mut win)),
            93 => match ruzstd::decoding::StreamingDecoder::new(&mut win) {
                Ok(d) => Box::new(d),
                Err(err) => {
                    cx.report(
                        Code::CompressionError,
                        None,
                        format!("zstd member: {err}"),
                        ev! {},
                    );
                    return;
                }
            },
            14 => {
                let mut hdr = [0u8; 9];
                if win.read_exact(&mut hdr).is_err() {
                    cx.report(
                        Code::CompressionError,
                        None,
                        "lzma member header truncated",
                        ev! {},
                    );
                    return;
                }
                let dict = u32::from_le_bytes([hdr[5], hdr[6], hdr[7], hdr[8]]);
                let size = if e.flags & 2 != 0 { u64::MAX } else { e.usize };
                match lzma_rust2::LzmaReader::new_with_props(&mut win, size, hdr[4], dict, None) {
                    Ok(d) => Box::new(d),
                    Err(err) => {
                        cx.report(
                            Code::CompressionError,
                            None,
                            format!("lzma member: {err}"),
                            ev! {},
                        );
                        return;
                    }
                }
            }
            m => {
                cx.report(
                    Code::ZipEncrypted,
                    None,
                    format!("compression method {m} is not supported; member not inspected"),
                    ev! {"method" => m},
                );
                return;
            }
        };
        let mut rd = Limited::new(decoder, budget);
        if small {
            // Read whole: check the CRC, then inspect from memory.
            let mut buf = Vec::with_capacity(e.usize as usize);
            let mut res = (&mut rd)
                .take(cx.limits.small_member.saturating_add(1))
                .read_to_end(&mut buf);
            cx.decompressed =
                cx.decompressed
                    .saturating_add(if method == 0 { 0 } else { rd.produced });
            drop(rd);
            if method == 14 && res.is_err() {
                // zipfile's LZMA decompressor reads to the end marker or the end of the data,
                // whatever the sizes and the end-marker flag say: the other reading too.
                let size = if e.flags & 2 != 0 { e.usize } else { u64::MAX };
                let mut other = Vec::new();
                let again = lzma_whole(&mut win, size, cx.limits.small_member, &mut other);
                cx.decompressed = cx.decompressed.saturating_add(other.len() as u64);
                if other.len() > buf.len() {
                    buf = other;
                    res = again;
                }
            }
            if let Err(err) = res {
                cx.io_error(Code::CompressionError, "decompressing member", &err);
            }
            let crc = crc32fast::hash(&buf);
            if crc != e.crc {
                cx.report(
                    Code::ZipCrcMismatch,
                    None,
                    format!("CRC-32 is {crc:08x}, the directory says {:08x}", e.crc),
                    ev! {"expected" => format!("{:08x}", e.crc), "actual" => format!("{crc:08x}")},
                );
            }
            let blen = buf.len() as u64;
            let mut c = Cursor::new(buf);
            match Input::seekable(&mut c, blen) {
                Ok(mut inp) => {
                    inspect_member(&mut inp, cx, Some(&name));
                }
                Err(err) => cx.io_error(Code::ReadError, "reading member", &err),
            }
        } else if method == 0 {
            drop(rd);
            match Input::seekable(&mut win, e.csize) {
                Ok(mut inp) => {
                    inspect_member(&mut inp, cx, Some(&name));
                }
                Err(err) => cx.io_error(Code::ReadError, "reading member", &err),
            }
        } else {
            let produced = match Input::stream(&mut rd) {
                Ok(mut inp) => {
                    inspect_member(&mut inp, cx, Some(&name));
                    0
                }
                Err(err) => {
                    cx.io_error(Code::CompressionError, "decompressing member", &err);
                    0
                }
            };
            cx.decompressed = cx.decompressed.saturating_add(produced.max(rd.produced));
        }
    });
    Some((local, end))
}
