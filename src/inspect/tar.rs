//! Tar archives (legacy PyTorch tar checkpoints, WebDataset-style shards): every member is
//! inspected by content.

use super::{inspect as inspect_member, Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::{parse_octal, tar_checksum_ok, Format};
use crate::input::{read_at, Input, Limited, ReadSeek, Window};
use std::io::{self, Read};

const BLOCK: u64 = 512;

fn size_field(f: &[u8]) -> Option<u64> {
    match f.first() {
        // GNU base-256 for large sizes.
        Some(b) if b & 0x80 != 0 => {
            let mut v: u64 = u64::from(b & 0x7f);
            for x in f.get(1..)? {
                v = v.checked_mul(256)?.checked_add(u64::from(*x))?;
            }
            Some(v)
        }
        _ => parse_octal(f).or(Some(0).filter(|_| f.iter().all(|b| *b == 0 || *b == b' '))),
    }
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|x| *x == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    let len = input.len;
    let mut names = Vec::new();
    let res = match (len, input.source()) {
        (Some(len), Some(src)) => walk(&mut Src::Seek { src, len }, cx, &mut names),
        _ => match input.reader() {
            Ok(mut r) => walk(&mut Src::Stream { r: &mut r, pos: 0 }, cx, &mut names),
            Err(e) => Err(e.to_string()),
        },
    };
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
enum Src<'a> {
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

    fn read(&mut self, at: u64, buf: &mut [u8]) -> io::Result<()> {
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

fn walk(src: &mut Src<'_>, cx: &mut Cx<'_>, names: &mut Vec<String>) -> Result<(), String> {
    let mut pos = 0u64;
    // GNU long names and pax records apply to the next member.
    let mut next_name: Option<String> = None;
    let mut next_size: Option<u64> = None;
    loop {
        let mut h = [0u8; 512];
        if src.read(pos, &mut h).is_err() {
            return Err(format!(
                "archive ends without its end blocks at offset {pos}"
            ));
        }
        if h.iter().all(|b| *b == 0) {
            return Ok(());
        }
        let (name, size, kind) = header(&h, pos)?;
        let regular = matches!(kind, b'0' | 0 | b'7');
        let size = if regular {
            next_size.take().unwrap_or(size)
        } else {
            size
        };
        let data = pos.checked_add(BLOCK).ok_or("offset overflows")?;
        if !src.fits(data.checked_add(size)) {
            return Err(format!(
                "member '{name}' extends past the end of the archive"
            ));
        }
        match kind {
            b'L' | b'x' => {
                if size > 1 << 20 {
                    return Err("extended header larger than 1 MiB".into());
                }
                let mut b = vec![0u8; size as usize];
                src.read(data, &mut b).map_err(|e| e.to_string())?;
                if kind == b'L' {
                    next_name = Some(cstr(&b));
                } else {
                    next_name = pax_value(&b, "path").or(next_name);
                    next_size = pax_value(&b, "size")
                        .and_then(|v| v.trim().parse().ok())
                        .or(next_size);
                }
            }
            _ if regular => {
                if !cx.count_entry() {
                    return Ok(());
                }
                let name = next_name.take().unwrap_or(name);
                cx.nest(name.clone(), |cx| src.member(cx, data, size, &name));
                if names.len() < 16 {
                    names.push(name);
                }
            }
            _ => {
                next_name = None;
                next_size = None;
            }
        }
        pos = data
            .checked_add(size.div_ceil(BLOCK).saturating_mul(BLOCK))
            .ok_or("member size overflows")?;
    }
}

fn header(h: &[u8; 512], pos: u64) -> Result<(String, u64, u8), String> {
    if !tar_checksum_ok(h) {
        return Err(format!("bad header checksum at offset {pos}"));
    }
    let size = size_field(&h[124..136]).ok_or_else(|| format!("bad size field at offset {pos}"))?;
    let mut name = cstr(&h[0..100]);
    if &h[257..262] == b"ustar" {
        let prefix = cstr(&h[345..500]);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
    }
    Ok((name, size, h[156]))
}

/// A pax record's value (`"<len> key=value\n"` lines). Python's tarfile lets `size` override
/// the header's size field, and `path` its name.
fn pax_value(b: &[u8], key: &str) -> Option<String> {
    let text = String::from_utf8_lossy(b);
    let prefix = format!("{key}=");
    text.lines()
        .find_map(|l| {
            l.split_once(' ')
                .and_then(|(_, kv)| kv.strip_prefix(prefix.as_str()))
        })
        .map(str::to_string)
}
