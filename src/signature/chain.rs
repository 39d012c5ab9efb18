//! X.509 certificate chains for model_signing's certificate method: path building to anchors
//! the user supplies (never the system's), a code-signing leaf, and an explicit validation
//! time (now by default).

use super::dsse::unb64;
use super::keys::VerifyingKey;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sigstore_verify::crypto::webpki::WEBPKI_VERIFICATION_ALGS;
use std::time::Duration;

/// id-kp-codeSigning (1.3.6.1.5.5.7.3.3), content octets.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// The DER certificates of every `CERTIFICATE` block in a PEM text.
pub fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b = body.take().ok_or("END CERTIFICATE without BEGIN")?;
            out.push(unb64(&b)?);
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if body.is_some() {
        return Err("unterminated CERTIFICATE block".into());
    }
    if out.is_empty() {
        return Err("no CERTIFICATE block".into());
    }
    Ok(out)
}

/// Validate `leaf` (with `intermediates`) up to one of `anchors` at `at` (seconds since the
/// epoch), requiring the code-signing extended key usage. Returns the leaf's key.
pub fn verify_chain(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    anchors: &[Vec<u8>],
    at: u64,
) -> Result<VerifyingKey, String> {
    let anchor_ders: Vec<CertificateDer<'_>> = anchors
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let trust: Vec<TrustAnchor<'_>> = anchor_ders
        .iter()
        .map(|d| webpki::anchor_from_trusted_cert(d).map_err(|e| format!("trust anchor: {e}")))
        .collect::<Result<_, _>>()?;
    let inter: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let leaf_der = CertificateDer::from(leaf);
    let ee = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| format!("signing certificate: {e}"))?;
    ee.verify_for_usage(
        WEBPKI_VERIFICATION_ALGS,
        &trust,
        &inter,
        UnixTime::since_unix_epoch(Duration::from_secs(at)),
        webpki::KeyUsage::required(CODE_SIGNING),
        None,
        None,
    )
    .map_err(|e| format!("certificate chain does not validate: {e:?}"))?;
    let info = sigstore_verify::crypto::x509::parse_certificate_info(
        &sigstore_verify::types::DerCertificate::new(leaf.to_vec()),
    )
    .map_err(|e| format!("signing certificate: {e}"))?;
    VerifyingKey::from_spki_der(info.public_key.as_bytes())
}

/// Seconds since the epoch from RFC 3339 or plain seconds.
pub fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let t: jiff::Timestamp = s
        .parse()
        .map_err(|e| format!("'{s}' is not an RFC 3339 time: {e}"))?;
    u64::try_from(t.as_second()).map_err(|_| format!("'{s}' is before 1970"))
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
