//! ECDSA keys on P-256, P-384 and P-521, as model_signing's key method uses them: the hash
//! follows the curve (SHA-256, SHA-384, SHA-512), signatures are DER, high-S is accepted.

use p256::ecdsa::signature::{Signer, Verifier};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};

pub enum SigningKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    /// Only for modelgate's own manifests: model_signing refuses Ed25519.
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

pub enum VerifyingKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

const UNSUPPORTED: &str =
    "not an ECDSA P-256, P-384 or P-521 key (model_signing supports no other)";

impl SigningKey {
    /// A PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<SigningKey, String> {
        if let Ok(k) =
            p256::SecretKey::from_pkcs8_pem(pem).or_else(|_| p256::SecretKey::from_sec1_pem(pem))
        {
            return Ok(SigningKey::P256(k.into()));
        }
        if let Ok(k) =
            p384::SecretKey::from_pkcs8_pem(pem).or_else(|_| p384::SecretKey::from_sec1_pem(pem))
        {
            return Ok(SigningKey::P384(k.into()));
        }
        if let Ok(k) =
            p521::SecretKey::from_pkcs8_pem(pem).or_else(|_| p521::SecretKey::from_sec1_pem(pem))
        {
            let sk =
                p521::ecdsa::SigningKey::from_bytes(&k.to_bytes()).map_err(|e| e.to_string())?;
            return Ok(SigningKey::P521(sk));
        }
        Err(format!("private key: {UNSUPPORTED}"))
    }

    /// Any key modelgate signs its own manifests with: the ECDSA curves, or Ed25519.
    pub fn from_pem_any(pem: &str) -> Result<SigningKey, String> {
        SigningKey::from_pem(pem).or_else(|_| {
            ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                .map(|k| SigningKey::Ed25519(Box::new(k)))
                .map_err(|_| {
                    "private key: not an ECDSA P-256/P-384/P-521 or Ed25519 key".to_string()
                })
        })
    }

    /// A fresh Ed25519 key from the operating system's random source.
    pub fn generate_ed25519() -> Result<SigningKey, String> {
        use std::io::Read;
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut seed))
            .map_err(|e| format!("no random source: {e}"))?;
        Ok(SigningKey::Ed25519(Box::new(
            ed25519_dalek::SigningKey::from_bytes(&seed),
        )))
    }

    /// A fresh ECDSA key on P-256 (`bits` 256) or P-384 (384) from the operating system's
    /// random source (a scalar out of range is drawn again).
    pub fn generate_ecdsa(bits: u32) -> Result<SigningKey, String> {
        use std::io::Read;
        let mut f =
            std::fs::File::open("/dev/urandom").map_err(|e| format!("no random source: {e}"))?;
        for _ in 0..64 {
            let mut seed = vec![0u8; if bits == 384 { 48 } else { 32 }];
            f.read_exact(&mut seed)
                .map_err(|e| format!("no random source: {e}"))?;
            let key = if bits == 384 {
                p384::ecdsa::SigningKey::from_slice(&seed).map(SigningKey::P384)
            } else {
                p256::ecdsa::SigningKey::from_slice(&seed).map(SigningKey::P256)
            };
            if let Ok(k) = key {
                return Ok(k);
            }
        }
        Err("no valid scalar drawn".into())
    }

    /// The private key as PKCS#8 PEM.
    pub fn to_pem(&self) -> Result<String, String> {
        use p256::pkcs8::EncodePrivateKey;
        let r = match self {
            SigningKey::P256(k) => p256::SecretKey::from(k).to_pkcs8_pem(LineEnding::LF),
            SigningKey::P384(k) => p384::SecretKey::from(k).to_pkcs8_pem(LineEnding::LF),
            SigningKey::P521(k) => p521::SecretKey::from_bytes(&k.to_bytes())
                .map_err(|_| p521::pkcs8::Error::KeyMalformed)
                .and_then(|s| s.to_pkcs8_pem(LineEnding::LF)),
            SigningKey::Ed25519(k) => k.to_pkcs8_pem(LineEnding::LF),
        };
        r.map(|z| z.to_string()).map_err(|e| e.to_string())
    }

    /// A DER signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            SigningKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            SigningKey::P521(k) => {
                let s: p521::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            SigningKey::Ed25519(k) => {
                let s: ed25519_dalek::Signature = k.sign(msg);
                s.to_bytes().to_vec()
            }
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::P256(k) => VerifyingKey::P256(*k.verifying_key()),
            SigningKey::P384(k) => VerifyingKey::P384(*k.verifying_key()),
            SigningKey::P521(k) => VerifyingKey::P521(p521::ecdsa::VerifyingKey::from(k)),
            SigningKey::Ed25519(k) => VerifyingKey::Ed25519(k.verifying_key()),
        }
    }
}

impl VerifyingKey {
    /// A SubjectPublicKeyInfo PEM (`PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<VerifyingKey, String> {
        if let Ok(k) = p256::PublicKey::from_public_key_pem(pem) {
            return Ok(VerifyingKey::P256(k.into()));
        }
        if let Ok(k) = p384::PublicKey::from_public_key_pem(pem) {
            return Ok(VerifyingKey::P384(k.into()));
        }
        if let Ok(k) = p521::PublicKey::from_public_key_pem(pem) {
            let vk = p521::ecdsa::VerifyingKey::from_sec1_bytes(&k.to_sec1_bytes())
                .map_err(|e| e.to_string())?;
            return Ok(VerifyingKey::P521(vk));
        }
        Err(format!("public key: {UNSUPPORTED}"))
    }

    /// Any key modelgate's own manifests may be signed with: the ECDSA curves, or Ed25519.
    pub fn from_pem_any(pem: &str) -> Result<VerifyingKey, String> {
        VerifyingKey::from_pem(pem).or_else(|_| {
            ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
                .map(VerifyingKey::Ed25519)
                .map_err(|_| {
                    "public key: not an ECDSA P-256/P-384/P-521 or Ed25519 key".to_string()
                })
        })
    }

    /// A SubjectPublicKeyInfo DER (from a certificate).
    pub fn from_spki_der(der: &[u8]) -> Result<VerifyingKey, String> {
        if let Ok(k) = p256::PublicKey::from_public_key_der(der) {
            return Ok(VerifyingKey::P256(k.into()));
        }
        if let Ok(k) = p384::PublicKey::from_public_key_der(der) {
            return Ok(VerifyingKey::P384(k.into()));
        }
        if let Ok(k) = p521::PublicKey::from_public_key_der(der) {
            let vk = p521::ecdsa::VerifyingKey::from_sec1_bytes(&k.to_sec1_bytes())
                .map_err(|e| e.to_string())?;
            return Ok(VerifyingKey::P521(vk));
        }
        Err(format!("certificate key: {UNSUPPORTED}"))
    }

    pub fn curve(&self) -> &'static str {
        match self {
            VerifyingKey::P256(_) => "P-256",
            VerifyingKey::P384(_) => "P-384",
            VerifyingKey::P521(_) => "P-521",
            VerifyingKey::Ed25519(_) => "Ed25519",
        }
    }

    /// The PEM as `cryptography` writes it; model_signing's key hint is its SHA-256.
    pub fn to_pem(&self) -> String {
        let r = match self {
            VerifyingKey::P256(k) => p256::PublicKey::from(k).to_public_key_pem(LineEnding::LF),
            VerifyingKey::P384(k) => p384::PublicKey::from(k).to_public_key_pem(LineEnding::LF),
            VerifyingKey::P521(k) => {
                p521::PublicKey::from_sec1_bytes(&k.to_encoded_point(false).to_bytes())
                    .map_err(|_| p521::pkcs8::spki::Error::KeyMalformed)
                    .and_then(|p| p.to_public_key_pem(LineEnding::LF))
            }
            VerifyingKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
        };
        r.unwrap_or_default()
    }

    /// Verify an ECDSA signature over the SHA-256 digest of `msg`, whatever the curve: what
    /// model_signing 0.2 signed (it hard-coded SHA-256). Ed25519 keys never verify here.
    pub fn verify_sha256(&self, msg: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        use sha2::Digest;
        let digest = sha2::Sha256::digest(msg);
        match self {
            VerifyingKey::P256(k) => p256::ecdsa::Signature::from_der(sig)
                .or_else(|_| p256::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| {
                    k.verify_prehash(&digest, &s.normalize_s().unwrap_or(s))
                        .is_ok()
                }),
            VerifyingKey::P384(k) => p384::ecdsa::Signature::from_der(sig)
                .or_else(|_| p384::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| {
                    k.verify_prehash(&digest, &s.normalize_s().unwrap_or(s))
                        .is_ok()
                }),
            VerifyingKey::P521(_) | VerifyingKey::Ed25519(_) => false,
        }
    }

    /// Verify a DER (or fixed-size) signature over `msg`. High-S signatures are accepted, as
    /// OpenSSL accepts them.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            VerifyingKey::P256(k) => p256::ecdsa::Signature::from_der(sig)
                .or_else(|_| p256::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| k.verify(msg, &s.normalize_s().unwrap_or(s)).is_ok()),
            VerifyingKey::P384(k) => p384::ecdsa::Signature::from_der(sig)
                .or_else(|_| p384::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| k.verify(msg, &s.normalize_s().unwrap_or(s)).is_ok()),
            VerifyingKey::P521(k) => p521::ecdsa::Signature::from_der(sig)
                .or_else(|_| p521::ecdsa::Signature::from_slice(sig))
                .is_ok_and(|s| k.verify(msg, &s.normalize_s().unwrap_or(s)).is_ok()),
            VerifyingKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| k.verify_strict(msg, &s).is_ok()),
        }
    }
}
