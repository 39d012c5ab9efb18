//! What an inspector reads: a file, a window of an archive, or a decompressed stream.
//!
//! Seekable inputs (files, stored zip members) allow random access without loading anything;
//! streams (decompressed data) are read once, front to back. Every input keeps its first
//! [`HEAD_LEN`] bytes so that identification never consumes the stream.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used
)]

use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

/// Bytes kept from the start of every input for identification.
pub const HEAD_LEN: usize = 4096;

pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// A byte range `[start, start+len)` of a seekable parent, itself seekable from 0.
pub struct Window<'a> {
    inner: &'a mut dyn ReadSeek,
    start: u64,
    len: u64,
    pos: u64,
}

impl<'a> Window<'a> {
    pub fn new(inner: &'a mut dyn ReadSeek, start: u64, len: u64) -> Self {
        Window {
            inner,
            start,
            len,
            pos: 0,
        }
    }
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let abs = self
            .start
            .checked_add(self.pos)
            .ok_or_else(|| io::Error::other("offset overflow"))?;
        self.inner.seek(SeekFrom::Start(abs))?;
        let n = self.inner.read(buf.get_mut(..want).unwrap_or_default())?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        self.pos = new;
        Ok(new)
    }
}

/// A reader that counts bytes and refuses to produce more than `limit`.
pub struct Limited<R> {
    inner: R,
    pub produced: u64,
    limit: u64,
    /// Compressed bytes consumed so far (counted by a [`Counted`] under the decoder), and the
    /// largest ratio of produced to consumed bytes allowed past [`RATIO_FLOOR`].
    ratio: Option<(Rc<Cell<u64>>, u64)>,
}

/// Output below which any compression ratio is accepted.
pub const RATIO_FLOOR: u64 = 256 << 20;
/// The largest ratio of decompressed to compressed bytes past [`RATIO_FLOOR`]: deflate cannot
/// exceed about 1,032:1; bz2, xz and zstd reach millions to one only on bombs.
pub const MAX_RATIO: u64 = 10_000;

impl<R: Read> Limited<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Limited {
            inner,
            produced: 0,
            limit,
            ratio: None,
        }
    }

    /// Also fail once more than [`RATIO_FLOOR`] bytes came out of fewer than 1/`max` as many
    /// compressed bytes (`consumed`, counted by a [`Counted`] reader under the decoder).
    pub fn with_ratio(inner: R, limit: u64, consumed: Rc<Cell<u64>>, max: u64) -> Self {
        Limited {
            ratio: Some((consumed, max)),
            ..Limited::new(inner, limit)
        }
    }
}

/// Counts the bytes read through it.
pub struct Counted<R> {
    pub inner: R,
    pub count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// The error kind a [`Limited`] reader raises; recognised by inspectors to report `limit-exceeded`.
pub fn is_limit_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::FileTooLarge | io::ErrorKind::TimedOut
    )
}

thread_local! {
    /// When the file this thread inspects must be done (see [`with_deadline`]).
    static DEADLINE: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
}

/// Run `f` with a per-file time budget: every [`Limited`] read on this thread fails with
/// `TimedOut` once it is spent (a small compressed bomb would otherwise cost minutes of CPU
/// within its byte limits).
pub fn with_deadline<T>(seconds: u64, f: impl FnOnce() -> T) -> T {
    let at = std::time::Instant::now().checked_add(std::time::Duration::from_secs(seconds));
    let was = DEADLINE.with(|d| d.replace(at));
    let r = f();
    DEADLINE.with(|d| d.set(was));
    r
}

/// Time left of this thread's per-file budget (see [`with_deadline`]), if one is set.
pub fn deadline_remaining() -> Option<std::time::Duration> {
    DEADLINE.with(|d| {
        d.get()
            .map(|at| at.saturating_duration_since(std::time::Instant::now()))
    })
}

fn deadline_passed() -> bool {
    DEADLINE.with(|d| d.get().is_some_and(|at| std::time::Instant::now() >= at))
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if deadline_passed() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the per-file time budget was spent",
            ));
        }
        if self.produced >= self.limit {
            // Probe: is there really more? Only then is the limit exceeded.
            let mut one = [0u8; 1];
            return match self.inner.read(&mut one)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    format!("decompressed size limit of {} bytes exceeded", self.limit),
                )),
            };
        }
        if let Some((consumed, max)) = &self.ratio {
            let consumed = consumed.get().max(1);
            if self.produced > RATIO_FLOOR
                && self.produced.checked_div(consumed).unwrap_or(0) > *max
            {
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    format!(
                        "decompression ratio limit exceeded: {} bytes from {consumed} compressed bytes (more than {max}:1)",
                        self.produced
                    ),
                ));
            }
        }
        let room = usize::try_from(self.limit.saturating_sub(self.produced)).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        let got = self.inner.read(buf.get_mut(..n).unwrap_or_default())?;
        self.produced = self.produced.saturating_add(got as u64);
        Ok(got)
    }
}

enum Body<'a> {
    Seek(&'a mut dyn ReadSeek),
    /// Positioned just after `head`; `taken` once the rest has been handed out.
    Stream {
        r: &'a mut dyn Read,
        taken: bool,
    },
}

/// One thing to inspect.
pub struct Input<'a> {
    /// The first bytes (up to [`HEAD_LEN`]).
    pub head: Vec<u8>,
    /// Total length when known (always for seekable inputs).
    pub len: Option<u64>,
    body: Body<'a>,
}

fn read_head(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    r.take(HEAD_LEN as u64).read_to_end(&mut head)?;
    Ok(head)
}

impl<'a> Input<'a> {
    pub fn seekable(r: &'a mut dyn ReadSeek, len: u64) -> io::Result<Self> {
        r.seek(SeekFrom::Start(0))?;
        let head = read_head(r)?;
        Ok(Input {
            head,
            len: Some(len),
            body: Body::Seek(r),
        })
    }

    pub fn stream(r: &'a mut dyn Read) -> io::Result<Self> {
        let head = read_head(r)?;
        let len = (head.len() < HEAD_LEN).then_some(head.len() as u64);
        Ok(Input {
            head,
            len,
            body: Body::Stream { r, taken: false },
        })
    }

    pub fn is_seekable(&self) -> bool {
        matches!(self.body, Body::Seek(_))
    }

    /// The seekable source, positioned nowhere in particular.
    pub fn source(&mut self) -> Option<&mut dyn ReadSeek> {
        match &mut self.body {
            Body::Seek(r) => Some(&mut **r),
            Body::Stream { .. } => None,
        }
    }

    /// The content from its first byte. For a stream this can be called once.
    pub fn reader(&mut self) -> io::Result<Box<dyn Read + '_>> {
        match &mut self.body {
            Body::Seek(r) => {
                r.seek(SeekFrom::Start(0))?;
                Ok(Box::new(&mut **r))
            }
            Body::Stream { r, taken } => {
                if *taken {
                    return Err(io::Error::other("stream input read twice"));
                }
                *taken = true;
                Ok(Box::new(io::Cursor::new(&self.head[..]).chain(&mut **r)))
            }
        }
    }

    /// The content from `offset` on (seekable inputs, or streams not yet read past the head).
    pub fn reader_at(&mut self, offset: u64) -> io::Result<Box<dyn Read + '_>> {
        if !self.is_seekable() {
            let mut rd = self.reader()?;
            io::copy(&mut (&mut rd).take(offset), &mut io::sink())?;
            return Ok(rd);
        }
        match &mut self.body {
            Body::Seek(r) => {
                r.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(&mut **r))
            }
            Body::Stream { .. } => Err(io::Error::other("unreachable: stream handled above")),
        }
    }

    /// Read a stream into memory (at most `limit` bytes) so it can be accessed randomly.
    /// Returns `Ok(None)` when the content is larger than `limit`.
    pub fn materialize(&mut self, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let mut buf = Vec::new();
        let mut rd = self.reader()?;
        (&mut rd).take(limit).read_to_end(&mut buf)?;
        let mut probe = [0u8; 1];
        if rd.read(&mut probe)? != 0 {
            return Ok(None);
        }
        Ok(Some(buf))
    }
}

/// Most bytes read from a signature or bundle file (OMS bundles list a digest per file: a
/// hundred thousand files make a few MiB).
pub const SIGNATURE_LIMIT: u64 = 64 << 20;
/// Most bytes read from an auditor manifest.
pub const MANIFEST_LIMIT: u64 = 1 << 30;

/// A whole small file (a signature, a bundle, a manifest) in memory. Refused when it is not a
/// regular file (a FIFO would block the run) or longer than `limit` (a huge file planted as
/// `model.sig` would exhaust memory).
pub fn read_small(path: &std::path::Path, limit: u64) -> io::Result<Vec<u8>> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::other(format!("larger than {} MiB", limit >> 20)));
    }
    Ok(buf)
}

/// Read exactly `buf.len()` bytes at `offset`.
pub fn read_at(r: &mut dyn ReadSeek, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    r.seek(SeekFrom::Start(offset))?;
    r.read_exact(buf)
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn window_reads_its_range_only() {
        let mut c = Cursor::new(b"0123456789".to_vec());
        let mut w = Window::new(&mut c, 3, 4);
        let mut s = String::new();
        w.read_to_string(&mut s).unwrap();
        assert_eq!(s, "3456");
        w.seek(SeekFrom::Start(2)).unwrap();
        let mut b = [0u8; 8];
        assert_eq!(w.read(&mut b).unwrap(), 2);
        assert_eq!(&b[..2], b"56");
    }

    #[test]
    fn limited_errors_only_when_more_exists() {
        let mut out = Vec::new();
        let mut l = Limited::new(&b"abcd"[..], 4);
        l.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
        let mut l = Limited::new(&b"abcde"[..], 4);
        let e = l.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(is_limit_error(&e));
    }

    #[test]
    fn stream_input_replays_head() {
        let data: Vec<u8> = (0..10000u32).map(|i| i as u8).collect();
        let mut src = &data[..];
        let mut inp = Input::stream(&mut src).unwrap();
        assert_eq!(inp.head.len(), HEAD_LEN);
        assert_eq!(inp.len, None);
        let mut all = Vec::new();
        inp.reader().unwrap().read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        assert!(inp.reader().is_err());
    }
}
