//! MITRE ATLAS data and the mitigation status a run can evidence.
//!
//! modelgate uses MITRE ATLAS data (Apache-2.0, Copyright MITRE; see `data/atlas/`). The bundled
//! extract is embedded; `--atlas-data FILE` loads another release. Parsing keys on ids, never on
//! names (names changed between releases), and is lenient: any mapping with an `AML.M…` id and a
//! name is a mitigation, any `AML.T…` id found anywhere inside it is a technique it mitigates
//! (release 5.6.0 mis-indents a technique link in AML.M0018 and AML.M0034), and duplicates are
//! collapsed.

use crate::finding::{Code, Severity};
use crate::report::{Coverage, CoverageKind, Report};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use yaml_rust2::{Yaml, YamlLoader};

pub const BUNDLED: &str = include_str!("../data/atlas/extract.yaml");
pub const ATTRIBUTION: &str =
    "Uses MITRE ATLAS data (Apache-2.0, Copyright 2021-2025 MITRE); not an official MITRE product.";

#[derive(Clone, Debug, Default)]
pub struct Atlas {
    /// The data's own version field.
    pub version: String,
    pub mitigations: BTreeMap<String, Mitigation>,
    /// Technique id → name.
    pub techniques: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default)]
pub struct Mitigation {
    pub id: String,
    pub name: String,
    pub techniques: BTreeSet<String>,
}

fn s(y: &Yaml) -> Option<&str> {
    y.as_str()
}

fn get<'a>(h: &'a Yaml, k: &str) -> Option<&'a Yaml> {
    match h {
        Yaml::Hash(m) => m.get(&Yaml::String(k.to_string())),
        _ => None,
    }
}

/// Every technique id under `y`, as a string list item or an `id:` value.
fn technique_ids(y: &Yaml, out: &mut BTreeSet<String>) {
    match y {
        Yaml::String(t) if t.starts_with("AML.T") && !t.starts_with("AML.TA") => {
            out.insert(t.split_whitespace().next().unwrap_or(t).to_string());
        }
        Yaml::Array(a) => a.iter().for_each(|x| technique_ids(x, out)),
        Yaml::Hash(m) => m.values().for_each(|x| technique_ids(x, out)),
        _ => {}
    }
}

fn walk(y: &Yaml, atlas: &mut Atlas, depth: u32) {
    if depth > 64 {
        return;
    }
    match y {
        Yaml::Hash(m) => {
            if let (Some(id), Some(name)) = (get(y, "id").and_then(s), get(y, "name").and_then(s)) {
                if id.starts_with("AML.M") {
                    let mut techniques = BTreeSet::new();
                    for (k, v) in m {
                        if !matches!(s(k), Some("id" | "name" | "description")) {
                            technique_ids(v, &mut techniques);
                        }
                    }
                    let e = atlas
                        .mitigations
                        .entry(id.to_string())
                        .or_insert_with(|| Mitigation {
                            id: id.to_string(),
                            name: name.to_string(),
                            techniques: BTreeSet::new(),
                        });
                    e.techniques.extend(techniques);
                    return;
                }
                if id.starts_with("AML.T") && !id.starts_with("AML.TA") {
                    atlas
                        .techniques
                        .entry(id.to_string())
                        .or_insert_with(|| name.to_string());
                }
            }
            for (k, v) in m {
                // The extract's id → name table.
                if let (Some(id), Some(name)) = (s(k), s(v)) {
                    if id.starts_with("AML.T") && !id.starts_with("AML.TA") {
                        atlas
                            .techniques
                            .entry(id.to_string())
                            .or_insert_with(|| name.to_string());
                    }
                }
                walk(v, atlas, depth + 1);
            }
        }
        Yaml::Array(a) => a.iter().for_each(|x| walk(x, atlas, depth + 1)),
        _ => {}
    }
}

/// Parse ATLAS data: the full `ATLAS.yaml` of a release or an extract.
pub fn parse(text: &str) -> Result<Atlas, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("ATLAS data: {e}"))?;
    let doc = docs.first().ok_or("ATLAS data: empty")?;
    let mut atlas = Atlas {
        version: get(doc, "version")
            .and_then(s)
            .or_else(|| {
                get(doc, "source")
                    .and_then(|x| get(x, "data_version_field"))
                    .and_then(s)
            })
            .unwrap_or("unknown")
            .to_string(),
        ..Atlas::default()
    };
    walk(doc, &mut atlas, 0);
    if atlas.mitigations.is_empty() {
        return Err("ATLAS data: no mitigations found (is this ATLAS.yaml?)".into());
    }
    Ok(atlas)
}

/// The bundled data.
pub fn bundled() -> Atlas {
    parse(BUNDLED).unwrap_or_default()
}

pub use crate::report::atlas::{MitigationStatus, Section, Status, TechniqueHits};

/// What kind of run produced the report, beyond its findings.
#[derive(Clone, Debug, Default)]
pub struct RunContext {
    /// A model scan (files inspected for code).
    pub scan: bool,
    /// A dataset diff against a baseline.
    pub dataset_diff: bool,
    /// A verification (of a signature, a bundle or a manifest).
    pub verify: bool,
    /// A CycloneDX BOM is written by this run.
    pub bom: bool,
}

/// What vouched for the digests, for evidence lines: "the verified signature tree/model.sig".
fn source(c: &Coverage) -> String {
    let what = match (c.kind, c.signed) {
        (CoverageKind::Signature, true) => "the verified signature",
        (CoverageKind::Signature, false) => "the signature",
        (CoverageKind::Manifest, true) => "the signed manifest",
        (CoverageKind::Manifest, false) => "the unsigned manifest",
    };
    format!("{what} {}", c.source)
}

/// "9 of 15 files match the verified signature x.sig; not covered: a, b": the evidence line
/// for one signature or manifest, `verb` saying what the covered files do.
fn coverage_evidence(c: &Coverage, verb: &str) -> String {
    if !c.checked {
        return format!(
            "{} did not verify, so it vouches for none of the files",
            source(c)
        );
    }
    let ok = c.files.saturating_sub(c.not_covered.len() as u64);
    let mut s = format!("{ok} of {} files {verb} {}", c.files, source(c));
    if !c.not_covered.is_empty() {
        let shown: Vec<&str> = c.not_covered.iter().take(5).map(String::as_str).collect();
        let _ = write!(s, "; not covered: {}", shown.join(", "));
        if c.not_covered.len() > shown.len() {
            let _ = write!(s, " and {} more", c.not_covered.len() - shown.len());
        }
    }
    if c.missing > 0 {
        let _ = write!(s, "; {} listed files missing", c.missing);
    }
    s
}

fn coverage_status(c: &Coverage) -> Status {
    if !c.checked || c.files > 0 && c.not_covered.len() as u64 >= c.files {
        Status::NotMet
    } else if c.not_covered.is_empty() && c.missing == 0 {
        Status::Met
    } else {
        Status::Partial
    }
}

/// One status for several: met when all are, not met when all are, else partial.
fn combined(statuses: impl Iterator<Item = Status>) -> Status {
    let all: Vec<Status> = statuses.collect();
    if all.iter().all(|s| *s == Status::Met) {
        Status::Met
    } else if all.iter().all(|s| *s == Status::NotMet) {
        Status::NotMet
    } else {
        Status::Partial
    }
}

/// Dataset findings that say records or files differ from the baseline.
const DATASET_CHANGES: &[Code] = &[
    Code::DatasetRecordsInserted,
    Code::DatasetRecordsRemoved,
    Code::DatasetRecordsModified,
    Code::DatasetLabelFlip,
    Code::DatasetSchemaDrift,
    Code::DatasetFileChanged,
];

/// Findings that say a file's loader runs code it names (beyond pickle-based formats): such a
/// tree never meets AML.M0011, whatever its waivers say.
const RUNS_CODE: &[Code] = &[
    Code::HfRemoteCode,
    Code::PythonCode,
    Code::NativeCode,
    Code::TorchScriptCode,
    Code::ConfigCodeReference,
    Code::ChatTemplateInjection,
    Code::GgufTemplateInjection,
    Code::KerasLambdaLayer,
    Code::KerasTorchModule,
    Code::TfPythonOp,
];

/// The mitigations [`section`] assesses, and what in a run evidences each.
pub const EVIDENCED: &[(&str, &str)] = &[
    ("AML.M0016", "scan: every file inspected for embedded code without loading it"),
    ("AML.M0011", "scan: which files need a loader that can run code (pickle-based), imports checked against an allowlist"),
    ("AML.M0014", "scan --manifest, a policy's required signature, verify: files checked against trusted digests"),
    ("AML.M0013", "verify / a policy's required signature / a signed manifest: coverage by a verified signature"),
    ("AML.M0023", "--format cyclonedx: a CycloneDX 1.6 ML-BOM of the artifacts"),
    ("AML.M0025", "dataset manifest / dataset diff: record-level provenance against a signed baseline"),
    ("AML.M0007", "dataset diff: poisoning signals over inserted and changed records"),
];

/// The mitigation status this run evidences, and the techniques its findings evidence.
pub fn section(atlas: &Atlas, report: &Report, cx: RunContext) -> Section {
    let has = |c: Code| report.findings.iter().any(|f| f.code == c);
    let count = |c: Code| report.findings.iter().filter(|f| f.code == c).count();
    let total = report.summary.files;
    let scanned = report.summary.scanned;
    // A file whose format was identified but not inspected (not-inspected on the file itself,
    // not on a member) was read, but not checked for code: it does not count as inspected.
    let not_inspected = report.summary.not_inspected;
    let inspected = scanned.saturating_sub(not_inspected);
    let mut assessed: Vec<(&str, Status, String)> = Vec::new();
    if cx.scan {
        let bad = report.summary.errors + report.summary.skipped + not_inspected;
        let failing = report.summary.findings.at_least(report.inputs.fail_on);
        assessed.push((
            "AML.M0016",
            if bad == 0 && inspected > 0 { Status::Met } else if inspected > 0 { Status::Partial } else { Status::NotMet },
            format!("{inspected} of {total} files inspected for embedded code without loading them; {not_inspected} identified but not inspected; {} could not be read or were skipped; {failing} findings at or above '{}'", report.summary.errors + report.summary.skipped, report.inputs.fail_on.as_str()),
        ));
        // Files whose loader can run code: by format (pickle-based), and by what they name
        // (remote code, shipped Python, native libraries, config targets, chat templates that
        // reach into Python, Lambda layers, Python ops), waived or not: a waiver accepts the
        // code, it does not make the loader safe.
        let mut code_files: Vec<&str> = report
            .files
            .iter()
            .filter(|f| {
                f.format
                    .as_deref()
                    .is_some_and(crate::identify::Format::is_code_label)
            })
            .map(|f| f.path.as_str())
            .collect();
        let named_code: Vec<&str> = report
            .findings
            .iter()
            .chain(report.waived.iter().map(|w| &w.finding))
            .filter(|f| RUNS_CODE.contains(&f.code))
            .map(|f| f.path.as_str())
            .collect();
        let mut kinds: Vec<&str> = Vec::new();
        for c in RUNS_CODE {
            let any = report
                .findings
                .iter()
                .chain(report.waived.iter().map(|w| &w.finding))
                .any(|f| f.code == *c);
            if any && !kinds.contains(&c.as_str()) {
                kinds.push(c.as_str());
            }
        }
        for p in named_code {
            if !code_files.contains(&p) {
                code_files.push(p);
            }
        }
        assessed.push((
            "AML.M0011",
            if scanned == 0 { Status::NotMet } else if code_files.is_empty() { Status::Met } else { Status::Partial },
            if scanned == 0 {
                "no file was inspected, so nothing is known of the loaders they need".to_string()
            } else if code_files.is_empty() {
                format!("none of the {total} files needs a loader that can run code")
            } else {
                format!(
                    "{} of {total} files need a loader that can run code ({}), e.g. {}; {} checked against an allowlist",
                    code_files.len(),
                    if kinds.is_empty() {
                        "pickle-based".to_string()
                    } else {
                        format!("pickle-based, or naming code it runs: {}", kinds.join(", "))
                    },
                    code_files.iter().take(3).copied().collect::<Vec<_>>().join(", "),
                    if kinds.is_empty() { "their imports were" } else { "pickle imports were" },
                )
            },
        ));
    }
    // Verification of artifacts against a manifest or signature.
    let manifest_changed = count(Code::ManifestFileAdded)
        + count(Code::ManifestFileModified)
        + count(Code::ManifestFileRenamed)
        + count(Code::ManifestFileRemoved);
    let sig_failed = count(Code::SignatureInvalid)
        + count(Code::SignatureMalformed)
        + count(Code::SignatureSubjectMismatch)
        + count(Code::SignatureUnsafeName);
    let changed = manifest_changed
        + sig_failed
        + count(Code::PolicySignatureRequired)
        + count(Code::SignedFileMissing)
        + count(Code::SignedFileModified)
        + count(Code::UnsignedFile);
    let verified = has(Code::ManifestVerified) || has(Code::SignatureVerified);
    let unsigned = has(Code::ManifestUnsigned);
    // What was checked: the files of a scan, else the one artifact a verification names.
    let (matched, signed) = if total > 0 {
        (
            format!("all {total} files match the digests of a trusted manifest or signature"),
            format!("all {total} files are covered by a verified signature"),
        )
    } else {
        (
            "the artifact matches the digest of a trusted signature or manifest".to_string(),
            "the artifact's signature verified".to_string(),
        )
    };
    if cx.scan || cx.dataset_diff || cx.verify {
        let covered = &report.coverage;
        let (m14, m13) = match covered.first() {
            Some(_) => {
                // Digests from an unsigned manifest vouch for nothing anyone could not edit:
                // at most partial.
                let m14 = (
                    combined(covered.iter().map(|c| match coverage_status(c) {
                        Status::Met if !c.signed => Status::Partial,
                        s => s,
                    })),
                    covered
                        .iter()
                        .map(|c| coverage_evidence(c, "match the digests of"))
                        .collect::<Vec<_>>()
                        .join(" | "),
                );
                let m13 = (
                    combined(covered.iter().map(|c| {
                        if c.signed {
                            coverage_status(c)
                        } else {
                            Status::NotMet
                        }
                    })),
                    covered
                        .iter()
                        .map(|c| match (c.kind, c.signed) {
                            (CoverageKind::Manifest, false) if c.checked => format!(
                                "{} was used without a signature (--allow-unsigned)",
                                source(c)
                            ),
                            _ => coverage_evidence(c, "are covered by"),
                        })
                        .collect::<Vec<_>>()
                        .join(" | "),
                );
                (m14, m13)
            }
            None if cx.dataset_diff && sig_failed == 0 => {
                // The diff ran, so the baseline's signature verified, or was waived explicitly.
                let kinds: Vec<&str> = report
                    .findings
                    .iter()
                    .filter(|f| DATASET_CHANGES.contains(&f.code))
                    .map(|f| f.code.as_str())
                    .collect();
                let baseline = if unsigned { "unsigned" } else { "signed" };
                let m14 = if kinds.is_empty() {
                    (
                        if unsigned { Status::Partial } else { Status::Met },
                        format!("every record and file matches the {baseline} baseline manifest"),
                    )
                } else {
                    (Status::Partial, format!("the dataset differs from its {baseline} baseline manifest: {}", kinds.join(", ")))
                };
                let m13 = if unsigned {
                    (Status::NotMet, "the baseline manifest was used without a signature (--allow-unsigned)".to_string())
                } else {
                    (Status::Met, "the baseline manifest's signature verified".to_string())
                };
                (m14, m13)
            }
            None if !verified && !unsigned && sig_failed > 0 => {
                let e = "a signature was checked and did not verify".to_string();
                ((Status::NotMet, e.clone()), (Status::NotMet, e))
            }
            None if !verified && !unsigned => (
                (Status::NotMet, "no manifest or signature was checked in this run (scan --manifest, a policy's [require] signature or manifest, or verify)".to_string()),
                (Status::NotMet, "no signature was verified in this run".to_string()),
            ),
            None => {
                let m14 = if changed > 0 {
                    (Status::Partial, format!("{changed} files or records differ from their verified digests or are not covered"))
                } else if unsigned {
                    (Status::Partial, format!("{matched}, but the manifest was used without a signature (--allow-unsigned)"))
                } else {
                    (Status::Met, matched)
                };
                let m13 = if unsigned {
                    (Status::NotMet, "the manifest was used without a signature (--allow-unsigned)".to_string())
                } else if changed > 0 {
                    (Status::Partial, format!("a signature verified, but {changed} files or records are not covered by it or differ"))
                } else {
                    (Status::Met, signed)
                };
                (m14, m13)
            }
        };
        assessed.push(("AML.M0014", m14.0, m14.1));
        assessed.push(("AML.M0013", m13.0, m13.1));
    }
    assessed.push((
        "AML.M0023",
        if cx.bom { Status::Met } else { Status::NotMet },
        if cx.bom {
            format!("a CycloneDX 1.6 ML-BOM of {total} artifacts was written by this run")
        } else {
            "no BOM was written by this run (--format cyclonedx writes one)".to_string()
        },
    ));
    if cx.dataset_diff {
        let flagged: usize = report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning && f.code.as_str().starts_with("dataset-"))
            .count();
        assessed.push((
            "AML.M0025",
            if unsigned { Status::Partial } else { Status::Met },
            if unsigned {
                "the dataset was compared record by record with a baseline manifest that was not signed".to_string()
            } else {
                "the dataset was compared record by record with a signed, verified baseline manifest".to_string()
            },
        ));
        assessed.push((
            "AML.M0007",
            if flagged == 0 { Status::Met } else { Status::Partial },
            if flagged == 0 {
                "no inserted, changed or suspicious records against the baseline".to_string()
            } else {
                format!("{flagged} poisoning signals fired: the records they list need review or removal before training")
            },
        ));
    }
    let mut mitigations: Vec<MitigationStatus> = Vec::new();
    for (id, status, evidence) in &assessed {
        mitigations.push(MitigationStatus {
            id: id.to_string(),
            name: atlas
                .mitigations
                .get(*id)
                .map(|m| m.name.clone())
                .unwrap_or_default(),
            status: *status,
            evidence: evidence.clone(),
        });
    }
    for m in atlas.mitigations.values() {
        if !assessed.iter().any(|(id, _, _)| *id == m.id) {
            mitigations.push(MitigationStatus {
                id: m.id.clone(),
                name: m.name.clone(),
                status: Status::NotAssessed,
                evidence: "outside what this run can evidence".into(),
            });
        }
    }
    let mut hits: BTreeMap<&str, (u64, BTreeSet<&str>)> = BTreeMap::new();
    for f in &report.findings {
        let info = f.code.info();
        for t in info.atlas {
            let e = hits.entry(t).or_default();
            e.0 += 1;
            e.1.insert(info.name);
        }
    }
    let techniques = hits
        .into_iter()
        .map(|(id, (n, codes))| TechniqueHits {
            id: id.to_string(),
            name: atlas.techniques.get(id).cloned().unwrap_or_default(),
            findings: n,
            codes: codes.into_iter().map(String::from).collect(),
        })
        .collect();
    Section {
        data_version: atlas.version.clone(),
        attribution: ATTRIBUTION.into(),
        mitigations,
        techniques,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_extract_parses() {
        let a = bundled();
        assert_eq!(a.version, "5.6.0");
        assert_eq!(a.mitigations.len(), 35);
        assert_eq!(a.mitigations["AML.M0014"].name, "Verify AI Artifacts");
        assert!(a.mitigations["AML.M0014"].techniques.contains("AML.T0010"));
        assert_eq!(a.techniques["AML.T0011.000"], "Unsafe AI Artifacts");
    }

    fn finding(code: Code) -> crate::finding::Finding {
        crate::finding::Finding::new(code, "d", "", crate::ev! {})
    }

    /// (M0014, M0013) status and evidence for a run with these findings.
    fn verification(
        cx: RunContext,
        findings: &[Code],
        coverage: Option<Coverage>,
    ) -> Vec<(Status, String)> {
        let mut r = Report::new(
            vec!["d".into()],
            Severity::Error,
            Vec::new(),
            findings.iter().map(|c| finding(*c)).collect(),
        );
        r.coverage.extend(coverage);
        let s = section(&bundled(), &r, cx);
        ["AML.M0014", "AML.M0013"]
            .iter()
            .map(|id| {
                let m = s.mitigations.iter().find(|m| m.id == *id).unwrap();
                (m.status, m.evidence.clone())
            })
            .collect()
    }

    #[test]
    fn signature_coverage_sets_verification_status() {
        let cx = || RunContext {
            scan: true,
            ..Default::default()
        };
        let cover = |verified, files, not_covered: &[&str], missing| Coverage {
            kind: CoverageKind::Signature,
            source: "d/model.sig".into(),
            signed: verified,
            checked: verified,
            files,
            not_covered: not_covered.iter().map(|s| s.to_string()).collect(),
            missing,
        };
        let all = verification(cx(), &[], Some(cover(true, 3, &[], 0)));
        assert_eq!(
            all[1],
            (
                Status::Met,
                "3 of 3 files are covered by the verified signature d/model.sig".into()
            )
        );
        let some = verification(
            cx(),
            &[Code::UnsignedFile],
            Some(cover(true, 3, &["d/x"], 0)),
        );
        assert_eq!(
            some[1],
            (
                Status::Partial,
                "2 of 3 files are covered by the verified signature d/model.sig; not covered: d/x"
                    .into()
            )
        );
        let missing = verification(cx(), &[], Some(cover(true, 2, &[], 1)));
        assert_eq!(missing[0].0, Status::Partial);
        assert!(missing[0].1.ends_with("; 1 listed files missing"));
        let bad = verification(
            cx(),
            &[Code::SignatureInvalid],
            Some(cover(false, 0, &[], 0)),
        );
        assert_eq!(bad[0].0, Status::NotMet);
        assert_eq!(bad[1].0, Status::NotMet);
        let none = verification(cx(), &[], None);
        assert_eq!(none[0].0, Status::NotMet);
        // A verification without coverage data (a manifest, a bundle) goes by its findings.
        let v = RunContext {
            verify: true,
            ..Default::default()
        };
        let manifest = verification(v.clone(), &[Code::ManifestVerified], None);
        assert_eq!(manifest[0].0, Status::Met);
        let bundle = verification(v, &[Code::SignatureInvalid], None);
        assert_eq!(
            bundle[1],
            (
                Status::NotMet,
                "a signature was checked and did not verify".into()
            )
        );
    }

    #[test]
    fn dataset_diff_baseline_sets_verification_status() {
        let cx = || RunContext {
            dataset_diff: true,
            ..Default::default()
        };
        let same = verification(cx(), &[Code::DatasetUnchanged], None);
        assert_eq!(same[0].0, Status::Met);
        assert_eq!(same[1].0, Status::Met);
        let poisoned = verification(
            cx(),
            &[Code::DatasetRecordsInserted, Code::DatasetLabelFlip],
            None,
        );
        assert_eq!(
            poisoned[0],
            (
                Status::Partial,
                "the dataset differs from its signed baseline manifest: dataset-records-inserted, dataset-label-flip".into()
            )
        );
        let unsigned = verification(
            cx(),
            &[Code::ManifestUnsigned, Code::DatasetUnchanged],
            None,
        );
        assert_eq!(unsigned[0].0, Status::Partial);
        assert_eq!(unsigned[1].0, Status::NotMet);
        let forged = verification(cx(), &[Code::SignatureInvalid], None);
        assert_eq!(forged[1].0, Status::NotMet);
    }

    #[test]
    fn every_code_technique_is_known() {
        let a = bundled();
        for c in crate::finding::CODES {
            for t in c.atlas {
                assert!(
                    a.techniques.contains_key(*t),
                    "{} cites unknown {t}",
                    c.name
                );
            }
        }
    }
}
