//! The gate's outputs on a fixture tree with mixed severities and a policy with waivers (used,
//! unused, expired): SARIF and CycloneDX validated against the official schemas (vendored in
//! testdata/schemas, checked by the real `jsonschema` from PyPI in target/schema-venv), JUnit,
//! the ATLAS section, and policy errors with file and line.

mod common;
use common::copy_dir;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        common::python_venv("schema-venv", "tests/interop/requirements-schema.txt")
            .join("bin/python")
    })
}

fn valid(schema: &str, doc: &Path) {
    // The schema validator comes from PyPI: offline, the document is only parsed.
    if common::offline("schema validation") {
        return;
    }
    let out = Command::new(python())
        .arg(root().join("tests/interop/validate.py"))
        .arg(root().join("testdata/schemas").join(schema))
        .arg(doc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} is not valid against {schema}:\n{}{}",
        doc.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn modelgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

const POLICY: &str = r#"# A policy with a used, an unused and an expired waiver, a severity override and a
# required signature.
fail_on = "error"

[severity]
"format-mismatch" = "info"

[require.signature]
public_key = "ec-p256.pub"

[[waiver]]
code = "pickle-dangerous-import"
path = "tree/joblib/*.joblib"
reason = "quarantined sample kept for the scanner's own tests"
expires = "2999-12-31"

[[waiver]]
code = "pickle-dangerous-import"
path = "nowhere/**"
reason = "matches nothing"

[[waiver]]
code = "pickle-dangerous-import"
path = "tree/torch/**"
reason = "old exception"
expires = "2020-01-01"
"#;

/// The fixture tree: the OMS toy model signed by the real model_signing 1.1.1 (signed files),
/// plus a clean model and two malicious ones added after signing (unsigned files).
fn tree(name: &str) -> PathBuf {
    let d = root().join("target/outputs-test").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let oms = root().join("testdata/interop/oms");
    copy_dir(&oms.join("toy-model"), &d.join("tree"));
    std::fs::copy(oms.join("toy-model.key-p256.sig"), d.join("tree/model.sig")).unwrap();
    std::fs::copy(oms.join("ec-p256.pub"), d.join("ec-p256.pub")).unwrap();
    copy_dir(&root().join("examples/clean"), &d.join("tree/clean"));
    std::fs::create_dir_all(d.join("tree/joblib")).unwrap();
    std::fs::create_dir_all(d.join("tree/torch")).unwrap();
    std::fs::copy(
        root().join("examples/malicious/classifier.joblib"),
        d.join("tree/joblib/classifier.joblib"),
    )
    .unwrap();
    std::fs::copy(
        root().join("examples/malicious/pytorch_model.bin"),
        d.join("tree/torch/pytorch_model.bin"),
    )
    .unwrap();
    std::fs::write(d.join("modelgate.toml"), POLICY).unwrap();
    d
}

/// An output with the tool's version taken out, so a release does not change the snapshots.
fn versionless(s: &str) -> String {
    let v = env!("CARGO_PKG_VERSION");
    let s = s
        .replace(&format!("\"{v}\""), "\"[version]\"")
        .replace(&format!("modelgate {v}"), "modelgate [version]");
    // JUnit times vary from run to run.
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find(" time=\"") {
        out.push_str(&rest[..i]);
        out.push_str(" time=\"[t]\"");
        let after = &rest[i + 7..];
        rest = after.find('"').map_or("", |j| &after[j + 1..]);
    }
    out.push_str(rest);
    out
}

#[test]
fn every_format_from_one_run_with_a_policy() {
    let d = tree("formats");
    const SCAN: [&str; 4] = ["scan", "tree", "--policy", "modelgate.toml"];
    let out = modelgate(
        &d,
        &[
            SCAN.as_slice(),
            &[
                "--format",
                "text",
                "--format",
                "sarif=out.sarif",
                "--format",
                "cyclonedx=bom.json",
                "--format",
                "junit=junit.xml",
                "--format",
                "json=report.json",
            ],
        ]
        .concat(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    valid("sarif-schema-2.1.0.json", &d.join("out.sarif"));
    valid("cyclonedx/bom-1.6.schema.json", &d.join("bom.json"));

    // Each format, whole: what a reader of the report sees.
    insta::assert_snapshot!("report_text", versionless(&text));
    for (name, file) in [
        ("report_json", "report.json"),
        ("report_sarif", "out.sarif"),
        ("report_junit", "junit.xml"),
        ("report_cyclonedx", "bom.json"),
    ] {
        let body = std::fs::read_to_string(d.join(file)).unwrap();
        insta::assert_snapshot!(name, versionless(&body));
    }

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("report.json")).unwrap()).unwrap();
    let codes: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    // The used waiver moved the joblib finding to `waived`; the expired one did not apply.
    let waived = report["waived"].as_array().unwrap();
    assert!(waived
        .iter()
        .all(|w| w["finding"]["path"] == "tree/joblib/classifier.joblib"));
    assert!(!waived.is_empty());
    assert!(!codes.contains(&("pickle-dangerous-import", "tree/joblib/classifier.joblib")));
    assert!(codes.contains(&("pickle-dangerous-import", "tree/torch/pytorch_model.bin")));
    assert!(codes.contains(&("policy-waiver-unused", "modelgate.toml")));
    assert!(codes.contains(&("policy-waiver-expired", "modelgate.toml")));
    // ATLAS: data version and statuses.
    let atlas = &report["atlas"];
    assert_eq!(atlas["data_version"], "5.6.0");
    let status = |id: &str| {
        atlas["mitigations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .map(|m| m["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status("AML.M0016"), "met");
    assert_eq!(status("AML.M0011"), "partial");
    assert_eq!(status("AML.M0014"), "partial");
    assert_eq!(status("AML.M0013"), "partial");
    assert_eq!(status("AML.M0023"), "met");
    assert_eq!(status("AML.M0018"), "not-assessed");

    // SARIF: one rule per code, stable fingerprints, relative URIs.
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("out.sarif")).unwrap()).unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        modelgate::finding::CODES.len()
    );
    let first = &run["results"][0];
    assert!(first["partialFingerprints"]["modelgateFinding/v1"].is_string());
    assert!(
        !first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with('/')
    );
    // The same run again: the same fingerprints, in the same order.
    let again = modelgate(
        &d,
        &[SCAN.as_slice(), &["--format", "sarif=again.sarif"]].concat(),
    );
    assert_eq!(again.status.code(), Some(1));
    let fp = |p: &str| -> Vec<String> {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(p)).unwrap()).unwrap();
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["modelgateFinding/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let (a, b) = (fp("out.sarif"), fp("again.sarif"));
    assert_eq!(a, b);
    assert_eq!(a.len(), 13, "12 findings and one waived");
    // Without the policy the scanner's own findings keep their fingerprints.
    std::fs::write(d.join("empty.toml"), "").unwrap();
    let plain = modelgate(
        &d,
        &[
            "scan",
            "tree",
            "--policy",
            "empty.toml",
            "--format",
            "sarif=plain.sarif",
        ],
    );
    assert_eq!(plain.status.code(), Some(1));
    let c = fp("plain.sarif");
    assert_eq!(c.len(), 4, "{c:?}");
    assert!(c.iter().all(|x| a.contains(x)));
    // The waived finding is a suppressed result with the waiver's reason.
    let suppressed: Vec<&serde_json::Value> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "quarantined sample kept for the scanner's own tests (waived until 2999-12-31)"
    );

    // JUnit: one case per file, failures for the files at or above the threshold.
    let junit = std::fs::read_to_string(d.join("junit.xml")).unwrap();
    assert!(junit.contains(
        "<testcase classname=\"tree/torch\" name=\"tree/torch/pytorch_model.bin\" time=\""
    ));
    assert!(junit.contains("<failure type=\""));
    assert!(junit.contains("name=\"tree/a/b.txt\" time=\""));
}

#[test]
fn invalid_policy_is_exit_2_with_file_and_line() {
    let d = tree("invalid");
    for (policy, expected) in [
        (
            "fail_on = \"error\"\n\n[[waiver]]\ncode = \"no-such-code\"\npath = \"*\"\nreason = \"x\"\n",
            "modelgate.toml:3: unknown finding code 'no-such-code'",
        ),
        // The line is where the code is, not a comment that names it first.
        (
            "# [[waiver]] and no-such-code in a comment\n[severity]\n\"no-such-code\" = \"info\"\n",
            "modelgate.toml:3: unknown finding code 'no-such-code'",
        ),
        (
            "# [[waiver]]\n[[waiver]]\ncode = \"unsigned-file\"\npath = \"*\"\nreason = \"x\"\n\n[[waiver]]\ncode = \"nope\"\npath = \"*\"\nreason = \"x\"\n",
            "modelgate.toml:7: unknown finding code 'nope'",
        ),
        ("fail_on = \"error\"\nbogus = 1\n", "modelgate.toml:2:"),
    ] {
        std::fs::write(d.join("modelgate.toml"), policy).unwrap();
        let out = modelgate(&d, &["scan", "tree", "--policy", "modelgate.toml"]);
        assert_eq!(out.status.code(), Some(2), "{policy}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{policy}\n{err}");
    }
}

#[test]
fn full_atlas_release_loads_leniently() {
    let out = modelgate(
        root(),
        &[
            "atlas",
            "--atlas-data",
            "testdata/atlas/ATLAS.yaml",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["data_version"], "5.6.0");
    // Mitigations outside a scanner's reach are listed by id and name, as not assessed.
    let na = v["not_assessed"].as_array().unwrap();
    assert_eq!(na.len(), 35 - v["mitigations"].as_array().unwrap().len());
    assert!(na.contains(&serde_json::json!({"id": "AML.M0018", "name": "User Training"})));
    // A report format is refused: `atlas` describes, it reports no run.
    let out = modelgate(root(), &["atlas", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2));
    let a = modelgate::atlas::parse(
        &std::fs::read_to_string(root().join("testdata/atlas/ATLAS.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(a.mitigations.len(), 35);
    // The mis-indented link in AML.M0018 is still found.
    assert!(a.mitigations["AML.M0018"]
        .techniques
        .contains("AML.T0052.001"));
}

#[test]
fn committed_policy_schema_is_current() {
    common::assert_committed_schema("policy.schema.json", &modelgate::policy::json_schema());
}

#[test]
fn policy_requires_a_signed_manifest() {
    let d = root().join("target/outputs-test/manifest");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("release")).unwrap();
    copy_dir(&root().join("examples/clean"), &d.join("model"));
    let ok = |o: &Output| assert_eq!(o.status.code(), Some(0), "{o:?}");
    ok(&modelgate(&d, &["keygen", "-o", "release/k"]));
    ok(&modelgate(
        &d,
        &[
            "manifest",
            "create",
            "model",
            "-o",
            "release/MANIFEST.json",
            "--key",
            "release/k.key",
        ],
    ));
    std::fs::write(
        d.join("modelgate.toml"),
        "[require.manifest]\npath = \"release/MANIFEST.json\"\npublic_key = \"release/k.pub\"\n",
    )
    .unwrap();
    let scan = |d: &Path| {
        let out = modelgate(
            d,
            &[
                "scan",
                "model",
                "--policy",
                "modelgate.toml",
                "--format",
                "json",
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let codes: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f["code"].as_str().unwrap(),
                    f["path"].as_str().unwrap()
                )
            })
            .collect();
        let m14 = v["atlas"]["mitigations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == "AML.M0014")
            .map(|m| m["status"].as_str().unwrap().to_string())
            .unwrap();
        (out.status.code(), codes, m14)
    };
    let (code, codes, m14) = scan(&d);
    assert_eq!(code, Some(0), "{codes:?}");
    assert_eq!(codes, ["manifest-verified model"]);
    assert_eq!(m14, "met");

    // A file swapped after release fails the gate.
    std::fs::write(d.join("model/config.json"), "{\"swapped\": true}\n").unwrap();
    let (code, codes, m14) = scan(&d);
    assert_eq!(code, Some(1));
    assert_eq!(codes, ["manifest-file-modified model/config.json"]);
    assert_eq!(m14, "partial");

    // No manifest where the policy says: a finding that fails the gate, not a silent pass.
    std::fs::remove_file(d.join("release/MANIFEST.json.sig")).unwrap();
    let (code, codes, _) = scan(&d);
    assert_eq!(code, Some(1));
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert!(
        codes[0].starts_with("policy-signature-required "),
        "{codes:?}"
    );
}

#[test]
fn a_policy_inside_a_downloaded_tree_is_not_applied() {
    // A model that ships its own modelgate.toml waiving its payload.
    let d = root().join("target/outputs-test/carried-policy");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("project/models")).unwrap();
    std::fs::create_dir_all(d.join("elsewhere")).unwrap();
    let model = d.join("project/models/evil");
    copy_dir(&root().join("examples/malicious"), &model);
    std::fs::write(
        model.join("modelgate.toml"),
        "fail_on = \"critical\"\n[[waiver]]\ncode = \"pickle-dangerous-import\"\npath = \"**\"\nreason = \"trust me\"\n",
    )
    .unwrap();
    let codes = |o: &Output| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    // Scanned from elsewhere (a developer checking a download): reported, not applied.
    let out = modelgate(
        &d.join("elsewhere"),
        &["scan", model.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let found = codes(&out);
    assert!(
        found.contains(&"policy-not-applied".to_string()),
        "{found:?}"
    );
    assert_eq!(
        found
            .iter()
            .filter(|c| *c == "pickle-dangerous-import")
            .count(),
        3,
        "{found:?}"
    );
    // Scanned from its parent, or from inside the download (where the file is the working
    // directory's modelgate.toml): still part of the scanned tree, reported, never applied.
    for (cwd, target) in [(d.join("project"), "models/evil"), (model.clone(), ".")] {
        let out = modelgate(&cwd, &["scan", target, "--format", "json"]);
        assert_eq!(out.status.code(), Some(1), "{:?}", codes(&out));
        assert!(codes(&out).contains(&"policy-not-applied".to_string()));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("modelgate: policy"));
    }
    // Named with --policy, the person running the scan trusts it: applied.
    let out = modelgate(
        &d.join("project"),
        &[
            "scan",
            "models/evil",
            "--policy",
            "models/evil/modelgate.toml",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", codes(&out));
    let out = modelgate(&model, &["scan", ".", "--no-policy", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", codes(&out));
    assert!(!codes(&out).contains(&"policy-not-applied".to_string()));
    // A policy in the working directory applies to any tree scanned from there.
    std::fs::write(
        d.join("elsewhere/modelgate.toml"),
        "[severity]\n\"format-mismatch\" = \"info\"\n",
    )
    .unwrap();
    let out = modelgate(
        &d.join("elsewhere"),
        &["scan", model.to_str().unwrap(), "--format", "json"],
    );
    let found = codes(&out);
    assert!(
        !found.contains(&"policy-not-applied".to_string()),
        "{found:?}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_planted_signature_cannot_hang_or_exhaust_the_policy_check() {
    let d = tree("planted-signature");
    let sig = d.join("tree/model.sig");
    let codes = |o: &Output| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    // Larger than any bundle (sparse: costs no disk), then a FIFO that no one writes to.
    std::fs::remove_file(&sig).unwrap();
    std::fs::File::create(&sig)
        .unwrap()
        .set_len(modelgate::input::SIGNATURE_LIMIT + 1)
        .unwrap();
    let out = modelgate(&d, &["scan", "tree", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(codes(&out).contains(&"policy-signature-required".to_string()));
    std::fs::remove_file(&sig).unwrap();
    // mkfifo(1) keeps this test free of libc bindings.
    assert!(Command::new("mkfifo").arg(&sig).status().unwrap().success());
    let out = modelgate(&d, &["scan", "tree", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(codes(&out).contains(&"policy-signature-required".to_string()));
}
