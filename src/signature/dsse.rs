//! DSSE envelopes inside Sigstore bundles (v0.1-v0.3), as model_signing writes them.

use base64::Engine;
use serde::{Deserialize, Serialize};

pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// What model_signing 0.2 signed instead of the PAE (a bug it shipped, which model_signing
/// and the Go client still accept, with SHA-256 whatever the key): `DSSEV1`, and the payload
/// as Python's `repr` of bytes (`b'...'`), formatted into text.
pub fn pae_v02(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let quote = if payload.contains(&b'\'') && !payload.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut r = Vec::with_capacity(payload.len().saturating_mul(2).saturating_add(64));
    r.extend_from_slice(b"b");
    r.push(quote);
    for &c in payload {
        match c {
            b'\\' => r.extend_from_slice(b"\\\\"),
            b'\t' => r.extend_from_slice(b"\\t"),
            b'\n' => r.extend_from_slice(b"\\n"),
            b'\r' => r.extend_from_slice(b"\\r"),
            c if c == quote => {
                r.push(b'\\');
                r.push(c);
            }
            0x20..=0x7e => r.push(c),
            c => r.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    r.push(quote);
    let mut v = format!(
        "DSSEV1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(&r);
    v
}

/// DSSE v1 pre-authentication encoding: the bytes that are signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len().saturating_add(64));
    v.extend_from_slice(b"DSSEv1 ");
    v.extend_from_slice(payload_type.len().to_string().as_bytes());
    v.push(b' ');
    v.extend_from_slice(payload_type.as_bytes());
    v.push(b' ');
    v.extend_from_slice(payload.len().to_string().as_bytes());
    v.push(b' ');
    v.extend_from_slice(payload);
    v
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawBytes>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub tlog_entries: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublicKeyId {
    /// Absent or null in bundles of some clients (the Go client before 1.0): the key is then
    /// the one the verifier is given, as always; the hint is only a label.
    #[serde(default, deserialize_with = "string_or_null")]
    pub hint: String,
}

/// A string field that some clients write as `null` (or leave out): read as empty.
fn string_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Option::<String>::deserialize(d).map(Option::unwrap_or_default)
}

/// A list field that some clients write as `null`: read as empty.
fn vec_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<serde_json::Value>, D::Error> {
    Option::<Vec<serde_json::Value>>::deserialize(d).map(Option::unwrap_or_default)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertificateChain {
    pub certificates: Vec<RawBytes>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    pub raw_bytes: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<Sig>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sig {
    pub sig: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub keyid: String,
}

/// Verification material that names a public key by its hint (SHA-256 of its PEM), as
/// model_signing writes it.
pub fn key_hint_material(key: &super::keys::VerifyingKey) -> VerificationMaterial {
    use sha2::Digest;
    VerificationMaterial {
        public_key: Some(PublicKeyId {
            hint: crate::digest::hex(&sha2::Sha256::digest(key.to_pem().as_bytes())),
        }),
        ..VerificationMaterial::default()
    }
}

/// A Sigstore bundle v0.3 holding a DSSE envelope over `payload`, signed with `key`.
pub fn signed_bundle(
    payload_type: &str,
    payload: &[u8],
    key: &super::keys::SigningKey,
    material: VerificationMaterial,
) -> Vec<u8> {
    let sig = key.sign(&pae(payload_type, payload));
    let bundle = Bundle {
        media_type: BUNDLE_V03.into(),
        verification_material: material,
        dsse_envelope: Some(Envelope {
            payload: b64(payload),
            payload_type: payload_type.into(),
            signatures: vec![Sig {
                sig: b64(&sig),
                keyid: String::new(),
            }],
        }),
        message_signature: None,
    };
    serde_json::to_vec(&bundle).unwrap_or_default()
}

/// Verify a bundle holding a DSSE envelope of `payload_type` signed by `key`, and only then
/// hand out the payload. Errors carry the finding code that explains them.
pub fn verified_payload(
    bundle: &[u8],
    payload_type: &str,
    key: &super::keys::VerifyingKey,
) -> Result<Vec<u8>, (crate::finding::Code, String)> {
    use crate::finding::Code;
    let b = Bundle::parse(bundle).map_err(|e| (Code::SignatureMalformed, e))?;
    let env = b.envelope().map_err(|e| (Code::SignatureMalformed, e))?;
    if env.payload_type != payload_type {
        return Err((
            Code::SignatureMalformed,
            format!(
                "payload type is '{}', expected '{payload_type}'",
                env.payload_type
            ),
        ));
    }
    let msg = pae(&env.payload_type, &env.payload);
    if !env.signatures.iter().any(|s| key.verify(&msg, s)) {
        return Err((
            Code::SignatureInvalid,
            format!("the signature does not verify with the {} key", key.curve()),
        ));
    }
    Ok(env.payload)
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Standard base64, with or without padding (bundles in the wild use both).
pub fn unb64(s: &str) -> Result<Vec<u8>, String> {
    let e = base64::engine::general_purpose::STANDARD;
    e.decode(s)
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(s.trim_end_matches('='))
        })
        .map_err(|e| format!("invalid base64: {e}"))
}

/// The envelope's parts, decoded but not yet trusted.
pub struct Unverified {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signatures: Vec<Vec<u8>>,
}

impl Bundle {
    pub fn parse(bytes: &[u8]) -> Result<Bundle, String> {
        let b: Bundle =
            serde_json::from_slice(bytes).map_err(|e| format!("not a Sigstore bundle: {e}"))?;
        if !b
            .media_type
            .starts_with("application/vnd.dev.sigstore.bundle")
        {
            return Err(format!("unsupported bundle media type '{}'", b.media_type));
        }
        Ok(b)
    }

    pub fn envelope(&self) -> Result<Unverified, String> {
        let env = self
            .dsse_envelope
            .as_ref()
            .ok_or("bundle carries no DSSE envelope")?;
        if env.signatures.is_empty() {
            return Err("DSSE envelope has no signature".into());
        }
        Ok(Unverified {
            payload_type: env.payload_type.clone(),
            payload: unb64(&env.payload)?,
            signatures: env
                .signatures
                .iter()
                .map(|s| unb64(&s.sig))
                .collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_v02_is_pythons_repr() {
        assert_eq!(
            pae_v02("t", b"a'b\\\n\x00\xff"),
            b"DSSEV1 1 t 7 b\"a'b\\\\\\n\\x00\\xff\"".to_vec()
        );
        assert_eq!(
            pae_v02("t", b"{\"x\"}"),
            b"DSSEV1 1 t 5 b'{\"x\"}'".to_vec()
        );
    }

    #[test]
    fn pae_matches_the_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
