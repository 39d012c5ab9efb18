//! The Sigstore conformance bundle-verification cases (testdata/conformance): every case with
//! the artifact's bytes and with its `sha256:` digest, 140 checks, all as expected.

use modelgate::signature::sigstore::{self, Signer, Subject};
use sha2::Digest;
use std::path::Path;

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn text(p: &Path) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

#[test]
fn all_140_conformance_checks() {
    let suite =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/conformance/sigstore-bundle-verify");
    let mut cases: Vec<_> = std::fs::read_dir(&suite)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70);
    let mut wrong = Vec::new();
    let mut checks = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let must_fail = name.ends_with("_fail");
        let artifact = std::fs::read(case.join("artifact"))
            .unwrap_or_else(|_| std::fs::read(suite.join("a.txt")).unwrap());
        let bundle = std::fs::read_to_string(case.join("bundle.sigstore.json")).unwrap_or_default();
        let root = sigstore::trusted_root(text(&case.join("trusted_root.json")).as_deref());
        let signer = match text(&case.join("key.pub")) {
            Some(pem) => Signer::Key(pem),
            None => Signer::Identity {
                identity: text(&case.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into()),
                issuer: text(&case.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into()),
            },
        };
        let digest: [u8; 32] = sha2::Sha256::digest(&artifact).into();
        for subject in [Subject::Bytes(&artifact), Subject::Sha256(digest)] {
            checks += 1;
            let how = match subject {
                Subject::Bytes(_) => "artifact",
                Subject::Sha256(_) => "digest",
            };
            let ok = root
                .as_ref()
                .map_err(|e| e.clone())
                .and_then(|r| sigstore::verify(subject, &bundle, &signer, r));
            if ok.is_ok() == must_fail {
                wrong.push(format!("{name} ({how}): {:?}", ok.map(|_| "verified")));
            }
        }
    }
    assert_eq!(checks, 140);
    assert!(
        wrong.is_empty(),
        "{} of 140 checks wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
