//! Sigstore bundles (v0.1-v0.3; message signatures and DSSE), verified fully offline against a
//! trusted root with the `sigstore-verify` crate: certificate chain, identity and issuer, SCTs,
//! transparency-log inclusion proofs, checkpoints, SETs and RFC 3161 timestamps.

pub use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT;
use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

/// Who must have signed.
pub enum Signer {
    /// A Fulcio certificate for this identity (SAN) from this OIDC issuer.
    Identity { identity: String, issuer: String },
    /// A managed key (PEM SubjectPublicKeyInfo).
    Key(String),
}

/// What is signed: the artifact's bytes, or its SHA-256.
pub enum Subject<'a> {
    Bytes(&'a [u8]),
    Sha256([u8; 32]),
}

/// The verified facts, for the report.
#[derive(Debug)]
pub struct Verified {
    pub identity: Option<String>,
    pub issuer: Option<String>,
    pub integrated_time: Option<String>,
}

/// The trusted root: a file's JSON, or the embedded Sigstore production root.
pub fn trusted_root(json: Option<&str>) -> Result<TrustedRoot, String> {
    TrustedRoot::from_json(json.unwrap_or(SIGSTORE_PRODUCTION_TRUSTED_ROOT))
        .map_err(|e| format!("trusted root: {e}"))
}

/// Verify `bundle_json` over `subject`. `Err` carries the reason it does not verify.
pub fn verify(
    subject: Subject<'_>,
    bundle_json: &str,
    signer: &Signer,
    root: &TrustedRoot,
) -> Result<Verified, String> {
    let bundle = Bundle::from_json(bundle_json).map_err(|e| format!("bundle: {e}"))?;
    let verifier = Verifier::new(root).map_err(|e| format!("trusted root: {e}"))?;
    let result = match signer {
        Signer::Identity { identity, issuer } => {
            let policy = VerificationPolicy::any_identity()
                .require_identity(identity.as_str())
                .require_issuer(issuer.as_str());
            match subject {
                Subject::Bytes(b) => verifier.verify(b, &bundle, &policy),
                Subject::Sha256(d) => verifier.verify(Sha256Hash::new(d), &bundle, &policy),
            }
        }
        Signer::Key(pem) => {
            let key = DerPublicKey::from_pem(pem).map_err(|e| format!("public key: {e}"))?;
            let policy = PublicKeyVerificationPolicy::new(key);
            match subject {
                Subject::Bytes(b) => verifier.verify(b, &bundle, &policy),
                Subject::Sha256(d) => verifier.verify(Sha256Hash::new(d), &bundle, &policy),
            }
        }
    }
    .map_err(|e| e.to_string())?;
    Ok(Verified {
        identity: result.identity().map(|i| i.to_string()),
        issuer: result.issuer().map(str::to_string),
        integrated_time: result.integrated_time().map(|t| t.to_string()),
    })
}
