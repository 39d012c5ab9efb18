//! OMS interop with bundles written by the real model_signing 1.1.1 (testdata/interop/oms),
//! and modelgate's own signatures, including tampering.

mod common;
use common::copy_dir;

use modelgate::finding::Code;
use modelgate::signature::keys::{SigningKey, VerifyingKey};
use modelgate::signature::oms::{self, Serialization};
use std::path::{Path, PathBuf};

fn oms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/interop/oms")
}

fn read(p: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn key(name: &str) -> String {
    String::from_utf8(read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/keys")
            .join(name),
    ))
    .unwrap()
}

fn codes(v: &oms::Verification) -> Vec<Code> {
    v.findings.iter().map(|f| f.code).collect()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modelgate-oms-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn our_statement_is_byte_identical_to_model_signing() {
    let dir = oms_dir();
    let hashed = oms::hash_model(&dir.join("toy-model"), &Serialization::default(), None).unwrap();
    assert_eq!(
        modelgate::digest::hex(&hashed.root()),
        "612493f3e6f4287c3ebd4c3a2bbce443577833f6d528cca98ab418cd96448bb7"
    );
    let ours = oms::statement(&hashed, &Serialization::default());
    assert_eq!(
        String::from_utf8(ours).unwrap(),
        String::from_utf8(read(dir.join("toy-model.key-p256.payload.json"))).unwrap()
    );
}

#[test]
fn bundles_from_model_signing_verify() {
    let dir = oms_dir();
    let pk = VerifyingKey::from_pem(std::str::from_utf8(&read(dir.join("ec-p256.pub"))).unwrap())
        .unwrap();
    for sig in [
        "toy-model.key-p256.sig",
        "toy-model.rust-signed.sig",
        "toy-model.shards100.sig",
        "toy-model.blake3.sig",
    ] {
        let v = oms::verify_with_key(
            &dir.join("toy-model"),
            &read(dir.join(sig)),
            &pk,
            None,
            &oms::Local::default(),
        );
        assert_eq!(
            codes(&v),
            vec![Code::SignatureVerified],
            "{sig}: {:#?}",
            v.findings
        );
        // An empty file has no shards, so shard serialization covers one file fewer.
        let files = if sig.contains("shards") { 8 } else { 9 };
        assert_eq!(v.covered, files, "{sig}");
    }
}

/// (what, how, the finding expected)
type Tamper = (&'static str, Box<dyn Fn(&Path)>, Code);

#[test]
fn tampering_is_found() {
    let dir = oms_dir();
    let pk = VerifyingKey::from_pem(std::str::from_utf8(&read(dir.join("ec-p256.pub"))).unwrap())
        .unwrap();
    let bundle = read(dir.join("toy-model.key-p256.sig"));
    let shards = read(dir.join("toy-model.shards100.sig"));
    let cases: Vec<Tamper> = vec![
        (
            "flip a byte",
            Box::new(|m: &Path| {
                let p = m.join("model.safetensors");
                let mut b = read(&p);
                b[500] ^= 1;
                std::fs::write(p, b).unwrap();
            }),
            Code::SignedFileModified,
        ),
        (
            "add a file",
            Box::new(|m: &Path| std::fs::write(m.join("evil.pkl"), b"x").unwrap()),
            Code::UnsignedFile,
        ),
        (
            "delete a file",
            Box::new(|m: &Path| std::fs::remove_file(m.join("a/b.txt")).unwrap()),
            Code::SignedFileMissing,
        ),
        (
            "grow a file",
            Box::new(|m: &Path| std::fs::write(m.join("config.json"), vec![b'x'; 300]).unwrap()),
            Code::SignedFileModified,
        ),
    ];
    for (what, mutate, code) in cases {
        for (kind, b) in [("files", &bundle), ("shards", &shards)] {
            let m = tmp(&format!("{what}-{kind}").replace(' ', "_"));
            copy_dir(&dir.join("toy-model"), &m);
            mutate(&m);
            let v = oms::verify_with_key(&m, b, &pk, None, &oms::Local::default());
            assert_eq!(codes(&v), vec![code], "{what} ({kind}): {:#?}", v.findings);
        }
    }
    // Wrong key.
    let other = VerifyingKey::from_pem(&key("p256.pub")).unwrap();
    let v = oms::verify_with_key(
        &dir.join("toy-model"),
        &bundle,
        &other,
        None,
        &oms::Local::default(),
    );
    assert_eq!(codes(&v), vec![Code::SignatureInvalid]);
    // Edited payload: the signature no longer covers it.
    let mut b: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    let payload = b["dsseEnvelope"]["payload"].as_str().unwrap().to_string();
    let mut raw = modelgate::signature::dsse::unb64(&payload).unwrap();
    let i = raw.iter().position(|c| *c == b'5').unwrap();
    raw[i] = b'6';
    b["dsseEnvelope"]["payload"] = modelgate::signature::dsse::b64(&raw).into();
    let v = oms::verify_with_key(
        &dir.join("toy-model"),
        &serde_json::to_vec(&b).unwrap(),
        &pk,
        None,
        &oms::Local::default(),
    );
    assert_eq!(codes(&v), vec![Code::SignatureInvalid]);
    // Not a bundle at all.
    let v = oms::verify_with_key(
        &dir.join("toy-model"),
        b"{}",
        &pk,
        None,
        &oms::Local::default(),
    );
    assert_eq!(codes(&v), vec![Code::SignatureMalformed]);
}

#[test]
fn modelgate_signs_and_verifies_on_every_curve() {
    let dir = oms_dir();
    for (sk, pk) in [
        ("p256.key", "p256.pub"),
        ("p384.key", "p384.pub"),
        ("p521.key", "p521.pub"),
        ("p256-sec1.key", ""),
    ] {
        let signing = SigningKey::from_pem(&key(sk)).unwrap();
        let verifying = if pk.is_empty() {
            signing.verifying_key()
        } else {
            VerifyingKey::from_pem(&key(pk)).unwrap()
        };
        for ser in [
            Serialization::default(),
            Serialization {
                shard_size: Some(100),
                ..Serialization::default()
            },
            Serialization {
                hash: modelgate::digest::HashAlg::Blake3,
                ..Serialization::default()
            },
            Serialization {
                hash: modelgate::digest::HashAlg::Blake2b,
                ..Serialization::default()
            },
        ] {
            let bundle = oms::sign_with_key(&dir.join("toy-model"), &ser, &signing, None).unwrap();
            let v = oms::verify_with_key(
                &dir.join("toy-model"),
                &bundle,
                &verifying,
                None,
                &oms::Local::default(),
            );
            assert_eq!(
                codes(&v),
                vec![Code::SignatureVerified],
                "{sk} {ser:?}: {:#?}",
                v.findings
            );
        }
    }
    assert!(
        SigningKey::from_pem(&key("ed25519.key")).is_err(),
        "model_signing rejects Ed25519 keys"
    );
}

#[test]
fn single_file_model_and_signature_inside_the_model() {
    let m = tmp("single");
    std::fs::create_dir_all(&m).unwrap();
    let f = m.join("weights.safetensors");
    std::fs::write(&f, b"0123456789").unwrap();
    let signing = SigningKey::from_pem(&key("p256.key")).unwrap();
    let bundle = oms::sign_with_key(&f, &Serialization::default(), &signing, None).unwrap();
    let v = oms::verify_with_key(
        &f,
        &bundle,
        &signing.verifying_key(),
        None,
        &oms::Local::default(),
    );
    assert_eq!(
        codes(&v),
        vec![Code::SignatureVerified],
        "{:#?}",
        v.findings
    );
    // The signature file inside the model directory is not part of the model.
    let sig = m.join("model.sig");
    let bundle = oms::sign_with_key(&m, &Serialization::default(), &signing, Some(&sig)).unwrap();
    std::fs::write(&sig, &bundle).unwrap();
    let v = oms::verify_with_key(
        &m,
        &bundle,
        &signing.verifying_key(),
        Some(&sig),
        &oms::Local::default(),
    );
    assert_eq!(
        codes(&v),
        vec![Code::SignatureVerified],
        "{:#?}",
        v.findings
    );
}

#[test]
fn keyless_bundle_is_verified_by_sigstore_before_its_payload_is_used() {
    use modelgate::signature::sigstore::{trusted_root, Signer};
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/conformance/sigstore-bundle-verify/happy-path-intoto-in-dsse-v3");
    let bundle = read(case.join("bundle.sigstore.json"));
    let root = trusted_root(None).unwrap();
    let model = case.join("bundle.sigstore.json");
    let right = Signer::Identity {
        identity: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
    };
    // The Sigstore checks pass; the statement is an in-toto one, but not model_signing's.
    let v = oms::verify_with_sigstore(&model, &bundle, &right, &root, None, &oms::Local::default());
    assert_eq!(
        codes(&v),
        vec![Code::SignatureMalformed],
        "{:#?}",
        v.findings
    );
    assert!(v.findings[0].message.contains("predicate type"));
    let wrong = Signer::Identity {
        identity: "mallory@example.com".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
    };
    let v = oms::verify_with_sigstore(&model, &bundle, &wrong, &root, None, &oms::Local::default());
    assert_eq!(codes(&v), vec![Code::SignatureInvalid], "{:#?}", v.findings);
}

fn pem_file(p: &Path) -> Vec<Vec<u8>> {
    modelgate::signature::chain::pem_certificates(&String::from_utf8(read(p)).unwrap()).unwrap()
}

#[test]
fn certificate_method() {
    use modelgate::signature::chain::parse_time;
    let dir = oms_dir();
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys");
    let model = dir.join("toy-model");
    let toy_ca = pem_file(&dir.join("toy-ca.pem"));
    let at = parse_time("2026-12-01T00:00:00Z").unwrap();
    // model_signing's certificate bundle verifies against its CA.
    let v = oms::verify_with_certificate(
        &model,
        &read(dir.join("toy-model.cert.sig")),
        &toy_ca,
        at,
        None,
        &oms::Local::default(),
    );
    assert_eq!(
        codes(&v),
        vec![Code::SignatureVerified],
        "{:#?}",
        v.findings
    );
    // A leaf that had expired when it signed: model_signing accepts it, modelgate does not.
    let v = oms::verify_with_certificate(
        &model,
        &read(dir.join("toy-model.cert-expired-leaf.sig")),
        &toy_ca,
        at,
        None,
        &oms::Local::default(),
    );
    assert_eq!(codes(&v), vec![Code::SignatureInvalid]);
    assert!(
        v.findings[0].message.contains("Expired"),
        "{}",
        v.findings[0].message
    );
    // Another anchor: rejected. The system's roots are never consulted.
    let ours = pem_file(&keys.join("ca-p384.pem"));
    let v = oms::verify_with_certificate(
        &model,
        &read(dir.join("toy-model.cert.sig")),
        &ours,
        at,
        None,
        &oms::Local::default(),
    );
    assert_eq!(codes(&v), vec![Code::SignatureInvalid]);
    // modelgate signs with a code-signing leaf: verifies; a TLS-only leaf does not.
    let sk = SigningKey::from_pem(&key("p256.key")).unwrap();
    for (leaf, ok) in [("leaf-p256.pem", true), ("tls-p256.pem", false)] {
        let mut chain = pem_file(&keys.join(leaf));
        chain.extend(ours.clone());
        let bundle =
            oms::sign_with_certificate(&model, &Serialization::default(), &sk, &chain, None)
                .unwrap();
        let v = oms::verify_with_certificate(
            &model,
            &bundle,
            &ours,
            modelgate::signature::chain::now(),
            None,
            &oms::Local::default(),
        );
        let want = if ok {
            Code::SignatureVerified
        } else {
            Code::SignatureInvalid
        };
        assert_eq!(codes(&v), vec![want], "{leaf}: {:#?}", v.findings);
    }
    // The key must belong to the certificate.
    let other = SigningKey::from_pem(&key("p384.key")).unwrap();
    let chain = pem_file(&keys.join("leaf-p256.pem"));
    assert!(
        oms::sign_with_certificate(&model, &Serialization::default(), &other, &chain, None)
            .is_err()
    );
}

/// Bundles as other clients write them (the Go client before 1.0 leaves the key hint out or
/// null, writes a null keyid and null tlogEntries) verify the same: the signature is checked
/// with the key the verifier is given, the hint is only a label.
#[test]
fn bundle_forms_of_other_clients_verify() {
    let dir = oms_dir();
    let pk = VerifyingKey::from_pem(std::str::from_utf8(&read(dir.join("ec-p256.pub"))).unwrap())
        .unwrap();
    let original: serde_json::Value =
        serde_json::from_slice(&read(dir.join("toy-model.key-p256.sig"))).unwrap();
    type Form = Box<dyn Fn(&mut serde_json::Value)>;
    let forms: Vec<Form> = vec![
        Box::new(|b| {
            b["verificationMaterial"]["publicKey"] = serde_json::json!({});
        }),
        Box::new(|b| {
            b["verificationMaterial"]["publicKey"]["hint"] = serde_json::Value::Null;
        }),
        Box::new(|b| {
            b["dsseEnvelope"]["signatures"][0]["keyid"] = serde_json::Value::Null;
            b["verificationMaterial"]["tlogEntries"] = serde_json::Value::Null;
        }),
    ];
    for (i, form) in forms.iter().enumerate() {
        let mut b = original.clone();
        form(&mut b);
        let bytes = serde_json::to_vec(&b).unwrap();
        let v = oms::verify_with_key(
            &dir.join("toy-model"),
            &bytes,
            &pk,
            None,
            &oms::Local::default(),
        );
        assert_eq!(
            codes(&v),
            vec![Code::SignatureVerified],
            "form {i}: {:#?}",
            v.findings
        );
    }
}

/// A signing certificate that is itself a CA (CA:TRUE, code-signing usage), as the OMS
/// conformance suite's and some vendors' are: accepted (model_signing and the Go client accept
/// it) with a certificate-ca-leaf warning, directly under the anchor or through an
/// intermediate; still refused without the code-signing usage or without a path to an anchor.
#[test]
fn ca_signing_certificates_are_accepted_with_a_warning() {
    let dir = oms_dir();
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys");
    let model = dir.join("toy-model");
    let root = pem_file(&keys.join("ca-p384.pem"));
    let sk = SigningKey::from_pem(&key("p256.key")).unwrap();
    let now = modelgate::signature::chain::now();
    /// (signing certificate, certificates after it in the bundle, anchors, findings)
    type Case<'a> = (&'a str, &'a [&'a str], &'a [Vec<u8>], Vec<Code>);
    let cases: [Case<'_>; 4] = [
        (
            "leaf-ca-p256.pem",
            &[],
            &root,
            vec![Code::SignatureVerified, Code::CertificateCaLeaf],
        ),
        (
            "leaf-ca-under-int-p256.pem",
            &["int-p384.pem"],
            &root,
            vec![Code::SignatureVerified, Code::CertificateCaLeaf],
        ),
        (
            "leaf-ca-tls-p256.pem",
            &[],
            &root,
            vec![Code::SignatureInvalid],
        ),
        // The intermediate is not an anchor and the chain does not carry it: no path.
        (
            "leaf-ca-under-int-p256.pem",
            &[],
            &root,
            vec![Code::SignatureInvalid],
        ),
    ];
    for (leaf, rest, anchors, want) in cases {
        let mut chain = pem_file(&keys.join(leaf));
        for r in rest {
            chain.extend(pem_file(&keys.join(r)));
        }
        let bundle =
            oms::sign_with_certificate(&model, &Serialization::default(), &sk, &chain, None)
                .unwrap();
        let v = oms::verify_with_certificate(
            &model,
            &bundle,
            anchors,
            now,
            None,
            &oms::Local::default(),
        );
        assert_eq!(codes(&v), want, "{leaf} {rest:?}: {:#?}", v.findings);
    }
    // Past the leaf's validity: refused.
    let chain = pem_file(&keys.join("leaf-ca-p256.pem"));
    let bundle =
        oms::sign_with_certificate(&model, &Serialization::default(), &sk, &chain, None).unwrap();
    let late = modelgate::signature::chain::parse_time("2200-01-01T00:00:00Z").unwrap();
    let v =
        oms::verify_with_certificate(&model, &bundle, &root, late, None, &oms::Local::default());
    assert_eq!(codes(&v), vec![Code::SignatureInvalid], "{:#?}", v.findings);
}

/// model_signing 0.2 signed a mis-encoded PAE (`DSSEV1`, the payload as Python's bytes repr)
/// with SHA-256 whatever the curve, over a Digests/v0.1 statement of one subject per file;
/// model_signing and the Go client still verify such bundles, and so does modelgate. Changing
/// a file still fails it.
#[test]
fn model_signing_0_2_bundles_verify() {
    use base64::Engine;
    use p384::ecdsa::signature::hazmat::PrehashSigner;
    use p384::pkcs8::DecodePrivateKey;
    use sha2::Digest;
    let b64 = base64::engine::general_purpose::STANDARD;
    let dir = tmp("v02");
    copy_dir(&oms_dir().join("toy-model"), &dir);
    let mut subjects = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for e in walk(&dir) {
        names.push(e);
    }
    names.sort();
    for n in &names {
        let digest = sha2::Sha256::digest(read(dir.join(n)));
        subjects.push(serde_json::json!({
            "name": n,
            "digest": {"sha256": digest.iter().map(|b| format!("{b:02x}")).collect::<String>()},
            "annotations": {"actual_hash_algorithm": "file-sha256"},
        }));
    }
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://model_signing/Digests/v0.1",
        "predicate": {"unused": "Unused, just passed due to API requirements"},
    });
    let payload = serde_json::to_vec_pretty(&statement).unwrap();
    let pt = "application/vnd.in-toto+json";
    let msg = modelgate::signature::dsse::pae_v02(pt, &payload);
    let sk = p384::ecdsa::SigningKey::from(
        p384::SecretKey::from_pkcs8_pem(&key("p384.key"))
            .or_else(|_| p384::SecretKey::from_sec1_pem(&key("p384.key")))
            .unwrap(),
    );
    let sig: p384::ecdsa::Signature = sk.sign_prehash(&sha2::Sha256::digest(&msg)).unwrap();
    let bundle = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": b64.encode(&payload),
            "payloadType": pt,
            "signatures": [{"sig": b64.encode(sig.to_der().as_bytes()), "keyid": ""}],
        },
    });
    let bytes = serde_json::to_vec(&bundle).unwrap();
    let pk = VerifyingKey::from_pem(&key("p384.pub")).unwrap();
    let v = oms::verify_with_key(&dir, &bytes, &pk, None, &oms::Local::default());
    assert_eq!(
        codes(&v),
        vec![Code::SignatureVerified],
        "{:#?}",
        v.findings
    );
    std::fs::write(dir.join(&names[0]), b"changed").unwrap();
    let v = oms::verify_with_key(&dir, &bytes, &pk, None, &oms::Local::default());
    assert!(
        codes(&v).contains(&Code::SignedFileModified),
        "{:#?}",
        v.findings
    );
    // The same signature over the proper PAE with SHA-384 is not what was signed.
    let other = modelgate::signature::dsse::pae(pt, &payload);
    assert!(!pk.verify(&other, sig.to_der().as_bytes()));
}

/// Files under `root`, relative, with '/'.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out
}

/// RFC 3161 timestamps (as the Go client 1.5 writes them into certificate bundles): a trusted
/// TSA's token over the signature makes the chain validate at the attested time, so a bundle
/// whose signing certificate expired three minutes after signing (testdata/generate_tsa.sh)
/// still verifies; without the TSA, or with a token that does not verify, the chain is
/// validated now and the expired leaf fails.
#[test]
fn rfc3161_timestamps_validate_the_chain_at_the_attested_time() {
    use modelgate::finding::Severity;
    let dir = oms_dir();
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys");
    let model = dir.join("toy-model");
    let root = pem_file(&keys.join("ca-p384.pem"));
    let bundle = read(dir.join("toy-model.cert-ts.sig"));
    let mut tsa_chain = pem_file(&keys.join("tsa-p256.pem"));
    tsa_chain.extend(root.clone());
    let tsa = oms::tsa_from_chain(&tsa_chain).unwrap();
    let v = oms::verify_with_certificate_ts(
        &model,
        &bundle,
        &root,
        None,
        std::slice::from_ref(&tsa),
        None,
        &oms::Local::default(),
    );
    assert_eq!(
        codes(&v),
        vec![Code::SignatureVerified, Code::SignatureTimestamp],
        "{:#?}",
        v.findings
    );
    assert_eq!(v.findings[1].severity, Severity::Info);
    // Without the TSA: not checked (a warning), and the leaf has expired since.
    let v = oms::verify_with_certificate_ts(
        &model,
        &bundle,
        &root,
        None,
        &[],
        None,
        &oms::Local::default(),
    );
    assert_eq!(
        codes(&v),
        vec![Code::SignatureInvalid, Code::SignatureTimestamp],
        "{:#?}",
        v.findings
    );
    assert_eq!(v.findings[1].severity, Severity::Warning);
    // A TSA the token is not from, and a token whose bytes were changed: an error, and the
    // chain validated now.
    let other = oms::tsa_from_chain(&pem_file(&keys.join("leaf-p256.pem"))).unwrap();
    let v = oms::verify_with_certificate_ts(
        &model,
        &bundle,
        &root,
        None,
        &[other],
        None,
        &oms::Local::default(),
    );
    assert_eq!(
        codes(&v),
        vec![Code::SignatureInvalid, Code::SignatureTimestamp]
    );
    assert_eq!(v.findings[1].severity, Severity::Error);
    let mut b: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    let t = b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
        ["signedTimestamp"]
        .as_str()
        .unwrap()
        .to_string();
    // The token's message imprint (SHA-256 of the signature) changed: it no longer covers
    // this signature.
    use base64::Engine;
    use sha2::Digest;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut token = b64.decode(&t).unwrap();
    let sig = b64
        .decode(b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    let imprint = sha2::Sha256::digest(&sig);
    let at_imprint = token
        .windows(32)
        .position(|w| w == &imprint[..])
        .expect("the token carries the signature's digest");
    token[at_imprint] ^= 1;
    b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
        ["signedTimestamp"] = b64.encode(&token).into();
    let tampered = serde_json::to_vec(&b).unwrap();
    let v = oms::verify_with_certificate_ts(
        &model,
        &tampered,
        &root,
        None,
        &[tsa],
        None,
        &oms::Local::default(),
    );
    assert_eq!(
        codes(&v),
        vec![Code::SignatureInvalid, Code::SignatureTimestamp]
    );
    // An explicit validation time still wins.
    let at = modelgate::signature::chain::parse_time("2026-12-01T21:21:00Z").unwrap();
    let v = oms::verify_with_certificate_ts(
        &model,
        &bundle,
        &root,
        Some(at),
        &[],
        None,
        &oms::Local::default(),
    );
    assert_eq!(codes(&v)[0], Code::SignatureVerified, "{:#?}", v.findings);
}

/// The OMS conformance suite's model shapes, reproduced: dotfiles and hidden folders are
/// signed, `.git` is left out by default, names with spaces and non-ASCII characters, empty and
/// binary files, a signature inside the model, ignore paths; the statement is the same on
/// every run; links (a cycle, one out of the model) are refused by default.
#[test]
fn model_shapes_of_the_conformance_suite() {
    use std::os::unix::fs::symlink;
    let dir = tmp("shapes");
    let m = dir.join("model");
    let files: [(&str, &[u8]); 8] = [
        ("model.bin", b"weights"),
        (".config", b"dot"),
        (".cache/weights.bin", b"hidden"),
        ("path with spaces/model.bin", b"spaces"),
        ("\u{6a21}\u{578b}.bin", b"unicode"),
        ("empty.bin", b""),
        ("binary.bin", &[0, 255, 1, 254, 0, 0]),
        (".git/HEAD", b"ref: refs/heads/main"),
    ];
    for (name, data) in files {
        let p = m.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let sk = SigningKey::from_pem(&key("p256.key")).unwrap();
    let pk = sk.verifying_key();
    let sig = m.join("model.sig");
    let bundle = oms::sign_with_key(&m, &Serialization::default(), &sk, Some(&sig)).unwrap();
    let again = oms::sign_with_key(&m, &Serialization::default(), &sk, Some(&sig)).unwrap();
    let payload = |b: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(b).unwrap();
        v["dsseEnvelope"]["payload"].as_str().unwrap().to_string()
    };
    assert_eq!(
        payload(&bundle),
        payload(&again),
        "the statement is deterministic"
    );
    std::fs::write(&sig, &bundle).unwrap();
    let v = oms::verify_with_key(&m, &bundle, &pk, Some(&sig), &oms::Local::default());
    assert_eq!(
        codes(&v),
        vec![Code::SignatureVerified],
        "{:#?}",
        v.findings
    );
    assert_eq!(v.covered, 7, "every file but .git/HEAD: {:#?}", v.findings);
    // An ignored path is left out of signing and verifying.
    let mut ser = Serialization::default();
    ser.ignore_paths.push("empty.bin".into());
    let b2 = oms::sign_with_key(&m, &ser, &sk, Some(&sig)).unwrap();
    let v = oms::verify_with_key(&m, &b2, &pk, Some(&sig), &oms::Local::default());
    assert_eq!(
        codes(&v),
        vec![Code::SignatureVerified],
        "{:#?}",
        v.findings
    );
    assert_eq!(v.covered, 6);
    // Links: one out of the model, and a cycle, are refused by default.
    symlink("/etc/hostname", m.join("outside")).unwrap();
    assert!(oms::sign_with_key(&m, &Serialization::default(), &sk, Some(&sig)).is_err());
    std::fs::remove_file(m.join("outside")).unwrap();
    symlink(".", m.join("loop")).unwrap();
    assert!(oms::sign_with_key(&m, &Serialization::default(), &sk, Some(&sig)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
