//! Datasets: record-level manifests, and a diff against a trusted manifest that says which
//! records were inserted, removed or changed, and which changes look like poisoning.
//!
//! A manifest file is one line of JSON (the [`Header`]: files, Merkle roots, columns, label
//! counts, and the SHA-256 of the body), a newline, then the body: gzip of fixed-size entries,
//! one per record in file and row order (see [`Entry`]). Signing the header covers the body.

pub mod records;

use crate::digest::hex;
use crate::ev;
use crate::finding::{Code, Finding};
use crate::report::Tool;
use records::{invisible_or_bidi, mixed_script, Fields, Record, RecordFormat};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.input);
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.label.to_le_bytes());
        out.extend_from_slice(&self.file.to_le_bytes());
        out.extend_from_slice(&self.row.to_le_bytes());
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

/// A record of the current dataset, with what the signals need.
struct Current {
    entry: Entry,
    label: Option<String>,
    key: Option<String>,
    text: Option<String>,
}

/// The current state of a dataset directory.
pub struct Scanned {
    files: Vec<DataFile>,
    records: Vec<Current>,
    /// Files that could not be read as records (path, error).
    pub errors: Vec<(String, String)>,
}

fn key_digest(k: &Option<String>) -> [u8; 16] {
    match k {
        Some(k) => prefix(&Sha256::digest(k.as_bytes()).into()),
        None => [0; 16],
    }
}

/// A reader that hashes and counts what passes through.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    len: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(buf.get(..n).unwrap_or_default());
        self.len = self.len.saturating_add(n as u64);
        Ok(n)
    }
}

/// Every file's description, and the files that could not be read as records (path, error).
pub type Walked = (Vec<DataFile>, Vec<(String, String)>);

/// Block size for streaming JSON Lines and text.
const BLOCK: usize = 16 << 20;

/// Stream every file under `root` (sorted by path): records to `each` with their file's index,
/// in row order. Files are read once, in blocks; only JSON arrays are held whole.
pub fn for_each_record(
    root: &Path,
    fields: &Fields,
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
        };
        let mut merkle = records::MerkleStream::default();
        let mut count = 0u64;
        let mut push = |r: Record| {
            merkle.push(r.digest);
            count = count.saturating_add(1);
            each(file_idx, r);
        };
        let res: Option<std::io::Result<Vec<String>>> = match format {
            Some(fmt @ (RecordFormat::JsonLines | RecordFormat::Text)) => Some((|| {
                let mut cols: BTreeSet<String> = BTreeSet::new();
                let mut buf: Vec<u8> = Vec::with_capacity(BLOCK);
                let mut row = 0u64;
                loop {
                    let start = buf.len();
                    buf.resize(start.saturating_add(BLOCK), 0);
                    let n = rd.read(buf.get_mut(start..).unwrap_or_default())?;
                    buf.truncate(start.saturating_add(n));
                    let cut = if n == 0 {
                        buf.len()
                    } else {
                        buf.iter()
                            .rposition(|b| *b == b'\n')
                            .map_or(0, |i| i.saturating_add(1))
                    };
                    if n > 0 && cut == 0 && buf.len() > records::MAX_RECORD {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "record longer than the record limit",
                        ));
                    }
                    let block = buf.get(..cut).unwrap_or_default();
                    cols.extend(records::read_bytes(fmt, block, fields, row, &mut push)?);
                    row = row.saturating_add(block.iter().filter(|b| **b == b'\n').count() as u64);
                    if cut < block.len() || (n == 0 && block.last().is_some_and(|b| *b != b'\n')) {
                        row = row.saturating_add(1);
                    }
                    buf.drain(..cut);
                    if n == 0 {
                        return Ok(cols.into_iter().collect());
                    }
                }
            })()),
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
        };
        // Hash whatever the reader left (and the whole file for parquet).
        if let Err(e) = std::io::copy(&mut rd, &mut std::io::sink()) {
            return Err(format!("{}: {e}", t.display));
        }
        let mut df = DataFile {
            path: rel.clone(),
            size: rd.len,
            sha256: hex(&rd.hash.finalize()),
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

/// Read every file under `root` into memory for the diff (text kept only when asked).
pub fn scan_dataset(root: &Path, fields: &Fields, keep_text: bool) -> Result<Scanned, String> {
    let mut records = Vec::new();
    let (files, errors) = for_each_record(root, fields, |file, r| {
        records.push(Current {
            entry: Entry {
                digest: prefix(&r.digest),
                input: prefix(&r.input),
                key: key_digest(&r.key),
                label: u32::MAX,
                file,
                row: r.row,
            },
            label: r.label,
            key: r.key,
            text: if keep_text { r.text } else { None },
        });
    })?;
    Ok(Scanned {
        files,
        records,
        errors,
    })
}

/// Write the manifest of `root` to `out`, streaming: entries go to `spool` (gzip) as records
/// arrive, so memory does not grow with the dataset; the header, known only at the end, is
/// written first and the spooled body after it.
pub fn create_into<S: Read + Write + std::io::Seek, W: Write>(
    root: &Path,
    fields: &Fields,
    spool: S,
    out: &mut W,
) -> Result<Header, String> {
    let mut gz = flate2::write::GzEncoder::new(spool, flate2::Compression::fast());
    let mut body_hash = Sha256::new();
    let mut labels: BTreeMap<String, u64> = BTreeMap::new();
    let mut label_order: Vec<String> = Vec::new();
    let mut label_ids: HashMap<String, u32> = HashMap::new();
    let mut n = 0u64;
    let mut write_err: Option<std::io::Error> = None;
    let (files, errors) = for_each_record(root, fields, |file, r| {
        let label = match &r.label {
            Some(l) => {
                *labels.entry(l.clone()).or_insert(0) += 1;
                *label_ids.entry(l.clone()).or_insert_with(|| {
                    label_order.push(l.clone());
                    (label_order.len() - 1) as u32
                })
            }
            None => u32::MAX,
        };
        let e = Entry {
            digest: prefix(&r.digest),
            input: prefix(&r.input),
            key: key_digest(&r.key),
            label,
            file,
            row: r.row,
        };
        let mut b = Vec::with_capacity(ENTRY_SIZE);
        e.write(&mut b);
        body_hash.update(&b);
        n = n.saturating_add(1);
        if write_err.is_none() {
            if let Err(err) = gz.write_all(&b) {
                write_err = Some(err);
            }
        }
    })?;
    if let Some(e) = write_err {
        return Err(format!("writing the manifest body: {e}"));
    }
    if let Some((p, e)) = errors.first() {
        return Err(format!("{p}: {e}"));
    }
    let mut spool = gz.finish().map_err(|e| e.to_string())?;
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
        labels,
        label_order,
        records: n,
        entry_size: ENTRY_SIZE as u32,
        body_sha256: hex(&body_hash.finalize()),
    };
    let mut head = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    head.push(b'\n');
    out.write_all(&head).map_err(|e| e.to_string())?;
    spool.rewind().map_err(|e| e.to_string())?;
    std::io::copy(&mut spool, out).map_err(|e| e.to_string())?;
    Ok(header)
}

/// The manifest of `root`, in memory.
pub fn create(root: &Path, fields: &Fields) -> Result<(Vec<u8>, Header), String> {
    let mut out = Vec::new();
    let header = create_into(root, fields, std::io::Cursor::new(Vec::new()), &mut out)?;
    Ok((out, header))
}

/// The header line of a manifest file: what a signature covers.
pub fn header_bytes(manifest: &[u8]) -> Option<&[u8]> {
    let end = manifest.iter().position(|b| *b == b'\n')?;
    manifest.get(..end)
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
    let payload = crate::signature::dsse::verified_payload(bundle, PAYLOAD_TYPE, key)?;
    if payload != head {
        return Err((
            Code::SignatureInvalid,
            "the signature covers another manifest header".into(),
        ));
    }
    load(manifest).map_err(|e| (Code::SignatureMalformed, e))
}

/// A baseline read from a trusted manifest.
pub struct Baseline {
    pub header: Header,
    pub entries: Vec<Entry>,
}

/// Parse a manifest whose header was trusted (verified, or accepted unsigned by request), and
/// check the body against the header's digest.
pub fn load(manifest: &[u8]) -> Result<Baseline, String> {
    let head = header_bytes(manifest).ok_or("not a dataset manifest: no header line")?;
    let header: Header =
        serde_json::from_slice(head).map_err(|e| format!("manifest header: {e}"))?;
    if header.kind != KIND
        || header.schema_version != SCHEMA_VERSION
        || header.entry_size as usize != ENTRY_SIZE
    {
        return Err("not a modelgate dataset manifest of a supported version".into());
    }
    let rest = manifest
        .get(head.len().saturating_add(1)..)
        .unwrap_or_default();
    let limit = header.records.saturating_mul(ENTRY_SIZE as u64);
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(rest)
        .take(limit.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| format!("manifest body: {e}"))?;
    if hex(&Sha256::digest(&body)) != header.body_sha256 || body.len() as u64 != limit {
        return Err("the manifest body does not match its header".into());
    }
    let entries = body.chunks(ENTRY_SIZE).filter_map(Entry::read).collect();
    Ok(Baseline { header, entries })
}

fn loc(files: &[DataFile], e: &Entry) -> serde_json::Value {
    let f = files
        .get(e.file as usize)
        .map(|f| f.path.as_str())
        .unwrap_or("?");
    serde_json::json!({"file": f, "row": e.row})
}

/// Per token in changed records: how many, per label, and the first few.
type TokenStats<'a> = (u64, HashMap<String, u64>, Vec<&'a Current>);

/// Tokens of a text for trigger detection: lowercased words.
fn tokens(t: &str) -> HashSet<String> {
    t.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && w.len() <= 64)
        .map(str::to_lowercase)
        .collect()
}

/// Compare the dataset at `root` with `base`. One finding per signal, with counts and the
/// first locations.
pub fn diff(root: &Path, base: &Baseline) -> Result<Vec<Finding>, String> {
    let fields = Fields {
        key: base.header.fields.key.clone(),
        label: base.header.fields.label.clone(),
        text: base.header.fields.text.clone(),
    };
    let now = scan_dataset(root, &fields, true)?;
    let shown = root.to_string_lossy().trim_end_matches('/').to_string();
    let mut out = Vec::new();
    let mut finding = |code: Code, message: String, evidence: crate::inspect::Evidence| {
        out.push(Finding {
            code,
            severity: code.default_severity(),
            path: shown.clone(),
            member: Vec::new(),
            offset: None,
            message,
            evidence,
        })
    };
    for (p, e) in &now.errors {
        finding(
            Code::ReadError,
            format!("'{p}' cannot be read as records: {e}"),
            ev! {"file" => p},
        );
    }
    let base_labels: Vec<&String> = base.header.label_order.iter().collect();
    let base_label = |e: &Entry| base_labels.get(e.label as usize).map(|s| s.as_str());

    // Multiset difference by record digest: shuffling and re-sharding change nothing.
    let mut count: HashMap<[u8; 16], (i64, i64)> = HashMap::new();
    for e in &base.entries {
        count.entry(e.digest).or_default().0 += 1;
    }
    for c in &now.records {
        count.entry(c.entry.digest).or_default().1 += 1;
    }
    let mut removed: Vec<&Entry> = Vec::new();
    let mut seen_removed: HashMap<[u8; 16], i64> = HashMap::new();
    for e in &base.entries {
        let (b, n) = count.get(&e.digest).copied().unwrap_or_default();
        let k = seen_removed.entry(e.digest).or_insert(0);
        if *k < b - n {
            *k += 1;
            removed.push(e);
        }
    }
    let mut inserted: Vec<&Current> = Vec::new();
    let mut seen_inserted: HashMap<[u8; 16], i64> = HashMap::new();
    for c in &now.records {
        let (b, n) = count.get(&c.entry.digest).copied().unwrap_or_default();
        let k = seen_inserted.entry(c.entry.digest).or_insert(0);
        if *k < n - b {
            *k += 1;
            inserted.push(c);
        }
    }

    // Label flips: the same input, another label.
    let mut removed_by_input: HashMap<[u8; 16], Vec<usize>> = HashMap::new();
    for (i, e) in removed.iter().enumerate() {
        removed_by_input.entry(e.input).or_default().push(i);
    }
    let mut used_removed = vec![false; removed.len()];
    let mut flips = Vec::new();
    let mut changed: Vec<&Current> = Vec::new();
    let mut plain_inserted: Vec<&Current> = Vec::new();
    for c in &inserted {
        let m = removed_by_input
            .get_mut(&c.entry.input)
            .and_then(|v| v.pop())
            .filter(|_| c.label.is_some() && c.entry.input != c.entry.digest);
        match m {
            Some(i) => {
                if let Some(u) = used_removed.get_mut(i) {
                    *u = true;
                }
                let old = removed
                    .get(i)
                    .and_then(|e| base_label(e))
                    .unwrap_or("")
                    .to_string();
                flips.push((*c, old));
                changed.push(c);
            }
            None => plain_inserted.push(c),
        }
    }
    // Modified: the same key, other content.
    let mut removed_by_key: HashMap<[u8; 16], usize> = HashMap::new();
    if fields.key.is_some() {
        for (i, e) in removed.iter().enumerate() {
            if !used_removed.get(i).copied().unwrap_or(true) && e.key != [0; 16] {
                removed_by_key.insert(e.key, i);
            }
        }
    }
    let mut modified = Vec::new();
    let mut truly_inserted = Vec::new();
    for c in plain_inserted {
        match removed_by_key
            .remove(&c.entry.key)
            .filter(|_| c.entry.key != [0; 16])
        {
            Some(i) => {
                if let Some(u) = used_removed.get_mut(i) {
                    *u = true;
                }
                modified.push(c);
                changed.push(c);
            }
            None => {
                truly_inserted.push(c);
                changed.push(c);
            }
        }
    }
    let truly_removed: Vec<&Entry> = removed
        .iter()
        .zip(&used_removed)
        .filter(|(_, u)| !**u)
        .map(|(e, _)| *e)
        .collect();

    let first = |v: &[&Current]| -> Vec<serde_json::Value> {
        v.iter()
            .take(FIRST_N)
            .map(|c| loc(&now.files, &c.entry))
            .collect()
    };
    if !truly_inserted.is_empty() {
        finding(
            Code::DatasetRecordsInserted,
            format!("{} records are not in the baseline", truly_inserted.len()),
            ev! {"count" => truly_inserted.len(), "first" => first(&truly_inserted)},
        );
    }
    if !truly_removed.is_empty() {
        let locs: Vec<_> = truly_removed
            .iter()
            .take(FIRST_N)
            .map(|e| loc(&base.header.files, e))
            .collect();
        finding(
            Code::DatasetRecordsRemoved,
            format!("{} baseline records are gone", truly_removed.len()),
            ev! {"count" => truly_removed.len(), "first_in_baseline" => locs},
        );
    }
    if !modified.is_empty() {
        finding(
            Code::DatasetRecordsModified,
            format!("{} records changed under the same key", modified.len()),
            ev! {
                "count" => modified.len(),
                "key_field" => fields.key,
                "first" => modified.iter().take(FIRST_N).map(|c| {
                    let mut l = loc(&now.files, &c.entry);
                    l["key"] = c.key.clone().unwrap_or_default().into();
                    l
                }).collect::<Vec<_>>(),
            },
        );
    }
    if !flips.is_empty() {
        let locs: Vec<_> = flips
            .iter()
            .take(FIRST_N)
            .map(|(c, old)| {
                let mut l = loc(&now.files, &c.entry);
                l["from"] = old.clone().into();
                l["to"] = c.label.clone().unwrap_or_default().into();
                l
            })
            .collect();
        finding(
            Code::DatasetLabelFlip,
            format!("{} records kept their input but changed label", flips.len()),
            ev! {"count" => flips.len(), "label_field" => fields.label, "first" => locs},
        );
    }

    // Duplicate injection: one record added again and again.
    let mut dup: Vec<([u8; 16], i64, i64)> = count
        .iter()
        .filter(|(_, (b, n))| n - b >= 3 && *n >= 3)
        .map(|(d, (b, n))| (*d, *b, *n))
        .collect();
    dup.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    if !dup.is_empty() {
        let total: i64 = dup.iter().map(|(_, b, n)| n - b).sum();
        let examples: Vec<_> = dup
            .iter()
            .take(FIRST_N)
            .map(|(d, b, n)| {
                let at = now
                    .records
                    .iter()
                    .find(|c| c.entry.digest == *d)
                    .map(|c| loc(&now.files, &c.entry));
                serde_json::json!({"digest": hex(d), "baseline": b, "now": n, "first": at})
            })
            .collect();
        finding(
            Code::DatasetDuplicateInjection,
            format!(
                "{} extra copies of {} records were injected",
                total,
                dup.len()
            ),
            ev! {"records" => dup.len(), "extra_copies" => total, "top" => examples},
        );
    }

    // Near-duplicates: inserted records whose normalized text repeats (exact copies are above).
    let mut groups: HashMap<String, Vec<&Current>> = HashMap::new();
    for c in &truly_inserted {
        if let Some(t) = c
            .text
            .as_deref()
            .map(records::normalized)
            .filter(|t| !t.is_empty())
        {
            groups.entry(t).or_default().push(c);
        }
    }
    let mut near: Vec<(String, Vec<&Current>)> = groups
        .into_iter()
        .filter(|(_, v)| {
            v.len() >= 3
                && v.iter().any(|c| {
                    c.entry.digest != v.first().map(|f| f.entry.digest).unwrap_or_default()
                })
        })
        .collect();
    near.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    if !near.is_empty() {
        let total: usize = near.iter().map(|(_, v)| v.len()).sum();
        let top: Vec<_> = near
            .iter()
            .take(FIRST_N)
            .map(|(t, v)| serde_json::json!({"normalized_text": t.chars().take(120).collect::<String>(), "records": v.len(), "first": first(v)}))
            .collect();
        finding(
            Code::DatasetNearDuplicates,
            format!(
                "{} inserted records are near-copies of each other ({} groups)",
                total,
                near.len()
            ),
            ev! {"records" => total, "groups" => near.len(), "top" => top},
        );
    }

    // Label distribution, with counts.
    let labelled = !base.header.labels.is_empty() || now.records.iter().any(|c| c.label.is_some());
    if labelled {
        let mut now_labels: BTreeMap<String, u64> = BTreeMap::new();
        for c in &now.records {
            if let Some(l) = &c.label {
                *now_labels.entry(l.clone()).or_insert(0) += 1;
            }
        }
        let bt: u64 = base.header.labels.values().sum();
        let nt: u64 = now_labels.values().sum();
        let all: BTreeSet<&String> = base.header.labels.keys().chain(now_labels.keys()).collect();
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

    // Trigger tokens: rare among unchanged records, frequent in the changed ones, one label.
    let unchanged: Vec<&Current> = {
        let changed_ptr: HashSet<*const Current> =
            changed.iter().map(|c| *c as *const Current).collect();
        now.records
            .iter()
            .filter(|c| !changed_ptr.contains(&(*c as *const Current)))
            .collect()
    };
    let mut in_changed: HashMap<String, TokenStats<'_>> = HashMap::new();
    for c in &changed {
        if let Some(t) = &c.text {
            for tok in tokens(t) {
                let e = in_changed.entry(tok).or_default();
                e.0 += 1;
                *e.1.entry(c.label.clone().unwrap_or_default()).or_insert(0) += 1;
                if e.2.len() < FIRST_N {
                    e.2.push(c);
                }
            }
        }
    }
    // Only tokens of changed records can be candidates: count just those among the unchanged
    // records (nothing at all when nothing changed), once per record.
    let mut df_unchanged: HashMap<String, u64> =
        in_changed.keys().map(|t| (t.clone(), 0)).collect();
    if !df_unchanged.is_empty() {
        let mut word = String::new();
        let mut seen: Vec<String> = Vec::new();
        for c in &unchanged {
            let Some(t) = &c.text else { continue };
            seen.clear();
            for w in t.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if w.is_empty() || w.len() > 64 {
                    continue;
                }
                word.clear();
                word.extend(w.chars().flat_map(char::to_lowercase));
                if let Some(n) = df_unchanged.get_mut(word.as_str()) {
                    if !seen.contains(&word) {
                        *n += 1;
                        seen.push(word.clone());
                    }
                }
            }
        }
    }
    let u = unchanged.len().max(1) as f64;
    let mut triggers: Vec<_> = in_changed
        .iter()
        .filter_map(|(tok, (n, labels, at))| {
            let (top_label, top) = labels.iter().max_by_key(|(_, c)| **c)?;
            let base_df = df_unchanged.get(tok).copied().unwrap_or(0);
            let rare = (base_df as f64) / u <= 0.001;
            let concentrated = *n >= 3 && (*n as f64) / (changed.len().max(1) as f64) >= 0.2;
            let one_label = !labelled || (*top as f64) / (*n as f64) >= 0.8;
            (rare && concentrated && one_label)
                .then(|| (tok.clone(), *n, base_df, top_label.clone(), at.clone()))
        })
        .collect();
    triggers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if !triggers.is_empty() {
        let list: Vec<_> = triggers
            .iter()
            .take(FIRST_N)
            .map(|(t, n, b, l, at)| serde_json::json!({"token": t, "changed_records": n, "unchanged_records": b, "label": l, "first": first(at)}))
            .collect();
        finding(
            Code::DatasetTriggerToken,
            format!("{} candidate trigger tokens: rare elsewhere, concentrated in changed records (e.g. '{}')", triggers.len(), triggers.first().map(|t| t.0.as_str()).unwrap_or("")),
            ev! {"tokens" => list},
        );
    }

    // Hidden characters and look-alikes in new or changed text.
    let hidden: Vec<&Current> = changed
        .iter()
        .copied()
        .filter(|c| {
            c.text
                .as_deref()
                .is_some_and(|t| t.chars().any(invisible_or_bidi))
        })
        .collect();
    if !hidden.is_empty() {
        finding(
            Code::DatasetInvisibleText,
            format!(
                "{} new or changed records contain invisible or bidirectional-control characters",
                hidden.len()
            ),
            ev! {"count" => hidden.len(), "first" => first(&hidden)},
        );
    }
    let mixed: Vec<&Current> = changed
        .iter()
        .copied()
        .filter(|c| c.text.as_deref().is_some_and(mixed_script))
        .collect();
    if !mixed.is_empty() {
        finding(
            Code::DatasetMixedScript,
            format!(
                "{} new or changed records mix Latin with Greek or Cyrillic look-alikes in a word",
                mixed.len()
            ),
            ev! {"count" => mixed.len(), "first" => first(&mixed)},
        );
    }

    // Schema drift, over all record files.
    let cols = |files: &[DataFile]| -> BTreeSet<String> {
        files
            .iter()
            .flat_map(|f| f.columns.iter().cloned())
            .collect()
    };
    let (bc, nc) = (cols(&base.header.files), cols(&now.files));
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
    let (bp, np) = (plain(&base.header.files), plain(&now.files));
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
        out.push(Finding {
            code: Code::DatasetUnchanged,
            severity: Code::DatasetUnchanged.default_severity(),
            path: shown.clone(),
            member: Vec::new(),
            offset: None,
            message: format!("all {} records match the baseline", base.entries.len()),
            evidence: ev! {"records" => base.entries.len()},
        });
    }
    Ok(out)
}
