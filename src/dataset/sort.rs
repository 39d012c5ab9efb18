//! External sorting of fixed-size records, so that joins over millions of records run in
//! bounded memory: records are sorted in runs held in memory, full runs go to anonymous
//! temporary files, and the runs are merged as they are read back.

use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};

/// A record of fixed size with its sort order.
pub trait Fixed: Copy + Ord + Send + 'static {
    const SIZE: usize;
    fn put(&self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Option<Self>;
}

/// Records held in memory before a run is written out (per sorter).
pub const RUN_BYTES: usize = 32 << 20;

pub struct Sorter<T: Fixed + 'static> {
    buf: Vec<T>,
    cap: usize,
    runs: Vec<File>,
    len: u64,
    /// The run being sorted and written in the background, if any.
    pending: Option<std::thread::JoinHandle<std::io::Result<File>>>,
}

impl<T: Fixed + 'static> Default for Sorter<T> {
    fn default() -> Self {
        Sorter::with_run_bytes(RUN_BYTES)
    }
}

impl<T: Fixed + 'static> Sorter<T> {
    pub fn with_run_bytes(bytes: usize) -> Self {
        Sorter {
            buf: Vec::new(),
            cap: (bytes / T::SIZE.max(1)).max(16),
            runs: Vec::new(),
            len: 0,
            pending: None,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, t: T) -> std::io::Result<()> {
        self.buf.push(t);
        self.len = self.len.saturating_add(1);
        if self.buf.len() >= self.cap {
            self.spill()?;
        }
        Ok(())
    }

    /// Hand the full buffer to a background thread that sorts it and writes it out as a run,
    /// while records keep arriving (at most one run in flight).
    fn spill(&mut self) -> std::io::Result<()> {
        self.wait()?;
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.cap));
        self.pending = Some(std::thread::spawn(move || write_run(full)));
        Ok(())
    }

    fn wait(&mut self) -> std::io::Result<()> {
        if let Some(h) = self.pending.take() {
            let f = h
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("sorting a run failed")))?;
            self.runs.push(f);
        }
        Ok(())
    }

    /// The records in order.
    pub fn finish(mut self) -> std::io::Result<Sorted<T>> {
        use rayon::slice::ParallelSliceMut;
        self.wait()?;
        if self.runs.is_empty() {
            self.buf.par_sort_unstable();
            return Ok(Sorted {
                mem: self.buf.into_iter(),
                runs: Vec::new(),
                heap: BinaryHeap::new(),
                error: None,
            });
        }
        if !self.buf.is_empty() {
            let last = std::mem::take(&mut self.buf);
            self.runs.push(write_run(last)?);
        }
        let mut runs: Vec<BufReader<File>> = self
            .runs
            .into_iter()
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .collect();
        let mut heap = BinaryHeap::new();
        let mut error = None;
        for (i, r) in runs.iter_mut().enumerate() {
            match read_one::<T>(r) {
                Ok(Some(t)) => heap.push(std::cmp::Reverse((t, i))),
                Ok(None) => {}
                Err(e) => error = Some(e),
            }
        }
        Ok(Sorted {
            mem: Vec::new().into_iter(),
            runs,
            heap,
            error,
        })
    }
}

fn write_run<T: Fixed>(mut buf: Vec<T>) -> std::io::Result<File> {
    use rayon::slice::ParallelSliceMut;
    buf.par_sort_unstable();
    let mut w = BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
    let mut b = Vec::with_capacity(T::SIZE);
    for t in &buf {
        b.clear();
        t.put(&mut b);
        w.write_all(&b)?;
    }
    let mut f = w.into_inner().map_err(|e| e.into_error())?;
    f.rewind()?;
    Ok(f)
}

fn read_one<T: Fixed>(r: &mut impl Read) -> std::io::Result<Option<T>> {
    let mut b = vec![0u8; T::SIZE];
    match r.read_exact(&mut b) {
        Ok(()) => Ok(T::get(&b)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sorted records, from memory or merged from runs. A read error ends the stream and is kept
/// for [`Sorted::error`].
pub struct Sorted<T: Fixed> {
    mem: std::vec::IntoIter<T>,
    runs: Vec<BufReader<File>>,
    heap: BinaryHeap<std::cmp::Reverse<(T, usize)>>,
    error: Option<std::io::Error>,
}

impl<T: Fixed> Sorted<T> {
    /// A read error met while merging, if any (check after the stream ends).
    pub fn error(&mut self) -> Option<std::io::Error> {
        self.error.take()
    }
}

impl<T: Fixed> Iterator for Sorted<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.runs.is_empty() {
            return self.mem.next();
        }
        if self.error.is_some() {
            return None;
        }
        let std::cmp::Reverse((t, i)) = self.heap.pop()?;
        if let Some(r) = self.runs.get_mut(i) {
            match read_one::<T>(r) {
                Ok(Some(n)) => self.heap.push(std::cmp::Reverse((n, i))),
                Ok(None) => {}
                Err(e) => self.error = Some(e),
            }
        }
        Some(t)
    }
}

/// An iterator with a look at its next item.
pub struct Peek<I: Iterator> {
    it: I,
    next: Option<I::Item>,
}

impl<I: Iterator> Peek<I> {
    pub fn new(mut it: I) -> Self {
        let next = it.next();
        Peek { it, next }
    }

    pub fn peek(&self) -> Option<&I::Item> {
        self.next.as_ref()
    }

    pub fn inner(&mut self) -> &mut I {
        &mut self.it
    }
}

impl<I: Iterator> Iterator for Peek<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let n = self.next.take();
        self.next = self.it.next();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct U(u64);
    impl Fixed for U {
        const SIZE: usize = 8;
        fn put(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.0.to_le_bytes());
        }
        fn get(b: &[u8]) -> Option<Self> {
            Some(U(u64::from_le_bytes(b.try_into().ok()?)))
        }
    }

    #[test]
    fn sorts_in_memory_and_across_runs() {
        for run in [1 << 20, 8 * 16, 8 * 37] {
            let mut s = Sorter::<U>::with_run_bytes(run);
            let mut want = Vec::new();
            let mut x = 12345u64;
            for _ in 0..5000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push(U(x >> 40)).unwrap();
                want.push(U(x >> 40));
            }
            want.sort();
            let mut got = s.finish().unwrap();
            let v: Vec<U> = got.by_ref().collect();
            assert!(got.error().is_none());
            assert_eq!(v, want);
        }
    }
}
