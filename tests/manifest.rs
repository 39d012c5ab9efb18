//! Auditor manifests: create, sign, verify; added, removed, modified and renamed files; trust.

mod common;

use modelgate::digest::HashAlg;
use modelgate::finding::{Code, Severity};
use modelgate::manifest::{self, UnverifiedManifest};
use modelgate::scan::{scan, ScanOptions};
use modelgate::signature::keys::{SigningKey, VerifyingKey};
use std::path::{Path, PathBuf};

fn tree(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modelgate-manifest-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(
        d.join("weights.safetensors"),
        std::fs::read("testdata/benign/safetensors/model.safetensors").unwrap(),
    )
    .unwrap();
    std::fs::write(d.join("config.json"), b"{}\n").unwrap();
    std::fs::write(d.join("sub/tokenizer.json"), b"{\"v\": 1}\n").unwrap();
    d
}

fn diff_codes(root: &Path, trusted: &manifest::TrustedManifest) -> Vec<Code> {
    let opts = ScanOptions {
        digests: vec![HashAlg::Sha256],
        ..ScanOptions::default()
    };
    let report = scan(&[root.to_path_buf()], &opts).unwrap();
    let mut c: Vec<Code> = manifest::diff(trusted, root, &report, &[])
        .iter()
        .map(|f| f.code)
        .collect();
    c.sort();
    c
}

fn keypair() -> (SigningKey, VerifyingKey) {
    let sk = SigningKey::generate_ed25519().unwrap();
    let vk = sk.verifying_key();
    (sk, vk)
}

#[test]
fn signed_manifest_round_trip_and_changes() {
    let root = tree("changes");
    let (m, report) = manifest::create(
        &root,
        &[HashAlg::Sha256, HashAlg::Blake3],
        Severity::Error,
        &[],
    )
    .unwrap();
    assert_eq!(report.exit_code(), 0);
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["config.json", "sub/tokenizer.json", "weights.safetensors"]
    );
    assert_eq!(m.files[2].format.as_deref(), Some("safetensors"));
    assert_eq!(m.files[2].digests.len(), 2);
    let bytes = m.to_bytes();
    // Deterministic: the same tree gives the same bytes.
    assert_eq!(
        manifest::create(
            &root,
            &[HashAlg::Sha256, HashAlg::Blake3],
            Severity::Error,
            &[]
        )
        .unwrap()
        .0
        .to_bytes(),
        bytes
    );
    let (sk, vk) = keypair();
    let sig = manifest::sign(&bytes, &sk);
    let trusted = UnverifiedManifest::new(bytes.clone())
        .verify(&sig, &vk)
        .unwrap();
    assert!(trusted.signer.is_some());
    assert_eq!(diff_codes(&root, &trusted), vec![Code::ManifestVerified]);

    std::fs::write(root.join("config.json"), b"{\"evil\": 1}\n").unwrap();
    std::fs::rename(root.join("sub/tokenizer.json"), root.join("sub/tok.json")).unwrap();
    std::fs::remove_file(root.join("weights.safetensors")).unwrap();
    std::fs::write(root.join("extra.pkl"), b"\x80\x02N.").unwrap();
    let mut want = vec![
        Code::ManifestFileModified,
        Code::ManifestFileRenamed,
        Code::ManifestFileRemoved,
        Code::ManifestFileAdded,
    ];
    want.sort();
    assert_eq!(diff_codes(&root, &trusted), want);
}

#[test]
fn trust_is_earned() {
    let root = tree("trust");
    let (m, _) = manifest::create(&root, &[HashAlg::Sha256], Severity::Error, &[]).unwrap();
    let bytes = m.to_bytes();
    let (sk, _) = keypair();
    let (_, other) = keypair();
    let sig = manifest::sign(&bytes, &sk);
    // Another key.
    let e = UnverifiedManifest::new(bytes.clone())
        .verify(&sig, &other)
        .err()
        .unwrap();
    assert_eq!(e.0, Code::SignatureInvalid);
    // A signature over other bytes (the manifest was edited after signing).
    let mut edited = bytes.clone();
    let i = edited.windows(4).position(|w| w == b"\"pas").unwrap();
    edited[i + 1] = b'P';
    let e = UnverifiedManifest::new(edited)
        .verify(&sig, &sk.verifying_key())
        .err()
        .unwrap();
    assert_eq!(e.0, Code::SignatureInvalid);
    // ECDSA keys sign manifests too.
    let ec =
        SigningKey::from_pem(&std::fs::read_to_string("testdata/keys/p384.key").unwrap()).unwrap();
    let sig = manifest::sign(&bytes, &ec);
    assert!(UnverifiedManifest::new(bytes.clone())
        .verify(&sig, &ec.verifying_key())
        .is_ok());
    // Unsigned only by explicit choice, and the report says so.
    let t = UnverifiedManifest::new(bytes).trust_unsigned().unwrap();
    assert!(t.signer.is_none());
    assert_eq!(diff_codes(&root, &t), vec![Code::ManifestUnsigned]);
    // Not a manifest.
    assert!(UnverifiedManifest::new(b"{}".to_vec())
        .trust_unsigned()
        .is_err());
}

#[test]
fn committed_manifest_schema_is_current() {
    let now = common::schema_text(&schemars::schema_for!(modelgate::manifest::Manifest));
    common::assert_committed_schema("manifest.schema.json", &now);
}
