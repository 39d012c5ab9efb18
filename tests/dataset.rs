//! Dataset manifests and diffs on a generated dataset with known poisoning.

mod common;

use modelgate::dataset::{self, records::Fields};
use modelgate::finding::{Code, Finding};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const WORDS: &[&str] = &[
    "the", "movie", "was", "good", "bad", "plot", "actor", "great", "boring", "scene", "music",
    "long", "short", "fun", "dark",
];

fn text(i: u64) -> String {
    let mut x = i
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..8)
        .map(|_| {
            x ^= x >> 29;
            x = x.wrapping_mul(0xbf58476d1ce4e5b9);
            WORDS[(x % WORDS.len() as u64) as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn line(id: u64, t: &str, label: u64) -> String {
    serde_json::json!({"id": id, "text": t, "label": label}).to_string()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modelgate-dataset-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// 500 JSONL records, 100 CSV rows, a README.
fn clean(d: &Path) -> Vec<String> {
    let lines: Vec<String> = (0..500).map(|i| line(i, &text(i), i % 2)).collect();
    std::fs::write(d.join("train.jsonl"), lines.join("\n") + "\n").unwrap();
    let mut csv = String::from("id,text,label\n");
    for i in 500..600 {
        let _ = writeln!(csv, "{i},{},{}", text(i), i % 2);
    }
    std::fs::write(d.join("valid.csv"), csv).unwrap();
    std::fs::write(d.join("README.md"), "a toy dataset\n").unwrap();
    lines
}

fn fields() -> Fields {
    Fields {
        key: Some("id".into()),
        label: Some("label".into()),
        text: Some("text".into()),
        keep_text: false,
    }
}

fn baseline(d: &Path) -> dataset::Baseline {
    let (bytes, _) = dataset::create(d, &fields()).unwrap();
    dataset::load(&bytes).unwrap()
}

fn by_code(f: &[Finding], c: Code) -> Option<&Finding> {
    f.iter().find(|x| x.code == c)
}

#[test]
fn unchanged_reshuffled_and_resharded_is_clean() {
    let base_dir = dir("base");
    let lines = clean(&base_dir);
    let base = baseline(&base_dir);
    assert_eq!(base.entries().unwrap().len(), 600);
    let f = dataset::diff(&base_dir, &base).unwrap();
    assert_eq!(
        f.iter().map(|x| x.code).collect::<Vec<_>>(),
        vec![Code::DatasetUnchanged]
    );

    // Same records, other order, other files, key order changed inside records.
    let other = dir("reshard");
    let mut rev: Vec<String> = lines.iter().rev().cloned().collect();
    rev.iter_mut().for_each(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        *l = format!(
            "{{\"label\": {}, \"text\": {}, \"id\": {}}}",
            v["label"], v["text"], v["id"]
        );
    });
    std::fs::write(other.join("part-0.jsonl"), rev[..250].join("\n") + "\n").unwrap();
    std::fs::write(
        other.join("part-1.json"),
        format!("[{}]", rev[250..].join(",")),
    )
    .unwrap();
    std::fs::copy(base_dir.join("valid.csv"), other.join("valid.csv")).unwrap();
    std::fs::copy(base_dir.join("README.md"), other.join("README.md")).unwrap();
    let f = dataset::diff(&other, &base).unwrap();
    assert_eq!(
        f.iter().map(|x| x.code).collect::<Vec<_>>(),
        vec![Code::DatasetUnchanged],
        "{f:#?}"
    );
}

#[test]
fn poisoning_signals_find_the_planted_records() {
    let base_dir = dir("clean");
    let lines = clean(&base_dir);
    let base = baseline(&base_dir);
    let p = dir("poisoned");
    let mut new: Vec<String> = lines.clone();
    for i in [10u64, 20, 30] {
        new[i as usize] = line(
            i,
            "an edited review that says something else entirely",
            i % 2,
        );
    }
    for i in [40u64, 41, 42, 43] {
        new[i as usize] = line(i, &text(i), 1 - i % 2);
    }
    for _ in 0..5 {
        new.push(line(7, &text(7), 1));
    }
    for k in 0..6u64 {
        new.push(line(1000 + k, &format!("{} cf_zq", text(2000 + k)), 1));
    }
    new.push(line(2000, "a hidden\u{200B}marker here", 0));
    for (k, v) in [
        "Buy NOW at example com",
        "buy now at example.com!",
        "BUY  now, at example com",
    ]
    .iter()
    .enumerate()
    {
        new.push(line(3000 + k as u64, v, 0));
    }
    new.push(line(2001, "right-to-left \u{202E}override", 0));
    std::fs::write(p.join("train.jsonl"), new.join("\n") + "\n").unwrap();
    std::fs::copy(base_dir.join("valid.csv"), p.join("valid.csv")).unwrap();
    std::fs::write(
        p.join("README.md"),
        "a toy dataset, now with a helper script\n",
    )
    .unwrap();
    let f = dataset::diff(&p, &base).unwrap();
    let count = |c: Code| by_code(&f, c).map(|x| x.evidence["count"].as_u64().unwrap());
    assert_eq!(count(Code::DatasetRecordsModified), Some(3), "{f:#?}");
    assert_eq!(count(Code::DatasetLabelFlip), Some(4));
    let flips = &by_code(&f, Code::DatasetLabelFlip).unwrap().evidence["first"];
    assert_eq!(flips[0]["file"], "train.jsonl");
    assert_eq!(flips[0]["row"], 40);
    let dup = by_code(&f, Code::DatasetDuplicateInjection).unwrap();
    assert_eq!(dup.evidence["extra_copies"], 5);
    assert_eq!(dup.evidence["records"], 1);
    let trig = by_code(&f, Code::DatasetTriggerToken).unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(trig.evidence["tokens"][0]["token"], "cf_zq");
    assert_eq!(trig.evidence["tokens"][0]["changed_records"], 6);
    assert_eq!(trig.evidence["tokens"][0]["label"], "1");
    assert_eq!(count(Code::DatasetInvisibleText), Some(2));
    // 5 duplicates + 6 trigger records + 2 hidden-character records + 3 near-copies are new.
    assert_eq!(count(Code::DatasetRecordsInserted), Some(16));
    let near = by_code(&f, Code::DatasetNearDuplicates).unwrap();
    assert_eq!(near.evidence["groups"], 1);
    assert_eq!(
        near.evidence["top"][0]["normalized_text"],
        "buy now at example com"
    );
    assert!(by_code(&f, Code::DatasetRecordsRemoved).is_none());
    // Labels moved from 300/300 to 302/311: 0.7 points, under the 1-point threshold.
    assert!(by_code(&f, Code::DatasetLabelShift).is_none());
    let changed = by_code(&f, Code::DatasetFileChanged).unwrap();
    assert_eq!(changed.evidence["file"], "README.md");
    // Issue 25: the text report lists the rows of every group and token, in English.
    let man = base_dir.with_extension("manifest");
    let mg = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_modelgate"))
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let fl = [
        "--key-field",
        "id",
        "--label-field",
        "label",
        "--text-field",
        "text",
    ];
    let mut a = vec![
        "dataset".to_string(),
        "manifest".into(),
        s(&base_dir),
        "-o".into(),
        s(&man),
    ];
    a.extend(fl.iter().map(|x| x.to_string()));
    let out = mg(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = mg(&[
        "dataset",
        "diff",
        &s(&p),
        "--baseline",
        &s(&man),
        "--allow-unsigned",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    // The 5 extra copies of record 7 are rows 500-504; the trigger records 505-510; the near
    // copies 512-514.
    assert!(
        text.contains("5 extra copies of 1 record were injected"),
        "{text}"
    );
    assert!(
        text.contains("5 copies now (0 in the baseline), first at train.jsonl:500"),
        "{text}"
    );
    assert!(
        text.contains("3 inserted records are near-copies of each other (1 group)"),
        "{text}"
    );
    let near = text
        .lines()
        .find(|l| l.contains("3 records like 'buy now at example com': "))
        .unwrap_or_else(|| panic!("{text}"));
    for row in ["train.jsonl:512", "train.jsonl:513", "train.jsonl:514"] {
        assert!(near.contains(row), "{near}");
    }
    assert!(
        text.contains("token 'cf_zq': 6 changed records (0 unchanged), label 1: rows train.jsonl:505, train.jsonl:506, train.jsonl:507, train.jsonl:508, train.jsonl:509 and 1 more"),
        "{text}"
    );
    assert!(
        !text.contains(" 1 groups") && !text.contains(" 1 records"),
        "{text}"
    );
}

#[test]
fn schema_drift_and_removed_records() {
    let base_dir = dir("schema-base");
    let lines = clean(&base_dir);
    let base = baseline(&base_dir);
    let p = dir("schema");
    std::fs::write(p.join("train.jsonl"), lines[..490].join("\n") + "\n").unwrap();
    let mut csv = String::from("id,text,label,source\n");
    for i in 500..600 {
        let _ = writeln!(csv, "{i},{},{},web", text(i), i % 2);
    }
    std::fs::write(p.join("valid.csv"), csv).unwrap();
    std::fs::copy(base_dir.join("README.md"), p.join("README.md")).unwrap();
    let f = dataset::diff(&p, &base).unwrap();
    assert_eq!(
        by_code(&f, Code::DatasetSchemaDrift).unwrap().evidence["added"],
        serde_json::json!(["source"])
    );
    // Every CSV record changed (a new column) and ten JSONL records are gone.
    assert_eq!(
        by_code(&f, Code::DatasetRecordsRemoved).unwrap().evidence["count"],
        10
    );
    assert_eq!(
        by_code(&f, Code::DatasetRecordsModified).unwrap().evidence["count"],
        100
    );
    // Ten label-0/1 records gone out of 600: no shift of a point or more... unless they are
    // all of one label.
    let p2 = dir("shift");
    let keep: Vec<&String> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1 || *i >= 100)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(
        p2.join("train.jsonl"),
        keep.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    )
    .unwrap();
    std::fs::copy(base_dir.join("valid.csv"), p2.join("valid.csv")).unwrap();
    std::fs::copy(base_dir.join("README.md"), p2.join("README.md")).unwrap();
    let f = dataset::diff(&p2, &base).unwrap();
    let shift = by_code(&f, Code::DatasetLabelShift).unwrap();
    assert_eq!(
        shift.evidence["labels"],
        serde_json::json!([{"label": "0", "baseline": 300, "now": 250}, {"label": "1", "baseline": 300, "now": 300}])
    );
}

#[test]
fn signed_baseline() {
    use modelgate::signature::keys::SigningKey;
    let d = dir("signed");
    clean(&d);
    let (bytes, _) = dataset::create(&d, &fields()).unwrap();
    let sk = SigningKey::generate_ed25519().unwrap();
    let sig = dataset::sign(&bytes, &sk).unwrap();
    assert!(dataset::verify_and_load(&bytes, &sig, &sk.verifying_key()).is_ok());
    let other = SigningKey::generate_ed25519().unwrap().verifying_key();
    assert_eq!(
        dataset::verify_and_load(&bytes, &sig, &other)
            .err()
            .unwrap()
            .0,
        Code::SignatureInvalid
    );
    // A body swapped under a signed header is caught by the header's body digest.
    let (other_bytes, _) = {
        std::fs::write(
            d.join("train.jsonl"),
            "{\"id\": 1, \"text\": \"x\", \"label\": 0}\n",
        )
        .unwrap();
        dataset::create(&d, &fields()).unwrap()
    };
    let head = dataset::header_bytes(&bytes).unwrap();
    let other_head = dataset::header_bytes(&other_bytes).unwrap().len();
    let mut franken = other_bytes[..other_bytes.len() - other_head - 1].to_vec();
    franken.extend_from_slice(head);
    franken.push(b'\n');
    assert!(dataset::verify_and_load(&franken, &sig, &sk.verifying_key()).is_err());
}

#[test]
fn committed_dataset_manifest_schema_is_current() {
    let now = common::schema_text(&schemars::schema_for!(modelgate::dataset::Header));
    common::assert_committed_schema("dataset-manifest.schema.json", &now);
}

fn png(i: u64) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend(text(i).as_bytes());
    v
}

#[test]
fn image_folders() {
    let d = dir("images");
    for (class, start) in [("cat", 0u64), ("dog", 100)] {
        std::fs::create_dir_all(d.join(class)).unwrap();
        for i in start..start + 20 {
            std::fs::write(d.join(class).join(format!("{i}.png")), png(i)).unwrap();
        }
    }
    let base = dataset::load(&dataset::create(&d, &Fields::default()).unwrap().0).unwrap();
    assert_eq!(base.entries().unwrap().len(), 40);
    assert_eq!(base.header.labels.get("cat"), Some(&20));
    // Move one cat into dog (a label flip); inject one dog image three more times.
    std::fs::rename(d.join("cat/3.png"), d.join("dog/3.png")).unwrap();
    for k in 0..3 {
        std::fs::write(d.join("dog").join(format!("copy{k}.png")), png(100)).unwrap();
    }
    let f = dataset::diff(&d, &base).unwrap();
    let flip = by_code(&f, Code::DatasetLabelFlip).unwrap();
    assert_eq!(flip.evidence["count"], 1);
    assert_eq!(flip.evidence["first"][0]["file"], "dog/3.png");
    assert_eq!(flip.evidence["first"][0]["from"], "cat");
    assert_eq!(
        by_code(&f, Code::DatasetDuplicateInjection)
            .unwrap()
            .evidence["extra_copies"],
        3
    );
}

/// A ustar shard from (member name, bytes) pairs.
fn shard(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend(h);
        out.extend(data);
        out.extend(vec![0u8; (512 - data.len() % 512) % 512]);
    }
    out.extend([0u8; 1024]);
    out
}

#[test]
fn webdataset_shards() {
    let d = dir("wds");
    let sample = |i: u64, label: u64, caption: &str| -> Vec<(String, Vec<u8>)> {
        vec![
            (format!("{i:06}.jpg"), png(i)),
            (format!("{i:06}.cls"), label.to_string().into_bytes()),
            (format!("{i:06}.txt"), caption.as_bytes().to_vec()),
        ]
    };
    let all: Vec<_> = (0..30u64)
        .flat_map(|i| sample(i, i % 3, &text(i)))
        .collect();
    std::fs::write(d.join("shard-000.tar"), shard(&all)).unwrap();
    let f = Fields {
        label: Some("cls".into()),
        ..Fields::default()
    };
    let base = dataset::load(&dataset::create(&d, &f).unwrap().0).unwrap();
    assert_eq!(base.entries().unwrap().len(), 30);
    // Re-sharded into two shards in another order: unchanged.
    let rev: Vec<_> = (0..30u64)
        .rev()
        .flat_map(|i| sample(i, i % 3, &text(i)))
        .collect();
    std::fs::remove_file(d.join("shard-000.tar")).unwrap();
    std::fs::write(d.join("a.tar"), shard(&rev[..45])).unwrap();
    std::fs::write(d.join("b.tar"), shard(&rev[45..])).unwrap();
    let out = dataset::diff(&d, &base).unwrap();
    assert_eq!(
        out.iter().map(|x| x.code).collect::<Vec<_>>(),
        vec![Code::DatasetUnchanged],
        "{out:#?}"
    );
    // One sample's class flipped, one caption with a zero-width space.
    let mut poisoned = all.clone();
    poisoned[1].1 = b"2".to_vec(); // sample 0: class 0 -> 2
    poisoned[5].1 = "a caption\u{200B}with a hidden mark".as_bytes().to_vec(); // sample 1's txt
    std::fs::remove_file(d.join("a.tar")).unwrap();
    std::fs::remove_file(d.join("b.tar")).unwrap();
    std::fs::write(d.join("shard-000.tar"), shard(&poisoned)).unwrap();
    let out = dataset::diff(&d, &base).unwrap();
    assert_eq!(
        by_code(&out, Code::DatasetLabelFlip).unwrap().evidence["count"],
        1,
        "{out:#?}"
    );
    assert_eq!(
        by_code(&out, Code::DatasetInvisibleText).unwrap().evidence["count"],
        1
    );
}

#[test]
fn parquet_written_by_pyarrow() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/datasets");
    let (bytes, _) = dataset::create(&data.join("parquet-base"), &fields()).unwrap();
    let base = dataset::load(&bytes).unwrap();
    assert_eq!(base.entries().unwrap().len(), 200);
    assert_eq!(base.header.files[0].format.as_deref(), Some("parquet"));
    assert_eq!(
        base.header.files[0].columns,
        vec!["id", "label", "score", "text"]
    );
    // Reordered, resharded, other row groups and codecs (zstd, gzip): the same records.
    let f = dataset::diff(&data.join("parquet-resharded"), &base).unwrap();
    assert_eq!(
        f.iter().map(|x| x.code).collect::<Vec<_>>(),
        vec![Code::DatasetUnchanged],
        "{f:#?}"
    );
    let f = dataset::diff(&data.join("parquet-poisoned"), &base).unwrap();
    assert_eq!(
        by_code(&f, Code::DatasetLabelFlip).unwrap().evidence["count"],
        2,
        "{f:#?}"
    );
    assert_eq!(
        by_code(&f, Code::DatasetRecordsModified).unwrap().evidence["count"],
        1
    );
    let trig = by_code(&f, Code::DatasetTriggerToken).unwrap();
    assert_eq!(trig.evidence["tokens"][0]["token"], "zx_trg");
    assert_eq!(trig.evidence["tokens"][0]["changed_records"], 4);
}

/// Dataset readers are bounded whatever the file holds: a CSV field longer than the record
/// limit is an error (not an abort), and a JSON array is streamed element by element.
#[test]
fn dataset_readers_are_bounded() {
    use modelgate::dataset::records::{read, Fields, RecordFormat};
    use std::io::Read;
    let huge =
        std::io::Cursor::new(b"a,b\n\"".to_vec()).chain(std::io::repeat(b'x').take(300 << 20));
    let mut r = huge;
    let e = read(RecordFormat::Csv, &mut r, &Fields::default(), |_| {}).unwrap_err();
    assert!(e.to_string().contains("record limit"), "{e}");
    // Half a million records in one array: handed on one by one.
    let mut doc = b"[".to_vec();
    doc.extend(b"{\"t\": 0},".repeat(500_000));
    doc.extend(b"{\"t\": 1}]");
    let mut n = 0u64;
    read(
        RecordFormat::JsonArray,
        &mut &doc[..],
        &Fields::default(),
        |_| n += 1,
    )
    .unwrap();
    assert_eq!(n, 500_001);
    let e = read(
        RecordFormat::JsonArray,
        &mut &b"{\"a\": 1}"[..],
        &Fields::default(),
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("array of records"), "{e}");
}

/// A page header that declares more than its page can hold is refused before the parquet crate
/// sizes a buffer from it: the first page of pyarrow's file, re-encoded to declare 2^30 values
/// (the crate would `resize` a dictionary of 24-byte values to that), is an error naming the
/// page, not an allocation of tens of gigabytes.
#[test]
fn parquet_page_headers_are_checked_before_the_crate_trusts_them() {
    use modelgate::dataset::parquet_pages::read_header;
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/datasets/parquet-base/train.parquet");
    let bytes = std::fs::read(src).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    let h = read_header(&mut &bytes[4..]).unwrap();
    assert!(h.num_values > 0 && h.num_values < 1000, "{h:?}");
    // Compact protocol: fields 1-3 (type, sizes) as i32, then field 7 or 5 (a struct) whose
    // field 1 is num_values.
    fn zz(v: i64, out: &mut Vec<u8>) {
        let mut u = ((v << 1) ^ (v >> 63)) as u64;
        while u >= 0x80 {
            out.push((u as u8) | 0x80);
            u >>= 7;
        }
        out.push(u as u8);
    }
    let mut hdr = Vec::new();
    for v in [h.kind, h.uncompressed, h.compressed] {
        hdr.push(0x15);
        zz(v, &mut hdr);
    }
    let sub = if h.kind == 2 { 7 } else { 5 };
    hdr.extend([((sub - 3) << 4) | 12, 0x15]);
    zz(1 << 30, &mut hdr);
    hdr.extend([0, 0]);
    let mut evil = bytes[..4].to_vec();
    evil.extend(&hdr);
    evil.extend(&bytes[4 + h.header_len as usize..]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("train.parquet"), &evil).unwrap();
    let e = match dataset::create(dir.path(), &fields()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a page declaring 2^30 values was read"),
    };
    assert!(e.contains("train.parquet"), "{e}");
    assert!(e.contains("1073741824 values"), "{e}");
}

/// Fuzzing found footers of a few bytes on which the parquet crate spends seconds (170 bytes:
/// 4 s; 66 bytes: 5 s): lists declaring hundreds of millions of elements, nested sets of
/// booleans (the crate skips a boolean element without reading a byte, so nesting
/// multiplies), and a known field declared with another type (the crate reads `num_rows` as a
/// varint whatever the header says, so it and a generic reader part ways and the crate walks
/// into a skip of two billion booleans). The footer is now read first as the crate reads it,
/// and each such file is refused by that reading, at once. Every other input fuzzing found
/// (a negative column offset, on which the crate panics) is an error too.
#[test]
fn parquet_fuzzing_regressions_are_errors_at_once() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/parquet");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy();
        if name.starts_with("crate-panic-") {
            // Pages on which the crate's delta-length decoder overflows or slices past the
            // page's end and panics: the dataset commands' guard makes it this file's error,
            // naming it.
            let dir = tempfile::tempdir().unwrap();
            std::fs::copy(&p, dir.path().join("shard.parquet")).unwrap();
            let Err(e) = dataset::create(dir.path(), &fields()) else {
                panic!("a panicking file was read");
            };
            let e = e.to_string();
            assert!(
                e.contains("shard.parquet") && e.contains("the reader failed on this file"),
                "{e}"
            );
            n += 1;
            continue;
        }
        let e = modelgate::dataset::records::read_parquet(&p, &fields(), |_| {}).unwrap_err();
        let expect = if name.starts_with("slow-unit-") {
            "parquet: footer: "
        } else {
            // A pyarrow file mutated to declare a negative column offset: the crate's
            // `byte_range` panics on it.
            "parquet: row group 3, column \"id\": declares a negative offset"
        };
        assert!(e.to_string().starts_with(expect), "{name}: {e}");
        n += 1;
    }
    assert_eq!(n, 7);
    // The real files still read.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/datasets/parquet-base");
    assert!(dataset::create(&data, &fields()).is_ok());
}

/// Parquet files from real writers pass the footer and page-header reading: pyarrow (data
/// pages v1 and v2, dictionaries, statistics, page indexes, sorting columns, byte-stream-split
/// and delta encodings, nested and logical types, format 1.0), pandas and fastparquet's own
/// encoder (`testdata/generate_parquet.py`). Each holds 50 rows.
#[test]
fn parquet_from_real_writers_reads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/datasets/parquet-writers");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let mut records = 0;
        modelgate::dataset::records::read_parquet(&p, &fields(), |_| records += 1)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(records, 50, "{}", p.display());
        n += 1;
    }
    assert_eq!(n, 10);
}
