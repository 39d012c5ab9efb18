//! `hf://[models/|datasets/|spaces/]org/name[@revision][/path]`: a Hugging Face Hub repository,
//! read as `huggingface_hub` reads it, at one commit.
//!
//! The revision is resolved to a commit first (`/api/{kind}/{repo}/revision/{rev}`), and every
//! later request names that commit, so a branch that moves during the scan changes nothing. The
//! tree is listed with sizes and LFS SHA-256s (`/tree/{commit}?recursive=true`, following
//! `Link: rel="next"`). Each file is read through `/{repo}/resolve/{commit}/{path}`: the first
//! hop is read by hand so that `X-Repo-Commit`, `X-Linked-Etag` and `X-Linked-Size` can be held
//! against the listing (a file whose blob is not the one listed is an error), then ranged GETs go
//! to the URL it redirects to (the token only ever goes to the Hub's own origin). An LFS file
//! already in the local Hugging Face cache at that commit, whose SHA-256 is the listed one, is
//! read from disk instead.

use super::http::{header, Client};
use super::{Access, Listing, RemoteFile, Resolved};
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Most entries a listing may have.
pub const MAX_FILES: usize = 1_000_000;
/// Most pages a listing may take.
const MAX_PAGES: usize = 10_000;

/// Names loaders ask the Hub for by name (transformers, diffusers, sentence-transformers, PEFT,
/// TF/Flax weights): each must be in the tree listing or absent from the Hub too.
const LOADER_NAMES: [&str; 18] = [
    "config.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "tf_model.h5",
    "flax_model.msgpack",
    "model.ckpt.index",
    "adapter_config.json",
    "adapter_model.bin",
    "adapter_model.safetensors",
    "tokenizer_config.json",
    "training_args.bin",
    "modules.json",
    "model_index.json",
    "preprocessor_config.json",
    "diffusion_pytorch_model.bin",
    "diffusion_pytorch_model.safetensors",
];

/// Largest index file (`*.index.json`, `model_index.json`) read at listing time.
const MAX_INDEX: u64 = 16 << 20;
/// Most folders probed for the names loaders ask for.
const MAX_PROBED_FOLDERS: usize = 256;
/// Seconds the whole listing (revision, tree pages, index files, probes) may take.
pub const LISTING_SECONDS: u64 = 600;

/// What an `hf://` URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfUrl {
    /// `models`, `datasets` or `spaces`.
    pub kind: &'static str,
    /// `org/name`.
    pub repo: String,
    pub revision: String,
    /// A path inside the repository ("" for all of it).
    pub path: String,
}

/// Parse an `hf://` URL. A revision with a slash is written `@refs/pr/N` or
/// `@refs/convert/NAME` (or with `%2F` for the slash).
pub fn parse(url: &str) -> Result<HfUrl, String> {
    let rest = url
        .get(5..)
        .filter(|_| {
            url.get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("hf://"))
        })
        .ok_or("not an hf:// URL")?;
    let (kind, rest) = if let Some(r) = rest.strip_prefix("datasets/") {
        ("datasets", r)
    } else if let Some(r) = rest.strip_prefix("spaces/") {
        ("spaces", r)
    } else if let Some(r) = rest.strip_prefix("models/") {
        ("models", r)
    } else {
        ("models", rest)
    };
    let mut parts = rest.splitn(2, '/');
    let org = parts.next().unwrap_or("");
    let after = parts.next().unwrap_or("");
    let (name_rev, tail) = match after.find('/') {
        Some(i) => (after.get(..i).unwrap_or(""), after.get(i..).unwrap_or("")),
        None => (after, ""),
    };
    let (name, mut revision, mut tail) = match name_rev.split_once('@') {
        Some((n, r)) => (n, r.to_string(), tail.to_string()),
        None => (name_rev, "main".to_string(), tail.to_string()),
    };
    if revision == "refs" {
        // refs/pr/N, refs/convert/NAME: two more segments belong to the revision.
        let segs: Vec<&str> = tail.trim_start_matches('/').splitn(3, '/').collect();
        if let (Some(a), Some(b)) = (segs.first(), segs.get(1)) {
            revision = format!("refs/{a}/{b}");
            tail = segs.get(2).map(|s| format!("/{s}")).unwrap_or_default();
        }
    }
    let revision = revision.replace("%2F", "/").replace("%2f", "/");
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 96
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s != "."
            && s != ".."
    };
    if !ok(org) || !ok(name) {
        return Err(format!(
            "{url}: a repository is named hf://[datasets/|spaces/]ORG/NAME[@REVISION][/PATH]"
        ));
    }
    if revision.is_empty() || revision.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!("{url}: not a revision: {revision:?}"));
    }
    let path = tail.trim_matches('/').to_string();
    if path.split('/').any(|s| s == ".." || s == ".") {
        return Err(format!("{url}: a path with . or .. segments"));
    }
    Ok(HfUrl {
        kind,
        repo: format!("{org}/{name}"),
        revision,
        path,
    })
}

/// The Hub's address: `HF_ENDPOINT`, as `huggingface_hub` reads it.
pub fn endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "https://huggingface.co".to_string())
        .trim_end_matches('/')
        .to_string()
}

fn hf_home() -> Option<PathBuf> {
    std::env::var_os("HF_HOME").map(PathBuf::from).or_else(|| {
        std::env::var_os("XDG_CACHE_HOME")
            .map(|x| PathBuf::from(x).join("huggingface"))
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface"))
            })
    })
}

/// `HF_TOKEN` (or `HUGGING_FACE_HUB_TOKEN`), else the token file `huggingface-cli login` wrote.
fn token() -> Option<String> {
    for k in ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"] {
        if let Ok(t) = std::env::var(k) {
            if !t.trim().is_empty() {
                return Some(t.trim().to_string());
            }
        }
    }
    if std::env::var("HF_HUB_DISABLE_IMPLICIT_TOKEN").is_ok_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    let path = std::env::var_os("HF_TOKEN_PATH")
        .map(PathBuf::from)
        .or_else(|| hf_home().map(|h| h.join("token")))?;
    crate::input::read_small(&path, 4096)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The local Hugging Face cache: `HF_HUB_CACHE`, else `HF_HOME/hub`.
fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("HF_HUB_CACHE")
        .or_else(|| std::env::var_os("HUGGINGFACE_HUB_CACHE"))
        .map(PathBuf::from)
        .or_else(|| hf_home().map(|h| h.join("hub")))
}

/// A repository at one commit.
#[derive(Debug)]
pub struct Repo {
    pub url: HfUrl,
    pub commit: String,
    endpoint: String,
    client: Arc<Client>,
    /// Per path: the URL its bytes come from, once the resolve hop was checked.
    data_urls: Mutex<std::collections::HashMap<String, String>>,
    /// Per path: the ETag of the first answer with its bytes; every later range is read
    /// `If-Match` it, so the bytes of one scan are of one version. (Not the listed id: CDNs tag
    /// LFS objects with their own ETags, not the SHA-256.)
    pinned: Mutex<std::collections::HashMap<String, String>>,
}

fn enc(s: &str) -> String {
    // Percent-encode everything but unreserved characters and `/`.
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unquote(e: &str) -> &str {
    e.trim().trim_start_matches("W/").trim_matches('"')
}

impl Repo {
    fn api(&self, what: &str) -> String {
        format!(
            "{}/api/{}/{}/{what}",
            self.endpoint, self.url.kind, self.url.repo
        )
    }

    fn resolve_url(&self, path: &str) -> String {
        let prefix = match self.url.kind {
            "datasets" => "datasets/",
            "spaces" => "spaces/",
            _ => "",
        };
        format!(
            "{}/{prefix}{}/resolve/{}/{}",
            self.endpoint,
            self.url.repo,
            self.commit,
            enc(path)
        )
    }

    /// The URL `f`'s bytes come from, after its resolve hop was held against the listing.
    pub(crate) fn data_url(&self, f: &RemoteFile) -> io::Result<String> {
        if let Some(u) = self
            .data_urls
            .lock()
            .ok()
            .and_then(|m| m.get(&f.key).cloned())
        {
            return Ok(u);
        }
        let resolve = self.resolve_url(&f.key);
        let head = self.client.head(&resolve, false)?;
        let h = &head.headers;
        if !(head.status.is_success() || head.status.is_redirection()) {
            return Err(io::Error::other(format!(
                "{resolve}: HTTP {} for a file the listing has",
                head.status
            )));
        }
        // What huggingface_hub reads of this hop (commit, blob id, size) must be there and be
        // what the listing said: a file the hop describes otherwise is another file.
        match header(h, "x-repo-commit") {
            Some(c) if c == self.commit => {}
            Some(c) => {
                return Err(io::Error::other(format!(
                    "{}: the Hub answered for commit {c}, not the commit listed ({}): the file changed while it was scanned",
                    f.key, self.commit
                )))
            }
            None => {
                return Err(io::Error::other(format!(
                    "{resolve}: no X-Repo-Commit: the answer cannot be tied to the commit listed"
                )))
            }
        }
        let linked = header(h, "x-linked-etag").map(unquote);
        let etag = header(h, "etag").map(unquote);
        let listed_ok = match (&f.lfs_sha256, linked, etag) {
            (Some(sha), Some(l), _) => l.eq_ignore_ascii_case(sha),
            (Some(sha), None, Some(e)) => e.eq_ignore_ascii_case(sha),
            (None, Some(l), _) => f.etag.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(l)),
            (None, None, Some(e)) => f.etag.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(e)),
            (_, None, None) => false,
        };
        if !listed_ok {
            return Err(io::Error::other(format!(
                "{}: the Hub serves another blob (ETag {}) than the listing named ({}): the file changed while it was scanned",
                f.key,
                linked.or(etag).unwrap_or("-"),
                f.lfs_sha256.as_deref().or(f.etag.as_deref()).unwrap_or("-")
            )));
        }
        let size = header(h, "x-linked-size")
            .or_else(|| {
                head.status
                    .is_success()
                    .then(|| header(h, "content-length"))
                    .flatten()
            })
            .and_then(|s| s.trim().parse::<u64>().ok());
        match size {
            Some(s) if s == f.size => {}
            Some(s) => {
                return Err(io::Error::other(format!(
                    "{}: the Hub serves {s} bytes, the listing said {}: the file changed while it was scanned",
                    f.key, f.size
                )))
            }
            None => {
                return Err(io::Error::other(format!(
                    "{resolve}: no X-Linked-Size or Content-Length: the size the loader reads is unknown"
                )))
            }
        }
        let url = if head.status.is_redirection() {
            let loc = header(h, "location").ok_or_else(|| {
                io::Error::other(format!("{resolve}: a redirect without Location"))
            })?;
            if let Some(why) = super::http::ambiguous_url(loc) {
                return Err(io::Error::other(format!(
                    "{resolve}: a redirect to {loc:?}, which has {why}: URL parsers read it differently"
                )));
            }
            url::Url::parse(&resolve)
                .and_then(|b| b.join(loc))
                .map_err(|e| io::Error::other(format!("{resolve}: bad Location: {e}")))?
                .to_string()
        } else {
            resolve
        };
        if let Ok(mut m) = self.data_urls.lock() {
            m.insert(f.key.clone(), url.clone());
        }
        Ok(url)
    }

    /// A file listed as empty: what its URL serves must be empty too.
    pub fn check_empty(&self, f: &RemoteFile) -> io::Result<()> {
        let url = self.data_url(f)?;
        self.client.check_empty(&url)
    }

    pub fn fetch(&self, f: &RemoteFile, start: u64, end: u64) -> io::Result<bytes::Bytes> {
        let url = self.data_url(f)?;
        let pin = self.pinned.lock().ok().and_then(|m| m.get(&f.key).cloned());
        let got = match self
            .client
            .fetch_tagged(&url, pin.as_deref(), start, end, f.size)
        {
            // A signed CDN URL that expired: resolve again, once.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                if let Ok(mut m) = self.data_urls.lock() {
                    m.remove(&f.key);
                }
                let url = self.data_url(f)?;
                self.client
                    .fetch_tagged(&url, pin.as_deref(), start, end, f.size)
            }
            r => r,
        }?;
        let (bytes, tag) = got;
        match (pin, tag) {
            (None, Some(t)) => {
                // A tag of the listed id's kind (a SHA-256 for LFS files, a blob id for small
                // ones) must be the listed id; CDNs' own tags (MD5s, ...) say nothing here.
                let u = unquote(&t);
                let hex = u.bytes().all(|b| b.is_ascii_hexdigit());
                let listed = match (&f.lfs_sha256, &f.etag) {
                    (Some(sha), _) if hex && u.len() == 64 => Some(sha.as_str()),
                    (None, Some(oid)) if hex && u.len() == 40 => Some(oid.as_str()),
                    _ => None,
                };
                if let Some(l) = listed {
                    if !l.eq_ignore_ascii_case(u) {
                        return Err(io::Error::other(format!(
                            "{}: the server sent the bytes of {u}, the listing named {l}: the file changed while it was scanned",
                            f.key
                        )));
                    }
                }
                if let Ok(mut m) = self.pinned.lock() {
                    m.insert(f.key.clone(), t);
                }
            }
            (Some(p), Some(t)) if p != t => {
                return Err(io::Error::other(format!(
                    "{}: the server sent ETag {t} after {p}: the file changed while it was scanned",
                    f.key
                )));
            }
            _ => {}
        }
        Ok(bytes)
    }

    /// The file in the local Hugging Face cache at this commit, when it is the file the listing
    /// names: its SHA-256 (LFS files) or its git blob id (small files) is the listed one. `Err`
    /// says why a copy that is there was not used.
    pub fn cached_copy(&self, f: &RemoteFile) -> Result<Option<(PathBuf, std::fs::File)>, String> {
        let Some(dir) = cache_dir() else {
            return Ok(None);
        };
        let (want, lfs) = match (&f.lfs_sha256, &f.etag) {
            (Some(sha), _) => (sha.clone(), true),
            (None, Some(oid)) => (oid.to_ascii_lowercase(), false),
            (None, None) => return Ok(None),
        };
        let folder = format!("{}--{}", self.url.kind, self.url.repo.replace('/', "--"));
        let path = dir
            .join(folder)
            .join("snapshots")
            .join(&self.commit)
            .join(&f.key);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Ok(None);
        };
        if !meta.is_file() {
            return Ok(None);
        }
        if meta.len() != f.size {
            return Err(format!(
                "the local cached copy {} has {} bytes, the Hub's {}: read from the Hub instead",
                path.display(),
                meta.len(),
                f.size
            ));
        }
        // Hashed and then read through one handle: the bytes judged are the bytes hashed.
        let mut file = std::fs::File::open(&path)
            .map_err(|e| format!("the local cached copy {}: {e}", path.display()))?;
        let got = hash_file(&mut file, lfs, f.size)
            .and_then(|h| {
                use std::io::Seek;
                file.rewind().map(|_| h)
            })
            .map_err(|e| format!("the local cached copy {}: {e}", path.display()))?;
        if !got.eq_ignore_ascii_case(&want) {
            let what = if lfs { "SHA-256" } else { "git blob id" };
            return Err(format!(
                "the local cached copy {} is not the Hub's file ({what} {got}, the Hub lists {want}): read from the Hub instead",
                path.display()
            ));
        }
        Ok(Some((path, file)))
    }
}

/// SHA-256 of a file (`lfs`), else its git blob id (SHA-1 over `blob <len>\0` and the bytes).
fn hash_file(file: &mut std::fs::File, lfs: bool, len: u64) -> io::Result<String> {
    use sha2::Digest;
    let out = if lfs {
        let mut h = sha2::Sha256::new();
        std::io::copy(file, &mut h)?;
        h.finalize().to_vec()
    } else {
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {len}\0").as_bytes());
        std::io::copy(file, &mut h)?;
        h.finalize().to_vec()
    };
    Ok(crate::digest::hex(&out))
}

/// The URL of `url` at `commit`: how its files are shown.
pub fn pinned(url: &HfUrl, commit: &str) -> String {
    let kind = match url.kind {
        "models" => String::new(),
        k => format!("{k}/"),
    };
    let path = if url.path.is_empty() {
        String::new()
    } else {
        format!("/{}", url.path)
    };
    format!("hf://{kind}{}@{commit}{path}", url.repo)
}

/// Resolve the revision, list the tree under the path.
pub fn list(root: &str) -> Result<Listing, String> {
    crate::input::with_deadline(LISTING_SECONDS, || list_within(root))
}

fn list_within(root: &str) -> Result<Listing, String> {
    let url = parse(root)?;
    let endpoint = endpoint();
    let tok = token();
    let client =
        Arc::new(Client::new(tok.map(|t| (endpoint.as_str(), t))).map_err(|e| e.to_string())?);
    let rev_url = format!(
        "{endpoint}/api/{}/{}/revision/{}",
        url.kind,
        url.repo,
        enc(&url.revision).replace('/', "%2F")
    );
    let (info, _) = client.get_json(&rev_url).map_err(|e| e.to_string())?;
    let commit = info
        .get("sha")
        .and_then(|s| s.as_str())
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| format!("{rev_url}: no commit (\"sha\") in the answer"))?
        .to_ascii_lowercase();
    let repo = Arc::new(Repo {
        url: url.clone(),
        commit: commit.clone(),
        endpoint: endpoint.clone(),
        client: Arc::clone(&client),
        data_urls: Mutex::new(Default::default()),
        pinned: Mutex::new(Default::default()),
    });
    let mut next = Some(if url.path.is_empty() {
        repo.api(&format!("tree/{commit}?recursive=true"))
    } else {
        repo.api(&format!("tree/{commit}/{}?recursive=true", enc(&url.path)))
    });
    let mut files = Vec::new();
    let mut pages = 0usize;
    while let Some(page) = next.take() {
        pages = pages.saturating_add(1);
        if pages > MAX_PAGES {
            return Err(format!("the listing has more than {MAX_PAGES} pages"));
        }
        let (v, n) = client.get_json(&page).map_err(|e| e.to_string())?;
        let entries = v
            .as_array()
            .ok_or_else(|| format!("{page}: the listing is not a JSON array"))?;
        for e in entries {
            let kind = e.get("type").and_then(|t| t.as_str()).unwrap_or("");
            if kind == "directory" {
                continue;
            }
            let path = e
                .get("path")
                .and_then(|p| p.as_str())
                .ok_or_else(|| format!("{page}: an entry without a path"))?;
            if kind != "file" {
                return Err(format!("{page}: {path}: an entry of unknown type {kind:?}"));
            }
            // A path the Hub never lists: it would name a file outside the repository (in the
            // cache, or wherever a download puts it).
            if path.is_empty()
                || path.starts_with('/')
                || path
                    .split('/')
                    .any(|seg| seg.is_empty() || seg == "." || seg == ".." || seg.contains('\\'))
                || path.chars().any(|c| c.is_control())
            {
                return Err(format!(
                    "{page}: the listing names {path:?}, a path outside the repository"
                ));
            }
            let size = e
                .get("size")
                .and_then(|s| s.as_u64())
                .ok_or_else(|| format!("{page}: {path}: no size"))?;
            let lfs = e.get("lfs");
            let lfs_sha256 = lfs
                .and_then(|l| l.get("oid").or_else(|| l.get("sha256")))
                .and_then(|o| o.as_str())
                .map(|o| o.to_ascii_lowercase());
            if let Some(ls) = lfs.and_then(|l| l.get("size")).and_then(|s| s.as_u64()) {
                if ls != size {
                    return Err(format!(
                        "{page}: {path}: the listing gives two sizes ({size} and LFS {ls})"
                    ));
                }
            }
            let rel = if url.path.is_empty() {
                path.to_string()
            } else {
                match path.strip_prefix(&url.path) {
                    Some("") => String::new(),
                    Some(r) if r.starts_with('/') => r.trim_start_matches('/').to_string(),
                    _ => {
                        return Err(format!(
                            "{page}: {path}: not under the path asked for ({})",
                            url.path
                        ))
                    }
                }
            };
            files.push((
                rel,
                Arc::new(RemoteFile {
                    key: path.to_string(),
                    size,
                    etag: e.get("oid").and_then(|o| o.as_str()).map(str::to_string),
                    version: Some(commit.clone()),
                    lfs_sha256,
                    access: Access::Hub(Arc::clone(&repo)),
                }),
            ));
            if files.len() > MAX_FILES {
                return Err(format!("the listing has more than {MAX_FILES} files"));
            }
        }
        next = n;
    }
    if files.is_empty() && !url.path.is_empty() {
        return Err(format!(
            "no file {} in {} at commit {commit}",
            url.path, url.repo
        ));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    // A file the tree leaves out is still served by name to a loader that asks for it (as
    // from_pretrained asks for its weights, whatever any listing says): the revision's own list
    // of files, and the names loaders ask for, must agree with the tree.
    let listed: std::collections::HashSet<&str> =
        files.iter().map(|(_, f)| f.key.as_str()).collect();
    let under = |p: &str| {
        url.path.is_empty()
            || p == url.path
            || p.strip_prefix(url.path.as_str())
                .is_some_and(|r| r.starts_with('/'))
    };
    if let Some(siblings) = info.get("siblings").and_then(|v| v.as_array()) {
        for sib in siblings {
            let Some(name) = sib.get("rfilename").and_then(|n| n.as_str()) else {
                continue;
            };
            if under(name) && !listed.contains(name) {
                return Err(format!(
                    "the revision lists {name:?}, which the tree listing of commit {commit} does not: the two answers disagree"
                ));
            }
        }
    }
    // Where loaders ask by name: the path scanned, every folder holding a file of those
    // names (`from_pretrained(subfolder=...)`, diffusers components), the components
    // model_index.json names; and the files that index files (`*.index.json` weight maps) name.
    let mut folders: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    folders.insert(url.path.clone());
    let mut named: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for (_, f) in &files {
        let (dir, base) = match f.key.rsplit_once('/') {
            Some((d, b)) => (d.to_string(), b),
            None => (String::new(), f.key.as_str()),
        };
        if LOADER_NAMES.contains(&base) {
            folders.insert(dir.clone());
        }
        let join = |rel: &str| {
            if dir.is_empty() {
                rel.to_string()
            } else {
                format!("{dir}/{rel}")
            }
        };
        let index = base.ends_with(".index.json") || base == "model_index.json";
        if index && f.size <= MAX_INDEX {
            let bytes = repo
                .fetch(f, 0, f.size)
                .map_err(|e| format!("{}: {e}", f.key))?;
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not JSON, as a loader reads it: {e}", f.key))?;
            if let Some(map) = v.get("weight_map").and_then(|m| m.as_object()) {
                for target in map.values().filter_map(|t| t.as_str()) {
                    named.insert(join(target));
                }
            }
            if base == "model_index.json" {
                if let Some(o) = v.as_object() {
                    for k in o.keys().filter(|k| !k.starts_with('_')) {
                        folders.insert(join(k));
                    }
                }
            }
        }
    }
    if folders.len() > MAX_PROBED_FOLDERS {
        return Err(format!(
            "{} folders hold files loaders ask for by name, more than the {MAX_PROBED_FOLDERS} this check probes",
            folders.len()
        ));
    }
    for dir in &folders {
        for name in LOADER_NAMES {
            named.insert(if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            });
        }
    }
    for key in &named {
        if listed.contains(key.as_str())
            || key
                .split('/')
                .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            continue;
        }
        let probe = repo.resolve_url(key);
        let head = client.head(&probe, false).map_err(|e| e.to_string())?;
        if head.status.is_success() || head.status.is_redirection() {
            return Err(format!(
                "{probe}: HTTP {} for {key:?}, a file the tree listing of commit {commit} does not have: a loader that asks for it by name gets a file this scan would not see",
                head.status
            ));
        }
    }
    Ok(Listing {
        files,
        resolved: Resolved {
            root: root.to_string(),
            display: pinned(&url, &commit),
            resolved: format!("commit {commit}"),
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse("hf://org/name").unwrap();
        assert_eq!(
            (
                u.kind,
                u.repo.as_str(),
                u.revision.as_str(),
                u.path.as_str()
            ),
            ("models", "org/name", "main", "")
        );
        let u = parse("hf://datasets/org/name@v1.0/data/train").unwrap();
        assert_eq!(
            (
                u.kind,
                u.repo.as_str(),
                u.revision.as_str(),
                u.path.as_str()
            ),
            ("datasets", "org/name", "v1.0", "data/train")
        );
        let u = parse("hf://org/name@refs/pr/3/sub").unwrap();
        assert_eq!((u.revision.as_str(), u.path.as_str()), ("refs/pr/3", "sub"));
        let u = parse("hf://org/name@refs%2Fpr%2F3").unwrap();
        assert_eq!((u.revision.as_str(), u.path.as_str()), ("refs/pr/3", ""));
        assert!(parse("hf://org").is_err());
        assert!(parse("hf://org/../x").is_err());
        assert!(parse("hf://org/name/../../x").is_err());
        assert!(parse("hf://org/na me").is_err());
    }
}
