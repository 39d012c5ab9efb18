//! Remote inputs (issue 27), offline: `s3://` against moto's S3 (tests/servers/s3.py, from a
//! venv the tests install), `hf://` against a small Hugging Face Hub (tests/servers/hub.py,
//! Python stdlib only). Both servers listen on 127.0.0.1 and count the bytes they serve, so the
//! tests also check that a large checkpoint is read by ranges, not downloaded.
//!
//! What the CLI is held to: exit 1 on error findings, 0 when clean, 2 when the run cannot
//! happen (unknown repo, revision or bucket, bad URL, a 401); the JSON report lists each file by
//! its display path (`s3://bucket/prefix/file`, `hf://org/name@<commit>/file`,
//! `hf://datasets/org/name@<commit>/file`); the Hugging Face cache is read first; HF_TOKEN goes
//! to HF_ENDPOINT only, never to where it redirects.

mod common;

use common::remote::{self, HubOpts, HubServer, Moto};
use common::P;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// One run of the CLI: exit code, stderr, and the JSON report if it wrote one.
struct Run {
    code: Option<i32>,
    stderr: String,
    stdout: String,
    report: Option<Value>,
}

impl Run {
    fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no JSON report; stderr:\n{}", self.stderr))
    }

    /// The display paths of the files in the report.
    fn paths(&self) -> BTreeSet<String> {
        self.report()["files"]
            .as_array()
            .unwrap_or_else(|| panic!("report without files: {}", self.report()))
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect()
    }

    /// The findings (code, severity, path) of the report.
    fn findings(&self) -> Vec<(String, String, String)> {
        self.report()["findings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        (
                            f["code"].as_str().unwrap_or("").to_string(),
                            f["severity"].as_str().unwrap_or("").to_string(),
                            f["path"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn show(&self) -> String {
        format!(
            "exit {:?}\nstderr:\n{}\nstdout:\n{}\nreport:\n{}",
            self.code,
            self.stderr,
            self.stdout,
            self.report
                .as_ref()
                .map(|r| serde_json::to_string_pretty(r).unwrap())
                .unwrap_or_default()
        )
    }
}

/// Run `modelgate <args>` in `dir` (no policy of the repository's applies there) with the
/// environment `env` sets; `report_args` says whether to add `--format json -o <report>`.
fn run(dir: &Path, args: &[&str], report_args: bool, env: &dyn Fn(&mut Command)) -> Run {
    let report = dir.join(format!(
        "report-{}.json",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_modelgate"));
    cmd.current_dir(dir).args(args);
    if report_args {
        cmd.args(["--format", "json", "-o"]).arg(&report);
    }
    env(&mut cmd);
    let out = cmd.output().expect("modelgate runs");
    let parsed = std::fs::read(&report)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("the report is JSON"));
    Run {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        report: parsed,
    }
}

/// `modelgate scan URL --no-policy --no-progress --format json -o <report>`.
fn scan(dir: &Path, url: &str, env: &dyn Fn(&mut Command)) -> Run {
    run(
        dir,
        &["scan", "--no-policy", "--no-progress", url],
        true,
        env,
    )
}

/// A run that cannot happen: exit 2, a message naming `url`, no panic, no report of files.
fn assert_cannot_run(r: &Run, url: &str) {
    assert_eq!(r.code, Some(2), "{url}: {}", r.show());
    assert!(
        r.stderr.contains(url),
        "the message names {url}: {}",
        r.show()
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.show());
}

/// `os.system("echo …")`, padded to about `len` bytes (an LFS file on the Hub when large).
fn evil_pickle(len: usize) -> Vec<u8> {
    let cmd = format!("echo pwned #{}", "x".repeat(len.saturating_sub(40)));
    P::new()
        .proto(2)
        .global("os", "system")
        .unicode(&cmd)
        .tuple1()
        .reduce()
        .stop()
        .build()
}

/// A well-formed safetensors file of one F32 tensor of `n` values, each byte `fill`.
fn safetensors(n: usize, fill: u8) -> Vec<u8> {
    let mut header = format!(
        r#"{{"weight":{{"dtype":"F32","shape":[{n}],"data_offsets":[0,{}]}}}}"#,
        4 * n
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(std::iter::repeat_n(fill, 4 * n));
    out
}

fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

const DANGEROUS: &str = "pickle-dangerous-import";

// ---------------------------------------------------------------------------------------------
// S3 (moto)

fn moto() -> Option<Moto> {
    if common::offline("the S3 tests (moto)") {
        return None;
    }
    Some(Moto::start())
}

#[test]
fn s3_prefix_with_a_malicious_pickle_fails_and_lists_every_file() {
    let Some(s3) = moto() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    write(
        &src,
        "model.safetensors",
        &std::fs::read("testdata/benign/safetensors/model.safetensors").unwrap(),
    );
    write(
        &src,
        "sub/evil.pkl",
        &common::call("os", "system", "echo pwned"),
    );
    s3.put_dir("models", "mixed", &src);
    let r = scan(tmp.path(), "s3://models/mixed", &|c| s3.env(c));
    assert_eq!(r.code, Some(1), "{}", r.show());
    let want: BTreeSet<String> = [
        "s3://models/mixed/model.safetensors",
        "s3://models/mixed/sub/evil.pkl",
    ]
    .map(String::from)
    .into();
    assert_eq!(r.paths(), want, "{}", r.show());
    assert!(
        r.findings()
            .iter()
            .any(|(c, _, p)| c == DANGEROUS && p == "s3://models/mixed/sub/evil.pkl"),
        "{}",
        r.show()
    );
    // The trailing slash names the same prefix.
    let r = scan(tmp.path(), "s3://models/mixed/", &|c| s3.env(c));
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert_eq!(r.paths(), want, "{}", r.show());
}

#[test]
fn s3_clean_prefix_passes_and_its_siblings_stay_out() {
    let Some(s3) = moto() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    write(
        &clean,
        "model.safetensors",
        &std::fs::read("testdata/benign/safetensors/model.safetensors").unwrap(),
    );
    write(&clean, "config.json", b"{\"architectures\": [\"Bert\"]}\n");
    s3.put_dir("models", "team/clean", &clean);
    // A sibling whose key starts with the same characters is another directory.
    let evil = tmp.path().join("evil");
    write(
        &evil,
        "evil.pkl",
        &common::call("os", "system", "echo pwned"),
    );
    s3.put_dir("models", "team/cleanx", &evil);
    let r = scan(tmp.path(), "s3://models/team/clean", &|c| s3.env(c));
    assert_eq!(r.code, Some(0), "{}", r.show());
    let want: BTreeSet<String> = [
        "s3://models/team/clean/config.json",
        "s3://models/team/clean/model.safetensors",
    ]
    .map(String::from)
    .into();
    assert_eq!(r.paths(), want, "{}", r.show());
    // One object, named whole.
    let r = scan(tmp.path(), "s3://models/team/cleanx/evil.pkl", &|c| {
        s3.env(c)
    });
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert_eq!(
        r.paths(),
        ["s3://models/team/cleanx/evil.pkl".to_string()].into(),
        "{}",
        r.show()
    );
}

#[test]
fn s3_unknown_bucket_and_bad_urls_cannot_run() {
    let Some(s3) = moto() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let r = scan(tmp.path(), "s3://no-such-bucket/models", &|c| s3.env(c));
    assert_cannot_run(&r, "s3://no-such-bucket/models");
    let r = scan(tmp.path(), "s3://", &|c| s3.env(c));
    assert_eq!(r.code, Some(2), "{}", r.show());
    assert!(!r.stderr.contains("panicked"), "{}", r.show());
}

#[test]
fn s3_large_checkpoint_is_read_by_ranges() {
    let Some(s3) = moto() else { return };
    let ckpt = remote::torch_checkpoint(200);
    let size = std::fs::metadata(&ckpt).unwrap().len();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::os::unix::fs::symlink(&ckpt, src.join("pytorch_model.bin")).unwrap();
    write(&src, "config.json", b"{}\n");
    s3.put_dir("ckpts", "big", &src);
    s3.reset();
    let r = scan(tmp.path(), "s3://ckpts/big", &|c| s3.env(c));
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert!(
        r.paths().contains("s3://ckpts/big/pytorch_model.bin"),
        "{}",
        r.show()
    );
    let served = s3.object_bytes("ckpts/big/pytorch_model.bin");
    assert!(
        served > 0 && served < size / 100,
        "moto served {served} bytes of a {size}-byte checkpoint (at most 1% expected); log:\n{}",
        s3.stats()["log"]
    );
}

// ---------------------------------------------------------------------------------------------
// The Hugging Face Hub (tests/servers/hub.py)

/// The repos of the Hub tests, under a temp dir:
/// models/acme/tiny (9 files in 3 directories: the listing takes several pages; one LFS file;
/// tag v1.0), models/acme/evil (an LFS pickle calling os.system), datasets/acme/ds.
fn hub_root() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    let tiny = r.join("models/acme/tiny");
    write(&tiny, "config.json", b"{\"model_type\": \"bert\"}\n");
    write(&tiny, "model.safetensors", &safetensors(1024, 0x3f));
    write(
        &tiny,
        "small.safetensors",
        &std::fs::read("testdata/benign/safetensors/model.safetensors").unwrap(),
    );
    write(&tiny, "README.md", b"# tiny\n");
    write(&tiny, "tokenizer/vocab.txt", b"[PAD]\n[UNK]\nhello\n");
    write(&tiny, "tokenizer/special_tokens_map.json", b"{}\n");
    write(&tiny, "tokenizer/extra/added_tokens.json", b"{}\n");
    write(&tiny, "generation_config.json", b"{\"max_length\": 20}\n");
    write(&tiny, "tokenizer_config.json", b"{}\n");
    std::fs::write(r.join("models/acme/tiny.refs.json"), b"[\"v1.0\"]").unwrap();
    let evil = r.join("models/acme/evil");
    write(&evil, "config.json", b"{}\n");
    write(&evil, "model.safetensors", &safetensors(512, 0));
    write(&evil, "evil.pkl", &evil_pickle(4096));
    let ds = r.join("datasets/acme/ds");
    write(&ds, "data/train.csv", b"text,label\nhello,1\n");
    write(&ds, "README.md", b"# ds\n");
    d
}

fn tiny_files() -> Vec<&'static str> {
    vec![
        "README.md",
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "small.safetensors",
        "tokenizer/extra/added_tokens.json",
        "tokenizer/special_tokens_map.json",
        "tokenizer/vocab.txt",
        "tokenizer_config.json",
    ]
}

#[test]
fn hf_repo_scans_the_commit_its_revision_names() {
    let root = hub_root();
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let commit = hub.commit("models", "acme/tiny", "main");
    assert_eq!(commit.len(), 40);
    let want: BTreeSet<String> = tiny_files()
        .iter()
        .map(|p| format!("hf://acme/tiny@{commit}/{p}"))
        .collect();
    for url in [
        "hf://acme/tiny".to_string(),
        "hf://acme/tiny@main".to_string(),
        "hf://acme/tiny@v1.0".to_string(),
        format!("hf://acme/tiny@{commit}"),
    ] {
        let cache = tempfile::tempdir().unwrap();
        hub.reset();
        let r = scan(cache.path(), &url, &|c| {
            remote::hf_env(c, &hub, cache.path(), None)
        });
        assert_eq!(r.code, Some(0), "{url}: {}", r.show());
        assert_eq!(r.paths(), want, "{url}: {}", r.show());
        let stats = hub.stats();
        // 9 files and 3 directories at 3 entries a page: the listing is paginated.
        assert!(
            stats["routes"]["api_tree"]["requests"]
                .as_u64()
                .unwrap_or(0)
                >= 2,
            "{url}: the listing was not followed over its pages: {stats}"
        );
    }
}

#[test]
fn hf_malicious_repo_fails() {
    let root = hub_root();
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let commit = hub.commit("models", "acme/evil", "main");
    let cache = tempfile::tempdir().unwrap();
    let r = scan(cache.path(), "hf://acme/evil", &|c| {
        remote::hf_env(c, &hub, cache.path(), None)
    });
    assert_eq!(r.code, Some(1), "{}", r.show());
    let evil = format!("hf://acme/evil@{commit}/evil.pkl");
    assert!(r.paths().contains(&evil), "{}", r.show());
    assert!(
        r.paths()
            .contains(&format!("hf://acme/evil@{commit}/model.safetensors")),
        "{}",
        r.show()
    );
    assert!(
        r.findings()
            .iter()
            .any(|(c, _, p)| c == DANGEROUS && *p == evil),
        "{}",
        r.show()
    );
    // The pickle is an LFS file: it came through the CDN redirect.
    let stats = hub.stats();
    assert!(
        stats["files"]["models/acme/evil/evil.pkl"]["bytes"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{stats}"
    );
}

#[test]
fn hf_dataset_and_sub_path() {
    let root = hub_root();
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let cache = tempfile::tempdir().unwrap();
    let env = |c: &mut Command| remote::hf_env(c, &hub, cache.path(), None);
    let ds = hub.commit("datasets", "acme/ds", "main");
    let r = scan(cache.path(), "hf://datasets/acme/ds", &env);
    assert_eq!(r.code, Some(0), "{}", r.show());
    let want: BTreeSet<String> = ["README.md", "data/train.csv"]
        .iter()
        .map(|p| format!("hf://datasets/acme/ds@{ds}/{p}"))
        .collect();
    assert_eq!(r.paths(), want, "{}", r.show());
    // A sub path: only the files under it.
    let commit = hub.commit("models", "acme/tiny", "main");
    for url in [
        format!("hf://acme/tiny@{commit}/tokenizer"),
        "hf://acme/tiny@main/tokenizer".to_string(),
        "hf://acme/tiny@main/tokenizer/".to_string(),
    ] {
        let r = scan(cache.path(), &url, &env);
        assert_eq!(r.code, Some(0), "{url}: {}", r.show());
        let want: BTreeSet<String> = tiny_files()
            .iter()
            .filter(|p| p.starts_with("tokenizer/"))
            .map(|p| format!("hf://acme/tiny@{commit}/{p}"))
            .collect();
        assert_eq!(r.paths(), want, "{url}: {}", r.show());
    }
    let r = scan(
        cache.path(),
        &format!("hf://datasets/acme/ds@{ds}/data"),
        &env,
    );
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert_eq!(
        r.paths(),
        [format!("hf://datasets/acme/ds@{ds}/data/train.csv")].into(),
        "{}",
        r.show()
    );
}

#[test]
fn hf_unknown_repo_revision_or_bad_url_cannot_run() {
    let root = hub_root();
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let cache = tempfile::tempdir().unwrap();
    let env = |c: &mut Command| remote::hf_env(c, &hub, cache.path(), None);
    for url in [
        "hf://acme/nope",
        "hf://acme/tiny@no-such-branch",
        "hf://datasets/acme/tiny",
        "hf://acme/tiny@0123456789abcdef0123456789abcdef01234567",
    ] {
        assert_cannot_run(&scan(cache.path(), url, &env), url);
    }
    for url in ["hf://", "hf://acme/tiny@"] {
        let r = scan(cache.path(), url, &env);
        assert_eq!(r.code, Some(2), "{url}: {}", r.show());
        assert!(!r.stderr.contains("panicked"), "{}", r.show());
    }
}

#[test]
fn hf_token_goes_to_the_endpoint_only() {
    const TOKEN: &str = "hf_modelgate_test_secret_token";
    let root = hub_root();
    let hub = HubServer::start(
        root.path(),
        &HubOpts {
            token: Some(TOKEN.into()),
            ..HubOpts::default()
        },
    );
    let commit = hub.commit("models", "acme/evil", "main");
    let cache = tempfile::tempdir().unwrap();
    hub.reset();
    let r = scan(cache.path(), "hf://acme/evil", &|c| {
        remote::hf_env(c, &hub, cache.path(), Some(TOKEN))
    });
    // With the token: the repo is read (and its pickle found).
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert!(
        r.paths()
            .contains(&format!("hf://acme/evil@{commit}/evil.pkl")),
        "{}",
        r.show()
    );
    let stats = hub.stats();
    assert!(
        stats["routes"]["cdn_get"]["requests"].as_u64().unwrap_or(0) > 0,
        "the LFS files were not read from the CDN: {stats}"
    );
    assert_eq!(
        stats["cdn_authorization"], 0,
        "the token was sent on to the CDN (another origin): {stats}"
    );
    let all = format!(
        "{}{}{}",
        r.stderr,
        r.stdout,
        r.report.as_ref().map(|v| v.to_string()).unwrap_or_default()
    );
    assert!(!all.contains(TOKEN), "the token is printed: {}", r.show());
    // Without a token, or with a wrong one: the run cannot happen, and says so.
    for token in [None, Some("hf_wrong")] {
        let r = scan(cache.path(), "hf://acme/evil", &|c| {
            remote::hf_env(c, &hub, cache.path(), token)
        });
        assert_cannot_run(&r, "hf://acme/evil");
    }
}

#[test]
fn hf_large_checkpoint_is_read_by_ranges() {
    let ckpt = remote::torch_checkpoint(200);
    let size = std::fs::metadata(&ckpt).unwrap().len();
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models/acme/big");
    write(&repo, "config.json", b"{}\n");
    std::os::unix::fs::symlink(&ckpt, repo.join("pytorch_model.bin")).unwrap();
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let commit = hub.commit("models", "acme/big", "main");
    let cache = tempfile::tempdir().unwrap();
    hub.reset();
    let r = scan(cache.path(), "hf://acme/big", &|c| {
        remote::hf_env(c, &hub, cache.path(), None)
    });
    assert_eq!(r.code, Some(0), "{}", r.show());
    assert!(
        r.paths()
            .contains(&format!("hf://acme/big@{commit}/pytorch_model.bin")),
        "{}",
        r.show()
    );
    let served = hub.file_bytes("models/acme/big/pytorch_model.bin");
    assert!(
        served > 0 && served < size / 100,
        "the Hub served {served} bytes of a {size}-byte checkpoint (at most 1% expected): {}",
        hub.stats()
    );
}

/// A file whose bytes change after the listing (the commit still lists the old ones) is an
/// error of that file, never a pass: after the listing (the resolve HEAD then disagrees with
/// the listed oid), after the HEAD (the CDN answers 412 to If-Match), and a small file after
/// the listing (its ETag, a blob sha1, disagrees).
#[test]
fn hf_file_changed_between_listing_and_reading_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let weights = safetensors(1024, 0x3f);
    let changed = safetensors(1024, 0x40);
    assert_eq!(weights.len(), changed.len());
    for name in ["list", "head", "small"] {
        let repo = root.path().join(format!("models/acme/mut-{name}"));
        write(&repo, "config.json", b"{\"a\": 1}\n");
        write(&repo, "model.safetensors", &weights);
    }
    let hub = HubServer::start(root.path(), &HubOpts::default());
    for (repo, path, when, data) in [
        ("mut-list", "model.safetensors", "after-list", &changed[..]),
        ("mut-head", "model.safetensors", "after-head", &changed[..]),
        (
            "mut-small",
            "config.json",
            "after-list",
            &b"{\"a\": 2}\n"[..],
        ),
    ] {
        let cache = tempfile::tempdir().unwrap();
        // Unchanged, it passes.
        let url = format!("hf://acme/{repo}");
        let env = |c: &mut Command| remote::hf_env(c, &hub, cache.path(), None);
        let r = scan(cache.path(), &url, &env);
        assert_eq!(r.code, Some(0), "{url} unchanged: {}", r.show());
        let cache = tempfile::tempdir().unwrap();
        let env = |c: &mut Command| remote::hf_env(c, &hub, cache.path(), None);
        hub.mutate(&format!("models/acme/{repo}"), path, data, when, false);
        let r = scan(cache.path(), &url, &env);
        assert_eq!(
            r.code,
            Some(1),
            "{url}, {path} changed {when}: {}",
            r.show()
        );
        assert!(
            r.findings()
                .iter()
                .any(|(_, sev, p)| p.ends_with(&format!("/{path}"))
                    && (sev == "error" || sev == "critical")),
            "{url}: no error finding on {path}: {}",
            r.show()
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.show());
    }
}

/// Files in the local Hugging Face cache (huggingface_hub's layout) are read from there: the
/// Hub serves none of their bytes, and what they hold is scanned all the same.
#[test]
fn hf_cache_is_read_before_the_network() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models/acme/cached");
    let pickle = evil_pickle(4096);
    let config = b"{\"model_type\": \"x\"}\n".to_vec();
    write(&repo, "config.json", &config);
    write(&repo, "weights/evil.pkl", &pickle);
    write(&repo, "model.safetensors", &safetensors(512, 1));
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let commit = hub.commit("models", "acme/cached", "main");
    let cache = tempfile::tempdir().unwrap();
    remote::hf_cache_put(
        cache.path(),
        "models",
        "acme/cached",
        &commit,
        "weights/evil.pkl",
        &remote::sha256_hex(&pickle),
        &pickle,
    );
    remote::hf_cache_put(
        cache.path(),
        "models",
        "acme/cached",
        &commit,
        "config.json",
        &remote::git_blob_sha1(&config),
        &config,
    );
    hub.reset();
    let r = scan(cache.path(), "hf://acme/cached", &|c| {
        remote::hf_env(c, &hub, cache.path(), None)
    });
    assert_eq!(r.code, Some(1), "{}", r.show());
    let evil = format!("hf://acme/cached@{commit}/weights/evil.pkl");
    assert!(
        r.findings()
            .iter()
            .any(|(c, _, p)| c == DANGEROUS && *p == evil),
        "{}",
        r.show()
    );
    assert_eq!(r.paths().len(), 3, "{}", r.show());
    let stats = hub.stats();
    for f in ["weights/evil.pkl", "config.json"] {
        assert_eq!(
            stats["files"][format!("models/acme/cached/{f}")]["bytes"]
                .as_u64()
                .unwrap_or(0),
            0,
            "{f} is in the cache, yet the Hub served bytes of it: {stats}"
        );
    }
    // The file not in the cache came from the Hub.
    assert!(
        stats["files"]["models/acme/cached/model.safetensors"]["bytes"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{stats}"
    );
    // The same through HF_HOME (its hub/ folder) when HF_HUB_CACHE is not set.
    let home = tempfile::tempdir().unwrap();
    common::copy_dir(cache.path(), &home.path().join("hub"));
    // copy_dir copies the symlinks' targets: the layout is still one huggingface_hub reads.
    hub.reset();
    let r = scan(home.path(), "hf://acme/cached", &|c| {
        remote::hf_env(c, &hub, cache.path(), None);
        c.env_remove("HF_HUB_CACHE").env("HF_HOME", home.path());
    });
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert_eq!(
        hub.file_bytes("models/acme/cached/weights/evil.pkl"),
        0,
        "HF_HOME/hub is not read: {}",
        hub.stats()
    );
}

#[test]
fn hf_manifest_create_then_verify() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models/acme/man");
    write(&repo, "config.json", b"{\"v\": 1}\n");
    write(&repo, "model.safetensors", &safetensors(1024, 7));
    write(&repo, "tokenizer/vocab.txt", b"a\nb\n");
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let old = hub.commit("models", "acme/man", "main");
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let env = |c: &mut Command| remote::hf_env(c, &hub, cache.path(), None);
    let man = work.path().join("manifest.json");
    let m = man.to_str().unwrap();
    let r = run(
        work.path(),
        &["manifest", "create", "-o", m, "hf://acme/man"],
        false,
        &env,
    );
    assert_eq!(r.code, Some(0), "{}", r.show());
    let text = std::fs::read_to_string(&man).expect("the manifest is written");
    for p in ["config.json", "model.safetensors", "tokenizer/vocab.txt"] {
        assert!(text.contains(p), "{p} not in the manifest:\n{text}");
    }
    let verify = |url: &str| {
        run(
            work.path(),
            &[
                "manifest",
                "verify",
                "--manifest",
                m,
                "--allow-unsigned",
                url,
            ],
            true,
            &env,
        )
    };
    let r = verify("hf://acme/man");
    assert_eq!(r.code, Some(0), "{}", r.show());
    // A new commit changes config.json: main no longer matches the manifest.
    let new = hub.mutate(
        "models/acme/man",
        "config.json",
        b"{\"v\": 2}\n",
        "now",
        true,
    );
    assert_ne!(new, old);
    let r = verify("hf://acme/man");
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert!(
        r.findings()
            .iter()
            .any(|(c, _, _)| c.starts_with("manifest-file-")),
        "{}",
        r.show()
    );
    // The commit the manifest was made of still matches it.
    let r = verify(&format!("hf://acme/man@{old}"));
    assert_eq!(r.code, Some(0), "{}", r.show());
}

// ---------------------------------------------------------------------------------------------
// Budgets and plain https://

/// Past the run's byte budget or a file's request budget, the rest of the file is not
/// inspected: `limit-exceeded`, and the gate fails (never a silent pass).
#[test]
fn remote_budgets_end_in_limit_exceeded() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models/acme/budget");
    write(&repo, "config.json", b"{\"a\": 1}\n");
    write(&repo, "model.safetensors", &safetensors(4096, 3));
    // An HDF5 file is read in several places (superblock, B-trees, heaps): many ranges.
    write(
        &repo,
        "frame.h5",
        &std::fs::read("testdata/benign/pytables/frame_table.h5").unwrap(),
    );
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let cache = tempfile::tempdir().unwrap();
    let env = |c: &mut Command| remote::hf_env(c, &hub, cache.path(), None);
    let r = scan(cache.path(), "hf://acme/budget", &env);
    assert_eq!(r.code, Some(0), "{}", r.show());
    for extra in [
        ["--max-remote-bytes", "100"],
        ["--max-remote-requests", "1"],
    ] {
        let args = [
            "scan",
            "--no-policy",
            "--no-progress",
            extra[0],
            extra[1],
            "hf://acme/budget",
        ];
        let r = run(cache.path(), &args, true, &env);
        assert_eq!(r.code, Some(1), "{extra:?}: {}", r.show());
        assert!(
            r.findings()
                .iter()
                .any(|(c, s, _)| (c == "limit-exceeded" || c == "read-error") && s == "error"),
            "{extra:?}: {}",
            r.show()
        );
    }
}

/// One file over http(s) by range requests, following the redirect to where its bytes are: a
/// Hub resolve URL (302 to the CDN) is such a file.
#[test]
fn https_file_is_read_by_ranges_through_redirects() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models/acme/plain");
    write(&repo, "weights/evil.pkl", &evil_pickle(4096));
    write(&repo, "model.safetensors", &safetensors(8192, 5));
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let cache = tempfile::tempdir().unwrap();
    let env = |c: &mut Command| remote::hf_env(c, &hub, cache.path(), None);
    let evil = format!("{}/acme/plain/resolve/main/weights/evil.pkl", hub.url);
    let r = scan(cache.path(), &evil, &env);
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert!(
        r.findings()
            .iter()
            .any(|(c, _, p)| c == DANGEROUS && *p == evil),
        "{}",
        r.show()
    );
    let clean = format!("{}/acme/plain/resolve/main/model.safetensors", hub.url);
    let r = scan(cache.path(), &clean, &env);
    assert_eq!(r.code, Some(0), "{}", r.show());
    // Plain http:// to a host that is not loopback is refused before any request.
    let r = scan(cache.path(), "http://example.invalid/model.bin", &env);
    assert_cannot_run(&r, "http://example.invalid/model.bin");
}

/// A lying mirror (the red team's cases, each proven against huggingface_hub: its client loads
/// the pickle while a scan that trusted these answers passed): a file left out of the tree but
/// served by name, a file listed as empty, Link headers that parsers split differently, a
/// Location that parsers send to different hosts. None passes; the honest Hub fails on the
/// pickle as it should.
#[test]
fn hf_lying_mirror_never_passes() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models/acme/liar");
    write(&repo, "config.json", b"{\"model_type\": \"x\"}\n");
    write(&repo, "pytorch_model.bin", &evil_pickle(2048));
    write(&repo, "z-notes.txt", b"nothing\n");
    // Small: not an LFS file (its listed size is the only size the listing gives).
    write(&repo, "weights/small.pkl", &evil_pickle(40));
    for hostile in [
        "",
        "hide:pytorch_model.bin",
        "zero:pytorch_model.bin",
        "zero:weights/small.pkl",
        "link:single",
        "link:comma",
        "link:twonext",
        "location:backslash",
    ] {
        let hub = HubServer::start(
            root.path(),
            &HubOpts {
                page_size: 1,
                hostile: hostile.to_string(),
                ..HubOpts::default()
            },
        );
        let cache = tempfile::tempdir().unwrap();
        let r = scan(cache.path(), "hf://acme/liar", &|c| {
            remote::hf_env(c, &hub, cache.path(), None)
        });
        assert!(
            r.code == Some(1) || r.code == Some(2),
            "{hostile}: {}",
            r.show()
        );
        assert!(!r.stderr.contains("panicked"), "{hostile}: {}", r.show());
        match hostile {
            // The tree and the names a loader asks for disagree; two next pages: cannot run.
            "hide:pytorch_model.bin" | "link:twonext" | "zero:pytorch_model.bin" => {
                assert_eq!(r.code, Some(2), "{hostile}: {}", r.show());
                assert!(r.stderr.contains("hf://acme/liar"), "{}", r.show());
            }
            // The file's own answers are refused: a read error on it fails the gate.
            "zero:weights/small.pkl" | "location:backslash" => {
                let file = if hostile.starts_with("zero") {
                    "/weights/small.pkl"
                } else {
                    "/pytorch_model.bin"
                };
                assert!(
                    r.findings()
                        .iter()
                        .any(|(c, s, p)| c == "read-error" && s == "error" && p.ends_with(file)),
                    "{hostile}: {}",
                    r.show()
                );
            }
            _ => {}
        }
        if hostile.is_empty() || hostile.starts_with("link:s") || hostile.starts_with("link:c") {
            // Read as huggingface_hub reads it: every page, the pickle found.
            assert_eq!(r.code, Some(1), "{hostile}: {}", r.show());
            assert!(
                r.findings()
                    .iter()
                    .any(|(c, _, p)| c == DANGEROUS && p.ends_with("/pytorch_model.bin")),
                "{hostile}: {}",
                r.show()
            );
        }
    }
}

/// A cached copy that is not the Hub's file is what the loader would load: the gate fails.
#[test]
fn hf_tampered_cache_fails_the_gate() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("models/acme/tamper");
    let clean = safetensors(1024, 9);
    write(&repo, "model.safetensors", &clean);
    let hub = HubServer::start(root.path(), &HubOpts::default());
    let commit = hub.commit("models", "acme/tamper", "main");
    let cache = tempfile::tempdir().unwrap();
    let mut other = clean.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    remote::hf_cache_put(
        cache.path(),
        "models",
        "acme/tamper",
        &commit,
        "model.safetensors",
        &remote::sha256_hex(&clean),
        &other,
    );
    let r = scan(cache.path(), "hf://acme/tamper", &|c| {
        remote::hf_env(c, &hub, cache.path(), None)
    });
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert!(
        r.findings()
            .iter()
            .any(|(c, s, _)| c == "cached-copy-differs" && s == "error"),
        "{}",
        r.show()
    );
}

/// A server that trickles its answer (one byte every second) cannot hold the scan past the
/// per-file time budget: the rest is `limit-exceeded` and the gate fails.
#[test]
fn a_trickling_server_ends_in_the_time_budget() {
    const SERVER: &str = r#"
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_HEAD(self):
        self.send_response(200); self.send_header("Content-Length", "100000"); self.end_headers()
    def do_GET(self):
        self.send_response(206)
        self.send_header("Content-Range", "bytes 0-8191/100000")
        self.send_header("Content-Length", "8192"); self.end_headers()
        try:
            for _ in range(8192):
                self.wfile.write(b"\x80"); self.wfile.flush(); time.sleep(1)
        except Exception:
            pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("PORT %d" % s.server_port, flush=True)
s.serve_forever()
"#;
    let (mut child, port) = python_server(SERVER);
    let url = format!("http://127.0.0.1:{port}/model.bin");
    let tmp = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let r = run(
        tmp.path(),
        &[
            "scan",
            "--no-policy",
            "--no-progress",
            "--max-seconds-per-file",
            "3",
            &url,
        ],
        true,
        &|c| {
            remote::no_proxy(c);
        },
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(r.code, Some(1), "{}", r.show());
    assert!(
        r.findings()
            .iter()
            .any(|(c, s, _)| (c == "limit-exceeded" || c == "read-error") && s == "error"),
        "{}",
        r.show()
    );
}

/// Red team round 2: files a loader asks for by name that a lying mirror leaves out of both
/// the tree and the revision's file list: a shard an index's weight_map names, weights in a
/// subfolder (`from_pretrained(subfolder=...)`), a diffusers component model_index.json names.
#[test]
fn hf_files_loaders_ask_for_by_name_must_be_listed() {
    let root = tempfile::tempdir().unwrap();
    let sharded = root.path().join("models/acme/sharded");
    write(&sharded, "config.json", b"{\"model_type\": \"x\"}\n");
    write(
        &sharded,
        "pytorch_model.bin.index.json",
        b"{\"metadata\": {}, \"weight_map\": {\"w\": \"pytorch_model-00001-of-00001.bin\"}}",
    );
    write(
        &sharded,
        "pytorch_model-00001-of-00001.bin",
        &evil_pickle(40),
    );
    let subby = root.path().join("models/acme/subby");
    write(&subby, "config.json", b"{}\n");
    write(&subby, "sub/config.json", b"{}\n");
    write(&subby, "sub/pytorch_model.bin", &evil_pickle(40));
    let diff = root.path().join("models/acme/diff");
    write(
        &diff,
        "model_index.json",
        b"{\"_class_name\": \"P\", \"unet\": [\"diffusers\", \"U\"]}",
    );
    write(&diff, "unet/diffusion_pytorch_model.bin", &evil_pickle(40));
    for (repo, hidden) in [
        ("sharded", "pytorch_model-00001-of-00001.bin"),
        ("subby", "sub/pytorch_model.bin"),
        ("diff", "unet/diffusion_pytorch_model.bin"),
    ] {
        // Honest: the pickle is listed and found.
        let hub = HubServer::start(root.path(), &HubOpts::default());
        let cache = tempfile::tempdir().unwrap();
        let url = format!("hf://acme/{repo}");
        let r = scan(cache.path(), &url, &|c| {
            remote::hf_env(c, &hub, cache.path(), None)
        });
        assert_eq!(r.code, Some(1), "{repo}: {}", r.show());
        drop(hub);
        // Hidden from the tree and the siblings, served by name: the run cannot pass.
        let hub = HubServer::start(
            root.path(),
            &HubOpts {
                hostile: format!("hidesib:{hidden}"),
                ..HubOpts::default()
            },
        );
        let r = scan(cache.path(), &url, &|c| {
            remote::hf_env(c, &hub, cache.path(), None)
        });
        assert_eq!(r.code, Some(2), "{repo}: {}", r.show());
        assert!(r.stderr.contains(hidden), "{repo}: {}", r.show());
    }
}

/// Red team round 2: an https:// server whose HEAD and GET disagree (HEAD says empty or small,
/// GET serves the payload) never passes.
#[test]
fn https_head_and_get_that_disagree_never_pass() {
    const SERVER: &str = r#"
import http.server, os, pickle, sys
class E:
    def __reduce__(self): return (os.system, ("echo pwned",))
BODY = pickle.dumps(E(), protocol=2)
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0" if self.path.startswith("/empty") else "10")
        self.end_headers()
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", str(len(BODY))); self.end_headers()
        self.wfile.write(BODY)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("PORT %d" % s.server_port, flush=True)
s.serve_forever()
"#;
    let (mut child, port) = python_server(SERVER);
    let tmp = tempfile::tempdir().unwrap();
    for path in ["empty/model.pkl", "small/model.pkl"] {
        let url = format!("http://127.0.0.1:{port}/{path}");
        let r = scan(tmp.path(), &url, &|c| remote::no_proxy(c));
        assert_eq!(r.code, Some(1), "{path}: {}", r.show());
        assert!(
            r.findings()
                .iter()
                .any(|(c, s, _)| c == "read-error" && s == "error"),
            "{path}: {}",
            r.show()
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Start a small Python HTTP server (`code` prints `PORT <n>` first): the process and its port.
fn python_server(code: &str) -> (std::process::Child, u16) {
    let mut child = Command::new("python3")
        .args(["-c", code])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let port: u16 = line.trim().trim_start_matches("PORT ").parse().unwrap();
    (child, port)
}
