//! The binary: exit codes, output surfaces, the walk's edge cases, the committed schema.

mod common;
use common::call;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn modelgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modelgate-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn exit_codes() {
    assert_eq!(
        modelgate(&["scan", "testdata/benign"]).status.code(),
        Some(0)
    );
    assert_eq!(
        modelgate(&["scan", "testdata/malicious/pickle/reduce_p4.pkl"])
            .status
            .code(),
        Some(1)
    );
    let missing = modelgate(&["scan", "does/not/exist"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does/not/exist"));
    // A path quoted on standard error cannot drive the terminal either.
    let hostile = modelgate(&["scan", "no\u{1b}[2K\rPASS"]);
    assert_eq!(hostile.status.code(), Some(2));
    let err = String::from_utf8_lossy(&hostile.stderr);
    assert!(err.contains("no\\u{1b}[2K\\u{d}PASS"), "{err}");
    assert!(!err.contains(['\u{1b}', '\r']), "{err}");
    assert_eq!(modelgate(&["scan"]).status.code(), Some(2));
    assert_eq!(
        modelgate(&["scan", "--fail-on", "bogus", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        modelgate(&["explain", "no-such-code"]).status.code(),
        Some(2)
    );
    // A warning fails only when the threshold says so.
    let d = tmp("failon");
    std::fs::write(
        d.join("x.npy"),
        std::fs::read("testdata/benign/numpy/object_strings.npy").unwrap(),
    )
    .unwrap();
    assert_eq!(
        modelgate(&["scan", d.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(
        modelgate(&["scan", "--fail-on", "warning", d.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    // Critical-only gate still fails on a dangerous import.
    let out = modelgate(&[
        "scan",
        "--fail-on",
        "critical",
        "testdata/malicious/pickle/reduce_p0.pkl",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn json_report_shape() {
    let out = modelgate(&[
        "scan",
        "--format",
        "json",
        "testdata/malicious/pickle/reduce_p2.pkl",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["summary"]["verdict"], "fail");
    assert_eq!(v["files"][0]["status"], "scanned");
    assert_eq!(v["files"][0]["format"], "pickle");
    let f = &v["findings"][0];
    assert_eq!(f["code"], "pickle-dangerous-import");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["offset"], 2);
    assert_eq!(f["evidence"]["module"], "posix");
    assert_eq!(f["evidence"]["name"], "system");
    assert_eq!(f["evidence"]["invoked"], true);
    // The JSON is the Report struct: it reads back.
    let _: modelgate::Report = serde_json::from_slice(&out.stdout).unwrap();
}

#[test]
fn output_file() {
    let d = tmp("output");
    let o = d.join("report.json");
    let out = modelgate(&[
        "scan",
        "--format",
        "json",
        "-o",
        o.to_str().unwrap(),
        "testdata/benign/config.json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&o).unwrap()).unwrap();
    assert_eq!(v["summary"]["verdict"], "pass");

    // Two formats into one file, however spelled, is refused before anything is written.
    let same = format!(
        "sarif={}/../{}/report.json",
        d.display(),
        d.file_name().unwrap().to_str().unwrap()
    );
    std::fs::remove_file(&o).unwrap();
    let out = modelgate(&[
        "scan",
        "--format",
        "json",
        "-o",
        o.to_str().unwrap(),
        "--format",
        &same,
        "testdata/benign/config.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("given for two formats"));
    assert!(!o.exists());
}

#[test]
fn verification_reports_go_to_several_formats_too() {
    let d = tmp("verify-formats");
    let m = d.join("MANIFEST.json");
    let out = modelgate(&[
        "manifest",
        "create",
        "-o",
        m.to_str().unwrap(),
        "testdata/benign/numpy",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (sarif, bom) = (d.join("v.sarif"), d.join("bom.json"));
    let out = modelgate(&[
        "manifest",
        "verify",
        "--manifest",
        m.to_str().unwrap(),
        "--allow-unsigned",
        "--format",
        "json",
        "--format",
        &format!("sarif={}", sarif.display()),
        "--format",
        &format!("cyclonedx={}", bom.display()),
        "testdata/benign/numpy",
    ]);
    // The manifest is unsigned: a finding, but below the gate.
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json(&out)["findings"][0]["code"], "manifest-unsigned");
    let sarif: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"][0]["ruleId"],
        "manifest-unsigned"
    );
    let bom: serde_json::Value = serde_json::from_slice(&std::fs::read(&bom).unwrap()).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    // Two formats into one file is refused here as in scan.
    let out = modelgate(&[
        "manifest",
        "verify",
        "--manifest",
        m.to_str().unwrap(),
        "--allow-unsigned",
        "--format",
        "json=x.json",
        "--format",
        "sarif=./x.json",
        "testdata/benign/numpy",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn broken_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .args(["scan", "--format", "json", "testdata/benign"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn walk_reports_links_loops_specials_and_odd_names() {
    let d = tmp("walk");
    let root = d.join("repo");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(d.join("outside")).unwrap();
    std::fs::write(d.join("outside/evil.pkl"), call("os", "system", "x")).unwrap();
    std::fs::write(root.join(".hidden.pkl"), call("os", "system", "x")).unwrap();
    std::fs::write(root.join(".gitignore"), "*.bin\n").unwrap();
    std::fs::write(root.join("ignored.bin"), call("subprocess", "run", "x")).unwrap();
    std::os::unix::fs::symlink("../outside/evil.pkl", root.join("escape.pkl")).unwrap();
    std::os::unix::fs::symlink("missing", root.join("dangling")).unwrap();
    std::os::unix::fs::symlink("..", root.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink("self", root.join("self")).unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"bad\xffname.pkl");
    std::fs::write(root.join(odd), b"\x80\x02N.").unwrap();
    let fifo = root.join("pipe");
    // mkfifo(1) keeps this test free of libc bindings.
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let out = modelgate(&["scan", "--format", "json", root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let findings = v["findings"].as_array().unwrap();
    let has = |path_end: &str, code: &str| {
        findings
            .iter()
            .any(|f| f["path"].as_str().unwrap().ends_with(path_end) && f["code"] == code)
    };
    assert!(has("/.hidden.pkl", "pickle-dangerous-import"));
    assert!(has("/ignored.bin", "pickle-dangerous-import"));
    assert!(has("/escape.pkl", "symlink-outside-root"));
    assert!(has("/dangling", "symlink-broken"));
    assert!(has("/sub/loop", "symlink-broken"));
    assert!(has("/self", "symlink-broken"));
    assert!(has("name.pkl", "non-utf8-path"));
    if ok {
        assert!(has("/pipe", "special-file"));
    }
    // The escaping link's target was not read.
    assert!(!findings
        .iter()
        .any(|f| f["path"].as_str().unwrap().contains("outside")));
    let skipped: Vec<_> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "skipped")
        .map(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(skipped.contains(&"escape.pkl".to_string()), "{skipped:?}");
}

#[test]
fn hugging_face_cache_layout() {
    let d = tmp("hf");
    let repo = d.join("models--org--toy");
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("snapshots/abc123")).unwrap();
    std::fs::write(repo.join("blobs/0f1e2d"), call("os", "system", "x")).unwrap();
    std::os::unix::fs::symlink(
        "../../blobs/0f1e2d",
        repo.join("snapshots/abc123/pytorch_model.bin"),
    )
    .unwrap();
    let out = modelgate(&["scan", "--format", "json", repo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].ends_with("blobs/0f1e2d"));
    assert!(paths[1].ends_with("snapshots/abc123/pytorch_model.bin"));
    let files = v["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["same_as"]
        .as_str()
        .is_some_and(|s| s.ends_with("blobs/0f1e2d"))));
}

#[test]
fn help_and_codes_snapshots() {
    let help = modelgate(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    insta::assert_snapshot!("help", String::from_utf8_lossy(&help.stdout));
    let scan_help = modelgate(&["scan", "--help"]);
    insta::assert_snapshot!("scan_help", String::from_utf8_lossy(&scan_help.stdout));
    // Every subcommand's --help: what a user reads first.
    for cmd in [
        &["sign", "key"][..],
        &["sign", "certificate"],
        &["verify", "key"],
        &["verify", "certificate"],
        &["verify", "sigstore"],
        &["verify-bundle"],
        &["manifest", "create"],
        &["manifest", "verify"],
        &["plan"],
        &["merge"],
        &["dataset", "manifest"],
        &["dataset", "diff"],
        &["atlas"],
        &["keygen"],
        &["explain"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = modelgate(&args);
        assert_eq!(out.status.code(), Some(0), "{cmd:?}");
        insta::assert_snapshot!(
            format!("help_{}", cmd.join("_").replace('-', "_")),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let codes = modelgate(&["explain"]);
    insta::assert_snapshot!("codes", String::from_utf8_lossy(&codes.stdout));
    let one = modelgate(&["explain", "pickle-dangerous-import"]);
    assert_eq!(one.status.code(), Some(0));
    insta::assert_snapshot!("explain_dangerous", String::from_utf8_lossy(&one.stdout));
}

#[test]
fn every_code_is_explained() {
    for c in modelgate::finding::CODES {
        let out = modelgate(&["explain", c.name]);
        assert_eq!(out.status.code(), Some(0), "{}", c.name);
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(c.name));
    }
}

#[test]
fn committed_schema_is_current() {
    common::assert_committed_schema("report.schema.json", &modelgate::report::json_schema());
}

#[test]
fn shipped_examples_behave() {
    assert_eq!(
        modelgate(&["scan", "examples/clean"]).status.code(),
        Some(0)
    );
    assert_eq!(
        modelgate(&["scan", "examples/malicious"]).status.code(),
        Some(1)
    );
}

#[test]
fn verify_bundle_exit_codes() {
    let suite = "testdata/conformance/sigstore-bundle-verify";
    let id = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let iss = "https://token.actions.githubusercontent.com";
    let run = |case: &str, artifact: &str| {
        modelgate(&[
            "verify-bundle",
            artifact,
            "--bundle",
            &format!("{suite}/{case}/bundle.sigstore.json"),
            "--identity",
            id,
            "--identity-provider",
            iss,
        ])
        .status
        .code()
    };
    let a = format!("{suite}/a.txt");
    assert_eq!(run("happy-path-v0.3", &a), Some(0));
    assert_eq!(run("signature-mismatch_fail", &a), Some(1));
    let digest = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
    let expected = modelgate::digest::hex(
        &modelgate::digest::hash_file(modelgate::digest::HashAlg::Sha256, Path::new(&a)).unwrap(),
    );
    assert_eq!(&digest[7..], expected, "a.txt changed");
    assert_eq!(run("happy-path-v0.3", digest), Some(0));
    assert_eq!(run("happy-path-v0.3", "sha256:00"), Some(2));
    let key = modelgate(&[
        "verify-bundle",
        &a,
        "--bundle",
        &format!("{suite}/managed-key-happy-path/bundle.sigstore.json"),
        "--key",
        &format!("{suite}/managed-key-happy-path/key.pub"),
    ]);
    assert_eq!(
        key.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&key.stdout)
    );
}

/// A library's own classes pass with one profile line: `--suggest-policy` writes it (and an
/// allow_globals entry for what no profile covers), the reviewed policy makes the scan pass, and
/// every decision is in the report. Denylisted imports are never suggested nor allowed.
#[test]
fn profiles_and_suggested_policy() {
    let d = tmp("profiles");
    let model = d.join("model");
    std::fs::create_dir_all(&model).unwrap();
    // gensim's Word2Vec and KeyedVectors (classes) and one of its functions.
    let pkl = b"\x80\x02cgensim.models.word2vec\nWord2Vec\n)\x81cgensim.models.keyedvectors\nKeyedVectors\n)\x81cgensim.utils\ncall_on_class_only\n\x87.";
    std::fs::write(model.join("w2v.model"), pkl).unwrap();
    let out = modelgate(&["scan", "--no-policy", model.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    // The text report names the profile line under each framework class it would pass, and
    // under nothing else.
    let text = String::from_utf8_lossy(&out.stdout);
    let hint = "profile: profiles = [\"gensim\"] in a policy accepts this framework class";
    assert_eq!(text.matches(hint).count(), 2, "{text}");
    let suggested = d.join("suggested.toml");
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "--suggest-policy",
        suggested.to_str().unwrap(),
        model.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&suggested).unwrap();
    assert!(text.contains("profiles = [\"gensim\"]"), "{text}");
    assert!(text.contains("name = \"call_on_class_only\""), "{text}");
    assert!(!text.contains("Word2Vec"), "{text}");
    let out = modelgate(&[
        "scan",
        "--policy",
        suggested.to_str().unwrap(),
        "--format",
        "json",
        model.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = json(&out);
    let reasons: Vec<&str> = r["waived"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("profile 'gensim'"))
            .count(),
        2,
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("allow_globals")),
        "{reasons:?}"
    );
    // The same profile never allows a denylisted call from the library's modules.
    std::fs::write(
        model.join("evil.model"),
        b"\x80\x02cgensim.models.word2vec\nWord2Vec\n)\x81cgensim.utils\nsystem\nX\x02\x00\x00\x00id\x85R\x86.",
    )
    .unwrap();
    let out = modelgate(&[
        "scan",
        "--policy",
        suggested.to_str().unwrap(),
        model.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = modelgate(&[
        "scan",
        "--suggest-policy",
        d.join("again.toml").to_str().unwrap(),
        "--no-policy",
        model.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let again = std::fs::read_to_string(d.join("again.toml")).unwrap();
    assert!(!again.contains("system"), "{again}");
    // Module globs, and an unknown profile is an error that names it.
    let glob = d.join("glob.toml");
    std::fs::write(&glob, "allow_modules = [\"gensim.**\"]\n").unwrap();
    std::fs::remove_file(model.join("evil.model")).unwrap();
    let out = modelgate(&[
        "scan",
        "--policy",
        glob.to_str().unwrap(),
        model.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let bad = d.join("bad.toml");
    std::fs::write(&bad, "profiles = [\"gensimm\"]\n").unwrap();
    let out = modelgate(&[
        "scan",
        "--policy",
        bad.to_str().unwrap(),
        model.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile 'gensimm'"));
}

/// Real files of libraries whose loaders import their own classes (testdata/generate_profiles.py)
/// fail by default and pass with one profile line each.
#[test]
fn library_checkpoints_pass_with_their_profile() {
    let out = modelgate(&["scan", "--no-policy", "testdata/profiles"]);
    assert_eq!(out.status.code(), Some(1));
    let d = tmp("library-profiles");
    let p = d.join("policy.toml");
    std::fs::write(
        &p,
        "profiles = [\"lightgbm\", \"xgboost\", \"catboost\", \"omegaconf\"]\n",
    )
    .unwrap();
    let out = modelgate(&["scan", "--policy", p.to_str().unwrap(), "testdata/profiles"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Directories linked as a DAG (each level links twice to the next) have 2^K paths: each
/// directory is walked once, so the scan costs the tree's size, not its paths.
#[test]
fn directory_dag_is_walked_once_per_directory() {
    let d = tmp("dag");
    let root = d.join("root");
    let k = 24;
    for i in 0..=k {
        std::fs::create_dir_all(root.join(format!("l{i}"))).unwrap();
    }
    for i in 0..k {
        for link in ["a", "b"] {
            std::os::unix::fs::symlink(
                format!("../l{}", i + 1),
                root.join(format!("l{i}")).join(link),
            )
            .unwrap();
        }
    }
    std::fs::write(root.join(format!("l{k}")).join("w.pkl"), b"\x80\x02N.").unwrap();
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "--format",
        "json",
        root.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let r = json(&out);
    assert_eq!(r["summary"]["files"], 1, "{}", r["summary"]);
}

/// A run that inspected nothing (a mistyped or empty path) fails with a finding that says so;
/// `--jobs` beyond a few per core is bounded, not obeyed.
#[test]
fn empty_tree_fails_and_jobs_are_bounded() {
    let d = tmp("empty");
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "--format",
        "json",
        d.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(r["findings"][0]["code"], "nothing-inspected");
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "--jobs",
        "100000",
        "testdata/benign/pickle",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("using"));
}

/// Outputs never land where they would change or destroy what is checked: a report inside a
/// scanned root (or on a model file) is refused before the scan; a manifest inside its own tree
/// is left out of it (and verifies); `manifest create -o` never replaces a file that is not a
/// manifest.
#[test]
fn outputs_never_overwrite_or_join_what_is_scanned() {
    let d = tmp("outputs-safety");
    let m = d.join("m");
    std::fs::create_dir_all(&m).unwrap();
    let weights = m.join("pytorch_model.bin");
    std::fs::write(&weights, b"\x80\x02N.").unwrap();
    let out = modelgate(&[
        "scan",
        "--no-policy",
        m.to_str().unwrap(),
        "-o",
        weights.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&weights).unwrap(), b"\x80\x02N.");
    let out = modelgate(&[
        "scan",
        "--no-policy",
        m.to_str().unwrap(),
        "--format",
        &format!("sarif={}", m.join("r.sarif").display()),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!m.join("r.sarif").exists());
    let missing = d.join("no/such/dir/r.json");
    let out = modelgate(&[
        "scan",
        "--no-policy",
        m.to_str().unwrap(),
        "-o",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    // A report beside the tree is fine.
    let out = modelgate(&[
        "scan",
        "--no-policy",
        m.to_str().unwrap(),
        "-o",
        d.join("r.txt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    // manifest create refuses to replace a model file, and leaves itself out of the tree.
    let out = modelgate(&[
        "manifest",
        "create",
        m.to_str().unwrap(),
        "-o",
        weights.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&weights).unwrap(), b"\x80\x02N.");
    let man = m.join("manifest.json");
    let out = modelgate(&[
        "manifest",
        "create",
        m.to_str().unwrap(),
        "-o",
        man.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = std::fs::read_to_string(&man).unwrap();
    assert!(!listed.contains("manifest.json"), "{listed}");
    // Created again over the previous manifest: allowed.
    let out = modelgate(&[
        "manifest",
        "create",
        m.to_str().unwrap(),
        "-o",
        man.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = modelgate(&[
        "manifest",
        "verify",
        m.to_str().unwrap(),
        "--manifest",
        man.to_str().unwrap(),
        "--allow-unsigned",
        "--format",
        "json",
    ]);
    let r = json(&out);
    let codes: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(!codes.contains(&"manifest-file-added"), "{codes:?}");
}

/// keygen makes ECDSA keys by default, which sign models (OpenSSF Model Signing) as well as
/// manifests; Ed25519 on request. Both halves, the private one mode 600.
#[test]
fn keygen_types_sign_models() {
    use std::os::unix::fs::PermissionsExt;
    let d = tmp("keygen-types");
    let m = d.join("model");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("w.bin"), b"weights").unwrap();
    for (ty, ok) in [
        ("ecdsa-p256", true),
        ("ecdsa-p384", true),
        ("ed25519", false),
    ] {
        let base = d.join(ty);
        let out = modelgate(&["keygen", "-o", base.to_str().unwrap(), "--type", ty]);
        assert_eq!(out.status.code(), Some(0), "{ty}");
        let key = base.with_extension("key");
        let public = base.with_extension("pub");
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(public.exists());
        let sig = d.join(format!("{ty}.sig"));
        let out = modelgate(&[
            "sign",
            "key",
            m.to_str().unwrap(),
            "--private-key",
            key.to_str().unwrap(),
            "--signature",
            sig.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.success(),
            ok,
            "{ty}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if ok {
            let out = modelgate(&[
                "verify",
                "key",
                m.to_str().unwrap(),
                "--public-key",
                public.to_str().unwrap(),
                "--signature",
                sig.to_str().unwrap(),
            ]);
            assert_eq!(out.status.code(), Some(0), "{ty}");
        }
    }
}

/// The folder `snapshot_download()` returns (`models--org--name/snapshots/<rev>`) links every
/// file into the repository's `blobs/`: followed there, and nowhere further.
#[test]
fn hugging_face_snapshot_folder_follows_its_blobs() {
    let d = tmp("hf-snapshot");
    let repo = d.join("hub/models--org--toy");
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("snapshots/abc123")).unwrap();
    std::fs::write(repo.join("blobs/0f1e2d"), call("os", "system", "x")).unwrap();
    std::fs::write(repo.join("blobs/77aa"), b"{\"model_type\": \"toy\"}").unwrap();
    std::fs::write(d.join("secret.pkl"), call("os", "system", "y")).unwrap();
    let snap = repo.join("snapshots/abc123");
    std::os::unix::fs::symlink("../../blobs/0f1e2d", snap.join("pytorch_model.bin")).unwrap();
    std::os::unix::fs::symlink("../../blobs/77aa", snap.join("config.json")).unwrap();
    std::os::unix::fs::symlink("../../../../secret.pkl", snap.join("elsewhere.pkl")).unwrap();
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "--format",
        "json",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let codes: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap(),
                f["path"].as_str().unwrap().rsplit('/').next().unwrap(),
            )
        })
        .collect();
    assert!(
        codes.contains(&("pickle-dangerous-import", "pytorch_model.bin")),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("symlink-outside-root", "elsewhere.pkl")),
        "{codes:?}"
    );
    assert_eq!(v["summary"]["scanned"], 2, "{codes:?}");
}

fn mitigation(r: &serde_json::Value, id: &str) -> (String, String) {
    let m = r["atlas"]["mitigations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap();
    (
        m["status"].as_str().unwrap().to_string(),
        m["evidence"].as_str().unwrap_or("").to_string(),
    )
}

/// Reports claim what the run did and no more: a signed manifest that verified while one file
/// changed is a partial M0014 with its coverage (not "nothing was checked"); an unsigned
/// manifest never meets M0014; a run of no files meets no mitigation.
#[test]
fn reports_do_not_overclaim() {
    let d = tmp("overclaim");
    let m = d.join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("a.bin"), b"a").unwrap();
    std::fs::write(m.join("b.bin"), b"b").unwrap();
    let key = d.join("k");
    assert!(modelgate(&["keygen", "-o", key.to_str().unwrap()])
        .status
        .success());
    let man = d.join("manifest.json");
    let out = modelgate(&[
        "manifest",
        "create",
        m.to_str().unwrap(),
        "-o",
        man.to_str().unwrap(),
        "--private-key",
        key.with_extension("key").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(m.join("b.bin"), b"changed").unwrap();
    let out = modelgate(&[
        "manifest",
        "verify",
        m.to_str().unwrap(),
        "--manifest",
        man.to_str().unwrap(),
        "--public-key",
        key.with_extension("pub").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let r = json(&out);
    assert_eq!(
        r["coverage"][0]["not_covered"].as_array().unwrap().len(),
        1,
        "{}",
        r["coverage"]
    );
    assert_eq!(mitigation(&r, "AML.M0014").0, "partial");
    let out = modelgate(&[
        "manifest",
        "verify",
        m.to_str().unwrap(),
        "--manifest",
        man.to_str().unwrap(),
        "--allow-unsigned",
        "--format",
        "json",
    ]);
    assert_ne!(mitigation(&json(&out), "AML.M0014").0, "met");
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "--format",
        "json",
        empty.to_str().unwrap(),
    ]);
    let r = json(&out);
    for id in ["AML.M0016", "AML.M0011"] {
        assert_eq!(mitigation(&r, id).0, "not-met", "{id}");
    }
}

/// Signing an empty model is refused (a model holds at least one file); a file added after
/// signing fails verification unless --ignore-unsigned-files leaves it out.
#[test]
fn empty_models_are_not_signed_and_unsigned_files_can_be_ignored() {
    let d = tmp("sign-empty");
    let key = d.join("k");
    assert!(modelgate(&["keygen", "-o", key.to_str().unwrap()])
        .status
        .success());
    let m = d.join("m");
    std::fs::create_dir_all(&m).unwrap();
    let sig = d.join("m.sig");
    let sign = |m: &Path| {
        modelgate(&[
            "sign",
            "key",
            m.to_str().unwrap(),
            "--private-key",
            key.with_extension("key").to_str().unwrap(),
            "--signature",
            sig.to_str().unwrap(),
        ])
    };
    let out = sign(&m);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no file to sign"));
    std::fs::write(m.join("w.bin"), b"weights").unwrap();
    assert!(sign(&m).status.success());
    std::fs::write(m.join("extra.txt"), b"added later").unwrap();
    let public = key.with_extension("pub");
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "key",
            m.to_str().unwrap(),
            "--public-key",
            public.to_str().unwrap(),
            "--signature",
            sig.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        modelgate(&args)
    };
    assert_eq!(verify(&[]).status.code(), Some(1));
    assert_eq!(verify(&["--ignore-unsigned-files"]).status.code(), Some(0));
}

/// With every report written to a file, the verdict still reaches the log (stderr); counts
/// read as English.
#[test]
fn verdict_is_said_when_every_report_goes_to_a_file() {
    let d = tmp("verdict");
    let sarif = d.join("r.sarif");
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "testdata/malicious/pickle/reduce_p4.pkl",
        "--format",
        &format!("sarif={}", sarif.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FAIL: ") && err.contains("r.sarif"), "{err}");
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "testdata/malicious/pickle/reduce_p4.pkl",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(": 1 file under"), "{text}");
}

/// `--color always` colours the text report for CI logs, `never` (and NO_COLOR by default off a
/// terminal) does not.
#[test]
fn color_choice() {
    let p = "testdata/malicious/pickle/reduce_p4.pkl";
    let out = modelgate(&["scan", "--no-policy", p, "--color", "always"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\u{1b}["));
    let out = modelgate(&["scan", "--no-policy", p, "--color", "never"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\u{1b}["));
}

/// Issue 14, item 9: every error that ends a run (exit 2) names the file it is about, and
/// output destinations are refused before any work. Item 3: `sign --signature` does not
/// replace a file that is not a signature.
#[test]
fn errors_name_their_file_and_come_before_the_work() {
    let d = tmp("errors-name-paths");
    let m = d.join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("w.pkl"), b"\x80\x02N.").unwrap();
    let s = |p: &str| d.join(p).to_str().unwrap().to_string();
    let (m_, nodir) = (s("m"), s("nodir/out.json"));
    let cases: Vec<(Vec<String>, String)> = vec![
        (vec!["scan".into(), s("nope")], s("nope")),
        (
            vec!["scan".into(), m_.clone(), "-o".into(), nodir.clone()],
            nodir.clone(),
        ),
        (
            vec!["scan".into(), m_.clone(), "--policy".into(), s("nope.toml")],
            s("nope.toml"),
        ),
        (
            vec![
                "scan".into(),
                m_.clone(),
                "--atlas-data".into(),
                s("nope.yaml"),
            ],
            s("nope.yaml"),
        ),
        (
            vec![
                "scan".into(),
                m_.clone(),
                "--suggest-policy".into(),
                nodir.clone(),
            ],
            nodir.clone(),
        ),
        (
            vec![
                "scan".into(),
                m_.clone(),
                "--manifest".into(),
                s("nope.json"),
                "--allow-unsigned-manifest".into(),
            ],
            s("nope.json"),
        ),
        (
            vec![
                "manifest".into(),
                "verify".into(),
                m_.clone(),
                "--manifest".into(),
                s("nope.json"),
                "--allow-unsigned".into(),
            ],
            s("nope.json"),
        ),
        (
            vec![
                "manifest".into(),
                "create".into(),
                m_.clone(),
                "-o".into(),
                nodir.clone(),
            ],
            nodir.clone(),
        ),
        (
            vec![
                "verify".into(),
                "key".into(),
                m_.clone(),
                "--signature".into(),
                s("nope.sig"),
                "--public-key".into(),
                s("k.pub"),
            ],
            s("nope.sig"),
        ),
        (
            vec![
                "sign".into(),
                "key".into(),
                m_.clone(),
                "--private-key".into(),
                s("nope.key"),
            ],
            s("nope.key"),
        ),
        (
            vec!["keygen".into(), "-o".into(), s("nodir/k")],
            s("nodir/k.key"),
        ),
        (
            vec![
                "dataset".into(),
                "diff".into(),
                m_.clone(),
                "--baseline".into(),
                s("nope.json"),
                "--allow-unsigned".into(),
            ],
            s("nope.json"),
        ),
        (
            vec![
                "dataset".into(),
                "manifest".into(),
                m_.clone(),
                "-o".into(),
                nodir.clone(),
            ],
            nodir.clone(),
        ),
    ];
    for (args, path) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = modelgate(&a);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&path), "{args:?} does not name {path}: {err}");
    }
    assert!(!d.join("nodir").exists());
    // A signature path naming the model's weights is refused; the weights stay.
    let key = s("k");
    assert_eq!(modelgate(&["keygen", "-o", &key]).status.code(), Some(0));
    let weights = m.join("w.pkl");
    let out = modelgate(&[
        "sign",
        "key",
        &m_,
        "--private-key",
        &format!("{key}.key"),
        "--signature",
        weights.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a signature bundle"));
    assert_eq!(std::fs::read(&weights).unwrap(), b"\x80\x02N.");
}

/// The README's code table is the codes' own: generated, compared here (rewritten with
/// MODELGATE_UPDATE_SCHEMAS=1, like the schemas).
#[test]
fn committed_readme_code_table_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- codes:start -->\n", "<!-- codes:end -->");
    let a = readme
        .find(start)
        .expect("README has no codes:start marker")
        + start.len();
    let b = readme.find(end).expect("README has no codes:end marker");
    let want = modelgate::cli::codes_markdown();
    if std::env::var_os("MODELGATE_UPDATE_SCHEMAS").is_some() {
        let new = format!("{}{}{}", &readme[..a], want, &readme[b..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert_eq!(
        &readme[a..b],
        want,
        "README's code table is stale: MODELGATE_UPDATE_SCHEMAS=1 cargo test --test cli committed"
    );
}

/// Issue 25: AML.M0011 ("none of the files needs a loader that can run code") is never met
/// for a tree whose configs name code their loader runs: auto_map remote code, a chat template
/// reaching into Python, a Hydra target; waived or not.
#[test]
fn atlas_m0011_is_not_claimed_for_remote_code_or_templates() {
    let d = tmp("m0011");
    let m = d.join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("model.safetensors"),
        b"\x02\x00\x00\x00\x00\x00\x00\x00{}",
    )
    .unwrap();
    let m0011 = |args: &[&str]| -> (String, String) {
        let mut a = vec!["scan", "--format", "json"];
        a.extend_from_slice(args);
        let r = json(&modelgate(&a));
        let m = r["atlas"]["mitigations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == "AML.M0011")
            .unwrap()
            .clone();
        (
            m["status"].as_str().unwrap().to_string(),
            m["evidence"].as_str().unwrap().to_string(),
        )
    };
    let (status, evidence) = m0011(&["--no-policy", m.to_str().unwrap()]);
    assert_eq!(status, "met", "{evidence}");
    std::fs::write(
        m.join("config.json"),
        br#"{"model_type": "x", "auto_map": {"AutoModel": "modeling_x.XModel"}}"#,
    )
    .unwrap();
    let (status, evidence) = m0011(&["--no-policy", m.to_str().unwrap()]);
    assert_eq!(status, "partial", "{evidence}");
    assert!(evidence.contains("hf-remote-code"), "{evidence}");
    std::fs::remove_file(m.join("config.json")).unwrap();
    std::fs::write(
        m.join("tokenizer_config.json"),
        br#"{"chat_template": "{{ cycler.__init__.__globals__.os.popen('id').read() }}"}"#,
    )
    .unwrap();
    let (status, evidence) = m0011(&["--no-policy", m.to_str().unwrap()]);
    assert_eq!(status, "partial", "{evidence}");
    assert!(evidence.contains("chat-template-injection"), "{evidence}");
    // A waiver accepts the finding; the loader still runs code.
    let policy = d.join("p.toml");
    std::fs::write(
        &policy,
        "[[waiver]]\ncode = \"chat-template-injection\"\npath = \"**\"\nreason = \"reviewed\"\n",
    )
    .unwrap();
    let (status, evidence) = m0011(&["--policy", policy.to_str().unwrap(), m.to_str().unwrap()]);
    assert_eq!(status, "partial", "{evidence}");
}

/// Issue 25: what a newcomer hits first. `atlas --help` offers only what atlas writes; `sign
/// --help` shows no verify flag; `scan --help` names every format family; `--fail-on` lists its
/// values; `--jobs 0` is refused; `explain` suggests the closest code; `manifest verify` and
/// `dataset diff` without a key name `--allow-unsigned`; a report refused inside the scanned
/// tree says where to put it; the verdict line names a report only once it is written.
#[test]
fn the_rough_edges_a_newcomer_hits() {
    let text = |o: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let atlas = text(&modelgate(&["atlas", "--help"]));
    assert!(atlas.contains("text") && atlas.contains("json"), "{atlas}");
    for refused in ["sarif", "junit", "cyclonedx"] {
        assert!(!atlas.contains(refused), "{atlas}");
    }
    let out = modelgate(&["atlas", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2));
    for method in ["key", "certificate"] {
        let sign = text(&modelgate(&["sign", method, "--help"]));
        assert!(!sign.contains("ignore-unsigned"), "{sign}");
        assert!(sign.contains("--allow-symlinks"), "{sign}");
    }
    let verify = text(&modelgate(&["verify", "key", "--help"]));
    assert!(verify.contains("--ignore-unsigned-files"), "{verify}");
    let scan = text(&modelgate(&["scan", "--help"]));
    for family in [
        "pickles",
        "safetensors",
        "Keras",
        "GGUF",
        "ONNX",
        "TensorFlow",
        "auto_map",
        "TFLite",
        "native libraries",
        "7z",
    ] {
        assert!(scan.contains(family), "scan --help omits {family}");
    }
    assert!(
        scan.contains("[possible values: critical, error, warning, info]"),
        "{scan}"
    );
    let out = modelgate(&["scan", "--fail-on", "bad", "examples/clean"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("critical, error, warning, info"));
    let out = modelgate(&["scan", "--jobs", "0", "examples/clean"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("at least 1"), "{}", text(&out));
    let out = modelgate(&["explain", "pickle-dangerous-imports"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("did you mean 'pickle-dangerous-import'?"),
        "{}",
        text(&out)
    );
    let d = tmp("newcomer");
    let m = d.join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("a.jsonl"), b"{\"t\": 1}\n").unwrap();
    let man = d.join("m.json");
    let out = modelgate(&[
        "manifest",
        "create",
        m.to_str().unwrap(),
        "-o",
        man.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = modelgate(&[
        "manifest",
        "verify",
        m.to_str().unwrap(),
        "--manifest",
        man.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--allow-unsigned"), "{}", text(&out));
    let dman = d.join("d.manifest");
    let out = modelgate(&[
        "dataset",
        "manifest",
        m.to_str().unwrap(),
        "-o",
        dman.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = modelgate(&[
        "dataset",
        "diff",
        m.to_str().unwrap(),
        "--baseline",
        dman.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--allow-unsigned"), "{}", text(&out));
    // `scan . --format sarif=modelgate.sarif`: refused, with the exact spelling that works.
    let out = Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .current_dir(&m)
        .args([
            "scan",
            "--no-policy",
            ".",
            "--format",
            "sarif=modelgate.sarif",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--format sarif=../modelgate.sarif"),
        "{}",
        text(&out)
    );
    assert!(!m.join("modelgate.sarif").exists());
    let out = Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .current_dir(&m)
        .args([
            "scan",
            "--no-policy",
            ".",
            "--format",
            "sarif=../modelgate.sarif",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(d.join("modelgate.sarif").exists());
    // A report that cannot be written is not named as written: tests/write_through.rs (a
    // FIFO nobody reads).
}
