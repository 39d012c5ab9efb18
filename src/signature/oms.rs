//! OpenSSF Model Signing (OMS) v1.0, byte-compatible with the `model-signing` 1.1.x package:
//! an in-toto Statement v1 whose predicate lists every file's (or shard's) digest, whose single
//! subject digest is SHA-256 over the concatenated raw resource digests, in a DSSE envelope
//! inside a Sigstore bundle v0.3.

use super::dsse::{self, Bundle, VerificationMaterial};
use super::keys::{SigningKey, VerifyingKey};
use crate::digest::{self, hex, unhex, HashAlg};
use crate::ev;
use crate::finding::{Code, Finding, Severity};
use crate::inspect::Evidence;
use rayon::prelude::*;
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The predicate of model_signing 0.2 statements, which verifiers still accept.
pub const PREDICATE_TYPE_V01: &str = "https://model_signing/Digests/v0.1";
/// What model_signing ignores by default, in the order its 1.1.1 release wrote them.
pub const DEFAULT_IGNORE: &[&str] = &[".github", ".gitattributes", ".git", ".gitignore"];

/// How a model is turned into resources.
#[derive(Clone, Debug, PartialEq)]
pub struct Serialization {
    pub hash: HashAlg,
    /// `None`: one resource per file. `Some(n)`: shards of `n` bytes, named `path:start:end`.
    pub shard_size: Option<u64>,
    pub ignore_paths: Vec<String>,
    pub allow_symlinks: bool,
}

impl Default for Serialization {
    fn default() -> Self {
        Serialization {
            hash: HashAlg::Sha256,
            shard_size: None,
            ignore_paths: DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect(),
            allow_symlinks: false,
        }
    }
}

impl Serialization {
    /// The resource `algorithm` field: `sha256`, or `sha256-sharded-N` for shards.
    pub fn algorithm(&self) -> String {
        match self.shard_size {
            None => self.hash.name().to_string(),
            Some(n) => format!("{}-sharded-{n}", self.hash.name()),
        }
    }

    fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        if let Some(n) = self.shard_size {
            // model_signing writes the shard size as a float.
            m.insert("shard_size".into(), json!(n as f64));
        }
        m.insert("ignore_paths".into(), json!(self.ignore_paths));
        m.insert(
            "method".into(),
            json!(if self.shard_size.is_some() {
                "shards"
            } else {
                "files"
            }),
        );
        m.insert("hash_type".into(), json!(self.hash.name()));
        m.insert("allow_symlinks".into(), json!(self.allow_symlinks));
        Value::Object(m)
    }

    fn from_json(v: &Value) -> Result<Serialization, String> {
        let method = v
            .get("method")
            .and_then(Value::as_str)
            .ok_or("serialization has no method")?;
        let hash_name = v
            .get("hash_type")
            .and_then(Value::as_str)
            .unwrap_or("sha256");
        let hash = HashAlg::from_name(hash_name)
            .ok_or_else(|| format!("unsupported hash_type '{hash_name}'"))?;
        let shard_size = match method {
            "files" => None,
            "shards" => {
                let n = v
                    .get("shard_size")
                    .and_then(Value::as_f64)
                    .ok_or("shards without shard_size")?;
                if !(n >= 1.0 && n.fract() == 0.0 && n < 9.0e15) {
                    return Err(format!("invalid shard_size {n}"));
                }
                Some(n as u64)
            }
            m => return Err(format!("unsupported serialization method '{m}'")),
        };
        let ignore_paths = v
            .get("ignore_paths")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let allow_symlinks = v
            .get("allow_symlinks")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Serialization {
            hash,
            shard_size,
            ignore_paths,
            allow_symlinks,
        })
    }
}

/// What the verifier adds to what the signature says: paths to leave out on top of those
/// it lists, and whether to follow symbolic links although the signer did not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Local {
    pub ignore: Vec<String>,
    pub allow_symlinks: bool,
}

/// One signed unit: a file, or a shard of one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub name: String,
    pub digest: Vec<u8>,
}

/// A model hashed for signing or verification.
#[derive(Debug)]
pub struct Hashed {
    /// The subject name (the model directory's or file's name).
    pub name: String,
    /// Sorted as model_signing sorts them: by path components, then shard start.
    pub resources: Vec<Resource>,
}

impl Hashed {
    pub fn root(&self) -> [u8; 32] {
        root_digest(&self.resources)
    }
}

/// SHA-256 over the concatenated raw digests, in order.
pub fn root_digest(resources: &[Resource]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    for r in resources {
        h.update(&r.digest);
    }
    h.finalize().into()
}

struct FileItem {
    name: String,
    path: PathBuf,
    size: u64,
}

/// The sort key model_signing uses: path components compared element-wise (`a/b` before `a-b`).
fn components(name: &str) -> Vec<&str> {
    name.split('/').collect()
}

fn is_ignored(rel: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|i| {
        let i = i.trim_end_matches('/');
        rel == i || rel.strip_prefix(i).is_some_and(|r| r.starts_with('/'))
    })
}

/// Every file of the model, relative names with `/`, minus ignored paths and the signature.
fn list_files(
    model: &Path,
    ser: &Serialization,
    signature: Option<&Path>,
) -> Result<Vec<FileItem>, String> {
    let meta = fs::metadata(model).map_err(|e| format!("{}: {e}", model.display()))?;
    if meta.is_file() {
        let name = model
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: file name is not UTF-8", model.display()))?
            .to_string();
        return Ok(vec![FileItem {
            name,
            path: model.to_path_buf(),
            size: meta.len(),
        }]);
    }
    let sig_canon = signature.and_then(|s| fs::canonicalize(s).ok());
    let mut out = Vec::new();
    let mut stack = vec![(model.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let rd = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in rd {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let fname = entry.file_name();
            let fname = fname
                .to_str()
                .ok_or_else(|| format!("{}: file name is not UTF-8", entry.path().display()))?;
            let name = if rel.is_empty() {
                fname.to_string()
            } else {
                format!("{rel}/{fname}")
            };
            if is_ignored(&name, &ser.ignore_paths) {
                continue;
            }
            let path = entry.path();
            if sig_canon
                .as_ref()
                .is_some_and(|s| fs::canonicalize(&path).ok().as_ref() == Some(s))
            {
                continue;
            }
            let ft = entry
                .file_type()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            // Symbolic links as model_signing 1.1.1 reads them: refused unless allowed; when
            // allowed, a link to a file is a resource under the link's own name with its
            // target's bytes (wherever the target lies: a Hugging Face snapshot's blobs).
            // model_signing's `**` glob does not descend into a link to a directory, so the
            // files below one would be neither signed nor checked: refused here, never
            // skipped silently.
            if ft.is_symlink() && !ser.allow_symlinks {
                return Err(format!(
                    "{name}: a symbolic link; pass --allow-symlinks to follow links (model_signing's --allow_symlinks)"
                ));
            }
            let m = fs::metadata(&path).map_err(|e| {
                if ft.is_symlink() {
                    format!("{name}: a broken symbolic link ({e})")
                } else {
                    format!("{}: {e}", path.display())
                }
            })?;
            if ft.is_symlink() && m.is_dir() {
                return Err(format!(
                    "{name}: a symbolic link to a directory; model_signing 1.1.1 neither follows nor signs what is under one, so its files would go unsigned: replace it with the directory, or link the files"
                ));
            }
            if m.is_dir() {
                stack.push((path, name));
            } else if m.is_file() {
                out.push(FileItem {
                    name,
                    path,
                    size: m.len(),
                });
            } else {
                return Err(format!("{name}: not a regular file"));
            }
        }
    }
    out.sort_by(|a, b| components(&a.name).cmp(&components(&b.name)));
    Ok(out)
}

/// Hash a model as model_signing does. `signature` is excluded when it lies inside the model.
pub fn hash_model(
    model: &Path,
    ser: &Serialization,
    signature: Option<&Path>,
) -> Result<Hashed, String> {
    let files = list_files(model, ser, signature)?;
    let name = fs::canonicalize(model)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| model.to_string_lossy().into_owned());
    let units: Vec<(String, &Path, u64, u64)> = match ser.shard_size {
        None => files
            .iter()
            .map(|f| (f.name.clone(), f.path.as_path(), 0, f.size))
            .collect(),
        Some(n) => files
            .iter()
            .flat_map(|f| {
                (0..f.size.div_ceil(n)).map(move |i| {
                    let start = i.saturating_mul(n);
                    let end = start.saturating_add(n).min(f.size);
                    (
                        format!("{}:{start}:{end}", f.name),
                        f.path.as_path(),
                        start,
                        end,
                    )
                })
            })
            .collect(),
    };
    let sharded = ser.shard_size.is_some();
    let resources = units
        .par_iter()
        .map(|(name, path, start, end)| {
            let d = if sharded {
                digest::hash_range(ser.hash, path, *start, *end)
            } else {
                digest::hash_file(ser.hash, path)
            };
            d.map(|digest| Resource {
                name: name.clone(),
                digest,
            })
            .map_err(|e| format!("{name}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Hashed { name, resources })
}

/// Write JSON as Python's `json.dumps(obj, indent=2)` does: two-space indent, ASCII only.
fn python_json(v: &Value) -> Vec<u8> {
    let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
    let mut out = String::with_capacity(pretty.len());
    for c in pretty.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// The in-toto statement model_signing signs.
pub fn statement(hashed: &Hashed, ser: &Serialization) -> Vec<u8> {
    let algorithm = ser.algorithm();
    let resources: Vec<Value> = hashed
        .resources
        .iter()
        .map(|r| json!({"digest": hex(&r.digest), "name": r.name, "algorithm": algorithm}))
        .collect();
    let v = json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": hashed.name, "digest": {"sha256": hex(&hashed.root())}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"serialization": ser.to_json(), "resources": resources},
    });
    python_json(&v)
}

/// Sign `model` with `key`: the bundle JSON, ready to write to `model.sig`.
/// The model hashed for signing: a model holds at least one file (the spec), so an empty one
/// (a mistyped path, a folder never fetched) is refused rather than signed.
fn signable(model: &Path, ser: &Serialization, signature: Option<&Path>) -> Result<Hashed, String> {
    let files = list_files(model, ser, signature)?;
    if files.is_empty() {
        return Err(format!(
            "{} holds no file to sign: a model holds at least one",
            model.display()
        ));
    }
    hash_model(model, ser, signature)
}

pub fn sign_with_key(
    model: &Path,
    ser: &Serialization,
    key: &SigningKey,
    signature: Option<&Path>,
) -> Result<Vec<u8>, String> {
    let hashed = signable(model, ser, signature)?;
    let payload = statement(&hashed, ser);
    let material = dsse::key_hint_material(&key.verifying_key());
    Ok(dsse::signed_bundle(
        dsse::PAYLOAD_TYPE,
        &payload,
        key,
        material,
    ))
}

/// The outcome of verifying a model against a signature: findings (an info finding when all is
/// well) and how many files the signature covers.
pub struct Verification {
    pub findings: Vec<Finding>,
    pub covered: usize,
    /// The files of the model on disk, once the signature itself verified and the model was
    /// hashed (`None`: the signature did not verify, so nothing is covered).
    pub on_disk: Option<usize>,
}

/// Time-stamping authorities trusted for the RFC 3161 timestamps a bundle carries.
pub type Tsa = sigstore_verify::tsa::TsaAuthority;

/// A TSA from its certificates, leaf first and root last (one certificate: both).
pub fn tsa_from_chain(chain: &[Vec<u8>]) -> Option<Tsa> {
    use sigstore_verify::types::DerCertificate;
    let (leaf, rest) = chain.split_first()?;
    let (root, middle) = match rest.split_last() {
        Some((root, middle)) => (root.clone(), middle.to_vec()),
        None => (leaf.clone(), Vec::new()),
    };
    Some(Tsa::new(
        DerCertificate::new(leaf.clone()),
        middle.into_iter().map(DerCertificate::new).collect(),
        DerCertificate::new(root),
        None,
    ))
}

/// What the RFC 3161 timestamps of a bundle (verificationMaterial.timestampVerificationData,
/// as the Go client writes them) establish: the earliest time a trusted TSA attests the
/// signature existed, and the finding that says so (or why not).
fn timestamps(bundle: &Bundle, tsa: &[Tsa], shown: &str) -> (Option<u64>, Option<Finding>) {
    use sigstore_verify::types::{SignatureBytes, TimestampToken};
    let tokens: Vec<Vec<u8>> = bundle
        .verification_material
        .timestamp_verification_data
        .as_ref()
        .and_then(|t| t.get("rfc3161Timestamps"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.get("signedTimestamp").and_then(Value::as_str))
                .filter_map(|b| dsse::unb64(b).ok())
                .collect()
        })
        .unwrap_or_default();
    if tokens.is_empty() {
        return (None, None);
    }
    let sig = bundle
        .dsse_envelope
        .as_ref()
        .and_then(|e| e.signatures.first())
        .and_then(|s| dsse::unb64(&s.sig).ok())
        .unwrap_or_default();
    let finding = |severity: Severity, message: String, evidence: Evidence| {
        let mut f = Finding::new(Code::SignatureTimestamp, shown, message, evidence);
        f.severity = severity;
        f
    };
    if tsa.is_empty() {
        let f = finding(
            Severity::Warning,
            format!("the bundle carries {} RFC 3161 timestamp(s), not checked: no time-stamping authority was given (--tsa-certificate-chain); the certificate chain was validated at the current time", tokens.len()),
            ev! {"timestamps" => tokens.len()},
        );
        return (None, Some(f));
    }
    let mut best: Option<u64> = None;
    let mut errors = Vec::new();
    for t in &tokens {
        for a in tsa {
            match sigstore_verify::tsa::verify_timestamp_for_authority(
                &TimestampToken::new(t.clone()),
                &SignatureBytes::from_bytes(&sig),
                a,
            ) {
                Ok(time) => {
                    let secs = u64::try_from(time.as_second()).unwrap_or(0);
                    best = Some(best.map_or(secs, |b| b.min(secs)));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    match best {
        Some(at) => {
            let when = jiff::Timestamp::from_second(i64::try_from(at).unwrap_or(0))
                .map(|t| t.to_string())
                .unwrap_or_default();
            let f = finding(
                Severity::Info,
                format!("a trusted time-stamping authority attests the signature existed at {when}; the certificate chain was validated at that time"),
                ev! {"time" => when, "unix" => at},
            );
            (Some(at), Some(f))
        }
        None => {
            errors.sort();
            errors.dedup();
            let f = finding(
                Severity::Error,
                format!("no RFC 3161 timestamp of the bundle verifies with the given time-stamping authorities: {}", errors.join("; ")),
                ev! {"errors" => errors},
            );
            (None, Some(f))
        }
    }
}

/// Verify `model` against a bundle with a public key: the signature over the PAE first, then
/// the subject digest over the listed resources, then every name → digest against the model.
pub fn verify_with_key(
    model: &Path,
    bundle_bytes: &[u8],
    key: &VerifyingKey,
    signature: Option<&Path>,
    local: &Local,
) -> Verification {
    verify_with_key_ts(model, bundle_bytes, key, &[], signature, local)
}

/// As [`verify_with_key`], with the bundle's RFC 3161 timestamps checked against `tsa` and
/// reported (`signature-timestamp`).
pub fn verify_with_key_ts(
    model: &Path,
    bundle_bytes: &[u8],
    key: &VerifyingKey,
    tsa: &[Tsa],
    signature: Option<&Path>,
    local: &Local,
) -> Verification {
    let shown = model.to_string_lossy().into_owned();
    let mut stamped = None;
    let mut v = verify_signed(model, bundle_bytes, signature, local, |bundle| {
        stamped = timestamps(bundle, tsa, &shown).1;
        Ok(key)
    });
    v.findings.extend(stamped);
    v
}

/// Verify `model` against a bundle whose signing certificate must chain to one of `anchors`
/// (DER) at `at` (seconds since the epoch) with the code-signing usage.
pub fn verify_with_certificate(
    model: &Path,
    bundle_bytes: &[u8],
    anchors: &[Vec<u8>],
    at: u64,
    signature: Option<&Path>,
    local: &Local,
) -> Verification {
    verify_with_certificate_ts(
        model,
        bundle_bytes,
        anchors,
        Some(at),
        &[],
        signature,
        local,
    )
}

/// As [`verify_with_certificate`], with the bundle's RFC 3161 timestamps checked against
/// `tsa`: when `at` is `None`, the chain is validated at the earliest trusted timestamp (so a
/// leaf that has since expired still verifies when a TSA proves it signed in time), else at
/// the current time.
pub fn verify_with_certificate_ts(
    model: &Path,
    bundle_bytes: &[u8],
    anchors: &[Vec<u8>],
    at: Option<u64>,
    tsa: &[Tsa],
    signature: Option<&Path>,
    local: &Local,
) -> Verification {
    let shown = model.to_string_lossy().into_owned();
    let mut key = None;
    let mut accepted = None;
    let mut stamped = None;
    let mut v = verify_signed(model, bundle_bytes, signature, local, |bundle| {
        let (ts_time, ts_finding) = timestamps(bundle, tsa, &shown);
        stamped = ts_finding;
        let at = at.or(ts_time).unwrap_or_else(super::chain::now);
        let vm = &bundle.verification_material;
        let certs: Vec<Vec<u8>> = match (&vm.x509_certificate_chain, &vm.certificate) {
            (Some(chain), _) => chain
                .certificates
                .iter()
                .map(|c| dsse::unb64(&c.raw_bytes))
                .collect::<Result<_, _>>(),
            (None, Some(c)) => dsse::unb64(&c.raw_bytes).map(|d| vec![d]),
            (None, None) => Err("the bundle carries no signing certificate".into()),
        }
        .map_err(|e| (Code::SignatureMalformed, e))?;
        let (leaf, rest) = certs.split_first().ok_or((
            Code::SignatureMalformed,
            "empty certificate chain".to_string(),
        ))?;
        let (k, how) = super::chain::verify_chain(leaf, rest, anchors, at)
            .map_err(|e| (Code::SignatureInvalid, e))?;
        accepted = Some(how);
        Ok(&*key.insert(k))
    });
    v.findings.extend(stamped);
    if accepted == Some(super::chain::Accepted::CaLeaf) {
        v.findings.push(Finding::new(
            Code::CertificateCaLeaf,
            model.to_string_lossy().into_owned(),
            "the signing certificate is a CA certificate (basicConstraints CA:TRUE) used as the signer; accepted as model_signing accepts it",
            ev! {},
        ));
    }
    v
}

/// The shared path: parse the bundle, find the key (`key_for` may validate a certificate
/// chain), verify the DSSE signature over the PAE, and only then read the payload.
fn verify_signed<'k>(
    model: &Path,
    bundle_bytes: &[u8],
    signature: Option<&Path>,
    local: &Local,
    key_for: impl FnOnce(&Bundle) -> Result<&'k VerifyingKey, (Code, String)>,
) -> Verification {
    let shown = model.to_string_lossy().into_owned();
    let fail = |code: Code, message: String, evidence: Evidence| Verification {
        findings: vec![Finding::new(code, &shown, message, evidence)],
        covered: 0,
        on_disk: None,
    };
    let bundle = match Bundle::parse(bundle_bytes) {
        Ok(b) => b,
        Err(e) => return fail(Code::SignatureMalformed, e, ev! {}),
    };
    let env = match bundle.envelope() {
        Ok(e) => e,
        Err(e) => return fail(Code::SignatureMalformed, e, ev! {}),
    };
    if env.payload_type != dsse::PAYLOAD_TYPE {
        return fail(
            Code::SignatureMalformed,
            format!(
                "payload type is '{}', expected '{}'",
                env.payload_type,
                dsse::PAYLOAD_TYPE
            ),
            ev! {},
        );
    }
    let key = match key_for(&bundle) {
        Ok(k) => k,
        Err((code, e)) => return fail(code, e, ev! {}),
    };
    let pae = dsse::pae(&env.payload_type, &env.payload);
    // Signatures of model_signing 0.2 (and the Go client that reads them) were made over a
    // mis-encoded PAE with SHA-256: accepted as those verifiers accept them.
    let v02 = dsse::pae_v02(&env.payload_type, &env.payload);
    if !env
        .signatures
        .iter()
        .any(|s| key.verify(&pae, s) || key.verify_sha256(&v02, s))
    {
        return fail(
            Code::SignatureInvalid,
            format!("the signature does not verify with the {} key", key.curve()),
            ev! {"curve" => key.curve()},
        );
    }
    // Only now is the payload trusted enough to parse.
    verify_payload(model, &shown, &env.payload, signature, local)
}

/// Sign `model` with `key` and its certificate chain (leaf first, DER), as model_signing's
/// certificate method does. The key must belong to the leaf.
pub fn sign_with_certificate(
    model: &Path,
    ser: &Serialization,
    key: &SigningKey,
    chain: &[Vec<u8>],
    signature: Option<&Path>,
) -> Result<Vec<u8>, String> {
    let leaf = chain.first().ok_or("no signing certificate")?;
    let info = sigstore_verify::crypto::x509::parse_certificate_info(
        &sigstore_verify::types::DerCertificate::new(leaf.clone()),
    )
    .map_err(|e| format!("signing certificate: {e}"))?;
    let cert_key = VerifyingKey::from_spki_der(info.public_key.as_bytes())?;
    if cert_key.to_pem() != key.verifying_key().to_pem() {
        return Err("the private key does not belong to the signing certificate".into());
    }
    let hashed = signable(model, ser, signature)?;
    let payload = statement(&hashed, ser);
    let material = VerificationMaterial {
        x509_certificate_chain: Some(super::dsse::CertificateChain {
            certificates: chain
                .iter()
                .map(|c| super::dsse::RawBytes {
                    raw_bytes: dsse::b64(c),
                })
                .collect(),
        }),
        ..VerificationMaterial::default()
    };
    Ok(dsse::signed_bundle(
        dsse::PAYLOAD_TYPE,
        &payload,
        key,
        material,
    ))
}

/// Verify `model` against a keyless (Sigstore) bundle: the bundle is verified by
/// `sigstore-verify` over the subject digest it claims (certificate identity and issuer,
/// transparency log, timestamps), and only then is the payload compared with the model.
pub fn verify_with_sigstore(
    model: &Path,
    bundle_bytes: &[u8],
    signer: &super::sigstore::Signer,
    root: &super::sigstore::TrustedRoot,
    signature: Option<&Path>,
    local: &Local,
) -> Verification {
    let shown = model.to_string_lossy().into_owned();
    let fail = |code: Code, message: String| Verification {
        findings: vec![Finding::new(code, &shown, message, ev! {})],
        covered: 0,
        on_disk: None,
    };
    // Only the claimed subject digest is read before verification: it is what the signature
    // is checked against, so a forged one fails there.
    let env = match Bundle::parse(bundle_bytes).and_then(|b| b.envelope()) {
        Ok(e) => e,
        Err(e) => return fail(Code::SignatureMalformed, e),
    };
    let subject = serde_json::from_slice::<Value>(&env.payload)
        .ok()
        .and_then(|v| {
            v.pointer("/subject/0/digest/sha256")
                .and_then(Value::as_str)
                .and_then(unhex)
        })
        .and_then(|d| <[u8; 32]>::try_from(d).ok());
    let Some(subject) = subject else {
        return fail(
            Code::SignatureMalformed,
            "statement has no sha256 subject digest".into(),
        );
    };
    let json = String::from_utf8_lossy(bundle_bytes);
    if let Err(e) = super::sigstore::verify(
        super::sigstore::Subject::Sha256(subject),
        &json,
        signer,
        root,
    ) {
        return fail(
            Code::SignatureInvalid,
            format!("Sigstore verification failed: {e}"),
        );
    }
    verify_payload(model, &shown, &env.payload, signature, local)
}

/// Check a verified payload against the model on disk.
pub fn verify_payload(
    model: &Path,
    shown: &str,
    payload: &[u8],
    signature: Option<&Path>,
    local: &Local,
) -> Verification {
    let mut findings = Vec::new();
    let fail = |code: Code, message: String| Verification {
        findings: vec![Finding::new(code, shown, message, ev! {})],
        covered: 0,
        on_disk: None,
    };
    let st: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => {
            return fail(
                Code::SignatureMalformed,
                format!("payload is not JSON: {e}"),
            )
        }
    };
    if st.get("_type").and_then(Value::as_str) != Some(STATEMENT_TYPE) {
        return fail(
            Code::SignatureMalformed,
            "payload is not an in-toto Statement v1".into(),
        );
    }
    // model_signing 0.2's statement (predicate Digests/v0.1): one subject per file with its
    // SHA-256, no root digest; read as model_signing reads it (files, sha256, no symlinks).
    let compat = st.get("predicateType").and_then(Value::as_str) == Some(PREDICATE_TYPE_V01);
    if !compat && st.get("predicateType").and_then(Value::as_str) != Some(PREDICATE_TYPE) {
        return fail(
            Code::SignatureMalformed,
            format!("predicate type is not {PREDICATE_TYPE}"),
        );
    }
    let (subject, pred) = if compat {
        let Some(subjects) = st.get("subject").and_then(Value::as_array) else {
            return fail(Code::SignatureMalformed, "statement has no subjects".into());
        };
        let resources: Vec<Value> = subjects
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.get("name").cloned().unwrap_or(Value::Null),
                    "algorithm": "sha256",
                    "digest": s.pointer("/digest/sha256").cloned().unwrap_or(Value::Null),
                })
            })
            .collect();
        let pred = serde_json::json!({
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false},
            "resources": resources,
        });
        (None, pred)
    } else {
        let subject = st
            .get("subject")
            .and_then(Value::as_array)
            .filter(|s| s.len() == 1)
            .and_then(|s| s.first())
            .and_then(|s| s.pointer("/digest/sha256"))
            .and_then(Value::as_str)
            .and_then(unhex);
        let Some(subject) = subject else {
            return fail(
                Code::SignatureMalformed,
                "statement needs exactly one subject with a sha256 digest".into(),
            );
        };
        (
            Some(subject),
            st.get("predicate").cloned().unwrap_or(Value::Null),
        )
    };
    let mut ser = match pred.get("serialization").map(Serialization::from_json) {
        Some(Ok(s)) => s,
        Some(Err(e)) => return fail(Code::SignatureMalformed, e),
        None => {
            return fail(
                Code::SignatureMalformed,
                "predicate has no serialization".into(),
            )
        }
    };
    let Some(listed) = pred.get("resources").and_then(Value::as_array) else {
        return fail(
            Code::SignatureMalformed,
            "predicate has no resources".into(),
        );
    };
    let algorithm = ser.algorithm();
    let mut resources = Vec::with_capacity(listed.len());
    let mut names = HashSet::new();
    for r in listed {
        let name = r.get("name").and_then(Value::as_str).unwrap_or("");
        let digest = r.get("digest").and_then(Value::as_str).and_then(unhex);
        let alg = r.get("algorithm").and_then(Value::as_str).unwrap_or("");
        let Some(digest) = digest else {
            return fail(
                Code::SignatureMalformed,
                format!("resource '{name}' has no hex digest"),
            );
        };
        if alg != algorithm {
            return fail(
                Code::SignatureMalformed,
                format!("resource '{name}' uses '{alg}', the serialization says '{algorithm}'"),
            );
        }
        if let Some(why) = unsafe_name(name, ser.shard_size.is_some()) {
            findings.push(Finding::new(
                Code::SignatureUnsafeName,
                shown,
                format!("resource name '{name}' {why}"),
                ev! {"name" => name},
            ));
        } else if !names.insert(name.to_string()) {
            findings.push(Finding::new(
                Code::SignatureUnsafeName,
                shown,
                format!("resource name '{name}' appears twice"),
                ev! {"name" => name},
            ));
        }
        resources.push(Resource {
            name: name.to_string(),
            digest,
        });
    }
    if !findings.is_empty() {
        return Verification {
            findings,
            covered: 0,
            on_disk: None,
        };
    }
    let root = root_digest(&resources);
    if let Some(subject) = subject.filter(|s| root[..] != s[..]) {
        return Verification {
            findings: vec![Finding::new(
                Code::SignatureSubjectMismatch,
                shown,
                "the subject digest does not match the listed resources",
                ev! {"subject" => hex(&subject), "computed" => hex(&root)},
            )],
            covered: 0,
            on_disk: None,
        };
    }
    ser.ignore_paths.extend(local.ignore.iter().cloned());
    // Links are followed when the signer followed them (the signed serialization says so) or
    // when the verifier asks (model_signing verify's --allow_symlinks).
    ser.allow_symlinks |= local.allow_symlinks;
    let actual = match hash_model(model, &ser, signature) {
        Ok(h) => h,
        Err(e) => return fail(Code::ReadError, format!("cannot hash the model: {e}")),
    };
    // A single-file model may be listed as "." or by its name.
    let single = fs::metadata(model).is_ok_and(|m| m.is_file());
    let normalize = |n: &str| -> String {
        if single {
            if let Some(rest) = n.strip_prefix('.') {
                if rest.is_empty() || rest.starts_with(':') {
                    return format!("{}{rest}", actual.name);
                }
            }
        }
        n.to_string()
    };
    let expected: BTreeMap<String, &[u8]> = resources
        .iter()
        .map(|r| (normalize(&r.name), r.digest.as_slice()))
        .collect();
    let found: BTreeMap<String, &[u8]> = actual
        .resources
        .iter()
        .map(|r| (r.name.clone(), r.digest.as_slice()))
        .collect();
    let file_of = |n: &str| -> String {
        match ser.shard_size {
            Some(_) => n.rsplitn(3, ':').nth(2).unwrap_or(n).to_string(),
            None => n.to_string(),
        }
    };
    let expected_files: HashSet<String> = expected.keys().map(|k| file_of(k)).collect();
    let found_files: HashSet<String> = found.keys().map(|k| file_of(k)).collect();
    // One finding per file, however many of its shards differ.
    let mut reported = HashSet::new();
    let mut report = |file: String, code: Code, what: &str, evidence: Evidence| {
        if reported.insert(file.clone()) {
            findings.push(Finding::new(
                code,
                join(shown, &file, single),
                format!("'{file}' {what}"),
                evidence,
            ));
        }
    };
    for (name, want) in &expected {
        let file = file_of(name);
        match found.get(name) {
            Some(got) if got == want => {}
            Some(got) => report(
                file,
                Code::SignedFileModified,
                "was modified since it was signed",
                ev! {"name" => name, "signed_digest" => hex(want), "actual_digest" => hex(got)},
            ),
            None if found_files.contains(&file) => report(
                file,
                Code::SignedFileModified,
                "changed size since it was signed",
                ev! {"name" => name, "signed_digest" => hex(want)},
            ),
            None => report(
                file,
                Code::SignedFileMissing,
                "is signed but missing from the model",
                ev! {"name" => name, "signed_digest" => hex(want)},
            ),
        }
    }
    for (name, got) in found.iter().filter(|(n, _)| !expected.contains_key(*n)) {
        let file = file_of(name);
        let evidence = ev! {"name" => name, "actual_digest" => hex(got)};
        if expected_files.contains(&file) {
            report(
                file,
                Code::SignedFileModified,
                "changed size since it was signed",
                evidence,
            );
        } else {
            report(
                file,
                Code::UnsignedFile,
                "is not covered by the signature",
                evidence,
            );
        }
    }
    let files = expected_files;
    if findings.is_empty() {
        findings.push(Finding::new(Code::SignatureVerified, shown, format!("signature verified: {}, {}, {}", crate::finding::plural(files.len() as u64, "file", "files"), crate::finding::plural(expected.len() as u64, "resource", "resources"), algorithm), ev! {"files" => files.len(), "resources" => expected.len(), "algorithm" => algorithm, "root_digest" => hex(&root)}));
    }
    Verification {
        findings,
        covered: files.len(),
        on_disk: Some(found_files.len()),
    }
}

fn join(model: &str, file: &str, single: bool) -> String {
    if single {
        model.to_string()
    } else {
        format!("{}/{file}", model.trim_end_matches('/'))
    }
}

/// Why a resource name cannot be trusted to stay inside the model, if it cannot.
fn unsafe_name(name: &str, sharded: bool) -> Option<&'static str> {
    let path = if sharded {
        name.rsplitn(3, ':').nth(2)?
    } else {
        name
    };
    if path.is_empty() {
        return Some("is empty");
    }
    if path.starts_with('/') {
        return Some("is absolute");
    }
    if path.contains('\\') {
        return Some("contains a backslash");
    }
    if path.split('/').any(|c| c == "..") {
        return Some("leaves the model directory");
    }
    if path != "." && path.split('/').any(|c| c.is_empty() || c == ".") {
        return Some("is not a normalized path");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_order_puts_a_slash_b_before_a_dash_b() {
        let mut v = vec![
            "a-b.txt",
            "a/b.txt",
            "sub-dir/file.txt",
            "sub/tokenizer.json",
        ];
        v.sort_by(|a, b| components(a).cmp(&components(b)));
        assert_eq!(
            v,
            vec![
                "a/b.txt",
                "a-b.txt",
                "sub/tokenizer.json",
                "sub-dir/file.txt"
            ]
        );
    }

    #[test]
    fn unsafe_names() {
        assert_eq!(unsafe_name("/etc/passwd", false), Some("is absolute"));
        assert_eq!(
            unsafe_name("../x", false),
            Some("leaves the model directory")
        );
        assert_eq!(unsafe_name("a\\b", false), Some("contains a backslash"));
        assert_eq!(unsafe_name("a//b", false), Some("is not a normalized path"));
        assert_eq!(unsafe_name("a/b.txt", false), None);
        assert_eq!(unsafe_name("a/b.txt:0:10", true), None);
        assert_eq!(
            unsafe_name("../b:0:10", true),
            Some("leaves the model directory")
        );
        assert_eq!(unsafe_name(".", false), None);
    }

    #[test]
    fn python_json_escapes_like_json_dumps() {
        let v = json!({"a": "café", "b": [], "c": 100.0});
        assert_eq!(
            String::from_utf8(python_json(&v)).unwrap(),
            "{\n  \"a\": \"caf\\u00e9\",\n  \"b\": [],\n  \"c\": 100.0\n}"
        );
    }
}
