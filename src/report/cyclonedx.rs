//! CycloneDX 1.6 ML-BOM for auditors: one component per artifact (machine-learning-model, data
//! or file) with its SHA-256, format and signature status; MITRE ATLAS as a standard in
//! `definitions`, and the mitigation status this run evidences as an attestation in
//! `declarations` (conformance 1 met, 0.5 partial, 0 not met; not assessed is left out).

use super::{CoverageKind, FileStatus, Report};
use crate::finding::Code;
use crate::report::atlas::Status;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

const DATA_EXTENSIONS: &[&str] = &[
    "csv", "tsv", "jsonl", "ndjson", "parquet", "arrow", "txt", "json", "tar", "tfrecord",
];

fn kind(path: &str, format: Option<&str>) -> &'static str {
    if format.is_some_and(crate::identify::Format::is_model_label) {
        return "machine-learning-model";
    }
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if DATA_EXTENSIONS.contains(&ext.as_str()) {
        "data"
    } else {
        "file"
    }
}

/// Codes that say a file is not covered by a manifest or signature.
const NOT_COVERED: &[Code] = &[
    Code::ManifestFileAdded,
    Code::ManifestFileModified,
    Code::ManifestFileRenamed,
    Code::UnsignedFile,
    Code::SignedFileModified,
    Code::PolicySignatureRequired,
];

/// What the run's signatures and manifests say of a file that no finding calls uncovered.
fn covered_status(r: &Report) -> &'static str {
    let any = |c: Code| r.findings.iter().any(|f| f.code == c);
    let checked = || r.coverage.iter().filter(|c| c.checked);
    if checked().any(|c| c.signed) || any(Code::SignatureVerified) {
        "verified"
    } else if checked().next().is_some() || any(Code::ManifestUnsigned) {
        "matches an unsigned manifest"
    } else {
        "not checked"
    }
}

/// A file's signature or manifest status, given whether a finding says it is not covered and
/// the status of covered files (`covered_status`, once per report).
fn signature_status(
    r: &Report,
    path: &str,
    not_covered: bool,
    covered: &'static str,
) -> &'static str {
    match r.coverage.iter().find(|c| c.source == path) {
        Some(c) => match c.kind {
            CoverageKind::Signature => "the signature",
            CoverageKind::Manifest => "the manifest",
        },
        None if not_covered => "not covered",
        None => covered,
    }
}

pub fn render(r: &Report) -> String {
    // Per path, once: the number of findings and whether one says it is not covered.
    let mut per_path: HashMap<&str, (usize, bool)> = HashMap::new();
    for f in &r.findings {
        let e = per_path.entry(f.path.as_str()).or_default();
        e.0 += 1;
        e.1 |= NOT_COVERED.contains(&f.code);
    }
    let covered = covered_status(r);
    let mut serial = Sha256::new();
    // A file named twice (overlapping roots) is listed twice; bom-refs must stay unique.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    // Components borrow from the report (no JSON tree per file): a BOM of 100k files costs
    // about what the other formats do.
    let components: Vec<Component<'_>> = r
        .files
        .iter()
        .filter(|f| f.status != FileStatus::Skipped)
        .map(|f| {
            serial.update(f.path.as_bytes());
            let n = seen.entry(f.path.as_str()).or_default();
            *n += 1;
            let bom_ref = match *n {
                1 => format!("file:{}", f.path),
                n => format!("file:{}#{n}", f.path),
            };
            let hashes = f.digests.get("sha256").map(|d| {
                serial.update(d.as_bytes());
                [Hash {
                    alg: "SHA-256",
                    content: d,
                }]
            });
            let (findings, not_covered) =
                per_path.get(f.path.as_str()).copied().unwrap_or_default();
            let mut properties = Vec::with_capacity(5);
            if let Some(fmt) = &f.format {
                properties.push(Prop::new("modelgate:format", fmt.clone()));
            }
            properties.push(Prop::new(
                "modelgate:status",
                format!("{:?}", f.status).to_lowercase(),
            ));
            properties.push(Prop::new("modelgate:findings", findings.to_string()));
            properties.push(Prop::new(
                "modelgate:signature",
                signature_status(r, &f.path, not_covered, covered).to_string(),
            ));
            if let Some(s) = f.size {
                properties.push(Prop::new("modelgate:size", s.to_string()));
            }
            Component {
                kind: kind(&f.path, f.format.as_deref()),
                bom_ref,
                name: &f.path,
                hashes,
                properties,
            }
        })
        .collect();
    let d = serial.finalize();
    let mut u = [0u8; 16];
    u.copy_from_slice(&d[..16]);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    let h = crate::digest::hex(&u);
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    );
    let mut bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{uuid}"),
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "modelgate", "version": r.tool.version}]},
            // What the BOM describes: the scanned tree (a model when it holds one).
            "component": {
                "type": if components.iter().any(|c| c.kind == "machine-learning-model") { "machine-learning-model" } else { "data" },
                "bom-ref": "root",
                "name": r.inputs.roots.join(", "),
            },
            "properties": [
                {"name": "modelgate:roots", "value": r.inputs.roots.join(", ")},
                {"name": "modelgate:verdict", "value": format!("{:?}", r.summary.verdict).to_lowercase()},
            ],
        },
        "components": [],
    });
    if let Some(p) = &r.inputs.policy {
        if let Some(props) = bom["metadata"]["properties"].as_array_mut() {
            props.push(json!({"name": "modelgate:policy", "value": p.path}));
            props.push(json!({"name": "modelgate:policy-sha256", "value": p.sha256}));
        }
    }
    if let Some(a) = &r.atlas {
        let requirements: Vec<Value> = a
            .mitigations
            .iter()
            .map(|m| json!({"bom-ref": format!("atlas:{}", m.id), "identifier": m.id, "title": m.name}))
            .collect();
        bom["definitions"] = json!({"standards": [{
            "bom-ref": "atlas",
            "name": "MITRE ATLAS mitigations",
            "version": a.data_version,
            "owner": "MITRE",
            "description": a.attribution,
            "requirements": requirements,
        }]});
        let assessed: Vec<_> = a
            .mitigations
            .iter()
            .filter(|m| m.status != Status::NotAssessed)
            .collect();
        let claims: Vec<Value> = assessed
            .iter()
            .map(|m| {
                json!({
                    "bom-ref": format!("claim:{}", m.id),
                    "predicate": format!("{} {}: {}", m.id, m.name, m.status.as_str()),
                    "reasoning": m.evidence,
                })
            })
            .collect();
        let map: Vec<Value> = assessed
            .iter()
            .map(|m| {
                let score = match m.status {
                    Status::Met => 1.0,
                    Status::Partial => 0.5,
                    _ => 0.0,
                };
                json!({
                    "requirement": format!("atlas:{}", m.id),
                    "claims": [format!("claim:{}", m.id)],
                    "conformance": {"score": score, "rationale": m.evidence},
                })
            })
            .collect();
        bom["declarations"] = json!({
            "assessors": [{"bom-ref": "assessor:modelgate", "thirdParty": false}],
            "attestations": [{
                "summary": "MITRE ATLAS mitigations evidenced by this modelgate run",
                "assessor": "assessor:modelgate",
                "map": map,
            }],
            "claims": claims,
        });
    }
    let out = Bom {
        head: &bom,
        components: &components,
    };
    // Sized up front (a component takes about 800 bytes pretty-printed): no doubling of a
    // large buffer while it is written.
    let mut buf = Vec::with_capacity(components.len().saturating_mul(800).saturating_add(1 << 16));
    if serde_json::to_writer_pretty(&mut buf, &out).is_err() {
        return String::new();
    }
    buf.push(b'\n');
    String::from_utf8(buf).unwrap_or_default()
}

#[derive(serde::Serialize)]
struct Hash<'a> {
    alg: &'static str,
    content: &'a str,
}

#[derive(serde::Serialize)]
struct Prop {
    name: &'static str,
    value: String,
}

impl Prop {
    fn new(name: &'static str, value: String) -> Prop {
        Prop { name, value }
    }
}

#[derive(serde::Serialize)]
struct Component<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hashes: Option<[Hash<'a>; 1]>,
    properties: Vec<Prop>,
}

/// The BOM: its JSON head with the components serialized in place.
struct Bom<'a> {
    head: &'a Value,
    components: &'a [Component<'a>],
}

impl serde::Serialize for Bom<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some(obj) = self.head.as_object() else {
            return self.head.serialize(s);
        };
        let mut m = s.serialize_map(Some(obj.len()))?;
        for (k, v) in obj {
            if k == "components" {
                m.serialize_entry(k, self.components)?;
            } else {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Severity};
    use crate::report::{Coverage, FileEntry};

    fn file(p: &str) -> FileEntry {
        FileEntry {
            path: p.into(),
            size: Some(1),
            format: None,
            status: FileStatus::Scanned,
            reason: None,
            digests: Default::default(),
            same_as: None,
            verdict: crate::report::Verdict::Pass,
            seconds: None,
            remote: None,
        }
    }

    #[test]
    fn a_file_modified_since_signing_is_not_covered() {
        let mut r = Report::new(
            vec!["m".into()],
            Severity::Error,
            vec![file("m/a"), file("m/b"), file("m/model.sig")],
            vec![Finding::new(
                Code::SignedFileModified,
                "m/a",
                "modified",
                crate::ev! {},
            )],
        );
        r.coverage.push(Coverage {
            kind: CoverageKind::Signature,
            source: "m/model.sig".into(),
            signed: true,
            checked: true,
            files: 2,
            not_covered: vec!["m/a".into()],
            missing: 0,
        });
        let bom: Value = serde_json::from_str(&render(&r)).unwrap();
        let status: Vec<(String, String)> = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let p = c["properties"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == "modelgate:signature")
                    .unwrap();
                (
                    c["name"].as_str().unwrap().into(),
                    p["value"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            status,
            [
                ("m/a".to_string(), "not covered".to_string()),
                ("m/b".into(), "verified".into()),
                ("m/model.sig".into(), "the signature".into()),
            ]
        );
    }

    #[test]
    fn a_file_listed_twice_keeps_bom_refs_unique() {
        let r = Report::new(
            vec!["m".into(), "m".into()],
            Severity::Error,
            vec![file("m/a"), file("m/a")],
            Vec::new(),
        );
        let bom: Value = serde_json::from_str(&render(&r)).unwrap();
        let refs: Vec<&str> = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["bom-ref"].as_str().unwrap())
            .collect();
        assert_eq!(refs, ["file:m/a", "file:m/a#2"]);
    }
}
