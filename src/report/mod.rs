//! The report: one serde struct. JSON is this struct; every other format is a conversion of it.

pub mod atlas;
pub mod cyclonedx;
pub mod junit;
pub mod sarif;
pub mod text;

use crate::finding::{Finding, Severity};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped when the JSON shape changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub inputs: Inputs,
    pub summary: Summary,
    /// Every path the walk met, sorted by path.
    pub files: Vec<FileEntry>,
    /// Sorted by path, member, offset, code.
    pub findings: Vec<Finding>,
    /// Findings a policy waiver covers: kept, not counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<Waived>,
    /// MITRE ATLAS: the data version, the mitigations this run evidences and the techniques its
    /// findings evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atlas: Option<atlas::Section>,
    /// What vouched for the files' digests in this run: signatures (a policy's required
    /// signature, `verify`) and manifests (`--manifest`, a policy's required manifest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<Coverage>,
    /// The part of a planned scan this report is (`scan --shard`); `modelgate merge` joins
    /// the shards of one plan into one report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// Which part of which plan a shard report covers (see docs/scale-out.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Shard {
    /// SHA-256 of the plan's bytes (the plan file, or the same bytes when planned in-process).
    pub plan_sha256: String,
    /// The plan file as given (absent: planned in-process from the scanned PATHs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// This shard's index, from 0.
    pub index: u64,
    /// The number of shards.
    pub count: u64,
    /// Files in the whole plan.
    pub plan_files: u64,
    /// Bytes in the whole plan.
    pub plan_bytes: u64,
    /// SHA-256 of the plan's whole listing: compact JSON of `[[path, size], ...]` sorted by path.
    pub plan_listing_sha256: String,
    /// Digest algorithms recorded for every file.
    pub digests: Vec<String>,
    /// The models this shard covers, sorted.
    pub models: Vec<String>,
    /// The planned files this shard covers (path and size as planned), sorted by path.
    pub files: Vec<ShardFile>,
}

/// A planned file: its path as reports show it and its size when planned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct ShardFile {
    pub path: String,
    pub size: u64,
}

/// What vouches for the files' digests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CoverageKind {
    /// An OpenSSF Model Signing signature.
    Signature,
    /// A manifest (`modelgate manifest create`), signed or used unsigned by request.
    Manifest,
}

/// How much of the scanned tree a signature or manifest checked in this run covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Coverage {
    pub kind: CoverageKind,
    /// The signature bundle or the manifest, as reports show paths.
    pub source: String,
    /// A signature over the digests verified (false: it did not, or a manifest was used
    /// unsigned by request).
    pub signed: bool,
    /// The files were compared with the digests (false: the signature failed first, so
    /// nothing is covered).
    pub checked: bool,
    /// Files on disk that were compared (the signature file and ignored paths aside).
    pub files: u64,
    /// Files on disk the digests do not vouch for: added, renamed, or modified since.
    pub not_covered: Vec<String>,
    /// Files the digests list that are missing.
    pub missing: u64,
}

/// A finding covered by a policy waiver.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Waived {
    pub finding: Finding,
    /// The waiver's reason, as written in the policy.
    pub reason: String,
    /// The waiver's expiry date (YYYY-MM-DD), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Inputs {
    pub roots: Vec<String>,
    /// Findings at or above this severity fail the run.
    pub fail_on: Severity,
    /// The policy file applied to the findings (none when no policy was applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyRef>,
    /// The files this run trusted or checked against (keys, certificate anchors, signatures,
    /// manifests, baselines), each with the SHA-256 of the bytes read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted: Vec<TrustRef>,
    /// Remote roots and what each was resolved to (the Hub commit scanned, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<crate::remote::Resolved>,
}

/// A file a run relied on, named so that a reader of the report can check it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TrustRef {
    /// What it was: `public-key`, `certificate-anchor`, `signature`, `manifest`, `baseline`,
    /// `trusted-root`, `bundle`.
    pub role: String,
    pub path: String,
    /// SHA-256 of the file as read (empty when it could not be read).
    pub sha256: String,
}

/// Which policy decided the verdict, so that a reader of the report can check it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PolicyRef {
    pub path: String,
    /// SHA-256 of the policy file as it was read.
    pub sha256: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub critical: u64,
    pub error: u64,
    pub warning: u64,
    pub info: u64,
}

impl Counts {
    pub fn add(&mut self, s: Severity) {
        match s {
            Severity::Critical => self.critical += 1,
            Severity::Error => self.error += 1,
            Severity::Warning => self.warning += 1,
            Severity::Info => self.info += 1,
        }
    }
    pub fn get(&self, s: Severity) -> u64 {
        match s {
            Severity::Critical => self.critical,
            Severity::Error => self.error,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
    /// Findings at or above `s`.
    pub fn at_least(&self, s: Severity) -> u64 {
        Severity::ALL
            .iter()
            .filter(|x| **x >= s)
            .map(|x| self.get(*x))
            .sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub files: u64,
    /// Files read (status scanned); `not_inspected` of them were identified but not checked
    /// for code.
    pub scanned: u64,
    /// Scanned files whose format was identified but not inspected (a `not-inspected` finding
    /// on the whole file): read, not checked for code.
    #[serde(default)]
    pub not_inspected: u64,
    pub errors: u64,
    pub skipped: u64,
    pub findings: Counts,
    pub verdict: Verdict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Read and inspected.
    Scanned,
    /// Could not be read or fully inspected (a finding says why).
    Error,
    /// Not read (a finding says why: a link out of the root, a special file, ...).
    Skipped,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct FileEntry {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The format identified from content (e.g. `pickle`, `torch-zip`, `safetensors`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    pub status: FileStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Digests of the file's bytes (algorithm → hex), when requested.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digests: BTreeMap<String, String>,
    /// The same file (same device and inode) was scanned under this path; its findings apply here too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as: Option<String>,
    /// This file's verdict: `fail` when a finding on it (or inside it) is at or above the
    /// threshold.
    #[serde(default = "pass")]
    pub verdict: Verdict,
    /// Seconds spent reading and inspecting it (in JUnit reports; not in JSON, which stays
    /// the same from run to run).
    #[serde(skip)]
    pub seconds: Option<f64>,
    /// How a remote file was read: requests made and bytes fetched (or the local cached copy
    /// read instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteRead>,
}

/// How much of a remote file was fetched to judge it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RemoteRead {
    pub requests: u64,
    pub bytes_fetched: u64,
    /// Read from this verified local copy (the Hugging Face cache) instead of the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_copy: Option<String>,
}

fn pass() -> Verdict {
    Verdict::Pass
}

impl Report {
    pub fn new(
        roots: Vec<String>,
        fail_on: Severity,
        mut files: Vec<FileEntry>,
        mut findings: Vec<Finding>,
    ) -> Report {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let failing: std::collections::HashSet<&str> = findings
            .iter()
            .filter(|f| f.severity >= fail_on)
            .map(|f| f.path.as_str())
            .collect();
        for f in &mut files {
            f.verdict = if failing.contains(f.path.as_str()) {
                Verdict::Fail
            } else {
                Verdict::Pass
            };
        }
        let mut counts = Counts::default();
        for f in &findings {
            counts.add(f.severity);
        }
        let count = |s: FileStatus| files.iter().filter(|f| f.status == s).count() as u64;
        let summary = Summary {
            files: files.len() as u64,
            scanned: count(FileStatus::Scanned),
            not_inspected: not_inspected(&findings),
            errors: count(FileStatus::Error),
            skipped: count(FileStatus::Skipped),
            findings: counts,
            verdict: if counts.at_least(fail_on) > 0 {
                Verdict::Fail
            } else {
                Verdict::Pass
            },
        };
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "modelgate".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            inputs: Inputs {
                roots,
                fail_on,
                policy: None,
                trusted: Vec::new(),
                resolved: Vec::new(),
            },
            summary,
            files,
            findings,
            waived: Vec::new(),
            atlas: None,
            coverage: Vec::new(),
            shard: None,
        }
    }

    /// The same report with more findings (summary and verdict recomputed).
    pub fn with_findings(mut self, more: Vec<Finding>) -> Report {
        let mut findings = std::mem::take(&mut self.findings);
        findings.extend(more);
        let fail_on = self.inputs.fail_on;
        self.rebuilt(findings, fail_on)
    }

    /// The same report (files, waived findings, ATLAS section, coverage) with these
    /// findings and this threshold; summary and verdict recomputed.
    pub fn rebuilt(self, findings: Vec<Finding>, fail_on: Severity) -> Report {
        let mut r = Report::new(self.inputs.roots, fail_on, self.files, findings);
        r.inputs.policy = self.inputs.policy;
        r.inputs.trusted = self.inputs.trusted;
        r.waived = self.waived;
        r.atlas = self.atlas;
        r.coverage = self.coverage;
        r.shard = self.shard;
        r
    }

    /// 0 pass, 1 findings at or above the threshold.
    pub fn exit_code(&self) -> i32 {
        match self.summary.verdict {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The JSON Schema of [`Report`], as committed in `schemas/report.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Report);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// Files with a `not-inspected` finding on the whole file (not on a member): identified, read,
/// not checked for code.
pub fn not_inspected(findings: &[Finding]) -> u64 {
    let files: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter(|f| {
            f.code == crate::finding::Code::NotInspected
                && f.member.is_empty()
                && f.evidence.get("whole_file") == Some(&serde_json::json!(true))
        })
        .map(|f| f.path.as_str())
        .collect();
    files.len() as u64
}
