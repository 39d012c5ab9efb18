//! Records of a dataset file and their canonical form.
//!
//! Canonicalization (documented in the README): every record becomes a JSON object and is
//! serialized with RFC 8785 (JCS): keys sorted, no insignificant whitespace, numbers in their
//! shortest form. A JSON Lines line or JSON array element is that JSON value (a non-object `v`
//! becomes `{"value": v}`); a CSV/TSV row is an object of header → cell text; a plain-text line is
//! `{"text": line}` without its line ending. The record digest is SHA-256 of those bytes; the
//! input digest is the same with the label field removed. Neither depends on the file, the row,
//! or how the dataset is split into files.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::io::{self, BufRead, BufReader, Read};

/// How a file is read into records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFormat {
    JsonLines,
    JsonArray,
    Csv,
    Tsv,
    Text,
}

impl RecordFormat {
    pub fn name(self) -> &'static str {
        match self {
            RecordFormat::JsonLines => "jsonl",
            RecordFormat::JsonArray => "json",
            RecordFormat::Csv => "csv",
            RecordFormat::Tsv => "tsv",
            RecordFormat::Text => "text",
        }
    }

    /// By name, then by content: datasets are named by convention and the extension says how
    /// to split records; the content must still parse that way, or the file is an error.
    pub fn of(name: &str, head: &[u8]) -> Option<RecordFormat> {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        Some(match ext.as_str() {
            "jsonl" | "ndjson" => RecordFormat::JsonLines,
            "json" => match head.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'[') => RecordFormat::JsonArray,
                _ => RecordFormat::JsonLines,
            },
            "csv" => RecordFormat::Csv,
            "tsv" => RecordFormat::Tsv,
            "txt" => RecordFormat::Text,
            _ => return None,
        })
    }
}

/// Which fields mean what.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    pub key: Option<String>,
    pub label: Option<String>,
    pub text: Option<String>,
    /// Whether records keep their text (the diff needs it; a manifest does not).
    pub keep_text: bool,
}

/// What the diff needs to know about one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub digest: [u8; 32],
    pub input: [u8; 32],
    pub key: Option<String>,
    /// First 16 bytes of SHA-256 of the key text (zero without a key).
    pub key_hash: [u8; 16],
    pub label: Option<String>,
    /// The text to look at for invisible characters and trigger tokens.
    pub text: Option<String>,
    pub row: u64,
}

/// The key's 16-byte digest prefix as entries store it (zero for no key).
pub fn key_hash(k: Option<&str>) -> [u8; 16] {
    let mut p = [0u8; 16];
    if let Some(k) = k {
        let d = Sha256::digest(k.as_bytes());
        p.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    }
    p
}

impl Record {
    pub fn set_key(&mut self, k: String) {
        self.key_hash = key_hash(Some(&k));
        self.key = Some(k);
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Digest a record object and pull out its fields.
pub fn record(mut obj: Map<String, Value>, fields: &Fields, row: u64) -> Record {
    let canon = |m: &Map<String, Value>| serde_json_canonicalizer::to_vec(m).unwrap_or_default();
    let digest: [u8; 32] = Sha256::digest(canon(&obj)).into();
    let label = fields
        .label
        .as_ref()
        .and_then(|l| obj.get(l))
        .map(value_text);
    // The input digest: the same object without its label (taken out and put back, no copy;
    // JCS sorts keys, so where it goes back does not matter).
    let input: [u8; 32] = match fields.label.as_ref().and_then(|l| obj.remove_entry(l)) {
        Some((k, v)) => {
            let d = Sha256::digest(canon(&obj)).into();
            obj.insert(k, v);
            d
        }
        None => digest,
    };
    let key = fields.key.as_ref().and_then(|k| obj.get(k)).map(value_text);
    let text = match &fields.text {
        _ if !fields.keep_text => None,
        Some(t) => obj.get(t).map(value_text),
        None => {
            // Without a text field: every string value but the label.
            let s: Vec<&str> = obj
                .iter()
                .filter(|(k, _)| Some(*k) != fields.label.as_ref())
                .filter_map(|(_, v)| v.as_str())
                .collect();
            (!s.is_empty()).then(|| s.join("\n"))
        }
    };
    Record {
        digest,
        input,
        key_hash: key_hash(key.as_deref()),
        key,
        label,
        text,
        row,
    }
}

/// Digest a JSON record from its bytes (canonicalized without a tree) and pull out its fields;
/// also note its column names.
pub fn json_record(
    c: &mut super::canon::Record,
    line: &[u8],
    fields: &Fields,
    row: u64,
    columns: &mut Vec<String>,
) -> Result<Record, String> {
    c.parse(line)?;
    let label_at = fields.label.as_deref().and_then(|l| c.index_of(line, l));
    let (digest, input) = c.digests(line, label_at);
    let members = c.members();
    let label = label_at
        .and_then(|i| members.get(i))
        .map(|m| c.text(line, m));
    let key_text = fields
        .key
        .as_deref()
        .and_then(|k| c.get(line, k))
        .map(|m| c.text(line, m));
    let key_hash = key_hash(key_text.as_deref());
    // The key's text is kept only where it is shown (the diff's text pass).
    let key = key_text.filter(|_| fields.keep_text);
    let text = match &fields.text {
        _ if !fields.keep_text => None,
        Some(t) => c.get(line, t).map(|m| c.text(line, m)),
        None => {
            let s: Vec<String> = members
                .iter()
                .enumerate()
                .filter(|(i, m)| Some(*i) != label_at && m.is_string)
                .map(|(_, m)| c.text(line, m))
                .collect();
            (!s.is_empty()).then(|| s.join("\n"))
        }
    };
    for m in members {
        let k = c.key(line, m);
        if columns.len() < 10_000 && !columns.iter().any(|x| x == k) {
            columns.push(k.to_string());
        }
    }
    Ok(Record {
        digest,
        input,
        key_hash,
        key,
        label,
        text,
        row,
    })
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("value".into(), other);
            m
        }
    }
}

/// Largest `.json` array dataset file read (it is one document).
pub const MAX_JSON_ARRAY: u64 = 1 << 30;

/// Largest single record accepted (a line, a CSV row, an array element).
pub const MAX_RECORD: usize = 64 << 20;

/// Which lines to parse, by row and raw bytes.
pub type LineFilter<'a> = &'a (dyn Fn(u64, &[u8]) -> bool + Sync);

/// Records of a block of whole JSON Lines or text lines, parsed on every core, in row order
/// (in chunks), with the column names seen and the number of lines. Used by the streaming reader, one block at a time.
pub fn parse_lines(
    format: RecordFormat,
    bytes: &[u8],
    fields: &Fields,
    first_row: u64,
    want: Option<LineFilter<'_>>,
) -> io::Result<(Vec<Vec<Record>>, Vec<String>, u64)> {
    use rayon::prelude::*;
    let mut lines: Vec<&[u8]> = Vec::with_capacity(bytes.len() / 64);
    let mut at = 0;
    for i in memchr::memchr_iter(b'\n', bytes) {
        lines.push(bytes.get(at..i).unwrap_or_default());
        at = i + 1;
    }
    if at < bytes.len() {
        lines.push(bytes.get(at..).unwrap_or_default());
    }
    const CHUNK: usize = 4096;
    let parsed: Vec<io::Result<(Vec<Record>, Vec<String>)>> = lines
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut out = Vec::with_capacity(chunk.len());
            let mut cols: Vec<String> = Vec::new();
            let mut canon = super::canon::Record::default();
            for (i, raw) in chunk.iter().enumerate() {
                let row = first_row.saturating_add((c * CHUNK + i) as u64);
                let mut line = *raw;
                while let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                if line.len() > MAX_RECORD {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("record {row}: longer than the record limit"),
                    ));
                }
                if want.is_some_and(|w| !w(row, line)) {
                    continue;
                }
                if format == RecordFormat::Text {
                    let mut m = Map::new();
                    m.insert(
                        "text".into(),
                        Value::String(String::from_utf8_lossy(line).into_owned()),
                    );
                    if cols.is_empty() {
                        cols.push("text".into());
                    }
                    out.push(record(m, fields, row));
                    continue;
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let r = json_record(&mut canon, line, fields, row, &mut cols).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("record {row}: {e}"))
                })?;
                out.push(r);
            }
            Ok((out, cols))
        })
        .collect();
    let mut records = Vec::with_capacity(parsed.len());
    let mut columns: Vec<String> = Vec::new();
    for p in parsed {
        let (recs, cols) = p?;
        for k in cols {
            if !columns.contains(&k) && columns.len() < 10_000 {
                columns.push(k);
            }
        }
        records.push(recs);
    }
    Ok((records, columns, lines.len() as u64))
}

/// Read every record of `r`, calling `each` in row order; also the column names seen.
pub fn read(
    format: RecordFormat,
    r: &mut dyn Read,
    fields: &Fields,
    mut each: impl FnMut(Record),
) -> io::Result<Vec<String>> {
    let mut columns: Vec<String> = Vec::new();
    let note_columns = |m: &Map<String, Value>, columns: &mut Vec<String>| {
        for k in m.keys() {
            if !columns.contains(k) && columns.len() < 10_000 {
                columns.push(k.clone());
            }
        }
    };
    let bad = |row: u64, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidData, format!("record {row}: {e}"))
    };
    match format {
        RecordFormat::JsonLines | RecordFormat::Text => {
            let mut br = BufReader::with_capacity(1 << 20, r);
            let mut line = Vec::new();
            let mut row = 0u64;
            let mut canon = super::canon::Record::default();
            loop {
                line.clear();
                let n = (&mut br)
                    .take(MAX_RECORD as u64 + 1)
                    .read_until(b'\n', &mut line)?;
                if n == 0 {
                    break;
                }
                if line.len() > MAX_RECORD {
                    return Err(bad(row, &"longer than the record limit"));
                }
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                let this = row;
                row = row.saturating_add(1);
                let obj = if format == RecordFormat::Text {
                    let mut m = Map::new();
                    m.insert(
                        "text".into(),
                        Value::String(String::from_utf8_lossy(&line).into_owned()),
                    );
                    m
                } else {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let r = json_record(&mut canon, &line, fields, this, &mut columns)
                        .map_err(|e| bad(this, &e))?;
                    each(r);
                    continue;
                };
                note_columns(&obj, &mut columns);
                each(record(obj, fields, this));
            }
        }
        RecordFormat::JsonArray => {
            // Streamed: each element becomes a record as soon as it is parsed, so memory is one
            // element, not the document (an array of a hundred million zeros made a 3.7 GB tree).
            use serde::de::{Deserializer as _, SeqAccess, Visitor};
            struct Items<'a> {
                fields: &'a Fields,
                each: &'a mut dyn FnMut(Record),
                columns: &'a mut Vec<String>,
                row: u64,
            }
            impl<'de> Visitor<'de> for Items<'_> {
                type Value = ();
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an array of records")
                }
                fn visit_seq<A: SeqAccess<'de>>(mut self, mut a: A) -> Result<(), A::Error> {
                    while let Some(item) = a.next_element::<Value>()? {
                        let obj = object(item);
                        for k in obj.keys() {
                            if !self.columns.contains(k) && self.columns.len() < 10_000 {
                                self.columns.push(k.clone());
                            }
                        }
                        (self.each)(record(obj, self.fields, self.row));
                        self.row = self.row.saturating_add(1);
                    }
                    Ok(())
                }
            }
            let limited =
                BufReader::with_capacity(1 << 20, r.take(MAX_JSON_ARRAY.saturating_add(1)));
            let mut de = serde_json::Deserializer::from_reader(limited);
            let res = (&mut de).deserialize_seq(Items {
                fields,
                each: &mut each,
                columns: &mut columns,
                row: 0,
            });
            match res.and_then(|()| de.end()) {
                Ok(()) => {}
                Err(e) if e.is_eof() => {
                    return Err(bad(
                        0,
                        &format!("the JSON array ends early, or is larger than {MAX_JSON_ARRAY} bytes (use JSON Lines): {e}"),
                    ))
                }
                Err(e) if e.is_data() => {
                    return Err(bad(0, &format!("a .json dataset must be an array of records: {e}")))
                }
                Err(e) => return Err(bad(0, &e)),
            }
        }
        RecordFormat::Csv | RecordFormat::Tsv => {
            /// Refuses to hand out more than MAX_RECORD bytes past the last record boundary:
            /// the csv crate grows a record to whatever the file holds (a 2 GiB field aborted).
            struct Bounded<R> {
                inner: R,
                given: u64,
                boundary: std::rc::Rc<std::cell::Cell<u64>>,
            }
            impl<R: Read> Read for Bounded<R> {
                fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                    if self.given.saturating_sub(self.boundary.get()) > 2 * MAX_RECORD as u64 {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "a record longer than the {} MiB record limit",
                                MAX_RECORD >> 20
                            ),
                        ));
                    }
                    let n = self.inner.read(buf)?;
                    self.given = self.given.saturating_add(n as u64);
                    Ok(n)
                }
            }
            let boundary = std::rc::Rc::new(std::cell::Cell::new(0u64));
            let r = Bounded {
                inner: r,
                given: 0,
                boundary: boundary.clone(),
            };
            let mut rd = csv::ReaderBuilder::new()
                .delimiter(if format == RecordFormat::Tsv {
                    b'\t'
                } else {
                    b','
                })
                .flexible(false)
                .from_reader(r);
            let header: Vec<String> = rd
                .headers()
                .map_err(|e| bad(0, &e))?
                .iter()
                .map(str::to_string)
                .collect();
            columns = header.clone();
            let mut rec = csv::StringRecord::new();
            let mut row = 0u64;
            while rd.read_record(&mut rec).map_err(|e| bad(row, &e))? {
                let mut m = Map::new();
                for (k, v) in header.iter().zip(rec.iter()) {
                    m.insert(k.clone(), Value::String(v.to_string()));
                }
                each(record(m, fields, row));
                row = row.saturating_add(1);
                boundary.set(rd.position().byte());
            }
        }
    }
    columns.sort();
    Ok(columns)
}

/// Parquet: every row, as the JSON object of its columns (`Row::to_json_value`: bytes as base64,
/// dates and timestamps as strings), canonicalized like any other record.
pub fn read_parquet(
    path: &std::path::Path,
    fields: &Fields,
    mut each: impl FnMut(Record),
) -> io::Result<Vec<String>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let bad = |e: parquet::errors::ParquetError| {
        io::Error::new(io::ErrorKind::InvalidData, format!("parquet: {e}"))
    };
    // The footer first, read as the crate reads it (`parquet_pages`): the crate spends seconds
    // on some footers of a few bytes. The same reader then walks the page headers below.
    let ours = std::fs::File::open(path)?;
    let file_len = ours.metadata()?.len();
    let mut ours = io::BufReader::new(ours);
    super::parquet_pages::check_footer(&mut ours, file_len)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("parquet: {e}")))?;
    let reader = SerializedFileReader::new(std::fs::File::open(path)?).map_err(bad)?;
    // The crate allocates what the file declares: refuse declarations the file cannot back
    // before any page is read (a 4.5 KB file declaring gigabytes is not a dataset). Where a
    // column chunk is, as the crate's `byte_range` computes it but without its panic on a
    // negative offset or size (found by fuzzing from a pyarrow file); then every page header,
    // for what the crate sizes from them (dictionary entries, page buffers): `parquet_pages`
    // reads them first, bounded.
    for (g, rg) in reader.metadata().row_groups().iter().enumerate() {
        for c in rg.columns() {
            let invalid = |what: String| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("parquet: row group {g}, column {}: {what}", c.column_path()),
                )
            };
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let (Ok(start), Ok(len)) = (u64::try_from(start), u64::try_from(c.compressed_size()))
            else {
                return Err(invalid("declares a negative offset or size".into()));
            };
            let fits = start.checked_add(len).is_some_and(|e| e <= file_len);
            let unpacked = u64::try_from(c.uncompressed_size()).unwrap_or(u64::MAX);
            if !fits || unpacked > MAX_RECORD as u64 * 64 {
                return Err(invalid(format!(
                    "declares {len} bytes at {start} ({unpacked} uncompressed) in a file of {file_len} bytes"
                )));
            }
            super::parquet_pages::check_chunk(&mut ours, start, len)
                .map_err(|e| invalid(e.to_string()))?;
        }
    }
    let mut columns: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    columns.sort();
    for (row, r) in reader.get_row_iter(None).map_err(bad)?.enumerate() {
        let obj = object(r.map_err(bad)?.to_json_value());
        each(record(obj, fields, row as u64));
    }
    Ok(columns)
}

/// Files that are one record each, labelled by their folder (image and audio classification).
pub fn is_media(name: &str) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "jpg"
            | "jpeg"
            | "png"
            | "gif"
            | "bmp"
            | "webp"
            | "tif"
            | "tiff"
            | "wav"
            | "mp3"
            | "flac"
            | "ogg"
            | "m4a"
    )
}

/// A media file as a record: `{"content_sha256": hex, "label": folder}`. Its key is its file
/// name; moving it to another folder is a label flip.
pub fn media_record(content_sha256: &str, name: &str, folder: Option<&str>, row: u64) -> Record {
    let mut m = Map::new();
    m.insert(
        "content_sha256".into(),
        Value::String(content_sha256.to_string()),
    );
    if let Some(f) = folder {
        m.insert("label".into(), Value::String(f.to_string()));
    }
    let mut r = record(
        m,
        &Fields {
            label: Some("label".into()),
            ..Fields::default()
        },
        row,
    );
    r.set_key(name.to_string());
    r.text = None;
    r
}

/// WebDataset shards: a sample is the tar members sharing a key (`dir/key.ext`). Each member is
/// recorded by the SHA-256 of its bytes, except the label member (`--label-field cls` names the
/// extension) and `txt`, kept as text. Samples are records in the order their first member appears.
pub fn read_webdataset(
    r: &mut dyn Read,
    fields: &Fields,
    mut each: impl FnMut(Record),
) -> io::Result<Vec<String>> {
    use crate::inspect::tar::{walk, Src, Visit};
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    /// The shard as the webdataset library reads it: tarfile's members, regular files only.
    struct Shard<'f> {
        fields: &'f Fields,
        samples: Vec<(String, Map<String, Value>)>,
        index: std::collections::HashMap<String, usize>,
        exts: Vec<String>,
        odd: Vec<String>,
        err: Option<io::Error>,
    }
    impl Visit for Shard<'_> {
        fn odd(&mut self, at: u64, message: String, warn: bool) {
            if !warn && self.odd.len() < 8 {
                self.odd.push(format!("offset {at}: {message}"));
            }
        }
        fn member(&mut self, src: &mut Src<'_>, at: u64, size: u64, name: &str, kind: u8) -> bool {
            // TarInfo.isreg(): webdataset skips every other member.
            if !matches!(kind, b'0' | 0 | b'7' | b'S') {
                return true;
            }
            if size > MAX_RECORD as u64 {
                self.err = Some(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("tar member '{name}' of {size} bytes"),
                ));
                return false;
            }
            let mut data = vec![0u8; size as usize];
            if let Err(e) = src.read(at, &mut data) {
                self.err = Some(e);
                return false;
            }
            let (dir, base) = name.rsplit_once('/').map_or(("", name), |(d, b)| (d, b));
            let Some((key, ext)) = base.split_once('.') else {
                return true;
            };
            let key = if dir.is_empty() {
                key.to_string()
            } else {
                format!("{dir}/{key}")
            };
            let ext = ext.to_ascii_lowercase();
            let value = if Some(&ext) == self.fields.label.as_ref() || ext == "txt" {
                Value::String(String::from_utf8_lossy(&data).trim().to_string())
            } else {
                Value::String(crate::digest::hex(&Sha256::digest(&data)))
            };
            if !self.exts.contains(&ext) {
                self.exts.push(ext.clone());
            }
            let samples = &mut self.samples;
            let i = *self.index.entry(key.clone()).or_insert_with(|| {
                samples.push((key.clone(), Map::new()));
                samples.len() - 1
            });
            if let Some((_, m)) = self.samples.get_mut(i) {
                m.insert(ext, value);
            }
            true
        }
    }
    let mut shard = Shard {
        fields,
        samples: Vec::new(),
        index: std::collections::HashMap::new(),
        exts: Vec::new(),
        odd: Vec::new(),
        err: None,
    };
    let res = walk(&mut Src::Stream { r, pos: 0 }, &mut shard);
    if let Some(e) = shard.err {
        return Err(e);
    }
    res.map_err(bad)?;
    if let Some(first) = shard.odd.first() {
        return Err(bad(format!(
            "tar shard is read differently by different tar readers ({} place(s)); first: {first}",
            shard.odd.len()
        )));
    }
    let (samples, mut exts) = (shard.samples, shard.exts);
    let f = Fields {
        key: None,
        label: fields.label.clone(),
        text: fields.text.clone().or_else(|| Some("txt".into())),
        keep_text: fields.keep_text,
    };
    for (row, (key, m)) in samples.into_iter().enumerate() {
        let mut rec = record(m, &f, row as u64);
        rec.set_key(key);
        each(rec);
    }
    exts.sort();
    Ok(exts)
}

/// The Merkle root of [`merkle_root`], computed as leaves arrive, in O(log n) memory: equal
/// subtrees merge at once, and what is left folds from the right (an odd node carried up).
#[derive(Default)]
pub struct MerkleStream {
    stack: Vec<(u32, [u8; 32])>,
}

impl MerkleStream {
    pub fn push(&mut self, leaf: [u8; 32]) {
        let mut cur = (0u32, leaf);
        while let Some(&(level, h)) = self.stack.last() {
            if level != cur.0 {
                break;
            }
            self.stack.pop();
            let mut d = Sha256::new();
            d.update(h);
            d.update(cur.1);
            cur = (level.saturating_add(1), d.finalize().into());
        }
        self.stack.push(cur);
    }

    pub fn finish(mut self) -> [u8; 32] {
        let Some((_, mut acc)) = self.stack.pop() else {
            return Sha256::digest([]).into();
        };
        while let Some((_, h)) = self.stack.pop() {
            let mut d = Sha256::new();
            d.update(h);
            d.update(acc);
            acc = d.finalize().into();
        }
        acc
    }
}

/// Binary Merkle root over record digests (SHA-256 of the concatenated pair; an odd node is
/// carried up). The root of nothing is SHA-256 of nothing.
pub fn merkle_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.is_empty() {
        return Sha256::digest([]).into();
    }
    let mut level: Vec<[u8; 32]> = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| match c {
                [a, b] => {
                    let mut h = Sha256::new();
                    h.update(a);
                    h.update(b);
                    h.finalize().into()
                }
                [a] => *a,
                _ => [0; 32],
            })
            .collect();
    }
    level.first().copied().unwrap_or([0; 32])
}

/// Text folded for near-duplicate detection: lowercase, letters and digits only, single spaces,
/// invisible characters dropped.
pub fn normalized(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars().filter(|c| !invisible_or_bidi(*c)) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// Characters that render as nothing or reorder text: used to hide triggers and payloads.
pub fn invisible_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}' | '\u{034F}'
        | '\u{E0000}'..='\u{E007F}')
}

/// The script class of a letter, coarse enough to see Latin words salted with Cyrillic or
/// Greek look-alikes.
fn script(c: char) -> Option<u8> {
    match c {
        'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' => Some(0),
        '\u{0370}'..='\u{03FF}' => Some(1),
        '\u{0400}'..='\u{04FF}' => Some(2),
        _ => None,
    }
}

/// Whether some word mixes Latin with Greek or Cyrillic letters.
pub fn mixed_script(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric()).any(|w| {
        let mut seen = 0u8;
        for c in w.chars() {
            if let Some(s) = script(c) {
                seen |= 1 << s;
            }
        }
        seen.count_ones() > 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recs(format: RecordFormat, data: &str, fields: &Fields) -> Vec<Record> {
        let mut out = Vec::new();
        read(format, &mut data.as_bytes(), fields, |r| out.push(r)).unwrap();
        out
    }

    #[test]
    fn canonical_digest_ignores_key_order_and_layout() {
        let f = Fields::default();
        let a = recs(RecordFormat::JsonLines, "{\"b\": 1, \"a\": \"x\"}\n", &f);
        let b = recs(RecordFormat::JsonArray, "[ {\"a\":\"x\",\"b\":1.0} ]", &f);
        assert_eq!(a[0].digest, b[0].digest);
    }

    #[test]
    fn label_is_left_out_of_the_input_digest() {
        let f = Fields {
            label: Some("label".into()),
            ..Fields::default()
        };
        let r = recs(
            RecordFormat::JsonLines,
            "{\"text\":\"hi\",\"label\":0}\n{\"text\":\"hi\",\"label\":1}\n",
            &f,
        );
        assert_ne!(r[0].digest, r[1].digest);
        assert_eq!(r[0].input, r[1].input);
        assert_eq!(r[1].label.as_deref(), Some("1"));
    }

    #[test]
    fn csv_rows_and_text_lines() {
        let f = Fields {
            keep_text: true,
            ..Fields::default()
        };
        let c = recs(RecordFormat::Csv, "text,label\nhello,1\n\"a, b\",0\n", &f);
        assert_eq!(c.len(), 2);
        let t = recs(RecordFormat::Text, "one\r\ntwo\n", &f);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].text.as_deref(), Some("one"));
    }

    #[test]
    fn streaming_merkle_equals_the_definition() {
        for n in 0..100u8 {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| [i; 32]).collect();
            let mut m = MerkleStream::default();
            leaves.iter().for_each(|l| m.push(*l));
            assert_eq!(m.finish(), merkle_root(&leaves), "{n} leaves");
        }
    }

    #[test]
    fn merkle() {
        let l = [[1u8; 32], [2u8; 32], [3u8; 32]];
        assert_ne!(merkle_root(&l), merkle_root(&l[..2]));
        assert_eq!(merkle_root(&l[..1]), [1u8; 32]);
    }

    #[test]
    fn normalization() {
        assert_eq!(normalized("  Hello,\u{200B} WORLD!! "), "hello world");
        assert_eq!(normalized("hello world"), normalized("HELLO  -- world."));
    }

    #[test]
    fn lookalikes() {
        assert!(invisible_or_bidi('\u{200B}'));
        assert!(mixed_script("p\u{0430}ypal"));
        assert!(!mixed_script("plain english, и русский"));
    }
}
