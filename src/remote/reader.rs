//! `Read + Seek` over ranged GETs, with a small extent cache.
//!
//! Random reads (a zip's central directory, a member's local header, a safetensors header) fetch
//! one aligned block of [`BLOCK`] bytes around what was asked; reads that continue where the last
//! fetch ended double the next fetch up to [`MAX_FETCH`] (a digest or a whole `data.pkl` streams
//! in large requests). At most [`CACHE_BYTES`] are kept, the least recently used dropped first.

use super::{budgets, RemoteFile};
use bytes::Bytes;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The smallest fetch, and the alignment of random fetches.
pub const BLOCK: u64 = 8 << 10;
/// The largest fetch, reached by sequential reads.
pub const MAX_FETCH: u64 = 8 << 20;
/// Bytes kept in one reader's cache.
pub const CACHE_BYTES: u64 = 32 << 20;

/// Requests made and bytes fetched for one file.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
}

impl Stats {
    pub fn get(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

struct Extent {
    start: u64,
    data: Bytes,
    used: u64,
}

pub struct RangeReader {
    file: Arc<RemoteFile>,
    stats: Arc<Stats>,
    pos: u64,
    extents: Vec<Extent>,
    cached: u64,
    clock: u64,
    /// Where the last fetch ended, and how long it was (for read-ahead).
    last_end: u64,
    last_len: u64,
    /// Where the last read ended: a fetch is sequential only when the reader consumed the
    /// previous one up to its end (a probe at doubling offsets is not).
    last_read_end: u64,
}

impl RangeReader {
    pub fn new(file: Arc<RemoteFile>, stats: Arc<Stats>) -> Self {
        RangeReader {
            file,
            stats,
            pos: 0,
            extents: Vec::new(),
            cached: 0,
            clock: 0,
            last_end: u64::MAX,
            last_len: 0,
            last_read_end: u64::MAX,
        }
    }

    fn fetch_extent(&mut self, want: usize) -> io::Result<usize> {
        let size = self.file.size;
        let sequential = self.pos == self.last_end && self.pos == self.last_read_end;
        // A large read is served by one request of its own size (up to 64 MiB).
        let want = (want as u64).min(64 << 20);
        let (start, len) = if sequential {
            let len = self.last_len.saturating_mul(2).clamp(BLOCK, MAX_FETCH);
            (self.pos, len.max(want))
        } else {
            let start = self.pos.saturating_sub(self.pos % BLOCK);
            let need = self.pos.saturating_sub(start).saturating_add(want);
            (start, need.div_ceil(BLOCK).saturating_mul(BLOCK).max(BLOCK))
        };
        let end = start.saturating_add(len).min(size);
        let (requests, _) = self.stats.get();
        let max = budgets().requests_per_file;
        if requests >= max {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!(
                    "the per-file budget of {max} remote requests is spent (--max-remote-requests)"
                ),
            ));
        }
        if std::env::var_os("MODELGATE_TRACE_REMOTE").is_some() {
            eprintln!(
                "fetch {} [{start}, {end}) {} bytes{}",
                self.file.key,
                end.saturating_sub(start),
                if sequential { " (sequential)" } else { "" }
            );
        }
        let data = self.file.fetch(start, end)?;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        self.last_end = end;
        self.last_len = end.saturating_sub(start);
        self.insert(start, data);
        Ok(self.extents.len().saturating_sub(1))
    }

    fn insert(&mut self, start: u64, data: Bytes) {
        self.cached = self.cached.saturating_add(data.len() as u64);
        while self.cached > CACHE_BYTES && !self.extents.is_empty() {
            let oldest = self
                .extents
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.used)
                .map(|(i, _)| i)
                .unwrap_or(0);
            let gone = self.extents.swap_remove(oldest);
            self.cached = self.cached.saturating_sub(gone.data.len() as u64);
        }
        self.clock = self.clock.saturating_add(1);
        self.extents.push(Extent {
            start,
            data,
            used: self.clock,
        });
    }

    fn find(&self, pos: u64) -> Option<usize> {
        self.extents
            .iter()
            .position(|e| pos >= e.start && pos < e.start.saturating_add(e.data.len() as u64))
    }
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.file.size {
            return Ok(0);
        }
        let i = match self.find(self.pos) {
            Some(i) => i,
            None => self.fetch_extent(buf.len())?,
        };
        self.clock = self.clock.saturating_add(1);
        let clock = self.clock;
        let Some(e) = self.extents.get_mut(i) else {
            return Ok(0);
        };
        e.used = clock;
        let off = usize::try_from(self.pos.saturating_sub(e.start)).unwrap_or(usize::MAX);
        let src = e.data.get(off..).unwrap_or_default();
        let n = src.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        self.pos = self.pos.saturating_add(n as u64);
        self.last_read_end = self.pos;
        Ok(n)
    }
}

impl Seek for RangeReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.file.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        self.pos = new;
        Ok(new)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Any sequence of seeks and reads gives the bytes a file would give.
    #[test]
    fn reads_what_a_file_gives() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let f = RemoteFile::in_memory("m", data.clone());
        let mut r = RangeReader::new(f, Arc::new(Stats::default()));
        let mut c = Cursor::new(data.clone());
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 4 {
                0 => {
                    let p = (x >> 8) % (data.len() as u64 + 10);
                    assert_eq!(
                        r.seek(SeekFrom::Start(p)).unwrap(),
                        c.seek(SeekFrom::Start(p)).unwrap()
                    );
                }
                1 => {
                    let d = ((x >> 8) % 20_000) as i64 - 10_000;
                    assert_eq!(
                        r.seek(SeekFrom::Current(d)).ok(),
                        c.seek(SeekFrom::Current(d)).ok()
                    );
                }
                _ => {
                    let n = ((x >> 8) % 70_000) as usize;
                    let mut a = vec![0u8; n];
                    let mut b = vec![0u8; n];
                    let ga = r.read(&mut a).unwrap();
                    let gb = c.read(&mut b).unwrap();
                    // A read may be short; what it gives must be the file's bytes there.
                    assert!(ga <= gb || gb == 0 && ga == 0);
                    assert_eq!(&a[..ga], &b[..ga]);
                    c.seek(SeekFrom::Current(ga as i64 - gb as i64)).unwrap();
                }
            }
        }
    }

    #[test]
    fn a_probe_at_doubling_offsets_fetches_blocks_not_the_file() {
        let data = vec![0u8; 64 << 20];
        let f = RemoteFile::in_memory("m", data);
        let stats = Arc::new(Stats::default());
        let mut r = RangeReader::new(f, Arc::clone(&stats));
        let mut off = 512u64;
        while off < 64 << 20 {
            r.seek(SeekFrom::Start(off)).unwrap();
            let mut b = [0u8; 8];
            r.read_exact(&mut b).unwrap();
            off *= 2;
        }
        let (requests, bytes) = stats.get();
        assert!(
            bytes <= requests * BLOCK,
            "{requests} requests, {bytes} bytes"
        );
        // Read on to the end: read-ahead grows to MAX_FETCH.
        let mut all = Vec::new();
        r.seek(SeekFrom::Start(0)).unwrap();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 64 << 20);
        let (requests, _) = stats.get();
        assert!(requests < 40, "{requests} requests to stream 64 MiB");
    }
}
