//! Remote inputs when modelgate is built without the `remote` feature: recognised, and refused.

use std::io;
use std::sync::Arc;

/// Whether `root` names a remote input rather than a local path.
pub fn is_remote(root: &str) -> bool {
    let lower = root.get(..8).unwrap_or(root).to_ascii_lowercase();
    [
        "s3://", "gs://", "az://", "azure://", "https://", "http://", "hf://",
    ]
    .iter()
    .any(|s| lower.starts_with(s))
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Budgets {
    pub requests_per_file: u64,
    pub run_bytes: Option<u64>,
}

pub fn set_budgets(_: Budgets) {}

pub fn run_totals() -> (u64, u64) {
    (0, 0)
}

#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Resolved {
    pub root: String,
    pub display: String,
    pub resolved: String,
}

/// Never made without the feature.
#[derive(Debug)]
pub struct RemoteFile {
    pub key: String,
    pub size: u64,
}

#[derive(Debug, Default)]
pub struct Stats;

impl Stats {
    pub fn get(&self) -> (u64, u64) {
        (0, 0)
    }
}

pub struct Listing {
    pub files: Vec<(String, Arc<RemoteFile>)>,
    pub resolved: Resolved,
}

pub fn list(root: &str) -> Result<Listing, String> {
    Err(format!(
        "{root}: this modelgate was built without remote inputs (cargo feature \"remote\")"
    ))
}

pub struct Opened {
    pub reader: Box<dyn crate::input::ReadSeek + Send>,
    pub len: u64,
    pub stats: Arc<Stats>,
    pub from_cache: Option<std::path::PathBuf>,
    pub note: Option<String>,
}

impl RemoteFile {
    pub fn open(self: &Arc<Self>) -> io::Result<Opened> {
        Err(io::Error::other("built without remote inputs"))
    }
}
