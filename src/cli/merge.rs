//! `modelgate merge`: the shard reports of one plan joined into one report (and manifest).

use super::outputs::{canonical, check_destination};
use super::{parse_severity, Exit, Outputs};
use crate::atlas::RunContext;
use crate::digest::HashAlg;
use crate::finding::{Code, Finding, Severity};
use crate::gate::Error;
use crate::report::{Report, TrustRef};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shard reports of one plan (from `modelgate scan --shard`), every shard once
    #[arg(required = true, value_name = "SHARD_REPORT")]
    shards: Vec<PathBuf>,
    #[command(flatten)]
    out: Outputs,
    /// Also write the auditor manifest of the whole plan (as `modelgate manifest create`,
    /// with its Merkle root); the plan must have one input
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Sign the manifest with this private key (Ed25519 or ECDSA, PEM); writes MANIFEST.sig
    #[arg(long = "private-key", value_name = "FILE", requires = "manifest")]
    key: Option<PathBuf>,
    /// Fail (exit 1) on findings at or above this severity [default: the policy's, else error]
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity())]
    fail_on: Option<Severity>,
    /// Policy file [default: modelgate.toml in the working directory, as for scan]
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Apply no policy, not even modelgate.toml in the working directory
    #[arg(long, conflicts_with = "policy")]
    no_policy: bool,
    /// MITRE ATLAS data to use instead of the bundled 5.6.0 extract (ATLAS.yaml of a release)
    #[arg(long, value_name = "FILE")]
    atlas_data: Option<PathBuf>,
}

/// Read a shard report.
fn read_report(p: &Path) -> Result<Report, Error> {
    let bytes = crate::input::read_small(p, crate::input::MANIFEST_LIMIT)
        .map_err(|e| Error::file("shard report", p, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::file("shard report", p, format!("not a JSON report: {e}")))
}

pub fn run(a: Args) -> Exit {
    a.out.check()?;
    let signing = crate::gate::manifest_signing_key(a.key.as_deref())?;
    let atlas = super::scan::atlas_data(a.atlas_data.as_ref())?;
    let mut shards = Vec::new();
    for p in &a.shards {
        shards.push((p.display().to_string(), read_report(p)?));
    }
    let roots: Vec<PathBuf> = shards
        .first()
        .map(|(_, r)| r.inputs.roots.iter().map(PathBuf::from).collect())
        .unwrap_or_default();
    let plan = shards
        .first()
        .and_then(|(_, r)| r.shard.clone())
        .map(|s| TrustRef {
            role: "plan".into(),
            path: s.plan.unwrap_or_default(),
            sha256: s.plan_sha256,
        });
    let digests: Vec<String> = shards
        .first()
        .and_then(|(_, r)| r.shard.as_ref())
        .map(|s| s.digests.clone())
        .unwrap_or_default();
    // Nothing is written over a shard report or into a scanned tree.
    let mut read = a.shards.clone();
    read.extend(roots.iter().cloned());
    a.out.check_against(&read)?;
    if let Some(m) = &a.manifest {
        check_destination(m, &canonical(&read), "--manifest ")
            .map_err(|e| Error::file("manifest", m, e))?;
    }
    if a.manifest.is_some() && roots.len() != 1 {
        return Err(Error::Usage(format!(
            "--manifest describes one tree, and the plan has {} inputs: plan one input to get its manifest",
            roots.len()
        )));
    }
    // The policy, found as scan finds it (never one inside a scanned root unless named).
    let found = if a.no_policy {
        Ok(crate::policy::Found::default())
    } else {
        crate::policy::find(a.policy.as_deref(), &roots)
    }
    .map_err(|e| Error::Usage(format!("invalid policy: {e}")))?;
    let policy = found.policy;
    if policy.as_ref().is_some_and(|p| p.policy.require.is_some()) {
        return Err(Error::Usage(
            "the policy has a [require] section, which needs the tree itself: check it with modelgate scan or verify, and merge with a policy without it".into(),
        ));
    }
    let fail_on = a
        .fail_on
        .or_else(|| policy.as_ref().and_then(|p| p.policy.fail_on))
        .unwrap_or(Severity::Error);
    let mut report = crate::plan::merge(&shards, fail_on)
        .map_err(|e| Error::Usage(format!("cannot merge: {e}")))?;
    if report.summary.scanned == 0 {
        let shown = report.inputs.roots.join(", ");
        let files = report.summary.files;
        report = report.with_findings(vec![Finding::new(
            Code::NothingInspected,
            shown.clone(),
            format!("no file was inspected under {shown}: an empty tree proves nothing"),
            crate::ev! {"files" => files},
        )]);
    }
    if let Some(p) = &policy {
        complain!("policy {}", p.path.display());
        report = p.apply(report, fail_on);
    }
    if let Some(ignored) = found.ignored {
        report = report.with_findings(vec![crate::gate::policy_not_applied(&ignored)]);
    }
    let cx = RunContext {
        scan: true,
        bom: a.out.bom(),
        ..Default::default()
    };
    report.atlas = Some(crate::atlas::section(&atlas, &report, cx));
    report.inputs.trusted = plan.into_iter().collect();
    if let (Some(out), Some(root)) = (&a.manifest, roots.first()) {
        let algs: Vec<HashAlg> = digests
            .iter()
            .filter_map(|d| HashAlg::from_name(d))
            .collect();
        let name = std::fs::canonicalize(root)
            .ok()
            .unwrap_or_else(|| root.clone())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let m = crate::manifest::from_report(root, &name, &report, &algs, fail_on, &[]);
        let bytes = m.to_bytes();
        crate::output::write(out, &bytes, crate::output::Access::Public)
            .map_err(|e| Error::file("cannot write manifest", out, e))?;
        let sig = crate::manifest::default_signature(out);
        if let Some(sk) = &signing {
            crate::output::write(
                &sig,
                &crate::manifest::sign(&bytes, sk),
                crate::output::Access::Public,
            )
            .map_err(|e| Error::file("cannot write signature", &sig, e))?;
        }
        complain!(
            "manifest: {} -> {} ({}), merkle root {}",
            crate::finding::plural(m.files.len() as u64, "file", "files"),
            out.display(),
            if signing.is_some() {
                format!("signed: {}", sig.display())
            } else {
                "unsigned".into()
            },
            m.merkle_root.as_deref().unwrap_or_default()
        );
    }
    a.out.write(&report)
}
