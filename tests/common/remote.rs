//! Offline servers for the remote-input tests: a Hugging Face Hub (`tests/servers/hub.py`,
//! Python stdlib only) and an S3 (moto's server behind a byte counter, `tests/servers/s3.py`,
//! from the pinned `tests/servers/remote-requirements.txt` installed into target/remote-venv).
//! Both listen on 127.0.0.1 on a free port, count what they serve (`stats()`), and are killed
//! when dropped. Nothing is skipped: a server that cannot start fails the test, saying why.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python with moto and boto3 (made on first use; fails the test if it cannot be).
pub fn remote_python() -> PathBuf {
    // The tests of one binary run in parallel: the venv is made once, by one of them.
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(|| super::python_venv("remote-venv", "tests/servers/remote-requirements.txt"))
        .join("bin/python")
}

/// A spawned server: its stderr goes to a log file, shown when something about it fails.
struct Proc {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proc {
    /// Spawn `cmd` and read the `WORD <n>` lines it prints first (one per word in `words`).
    fn spawn(mut cmd: Command, what: &str, words: &[&str]) -> (Proc, Vec<u16>) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr.log");
        let err = std::fs::File::create(&log).unwrap();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({:?}): {e}", cmd.get_program()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut proc = Proc {
            child,
            log,
            _dir: dir,
        };
        let mut ports = Vec::new();
        for word in words {
            let line = rx
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| {
                    let _ = proc.child.kill();
                    let _ = proc.child.wait();
                    panic!(
                        "{what} printed no `{word} <port>` line; its stderr:\n{}",
                        proc.stderr()
                    )
                });
            let port = line
                .strip_prefix(word)
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or_else(|| panic!("{what} printed {line:?}, not `{word} <port>`"));
            ports.push(port);
        }
        (proc, ports)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 exchange with a server on 127.0.0.1 (no client crate needed):
/// (status, body). Panics if it cannot connect.
pub fn http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    try_http(port, method, target, headers, body)
        .unwrap_or_else(|e| panic!("{method} 127.0.0.1:{port}{target}: {e}"))
}

/// [`http`], with the error instead of a panic.
pub fn try_http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let bad = || std::io::Error::other(format!("not HTTP: {:?}", String::from_utf8_lossy(&raw)));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    // Both servers answer with a Content-Length, never chunked, and close: the rest is the body.
    Ok((status, raw[split + 4..].to_vec()))
}

/// Options of a [`HubServer`].
#[derive(Clone, Debug)]
pub struct HubOpts {
    /// Files of this many bytes or more are LFS files (redirected to the CDN port).
    pub lfs_threshold: u64,
    /// Entries per page of a tree listing.
    pub page_size: usize,
    /// Require `Authorization: Bearer <token>` on the Hub port.
    pub token: Option<String>,
    /// HUB_HOSTILE for the server (see `hostile` in tests/servers/hub.py): "" for an honest Hub.
    pub hostile: String,
}

impl Default for HubOpts {
    fn default() -> Self {
        HubOpts {
            lfs_threshold: 1024,
            page_size: 3,
            token: None,
            hostile: String::new(),
        }
    }
}

/// `tests/servers/hub.py` serving `root` (root/models/<org>/<name>/, root/datasets/...).
pub struct HubServer {
    proc: Proc,
    pub port: u16,
    pub cdn_port: u16,
    /// `http://127.0.0.1:<port>`: the value for HF_ENDPOINT.
    pub url: String,
    token: Option<String>,
}

impl HubServer {
    pub fn start(root: &Path, opts: &HubOpts) -> HubServer {
        let mut cmd = Command::new("python3");
        cmd.arg(crate_root().join("tests/servers/hub.py"))
            .arg(root)
            .arg("--lfs-threshold")
            .arg(opts.lfs_threshold.to_string())
            .arg("--page-size")
            .arg(opts.page_size.to_string());
        if let Some(t) = &opts.token {
            cmd.arg("--token").arg(t);
        }
        cmd.env("HUB_HOSTILE", &opts.hostile);
        let (proc, ports) = Proc::spawn(
            cmd,
            "the test Hub (python3 tests/servers/hub.py)",
            &["PORT", "CDN"],
        );
        HubServer {
            proc,
            port: ports[0],
            cdn_port: ports[1],
            url: format!("http://127.0.0.1:{}", ports[0]),
            token: opts.token.clone(),
        }
    }

    fn call(&self, method: &str, target: &str, body: &[u8]) -> serde_json::Value {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let (status, body) = http(self.port, method, target, &headers, body);
        assert_eq!(
            status,
            200,
            "hub {method} {target}: {}; hub stderr:\n{}",
            String::from_utf8_lossy(&body),
            self.proc.stderr()
        );
        serde_json::from_slice(&body).unwrap()
    }

    /// `GET /_stats`: {"routes": {route: {"requests","bytes"}}, "files": {"<kind>/<org>/<name>/<path>":
    /// {"requests","bytes"}}, "total_bytes", "cdn_authorization", "log"}.
    pub fn stats(&self) -> serde_json::Value {
        self.call("GET", "/_stats", b"")
    }

    pub fn reset(&self) {
        self.call("POST", "/_stats/reset", b"");
    }

    /// Body bytes served for one file (`models/org/name/path`), over every route.
    pub fn file_bytes(&self, key: &str) -> u64 {
        self.stats()["files"][key]["bytes"].as_u64().unwrap_or(0)
    }

    /// `POST /_mutate`: `when` is "now", "after-list" or "after-head" (the commit stays as listed,
    /// the bytes served change), or `commit` makes the change a new commit that `main` moves to.
    /// Returns the commit `main` names afterwards.
    pub fn mutate(&self, repo: &str, path: &str, data: &[u8], when: &str, commit: bool) -> String {
        let target = format!(
            "/_mutate?repo={repo}&path={path}&when={when}&commit={}",
            u8::from(commit)
        );
        self.call("POST", &target, data)["commit"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The commit a revision names (through the API, as a client sees it).
    pub fn commit(&self, kind: &str, repo: &str, rev: &str) -> String {
        let v = self.call("GET", &format!("/api/{kind}/{repo}/revision/{rev}"), b"");
        v["sha"].as_str().unwrap().to_string()
    }

    pub fn stderr(&self) -> String {
        self.proc.stderr()
    }
}

/// moto's S3 behind a byte counter (`tests/servers/s3.py`), from target/remote-venv.
pub struct Moto {
    proc: Proc,
    pub port: u16,
    /// `http://127.0.0.1:<port>`: the value for AWS_ENDPOINT_URL.
    pub endpoint: String,
    python: PathBuf,
}

/// The credentials the tests give moto (it accepts any).
pub const AWS_KEY: &str = "modelgate-test-key";
pub const AWS_SECRET: &str = "modelgate-test-secret";

impl Moto {
    pub fn start() -> Moto {
        let python = remote_python();
        let mut cmd = Command::new(&python);
        cmd.arg(crate_root().join("tests/servers/s3.py"));
        no_proxy(&mut cmd);
        let (proc, ports) = Proc::spawn(cmd, "moto (tests/servers/s3.py)", &["PORT"]);
        let m = Moto {
            proc,
            port: ports[0],
            endpoint: format!("http://127.0.0.1:{}", ports[0]),
            python,
        };
        // It listens before its first answer: wait until it answers.
        let t = Instant::now();
        loop {
            if try_http(m.port, "GET", "/_stats", &[], b"").is_ok_and(|(s, _)| s == 200) {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "moto never answered; its stderr:\n{}",
                m.proc.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        m
    }

    /// Create `bucket` (if new) and upload every file under `dir` as `prefix/<path>`.
    pub fn put_dir(&self, bucket: &str, prefix: &str, dir: &Path) {
        let mut cmd = Command::new(&self.python);
        cmd.arg(crate_root().join("tests/servers/s3put.py"))
            .arg(&self.endpoint)
            .arg(bucket)
            .arg(prefix)
            .arg(dir);
        aws_env(&mut cmd, &self.endpoint);
        let out = cmd.output().expect("s3put.py");
        assert!(
            out.status.success(),
            "s3put.py failed: {}\nmoto's stderr:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.proc.stderr()
        );
    }

    /// {"total_bytes", "requests", "objects": {"<bucket>/<key>": {"requests","bytes"}}, "log"}.
    pub fn stats(&self) -> serde_json::Value {
        let (status, body) = http(self.port, "GET", "/_stats", &[], b"");
        assert_eq!(status, 200);
        serde_json::from_slice(&body).unwrap()
    }

    pub fn reset(&self) {
        assert_eq!(http(self.port, "POST", "/_stats/reset", &[], b"").0, 200);
    }

    /// Body bytes served for one object (`bucket/key`).
    pub fn object_bytes(&self, key: &str) -> u64 {
        self.stats()["objects"][key]["bytes"].as_u64().unwrap_or(0)
    }

    /// Set the AWS environment a client needs to reach this moto, and nothing else of AWS.
    pub fn env(&self, cmd: &mut Command) {
        aws_env(cmd, &self.endpoint);
    }

    pub fn stderr(&self) -> String {
        self.proc.stderr()
    }
}

/// The AWS variables for an endpoint on 127.0.0.1, and none of the caller's own.
pub fn aws_env(cmd: &mut Command, endpoint: &str) {
    for v in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", AWS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    no_proxy(cmd);
}

/// No proxy between a client and the servers on 127.0.0.1.
pub fn no_proxy(cmd: &mut Command) {
    for v in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
}

/// The Hugging Face variables for `hub`, with the cache in `cache` (never the real one) and the
/// token `token` (none of the caller's).
pub fn hf_env(cmd: &mut Command, hub: &HubServer, cache: &Path, token: Option<&str>) {
    for v in [
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_TOKEN_PATH",
        "HF_HUB_OFFLINE",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN",
        "HF_HUB_ETAG_TIMEOUT",
        "HF_HUB_DOWNLOAD_TIMEOUT",
        "HF_HUB_ENABLE_HF_TRANSFER",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("HF_ENDPOINT", &hub.url)
        .env("HF_HUB_CACHE", cache)
        .env("HF_HOME", cache.join("hf-home"));
    if let Some(t) = token {
        cmd.env("HF_TOKEN", t);
    }
    no_proxy(cmd);
}

/// A PyTorch-zip checkpoint of about `mib` MiB, written as torch.save writes one (stored members:
/// archive/data.pkl with torch's globals and persistent ids, archive/data/<n> tensor storages,
/// archive/version) without torch, by `tests/servers/torchzip.py`; cached under target/ by size.
pub fn torch_checkpoint(mib: u64) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = crate_root().join("target/remote-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("pytorch_model-{mib}mib.bin"));
    if !path.exists() {
        let tmp = dir.join(format!("pytorch_model-{mib}mib.bin.{}", std::process::id()));
        let out = Command::new("python3")
            .arg(crate_root().join("tests/servers/torchzip.py"))
            .arg(&tmp)
            .arg(mib.to_string())
            .output()
            .expect("python3 tests/servers/torchzip.py");
        assert!(
            out.status.success(),
            "torchzip.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

/// The layout huggingface_hub gives a cached file: `<cache>/<models|datasets>--<org>--<name>/`
/// `blobs/<etag>` (the sha256 of an LFS file, the git blob sha1 of another), the file as a
/// relative symlink `snapshots/<commit>/<path>` to it, and `refs/main` naming the commit.
pub fn hf_cache_put(
    cache: &Path,
    kind: &str,
    repo: &str,
    commit: &str,
    path: &str,
    etag: &str,
    data: &[u8],
) {
    let singular = kind.trim_end_matches('s');
    let folder = cache.join(format!("{singular}s--{}", repo.replace('/', "--")));
    std::fs::create_dir_all(folder.join("blobs")).unwrap();
    std::fs::create_dir_all(folder.join("refs")).unwrap();
    std::fs::write(folder.join("blobs").join(etag), data).unwrap();
    std::fs::write(folder.join("refs/main"), commit).unwrap();
    let link = folder.join("snapshots").join(commit).join(path);
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    let depth = path.matches('/').count() + 2;
    let target = format!("{}blobs/{etag}", "../".repeat(depth));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(
        std::fs::read(&link).unwrap(),
        data,
        "the cache symlink {link:?} -> {target}"
    );
}

/// sha256 of `data`, hex.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The git blob sha1 of `data`, hex (the ETag of a small file on the Hub).
pub fn git_blob_sha1(data: &[u8]) -> String {
    // sha1 is not a dependency: ask git's own formula of python3.
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys;d=sys.stdin.buffer.read();\
             print(hashlib.sha1(b'blob %d\\0'%len(d)+d).hexdigest())",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .expect("python3");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
