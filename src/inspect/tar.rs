//! Tar archives (legacy PyTorch tar checkpoints, WebDataset-style shards): every member is
//! inspected by content.

use super::{inspect as inspect_member, Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::{tar_checksum_ok, tar_number, Format};
use crate::input::{read_at, Input, Limited, ReadSeek, Window};
use std::io::{self, Read};

const BLOCK: u64 = 512;

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|x| *x == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

/// What a walk hands to its user: the oddities where other tar readers would read the bytes
/// differently, and each member tarfile reads data for.
pub trait Visit {
    /// `warn`: an oddity tarfile resolves the lenient way (a member of an unknown type).
    fn odd(&mut self, at: u64, message: String, warn: bool);
    /// A member with data at `at`, `size` bytes, of typeflag `kind`; false stops the walk.
    fn member(&mut self, src: &mut Src<'_>, at: u64, size: u64, name: &str, kind: u8) -> bool;
}

/// The scan's view: every member is inspected by content.
struct Scan<'c, 'a> {
    cx: &'c mut Cx<'a>,
    names: Vec<String>,
}

impl Visit for Scan<'_, '_> {
    fn odd(&mut self, at: u64, message: String, warn: bool) {
        let severity = if warn {
            crate::finding::Severity::Warning
        } else {
            Code::TarMalformed.default_severity()
        };
        self.cx
            .report_as(Code::TarMalformed, severity, Some(at), message, ev! {});
    }
    fn member(&mut self, src: &mut Src<'_>, at: u64, size: u64, name: &str, _kind: u8) -> bool {
        if !self.cx.count_entry() {
            return false;
        }
        self.cx.nest(name, |cx| src.member(cx, at, size, name));
        if self.names.len() < 16 {
            self.names.push(name.to_string());
        }
        true
    }
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    let len = input.len;
    let mut v = Scan {
        cx,
        names: Vec::new(),
    };
    let res = match (len, input.source()) {
        (Some(len), Some(src)) => walk(&mut Src::Seek { src, len }, &mut v),
        _ => match input.reader() {
            Ok(mut r) => walk(&mut Src::Stream { r: &mut r, pos: 0 }, &mut v),
            Err(e) => Err(e.to_string()),
        },
    };
    let names = v.names;
    if let Err(m) = res {
        cx.report(Code::TarMalformed, None, m, ev! {});
    }
    // torch.load's legacy_load reads a tar holding these members as a checkpoint.
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("storages") && has("tensors") && has("pickle") {
        return Identified {
            format: Format::TorchLegacy,
            label: "torch-legacy-tar",
        };
    }
    Format::Tar.into()
}

/// Where the archive comes from: random access (members are windows, skipped data is never
/// read) or a stream read front to back.
pub enum Src<'a> {
    Seek { src: &'a mut dyn ReadSeek, len: u64 },
    Stream { r: &'a mut dyn Read, pos: u64 },
}

impl Src<'_> {
    /// Position a stream at `pos` (never backwards) by reading past what lies between.
    fn skip_to(&mut self, to: u64) -> io::Result<()> {
        if let Src::Stream { r, pos } = self {
            let gap = to.saturating_sub(*pos);
            let n = io::copy(&mut (&mut **r).take(gap), &mut io::sink())?;
            *pos = pos.saturating_add(n);
            if n < gap {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    /// `buf.len()` bytes at `at` (a stream never goes back).
    pub fn read(&mut self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        match self {
            Src::Seek { src, .. } => read_at(&mut **src, at, buf),
            Src::Stream { .. } => {
                self.skip_to(at)?;
                if let Src::Stream { r, pos } = self {
                    r.read_exact(buf)?;
                    *pos = pos.saturating_add(buf.len() as u64);
                }
                Ok(())
            }
        }
    }

    /// How far a stream has been read (`None` for random access, which can go back).
    fn position(&self) -> Option<u64> {
        match self {
            Src::Seek { .. } => None,
            Src::Stream { pos, .. } => Some(*pos),
        }
    }

    fn fits(&self, end: Option<u64>) -> bool {
        match self {
            Src::Seek { len, .. } => end.is_some_and(|e| e <= *len),
            Src::Stream { .. } => end.is_some(),
        }
    }

    fn member(&mut self, cx: &mut Cx<'_>, at: u64, size: u64, name: &str) {
        // torch.load's legacy_load extracts these two by name and reads them its own way.
        let inspect_member = |inp: &mut Input<'_>, cx: &mut Cx<'_>, name: Option<&str>| match name {
            Some(n @ ("storages" | "tensors")) => {
                super::pickle::torch_tar_member(inp, cx, n);
            }
            _ => {
                inspect_member(inp, cx, name);
            }
        };
        let res = match self {
            Src::Seek { src, .. } => {
                let mut win = Window::new(&mut **src, at, size);
                Input::seekable(&mut win, size).map(|mut inp| {
                    inspect_member(&mut inp, cx, Some(name));
                })
            }
            Src::Stream { .. } => self.skip_to(at).and_then(|()| {
                let Src::Stream { r, pos } = self else {
                    return Ok(());
                };
                let mut m = Limited::new((&mut **r).take(size), u64::MAX);
                let res = Input::stream(&mut m).map(|mut inp| {
                    inspect_member(&mut inp, cx, Some(name));
                });
                *pos = pos.saturating_add(m.produced);
                res
            }),
        };
        if let Err(e) = res {
            cx.io_error(Code::ReadError, "reading tar member", &e);
        }
    }
}

/// Typeflags Python's `tarfile` reads data for: the regular ones (`0`, NUL, `7`, `S`) and every
/// type it does not know (extracted as regular files).
fn has_data(t: u8) -> bool {
    matches!(t, b'0' | 0 | b'7' | b'S') || !b"LKS1234567xgX".contains(&t)
}

/// Pax records as `tarfile._proc_pax` reads them: `"%d %s=%s\n"`, each record's length
/// deciding where the next starts (a value may hold newlines).
fn pax_records(b: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    // Where each '=' is, found once: looking for the next one from every record would be
    // quadratic in a header of short records whose keys all run to one distant '='.
    let eqs: Vec<usize> = memchr::memchr_iter(b'=', b).collect();
    loop {
        let rest = b.get(pos..).unwrap_or_default();
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || rest.get(digits) != Some(&b' ') {
            break;
        }
        let key_from = pos.saturating_add(digits).saturating_add(1);
        let next_eq = eqs.get(eqs.partition_point(|e| *e < key_from)).copied();
        let Some(key_len) = next_eq
            .map(|e| e.saturating_sub(key_from))
            .filter(|n| *n > 0)
        else {
            break;
        };
        let length: usize = std::str::from_utf8(rest.get(..digits).unwrap_or_default())
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        let key_start = digits.saturating_add(1);
        let key_end = key_start.saturating_add(key_len);
        // Keys that matter are short; a longer one is kept as its first 256 bytes (decoding
        // each whole would make a header of short records quadratic again).
        let key_bytes = rest.get(key_start..key_end).unwrap_or_default();
        let key = String::from_utf8_lossy(key_bytes.get(..256).unwrap_or(key_bytes));
        // value = buf[end of key + 1 : start of record + length - 1], clamped as Python slices.
        let v_start = key_end.saturating_add(1);
        let v_end = length.saturating_sub(1).min(rest.len());
        let value = rest.get(v_start..v_end.max(v_start)).unwrap_or_default();
        out.push((
            key.into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
        if length == 0 || out.len() >= 10_000 {
            break;
        }
        pos = pos.saturating_add(length);
    }
    out
}

/// What a header before a member says about it.
enum Pending {
    LongName(String),
    Pax(Vec<(String, String)>),
}

/// Python's `int(value)` for a pax number; `tarfile` takes 0 when it fails.
fn pax_int(v: &str) -> i64 {
    let t: String = v.trim().chars().filter(|c| *c != '_').collect();
    t.parse().unwrap_or(0)
}

/// Walk the archive as Python's `tarfile` does (torch's legacy loader, NeMo, WebDataset): the
/// same headers, the same member names and sizes, the same place for the next header; every
/// point where another tar reader would read the bytes differently is reported.
pub fn walk(src: &mut Src<'_>, vis: &mut dyn Visit) -> Result<(), String> {
    let mut pos = 0u64;
    let mut global: Vec<(String, String)> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let odd = |v: &mut dyn Visit, at: u64, m: String, warn: bool| v.odd(at, m, warn);
    loop {
        let mut h = [0u8; 512];
        if src.read(pos, &mut h).is_err() {
            return Err(format!(
                "archive ends without its end blocks at offset {pos}"
            ));
        }
        if h.iter().all(|b| *b == 0) {
            if !pending.is_empty() {
                return Err(format!("extended header without a member at offset {pos}"));
            }
            return Ok(());
        }
        let (mut name, hsize, mut kind) = header(&h, pos)?;
        if kind == 0 && name.ends_with('/') {
            kind = b'5';
        }
        let data = pos.checked_add(BLOCK).ok_or("offset overflows")?;
        let hsize_u = u64::try_from(hsize).unwrap_or(0);
        let skip = |n: u64| data.checked_add(n.div_ceil(BLOCK).saturating_mul(BLOCK));
        match kind {
            b'L' | b'K' | b'x' | b'X' | b'g' => {
                if hsize_u > 1 << 20 {
                    return Err("extended header larger than 1 MiB".into());
                }
                let mut b = vec![0u8; hsize_u as usize];
                src.read(data, &mut b).map_err(|e| e.to_string())?;
                match kind {
                    b'L' => pending.push(Pending::LongName(cstr(&b))),
                    b'K' => {}
                    b'g' => {
                        // A global header changes every member after it.
                        for (k, v) in pax_records(&b) {
                            if k == "path" || k == "size" {
                                odd(
                                    vis,
                                    pos,
                                    format!(
                                        "a global pax header sets '{k}' for every later member"
                                    ),
                                    false,
                                );
                            }
                            global.retain(|(x, _)| *x != k);
                            global.push((k, v));
                        }
                    }
                    _ => {
                        let recs = pax_records(&b);
                        for k in ["path", "size"] {
                            if recs.iter().filter(|(x, _)| x == k).count() > 1 {
                                odd(
                                    vis,
                                    pos,
                                    format!("pax header repeats '{k}'; tarfile takes the last"),
                                    false,
                                );
                            }
                        }
                        pending.push(Pending::Pax(recs));
                    }
                }
                pos = skip(hsize_u).ok_or("offset overflows")?;
                continue;
            }
            _ => {}
        }
        // The member: tarfile applies the global pax records, then the headers before it,
        // the nearest first (so the first header of the chain has the last word).
        let mut size = hsize;
        let mut size_from_pax = false;
        let apply = |recs: &[(String, String)], name: &mut String, size: &mut i64| {
            let mut sized = false;
            for (k, v) in recs {
                match k.as_str() {
                    "path" => *name = v.trim_end_matches('/').to_string(),
                    "size" => {
                        *size = pax_int(v);
                        sized = true;
                    }
                    _ => {}
                }
            }
            sized
        };
        apply(&global, &mut name, &mut size);
        for p in pending.drain(..).rev() {
            match p {
                Pending::LongName(n) => name = n,
                Pending::Pax(recs) => size_from_pax |= apply(&recs, &mut name, &mut size),
            }
        }
        let size_u = u64::try_from(size).unwrap_or(0);
        // Where tarfile looks for the next header: after the header's size, or the pax size
        // when a member's own pax header set one.
        let stride = if !has_data(kind) {
            0
        } else if size_from_pax {
            size_u
        } else {
            hsize_u
        };
        if has_data(kind) && size_u != hsize_u {
            odd(
                vis,
                pos,
                format!("member '{name}': tarfile reads {size_u} bytes, the header says {hsize_u}; other tar readers take the header"),
                false,
            );
        }
        if !has_data(kind) && hsize_u > 0 {
            odd(
                vis,
                pos,
                format!("member '{name}' of type '{}' declares {hsize_u} bytes of data: tarfile reads the next header right after it, other readers skip the data", char::from(kind)),
                false,
            );
        }
        if has_data(kind) && !matches!(kind, b'0' | 0 | b'7') {
            odd(
                vis,
                pos,
                format!(
                    "member '{name}' has typeflag {:?}: tarfile extracts it as a regular file",
                    char::from(kind)
                ),
                true,
            );
        }
        if has_data(kind) {
            if !src.fits(data.checked_add(size_u)) {
                return Err(format!(
                    "member '{name}' extends past the end of the archive"
                ));
            }
            if !vis.member(src, data, size_u, &name, kind) {
                return Ok(());
            }
            let next = skip(stride).ok_or("member size overflows")?;
            if src.position().is_some_and(|p| p > next) {
                return Err(format!("the next header (offset {next}) lies inside the data just read from a stream; it cannot be read again"));
            }
            pos = next;
        } else {
            pos = data;
        }
    }
}

fn header(h: &[u8; 512], pos: u64) -> Result<(String, i64, u8), String> {
    if !tar_checksum_ok(h) {
        return Err(format!("bad header checksum at offset {pos}"));
    }
    let size = tar_number(&h[124..136]).ok_or_else(|| format!("bad size field at offset {pos}"))?;
    let mut name = cstr(&h[0..100]);
    // tarfile prepends the prefix field whatever the magic, except for GNU's own headers.
    let prefix = cstr(&h[345..500]);
    if !prefix.is_empty() && !matches!(h[156], b'L' | b'K' | b'S') {
        name = format!("{prefix}/{name}");
    }
    Ok((name, size, h[156]))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_by_length() {
        let r = pax_records(b"11 path=ab\n15 comment=x\ny\n11 size=42\n");
        assert_eq!(
            r,
            vec![
                ("path".to_string(), "ab".to_string()),
                ("comment".to_string(), "x\ny".to_string()),
                ("size".to_string(), "42".to_string()),
            ]
        );
        // Short records whose keys all reach one distant '=': each is read in constant time
        // (and the record cap holds).
        let mut h = b"3 a".repeat(300_000);
        h.extend(b"=x\n");
        let r = pax_records(&h);
        assert_eq!(r.len(), 10_000);
    }
}
