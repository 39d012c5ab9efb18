//! Remote inputs: `s3://`, `gs://`, `az://` (object stores, through `object_store`), `https://`
//! (one file, by HTTP range requests) and `hf://` (a Hugging Face Hub repository at one commit).
//!
//! Nothing is downloaded whole unless an inspector or a digest reads it whole: every remote file
//! is a [`RangeReader`] (`Read + Seek`) over ranged GETs with a small extent cache, a request
//! budget and a byte budget, and every GET after the listing is conditional on the version the
//! listing saw (`If-Match` on its ETag, or the Hub's pinned commit and linked ETag), so a file
//! that changes while it is scanned is a read error, never a mix of two versions.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used
)]

pub mod hf;
mod http;
mod reader;
mod store;

pub use http::next_link;
pub use reader::{RangeReader, Stats};

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The URL schemes read remotely.
pub const SCHEMES: [&str; 6] = ["s3://", "gs://", "az://", "azure://", "https://", "hf://"];

/// Whether `root` names a remote input rather than a local path. `http://` is remote too (and
/// refused unless asked for, see [`http::check_scheme`]).
pub fn is_remote(root: &str) -> bool {
    let lower = root.get(..8).unwrap_or(root).to_ascii_lowercase();
    SCHEMES.iter().any(|s| lower.starts_with(s)) || lower.starts_with("http://")
}

/// Budgets for the whole run and for each file.
#[derive(Debug, Clone, Copy)]
pub struct Budgets {
    /// Ranged requests one file may make.
    pub requests_per_file: u64,
    /// Bytes fetched for the whole run (all files together); `None`: no limit.
    pub run_bytes: Option<u64>,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            requests_per_file: 20_000,
            run_bytes: None,
        }
    }
}

static BUDGETS: OnceLock<Budgets> = OnceLock::new();
/// Bytes fetched so far by this run, over every remote file.
static RUN_BYTES: AtomicU64 = AtomicU64::new(0);
/// Requests made so far by this run.
static RUN_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Set the run's budgets (once, before the first remote read; later calls are ignored).
pub fn set_budgets(b: Budgets) {
    let _ = BUDGETS.set(b);
}

pub(crate) fn budgets() -> Budgets {
    BUDGETS.get().copied().unwrap_or_default()
}

/// (requests, bytes) fetched by this run so far.
pub fn run_totals() -> (u64, u64) {
    (
        RUN_REQUESTS.load(Ordering::Relaxed),
        RUN_BYTES.load(Ordering::Relaxed),
    )
}

/// Count a response of `n` bytes against the run's budget.
pub(crate) fn charge_run(n: u64) -> io::Result<()> {
    RUN_REQUESTS.fetch_add(1, Ordering::Relaxed);
    let total = RUN_BYTES.fetch_add(n, Ordering::Relaxed).saturating_add(n);
    match budgets().run_bytes {
        Some(max) if total > max => Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("the run's remote byte budget of {max} bytes (--max-remote-bytes) is spent"),
        )),
        _ => Ok(()),
    }
}

/// The one runtime every remote request runs on (scan workers block on it).
pub(crate) fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("modelgate-remote")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| io::Error::other(format!("cannot start the network runtime: {e}")))
}

/// The longest one request (with its whole answer) may take when no per-file budget is running
/// (listings): a server that trickles bytes must not hold the run forever.
pub const REQUEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Run `fut` on the network runtime, for at most what is left of this thread's per-file time
/// budget (else [`REQUEST_LIMIT`]): past it, a `TimedOut` error (`limit-exceeded`).
pub(crate) fn block_on<T>(
    what: &str,
    fut: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let limit = crate::input::deadline_remaining().map_or(REQUEST_LIMIT, |r| r.min(REQUEST_LIMIT));
    let rt = runtime()?;
    rt.block_on(async { tokio::time::timeout(limit, fut).await })
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{what}: no complete answer within {} s (the per-file time budget, --max-seconds-per-file, or {} s per request)",
                    limit.as_secs(),
                    REQUEST_LIMIT.as_secs()
                ),
            ))
        })
}

/// How a remote file is read.
#[derive(Debug)]
pub(crate) enum Access {
    /// An object in a store, read with `If-Match` on the listed ETag (or by listed version).
    Store(Arc<store::Bucket>, object_store::path::Path),
    /// A URL read by HTTP range requests (plain `https://`, and the Hub's resolve URLs).
    Http(Arc<http::Client>),
    /// A file of a Hugging Face repository at a pinned commit.
    Hub(Arc<hf::Repo>),
    /// Bytes in memory (tests and fuzzing of the reader).
    Memory(bytes::Bytes),
}

/// One remote file, as the listing saw it.
#[derive(Debug)]
pub struct RemoteFile {
    /// Where it is: the object key, the URL, or the path inside the repository.
    pub key: String,
    pub size: u64,
    /// The version the listing saw (ETag, object version, or the Hub's blob id).
    pub etag: Option<String>,
    pub version: Option<String>,
    /// SHA-256 the listing published for it (the Hub's LFS files).
    pub lfs_sha256: Option<String>,
    pub(crate) access: Access,
}

/// What a scan reports about a remote root.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Resolved {
    /// The root as given.
    pub root: String,
    /// The prefix its files are shown under (the Hub's `hf://org/name@<commit>`).
    pub display: String,
    /// What was scanned: `commit <sha>` for the Hub, the listing's object count otherwise.
    pub resolved: String,
}

/// The files under a remote root, sorted by key, each with its path below the root.
pub struct Listing {
    pub files: Vec<(String, Arc<RemoteFile>)>,
    pub resolved: Resolved,
}

/// List `root`. `Err` when the root cannot be listed at all (a bad URL, no access, no such
/// bucket, repository or revision): the run cannot happen.
pub fn list(root: &str) -> Result<Listing, String> {
    let lower = root.get(..8).unwrap_or(root).to_ascii_lowercase();
    let r = if lower.starts_with("hf://") {
        hf::list(root)
    } else if lower.starts_with("https://") || lower.starts_with("http://") {
        http::list(root)
    } else {
        store::list(root)
    };
    r.map_err(|e| format!("{root}: {e}"))
}

/// What opening a remote file gave: its bytes' reader, and a note to report (a local cached
/// copy that differs from the remote one, say).
pub struct Opened {
    pub reader: Box<dyn crate::input::ReadSeek + Send>,
    pub len: u64,
    pub stats: Arc<Stats>,
    /// Read from a verified local copy (the Hugging Face cache) instead of the network.
    pub from_cache: Option<std::path::PathBuf>,
    pub note: Option<String>,
}

impl RemoteFile {
    /// A "remote" file held in memory: read through the same [`RangeReader`] (for tests and
    /// fuzzing of the reader).
    pub fn in_memory(key: &str, data: Vec<u8>) -> Arc<RemoteFile> {
        Arc::new(RemoteFile {
            key: key.to_string(),
            size: data.len() as u64,
            etag: None,
            version: None,
            lfs_sha256: None,
            access: Access::Memory(bytes::Bytes::from(data)),
        })
    }

    /// Open for reading: a verified local cached copy where there is one, else ranged reads.
    pub fn open(self: &Arc<Self>) -> io::Result<Opened> {
        let stats = Arc::new(Stats::default());
        let mut note = None;
        if let Access::Hub(repo) = &self.access {
            match repo.cached_copy(self) {
                Ok(Some((path, f))) => {
                    return Ok(Opened {
                        reader: Box::new(f),
                        len: self.size,
                        stats,
                        from_cache: Some(path),
                        note: None,
                    });
                }
                Ok(None) => {}
                Err(why) => note = Some(why),
            }
            // The resolve hop is held against the listing before any byte is trusted, even
            // for a file listed as empty (a loader asks the hop for the size, not the tree).
            repo.data_url(self)?;
            if self.size == 0 {
                repo.check_empty(self)?;
            }
        }
        if let (Access::Http(c), 0) = (&self.access, self.size) {
            c.check_empty(&self.key)?;
        }
        if let Access::Store(b, loc) = &self.access {
            if self.size == 0 {
                // Listed as empty: what the store serves must be empty too.
                b.check_empty(self, loc)?;
            }
        }
        Ok(Opened {
            reader: Box::new(RangeReader::new(Arc::clone(self), Arc::clone(&stats))),
            len: self.size,
            stats,
            from_cache: None,
            note,
        })
    }

    /// Fetch `[start, end)`: exactly those bytes, of the version listed, or an error.
    pub(crate) fn fetch(&self, start: u64, end: u64) -> io::Result<bytes::Bytes> {
        let got = match &self.access {
            Access::Store(b, loc) => b.fetch(self, loc, start, end),
            Access::Http(c) => c.fetch(&self.key, self.etag.as_deref(), start, end, self.size),
            Access::Hub(r) => r.fetch(self, start, end),
            Access::Memory(b) => {
                let s = usize::try_from(start).unwrap_or(usize::MAX);
                let e = usize::try_from(end).unwrap_or(usize::MAX).min(b.len());
                Ok(b.slice(s.min(e)..e))
            }
        }?;
        let want = end.saturating_sub(start);
        if got.len() as u64 != want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: asked for {want} bytes at {start}, the server sent {}",
                    self.key,
                    got.len()
                ),
            ));
        }
        charge_run(want)?;
        Ok(got)
    }
}
