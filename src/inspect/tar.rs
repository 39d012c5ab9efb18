//! Tar archives (legacy PyTorch tar checkpoints, WebDataset-style shards): every member is
//! inspected by content.

use super::{inspect as inspect_member, Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::{parse_octal, Format};
use crate::input::{read_at, Input, ReadSeek, Window};
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

fn checksum_ok(h: &[u8; 512]) -> bool {
    let Some(stored) = parse_octal(&h[148..156]) else {
        return false;
    };
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    sum == stored
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|x| *x == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    let len = input.len;
    let res = match (len, input.source()) {
        (Some(len), Some(src)) => walk_seek(src, len, cx),
        _ => match input.reader() {
            Ok(mut r) => walk_stream(&mut r, cx),
            Err(e) => Err(e.to_string()),
        },
    };
    if let Err(m) = res {
        cx.report(Code::TarMalformed, None, m, ev! {});
    }
    Format::Tar.into()
}

/// Walk headers with random access: members are windows, skipped data is never read.
fn walk_seek(src: &mut dyn ReadSeek, len: u64, cx: &mut Cx<'_>) -> Result<(), String> {
    let mut pos = 0u64;
    let mut long_name: Option<String> = None;
    loop {
        let mut h = [0u8; 512];
        if read_at(src, pos, &mut h).is_err() {
            return Err(format!(
                "archive ends without its end blocks at offset {pos}"
            ));
        }
        if h.iter().all(|b| *b == 0) {
            return Ok(());
        }
        let (name, size, kind) = header(&h, pos)?;
        let data = pos.checked_add(BLOCK).ok_or("offset overflows")?;
        let next = data
            .checked_add(size.div_ceil(BLOCK).saturating_mul(BLOCK))
            .ok_or("member size overflows")?;
        if data.checked_add(size).is_none_or(|e| e > len) {
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
                read_at(src, data, &mut b).map_err(|e| e.to_string())?;
                long_name = if kind == b'L' {
                    Some(cstr(&b))
                } else {
                    pax_path(&b).or(long_name)
                };
            }
            b'0' | 0 | b'7' => {
                if !cx.count_entry() {
                    return Ok(());
                }
                let name = long_name.take().unwrap_or(name);
                cx.nest(name.clone(), |cx| {
                    let mut win = Window::new(src, data, size);
                    match Input::seekable(&mut win, size) {
                        Ok(mut inp) => {
                            inspect_member(&mut inp, cx, Some(&name));
                        }
                        Err(e) => cx.io_error(Code::ReadError, "reading tar member", &e),
                    }
                });
            }
            _ => long_name = None,
        }
        pos = next;
    }
}

fn header(h: &[u8; 512], pos: u64) -> Result<(String, u64, u8), String> {
    if !checksum_ok(h) {
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

fn pax_path(b: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(b);
    text.lines()
        .find_map(|l| {
            l.split_once(' ')
                .and_then(|(_, kv)| kv.strip_prefix("path="))
        })
        .map(str::to_string)
}

fn walk_stream(r: &mut dyn Read, cx: &mut Cx<'_>) -> Result<(), String> {
    let mut pos = 0u64;
    let mut long_name: Option<String> = None;
    loop {
        let mut h = [0u8; 512];
        if r.read_exact(&mut h).is_err() {
            return Err(format!(
                "archive ends without its end blocks at offset {pos}"
            ));
        }
        if h.iter().all(|b| *b == 0) {
            return Ok(());
        }
        let (name, size, kind) = header(&h, pos)?;
        let padded = size.div_ceil(BLOCK).saturating_mul(BLOCK);
        let mut body = r.take(padded);
        match kind {
            b'L' | b'x' => {
                if size > 1 << 20 {
                    return Err("extended header larger than 1 MiB".into());
                }
                let mut b = Vec::new();
                (&mut body)
                    .take(size)
                    .read_to_end(&mut b)
                    .map_err(|e| e.to_string())?;
                long_name = if kind == b'L' {
                    Some(cstr(&b))
                } else {
                    pax_path(&b).or(long_name)
                };
            }
            b'0' | 0 | b'7' => {
                if !cx.count_entry() {
                    return Ok(());
                }
                let name = long_name.take().unwrap_or(name);
                cx.nest(name.clone(), |cx| {
                    let mut m = (&mut body).take(size);
                    match Input::stream(&mut m) {
                        Ok(mut inp) => {
                            inspect_member(&mut inp, cx, Some(&name));
                        }
                        Err(e) => cx.io_error(Code::ReadError, "reading tar member", &e),
                    }
                });
            }
            _ => long_name = None,
        }
        io::copy(&mut body, &mut io::sink()).map_err(|e| e.to_string())?;
        pos = pos.saturating_add(BLOCK).saturating_add(padded);
    }
}
