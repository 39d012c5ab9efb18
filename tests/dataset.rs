//! Dataset manifests and diffs on a generated dataset with known poisoning.

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
    assert_eq!(base.entries.len(), 600);
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
    let trig = by_code(&f, Code::DatasetTriggerToken).unwrap();
    assert_eq!(trig.evidence["tokens"][0]["token"], "cf_zq");
    assert_eq!(trig.evidence["tokens"][0]["changed_records"], 6);
    assert_eq!(trig.evidence["tokens"][0]["label"], "1");
    assert_eq!(count(Code::DatasetInvisibleText), Some(2));
    // 5 duplicates + 6 trigger records + 2 hidden-character records are new.
    assert_eq!(count(Code::DatasetRecordsInserted), Some(13));
    assert!(by_code(&f, Code::DatasetRecordsRemoved).is_none());
    // Labels moved from 300/300 to 302/311: 0.7 points, under the 1-point threshold.
    assert!(by_code(&f, Code::DatasetLabelShift).is_none());
    let changed = by_code(&f, Code::DatasetFileChanged).unwrap();
    assert_eq!(changed.evidence["file"], "README.md");
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
    let head = dataset::header_bytes(&bytes).unwrap().len();
    let other_head = dataset::header_bytes(&other_bytes).unwrap().len();
    let mut franken = bytes[..=head].to_vec();
    franken.extend_from_slice(&other_bytes[other_head + 1..]);
    assert!(dataset::verify_and_load(&franken, &sig, &sk.verifying_key()).is_err());
}

#[test]
fn committed_dataset_manifest_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/dataset-manifest.schema.json");
    let mut now =
        serde_json::to_string_pretty(&schemars::schema_for!(modelgate::dataset::Header)).unwrap();
    now.push('\n');
    if std::env::var_os("MODELGATE_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_default(),
        now,
        "MODELGATE_UPDATE_SCHEMAS=1 cargo test --test dataset"
    );
}
