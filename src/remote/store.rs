//! Object stores (`s3://`, `gs://`, `az://`) through `object_store`, configured from the
//! environment as each cloud's own tools are (`AWS_*`, `GOOGLE_*`, `AZURE_*`).

use super::{Access, Listing, RemoteFile, Resolved};
use futures::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, RetryConfig};
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// One bucket (or container) and the store that reaches it.
pub struct Bucket {
    store: Box<dyn ObjectStore>,
    url: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({})", self.url)
    }
}

fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(60),
        ..RetryConfig::default()
    }
}

fn env_is_http(keys: &[&str]) -> bool {
    keys.iter().any(|k| {
        std::env::var(k)
            .map(|v| v.to_ascii_lowercase().starts_with("http://"))
            .unwrap_or(false)
    })
}

/// The store for `url`'s bucket, and the prefix inside it.
fn open(url: &str) -> Result<(Box<dyn ObjectStore>, ObjPath), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let bucket = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("no bucket or container named")?;
    let prefix = parsed.path().trim_matches('/');
    let prefix = percent_decode(prefix)?;
    let base = format!("{}://{bucket}", parsed.scheme());
    let store: Box<dyn ObjectStore> = match parsed.scheme() {
        "s3" => {
            // An endpoint the user set to plain http (a local S3-compatible server) is allowed.
            let http = env_is_http(&["AWS_ENDPOINT_URL", "AWS_ENDPOINT", "AWS_ENDPOINT_URL_S3"]);
            Box::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(&base)
                    .with_allow_http(http)
                    .with_retry(retry())
                    .build()
                    .map_err(|e| e.to_string())?,
            )
        }
        "gs" => Box::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(&base)
                .with_retry(retry())
                .build()
                .map_err(|e| e.to_string())?,
        ),
        "az" | "azure" => Box::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(&base)
                .with_retry(retry())
                .build()
                .map_err(|e| e.to_string())?,
        ),
        other => return Err(format!("the scheme {other}:// is not an object store")),
    };
    let prefix = if prefix.is_empty() {
        ObjPath::default()
    } else {
        ObjPath::parse(&prefix).map_err(|e| format!("not an object path: {e}"))?
    };
    Ok((store, prefix))
}

fn percent_decode(s: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0usize;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i.saturating_add(1)..i.saturating_add(3))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a % escape that is not two hex digits")?;
            out.push(hex);
            i = i.saturating_add(3);
        } else {
            out.push(c);
            i = i.saturating_add(1);
        }
    }
    String::from_utf8(out).map_err(|_| "a path that is not UTF-8".to_string())
}

pub fn list(root: &str) -> Result<Listing, String> {
    crate::input::with_deadline(super::hf::LISTING_SECONDS, || list_within(root))
}

fn list_within(root: &str) -> Result<Listing, String> {
    let (store, prefix) = open(root)?;
    let rt = super::runtime().map_err(|e| e.to_string())?;
    let prefix_opt = (!prefix.as_ref().is_empty()).then_some(&prefix);
    let metas = rt.block_on(async {
        let mut out = Vec::new();
        let mut stream = store.list(prefix_opt);
        loop {
            // Each next entry (a page at a time) within the per-request limit.
            let limit = crate::input::deadline_remaining()
                .map_or(super::REQUEST_LIMIT, |r| r.min(super::REQUEST_LIMIT));
            let next = tokio::time::timeout(limit, stream.next())
                .await
                .map_err(|_| {
                    format!(
                        "cannot list: no answer within {} s (a listing may take {} s in all)",
                        limit.as_secs(),
                        super::hf::LISTING_SECONDS
                    )
                })?;
            let Some(m) = next else { break };
            out.push(m.map_err(|e| format!("cannot list: {e}"))?);
            if out.len() > super::hf::MAX_FILES {
                return Err(format!(
                    "cannot list: more than {} objects",
                    super::hf::MAX_FILES
                ));
            }
        }
        Ok::<_, String>(out)
    })?;
    let bucket = Arc::new(Bucket {
        store,
        url: root.to_string(),
    });
    let mut files = Vec::new();
    if metas.is_empty() && prefix_opt.is_some() {
        // Not a prefix: one object.
        let meta = super::block_on(root, async {
            bucket.store.head(&prefix).await.map_err(|e| match e {
                object_store::Error::NotFound { .. } => {
                    io::Error::other("no such object or prefix")
                }
                e => io::Error::other(e.to_string()),
            })
        })
        .map_err(|e| e.to_string())?;
        files.push((String::new(), remote_file(&bucket, meta)));
    } else {
        let strip = prefix.as_ref();
        for meta in metas {
            let key = meta.location.as_ref().to_string();
            let rel = if strip.is_empty() {
                key.clone()
            } else {
                key.strip_prefix(strip)
                    .map(|r| r.trim_start_matches('/').to_string())
                    .unwrap_or(key.clone())
            };
            files.push((rel, remote_file(&bucket, meta)));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let n = files.len();
    let untagged = files.iter().filter(|(_, f)| f.etag.is_none()).count();
    Ok(Listing {
        files,
        resolved: Resolved {
            root: root.to_string(),
            display: root.trim_end_matches('/').to_string(),
            resolved: if untagged == 0 {
                format!(
                    "{} listed; every read conditional on its listed ETag",
                    crate::finding::plural(n as u64, "object", "objects")
                )
            } else {
                format!(
                    "{} listed; {untagged} without an ETag, read unconditionally (a change during the scan would not be seen)",
                    crate::finding::plural(n as u64, "object", "objects")
                )
            },
        },
    })
}

fn remote_file(bucket: &Arc<Bucket>, meta: object_store::ObjectMeta) -> Arc<RemoteFile> {
    Arc::new(RemoteFile {
        key: meta.location.to_string(),
        size: meta.size,
        etag: meta.e_tag,
        version: meta.version,
        lfs_sha256: None,
        access: Access::Store(Arc::clone(bucket), meta.location),
    })
}

impl Bucket {
    /// An object listed with size 0: its HEAD must say 0 too.
    pub fn check_empty(&self, f: &RemoteFile, loc: &ObjPath) -> io::Result<()> {
        let meta = super::block_on(&f.key, async {
            self.store
                .head(loc)
                .await
                .map_err(|e| io::Error::other(format!("{}: {e}", f.key)))
        })?;
        if meta.size != 0 {
            return Err(io::Error::other(format!(
                "{}: listed with 0 bytes, the store serves {}: the file changed while it was scanned",
                f.key, meta.size
            )));
        }
        Ok(())
    }

    pub fn fetch(
        &self,
        f: &RemoteFile,
        loc: &ObjPath,
        start: u64,
        end: u64,
    ) -> io::Result<bytes::Bytes> {
        if start >= end {
            return Ok(bytes::Bytes::new());
        }
        let opts = GetOptions {
            if_match: f.etag.clone(),
            version: f.version.clone(),
            range: Some(GetRange::Bounded(start..end)),
            ..GetOptions::default()
        };
        super::block_on(&f.key, async {
            let r = async {
                let r = self.store.get_opts(loc, opts).await?;
                r.bytes().await
            };
            r.await.map_err(|e| store_error(f, e))
        })
    }
}

fn store_error(f: &RemoteFile, e: object_store::Error) -> io::Error {
    {
        match e {
            object_store::Error::Precondition { .. } => io::Error::other(format!(
                "{}: changed since it was listed (the ETag {} no longer matches): the file changed while it was scanned",
                f.key,
                f.etag.as_deref().unwrap_or("-")
            )),
            object_store::Error::NotFound { .. } => io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: removed since it was listed: the file changed while it was scanned", f.key),
            ),
            e => io::Error::other(format!("{}: {e}", f.key)),
        }
    }
}
