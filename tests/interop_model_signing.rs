//! Interop with the real `model-signing` 1.1.1 from PyPI (installed into target/interop-venv
//! on first use): modelgate signs → model_signing verifies, model_signing signs → modelgate
//! verifies, on P-256, P-384 and P-521; tampering fails on both sides.

mod common;
use common::copy_dir;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The model_signing executable, installing it on first use.
fn model_signing() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        common::python_venv("interop-venv", "tests/interop/requirements.txt")
            .join("bin/model_signing")
    })
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn modelgate(args: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .args(args)
        .env("NO_COLOR", "1"))
}

fn ms(args: &[&str]) -> Output {
    run(Command::new(model_signing()).args(args))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn show(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// (what, how, the finding modelgate must give)
type Tamper = (&'static str, fn(&Path), &'static str);

#[test]
fn round_trips_and_tampering_with_the_real_model_signing() {
    if common::offline("the model_signing interop test") {
        return;
    }
    let keys = root().join("testdata/keys");
    let base = std::env::temp_dir().join(format!("modelgate-interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    for curve in ["p256", "p384", "p521"] {
        let sk = keys.join(format!("{curve}.key"));
        let pk = keys.join(format!("{curve}.pub"));
        let other_pk = keys.join(if curve == "p256" {
            "p384.pub"
        } else {
            "p256.pub"
        });
        for signer in ["modelgate", "model_signing"] {
            let dir = base.join(format!("{curve}-{signer}"));
            let model = dir.join("model");
            copy_dir(&root().join("testdata/interop/oms/toy-model"), &model);
            let sig = dir.join("model.sig");
            let signed = if signer == "modelgate" {
                modelgate(&[
                    "sign",
                    "key",
                    s(&model),
                    "--private-key",
                    s(&sk),
                    "--signature",
                    s(&sig),
                ])
            } else {
                ms(&[
                    "sign",
                    "key",
                    s(&model),
                    "--private_key",
                    s(&sk),
                    "--signature",
                    s(&sig),
                ])
            };
            assert!(
                signed.status.success(),
                "{curve}: {signer} sign: {}",
                show(&signed)
            );
            let verify = |model: &Path, pk: &Path| {
                let a = modelgate(&[
                    "verify",
                    "key",
                    s(model),
                    "--public-key",
                    s(pk),
                    "--signature",
                    s(&sig),
                ]);
                let b = ms(&[
                    "verify",
                    "key",
                    s(model),
                    "--public_key",
                    s(pk),
                    "--signature",
                    s(&sig),
                ]);
                (a, b)
            };
            let (a, b) = verify(&model, &pk);
            assert_eq!(
                a.status.code(),
                Some(0),
                "{curve}/{signer}: modelgate verify: {}",
                show(&a)
            );
            assert!(
                b.status.success(),
                "{curve}/{signer}: model_signing verify: {}",
                show(&b)
            );
            assert!(show(&a).contains("signature-verified"));

            // Tampering must fail on both sides.
            let (a, b) = verify(&model, &other_pk);
            assert_eq!(a.status.code(), Some(1), "wrong key: {}", show(&a));
            assert!(show(&a).contains("signature-invalid"));
            assert!(!b.status.success(), "model_signing accepted a wrong key");
            let cases: [Tamper; 3] = [
                (
                    "flip a byte",
                    |m| {
                        let p = m.join("model.safetensors");
                        let mut d = std::fs::read(&p).unwrap();
                        d[10] ^= 0xff;
                        std::fs::write(p, d).unwrap();
                    },
                    "signed-file-modified",
                ),
                (
                    "add a file",
                    |m| std::fs::write(m.join("extra.pkl"), b"x").unwrap(),
                    "unsigned-file",
                ),
                (
                    "delete a file",
                    |m| std::fs::remove_file(m.join("config.json")).unwrap(),
                    "signed-file-missing",
                ),
            ];
            for (what, mutate, code) in cases {
                let t = dir.join(what.replace(' ', "-"));
                copy_dir(&model, &t);
                mutate(&t);
                let (a, b) = verify(&t, &pk);
                assert_eq!(
                    a.status.code(),
                    Some(1),
                    "{curve}/{signer} {what}: {}",
                    show(&a)
                );
                assert!(
                    show(&a).contains(code),
                    "{curve}/{signer} {what}: {}",
                    show(&a)
                );
                assert!(
                    !b.status.success(),
                    "{curve}/{signer} {what}: model_signing accepted it"
                );
            }
            // An edited payload: the signature no longer covers it.
            let mut bundle: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&sig).unwrap()).unwrap();
            let payload = bundle["dsseEnvelope"]["payload"]
                .as_str()
                .unwrap()
                .to_string();
            let mut raw = modelgate::signature::dsse::unb64(&payload).unwrap();
            let i = raw.windows(6).position(|w| w == b"sha256").unwrap();
            raw[i + 20] = if raw[i + 20] == b'a' { b'b' } else { b'a' };
            bundle["dsseEnvelope"]["payload"] = modelgate::signature::dsse::b64(&raw).into();
            std::fs::write(&sig, serde_json::to_vec(&bundle).unwrap()).unwrap();
            let (a, b) = verify(&model, &pk);
            assert_eq!(a.status.code(), Some(1), "edited payload: {}", show(&a));
            assert!(
                !b.status.success(),
                "model_signing accepted an edited payload"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn certificate_round_trips_with_the_real_model_signing() {
    if common::offline("the model_signing interop test") {
        return;
    }
    let keys = root().join("testdata/keys");
    let (sk, leaf, ca) = (
        keys.join("p256.key"),
        keys.join("leaf-p256.pem"),
        keys.join("ca-p384.pem"),
    );
    let base = std::env::temp_dir().join(format!("modelgate-interop-cert-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    for signer in ["modelgate", "model_signing"] {
        let dir = base.join(signer);
        let model = dir.join("model");
        copy_dir(&root().join("testdata/interop/oms/toy-model"), &model);
        let sig = dir.join("model.sig");
        let signed = if signer == "modelgate" {
            modelgate(&[
                "sign",
                "certificate",
                s(&model),
                "--private-key",
                s(&sk),
                "--signing-certificate",
                s(&leaf),
                "--certificate-chain",
                s(&ca),
                "--signature",
                s(&sig),
            ])
        } else {
            ms(&[
                "sign",
                "certificate",
                s(&model),
                "--private_key",
                s(&sk),
                "--signing_certificate",
                s(&leaf),
                "--certificate_chain",
                s(&ca),
                "--signature",
                s(&sig),
            ])
        };
        assert!(signed.status.success(), "{signer} sign: {}", show(&signed));
        // Both tools verify the model against a chain.
        let verify = |chain: &Path| {
            let a = modelgate(&[
                "verify",
                "certificate",
                s(&model),
                "--certificate-chain",
                s(chain),
                "--signature",
                s(&sig),
            ]);
            let b = ms(&[
                "verify",
                "certificate",
                s(&model),
                "--certificate_chain",
                s(chain),
                "--signature",
                s(&sig),
            ]);
            (a, b)
        };
        let (a, b) = verify(&ca);
        assert_eq!(
            a.status.code(),
            Some(0),
            "{signer}: modelgate verify: {}",
            show(&a)
        );
        assert!(
            b.status.success(),
            "{signer}: model_signing verify: {}",
            show(&b)
        );
        // Tampered model: both refuse.
        std::fs::write(model.join("config.json"), b"{}").unwrap();
        let (a, b) = verify(&ca);
        assert_eq!(a.status.code(), Some(1), "{}", show(&a));
        assert!(
            !b.status.success(),
            "model_signing accepted a tampered model"
        );
        // A chain to another root: both refuse.
        let toy_ca = root().join("testdata/interop/oms/toy-ca.pem");
        std::fs::write(
            model.join("config.json"),
            std::fs::read(root().join("testdata/interop/oms/toy-model/config.json")).unwrap(),
        )
        .unwrap();
        let (a, b) = verify(&toy_ca);
        assert_eq!(a.status.code(), Some(1), "{}", show(&a));
        assert!(!b.status.success(), "model_signing accepted a foreign root");
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// The real model_signing signs with a signing certificate that is a CA (as the OMS
/// conformance suite's is); modelgate verifies it as model_signing does, with a warning.
#[test]
fn ca_signing_certificate_from_the_real_model_signing() {
    if common::offline("the model_signing interop test") {
        return;
    }
    let keys = root().join("testdata/keys");
    let dir = std::env::temp_dir().join(format!("modelgate-interop-caleaf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let model = dir.join("model");
    copy_dir(&root().join("testdata/interop/oms/toy-model"), &model);
    let sig = dir.join("model.sig");
    let signed = ms(&[
        "sign",
        "certificate",
        s(&model),
        "--private_key",
        s(&keys.join("p256.key")),
        "--signing_certificate",
        s(&keys.join("leaf-ca-under-int-p256.pem")),
        "--certificate_chain",
        s(&keys.join("int-p384.pem")),
        "--signature",
        s(&sig),
    ]);
    assert!(
        signed.status.success(),
        "model_signing sign: {}",
        show(&signed)
    );
    let ca = keys.join("ca-p384.pem");
    let b = ms(&[
        "verify",
        "certificate",
        s(&model),
        "--certificate_chain",
        s(&ca),
        "--signature",
        s(&sig),
    ]);
    assert!(b.status.success(), "model_signing verify: {}", show(&b));
    let a = modelgate(&[
        "verify",
        "certificate",
        s(&model),
        "--certificate-chain",
        s(&ca),
        "--signature",
        s(&sig),
    ]);
    assert_eq!(a.status.code(), Some(0), "{}", show(&a));
    assert!(show(&a).contains("certificate-ca-leaf"), "{}", show(&a));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 25: a Hugging Face snapshot (every file a link into ../../blobs) signs with
/// `--allow-symlinks` as model_signing's `--allow_symlinks` does: the same resources (links
/// under their own names, their targets' bytes), so each verifies the other's signature;
/// without the flag both refuse; a changed blob fails both.
#[test]
fn hugging_face_snapshots_sign_with_allow_symlinks_as_model_signing_does() {
    if common::offline("the model_signing interop test") {
        return;
    }
    let keys = root().join("testdata/keys");
    let (sk, pk) = (keys.join("p256.key"), keys.join("p256.pub"));
    let base = std::env::temp_dir().join(format!("modelgate-interop-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let repo = base.join("models--org--toy");
    let snap = repo.join("snapshots/abc123");
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(snap.join("sub")).unwrap();
    for (name, blob, body) in [
        ("config.json", "b1", &b"{\"model_type\": \"toy\"}"[..]),
        ("model.safetensors", "b2", b"not really weights"),
        ("sub/tokenizer.json", "b3", b"{}"),
    ] {
        std::fs::write(repo.join("blobs").join(blob), body).unwrap();
        let up = if name.contains('/') {
            "../../../blobs"
        } else {
            "../../blobs"
        };
        std::os::unix::fs::symlink(format!("{up}/{blob}"), snap.join(name)).unwrap();
    }
    std::fs::write(snap.join("README.md"), b"a regular file").unwrap();
    // Without the flag: both refuse, modelgate naming the flag.
    let sig0 = base.join("refused.sig");
    let out = modelgate(&[
        "sign",
        "key",
        s(&snap),
        "--private-key",
        s(&sk),
        "--signature",
        s(&sig0),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(show(&out).contains("--allow-symlinks"), "{}", show(&out));
    let out = ms(&[
        "sign",
        "key",
        s(&snap),
        "--private_key",
        s(&sk),
        "--signature",
        s(&sig0),
    ]);
    assert!(
        !out.status.success() || show(&out).contains("failed"),
        "{}",
        show(&out)
    );
    for signer in ["modelgate", "model_signing"] {
        let sig = base.join(format!("{signer}.sig"));
        let signed = if signer == "modelgate" {
            modelgate(&[
                "sign",
                "key",
                s(&snap),
                "--private-key",
                s(&sk),
                "--signature",
                s(&sig),
                "--allow-symlinks",
            ])
        } else {
            ms(&[
                "sign",
                "key",
                s(&snap),
                "--private_key",
                s(&sk),
                "--signature",
                s(&sig),
                "--allow_symlinks",
            ])
        };
        assert!(
            signed.status.success() && sig.exists(),
            "{signer}: {}",
            show(&signed)
        );
        let a = modelgate(&[
            "verify",
            "key",
            s(&snap),
            "--public-key",
            s(&pk),
            "--signature",
            s(&sig),
            "--allow-symlinks",
        ]);
        assert_eq!(
            a.status.code(),
            Some(0),
            "{signer} -> modelgate: {}",
            show(&a)
        );
        let b = ms(&[
            "verify",
            "key",
            s(&snap),
            "--public_key",
            s(&pk),
            "--signature",
            s(&sig),
            "--allow_symlinks",
        ]);
        assert!(
            b.status.success(),
            "{signer} -> model_signing: {}",
            show(&b)
        );
    }
    // A changed blob fails both.
    std::fs::write(repo.join("blobs/b2"), b"other weights").unwrap();
    let sig = base.join("modelgate.sig");
    let a = modelgate(&[
        "verify",
        "key",
        s(&snap),
        "--public-key",
        s(&pk),
        "--signature",
        s(&sig),
        "--allow-symlinks",
    ]);
    assert_eq!(a.status.code(), Some(1), "{}", show(&a));
    assert!(show(&a).contains("signed-file-modified"), "{}", show(&a));
    let b = ms(&[
        "verify",
        "key",
        s(&snap),
        "--public_key",
        s(&pk),
        "--signature",
        s(&sig),
        "--allow_symlinks",
    ]);
    assert!(!b.status.success(), "model_signing accepted a changed blob");
    // A link to a directory is refused: model_signing would leave its files unsigned.
    std::os::unix::fs::symlink("sub", snap.join("alias")).unwrap();
    let out = modelgate(&[
        "sign",
        "key",
        s(&snap),
        "--private-key",
        s(&sk),
        "--signature",
        s(&base.join("dir.sig")),
        "--allow-symlinks",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(show(&out).contains("link to a directory"), "{}", show(&out));
}
