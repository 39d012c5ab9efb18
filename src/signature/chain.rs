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
/// epoch), requiring the code-signing extended key usage. Returns the leaf's key, and how the
/// chain was accepted.
pub fn verify_chain(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    anchors: &[Vec<u8>],
    at: u64,
) -> Result<(VerifyingKey, Accepted), String> {
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
    let checked = ee.verify_for_usage(
        WEBPKI_VERIFICATION_ALGS,
        &trust,
        &inter,
        UnixTime::since_unix_epoch(Duration::from_secs(at)),
        webpki::KeyUsage::required(CODE_SIGNING),
        None,
        None,
    );
    let accepted = match checked {
        Ok(_) => Accepted::EndEntity,
        Err(webpki::Error::CaUsedAsEndEntity) => {
            ca_leaf::verify(leaf, intermediates, anchors, at)
                .map_err(|e| format!("certificate chain does not validate: {e}"))?;
            Accepted::CaLeaf
        }
        Err(e) => return Err(format!("certificate chain does not validate: {e:?}")),
    };
    let info = sigstore_verify::crypto::x509::parse_certificate_info(
        &sigstore_verify::types::DerCertificate::new(leaf.to_vec()),
    )
    .map_err(|e| format!("signing certificate: {e}"))?;
    Ok((
        VerifyingKey::from_spki_der(info.public_key.as_bytes())?,
        accepted,
    ))
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

/// How a certificate chain was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// A code-signing end-entity certificate, validated by webpki.
    EndEntity,
    /// A signing certificate that is itself a CA (basicConstraints CA:TRUE), as the
    /// conformance suite's and some vendors' certificates are: model_signing and the Go client
    /// accept it. Validated here by the same rules (validity, code-signing EKU, signatures up
    /// to an anchor through CA certificates); reported as a warning.
    CaLeaf,
}

mod ca_leaf {
    //! Path validation for a signing certificate that is a CA, which webpki refuses to take as
    //! an end entity (`CaUsedAsEndEntity`). Only reached after webpki has refused it for that
    //! reason: the leaf's validity and code-signing EKU, then each signature up the path (at
    //! most 8 certificates) with the issuer's key, through intermediates that are CAs valid at
    //! the time, to one of the anchors. Unknown critical extensions are refused.
    use sigstore_verify::crypto::{verify_signature, SigningScheme};
    use sigstore_verify::types::{DerPublicKey, SignatureBytes};
    use x509_cert::der::{asn1::ObjectIdentifier as Oid, Decode, Encode};
    use x509_cert::Certificate;

    const BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
    const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
    const EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
    const SAN: Oid = Oid::new_unwrap("2.5.29.17");
    const CODE_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.3");
    const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    const P384: Oid = Oid::new_unwrap("1.3.132.0.34");

    fn parse(der: &[u8], what: &str) -> Result<Certificate, String> {
        Certificate::from_der(der).map_err(|e| format!("{what}: {e}"))
    }

    fn valid_at(c: &Certificate, at: u64, what: &str) -> Result<(), String> {
        let v = &c.tbs_certificate.validity;
        let from = v.not_before.to_unix_duration().as_secs();
        let to = v.not_after.to_unix_duration().as_secs();
        if at < from || at > to {
            return Err(format!(
                "{what} is not valid at {at} (valid {from} to {to})"
            ));
        }
        Ok(())
    }

    /// The extensions, refusing critical ones this validator does not process.
    fn extensions(c: &Certificate, what: &str) -> Result<Vec<(Oid, Vec<u8>)>, String> {
        let mut out = Vec::new();
        for e in c.tbs_certificate.extensions.iter().flatten() {
            let known = [BASIC_CONSTRAINTS, KEY_USAGE, EXT_KEY_USAGE, SAN].contains(&e.extn_id);
            if e.critical && !known {
                return Err(format!(
                    "{what} has a critical extension {} that is not processed",
                    e.extn_id
                ));
            }
            out.push((e.extn_id, e.extn_value.as_bytes().to_vec()));
        }
        Ok(out)
    }

    fn ext(exts: &[(Oid, Vec<u8>)], id: Oid) -> Option<&[u8]> {
        exts.iter()
            .find(|(o, _)| *o == id)
            .map(|(_, v)| v.as_slice())
    }

    fn is_ca(exts: &[(Oid, Vec<u8>)]) -> bool {
        ext(exts, BASIC_CONSTRAINTS)
            .and_then(|v| x509_cert::ext::pkix::BasicConstraints::from_der(v).ok())
            .is_some_and(|b| b.ca)
    }

    /// keyUsage, when present, has bit `bit` set.
    fn key_usage_allows(exts: &[(Oid, Vec<u8>)], bit: usize) -> bool {
        match ext(exts, KEY_USAGE) {
            None => true,
            Some(v) => x509_cert::der::asn1::BitString::from_der(v).is_ok_and(|b| {
                b.raw_bytes()
                    .get(bit / 8)
                    .is_some_and(|byte| byte & (0x80 >> (bit % 8)) != 0)
            }),
        }
    }

    /// Whether `cert`'s signature verifies with `issuer`'s key.
    fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
        let alg = cert.signature_algorithm.oid.to_string();
        let key = &issuer.tbs_certificate.subject_public_key_info;
        let curve = key
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<Oid>().ok());
        let scheme = match (alg.as_str(), curve) {
            ("1.2.840.10045.4.3.2", Some(c)) if c == P256 => SigningScheme::EcdsaP256Sha256,
            ("1.2.840.10045.4.3.3", Some(c)) if c == P256 => SigningScheme::EcdsaP256Sha384,
            ("1.2.840.10045.4.3.2", Some(c)) if c == P384 => SigningScheme::EcdsaP384Sha256,
            ("1.2.840.10045.4.3.3", Some(c)) if c == P384 => SigningScheme::EcdsaP384Sha384,
            ("1.3.101.112", _) => SigningScheme::Ed25519,
            ("1.2.840.113549.1.1.11", _) => SigningScheme::RsaPkcs1Sha256,
            ("1.2.840.113549.1.1.12", _) => SigningScheme::RsaPkcs1Sha384,
            ("1.2.840.113549.1.1.13", _) => SigningScheme::RsaPkcs1Sha512,
            _ => return false,
        };
        let (Ok(tbs), Ok(spki)) = (cert.tbs_certificate.to_der(), key.to_der()) else {
            return false;
        };
        let Some(sig) = cert.signature.as_bytes() else {
            return false;
        };
        verify_signature(
            &DerPublicKey::new(spki),
            &tbs,
            &SignatureBytes::from_bytes(sig),
            scheme,
        )
        .is_ok()
    }

    pub fn verify(
        leaf: &[u8],
        intermediates: &[Vec<u8>],
        anchors: &[Vec<u8>],
        at: u64,
    ) -> Result<(), String> {
        let cert = parse(leaf, "signing certificate")?;
        valid_at(&cert, at, "the signing certificate")?;
        let exts = extensions(&cert, "the signing certificate")?;
        let eku = ext(&exts, EXT_KEY_USAGE)
            .and_then(|v| x509_cert::ext::pkix::ExtendedKeyUsage::from_der(v).ok())
            .ok_or(
                "the signing certificate has no extended key usage (code signing is required)",
            )?;
        if !eku.0.contains(&CODE_SIGNING) {
            return Err("the signing certificate's extended key usage lacks code signing".into());
        }
        if !key_usage_allows(&exts, 0) {
            return Err("the signing certificate's key usage lacks digitalSignature".into());
        }
        let anchors: Vec<Certificate> = anchors
            .iter()
            .map(|a| parse(a, "trust anchor"))
            .collect::<Result<_, _>>()?;
        let inter: Vec<Certificate> = intermediates
            .iter()
            .map(|a| parse(a, "intermediate certificate"))
            .collect::<Result<_, _>>()?;
        // A signing certificate given as an anchor itself is pinned.
        if anchors.contains(&cert) {
            return Ok(());
        }
        let mut current = cert;
        for _ in 0..8 {
            let issuer_name = &current.tbs_certificate.issuer;
            if anchors
                .iter()
                .any(|a| a.tbs_certificate.subject == *issuer_name && signed_by(&current, a))
            {
                return Ok(());
            }
            let next = inter
                .iter()
                .find(|c| c.tbs_certificate.subject == *issuer_name && signed_by(&current, c))
                .ok_or("no certificate in the chain or among the anchors issued the signing certificate's path")?;
            valid_at(next, at, "an intermediate certificate")?;
            let e = extensions(next, "an intermediate certificate")?;
            if !is_ca(&e) || !key_usage_allows(&e, 5) {
                return Err(
                    "an intermediate certificate is not a CA allowed to sign certificates".into(),
                );
            }
            current = next.clone();
        }
        Err("the certificate path is longer than 8".into())
    }
}
