//! `modelgate verify` (OpenSSF Model Signing) and `modelgate verify-bundle` (any Sigstore
//! bundle).

use super::sign::{pem_chain, ModelArgs};
use super::{Exit, Outputs};
use crate::atlas::RunContext;
use crate::finding::{Code, Finding};
use crate::gate::{read_text, Error};
use crate::report::TrustRef;
use std::path::PathBuf;

/// The expected Sigstore signer and the trust root.
#[derive(clap::Args, Debug)]
pub struct SigstoreSigner {
    /// The expected certificate identity (SAN): an e-mail or a workflow URI
    #[arg(long, value_name = "IDENTITY")]
    pub identity: Option<String>,
    /// The expected OIDC issuer, e.g. https://token.actions.githubusercontent.com
    #[arg(
        long = "identity-provider",
        alias = "identity_provider",
        value_name = "URL"
    )]
    pub identity_provider: Option<String>,
    /// A trusted_root.json (default: the embedded Sigstore production root; no network)
    #[arg(long = "trusted-root", alias = "trusted_root", value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

impl SigstoreSigner {
    fn load(
        &self,
        key: Option<&PathBuf>,
    ) -> Result<
        (
            crate::signature::sigstore::Signer,
            crate::signature::sigstore::TrustedRoot,
        ),
        Error,
    > {
        use crate::signature::sigstore::{trusted_root, Signer};
        let root = match &self.trusted_root {
            Some(p) => trusted_root(Some(&read_text(p, "trusted root")?))
                .map_err(|e| Error::file("trusted root", p, e))?,
            None => trusted_root(None).map_err(|e| Error::Usage(e.to_string()))?,
        };
        let signer = match (key, &self.identity, &self.identity_provider) {
            (Some(k), _, _) => Signer::Key(read_text(k, "public key")?),
            (None, Some(identity), Some(issuer)) => Signer::Identity {
                identity: identity.clone(),
                issuer: issuer.clone(),
            },
            _ => {
                return Err(Error::Usage(
                    "give both --identity and --identity-provider (or a --public-key)".into(),
                ))
            }
        };
        Ok((signer, root))
    }
}

/// Time-stamping authorities for the RFC 3161 timestamps a bundle carries.
#[derive(clap::Args, Debug)]
pub struct TsaArgs {
    /// A time-stamping authority's certificates, PEM, TSA certificate first and root last
    /// (repeat for several authorities); the bundle's RFC 3161 timestamps are checked with them
    #[arg(long = "tsa-certificate-chain", value_name = "FILE")]
    tsa_certificate_chain: Vec<PathBuf>,
}

impl TsaArgs {
    fn load(&self) -> Result<Vec<crate::signature::oms::Tsa>, Error> {
        self.tsa_certificate_chain
            .iter()
            .map(|f| {
                let chain = pem_chain(std::slice::from_ref(f))?;
                crate::signature::oms::tsa_from_chain(&chain)
                    .ok_or_else(|| Error::file("TSA certificates", f, "no certificate"))
            })
            .collect()
    }

    fn refs(&self) -> impl Iterator<Item = TrustRef> + '_ {
        self.tsa_certificate_chain
            .iter()
            .map(|t| crate::gate::trust_ref("tsa-certificates", t))
    }
}

/// The model and signature, and what only verification takes.
#[derive(clap::Args, Debug)]
pub struct VerifyModelArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Files of the model the signature does not list are left out of the verification and of
    /// the coverage reported, instead of failing it (model_signing's --ignore_unsigned_files)
    #[arg(long = "ignore-unsigned-files", alias = "ignore_unsigned_files")]
    pub ignore_unsigned_files: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum Method {
    /// Verify with an ECDSA public key (SubjectPublicKeyInfo PEM)
    Key {
        #[command(flatten)]
        model: VerifyModelArgs,
        /// The public key
        #[arg(long = "public-key", alias = "public_key", value_name = "FILE")]
        public_key: PathBuf,
        #[command(flatten)]
        tsa: TsaArgs,
        #[command(flatten)]
        out: Outputs,
    },
    /// Verify a certificate signature against trust anchors you supply (never system roots)
    Certificate {
        #[command(flatten)]
        model: VerifyModelArgs,
        /// Trusted certificates (roots, or intermediates you trust), PEM (repeatable)
        #[arg(long = "certificate-chain", alias = "certificate_chain", value_name = "FILE", num_args = 1.., required = true)]
        certificate_chain: Vec<PathBuf>,
        /// Validate the chain at this time (RFC 3339 or seconds since 1970; default: the time a
        /// trusted RFC 3161 timestamp attests, else now)
        #[arg(long = "validation-time", value_name = "TIME")]
        validation_time: Option<String>,
        #[command(flatten)]
        tsa: TsaArgs,
        #[command(flatten)]
        out: Outputs,
    },
    /// Verify a keyless Sigstore signature: certificate identity, OIDC issuer, transparency log
    Sigstore {
        #[command(flatten)]
        model: VerifyModelArgs,
        #[command(flatten)]
        signer: SigstoreSigner,
        #[command(flatten)]
        out: Outputs,
    },
}

pub fn run(method: Method) -> Exit {
    use crate::signature::{keys::VerifyingKey, oms};
    let (args, out) = match &method {
        Method::Key { model, out, .. }
        | Method::Certificate { model, out, .. }
        | Method::Sigstore { model, out, .. } => (model, out),
    };
    let model = &args.model;
    out.check()?;
    if !model.model.exists() {
        return Err(Error::file(
            "model",
            &model.model,
            "no such file or directory",
        ));
    }
    let bundle = crate::input::read_small(&model.signature, crate::input::SIGNATURE_LIMIT)
        .map_err(|e| Error::file("signature", &model.signature, e))?;
    // Paths the user adds on top of those the signature itself lists.
    let extra = oms::Local {
        ignore: model
            .ignore_list()
            .into_iter()
            .filter(|p| !oms::DEFAULT_IGNORE.contains(&p.as_str()))
            .collect(),
        allow_symlinks: model.allow_symlinks,
    };
    let sig = Some(model.signature.as_path());
    let mut v = match &method {
        Method::Key {
            public_key, tsa, ..
        } => {
            let key = crate::gate::load_key(public_key, "public key", VerifyingKey::from_pem)?;
            oms::verify_with_key_ts(&model.model, &bundle, &key, &tsa.load()?, sig, &extra)
        }
        Method::Certificate {
            certificate_chain,
            validation_time,
            tsa,
            ..
        } => {
            let anchors = pem_chain(certificate_chain)?;
            let at = match validation_time.as_deref() {
                None => None,
                Some(t) => Some(
                    crate::signature::chain::parse_time(t)
                        .map_err(|e| Error::Usage(format!("--validation-time: {e}")))?,
                ),
            };
            let tsa = tsa.load()?;
            oms::verify_with_certificate_ts(&model.model, &bundle, &anchors, at, &tsa, sig, &extra)
        }
        Method::Sigstore { signer, .. } => {
            let (signer, root) = signer.load(None)?;
            oms::verify_with_sigstore(&model.model, &bundle, &signer, &root, sig, &extra)
        }
    };
    if args.ignore_unsigned_files {
        crate::gate::ignore_unsigned_files(&mut v, &model.model);
    }
    let coverage = crate::gate::signature_coverage(&v, &model.signature);
    let cx = RunContext {
        verify: true,
        bom: out.bom(),
        ..Default::default()
    };
    let root = model.model.to_string_lossy().into_owned();
    let mut report = crate::gate::checked(v.findings, root, cx, Some(coverage));
    let mut refs = Vec::new();
    match &method {
        Method::Key {
            public_key, tsa, ..
        } => {
            refs.push(crate::gate::trust_ref("public-key", public_key));
            refs.extend(tsa.refs());
        }
        Method::Certificate {
            certificate_chain,
            tsa,
            ..
        } => {
            refs.extend(
                certificate_chain
                    .iter()
                    .map(|c| crate::gate::trust_ref("certificate-anchor", c)),
            );
            refs.extend(tsa.refs());
        }
        Method::Sigstore { signer, .. } => refs.extend(
            signer
                .trusted_root
                .iter()
                .map(|r| crate::gate::trust_ref("trusted-root", r)),
        ),
    }
    refs.push(crate::gate::trust_ref("signature", &model.signature));
    report.inputs.trusted = refs;
    out.write(&report)
}

#[derive(clap::Args, Debug)]
pub struct BundleArgs {
    /// The signed file, or its digest as sha256:HEX
    #[arg(value_name = "ARTIFACT")]
    artifact: String,
    /// The bundle (.sigstore.json)
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    #[command(flatten)]
    signer: SigstoreSigner,
    /// A managed public key (PEM) instead of a certificate identity
    #[arg(long = "public-key", alias = "key", value_name = "FILE", conflicts_with_all = ["identity", "identity_provider"])]
    key: Option<PathBuf>,
    #[command(flatten)]
    out: Outputs,
}

pub fn run_bundle(a: BundleArgs) -> Exit {
    use crate::signature::sigstore::{verify, Subject};
    a.out.check()?;
    let (signer, root) = a.signer.load(a.key.as_ref())?;
    let json = read_text(&a.bundle, "bundle")?;
    let bytes;
    let subject = match a.artifact.strip_prefix("sha256:") {
        Some(h) => {
            let d = crate::digest::unhex(h).and_then(|d| <[u8; 32]>::try_from(d).ok());
            Subject::Sha256(d.ok_or_else(|| {
                Error::Usage(format!(
                    "'{}' is not sha256: followed by 64 hex digits",
                    a.artifact
                ))
            })?)
        }
        None => {
            let p = std::path::Path::new(&a.artifact);
            bytes = std::fs::read(p).map_err(|e| Error::file("artifact", p, e))?;
            Subject::Bytes(&bytes)
        }
    };
    let f = |code: Code, message: String, evidence: crate::inspect::Evidence| {
        Finding::new(code, a.artifact.clone(), message, evidence)
    };
    let finding = match verify(subject, &json, &signer, &root) {
        Ok(v) => f(
            Code::SignatureVerified,
            format!(
                "bundle verified{}",
                v.identity
                    .as_ref()
                    .map(|i| format!(" for {i}"))
                    .unwrap_or_default()
            ),
            crate::ev! {"identity" => v.identity, "issuer" => v.issuer, "integrated_time" => v.integrated_time},
        ),
        Err(e) => f(
            Code::SignatureInvalid,
            format!("bundle does not verify: {e}"),
            crate::ev! {},
        ),
    };
    let cx = RunContext {
        verify: true,
        bom: a.out.bom(),
        ..Default::default()
    };
    let mut report = crate::gate::checked(vec![finding], a.artifact.clone(), cx, None);
    report
        .inputs
        .trusted
        .push(crate::gate::trust_ref("bundle", &a.bundle));
    report.inputs.trusted.extend(
        a.key
            .iter()
            .map(|k| crate::gate::trust_ref("public-key", k)),
    );
    report.inputs.trusted.extend(
        a.signer
            .trusted_root
            .iter()
            .map(|r| crate::gate::trust_ref("trusted-root", r)),
    );
    a.out.write(&report)
}
