//! The dataset diff, in bounded memory.
//!
//! 1. The current dataset is read once. A file with the same bytes as the baseline file at
//!    the same path has the same records: it is hashed, not parsed, and its entries drop out of
//!    the join on both sides. The other records become entries, sorted externally by digest.
//! 2. The baseline body streams into the same kind of sorter (checked against its digest).
//! 3. A merge of the two by record digest pairs equal records (shuffling and re-sharding change
//!    nothing) and leaves the removed and inserted ones; exact copies added three or more
//!    times are duplicate injection.
//! 4. Removed and inserted records sorted by input digest give label flips; what is left,
//!    sorted by key, gives records modified under the same key. The rest are truly removed or
//!    inserted.
//! 5. Only if something changed, a second pass reads the text of the changed records (files
//!    without any are skipped) for hidden characters, look-alikes, near-duplicates and trigger
//!    tokens; a third pass counts candidate trigger tokens among unchanged records.
//!
//! Memory is the sorters' runs (a few tens of MiB each), the first-N lists and a capped token
//! table; everything else streams.

use super::records::{self, Fields};
use super::sort::{Fixed, Peek, Sorter};
use super::{for_each_record_with, Action, Baseline, DataFile, Entry, Labels, ENTRY_SIZE, FIRST_N};
use crate::digest::hex;
use crate::ev;
use crate::finding::{Code, Finding};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::path::Path;

impl Fixed for Entry {
    const SIZE: usize = ENTRY_SIZE;
    fn put(&self, out: &mut Vec<u8>) {
        let mut b = [0u8; ENTRY_SIZE];
        self.write(&mut b);
        out.extend_from_slice(&b);
    }
    fn get(b: &[u8]) -> Option<Self> {
        Entry::read(b)
    }
}

/// An entry ordered by another field first.
macro_rules! order_by {
    ($name:ident, $field:ident) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        struct $name(Entry);
        impl Ord for $name {
            fn cmp(&self, o: &Self) -> std::cmp::Ordering {
                (self.0.$field, self.0).cmp(&(o.0.$field, o.0))
            }
        }
        impl PartialOrd for $name {
            fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Fixed for $name {
            const SIZE: usize = ENTRY_SIZE;
            fn put(&self, out: &mut Vec<u8>) {
                self.0.put(out)
            }
            fn get(b: &[u8]) -> Option<Self> {
                Entry::read(b).map($name)
            }
        }
    };
}
order_by!(ByInput, input);
order_by!(ByKey, key);

/// A location: file index and row.
type At = (u32, u64);
/// Duplicate injection: digest, baseline copies, current copies, first current location.
type Dup = ([u8; 16], u64, u64, At);
/// A near-duplicate group: size, normalized text sample, first locations.
type NearGroup = (usize, String, Vec<At>);
/// A trigger candidate: token, changed records with it, its label, first locations.
type Candidate = (String, u64, u32, Vec<At>);

/// Why a current record counts as changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Kind {
    Flip = 0,
    Modified = 1,
    Inserted = 2,
}

/// The changed records of the current dataset: two bits per row of each file (0 = unchanged,
/// else 1 + [`Kind`]), grown as rows are marked.
#[derive(Default)]
struct ChangeMap {
    files: Vec<Vec<u64>>,
    count: u64,
}

impl ChangeMap {
    fn mark(&mut self, file: u32, row: u64, kind: Kind) {
        let (f, w, sh) = (file as usize, (row / 32) as usize, (row % 32) * 2);
        if self.files.len() <= f {
            self.files.resize_with(f + 1, Vec::new);
        }
        if let Some(v) = self.files.get_mut(f) {
            if v.len() <= w {
                v.resize(w + 1, 0);
            }
            if let Some(x) = v.get_mut(w) {
                if (*x >> sh) & 3 == 0 {
                    self.count += 1;
                }
                *x |= (kind as u64 + 1) << sh;
            }
        }
    }

    fn get(&self, file: u32, row: u64) -> Option<Kind> {
        let x = self.files.get(file as usize)?.get((row / 32) as usize)?;
        match (x >> ((row % 32) * 2)) & 3 {
            1 => Some(Kind::Flip),
            2 => Some(Kind::Modified),
            3 => Some(Kind::Inserted),
            _ => None,
        }
    }

    fn has_file(&self, file: u32) -> bool {
        self.files
            .get(file as usize)
            .is_some_and(|v| v.iter().any(|x| *x != 0))
    }
}

const SAMPLE: usize = 96;

/// An inserted record's normalized text, for near-duplicate groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Near {
    text: [u8; 16],
    digest: [u8; 8],
    file: u32,
    row: u64,
    sample_len: u8,
    sample: [u8; SAMPLE],
}

impl Fixed for Near {
    const SIZE: usize = 16 + 8 + 4 + 8 + 1 + SAMPLE;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.text);
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.file.to_le_bytes());
        out.extend_from_slice(&self.row.to_le_bytes());
        out.push(self.sample_len);
        out.extend_from_slice(&self.sample);
    }
    fn get(b: &[u8]) -> Option<Self> {
        Some(Near {
            text: b.get(0..16)?.try_into().ok()?,
            digest: b.get(16..24)?.try_into().ok()?,
            file: u32::from_le_bytes(b.get(24..28)?.try_into().ok()?),
            row: u64::from_le_bytes(b.get(28..36)?.try_into().ok()?),
            sample_len: *b.get(36)?,
            sample: b.get(37..37 + SAMPLE)?.try_into().ok()?,
        })
    }
}

/// The `n` smallest items pushed.
struct FirstN<T: Ord> {
    heap: BinaryHeap<T>,
    n: usize,
}

impl<T: Ord> FirstN<T> {
    fn new(n: usize) -> Self {
        FirstN {
            heap: BinaryHeap::new(),
            n,
        }
    }
    fn push(&mut self, t: T) {
        if self.heap.len() < self.n {
            self.heap.push(t);
        } else if self.heap.peek().is_some_and(|m| t < *m) {
            self.heap.pop();
            self.heap.push(t);
        }
    }
    fn sorted(self) -> Vec<T> {
        self.heap.into_sorted_vec()
    }
}

/// A signal's count and its first locations.
struct Signal<T: Ord> {
    count: u64,
    first: FirstN<T>,
}

impl<T: Ord> Signal<T> {
    fn new() -> Self {
        Signal {
            count: 0,
            first: FirstN::new(FIRST_N),
        }
    }
    fn add(&mut self, t: T) {
        self.count += 1;
        self.first.push(t);
    }
}

/// Distinct tokens of changed records tracked for trigger detection. When the table fills,
/// the rarest are pruned (lossy counting): a token in a large share of the changed records
/// survives, and the finding says that pruning happened.
const MAX_TOKENS: usize = 1 << 18;

#[derive(Default)]
struct TokenStat {
    n: u64,
    labels: Vec<(u32, u64)>,
    first: Vec<(u32, u64)>,
}

#[derive(Default)]
struct Tokens {
    map: HashMap<String, TokenStat>,
    floor: u64,
    pruned: u64,
}

impl Tokens {
    fn add(&mut self, tok: String, label: u32, at: (u32, u64)) {
        if !self.map.contains_key(&tok) && self.map.len() >= MAX_TOKENS {
            self.floor += 1;
            let before = self.map.len();
            let floor = self.floor;
            self.map.retain(|_, s| s.n > floor);
            self.pruned += (before - self.map.len()) as u64;
            if self.map.len() >= MAX_TOKENS {
                self.pruned += 1;
                return;
            }
        }
        let s = self.map.entry(tok).or_default();
        s.n += 1;
        match s.labels.iter_mut().find(|(l, _)| *l == label) {
            Some((_, c)) => *c += 1,
            None => s.labels.push((label, 1)),
        }
        if s.first.len() < FIRST_N {
            s.first.push(at);
        }
    }
}

/// Tokens of a text for trigger detection: lowercased words, each once.
fn tokens(t: &str) -> HashSet<String> {
    t.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && w.len() <= 64)
        .map(str::to_lowercase)
        .collect()
}

fn io(e: std::io::Error) -> String {
    format!("temporary storage for the diff: {e}")
}

fn loc(files: &[DataFile], file: u32, row: u64) -> serde_json::Value {
    let f = files
        .get(file as usize)
        .map(|f| f.path.as_str())
        .unwrap_or("?");
    serde_json::json!({"file": f, "row": row})
}

/// Hashes a digest by its first eight bytes: digests are uniform already.
#[derive(Default)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        if let Some(b) = bytes.get(..8) {
            self.0 = u64::from_le_bytes(b.try_into().unwrap_or_default());
        }
    }
    fn write_usize(&mut self, _: usize) {}
}

type DigestMap<V> = HashMap<[u8; 16], V, std::hash::BuildHasherDefault<DigestHasher>>;

/// Baseline entries looked ahead of the current record, within one file.
const WINDOW: usize = 4096;

/// Pairs current records with the baseline's entries in file order; what it cannot pair goes
/// to the sorters.
struct Aligner<I: Iterator<Item = Entry>> {
    base: Peek<I>,
    /// The baseline file the current file is aligned with.
    current: Option<u32>,
    window: std::collections::VecDeque<Entry>,
    in_window: DigestMap<u32>,
    same: HashSet<u32>,
    now_sorter: Sorter<Entry>,
    base_sorter: Sorter<Entry>,
    total_now: u64,
    base_total: u64,
    error: Option<std::io::Error>,
}

impl<I: Iterator<Item = Entry>> Aligner<I> {
    fn new(base: I) -> Self {
        Aligner {
            base: Peek::new(base),
            current: None,
            window: Default::default(),
            in_window: DigestMap::default(),
            same: HashSet::new(),
            now_sorter: Sorter::default(),
            base_sorter: Sorter::default(),
            total_now: 0,
            base_total: 0,
            error: None,
        }
    }

    fn unpaired_base(&mut self, e: Entry) {
        if let Err(err) = self.base_sorter.push(e) {
            self.error.get_or_insert(err);
        }
    }

    /// A baseline entry leaves the stream: skipped with its file, or left for the join.
    fn take_base(&mut self, e: Entry, labels: &mut Labels, names: &[String]) {
        self.base_total += 1;
        if self.same.contains(&e.file) {
            self.total_now += 1;
            if let Some(l) = names.get(e.label as usize) {
                labels.count(l, 1);
            }
        } else {
            self.unpaired_base(e);
        }
    }

    /// Move the baseline stream to the first entry of file `j`.
    fn skip_to(&mut self, j: u32, labels: &mut Labels, names: &[String]) {
        while self.base.peek().is_some_and(|e| e.file < j) {
            if let Some(e) = self.base.next() {
                self.take_base(e, labels, names);
            }
        }
    }

    /// The current file is done: what is left of its baseline file goes to the join.
    fn end_file(&mut self, labels: &mut Labels, names: &[String]) {
        for e in std::mem::take(&mut self.window) {
            self.unpaired_base(e);
        }
        self.in_window.clear();
        if let Some(j) = self.current.take() {
            self.skip_to(j.saturating_add(1), labels, names);
        }
    }

    fn pop_window(&mut self) -> Option<Entry> {
        let e = self.window.pop_front()?;
        if let Some(c) = self.in_window.get_mut(&e.digest) {
            *c -= 1;
            if *c == 0 {
                self.in_window.remove(&e.digest);
            }
        }
        Some(e)
    }

    fn record(&mut self, e: Entry) {
        self.total_now += 1;
        if let Some(j) = self.current {
            while self.window.len() < WINDOW && self.base.peek().is_some_and(|b| b.file == j) {
                if let Some(b) = self.base.next() {
                    self.base_total += 1;
                    *self.in_window.entry(b.digest).or_insert(0) += 1;
                    self.window.push_back(b);
                }
            }
            if self.in_window.contains_key(&e.digest) {
                // Paired: what the baseline had before it is left for the join.
                while let Some(b) = self.pop_window() {
                    if b.digest == e.digest {
                        return;
                    }
                    self.unpaired_base(b);
                }
            }
        }
        if let Err(err) = self.now_sorter.push(e) {
            self.error.get_or_insert(err);
        }
    }
}

/// Compare the dataset at `root` with `base`. One finding per signal, with counts and the
/// first locations.
pub fn diff(root: &Path, base: &Baseline) -> Result<Vec<Finding>, String> {
    let t0 = std::time::Instant::now();
    let trace = std::env::var_os("MODELGATE_TRACE").is_some();
    let phase = |what: &str| {
        if trace {
            eprintln!(
                "modelgate: diff {what} done at {:.2} s",
                t0.elapsed().as_secs_f64()
            );
        }
    };
    let mut fields = Fields {
        key: base.header.fields.key.clone(),
        label: base.header.fields.label.clone(),
        text: base.header.fields.text.clone(),
        keep_text: false,
    };
    let base_files = &base.header.files;
    let by_path: HashMap<&str, (u32, &DataFile)> = base_files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), (i as u32, f)))
        .collect();

    // 1 and 2. The current records and the baseline entries, side by side. Files identical to
    // the baseline's are skipped (their baseline labels still count). Within a file that has a
    // baseline counterpart, records equal to the baseline's in the same order are paired at
    // once (a window of the baseline's next entries catches insertions and deletions); only
    // what is left goes to the sorters. Any pairing of equal digests leaves the same multiset
    // difference, so this changes nothing but the work.
    let base_label_name = |i: u32| base.header.label_order.get(i as usize).map(|s| s.as_str());
    let labels = std::cell::RefCell::new(Labels::default());
    let (btx, brx) = std::sync::mpsc::sync_channel::<Vec<Entry>>(4);
    let (walked, verified, al) = std::thread::scope(|sc| {
        let reader = sc.spawn(move || {
            let mut batch = Vec::with_capacity(1 << 14);
            let r = base.for_each_entry(|e| {
                batch.push(e);
                if batch.len() >= 1 << 14 {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(1 << 14));
                    let _ = btx.send(full);
                }
            });
            let _ = btx.send(batch);
            r
        });
        let al = std::cell::RefCell::new(Aligner::new(brx.into_iter().flatten()));
        let mut hook = |rel: &str, fs: &Path| -> Action {
            let mut a = al.borrow_mut();
            let mut l = labels.borrow_mut();
            a.end_file(&mut l, &base.header.label_order);
            let Some((j, b)) = by_path.get(rel) else {
                return Action::Read;
            };
            a.skip_to(*j, &mut l, &base.header.label_order);
            let size_matches = std::fs::metadata(fs).is_ok_and(|m| m.len() == b.size);
            if b.format.is_some()
                && size_matches
                && crate::digest::hash_file(crate::digest::HashAlg::Sha256, fs)
                    .is_ok_and(|d| hex(&d) == b.sha256)
            {
                a.same.insert(*j);
                a.skip_to(*j + 1, &mut l, &base.header.label_order);
                return Action::Same((*b).clone());
            }
            a.current = Some(*j);
            Action::Read
        };
        let walked = for_each_record_with(root, &fields, &mut hook, None, |file, r| {
            let label = match &r.label {
                Some(l) => labels.borrow_mut().count(l, 1),
                None => u32::MAX,
            };
            al.borrow_mut().record(Entry {
                digest: super::prefix(&r.digest),
                input: super::prefix(&r.input),
                key: r.key_hash,
                label,
                file,
                row: r.row,
            });
        });
        let mut a = al.into_inner();
        {
            let mut l = labels.borrow_mut();
            a.end_file(&mut l, &base.header.label_order);
            a.skip_to(u32::MAX, &mut l, &base.header.label_order);
        }
        // Whatever the reader still holds is dropped with the aligner, so it cannot block.
        let Aligner {
            now_sorter,
            base_sorter,
            total_now,
            base_total,
            error,
            ..
        } = a;
        let verified = reader
            .join()
            .unwrap_or_else(|_| Err("reading the baseline failed".into()));
        (
            walked,
            verified,
            (now_sorter, base_sorter, total_now, base_total, error),
        )
    });
    let (now_files, errors) = walked?;
    verified?;
    let (now_sorter, base_sorter, total_now, base_total, error) = al;
    if let Some(e) = error {
        return Err(io(e));
    }
    let labels = labels.into_inner();

    phase("baseline read");
    // 3. Merge by digest.
    let mut removed: Sorter<ByInput> = Sorter::default();
    let mut inserted: Sorter<ByInput> = Sorter::default();
    let mut dups: Vec<Dup> = Vec::new();
    let (mut dup_records, mut dup_extra) = (0u64, 0u64);
    {
        let mut b = Peek::new(base_sorter.finish().map_err(io)?);
        let mut n = Peek::new(now_sorter.finish().map_err(io)?);
        loop {
            let d = match (b.peek(), n.peek()) {
                (Some(x), Some(y)) => x.digest.min(y.digest),
                (Some(x), None) => x.digest,
                (None, Some(y)) => y.digest,
                (None, None) => break,
            };
            let (mut bc, mut nc) = (0u64, 0u64);
            let mut first_now = None;
            loop {
                let bm = b.peek().is_some_and(|e| e.digest == d);
                let nm = n.peek().is_some_and(|e| e.digest == d);
                match (bm, nm) {
                    (true, true) => {
                        b.next();
                        if let Some(e) = n.next() {
                            first_now.get_or_insert((e.file, e.row));
                        }
                        bc += 1;
                        nc += 1;
                    }
                    (true, false) => {
                        if let Some(e) = b.next() {
                            removed.push(ByInput(e)).map_err(io)?;
                        }
                        bc += 1;
                    }
                    (false, true) => {
                        if let Some(e) = n.next() {
                            first_now.get_or_insert((e.file, e.row));
                            inserted.push(ByInput(e)).map_err(io)?;
                        }
                        nc += 1;
                    }
                    (false, false) => break,
                }
            }
            if nc >= 3 && nc.saturating_sub(bc) >= 3 {
                dup_records += 1;
                dup_extra += nc - bc;
                dups.push((d, bc, nc, first_now.unwrap_or_default()));
                if dups.len() > 4 * FIRST_N {
                    dups.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(&y.0)));
                    dups.truncate(FIRST_N);
                }
            }
        }
        if let Some(e) = b.inner().error().or_else(|| n.inner().error()) {
            return Err(io(e));
        }
    }
    dups.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(&y.0)));
    dups.truncate(FIRST_N);

    phase("merge by digest");
    // 4. Label flips (same input, other label), then modified (same key), then the rest.
    let mut changed = ChangeMap::default();
    let mut flips: Signal<(u32, u64, u32, u32)> = Signal::new();
    let mut rest_removed: Sorter<ByKey> = Sorter::default();
    let mut rest_inserted: Sorter<ByKey> = Sorter::default();
    {
        let mut r = Peek::new(removed.finish().map_err(io)?);
        let mut i = Peek::new(inserted.finish().map_err(io)?);
        loop {
            let g = match (r.peek(), i.peek()) {
                (Some(x), Some(y)) => x.0.input.min(y.0.input),
                (Some(x), None) => x.0.input,
                (None, Some(y)) => y.0.input,
                (None, None) => break,
            };
            while let Some(ByInput(e)) = i.peek().copied().filter(|e| e.0.input == g) {
                i.next();
                let labelled = e.label != u32::MAX && e.input != e.digest;
                if labelled && r.peek().is_some_and(|x| x.0.input == g) {
                    let old = r.next().map(|x| x.0.label).unwrap_or(u32::MAX);
                    flips.add((e.file, e.row, old, e.label));
                    changed.mark(e.file, e.row, Kind::Flip);
                } else {
                    rest_inserted.push(ByKey(e)).map_err(io)?;
                }
            }
            while let Some(ByInput(e)) = r.peek().copied().filter(|e| e.0.input == g) {
                r.next();
                rest_removed.push(ByKey(e)).map_err(io)?;
            }
        }
        if let Some(e) = r.inner().error().or_else(|| i.inner().error()) {
            return Err(io(e));
        }
    }
    let mut modified: Signal<(u32, u64)> = Signal::new();
    let mut ins: Signal<(u32, u64)> = Signal::new();
    let mut rem: Signal<(u32, u64)> = Signal::new();
    {
        let keyed = fields.key.is_some();
        let mut r = Peek::new(rest_removed.finish().map_err(io)?);
        let mut i = Peek::new(rest_inserted.finish().map_err(io)?);
        loop {
            let (re, ie) = (r.peek().map(|x| x.0), i.peek().map(|x| x.0));
            let pair = matches!((re, ie), (Some(a), Some(b)) if keyed && a.key == b.key && a.key != [0; 16]);
            let take_removed = match (re, ie) {
                (Some(a), Some(b)) => a.key < b.key,
                (Some(_), None) => true,
                _ => false,
            };
            if pair {
                r.next();
                if let Some(ByKey(e)) = i.next() {
                    modified.add((e.file, e.row));
                    changed.mark(e.file, e.row, Kind::Modified);
                }
            } else if take_removed {
                if let Some(ByKey(e)) = r.next() {
                    rem.add((e.file, e.row));
                }
            } else if let Some(ByKey(e)) = i.next() {
                ins.add((e.file, e.row));
                changed.mark(e.file, e.row, Kind::Inserted);
            } else {
                break;
            }
        }
        if let Some(e) = r.inner().error().or_else(|| i.inner().error()) {
            return Err(io(e));
        }
    }

    phase("flips and modified");
    // 5. The text of changed records, one pass over the files that hold any.
    let changed_total = changed.count;
    let mut hidden: Signal<(u32, u64)> = Signal::new();
    let mut mixed: Signal<(u32, u64)> = Signal::new();
    let mut toks = Tokens::default();
    let mut near: Sorter<Near> = Sorter::default();
    let modified_first: Vec<(u32, u64)> = modified.first.heap.iter().copied().collect();
    let mut modified_keys: HashMap<(u32, u64), String> = HashMap::new();
    if changed_total > 0 {
        fields.keep_text = true;
        let mut idx = 0u32;
        let mut hook = |_: &str, _: &Path| {
            let a = if changed.has_file(idx) {
                Action::Read
            } else {
                Action::Ignore
            };
            idx += 1;
            a
        };
        let mut err: Option<std::io::Error> = None;
        let want = |f: u32, r: u64, _: &[u8]| changed.get(f, r).is_some();
        for_each_record_with(root, &fields, &mut hook, Some(&want), |file, r| {
            let Some(kind) = changed.get(file, r.row) else {
                return;
            };
            let at = (file, r.row);
            let label = r
                .label
                .as_deref()
                .and_then(|l| labels.ids.get(l).copied())
                .unwrap_or(u32::MAX);
            if kind == Kind::Modified && modified_first.contains(&at) {
                modified_keys.insert(at, r.key.clone().unwrap_or_default());
            }
            let Some(t) = r.text.as_deref() else { return };
            if t.chars().any(records::invisible_or_bidi) {
                hidden.add(at);
            }
            if records::mixed_script(t) {
                mixed.add(at);
            }
            for tok in tokens(t) {
                toks.add(tok, label, at);
            }
            if kind == Kind::Inserted {
                let norm = records::normalized(t);
                if !norm.is_empty() {
                    let mut sample = [0u8; SAMPLE];
                    let mut len = 0;
                    for ch in norm.chars() {
                        let n = ch.len_utf8();
                        if len + n > SAMPLE {
                            break;
                        }
                        ch.encode_utf8(&mut sample[len..]);
                        len += n;
                    }
                    let h = Sha256::digest(norm.as_bytes());
                    let mut text = [0u8; 16];
                    text.copy_from_slice(&h[..16]);
                    let mut digest = [0u8; 8];
                    digest.copy_from_slice(&r.digest[..8]);
                    if let Err(e) = near.push(Near {
                        text,
                        digest,
                        file,
                        row: r.row,
                        sample_len: len as u8,
                        sample,
                    }) {
                        err.get_or_insert(e);
                    }
                }
            }
        })?;
        if let Some(e) = err {
            return Err(io(e));
        }
    }

    phase("changed-record text pass");
    // Near-duplicate groups among inserted records.
    let mut near_groups: Vec<NearGroup> = Vec::new();
    let (mut near_records, mut near_count) = (0u64, 0u64);
    {
        let mut s = Peek::new(near.finish().map_err(io)?);
        while let Some(first) = s.next() {
            let mut size = 1usize;
            let mut differ = false;
            let mut at = vec![(first.file, first.row)];
            while let Some(x) = s.peek().copied().filter(|x| x.text == first.text) {
                s.next();
                size += 1;
                differ |= x.digest != first.digest;
                if at.len() < FIRST_N {
                    at.push((x.file, x.row));
                }
            }
            if size >= 3 && differ {
                near_count += 1;
                near_records += size as u64;
                let sample = String::from_utf8_lossy(
                    first
                        .sample
                        .get(..first.sample_len as usize)
                        .unwrap_or_default(),
                )
                .into_owned();
                near_groups.push((size, sample, at));
                if near_groups.len() > 4 * FIRST_N {
                    near_groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                    near_groups.truncate(FIRST_N);
                }
            }
        }
        if let Some(e) = s.inner().error() {
            return Err(io(e));
        }
    }
    near_groups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    near_groups.truncate(FIRST_N);

    phase("near-duplicates");
    // Trigger candidates; their frequency among unchanged records takes one more pass.
    let labelled = !base.header.labels.is_empty() || !labels.names.is_empty();
    let ch = changed_total.max(1) as f64;
    let mut candidates: Vec<Candidate> = toks
        .map
        .iter()
        .filter_map(|(tok, s)| {
            let (top_label, top) = s.labels.iter().max_by_key(|(l, c)| (*c, u32::MAX - *l))?;
            let concentrated = s.n >= 3 && (s.n as f64) / ch >= 0.2;
            let one_label = !labelled || (*top as f64) / (s.n as f64) >= 0.8;
            (concentrated && one_label).then(|| (tok.clone(), s.n, *top_label, s.first.clone()))
        })
        .collect();
    let unchanged = total_now.saturating_sub(changed_total);
    let mut base_df: HashMap<String, u64> = HashMap::new();
    if !candidates.is_empty() {
        let index: HashMap<String, usize> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| (c.0.clone(), i))
            .collect();
        let mut counts = vec![0u64; candidates.len()];
        // Files that were the same as the baseline's are read here too: their records are
        // unchanged records. A line is parsed only if it is unchanged and could hold a
        // candidate: its bytes contain one (ASCII case folded), or it has a \u escape, or a
        // candidate is not ASCII.
        let mut hook = |_: &str, _: &Path| Action::Read;
        let all_ascii = candidates.iter().all(|c| c.0.is_ascii());
        let finder = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(candidates.iter().map(|c| c.0.as_bytes()))
            .map_err(|e| e.to_string())?;
        let want = |f: u32, r: u64, line: &[u8]| {
            if changed.get(f, r).is_some() {
                return false;
            }
            !all_ascii || memchr::memmem::find(line, b"\\u").is_some() || finder.is_match(line)
        };
        let mut word = String::new();
        let mut seen: Vec<usize> = Vec::new();
        for_each_record_with(root, &fields, &mut hook, Some(&want), |file, r| {
            if changed.get(file, r.row).is_some() {
                return;
            }
            let Some(t) = r.text.as_deref() else { return };
            seen.clear();
            if t.is_ascii() {
                // The common case, without splitting every word: look for each candidate.
                word.clear();
                word.push_str(t);
                word.make_ascii_lowercase();
                let wb =
                    |b: Option<&u8>| !b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
                for (i, c) in candidates.iter().enumerate() {
                    let hit = word.match_indices(c.0.as_str()).any(|(at, m)| {
                        wb(at.checked_sub(1).and_then(|p| word.as_bytes().get(p)))
                            && wb(word.as_bytes().get(at + m.len()))
                    });
                    if hit {
                        if let Some(n) = counts.get_mut(i) {
                            *n += 1;
                        }
                    }
                }
                return;
            }
            for w in t.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if w.is_empty() || w.len() > 64 {
                    continue;
                }
                word.clear();
                word.extend(w.chars().flat_map(char::to_lowercase));
                if let Some(i) = index.get(word.as_str()) {
                    if !seen.contains(i) {
                        seen.push(*i);
                        if let Some(c) = counts.get_mut(*i) {
                            *c += 1;
                        }
                    }
                }
            }
        })?;
        for (c, n) in candidates.iter().zip(counts) {
            base_df.insert(c.0.clone(), n);
        }
    }
    let u = unchanged.max(1) as f64;
    candidates.retain(|c| (base_df.get(&c.0).copied().unwrap_or(0) as f64) / u <= 0.001);
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    phase("trigger pass");
    // Findings.
    let shown = root.to_string_lossy().trim_end_matches('/').to_string();
    let mut out = Vec::new();
    let mut finding = |code: Code, message: String, evidence: crate::inspect::Evidence| {
        out.push(Finding::new(code, shown.clone(), message, evidence))
    };
    for (p, e) in &errors {
        finding(
            Code::ReadError,
            format!("'{p}' cannot be read as records: {e}"),
            ev! {"file" => p},
        );
    }
    let locs = |files: &[DataFile], v: Vec<(u32, u64)>| -> Vec<serde_json::Value> {
        v.into_iter().map(|(f, r)| loc(files, f, r)).collect()
    };
    if ins.count > 0 {
        finding(
            Code::DatasetRecordsInserted,
            format!(
                "{} not in the baseline",
                crate::finding::plural(ins.count, "record is", "records are")
            ),
            ev! {"count" => ins.count, "first" => locs(&now_files, ins.first.sorted())},
        );
    }
    if rem.count > 0 {
        finding(
            Code::DatasetRecordsRemoved,
            format!(
                "{} gone",
                crate::finding::plural(rem.count, "baseline record is", "baseline records are")
            ),
            ev! {"count" => rem.count, "first_in_baseline" => locs(base_files, rem.first.sorted())},
        );
    }
    if modified.count > 0 {
        let first: Vec<_> = modified
            .first
            .sorted()
            .into_iter()
            .map(|at| {
                let mut l = loc(&now_files, at.0, at.1);
                l["key"] = modified_keys.get(&at).cloned().unwrap_or_default().into();
                l
            })
            .collect();
        finding(
            Code::DatasetRecordsModified,
            format!(
                "{} under the same key",
                crate::finding::plural(modified.count, "record changed", "records changed")
            ),
            ev! {"count" => modified.count, "key_field" => fields.key, "first" => first},
        );
    }
    if flips.count > 0 {
        let first: Vec<_> = flips
            .first
            .sorted()
            .into_iter()
            .map(|(f, r, old, new)| {
                let mut l = loc(&now_files, f, r);
                l["from"] = base_label_name(old).unwrap_or("").into();
                l["to"] = labels.name(new).into();
                l
            })
            .collect();
        finding(
            Code::DatasetLabelFlip,
            format!(
                "{} their input but changed label",
                crate::finding::plural(flips.count, "record kept", "records kept")
            ),
            ev! {"count" => flips.count, "label_field" => fields.label, "first" => first},
        );
    }
    if dup_records > 0 {
        let top: Vec<_> = dups
            .iter()
            .map(|(d, b, n, at)| {
                serde_json::json!({"digest": hex(d), "baseline": b, "now": n, "first": loc(&now_files, at.0, at.1)})
            })
            .collect();
        finding(
            Code::DatasetDuplicateInjection,
            format!(
                "{} of {} {} injected",
                crate::finding::plural(dup_extra, "extra copy", "extra copies"),
                crate::finding::plural(dup_records, "record", "records"),
                if dup_extra == 1 { "was" } else { "were" }
            ),
            ev! {"records" => dup_records, "extra_copies" => dup_extra, "top" => top},
        );
    }
    if near_count > 0 {
        let top: Vec<_> = near_groups
            .into_iter()
            .map(|(size, t, at)| {
                serde_json::json!({"normalized_text": t, "records": size, "first": locs(&now_files, at)})
            })
            .collect();
        finding(
            Code::DatasetNearDuplicates,
            format!(
                "{} near-copies of each other ({})",
                crate::finding::plural(near_records, "inserted record is", "inserted records are"),
                crate::finding::plural(near_count, "group", "groups")
            ),
            ev! {"records" => near_records, "groups" => near_count, "top" => top},
        );
    }
    if labelled {
        let now_labels: BTreeMap<&str, u64> = labels
            .names
            .iter()
            .map(|s| s.as_str())
            .zip(labels.counts.iter().copied())
            .collect();
        let bt: u64 = base.header.labels.values().sum();
        let nt: u64 = now_labels.values().sum();
        let all: BTreeSet<&str> = base
            .header
            .labels
            .keys()
            .map(|s| s.as_str())
            .chain(now_labels.keys().copied())
            .collect();
        let mut table = Vec::new();
        let mut max_shift = 0f64;
        for l in all {
            let b = base.header.labels.get(l).copied().unwrap_or(0);
            let n = now_labels.get(l).copied().unwrap_or(0);
            let (bs, ns) = (b as f64 / bt.max(1) as f64, n as f64 / nt.max(1) as f64);
            max_shift = max_shift.max((ns - bs).abs());
            table.push(serde_json::json!({"label": l, "baseline": b, "now": n}));
        }
        if max_shift >= 0.01 {
            finding(
                Code::DatasetLabelShift,
                format!(
                    "the label distribution moved by up to {:.1} percentage points",
                    max_shift * 100.0
                ),
                ev! {"max_shift_points" => (max_shift * 1000.0).round() / 10.0, "labels" => table},
            );
        }
    }
    if !candidates.is_empty() {
        let list: Vec<_> = candidates
            .iter()
            .take(FIRST_N)
            .map(|(t, n, l, at)| {
                serde_json::json!({
                    "token": t,
                    "changed_records": n,
                    "unchanged_records": base_df.get(t).copied().unwrap_or(0),
                    "label": labels.name(*l),
                    "first": locs(&now_files, at.clone()),
                })
            })
            .collect();
        let mut evidence = ev! {"tokens" => list};
        if toks.pruned > 0 {
            evidence.insert("rare_tokens_pruned".into(), serde_json::json!(toks.pruned));
        }
        finding(
            Code::DatasetTriggerToken,
            format!(
                "{}: rare elsewhere, concentrated in changed records (e.g. '{}')",
                crate::finding::plural(
                    candidates.len() as u64,
                    "candidate trigger token",
                    "candidate trigger tokens"
                ),
                candidates.first().map(|t| t.0.as_str()).unwrap_or("")
            ),
            evidence,
        );
    }
    if hidden.count > 0 {
        finding(
            Code::DatasetInvisibleText,
            format!(
                "{} invisible or bidirectional-control characters",
                crate::finding::plural(
                    hidden.count,
                    "new or changed record contains",
                    "new or changed records contain"
                )
            ),
            ev! {"count" => hidden.count, "first" => locs(&now_files, hidden.first.sorted())},
        );
    }
    if mixed.count > 0 {
        finding(
            Code::DatasetMixedScript,
            format!(
                "{} Latin with Greek or Cyrillic look-alikes in a word",
                crate::finding::plural(
                    mixed.count,
                    "new or changed record mixes",
                    "new or changed records mix"
                )
            ),
            ev! {"count" => mixed.count, "first" => locs(&now_files, mixed.first.sorted())},
        );
    }

    // Schema drift, over all record files.
    let cols = |files: &[DataFile]| -> BTreeSet<String> {
        files
            .iter()
            .flat_map(|f| f.columns.iter().cloned())
            .collect()
    };
    let (bc, nc) = (cols(base_files), cols(&now_files));
    if bc != nc {
        let added: Vec<&String> = nc.difference(&bc).collect();
        let gone: Vec<&String> = bc.difference(&nc).collect();
        finding(
            Code::DatasetSchemaDrift,
            format!("columns added {added:?}, removed {gone:?}"),
            ev! {"added" => added, "removed" => gone},
        );
    }

    // Files that are not records: compared whole.
    let plain = |files: &[DataFile]| -> BTreeMap<String, String> {
        files
            .iter()
            .filter(|f| f.format.is_none())
            .map(|f| (f.path.clone(), f.sha256.clone()))
            .collect()
    };
    let (bp, np) = (plain(base_files), plain(&now_files));
    for (p, d) in &bp {
        match np.get(p) {
            None => finding(
                Code::DatasetFileChanged,
                format!("'{p}' is gone"),
                ev! {"file" => p, "baseline_sha256" => d},
            ),
            Some(n) if n != d => finding(
                Code::DatasetFileChanged,
                format!("'{p}' changed"),
                ev! {"file" => p, "baseline_sha256" => d, "sha256" => n},
            ),
            Some(_) => {}
        }
    }
    for (p, d) in &np {
        if !bp.contains_key(p) {
            finding(
                Code::DatasetFileChanged,
                format!("'{p}' is new"),
                ev! {"file" => p, "sha256" => d},
            );
        }
    }
    if out.is_empty() {
        out.push(Finding::new(
            Code::DatasetUnchanged,
            shown.clone(),
            match base_total {
                1 => "the one record matches the baseline".to_string(),
                n => format!("all {n} records match the baseline"),
            },
            ev! {"records" => base_total},
        ));
    }
    Ok(out)
}
