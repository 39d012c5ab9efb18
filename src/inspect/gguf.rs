//! GGUF (llama.cpp) models: the metadata key/values are walked, and chat templates (Jinja2
//! rendered by the loader) are checked for server-side template injection.

use super::{Cx, Identified};
use crate::ev;
use crate::finding::Code;
use crate::identify::Format;
use crate::input::Input;
use std::io::{self, BufReader, Read};

const MAX_KV: u64 = 1 << 20;
const MAX_KEY: u64 = 1 << 16;
const MAX_TEMPLATE: u64 = 16 << 20;

struct R<T> {
    r: T,
    pos: u64,
}

impl<T: Read> R<T> {
    fn bytes<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        self.pos = self.pos.saturating_add(N as u64);
        Ok(b)
    }
    fn u32(&mut self) -> io::Result<u32> {
        self.bytes::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> io::Result<u64> {
        self.bytes::<8>().map(u64::from_le_bytes)
    }
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let got = io::copy(&mut (&mut self.r).take(n), &mut io::sink())?;
        self.pos = self.pos.saturating_add(got);
        if got < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
    fn string(&mut self, max: u64) -> io::Result<String> {
        let n = self.u64()?;
        if n > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("string of {n} bytes"),
            ));
        }
        let mut b = Vec::new();
        (&mut self.r).take(n).read_to_end(&mut b)?;
        self.pos = self.pos.saturating_add(b.len() as u64);
        if (b.len() as u64) < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
    fn skip_string(&mut self) -> io::Result<()> {
        let n = self.u64()?;
        self.skip(n)
    }
}

fn scalar_size(t: u32) -> Option<u64> {
    Some(match t {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        _ => return None,
    })
}

fn check_template(key: &str, t: &str, offset: u64, cx: &mut Cx<'_>) {
    let hits = super::jinja::injections(t);
    if !hits.is_empty() {
        cx.report(
            Code::GgufTemplateInjection,
            Some(offset),
            format!(
                "chat template '{key}' reaches Python internals ({})",
                hits.join(", ")
            ),
            ev! {"key" => key, "markers" => hits, "template_bytes" => t.len()},
        );
    }
}

fn walk<T: Read>(r: &mut R<T>, cx: &mut Cx<'_>) -> io::Result<()> {
    let magic = r.bytes::<4>()?;
    if &magic != b"GGUF" {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "no GGUF magic"));
    }
    let version = r.u32()?;
    let wide = match version {
        1 => false,
        2 | 3 => true,
        v => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unknown GGUF version {v}"),
            ))
        }
    };
    let count = |r: &mut R<T>| {
        if wide {
            r.u64()
        } else {
            r.u32().map(u64::from)
        }
    };
    let _tensors = count(r)?;
    let kvs = count(r)?;
    if kvs > MAX_KV {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{kvs} metadata entries"),
        ));
    }
    for _ in 0..kvs {
        let key = r.string(MAX_KEY)?;
        let t = r.u32()?;
        let at = r.pos;
        match t {
            8 if key == "tokenizer.chat_template"
                || key.starts_with("tokenizer.chat_template.") =>
            {
                let v = r.string(MAX_TEMPLATE)?;
                check_template(&key, &v, at, cx);
            }
            8 => r.skip_string()?,
            9 => {
                let et = r.u32()?;
                let n = r.u64()?;
                match (et, scalar_size(et)) {
                    (8, _) => {
                        for _ in 0..n {
                            r.skip_string()?;
                        }
                    }
                    (_, Some(sz)) => {
                        r.skip(n.checked_mul(sz).ok_or(io::ErrorKind::InvalidData)?)?
                    }
                    _ => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("array of type {et} in '{key}'"),
                        ))
                    }
                }
            }
            _ => match scalar_size(t) {
                Some(sz) => r.skip(sz)?,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("value type {t} in '{key}'"),
                    ))
                }
            },
        }
    }
    Ok(())
}

pub fn inspect(input: &mut Input<'_>, cx: &mut Cx<'_>) -> Identified {
    let res = input.reader().and_then(|rd| {
        walk(
            &mut R {
                r: BufReader::with_capacity(1 << 16, rd),
                pos: 0,
            },
            cx,
        )
    });
    if let Err(e) = res {
        cx.report(
            Code::GgufMalformed,
            None,
            format!("GGUF metadata cannot be read: {e}"),
            ev! {},
        );
    }
    Format::Gguf.into()
}
