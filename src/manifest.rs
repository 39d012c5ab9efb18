//! Auditor manifests: every file's relative path, size, digests, identified format and scan
//! verdict, deterministic, optionally signed (Ed25519 or ECDSA) in the same DSSE bundle envelope
//! as every other signature.
//!
//! Trust is a type: raw bytes are an [`UnverifiedManifest`]; only signature verification over
//! those raw bytes (or an explicit `allow_unsigned`) yields a [`TrustedManifest`], and only a
//! trusted manifest can be compared with a tree.

use crate::digest::{hex, HashAlg};
use crate::ev;
use crate::finding::{Code, Finding, Severity};
use crate::report::{FileStatus, Report, Tool};
use crate::scan::{scan, ScanOptions};
use crate::signature::dsse;
use crate::signature::keys::{SigningKey, VerifyingKey};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub const SCHEMA_VERSION: u32 = 1;
pub const PAYLOAD_TYPE: &str = "application/vnd.modelgate.manifest.v1+json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema_version: u32,
    pub tool: Tool,
    /// The name of the directory (or file) the manifest describes.
    pub name: String,
    /// Digest algorithms recorded for every file.
    pub algorithms: Vec<String>,
    /// Sorted by path.
    pub files: Vec<ManifestFile>,
    /// The Merkle root over the files (see [`merkle_root`]): the same for the same files
    /// however the scan was split. Absent in manifests made before it was added; when
    /// present, it must match the files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merkle_root: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Relative to the manifest's root, with `/`.
    pub path: String,
    pub size: u64,
    /// Algorithm name → lowercase hex.
    pub digests: BTreeMap<String, String>,
    /// The format identified from content when the manifest was made.
    pub format: Option<String>,
    /// Whether the file passed the scan gate when the manifest was made.
    pub verdict: FileVerdict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileVerdict {
    Pass,
    Fail,
}

/// The prefix the report shows `root`'s files under: a remote root as it was resolved (the Hub's
/// `hf://org/name@<commit>`), else the root as given.
fn shown_root(root: &Path, report: &Report) -> PathBuf {
    let given = root.to_string_lossy();
    report
        .inputs
        .resolved
        .iter()
        .find(|r| r.root == given)
        .map(|r| PathBuf::from(&r.display))
        .unwrap_or_else(|| root.to_path_buf())
}

fn relative(root: &Path, shown: &str) -> String {
    let prefix = root.to_string_lossy();
    let prefix = prefix.trim_end_matches('/');
    shown
        .strip_prefix(prefix)
        .map(|r| r.trim_start_matches('/').to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| {
            Path::new(shown)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

/// Scan `root` with digests and describe it. The scan report comes back too.
/// The manifest and its signature are left out when they lie inside the tree (as OMS signing
/// leaves out `model.sig`): `exclude` names them.
pub fn create(
    root: &Path,
    algorithms: &[HashAlg],
    fail_on: Severity,
    exclude: &[PathBuf],
) -> Result<(Manifest, Report), String> {
    let opts = ScanOptions {
        fail_on,
        digests: algorithms.to_vec(),
        ..ScanOptions::default()
    };
    let report = scan(&[root.to_path_buf()], &opts)?;
    let pinned = shown_root(root, &report);
    let shown = pinned.to_string_lossy();
    let name = if crate::remote::is_remote(&shown) {
        // The last segment of the URL as it resolved (`hf://org/name` names `name@<commit>`).
        shown
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    } else {
        std::fs::canonicalize(root)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default()
    };
    let manifest = from_report(root, &name, &report, algorithms, fail_on, exclude);
    Ok((manifest, report))
}

/// The manifest of `root` as `report` (a scan with `algorithms`) describes it, named `name`:
/// every file but the skipped ones and `exclude`, its verdict failing at `fail_on`.
pub fn from_report(
    root: &Path,
    name: &str,
    report: &Report,
    algorithms: &[HashAlg],
    fail_on: Severity,
    exclude: &[PathBuf],
) -> Manifest {
    let mut worst: HashMap<&str, Severity> = HashMap::new();
    for f in &report.findings {
        let w = worst.entry(f.path.as_str()).or_insert(Severity::Info);
        *w = (*w).max(f.severity);
    }
    let left_out = excluded(exclude);
    let shown = shown_root(root, report);
    let root = shown.as_path();
    let mut files: Vec<ManifestFile> = report
        .files
        .iter()
        .filter(|f| f.status != FileStatus::Skipped && !left_out(&f.path))
        .map(|f| ManifestFile {
            path: relative(root, &f.path),
            size: f.size.unwrap_or(0),
            digests: f.digests.clone(),
            format: f.format.clone(),
            verdict: if f.status == FileStatus::Error
                || worst.get(f.path.as_str()).is_some_and(|w| *w >= fail_on)
            {
                FileVerdict::Fail
            } else {
                FileVerdict::Pass
            },
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let merkle_root = Some(merkle_root(&files));
    Manifest {
        schema_version: SCHEMA_VERSION,
        tool: report.tool.clone(),
        name: name.to_string(),
        algorithms: algorithms.iter().map(|a| a.name().to_string()).collect(),
        files,
        merkle_root,
    }
}

/// The Merkle root of a manifest's files, lowercase hex: an RFC 6962 (Certificate
/// Transparency) Merkle tree hash with SHA-256 over the files sorted by path (bytewise), so
/// it depends only on the files, not on how a scan of them was split or ordered.
///
/// - leaf = SHA-256(0x00 ‖ u64(len path) ‖ path ‖ u64(size) ‖ u64(k) ‖ for each of the k
///   digests, by algorithm name: u64(len alg) ‖ alg ‖ u64(len hex) ‖ hex), where u64 is 8 bytes
///   big-endian, path the UTF-8 relative path, alg the algorithm name and hex the lowercase hex
///   digest as written in the manifest;
/// - node = SHA-256(0x01 ‖ left ‖ right);
/// - root of n leaves: SHA-256 of nothing when n = 0, the leaf when n = 1, else
///   node(root of the first k, root of the rest), k the largest power of two below n.
pub fn merkle_root(files: &[ManifestFile]) -> String {
    let mut sorted: Vec<&ManifestFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let leaves: Vec<[u8; 32]> = sorted.iter().map(|f| merkle_leaf(f)).collect();
    hex(&merkle_tree(&leaves))
}

fn merkle_leaf(f: &ManifestFile) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    let field = |h: &mut sha2::Sha256, b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    };
    h.update([0u8]);
    field(&mut h, f.path.as_bytes());
    h.update(f.size.to_be_bytes());
    h.update((f.digests.len() as u64).to_be_bytes());
    for (alg, digest) in &f.digests {
        field(&mut h, alg.as_bytes());
        field(&mut h, digest.as_bytes());
    }
    h.finalize().into()
}

fn merkle_tree(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves {
        [] => sha2::Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            let mut k = 1usize;
            while k.saturating_mul(2) < leaves.len() {
                k *= 2;
            }
            let (left, right) = leaves.split_at(k);
            let mut h = sha2::Sha256::new();
            h.update([1u8]);
            h.update(merkle_tree(left));
            h.update(merkle_tree(right));
            h.finalize().into()
        }
    }
}

impl Manifest {
    /// The canonical bytes: pretty JSON with a final newline. These bytes are what is signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// Sign the manifest's exact bytes: a Sigstore bundle v0.3 with a DSSE envelope whose payload
/// is those bytes.
pub fn sign(manifest_bytes: &[u8], key: &SigningKey) -> Vec<u8> {
    dsse::signed_bundle(
        PAYLOAD_TYPE,
        manifest_bytes,
        key,
        dsse::key_hint_material(&key.verifying_key()),
    )
}

/// A manifest's raw bytes, not yet trusted.
pub struct UnverifiedManifest {
    bytes: Vec<u8>,
}

/// A manifest whose bytes were verified (or explicitly accepted unsigned).
#[derive(Debug)]
pub struct TrustedManifest {
    pub manifest: Manifest,
    /// SHA-256 of the manifest bytes.
    pub sha256: String,
    /// The verifying key's hint (SHA-256 of its PEM), or `None` when accepted unsigned.
    pub signer: Option<String>,
}

impl UnverifiedManifest {
    pub fn new(bytes: Vec<u8>) -> Self {
        UnverifiedManifest { bytes }
    }

    /// Verify the bundle's signature over these exact bytes, then parse them.
    pub fn verify(
        self,
        bundle: &[u8],
        key: &VerifyingKey,
    ) -> Result<TrustedManifest, (Code, String)> {
        let payload = dsse::verified_payload(bundle, PAYLOAD_TYPE, key)?;
        if payload != self.bytes {
            return Err((
                Code::SignatureInvalid,
                "the signature covers other bytes than this manifest file".into(),
            ));
        }
        let hint = hex(&sha2::Sha256::digest(key.to_pem().as_bytes()));
        self.parse(Some(hint))
    }

    /// Accept the manifest without a signature (the report says so).
    pub fn trust_unsigned(self) -> Result<TrustedManifest, (Code, String)> {
        self.parse(None)
    }

    fn parse(self, signer: Option<String>) -> Result<TrustedManifest, (Code, String)> {
        let manifest: Manifest = serde_json::from_slice(&self.bytes).map_err(|e| {
            (
                Code::SignatureMalformed,
                format!("not a modelgate manifest: {e}"),
            )
        })?;
        if manifest.schema_version != SCHEMA_VERSION {
            return Err((
                Code::SignatureMalformed,
                format!(
                    "manifest schema version {} is not supported",
                    manifest.schema_version
                ),
            ));
        }
        if let Some(root) = &manifest.merkle_root {
            let now = merkle_root(&manifest.files);
            if *root != now {
                return Err((
                    Code::SignatureMalformed,
                    format!("the manifest's merkle_root {root} does not match its files ({now})"),
                ));
            }
        }
        Ok(TrustedManifest {
            manifest,
            sha256: hex(&sha2::Sha256::digest(&self.bytes)),
            signer,
        })
    }
}

/// Compare a trusted manifest with the tree at `root` as described by `report` (a scan with
/// the manifest's digests). Added, removed, modified and renamed files become findings.
/// A test of whether a scanned path (as the report shows it) is one of `exclude`.
fn excluded(exclude: &[PathBuf]) -> impl Fn(&str) -> bool + '_ {
    let canon: Vec<PathBuf> = exclude
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    move |shown: &str| {
        Path::new(shown)
            .canonicalize()
            .is_ok_and(|c| canon.contains(&c))
    }
}

/// `exclude`: the manifest and its signature, left out of the comparison when they lie inside
/// the tree.
pub fn diff(
    trusted: &TrustedManifest,
    root: &Path,
    report: &Report,
    exclude: &[PathBuf],
) -> Vec<Finding> {
    let left_out = excluded(exclude);
    let shown = shown_root(root, report);
    let root = shown.as_path();
    let shown_root = root.to_string_lossy().trim_end_matches('/').to_string();
    let at = |rel: &str| format!("{shown_root}/{rel}");
    let mut out = Vec::new();
    let alg = trusted
        .manifest
        .algorithms
        .first()
        .cloned()
        .unwrap_or_else(|| "sha256".into());
    let now: BTreeMap<String, (&BTreeMap<String, String>, u64)> = report
        .files
        .iter()
        .filter(|f| f.status != FileStatus::Skipped && !left_out(&f.path))
        .map(|f| (relative(root, &f.path), (&f.digests, f.size.unwrap_or(0))))
        .collect();
    let then: BTreeMap<&str, &ManifestFile> = trusted
        .manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    let mut removed: Vec<&ManifestFile> = Vec::new();
    let mut added: Vec<(&String, &BTreeMap<String, String>)> = Vec::new();
    for (path, entry) in &then {
        match now.get(*path) {
            None => removed.push(entry),
            Some((digests, size)) => {
                let differs = entry
                    .digests
                    .iter()
                    .any(|(a, d)| digests.get(a).is_some_and(|x| x != d))
                    || entry.size != *size;
                if differs {
                    out.push(Finding::new(Code::ManifestFileModified, at(path), format!("'{path}' differs from the manifest"), ev! {"algorithm" => alg, "manifest_digest" => entry.digests.get(&alg), "actual_digest" => digests.get(&alg), "manifest_size" => entry.size, "actual_size" => size}));
                }
            }
        }
    }
    for (path, (digests, _)) in &now {
        if !then.contains_key(path.as_str()) {
            added.push((path, digests));
        }
    }
    // A removed file whose content reappears under a new name is a rename.
    let mut renamed_to: HashMap<&str, &str> = HashMap::new();
    for (path, digests) in &added {
        if let Some(old) = removed.iter().find(|r| {
            !renamed_to.contains_key(r.path.as_str())
                && r.digests
                    .get(&alg)
                    .is_some_and(|d| digests.get(&alg) == Some(d))
        }) {
            renamed_to.insert(old.path.as_str(), path.as_str());
        }
    }
    for r in &removed {
        match renamed_to.get(r.path.as_str()) {
            Some(new) => out.push(Finding::new(
                Code::ManifestFileRenamed,
                at(new),
                format!("'{}' was renamed to '{new}'", r.path),
                ev! {"from" => r.path, "to" => new, "digest" => r.digests.get(&alg)},
            )),
            None => out.push(Finding::new(
                Code::ManifestFileRemoved,
                at(&r.path),
                format!("'{}' is in the manifest but missing", r.path),
                ev! {"manifest_digest" => r.digests.get(&alg)},
            )),
        }
    }
    let renamed: std::collections::HashSet<&str> = renamed_to.values().copied().collect();
    for (path, digests) in &added {
        if !renamed.contains(path.as_str()) {
            out.push(Finding::new(
                Code::ManifestFileAdded,
                at(path),
                format!("'{path}' is not in the manifest"),
                ev! {"actual_digest" => digests.get(&alg)},
            ));
        }
    }
    let signer = trusted.signer.clone();
    match &signer {
        None => out.push(Finding::new(
            Code::ManifestUnsigned,
            shown_root.clone(),
            "the manifest was used without a signature (--allow-unsigned)",
            ev! {"manifest_sha256" => trusted.sha256},
        )),
        Some(hint) => {
            if out.is_empty() {
                out.push(Finding::new(Code::ManifestVerified, shown_root.clone(), format!("every file matches the signed manifest ({})", crate::finding::plural(then.len() as u64, "file", "files")), ev! {"manifest_sha256" => trusted.sha256, "signer" => hint, "files" => then.len()}));
            }
        }
    }
    out
}

/// Where a manifest's signature lives by default.
pub fn default_signature(manifest: &Path) -> PathBuf {
    let mut s = manifest.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

#[cfg(test)]
mod merkle_tests {
    use super::*;

    /// The tree is RFC 6962's: the reference roots of Certificate Transparency's test vectors
    /// (leaves hashed as SHA-256(0x00 ‖ data)).
    #[test]
    fn the_tree_is_rfc_6962() {
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves: Vec<[u8; 32]> = data
            .iter()
            .map(|d| {
                let mut h = sha2::Sha256::new();
                h.update([0u8]);
                h.update(d);
                h.finalize().into()
            })
            .collect();
        for (n, want) in roots.iter().enumerate() {
            assert_eq!(hex(&merkle_tree(&leaves[..=n])), *want, "{} leaves", n + 1);
        }
        assert_eq!(
            hex(&merkle_tree(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    /// The root depends on the files, not on their order; every field of a file counts.
    #[test]
    fn the_root_is_over_path_size_and_digests() {
        let f = |path: &str, size: u64, d: &str| ManifestFile {
            path: path.into(),
            size,
            digests: [("sha256".to_string(), d.to_string())].into(),
            format: None,
            verdict: FileVerdict::Pass,
        };
        let a = [f("a", 1, "00"), f("b", 2, "11")];
        let b = [f("b", 2, "11"), f("a", 1, "00")];
        assert_eq!(merkle_root(&a), merkle_root(&b));
        assert_ne!(
            merkle_root(&a),
            merkle_root(&[f("a", 1, "00"), f("b", 3, "11")])
        );
        assert_ne!(
            merkle_root(&a),
            merkle_root(&[f("a", 1, "00"), f("c", 2, "11")])
        );
        assert_ne!(
            merkle_root(&a),
            merkle_root(&[f("a", 1, "00"), f("b", 2, "12")])
        );
        // Format and verdict are not in the leaves.
        let mut c = a.clone();
        c[0].verdict = FileVerdict::Fail;
        c[0].format = Some("pickle".into());
        assert_eq!(merkle_root(&a), merkle_root(&c));
    }
}
