//! Datasets: record-level manifests, and a diff against a trusted manifest that says which
//! records were inserted, removed or changed, and which changes look like poisoning.
//!
//! A manifest file is the body, a newline, and the header as its last line: the body is the
//! fixed-size entries, one per record in file and row order (see [`Entry`]); the header is one
//! line of JSON (the [`Header`]: files, Merkle roots, columns, label counts, and the SHA-256 of
//! the body). The body comes first so that it streams straight into the file as records are
//! read; `tail -n 1` shows the header. Signing the header covers the body.

pub mod canon;
mod diff;
pub mod parquet_pages;
pub mod records;
pub mod sort;

pub use diff::diff;

use crate::digest::hex;
use crate::finding::Code;
use crate::report::Tool;
use records::{Fields, Record, RecordFormat};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::Path;

pub const KIND: &str = "modelgate-dataset-manifest";
pub const SCHEMA_VERSION: u32 = 1;
pub const CANONICALIZATION: &str = "jcs-rfc8785/sha256";
/// Locations listed per signal.
pub const FIRST_N: usize = 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    pub kind: String,
    pub schema_version: u32,
    pub tool: Tool,
    /// How records are canonicalized and digested (see the README).
    pub canonicalization: String,
    pub fields: FieldNames,
    /// Every file, sorted by path. Record files carry counts, columns and a Merkle root.
    pub files: Vec<DataFile>,
    /// Label → number of records.
    pub labels: BTreeMap<String, u64>,
    /// Labels in the order entries number them (first seen first).
    pub label_order: Vec<String>,
    pub records: u64,
    /// Size of one body entry in bytes.
    pub entry_size: u32,
    /// SHA-256 of the uncompressed body.
    pub body_sha256: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldNames {
    pub key: Option<String>,
    pub label: Option<String>,
    pub text: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DataFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// The record format (jsonl, json, csv, tsv, text), or none for a file that is not records.
    pub format: Option<String>,
    pub records: u64,
    /// Merkle root over the file's record digests, in row order.
    pub merkle_root: Option<String>,
    pub columns: Vec<String>,
}

/// One record in the body: 16-byte prefixes of SHA-256 (collision-resistant at 2^64 work,
/// enough to tell records apart), the label's index in the header's sorted label list
/// (`u32::MAX` for none), the file's index and the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    pub digest: [u8; 16],
    pub input: [u8; 16],
    pub key: [u8; 16],
    pub label: u32,
    pub file: u32,
    pub row: u64,
}

pub const ENTRY_SIZE: usize = 16 * 3 + 4 + 4 + 8;

fn prefix(d: &[u8; 32]) -> [u8; 16] {
    let mut p = [0u8; 16];
    p.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    p
}

impl Entry {
    fn write(&self, out: &mut [u8; ENTRY_SIZE]) {
        let parts: [&[u8]; 6] = [
            &self.digest,
            &self.input,
            &self.key,
            &self.label.to_le_bytes(),
            &self.file.to_le_bytes(),
            &self.row.to_le_bytes(),
        ];
        let mut at = 0;
        for p in parts {
            if let Some(d) = out.get_mut(at..at + p.len()) {
                d.copy_from_slice(p);
            }
            at += p.len();
        }
    }

    fn read(b: &[u8]) -> Option<Entry> {
        let arr = |r: std::ops::Range<usize>| b.get(r);
        let mut e = Entry {
            digest: [0; 16],
            input: [0; 16],
            key: [0; 16],
            label: 0,
            file: 0,
            row: 0,
        };
        e.digest.copy_from_slice(arr(0..16)?);
        e.input.copy_from_slice(arr(16..32)?);
        e.key.copy_from_slice(arr(32..48)?);
        e.label = u32::from_le_bytes(arr(48..52)?.try_into().ok()?);
        e.file = u32::from_le_bytes(arr(52..56)?.try_into().ok()?);
        e.row = u64::from_le_bytes(arr(56..64)?.try_into().ok()?);
        Some(e)
    }
}

/// Labels as records arrive, numbered as first seen, with counts.
#[derive(Default)]
pub(crate) struct Labels {
    pub(crate) names: Vec<String>,
    pub(crate) ids: HashMap<String, u32>,
    pub(crate) counts: Vec<u64>,
}

impl Labels {
    pub(crate) fn id(&mut self, l: &str) -> u32 {
        if let Some(i) = self.ids.get(l) {
            return *i;
        }
        let i = self.names.len() as u32;
        self.names.push(l.to_string());
        self.ids.insert(l.to_string(), i);
        self.counts.push(0);
        i
    }
    pub(crate) fn count(&mut self, l: &str, n: u64) -> u32 {
        let i = self.id(l);
        if let Some(c) = self.counts.get_mut(i as usize) {
            *c += n;
        }
        i
    }
    pub(crate) fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map(|s| s.as_str()).unwrap_or("")
    }
}

/// A reader that hashes and counts what passes through.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    len: u64,
    /// Off in filtered passes, which do not describe files.
    on: bool,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.on {
            self.hash.update(buf.get(..n).unwrap_or_default());
        }
        self.len = self.len.saturating_add(n as u64);
        Ok(n)
    }
}

/// Read `rd` to its end in blocks of whole lines (the last may lack its newline), hashing as
/// it goes, and send them on. Stops at the first error (sent) or when the receiver is gone.
fn read_blocks(
    rd: &mut Hashing<std::fs::File>,
    tx: &std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
) {
    // The position after the last line a block may hold: whole lines only, and at most
    // BLOCK_LINES of them, so that a file of short or empty lines cannot make a block of millions
    // of records (each held as a parsed record until handed on).
    let end_of_batch = |buf: &[u8], eof: bool| -> usize {
        let whole = if eof {
            buf.len()
        } else {
            memchr::memrchr(b'\n', buf).map_or(0, |i| i.saturating_add(1))
        };
        match memchr::memchr_iter(b'\n', buf).nth(BLOCK_LINES.saturating_sub(1)) {
            Some(i) if i < whole => i.saturating_add(1),
            _ => whole,
        }
    };
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut eof = false;
    loop {
        // Read only when what is buffered is not already a full batch.
        if !eof
            && memchr::memchr_iter(b'\n', &buf)
                .nth(BLOCK_LINES.saturating_sub(1))
                .is_none()
        {
            let start = buf.len();
            // Appended without zeroing first.
            let n = match (&mut rd.inner).take(BLOCK as u64).read_to_end(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            if rd.on {
                rd.hash.update(buf.get(start..).unwrap_or_default());
            }
            rd.len = rd.len.saturating_add(n as u64);
            eof = n == 0;
        }
        let cut = end_of_batch(&buf, eof);
        if cut == 0 {
            if eof {
                return;
            }
            if buf.len() > records::MAX_RECORD {
                let _ = tx.send(Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "record longer than the record limit",
                )));
                return;
            }
            continue;
        }
        let rest = buf.split_off(cut);
        let mut next = Vec::with_capacity(BLOCK.saturating_add(rest.len()));
        next.extend_from_slice(&rest);
        if tx.send(Ok(std::mem::replace(&mut buf, next))).is_err() {
            return;
        }
    }
}

/// Every file's description, and the files that could not be read as records (path, error).
pub type Walked = (Vec<DataFile>, Vec<(String, String)>);

/// Block size for streaming JSON Lines and text.
const BLOCK: usize = 8 << 20;
/// Most lines in one block (a block of empty lines would otherwise be millions of records).
const BLOCK_LINES: usize = 1 << 17;

/// What to do with a file before reading its records.
pub enum Action {
    Read,
    /// The file is known already (the same bytes as a baseline file): take this description
    /// and read no records.
    Same(DataFile),
    /// Leave the file out of this pass (it keeps its index).
    Ignore,
}

/// Stream every file under `root` (sorted by path): records to `each` with their file's index,
/// in row order. Files are read once, in blocks; only JSON arrays are held whole.
pub fn for_each_record(
    root: &Path,
    fields: &Fields,
    each: impl FnMut(u32, Record),
) -> Result<Walked, String> {
    for_each_record_with(root, fields, &mut |_, _| Action::Read, None, each)
}

/// Which records of a file to parse, by file index, row and raw line (JSON Lines and text;
/// other formats are parsed whole). Lines it declines are not parsed and not reported.
pub type RowFilter<'a> = &'a (dyn Fn(u32, u64, &[u8]) -> bool + Sync);

/// [`for_each_record`], asking `hook` (relative path, path on disk) first what to do with
/// each file.
pub fn for_each_record_with(
    root: &Path,
    fields: &Fields,
    hook: &mut dyn FnMut(&str, &Path) -> Action,
    want: Option<RowFilter<'_>>,
    mut each: impl FnMut(u32, Record),
) -> Result<Walked, String> {
    let walked = crate::walk::walk(&[root.to_path_buf()])?;
    let shown = root.to_string_lossy().trim_end_matches('/').to_string();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut tasks: Vec<_> = walked.tasks.iter().collect();
    tasks.sort_by(|a, b| a.display.cmp(&b.display));
    for t in tasks {
        let rel = t
            .display
            .strip_prefix(&shown)
            .map(|r| r.trim_start_matches('/').to_string())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| t.name.clone());
        let file_idx = u32::try_from(files.len()).map_err(|_| "too many files".to_string())?;
        match hook(&rel, &t.fs_path) {
            Action::Read => {}
            Action::Same(mut df) => {
                df.path = rel;
                files.push(df);
                continue;
            }
            Action::Ignore => {
                files.push(DataFile {
                    path: rel,
                    size: 0,
                    sha256: String::new(),
                    format: None,
                    records: 0,
                    merkle_root: None,
                    columns: Vec::new(),
                });
                continue;
            }
        }
        let open = || std::fs::File::open(&t.fs_path).map_err(|e| format!("{}: {e}", t.display));
        let mut head = [0u8; 64];
        let hn = open()?
            .read(&mut head)
            .map_err(|e| format!("{}: {e}", t.display))?;
        let head = head.get(..hn).unwrap_or_default();
        let format = RecordFormat::of(&t.name, head);
        let webdataset = format.is_none() && t.name.to_ascii_lowercase().ends_with(".tar");
        let parquet = format.is_none() && head.starts_with(b"PAR1");
        let media = format.is_none() && !parquet && records::is_media(&t.name);
        let mut rd = Hashing {
            inner: open()?,
            hash: Sha256::new(),
            len: 0,
            on: want.is_none() || media,
        };
        let mut merkle = records::MerkleStream::default();
        let mut count = 0u64;
        let mut push = |r: Record| {
            merkle.push(r.digest);
            count = count.saturating_add(1);
            each(file_idx, r);
        };
        // A reader that panics on hostile input (the parquet crate has) must not end the run
        // without a word: the panic becomes this file's error.
        let guarded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match format {
            Some(fmt @ (RecordFormat::JsonLines | RecordFormat::Text)) => Some({
                // A pipeline: a reader thread reads and hashes blocks of whole lines; block k+1
                // is parsed on the pool while the records of block k are handed on here, in
                // row order.
                let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(1);
                let hashing = &mut rd;
                std::thread::scope(|sc| {
                    sc.spawn(move || read_blocks(hashing, &tx));
                    let mut cols: BTreeSet<String> = BTreeSet::new();
                    let mut row = 0u64;
                    let mut ready: Vec<Vec<Record>> = Vec::new();
                    for block in rx {
                        let block = block?;
                        let mut parsed = None;
                        let done = std::mem::take(&mut ready);
                        rayon::in_place_scope(|s| {
                            s.spawn(|_| {
                                let w = want.map(|w| move |r: u64, l: &[u8]| w(file_idx, r, l));
                                let w = w.as_ref().map(|w| w as records::LineFilter<'_>);
                                parsed = Some(records::parse_lines(fmt, &block, fields, row, w));
                            });
                            done.into_iter().flatten().for_each(&mut push);
                        });
                        let (recs, c, lines) = parsed.unwrap_or_else(|| Ok(Default::default()))?;
                        ready = recs;
                        cols.extend(c);
                        row = row.saturating_add(lines);
                    }
                    ready.into_iter().flatten().for_each(&mut push);
                    Ok(cols.into_iter().collect())
                })
            }),
            Some(fmt) => Some(records::read(fmt, &mut rd, fields, &mut push)),
            None if webdataset => Some(records::read_webdataset(&mut rd, fields, &mut push)),
            None if parquet => Some(records::read_parquet(&t.fs_path, fields, &mut push)),
            None if media => Some((|| {
                // The file's own hash is its content digest: streamed, never held.
                std::io::copy(&mut rd, &mut std::io::sink())?;
                let content = hex(&rd.hash.clone().finalize());
                let folder = rel.rsplit_once('/').and_then(|(d, _)| d.rsplit('/').next());
                push(records::media_record(&content, &t.name, folder, 0));
                Ok(vec!["content_sha256".to_string(), "label".to_string()])
            })()),
            None => None,
        }));
        let res: Option<std::io::Result<Vec<String>>> = match guarded {
            Ok(r) => r,
            Err(p) => {
                let why = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                return Err(format!(
                    "{}: the reader failed on this file ({why}); its records could not be read",
                    t.display
                ));
            }
        };
        // Hash whatever the reader left (and the whole file for parquet).
        if let Err(e) = std::io::copy(&mut rd, &mut std::io::sink()) {
            return Err(format!("{}: {e}", t.display));
        }
        let mut df = DataFile {
            path: rel.clone(),
            size: rd.len,
            sha256: if rd.on {
                hex(&rd.hash.finalize())
            } else {
                String::new()
            },
            format: format
                .map(|f| f.name().to_string())
                .or_else(|| webdataset.then(|| "webdataset".to_string()))
                .or_else(|| parquet.then(|| "parquet".to_string()))
                .or_else(|| media.then(|| "media".to_string())),
            records: 0,
            merkle_root: None,
            columns: Vec::new(),
        };
        match res {
            Some(Ok(cols)) => {
                df.records = count;
                df.merkle_root = Some(hex(&merkle.finish()));
                df.columns = cols;
            }
            Some(Err(e)) => errors.push((rel.clone(), e.to_string())),
            None => {}
        }
        files.push(df);
    }
    Ok((files, errors))
}

/// Write the manifest of `root` to `out`, streaming: entries are written as records arrive,
/// so memory does not grow with the dataset; the header, known only at the end, follows.
pub fn create_into<W: Write + Send>(
    root: &Path,
    fields: &Fields,
    out: &mut W,
) -> Result<Header, String> {
    // Entries are mostly digests, which do not compress: they are stored as they are. A writer
    // thread hashes and writes them in blocks, off the thread that hands records on.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let mut labels = Labels::default();
    let mut n = 0u64;
    const BATCH: usize = ENTRY_SIZE * 16384;
    let sink = &mut *out;
    let (walked, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<Sha256> {
            let mut h = Sha256::new();
            for b in rx {
                h.update(&b);
                sink.write_all(&b)?;
            }
            Ok(h)
        });
        let mut batch: Vec<u8> = Vec::with_capacity(BATCH);
        let mut closed = false;
        let walked = for_each_record(root, fields, |file, r| {
            let label = r.label.as_deref().map_or(u32::MAX, |l| labels.count(l, 1));
            let e = Entry {
                digest: prefix(&r.digest),
                input: prefix(&r.input),
                key: r.key_hash,
                label,
                file,
                row: r.row,
            };
            let mut b = [0u8; ENTRY_SIZE];
            e.write(&mut b);
            batch.extend_from_slice(&b);
            n = n.saturating_add(1);
            if batch.len() >= BATCH && !closed {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                // A send fails only when the writer stopped on an error, reported below.
                closed = tx.send(full).is_err();
            }
        });
        if !batch.is_empty() && !closed {
            let _ = tx.send(batch);
        }
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writer thread failed")));
        (walked, written)
    });
    let (files, errors) = walked?;
    let body_hash = written.map_err(|e| format!("writing the manifest body: {e}"))?;
    if let Some((p, e)) = errors.first() {
        return Err(format!("{p}: {e}"));
    }
    let header = Header {
        kind: KIND.into(),
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "modelgate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        canonicalization: CANONICALIZATION.into(),
        fields: FieldNames {
            key: fields.key.clone(),
            label: fields.label.clone(),
            text: fields.text.clone(),
        },
        files,
        labels: labels
            .names
            .iter()
            .cloned()
            .zip(labels.counts.iter().copied())
            .collect(),
        label_order: labels.names,
        records: n,
        entry_size: ENTRY_SIZE as u32,
        body_sha256: hex(&body_hash.finalize()),
    };
    let mut head = vec![b'\n'];
    head.extend(serde_json::to_vec(&header).map_err(|e| e.to_string())?);
    head.push(b'\n');
    out.write_all(&head).map_err(|e| e.to_string())?;
    Ok(header)
}

/// The manifest of `root`, in memory.
pub fn create(root: &Path, fields: &Fields) -> Result<(Vec<u8>, Header), String> {
    let mut out = Vec::new();
    let header = create_into(root, fields, &mut out)?;
    Ok((out, header))
}

/// The header line of a manifest (its last line): what a signature covers. A lone header
/// line (as signed) is its own header.
pub fn header_bytes(manifest: &[u8]) -> Option<&[u8]> {
    let m = manifest.strip_suffix(b"\n")?;
    Some(match memchr::memrchr(b'\n', m) {
        Some(i) => m.get(i.saturating_add(1)..)?,
        None => m,
    })
}

/// The body before the header line.
fn body_bytes(manifest: &[u8]) -> &[u8] {
    let m = manifest.strip_suffix(b"\n").unwrap_or(manifest);
    match memchr::memrchr(b'\n', m) {
        Some(i) => m.get(..i).unwrap_or_default(),
        None => &[],
    }
}

pub const PAYLOAD_TYPE: &str = "application/vnd.modelgate.dataset-manifest.v1+json";

/// Sign a dataset manifest: the signature covers the header line, which carries the body's
/// digest.
pub fn sign(manifest: &[u8], key: &crate::signature::keys::SigningKey) -> Result<Vec<u8>, String> {
    let head = header_bytes(manifest).ok_or("not a dataset manifest")?;
    let material = crate::signature::dsse::key_hint_material(&key.verifying_key());
    Ok(crate::signature::dsse::signed_bundle(
        PAYLOAD_TYPE,
        head,
        key,
        material,
    ))
}

/// Check a signature over a manifest's header line.
pub fn verify_header(
    head: &[u8],
    bundle: &[u8],
    key: &crate::signature::keys::VerifyingKey,
) -> Result<(), (Code, String)> {
    let payload = crate::signature::dsse::verified_payload(bundle, PAYLOAD_TYPE, key)?;
    if payload != head {
        return Err((
            Code::SignatureInvalid,
            "the signature covers another manifest header".into(),
        ));
    }
    Ok(())
}

/// Verify a signature over the manifest's header line, then load the manifest.
pub fn verify_and_load(
    manifest: &[u8],
    bundle: &[u8],
    key: &crate::signature::keys::VerifyingKey,
) -> Result<Baseline, (Code, String)> {
    let head = header_bytes(manifest).ok_or((
        Code::SignatureMalformed,
        "not a dataset manifest".to_string(),
    ))?;
    verify_header(head, bundle, key)?;
    load(manifest).map_err(|e| (Code::SignatureMalformed, e))
}

/// Where a baseline's entries are read from.
enum Body {
    Memory(Vec<u8>),
    /// The first `len` bytes of the file.
    File {
        path: std::path::PathBuf,
        len: u64,
    },
}

/// A baseline read from a trusted manifest: its header, and its entries read as a stream
/// (millions of entries are never all held in memory).
pub struct Baseline {
    pub header: Header,
    body: Body,
}

/// Longest manifest header line read.
pub const MAX_HEADER: u64 = 256 << 20;

fn parse_header(head: &[u8]) -> Result<Header, String> {
    let header: Header =
        serde_json::from_slice(head).map_err(|e| format!("manifest header: {e}"))?;
    if header.kind != KIND
        || header.schema_version != SCHEMA_VERSION
        || header.entry_size as usize != ENTRY_SIZE
    {
        return Err("not a modelgate dataset manifest of a supported version".into());
    }
    Ok(header)
}

/// Parse a manifest in memory whose header was trusted (verified, or accepted unsigned by
/// request), and check the body against the header's digest.
pub fn load(manifest: &[u8]) -> Result<Baseline, String> {
    let head = header_bytes(manifest).ok_or("not a dataset manifest: no header line")?;
    let header = parse_header(head)?;
    let body = body_bytes(manifest).to_vec();
    let b = Baseline {
        header,
        body: Body::Memory(body),
    };
    b.for_each_entry(|_| {})?;
    Ok(b)
}

/// The header line of a manifest file (what a signature covers), read from its end without
/// the body, and the body's length.
pub fn read_header_line(path: &Path) -> Result<(Vec<u8>, u64), String> {
    use std::io::{Seek, SeekFrom};
    let bad = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(|e| bad(&e))?;
    let len = f.metadata().map_err(|e| bad(&e))?.len();
    let mut at = |from: u64, n: u64| -> Result<Vec<u8>, String> {
        let mut b = vec![0u8; usize::try_from(n).map_err(|e| bad(&e))?];
        f.seek(SeekFrom::Start(from)).map_err(|e| bad(&e))?;
        f.read_exact(&mut b).map_err(|e| bad(&e))?;
        Ok(b)
    };
    if len == 0 || at(len - 1, 1)? != b"\n" {
        return Err(bad(&"not a dataset manifest (no header line)"));
    }
    // Search backwards, block by block, for the newline before the header; then read the
    // header once.
    let end = len - 1;
    let mut pos = end;
    loop {
        if end - pos > MAX_HEADER {
            return Err(bad(&"manifest header longer than the limit"));
        }
        if pos == 0 {
            return Err(bad(&"not a dataset manifest (no body before the header)"));
        }
        let from = pos.saturating_sub(1 << 20);
        if let Some(i) = memchr::memrchr(b'\n', &at(from, pos - from)?) {
            let sep = from + i as u64;
            return Ok((at(sep + 1, end - sep - 1)?, sep));
        }
        pos = from;
    }
}

/// A baseline whose header line `head` (from [`read_header_line`], with the body's length)
/// was trusted; the body is streamed from the file when the diff runs, and checked against the
/// header's digest then.
pub fn open(path: &Path, head: &[u8], body_len: u64) -> Result<Baseline, String> {
    Ok(Baseline {
        header: parse_header(head)?,
        body: Body::File {
            path: path.to_path_buf(),
            len: body_len,
        },
    })
}

impl Baseline {
    /// Every entry in order. The body's length and SHA-256 are checked as it streams; a
    /// mismatch is an error once the stream ends, so nothing built from a forged body is used.
    pub fn for_each_entry(&self, mut f: impl FnMut(Entry)) -> Result<(), String> {
        let want = self.header.records.saturating_mul(ENTRY_SIZE as u64);
        let mut r: Box<dyn Read> = match &self.body {
            Body::Memory(b) => Box::new(&b[..]),
            Body::File { path, len } => {
                if *len != want {
                    return Err("the manifest body does not match its header".into());
                }
                let file =
                    std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
                Box::new(std::io::BufReader::with_capacity(1 << 20, file.take(want)))
            }
        };
        let mut hash = Sha256::new();
        let mut got = 0u64;
        let mut block = vec![0u8; ENTRY_SIZE * 4096];
        loop {
            let n = read_full(&mut r, &mut block).map_err(|e| format!("manifest body: {e}"))?;
            let chunk = block.get(..n).unwrap_or_default();
            hash.update(chunk);
            got = got.saturating_add(n as u64);
            if got > want {
                break;
            }
            chunk
                .chunks(ENTRY_SIZE)
                .filter_map(Entry::read)
                .for_each(&mut f);
            if n < block.len() {
                break;
            }
        }
        if got != want || hex(&hash.finalize()) != self.header.body_sha256 {
            return Err("the manifest body does not match its header".into());
        }
        Ok(())
    }

    /// All entries, in memory (for small baselines and tests).
    pub fn entries(&self) -> Result<Vec<Entry>, String> {
        let mut v = Vec::new();
        self.for_each_entry(|e| v.push(e))?;
        Ok(v)
    }
}

/// Fill `buf` as far as the reader goes.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
