//! The gate's decisions, apart from any command line: which policy applies, which manifests
//! and signatures are trusted, what `[require]` adds, what the coverage is, and the report
//! that carries the outcome. The CLI parses arguments and writes reports; everything that
//! decides a verdict is here, where tests call it directly.

use crate::atlas::{Atlas, RunContext};
use crate::digest::HashAlg;
use crate::finding::{Code, Finding, Severity};
use crate::manifest::TrustedManifest;
use crate::policy::{Found, Loaded, RequireManifest, RequireSignature};
use crate::report::{Coverage, CoverageKind, FileStatus, Report, TrustRef};
use crate::scan::ScanOptions;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a run could not happen (exit 2). Every error that concerns a file names it.
#[derive(Debug)]
pub enum Error {
    /// A file the run needs cannot be read or used: `what` says which ("manifest", "public
    /// key", ...), `message` why.
    File {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    /// Arguments (or a policy) that cannot work as given.
    Usage(String),
}

impl Error {
    pub fn file(what: &'static str, path: &Path, message: impl fmt::Display) -> Error {
        Error::File {
            what,
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::File {
                what,
                path,
                message,
            } => write!(f, "{what} {}: {message}", path.display()),
            Error::Usage(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// A key, certificate, bundle or signature: small, so read whole (within the signature limit),
/// as UTF-8 text.
pub fn read_text(path: &Path, what: &'static str) -> Result<String, Error> {
    crate::input::read_small(path, crate::input::SIGNATURE_LIMIT)
        .and_then(|b| String::from_utf8(b).map_err(std::io::Error::other))
        .map_err(|e| Error::file(what, path, e))
}

/// A PEM key read with `parse`.
pub fn load_key<K>(
    path: &Path,
    what: &'static str,
    parse: fn(&str) -> Result<K, String>,
) -> Result<K, Error> {
    parse(&read_text(path, what)?).map_err(|e| Error::file(what, path, e))
}

/// The private key that signs a manifest, when one is given (Ed25519 or ECDSA, PEM).
pub fn manifest_signing_key(
    path: Option<&Path>,
) -> Result<Option<crate::signature::keys::SigningKey>, Error> {
    path.map(|k| {
        load_key(
            k,
            "private key",
            crate::signature::keys::SigningKey::from_pem_any,
        )
    })
    .transpose()
}

/// How a manifest is trusted: its signature checked with a public key, or explicitly not at all.
#[derive(Debug, Clone, Default)]
pub struct ManifestTrust {
    /// The signature (default: MANIFEST.sig).
    pub signature: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub allow_unsigned: bool,
}

/// `path` in `role`, fingerprinted. Only a regular file is opened (a FIFO planted in its
/// place would block the open forever); the first GiB is hashed.
pub fn trust_ref(role: &str, path: &Path) -> TrustRef {
    use sha2::Digest;
    let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    let opened = if regular {
        std::fs::File::open(path)
    } else {
        Err(std::io::Error::other("not a regular file"))
    };
    let sha256 = opened
        .and_then(|f| {
            let mut h = sha2::Sha256::new();
            std::io::copy(&mut std::io::Read::take(f, 1 << 30), &mut h)?;
            Ok(crate::digest::hex(&h.finalize()))
        })
        .unwrap_or_default();
    TrustRef {
        role: role.into(),
        path: path.to_string_lossy().into_owned(),
        sha256,
    }
}

/// The files a manifest's trust rests on: the manifest, and (when signed) its signature and
/// the public key.
pub fn manifest_refs(manifest: &Path, trust: &ManifestTrust) -> Vec<TrustRef> {
    let mut v = vec![trust_ref("manifest", manifest)];
    if !trust.allow_unsigned {
        let sig = trust
            .signature
            .clone()
            .unwrap_or_else(|| crate::manifest::default_signature(manifest));
        v.push(trust_ref("signature", &sig));
        if let Some(k) = &trust.key {
            v.push(trust_ref("public-key", k));
        }
    }
    v
}

/// A manifest and what came of trusting it: the manifest, or the finding that explains why it
/// is not trusted (a bad signature fails the gate; it does not stop the run).
pub type Trusted = (PathBuf, Result<TrustedManifest, Finding>);

/// Read and trust a manifest: its signature verified over the raw bytes, or accepted unsigned
/// only when asked to.
pub fn trusted_manifest(manifest: &Path, trust: &ManifestTrust) -> Result<Trusted, Error> {
    use crate::manifest::{default_signature, UnverifiedManifest};
    let bytes = crate::input::read_small(manifest, crate::input::MANIFEST_LIMIT)
        .map_err(|e| Error::file("manifest", manifest, e))?;
    let raw = UnverifiedManifest::new(bytes);
    let result = if trust.allow_unsigned {
        raw.trust_unsigned()
    } else {
        let key_path = trust.key.as_ref().ok_or_else(|| {
            Error::Usage("a manifest needs --public-key (or --allow-unsigned)".into())
        })?;
        let key = load_key(
            key_path,
            "public key",
            crate::signature::keys::VerifyingKey::from_pem_any,
        )?;
        let sig_path = trust
            .signature
            .clone()
            .unwrap_or_else(|| default_signature(manifest));
        let bundle = crate::input::read_small(&sig_path, crate::input::SIGNATURE_LIMIT)
            .map_err(|e| Error::file("manifest signature", &sig_path, e))?;
        raw.verify(&bundle, &key)
    };
    let trusted = result.map_err(|(code, message)| {
        Finding::new(
            code,
            manifest.to_string_lossy().into_owned(),
            message,
            crate::ev! {},
        )
    });
    Ok((manifest.to_path_buf(), trusted))
}

/// A policy's required manifest, signed with the given key (paths relative to the policy
/// file). A manifest or signature that cannot be read is a finding that fails the gate; a key
/// that cannot be used is a broken policy (an error).
pub fn required_manifest(p: &Loaded, req: &RequireManifest) -> Result<Trusted, Error> {
    let base = p.path.parent().unwrap_or(Path::new("."));
    let manifest = base.join(&req.path);
    let signature = req
        .signature
        .as_ref()
        .map(|s| base.join(s))
        .unwrap_or_else(|| crate::manifest::default_signature(&manifest));
    for (what, f) in [("manifest", &manifest), ("manifest signature", &signature)] {
        if let Err(e) = std::fs::metadata(f) {
            let finding = Finding::new(
                Code::PolicySignatureRequired,
                f.to_string_lossy().into_owned(),
                format!(
                    "the policy requires a signed manifest, and its {what} cannot be read: {e}"
                ),
                crate::ev! {},
            );
            return Ok((manifest.clone(), Err(finding)));
        }
    }
    let trust = ManifestTrust {
        signature: Some(signature),
        key: Some(base.join(&req.public_key)),
        allow_unsigned: false,
    };
    trusted_manifest(&manifest, &trust)
}

/// A policy's required signature: every file of `root` must be covered by a verified OMS
/// signature made with the given key.
pub fn required_signature(
    p: &Loaded,
    req: &RequireSignature,
    root: &Path,
) -> (Vec<Finding>, Option<Coverage>) {
    let shown = root.to_string_lossy().into_owned();
    let finding = |message: String| {
        Finding::new(
            Code::PolicySignatureRequired,
            shown.clone(),
            message,
            crate::ev! {},
        )
    };
    let key_path = p
        .path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&req.public_key);
    let sig_path = root.join(
        req.signature
            .clone()
            .unwrap_or_else(|| PathBuf::from("model.sig")),
    );
    let key = match load_key(
        &key_path,
        "public key",
        crate::signature::keys::VerifyingKey::from_pem_any,
    ) {
        Ok(k) => k,
        Err(e) => {
            let f = finding(format!("the policy's public key cannot be used: {e}"));
            return (vec![f], None);
        }
    };
    let bundle = match crate::input::read_small(&sig_path, crate::input::SIGNATURE_LIMIT) {
        Ok(b) => b,
        Err(e) => {
            let f = finding(format!(
                "the policy requires a signature, and {} cannot be read: {e}",
                sig_path.display()
            ));
            return (vec![f], None);
        }
    };
    let v = crate::signature::oms::verify_with_key(
        root,
        &bundle,
        &key,
        Some(&sig_path),
        &crate::signature::oms::Local::default(),
    );
    let coverage = signature_coverage(&v, &sig_path);
    let mut out = v.findings;
    // Anything that did not verify means files are not covered as the policy requires.
    if out.iter().any(|f| f.severity >= Severity::Error) {
        out.push(finding(
            "the files are not all covered by a verified signature from the policy's key".into(),
        ));
    }
    (out, Some(coverage))
}

/// The coverage a model-signature verification found.
pub fn signature_coverage(v: &crate::signature::oms::Verification, signature: &Path) -> Coverage {
    Coverage {
        kind: CoverageKind::Signature,
        source: signature.to_string_lossy().into_owned(),
        signed: v.on_disk.is_some(),
        checked: v.on_disk.is_some(),
        files: v.on_disk.unwrap_or(0) as u64,
        not_covered: paths(&v.findings, &[Code::UnsignedFile, Code::SignedFileModified]),
        missing: paths(&v.findings, &[Code::SignedFileMissing]).len() as u64,
    }
}

/// The coverage a comparison with a trusted manifest found (`diff`: its findings).
pub fn manifest_coverage(
    trusted: &TrustedManifest,
    manifest: &Path,
    files: u64,
    diff: &[Finding],
) -> Coverage {
    Coverage {
        kind: CoverageKind::Manifest,
        source: manifest.to_string_lossy().into_owned(),
        signed: trusted.signer.is_some(),
        checked: true,
        files,
        not_covered: paths(
            diff,
            &[
                Code::ManifestFileAdded,
                Code::ManifestFileModified,
                Code::ManifestFileRenamed,
            ],
        ),
        missing: paths(diff, &[Code::ManifestFileRemoved]).len() as u64,
    }
}

/// The paths of the findings with these codes, sorted, once each.
fn paths(findings: &[Finding], codes: &[Code]) -> Vec<String> {
    let mut v: Vec<String> = findings
        .iter()
        .filter(|f| codes.contains(&f.code))
        .map(|f| f.path.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Files a report compared (skipped ones aside).
fn compared(report: &Report) -> u64 {
    report
        .files
        .iter()
        .filter(|f| f.status != FileStatus::Skipped)
        .count() as u64
}

/// A tree checked against a trusted manifest: its findings and coverage added to `report`.
pub fn check_manifest(
    report: Report,
    root: &Path,
    (manifest, trusted): Trusted,
    exclude: &[PathBuf],
) -> Report {
    match trusted {
        Err(f) => report.with_findings(vec![f]),
        Ok(t) => {
            let mut exclude = exclude.to_vec();
            exclude.push(manifest.clone());
            exclude.push(crate::manifest::default_signature(&manifest));
            let diff = crate::manifest::diff(&t, root, &report, &exclude);
            let coverage = manifest_coverage(&t, &manifest, compared(&report), &diff);
            let mut report = report.with_findings(diff);
            report.coverage.push(coverage);
            report
        }
    }
}

/// Which policy a scan takes.
#[derive(Debug, Clone, Default)]
pub enum PolicyChoice {
    /// The one the user names.
    File(PathBuf),
    /// The working directory's `modelgate.toml` (see [`crate::policy::find`]).
    #[default]
    Discover,
    /// None at all.
    None,
}

/// A scan as the gate runs it.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub paths: Vec<PathBuf>,
    /// The fail threshold [default: the policy's, else error].
    pub fail_on: Option<Severity>,
    pub policy: PolicyChoice,
    /// A manifest to compare the tree with, and how it is trusted.
    pub manifest: Option<(PathBuf, ManifestTrust)>,
    /// Digests recorded for every file.
    pub digests: Vec<HashAlg>,
    /// A CycloneDX BOM is written (SHA-256 recorded; ATLAS M0023 evidenced).
    pub bom: bool,
    pub options: ScanOptions,
}

impl Default for ScanRequest {
    fn default() -> Self {
        ScanRequest {
            paths: Vec::new(),
            fail_on: None,
            policy: PolicyChoice::Discover,
            manifest: None,
            digests: Vec::new(),
            bom: false,
            options: ScanOptions::default(),
        }
    }
}

/// What a scan decided: the report (its outcome in `summary.verdict` and `exit_code`), and the
/// policy that was applied.
#[derive(Debug)]
pub struct Scanned {
    pub report: Report,
    pub policy: Option<PathBuf>,
}

/// Run a scan through the gate: the policy found (never one inside a scanned root unless
/// named), manifests trusted and compared, `[require]` enforced, an empty run failed, and the
/// ATLAS section stating what this run evidenced.
pub fn scan(req: &ScanRequest, atlas: &Atlas) -> Result<Scanned, Error> {
    let found = match &req.policy {
        PolicyChoice::None => Ok(Found::default()),
        PolicyChoice::File(p) => crate::policy::find(Some(p), &req.paths),
        PolicyChoice::Discover => crate::policy::find(None, &req.paths),
    }
    .map_err(|e| Error::Usage(format!("invalid policy: {e}")))?;
    let policy = found.policy;
    let fail_on = req
        .fail_on
        .or_else(|| policy.as_ref().and_then(|p| p.policy.fail_on))
        .unwrap_or(Severity::Error);
    let required = policy.as_ref().and_then(|p| {
        let m = p.policy.require.as_ref()?.manifest.as_ref()?;
        Some((p, m))
    });
    if (req.manifest.is_some() || required.is_some()) && req.paths.len() != 1 {
        return Err(Error::Usage(
            "a manifest (--manifest or the policy's [require.manifest]) needs exactly one PATH"
                .into(),
        ));
    }
    // Trusted manifests to check the tree against: the one asked for, and the policy's.
    let mut trusted: Vec<Trusted> = Vec::new();
    let mut refs: Vec<TrustRef> = Vec::new();
    if let Some((m, trust)) = &req.manifest {
        trusted.push(trusted_manifest(m, trust)?);
        refs.extend(manifest_refs(m, trust));
    }
    if let Some((p, r)) = required {
        let base = p.path.parent().unwrap_or(Path::new("."));
        let m = base.join(&r.path);
        let trust = ManifestTrust {
            signature: Some(
                r.signature
                    .as_ref()
                    .map(|s| base.join(s))
                    .unwrap_or_else(|| crate::manifest::default_signature(&m)),
            ),
            key: Some(base.join(&r.public_key)),
            allow_unsigned: false,
        };
        refs.extend(manifest_refs(&m, &trust));
        trusted.push(required_manifest(p, r)?);
    }
    let mut algs = req.digests.clone();
    if req.bom {
        // A BOM lists every component's SHA-256.
        algs.push(HashAlg::Sha256);
    }
    for t in trusted.iter().filter_map(|(_, t)| t.as_ref().ok()) {
        algs.extend(
            t.manifest
                .algorithms
                .iter()
                .filter_map(|a| HashAlg::from_name(a)),
        );
    }
    let mut unique = Vec::new();
    for a in algs {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    let opts = ScanOptions {
        fail_on,
        digests: unique,
        ..req.options.clone()
    };
    let mut report = crate::scan::scan(&req.paths, &opts).map_err(Error::Usage)?;
    if report.summary.scanned == 0 {
        let shown: Vec<String> = req.paths.iter().map(|p| p.display().to_string()).collect();
        let shown = shown.join(", ");
        let files = report.summary.files;
        report = report.with_findings(vec![Finding::new(
            Code::NothingInspected,
            shown.clone(),
            format!("no file was inspected under {shown}: an empty tree proves nothing"),
            crate::ev! {"files" => files},
        )]);
    }
    let extra_signature: Vec<PathBuf> = req
        .manifest
        .as_ref()
        .and_then(|(_, t)| t.signature.clone())
        .into_iter()
        .collect();
    for t in trusted {
        report = check_manifest(report, &req.paths[0], t, &extra_signature);
    }
    if let Some(p) = &policy {
        if let Some(r) = p.policy.require.as_ref().and_then(|r| r.signature.as_ref()) {
            let base = p.path.parent().unwrap_or(Path::new("."));
            refs.push(trust_ref("public-key", &base.join(&r.public_key)));
            let sig = r
                .signature
                .clone()
                .unwrap_or_else(|| PathBuf::from("model.sig"));
            refs.push(trust_ref("signature", &req.paths[0].join(sig)));
            let (extra, coverage) = required_signature(p, r, &req.paths[0]);
            report = report.with_findings(extra);
            report.coverage.extend(coverage);
        }
        report = p.apply(report, fail_on);
    }
    if let Some(ignored) = found.ignored {
        report = report.with_findings(vec![policy_not_applied(&ignored)]);
    }
    let cx = RunContext {
        scan: true,
        bom: req.bom,
        ..Default::default()
    };
    report.atlas = Some(crate::atlas::section(atlas, &report, cx));
    report.inputs.trusted = refs;
    Ok(Scanned {
        report,
        policy: policy.map(|p| p.path),
    })
}

/// The report of a verification or a dataset diff: its findings under `root`, failing at
/// error, with the coverage found and the ATLAS section for what `cx` says the run did.
pub fn checked(
    findings: Vec<Finding>,
    root: String,
    cx: RunContext,
    coverage: Option<Coverage>,
) -> Report {
    let mut report = Report::new(vec![root], Severity::Error, Vec::new(), findings);
    report.coverage.extend(coverage);
    report.atlas = Some(crate::atlas::section(&crate::atlas::bundled(), &report, cx));
    report
}

/// `manifest verify`: the tree scanned for its digests and compared with the trusted
/// manifest (or the finding that explains why it is not trusted).
pub fn verify_manifest(
    root: &Path,
    manifest: &Path,
    trust: &ManifestTrust,
    bom: bool,
) -> Result<Report, Error> {
    let cx = RunContext {
        verify: true,
        bom,
        ..Default::default()
    };
    let shown = root.to_string_lossy().into_owned();
    if !root.exists() && !crate::remote::is_remote(&shown) {
        return Err(Error::file("tree", root, "no such file or directory"));
    }
    let (m, t) = trusted_manifest(manifest, trust)?;
    let t = match t {
        Ok(t) => t,
        Err(f) => return Ok(checked(vec![f], shown, cx, None)),
    };
    let opts = ScanOptions {
        digests: t
            .manifest
            .algorithms
            .iter()
            .filter_map(|a| HashAlg::from_name(a))
            .collect(),
        ..ScanOptions::default()
    };
    let scanned = crate::scan::scan(&[root.to_path_buf()], &opts).map_err(Error::Usage)?;
    let sig = trust
        .signature
        .clone()
        .unwrap_or_else(|| crate::manifest::default_signature(&m));
    let findings = crate::manifest::diff(&t, root, &scanned, &[m.clone(), sig]);
    // The manifest was checked even when files differ from it: the coverage says so.
    let coverage = manifest_coverage(&t, &m, compared(&scanned), &findings);
    let mut report = checked(findings, shown, cx, Some(coverage));
    report.inputs.trusted = manifest_refs(&m, trust);
    Ok(report)
}

/// A `modelgate.toml` inside a scanned tree: reported, never applied (content under scan does
/// not decide its own verdict).
pub fn policy_not_applied(ignored: &Path) -> Finding {
    let path = ignored.to_string_lossy().into_owned();
    Finding::new(
        Code::PolicyNotApplied,
        path.clone(),
        format!("{path} is part of the scanned tree, not your policy: it was not applied (pass it with --policy if you trust it)"),
        crate::ev! {},
    )
}

/// `--ignore-unsigned-files`: files the signature does not list are left out of the
/// verification and of the coverage, instead of failing it (model_signing's option).
pub fn ignore_unsigned_files(v: &mut crate::signature::oms::Verification, model: &Path) {
    let before = v.findings.len();
    v.findings.retain(|f| f.code != Code::UnsignedFile);
    let ignored = before.saturating_sub(v.findings.len());
    if ignored == 0 {
        return;
    }
    v.on_disk = v.on_disk.map(|n| n.saturating_sub(ignored));
    if v.findings.is_empty() {
        v.findings.push(Finding::new(
            Code::SignatureVerified,
            model.to_string_lossy().into_owned(),
            format!(
                "signature verified: {}; {} it does not list {} left out (--ignore-unsigned-files)",
                crate::finding::plural(v.covered as u64, "file", "files"),
                crate::finding::plural(ignored as u64, "file", "files"),
                if ignored == 1 { "was" } else { "were" }
            ),
            crate::ev! {"files" => v.covered, "ignored_unsigned_files" => ignored},
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, b: &[u8]) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    }

    #[test]
    fn a_policy_inside_the_scanned_tree_is_reported_not_applied() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("model");
        write(
            &m.join("modelgate.toml"),
            b"[severity]\n\"pickle-dangerous-import\" = \"info\"\n",
        );
        write(
            &m.join("w.pkl"),
            b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00idK\x85R.",
        );
        let req = ScanRequest {
            paths: vec![m.clone()],
            options: ScanOptions {
                progress: false,
                ..ScanOptions::default()
            },
            ..ScanRequest::default()
        };
        let s = scan(&req, &crate::atlas::bundled()).unwrap();
        assert_eq!(s.policy, None);
        let codes: Vec<Code> = s.report.findings.iter().map(|f| f.code).collect();
        assert!(codes.contains(&Code::PolicyNotApplied), "{codes:?}");
        assert!(codes.contains(&Code::PickleDangerousImport), "{codes:?}");
        assert_eq!(s.report.exit_code(), 1);
    }

    #[test]
    fn an_empty_tree_fails() {
        let d = tempfile::tempdir().unwrap();
        let req = ScanRequest {
            paths: vec![d.path().to_path_buf()],
            policy: PolicyChoice::None,
            ..ScanRequest::default()
        };
        let s = scan(&req, &crate::atlas::bundled()).unwrap();
        assert_eq!(s.report.findings[0].code, Code::NothingInspected);
        assert_eq!(s.report.exit_code(), 1);
    }

    #[test]
    fn errors_name_their_file() {
        let e = trusted_manifest(Path::new("/nonexistent/m.json"), &ManifestTrust::default())
            .unwrap_err();
        assert!(
            e.to_string().starts_with("manifest /nonexistent/m.json: "),
            "{e}"
        );
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("m.json");
        write(&m, b"{}");
        let trust = ManifestTrust {
            key: Some(d.path().join("missing.pub")),
            ..ManifestTrust::default()
        };
        let e = trusted_manifest(&m, &trust).unwrap_err();
        assert!(e.to_string().contains("missing.pub"), "{e}");
    }
}
