//! Scale-out (issue 27): `plan`, `scan --shard`, `merge`, each a separate `modelgate` process as
//! in a Kubernetes Indexed Job; 1 shard and 7 shards give the same report and Merkle root.

mod common;
use common::call;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_modelgate");

fn cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("JOB_COMPLETION_INDEX");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    cmd(dir, args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modelgate-shards-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(p: &Path, b: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b).unwrap();
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// A minimal safetensors file: one F32 tensor of `n` values.
fn safetensors(n: usize) -> Vec<u8> {
    let header = format!(
        r#"{{"w":{{"dtype":"F32","shape":[{n}],"data_offsets":[0,{}]}}}}"#,
        n * 4
    );
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend(header.as_bytes());
    v.extend(std::iter::repeat_n(0u8, n * 4));
    v
}

/// A benign protocol-2 pickle: `{"a": 1}`.
const BENIGN_PICKLE: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";

/// A tree of several models of different sizes, one of them with a pickle importing os.system.
fn tree(root: &Path) {
    write(
        &root.join("org/bad/config.json"),
        br#"{"model_type": "bert"}"#,
    );
    write(
        &root.join("org/bad/pytorch_model.pkl"),
        &call("os", "system", "echo pwned"),
    );
    write(
        &root.join("org/good/config.json"),
        br#"{"model_type": "gpt2"}"#,
    );
    write(&root.join("org/good/model.safetensors"), &safetensors(4096));
    write(&root.join("org/good/sub/extra.json"), b"[1, 2, 3]");
    write(&root.join("org/small/weights.pkl"), BENIGN_PICKLE);
    write(
        &root.join("org/small/tokenizer.json"),
        br#"{"version": "1.0"}"#,
    );
    write(&root.join("team/x/y/model.safetensors"), &safetensors(1000));
    write(&root.join("team/z/model.safetensors"), &safetensors(10));
    write(
        &root.join("hub/models--acme--m/snapshots/r1/config.json"),
        br#"{"model_type": "t5"}"#,
    );
    write(&root.join("hub/models--acme--m/refs/main"), b"r1\n");
    write(
        &root.join("hub/models--acme--m/blobs/aa"),
        &safetensors(300),
    );
    write(&root.join("data/sets/s1/train.json"), br#"{"text": "hi"}"#);
}

fn wait_all(children: Vec<(String, Child)>) {
    for (what, c) in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Scan every shard of `n` as its own process, all at once; the reports' names.
fn scan_shards(dir: &Path, plan: &str, n: usize, prefix: &str) -> Vec<String> {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}.json")).collect();
    let children = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let spec = format!("{i}/{n}");
            let child = cmd(
                dir,
                &[
                    "scan", "--plan", plan, "--shard", &spec, "-o", name, "-j", "1",
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
            (spec, child)
        })
        .collect();
    wait_all(children);
    names
}

fn merge(dir: &Path, shards: &[String], report: &str, manifest: &str) -> Output {
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend([
        "--no-policy",
        "--format",
        "json",
        "-o",
        report,
        "--manifest",
        manifest,
    ]);
    run(dir, &args)
}

#[test]
fn one_shard_and_seven_shards_give_the_same_report_and_root() {
    let d = tmp("same");
    tree(&d.join("tree"));
    let planned = run(&d, &["plan", "tree", "-o", "plan.json"]);
    assert_eq!(planned.status.code(), Some(0), "{}", stderr(&planned));
    assert_eq!(
        stderr(&planned),
        "modelgate: 13 files in 7 models (22048 bytes) -> plan.json\n"
    );
    let plan = read_json(&d.join("plan.json"));
    let models: Vec<(&str, usize)> = plan["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["files"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        models,
        [
            ("tree/data/sets/s1", 1),
            ("tree/hub/models--acme--m", 3),
            ("tree/org/bad", 2),
            ("tree/org/good", 3),
            ("tree/org/small", 2),
            ("tree/team/x/y", 1),
            ("tree/team/z", 1),
        ]
    );
    assert_eq!(plan["files"], 13);
    assert_eq!(plan["inputs"], serde_json::json!(["tree"]));
    // The plan is the same bytes when made again.
    let again = run(&d, &["plan", "tree"]);
    assert_eq!(again.stdout, std::fs::read(d.join("plan.json")).unwrap());

    let one = scan_shards(&d, "plan.json", 1, "one");
    let seven = scan_shards(&d, "plan.json", 7, "seven");
    let m1 = merge(&d, &one, "merged-1.json", "manifest-1.json");
    let m7 = merge(&d, &seven, "merged-7.json", "manifest-7.json");
    // The bad pickle fails the gate, as a scan of the tree does.
    assert_eq!(m1.status.code(), Some(1), "{}", stderr(&m1));
    assert_eq!(m7.status.code(), Some(1), "{}", stderr(&m7));
    let r1 = std::fs::read(d.join("merged-1.json")).unwrap();
    let r7 = std::fs::read(d.join("merged-7.json")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&r1),
        String::from_utf8_lossy(&r7),
        "1 and 7 shards merge to the same report"
    );
    let man1 = read_json(&d.join("manifest-1.json"));
    let man7 = read_json(&d.join("manifest-7.json"));
    assert_eq!(man1, man7);
    let root = man1["merkle_root"].as_str().unwrap().to_string();
    assert_eq!(root.len(), 64);

    // `manifest create` over the whole tree: the same root (and the same manifest).
    let created = run(
        &d,
        &["manifest", "create", "tree", "-o", "manifest-whole.json"],
    );
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let whole = read_json(&d.join("manifest-whole.json"));
    assert_eq!(whole["merkle_root"].as_str().unwrap(), root);
    assert_eq!(whole, man1);

    // The merged report is a scan report: the plain scan's findings and files, exactly.
    let plain = run(
        &d,
        &[
            "scan",
            "tree",
            "--no-policy",
            "--digest",
            "sha256",
            "--format",
            "json",
        ],
    );
    assert_eq!(plain.status.code(), Some(1));
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    let merged: Value = serde_json::from_slice(&r1).unwrap();
    assert_eq!(merged["findings"], plain["findings"]);
    assert_eq!(merged["files"], plain["files"]);
    assert_eq!(merged["summary"], plain["summary"]);
    assert_eq!(merged["atlas"], plain["atlas"]);
    assert_eq!(merged.get("shard"), None);
    let plan_sha = sha256_hex(&std::fs::read(d.join("plan.json")).unwrap());
    assert_eq!(
        merged["inputs"]["trusted"],
        serde_json::json!([{"role": "plan", "path": "plan.json", "sha256": plan_sha}])
    );
    let failing: Vec<(&str, &str)> = merged["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "critical")
        .map(|f| (f["code"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failing,
        [("pickle-dangerous-import", "tree/org/bad/pytorch_model.pkl")]
    );

    // A shard report says which plan, which shard, which files.
    let s = read_json(&d.join("seven-0.json"));
    assert_eq!(s["shard"]["plan_sha256"], plan_sha.as_str());
    assert_eq!(s["shard"]["plan"], "plan.json");
    assert_eq!(s["shard"]["index"], 0);
    assert_eq!(s["shard"]["count"], 7);
    assert_eq!(s["shard"]["plan_files"], 13);
    assert_eq!(s["shard"]["digests"], serde_json::json!(["sha256"]));
    // The largest model goes to shard 0.
    assert_eq!(s["shard"]["models"], serde_json::json!(["tree/org/good"]));

    // Rerun: the same bytes.
    let first = std::fs::read(d.join("seven-3.json")).unwrap();
    let rerun = run(
        &d,
        &[
            "scan",
            "--plan",
            "plan.json",
            "--shard",
            "3/7",
            "-o",
            "rerun-3.json",
        ],
    );
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    assert_eq!(std::fs::read(d.join("rerun-3.json")).unwrap(), first);

    // JOB_COMPLETION_INDEX gives the index: `--shard N` and `--shard /N`.
    for spec in ["7", "/7"] {
        let o = cmd(
            &d,
            &[
                "scan",
                "--plan",
                "plan.json",
                "--shard",
                spec,
                "-o",
                "indexed-3.json",
            ],
        )
        .env("JOB_COMPLETION_INDEX", "3")
        .output()
        .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(std::fs::read(d.join("indexed-3.json")).unwrap(), first);
    }
    // An explicit index wins over the environment.
    let o = cmd(
        &d,
        &[
            "scan",
            "--plan",
            "plan.json",
            "--shard",
            "3/7",
            "-o",
            "explicit-3.json",
        ],
    )
    .env("JOB_COMPLETION_INDEX", "5")
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read(d.join("explicit-3.json")).unwrap(), first);

    // Planned in-process from the PATH: the same plan (same sha256), the same shard report
    // but for the plan's file name.
    let o = run(
        &d,
        &["scan", "tree", "--shard", "3/7", "-o", "inproc-3.json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut inproc = read_json(&d.join("inproc-3.json"));
    assert_eq!(inproc["shard"]["plan_sha256"], plan_sha.as_str());
    assert_eq!(inproc["shard"].get("plan"), None);
    inproc["shard"]["plan"] = "plan.json".into();
    assert_eq!(inproc, read_json(&d.join("seven-3.json")));

    refusals(&d, &seven);
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    modelgate::digest::hex(&sha2::Sha256::digest(b))
}

/// Missing, duplicate, out-of-range and foreign shards are refused, naming what.
fn refusals(d: &Path, seven: &[String]) {
    let refused = |shards: &[&str], want: &str| {
        let mut args = vec!["merge", "--no-policy"];
        args.extend(shards);
        args.extend(["--format", "json", "-o", "refused.json"]);
        let o = run(d, &args);
        assert_eq!(o.status.code(), Some(2), "{shards:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), format!("modelgate: cannot merge: {want}\n"));
        assert!(!d.join("refused.json").exists());
    };
    let all: Vec<&str> = seven.iter().map(String::as_str).collect();
    let mut missing = all.clone();
    missing.remove(3);
    refused(
        &missing,
        "missing: shard 3 of 7 (every shard of the plan must be merged)",
    );
    let mut missing2 = missing.clone();
    missing2.remove(4);
    refused(
        &missing2,
        "missing: shards 3, 5 of 7 (every shard of the plan must be merged)",
    );
    let mut twice = all.clone();
    twice.push("rerun-3.json");
    refused(
        &twice,
        "shard 3/7 is given twice: seven-3.json and rerun-3.json",
    );
    // A shard of another plan (of one more file).
    write(&d.join("tree2/a/w.pkl"), BENIGN_PICKLE);
    let p = run(d, &["plan", "tree", "tree2", "-o", "plan2.json"]);
    assert_eq!(p.status.code(), Some(0));
    let o = run(
        d,
        &[
            "scan",
            "--plan",
            "plan2.json",
            "--shard",
            "3/7",
            "-o",
            "other-3.json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let other_sha = read_json(&d.join("other-3.json"))["shard"]["plan_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let first_sha = read_json(&d.join("seven-0.json"))["shard"]["plan_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let mut foreign = missing.clone();
    foreign.push("other-3.json");
    refused(
        &foreign,
        &format!("other-3.json is a shard of another plan (sha256 {other_sha}) than seven-0.json (sha256 {first_sha})"),
    );
    // A different count.
    let mut mixed = all.clone();
    mixed.push("one-0.json");
    refused(
        &mixed,
        "one-0.json is one of 1 shards, seven-0.json one of 7",
    );
    // Not a shard report.
    let plain = run(
        d,
        &["scan", "tree", "--no-policy", "--format", "json=plain.json"],
    );
    assert_eq!(plain.status.code(), Some(1));
    refused(
        &["plain.json"],
        "plain.json is not a shard report (it has no shard section; shard reports come from modelgate scan --shard)",
    );

    // Shard indexes out of range, or none at all.
    let bad = |spec: &str, env: Option<&str>, want: &str| {
        let mut c = cmd(
            d,
            &[
                "scan",
                "--plan",
                "plan.json",
                "--shard",
                spec,
                "-o",
                "bad.json",
            ],
        );
        if let Some(e) = env {
            c.env("JOB_COMPLETION_INDEX", e);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{spec}");
        assert_eq!(stderr(&o), format!("modelgate: {want}\n"));
        assert!(!d.join("bad.json").exists());
    };
    bad(
        "7/7",
        None,
        "shard index 7 is out of range for 7 shards (0 to 6)",
    );
    bad(
        "7",
        Some("7"),
        "shard index 7 is out of range for 7 shards (0 to 6)",
    );
    bad(
        "7",
        None,
        "--shard 7 names no shard index: give --shard i/7, or set JOB_COMPLETION_INDEX (as a Kubernetes Indexed Job does)",
    );
    bad(
        "/7",
        Some("three"),
        "JOB_COMPLETION_INDEX=three is not a shard index (a whole number)",
    );
    bad(
        "0/0",
        None,
        "--shard 0/0: the number of shards must be a whole number, at least 1",
    );
}

/// A tree that changed after it was planned: every change is a `plan-changed` finding.
#[test]
fn changes_after_the_plan_are_findings() {
    let d = tmp("changed");
    tree(&d.join("tree"));
    assert_eq!(
        run(&d, &["plan", "tree", "-o", "plan.json"]).status.code(),
        Some(0)
    );
    // Resized, removed, and added.
    write(
        &d.join("tree/org/small/tokenizer.json"),
        br#"{"version": "1.01"}"#,
    );
    std::fs::remove_file(d.join("tree/team/z/model.safetensors")).unwrap();
    write(&d.join("tree/org/small/new.pkl"), BENIGN_PICKLE);
    let shards = scan_shards(&d, "plan.json", 3, "s");
    let o = merge(&d, &shards, "merged.json", "manifest.json");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = read_json(&d.join("merged.json"));
    let changed: Vec<(&str, &str)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "plan-changed")
        .map(|f| (f["path"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changed,
        [
            ("tree/org/small/new.pkl", "the file is not in the plan (added after it was made): this sharded run did not scan it"),
            ("tree/org/small/tokenizer.json", "the file has 19 bytes now; the plan has 18: it changed after it was planned"),
            ("tree/team/z/model.safetensors", "the file is in the plan and was not found: it was removed or renamed after it was planned"),
        ]
    );
    let added = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "tree/org/small/new.pkl")
        .unwrap();
    assert_eq!(added["status"], "skipped");
    assert_eq!(added["reason"], "plan-changed");
}

/// Walk notes are carried in the plan and reported once, by shard 0.
#[test]
fn walk_notes_are_planned_and_reported_once() {
    let d = tmp("notes");
    tree(&d.join("tree"));
    std::os::unix::fs::symlink("/etc/hostname", d.join("tree/org/good/outside")).unwrap();
    assert_eq!(
        run(&d, &["plan", "tree", "-o", "plan.json"]).status.code(),
        Some(0)
    );
    let plan = read_json(&d.join("plan.json"));
    assert_eq!(plan["notes"].as_array().unwrap().len(), 1);
    assert_eq!(plan["notes"][0]["path"], "tree/org/good/outside");
    assert_eq!(plan["notes"][0]["code"], "symlink-outside-root");
    assert_eq!(plan["notes"][0]["skipped"], true);
    let shards = scan_shards(&d, "plan.json", 4, "s");
    let mut counts = Vec::new();
    for s in &shards {
        let r = read_json(&d.join(s));
        counts.push(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["code"] == "symlink-outside-root")
                .count(),
        );
    }
    assert_eq!(counts, [1, 0, 0, 0]);
    merge(&d, &shards, "merged.json", "manifest.json");
    let r = read_json(&d.join("merged.json"));
    let skipped: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "skipped")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["tree/org/good/outside"]);
}

#[test]
fn shard_scans_refuse_what_belongs_to_merge() {
    let d = tmp("refuse");
    tree(&d.join("tree"));
    for (flag, extra) in [
        ("--policy", "p.toml"),
        ("--fail-on", "warning"),
        ("--atlas-data", "a.yaml"),
    ] {
        let o = run(&d, &["scan", "tree", "--shard", "0/2", flag, extra]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            stderr(&o),
            format!("modelgate: {flag} is not for a shard scan: give it to modelgate merge, which decides for the whole plan\n")
        );
    }
    let o = run(&d, &["scan", "tree", "--shard", "0/2", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "modelgate: a shard report is written as JSON only (modelgate merge reads it): leave --format out, or give --format json\n");
    // Without -o the shard report goes to standard output, as JSON.
    let o = run(&d, &["scan", "tree", "--shard", "1/2"]);
    assert_eq!(o.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["shard"]["index"], 1);
}

#[test]
fn committed_plan_schema_is_current() {
    common::assert_committed_schema("plan.schema.json", &modelgate::plan::json_schema());
}

/// Manifests made before the Merkle root still read; a root that does not match the files is
/// refused.
#[test]
fn manifests_without_a_root_still_read_and_a_wrong_root_is_refused() {
    use modelgate::manifest::UnverifiedManifest;
    let d = tmp("compat");
    tree(&d.join("tree"));
    let o = run(&d, &["manifest", "create", "tree", "-o", "m.json"]);
    assert_eq!(o.status.code(), Some(0));
    let mut m = read_json(&d.join("m.json"));
    let root = m["merkle_root"].as_str().unwrap().to_string();
    let t = UnverifiedManifest::new(std::fs::read(d.join("m.json")).unwrap())
        .trust_unsigned()
        .unwrap();
    assert_eq!(t.manifest.merkle_root.as_deref(), Some(root.as_str()));
    m.as_object_mut().unwrap().remove("merkle_root");
    let old = serde_json::to_vec_pretty(&m).unwrap();
    let t = UnverifiedManifest::new(old).trust_unsigned().unwrap();
    assert_eq!(t.manifest.merkle_root, None);
    assert_eq!(modelgate::manifest::merkle_root(&t.manifest.files), root);
    m["merkle_root"] = "00".repeat(32).into();
    let e = UnverifiedManifest::new(serde_json::to_vec_pretty(&m).unwrap())
        .trust_unsigned()
        .unwrap_err();
    assert_eq!(
        e.1,
        format!(
            "the manifest's merkle_root {} does not match its files ({root})",
            "00".repeat(32)
        )
    );
    // `manifest verify` and `scan --manifest` take the manifest as before.
    let v = run(
        &d,
        &[
            "manifest",
            "verify",
            "tree",
            "--manifest",
            "m.json",
            "--allow-unsigned",
        ],
    );
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
}
