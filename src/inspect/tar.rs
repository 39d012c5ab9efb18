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

    /// Up to `max` bytes at `at`, fewer where the archive ends (nothing past its end).
    pub fn read_upto(&mut self, at: u64, max: u64) -> io::Result<Vec<u8>> {
        match self {
            Src::Seek { src, len } => {
                let n = len.saturating_sub(at).min(max);
                let mut buf = vec![0u8; usize::try_from(n).unwrap_or(0)];
                read_at(&mut **src, at, &mut buf)?;
                Ok(buf)
            }
            Src::Stream { .. } => {
                match self.skip_to(at) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Vec::new()),
                    Err(e) => return Err(e),
                }
                let mut buf = Vec::new();
                if let Src::Stream { r, pos } = self {
                    (&mut **r).take(max).read_to_end(&mut buf)?;
                    *pos = pos.saturating_add(buf.len() as u64);
                }
                Ok(buf)
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

/// Largest sparse member reassembled in memory (tarfile reads it as one file).
const MAX_SPARSE: u64 = 64 << 20;
/// Longest chain of extended headers before one member (tarfile recurses once per header).
const MAX_CHAIN: u32 = 64;

/// `int(text)` as Python reads a pax number or a sparse map entry: surrounding whitespace, a
/// sign, underscores singly between digits. `None` where Python raises.
fn py_int(v: &[u8]) -> Option<i64> {
    let t = std::str::from_utf8(v).ok()?.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if !body.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return None;
    }
    let v = modelgate_pickle::python_digits(body, 10)?;
    if neg {
        v.checked_neg()
    } else {
        Some(v)
    }
}

/// Python's `float(text)` accepts what `int` does and more (mtime, atime, ctime).
fn py_float_ok(v: &str) -> bool {
    let t = v.trim();
    t.parse::<f64>().is_ok() || py_int(t.as_bytes()).is_some()
}

/// Pax records as `tarfile._proc_pax` reads them: `"%d %s=%s\n"`, each record's length
/// deciding where the next starts (a value may hold newlines). `Err` where a record's length
/// is 0 (tarfile raises InvalidHeaderError there).
fn pax_records(b: &[u8]) -> Result<Vec<(String, String)>, ZeroLength> {
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
        // A length too large for memory slices to the end, as Python's does.
        let length: usize = std::str::from_utf8(rest.get(..digits).unwrap_or_default())
            .ok()
            .map(|d| d.parse().unwrap_or(usize::MAX))
            .unwrap_or(0);
        if length == 0 {
            return Err(ZeroLength);
        }
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
        if out.len() >= 10_000 {
            break;
        }
        pos = pos.saturating_add(length);
    }
    Ok(out)
}

/// A pax record of length 0 (tarfile raises InvalidHeaderError).
#[derive(Debug)]
struct ZeroLength;

/// A dict of pax records in insertion order, a repeated key keeping its place.
fn pax_set(d: &mut Vec<(String, String)>, k: String, v: String) {
    match d.iter_mut().find(|(x, _)| *x == k) {
        Some(e) => e.1 = v,
        None => d.push((k, v)),
    }
}

fn pax_get<'d>(d: &'d [(String, String)], k: &str) -> Option<&'d str> {
    d.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str())
}

/// What `TarInfo.fromtarfile` raises, as `TarFile.next` tells them apart.
enum HeaderError {
    /// A block of zeros: the end of the archive.
    Eof,
    /// Nothing left to read.
    Empty,
    /// Less than a block left.
    Truncated,
    /// A checksum or number tarfile refuses: the end of the archive (a ReadError at offset 0).
    Invalid(String),
    /// Raised while reading the header after an extended header, or anything else tarfile
    /// raises: the whole archive fails to read.
    Fatal(String),
}

/// A member as `fromtarfile` returns it: `TarInfo` after every header before it was applied.
struct Info {
    name: String,
    kind: u8,
    /// `tarinfo.size`: the bytes `extractfile` reads (after pax and sparse headers).
    size: i64,
    /// The size the member's own header states.
    header_size: i64,
    offset_data: u64,
    sparse: Option<Vec<(i64, i64)>>,
    /// `tarfile.offset` after this member: where the next header is read.
    next: u64,
}

/// `TarInfo._block`: `count` rounded up to whole blocks (Python's floor division for negatives).
fn block_of(count: i64) -> i64 {
    let b = BLOCK as i64;
    count
        .div_euclid(b)
        .saturating_add(i64::from(count.rem_euclid(b) != 0))
        .saturating_mul(b)
}

fn offset_add(at: u64, n: i64) -> Result<u64, HeaderError> {
    at.checked_add_signed(n)
        .ok_or_else(|| HeaderError::Fatal("offset out of range".into()))
}

/// The tarfile walk: global pax records and the odd things seen on the way.
struct Walk<'v> {
    vis: &'v mut dyn Visit,
    global: Vec<(String, String)>,
}

impl Walk<'_> {
    fn odd(&mut self, at: u64, m: String, warn: bool) {
        self.vis.odd(at, m, warn);
    }

    /// `TarInfo._apply_pax_info`.
    fn apply_pax(info: &mut Info, pax: &[(String, String)]) -> Result<(), HeaderError> {
        for (k, v) in pax {
            match k.as_str() {
                "GNU.sparse.name" => info.name = v.clone(),
                "GNU.sparse.size" | "GNU.sparse.realsize" => {
                    info.size = py_int(v.as_bytes()).ok_or_else(|| {
                        HeaderError::Fatal(format!("pax record '{k}' is not a number"))
                    })?;
                }
                "path" => info.name = v.trim_end_matches('/').to_string(),
                "size" => info.size = py_int(v.as_bytes()).unwrap_or(0),
                "mtime" | "atime" | "ctime" => {
                    let _ = py_float_ok(v);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `TarInfo.fromtarfile` at `pos` (`depth` headers deep in a chain).
    fn tarinfo_at(&mut self, src: &mut Src<'_>, pos: u64, depth: u32) -> Result<Info, HeaderError> {
        if depth > MAX_CHAIN {
            return Err(HeaderError::Fatal(format!(
                "more than {MAX_CHAIN} extended headers before one member"
            )));
        }
        let got = src
            .read_upto(pos, BLOCK)
            .map_err(|e| HeaderError::Fatal(e.to_string()))?;
        let h: [u8; 512] = match got.len() {
            0 => return Err(HeaderError::Empty),
            512 => got.try_into().map_err(|_| HeaderError::Truncated)?,
            _ => return Err(HeaderError::Truncated),
        };
        if h.iter().all(|b| *b == 0) {
            return Err(HeaderError::Eof);
        }
        let (name, hsize, kind) = header(&h, pos).map_err(HeaderError::Invalid)?;
        let data = offset_add(pos, BLOCK as i64)?;
        let sub = |e: HeaderError| match e {
            HeaderError::Fatal(m) => HeaderError::Fatal(m),
            HeaderError::Eof => HeaderError::Fatal(format!(
                "an end block follows the extended header at offset {pos}"
            )),
            HeaderError::Empty | HeaderError::Truncated => HeaderError::Fatal(format!(
                "the archive ends after the extended header at offset {pos}"
            )),
            HeaderError::Invalid(m) => HeaderError::Fatal(m),
        };
        match kind {
            b'L' | b'K' | b'x' | b'X' | b'g' => {
                // tarfile reads the whole blocks: bytes in the padding count.
                let want = block_of(hsize);
                if want > 1 << 20 {
                    return Err(HeaderError::Fatal(
                        "extended header larger than 1 MiB".into(),
                    ));
                }
                let b = src
                    .read_upto(data, u64::try_from(want).unwrap_or(0))
                    .map_err(|e| HeaderError::Fatal(e.to_string()))?;
                let after = offset_add(data, want)?;
                if matches!(kind, b'L' | b'K') {
                    let mut next = self
                        .tarinfo_at(src, after, depth.saturating_add(1))
                        .map_err(sub)?;
                    if kind == b'L' {
                        next.name = cstr(&b);
                        if next.kind == b'5' {
                            if let Some(n) = next.name.strip_suffix('/') {
                                next.name = n.to_string();
                            }
                        }
                    }
                    return Ok(next);
                }
                let recs = match pax_records(&b) {
                    Ok(r) => r,
                    Err(_) => {
                        return Err(HeaderError::Invalid(format!(
                            "pax record of length 0 at offset {pos}"
                        )))
                    }
                };
                for k in ["path", "size"] {
                    if recs.iter().filter(|(x, _)| x == k).count() > 1 {
                        self.odd(
                            pos,
                            format!("pax header repeats '{k}'; tarfile takes the last"),
                            false,
                        );
                    }
                }
                let pax = if kind == b'g' {
                    for (k, _) in &recs {
                        if matches!(
                            k.as_str(),
                            "path"
                                | "size"
                                | "GNU.sparse.name"
                                | "GNU.sparse.size"
                                | "GNU.sparse.realsize"
                                | "GNU.sparse.map"
                        ) {
                            self.odd(
                                pos,
                                format!("a global pax header sets '{k}' for every later member"),
                                false,
                            );
                        }
                    }
                    for (k, v) in recs {
                        pax_set(&mut self.global, k, v);
                    }
                    self.global.clone()
                } else {
                    let mut p = self.global.clone();
                    for (k, v) in recs {
                        pax_set(&mut p, k, v);
                    }
                    p
                };
                let mut next = self
                    .tarinfo_at(src, after, depth.saturating_add(1))
                    .map_err(sub)?;
                // GNU sparse members in pax form (versions 0.1, 0.0 and 1.0, in tarfile's order).
                if let Some(map) = pax_get(&pax, "GNU.sparse.map") {
                    let nums: Option<Vec<i64>> =
                        map.split(',').map(|x| py_int(x.as_bytes())).collect();
                    let nums = nums.ok_or_else(|| {
                        HeaderError::Fatal("GNU.sparse.map holds a non-number".into())
                    })?;
                    next.sparse = Some(pairs(&nums));
                } else if pax_get(&pax, "GNU.sparse.size").is_some() {
                    next.sparse = Some(sparse_00(&b));
                } else if pax_get(&pax, "GNU.sparse.major") == Some("1")
                    && pax_get(&pax, "GNU.sparse.minor") == Some("0")
                {
                    let (map, start) = sparse_10(src, next.offset_data)?;
                    next.sparse = Some(map);
                    next.offset_data = start;
                }
                if kind != b'g' {
                    Self::apply_pax(&mut next, &pax)?;
                    if pax_get(&pax, "size").is_some() {
                        next.next = if has_data(next.kind) {
                            offset_add(next.offset_data, block_of(next.size))?
                        } else {
                            next.offset_data
                        };
                    }
                }
                Ok(next)
            }
            b'S' => {
                // Old GNU sparse: four map entries in the header, more in extension blocks.
                let mut map = Vec::new();
                for at in [386usize, 410, 434, 458] {
                    let (Some(o), Some(n)) = (num_at(&h, at), num_at(&h, at.saturating_add(12)))
                    else {
                        return Err(HeaderError::Invalid(format!(
                            "bad sparse map at offset {pos}"
                        )));
                    };
                    map.push((o, n));
                }
                let orig = tar_number(&h[483..495]).ok_or_else(|| {
                    HeaderError::Invalid(format!("bad sparse size at offset {pos}"))
                })?;
                let mut extended = h[482] != 0;
                let mut at = data;
                let mut blocks = 0u32;
                while extended {
                    let b = src
                        .read_upto(at, BLOCK)
                        .map_err(|e| HeaderError::Fatal(e.to_string()))?;
                    let Some(flag) = b.get(504) else {
                        return Err(HeaderError::Fatal(format!(
                            "sparse extension block truncated at offset {at}"
                        )));
                    };
                    for at in (0..21usize).map(|i| i.saturating_mul(24)) {
                        let (Some(o), Some(n)) =
                            (num_at(&b, at), num_at(&b, at.saturating_add(12)))
                        else {
                            return Err(HeaderError::Invalid(format!(
                                "bad sparse map at offset {at}"
                            )));
                        };
                        if o != 0 && n != 0 {
                            map.push((o, n));
                        }
                    }
                    extended = *flag != 0;
                    at = offset_add(at, BLOCK as i64)?;
                    blocks = blocks.saturating_add(1);
                    if blocks > 1 << 14 {
                        return Err(HeaderError::Fatal(
                            "too many sparse extension blocks".into(),
                        ));
                    }
                }
                Ok(Info {
                    name,
                    kind,
                    size: orig,
                    header_size: hsize,
                    offset_data: at,
                    sparse: Some(map),
                    next: offset_add(at, block_of(hsize))?,
                })
            }
            _ => {
                let mut info = Info {
                    name,
                    kind,
                    size: hsize,
                    header_size: hsize,
                    offset_data: data,
                    sparse: None,
                    next: if has_data(kind) {
                        offset_add(data, block_of(hsize))?
                    } else {
                        data
                    },
                };
                let global = std::mem::take(&mut self.global);
                let r = Self::apply_pax(&mut info, &global);
                self.global = global;
                r?;
                if info.kind == b'5' {
                    info.name = info.name.trim_end_matches('/').to_string();
                }
                Ok(info)
            }
        }
    }
}

/// A 12-byte number field at `at`, as `nti` reads it.
fn num_at(b: &[u8], at: usize) -> Option<i64> {
    b.get(at..at.checked_add(12)?).and_then(tar_number)
}

/// Numbers paired as `zip(l[::2], l[1::2])` pairs them.
fn pairs(nums: &[i64]) -> Vec<(i64, i64)> {
    nums.chunks_exact(2)
        .filter_map(|c| match c {
            [a, b] => Some((*a, *b)),
            _ => None,
        })
        .collect()
}

/// `_proc_gnusparse_00`: the offsets and sizes of the pax header's own records, paired.
fn sparse_00(buf: &[u8]) -> Vec<(i64, i64)> {
    let find = |key: &[u8]| {
        let mut out = Vec::new();
        let mut i = 0usize;
        while let Some(p) = memchr::memmem::find(buf.get(i..).unwrap_or_default(), key) {
            let at = i.saturating_add(p);
            // `\d+ ` before the key, `(\d+)\n` after it.
            let before = buf.get(..at).unwrap_or_default();
            let sp = before.last() == Some(&b' ')
                && before
                    .len()
                    .checked_sub(2)
                    .and_then(|i| before.get(i))
                    .is_some_and(u8::is_ascii_digit);
            let rest = buf.get(at.saturating_add(key.len())..).unwrap_or_default();
            let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            if sp && digits > 0 && rest.get(digits) == Some(&b'\n') {
                if let Some(v) = std::str::from_utf8(rest.get(..digits).unwrap_or_default())
                    .ok()
                    .and_then(|d| d.parse::<i64>().ok())
                {
                    out.push(v);
                }
                i = at.saturating_add(key.len()).saturating_add(digits);
            } else {
                i = at.saturating_add(1);
            }
        }
        out
    };
    let offs = find(b"GNU.sparse.offset=");
    let lens = find(b"GNU.sparse.numbytes=");
    offs.into_iter().zip(lens).collect()
}

/// `_proc_gnusparse_10`: the map at the start of the data, numbers one a line; returns it and
/// where the data starts after it.
fn sparse_10(src: &mut Src<'_>, at: u64) -> Result<(Vec<(i64, i64)>, u64), HeaderError> {
    let bad = |m: &str| HeaderError::Fatal(format!("GNU sparse 1.0 map at offset {at}: {m}"));
    let mut pos = at;
    let mut buf = src
        .read_upto(pos, BLOCK)
        .map_err(|e| HeaderError::Fatal(e.to_string()))?;
    pos = pos.saturating_add(buf.len() as u64);
    let nl = memchr::memchr(b'\n', &buf).ok_or_else(|| bad("no line"))?;
    let fields = py_int(buf.get(..nl).unwrap_or_default()).ok_or_else(|| bad("not a number"))?;
    buf.drain(..=nl);
    let want = usize::try_from(fields.max(0).saturating_mul(2)).unwrap_or(usize::MAX);
    let mut nums = Vec::new();
    while nums.len() < want {
        if memchr::memchr(b'\n', &buf).is_none() {
            let more = src
                .read_upto(pos, BLOCK)
                .map_err(|e| HeaderError::Fatal(e.to_string()))?;
            pos = pos.saturating_add(more.len() as u64);
            buf.extend(more);
        }
        let nl = memchr::memchr(b'\n', &buf).ok_or_else(|| bad("map cut short"))?;
        nums.push(py_int(buf.get(..nl).unwrap_or_default()).ok_or_else(|| bad("not a number"))?);
        buf.drain(..=nl);
        if nums.len() > 1 << 20 {
            return Err(bad("too many entries"));
        }
    }
    Ok((pairs(&nums), pos))
}

/// A sparse member's bytes as tarfile's `_FileInFile` reads them: holes of zeros, data from
/// the stored chunks one after another from `offset_data`.
fn sparse_content(src: &mut Src<'_>, info: &Info, map: &[(i64, i64)]) -> Result<Vec<u8>, String> {
    let size = u64::try_from(info.size).unwrap_or(0);
    if size > MAX_SPARSE {
        return Err(format!(
            "sparse member '{}' of {size} bytes exceeds the {MAX_SPARSE}-byte limit for reassembly",
            info.name
        ));
    }
    // (data, start, stop, position of its bytes relative to offset_data)
    let mut segs: Vec<(bool, i64, i64, i64)> = Vec::new();
    let (mut last, mut real) = (0i64, 0i64);
    for &(o, n) in map {
        if o > last {
            segs.push((false, last, o, 0));
        }
        segs.push((true, o, o.saturating_add(n), real));
        real = real.saturating_add(n);
        last = o.saturating_add(n);
    }
    if last < info.size {
        segs.push((false, last, info.size, 0));
    }
    let stored_max = segs
        .iter()
        .filter(|s| s.0)
        .map(|s| s.3.saturating_add(s.2.saturating_sub(s.1)))
        .max()
        .unwrap_or(0);
    let stored = src
        .read_upto(
            info.offset_data,
            u64::try_from(stored_max).unwrap_or(0).min(MAX_SPARSE),
        )
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(size as usize);
    let (mut p, mut idx) = (0i64, 0usize);
    while p < info.size {
        let mut tries = 0usize;
        let seg = loop {
            let Some(s) = segs.get(idx) else {
                return Err(format!("sparse member '{}' has no map entry", info.name));
            };
            if s.1 <= p && p < s.2 {
                break *s;
            }
            idx = idx.saturating_add(1).checked_rem(segs.len()).unwrap_or(0);
            tries = tries.saturating_add(1);
            if tries > segs.len() {
                return Err(format!(
                    "sparse member '{}': no map entry holds offset {p}; tarfile never finishes reading it",
                    info.name
                ));
            }
        };
        let len = info.size.saturating_sub(p).min(seg.2.saturating_sub(p));
        if seg.0 {
            let from = seg.3.saturating_add(p.saturating_sub(seg.1));
            let bytes = usize::try_from(from)
                .ok()
                .and_then(|f| stored.get(f..f.checked_add(usize::try_from(len).ok()?)?))
                .ok_or_else(|| {
                    format!(
                        "sparse member '{}' reads past the end of the archive",
                        info.name
                    )
                })?;
            out.extend_from_slice(bytes);
        } else {
            out.resize(
                out.len().saturating_add(usize::try_from(len).unwrap_or(0)),
                0,
            );
        }
        p = p.saturating_add(len);
    }
    Ok(out)
}

/// Walk the archive as Python's `tarfile` does (torch's legacy loader, NeMo, WebDataset): the
/// same headers, the same member names, sizes and sparse maps, the same place for the next
/// header; every point where another tar reader would read the bytes differently is reported.
pub fn walk(src: &mut Src<'_>, vis: &mut dyn Visit) -> Result<(), String> {
    let mut w = Walk {
        vis,
        global: Vec::new(),
    };
    let mut pos = 0u64;
    loop {
        let info = match w.tarinfo_at(src, pos, 0) {
            Ok(i) => i,
            Err(HeaderError::Eof) => return Ok(()),
            Err(HeaderError::Empty | HeaderError::Truncated) => {
                return Err(if pos == 0 {
                    "empty or truncated archive".to_string()
                } else {
                    format!("archive ends without its end blocks at offset {pos}")
                })
            }
            Err(HeaderError::Invalid(m) | HeaderError::Fatal(m)) => return Err(m),
        };
        let Info { ref name, kind, .. } = info;
        let size_u = u64::try_from(info.size).unwrap_or(0);
        let hsize_u = u64::try_from(info.header_size).unwrap_or(0);
        if has_data(kind) && size_u != hsize_u && info.sparse.is_none() {
            w.odd(pos, format!("member '{name}': tarfile reads {size_u} bytes, the header says {hsize_u}; other tar readers take the header"), false);
        }
        if !has_data(kind) && hsize_u > 0 {
            w.odd(pos, format!("member '{name}' of type '{}' declares {hsize_u} bytes of data: tarfile reads the next header right after it, other readers skip the data", char::from(kind)), false);
        }
        if has_data(kind) && !matches!(kind, b'0' | 0 | b'7' | b'S') {
            w.odd(
                pos,
                format!(
                    "member '{name}' has typeflag {:?}: tarfile extracts it as a regular file",
                    char::from(kind)
                ),
                true,
            );
        }
        if has_data(kind) {
            if let Some(map) = &info.sparse {
                let trivial = map.as_slice() == [(0, info.size)] && info.size == info.header_size
                    || map.iter().all(|m| *m == (0, 0)) && info.size == 0;
                w.odd(pos, format!("member '{name}' is sparse: tarfile reassembles {size_u} bytes from a map of {} entries, other readers take the stored bytes", map.len()), trivial);
                let content = sparse_content(src, &info, map)?;
                let len = content.len() as u64;
                let mut c = io::Cursor::new(content);
                let mut mem = Src::Seek { src: &mut c, len };
                if !w.vis.member(&mut mem, 0, len, name, kind) {
                    return Ok(());
                }
            } else {
                if !src.fits(info.offset_data.checked_add(size_u)) {
                    return Err(format!(
                        "member '{name}' extends past the end of the archive"
                    ));
                }
                if !w.vis.member(src, info.offset_data, size_u, name, kind) {
                    return Ok(());
                }
            }
            if src.position().is_some_and(|p| p > info.next) {
                return Err(format!("the next header (offset {}) lies inside the data just read from a stream; it cannot be read again", info.next));
            }
        }
        if info.next <= pos {
            return Err(format!("the header after offset {pos} would be read at offset {}: tarfile reads the same headers again without end", info.next));
        }
        pos = info.next;
    }
}

fn header(h: &[u8; 512], pos: u64) -> Result<(String, i64, u8), String> {
    if !tar_checksum_ok(h) {
        return Err(format!("bad header checksum at offset {pos}"));
    }
    // frombuf reads every number field; one tarfile cannot read ends the archive there.
    for (a, b, what) in [
        (100, 108, "mode"),
        (108, 116, "uid"),
        (116, 124, "gid"),
        (136, 148, "mtime"),
        (329, 337, "devmajor"),
        (337, 345, "devminor"),
    ] {
        if h.get(a..b).and_then(tar_number).is_none() {
            return Err(format!("bad {what} field at offset {pos}"));
        }
    }
    let size = tar_number(&h[124..136]).ok_or_else(|| format!("bad size field at offset {pos}"))?;
    let mut name = cstr(&h[0..100]);
    let mut kind = h[156];
    // A v7 directory: a regular file whose (own) name ends in '/'.
    if kind == 0 && name.ends_with('/') {
        kind = b'5';
    }
    if kind == b'5' {
        name = name.trim_end_matches('/').to_string();
    }
    // tarfile prepends the prefix field whatever the magic, except for GNU's own headers.
    let prefix = cstr(&h[345..500]);
    if !prefix.is_empty() && !matches!(kind, b'L' | b'K' | b'S') {
        name = format!("{prefix}/{name}");
    }
    Ok((name, size, kind))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_by_length() {
        let r = pax_records(b"11 path=ab\n15 comment=x\ny\n11 size=42\n").unwrap();
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
        let r = pax_records(&h).unwrap();
        assert_eq!(r.len(), 10_000);
    }
}
