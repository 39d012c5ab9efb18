//! `modelgate manifest create|verify`: auditor manifests of a tree.

use super::{parse_severity, Exit, Outputs};
use crate::digest::HashAlg;
use crate::finding::Severity;
use crate::gate::{Error, ManifestTrust};
use std::path::PathBuf;

/// How a manifest is trusted: a signature with a public key, or explicitly not at all.
#[derive(clap::Args, Debug)]
pub struct Trust {
    /// The manifest's signature (default: MANIFEST.sig)
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// The public key that signed the manifest (Ed25519 or ECDSA, PEM); required unless
    /// --allow-unsigned
    #[arg(long = "public-key", alias = "key", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Use the manifest without a signature (reported as manifest-unsigned)
    #[arg(long = "allow-unsigned", conflicts_with_all = ["key", "signature"])]
    pub allow_unsigned: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Record every file's path, size, digests, format and scan verdict
    Create {
        /// The directory (or file) to describe, or a remote input (s3://, gs://, az://,
        /// https://, hf://ORG/NAME[@REVISION]: every file is read whole to hash it)
        #[arg(value_name = "PATH|URL")]
        path: PathBuf,
        /// Where to write the manifest
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        /// Digest algorithms (repeatable, or comma-separated)
        #[arg(
            long = "digest",
            value_name = "ALG",
            value_enum,
            value_delimiter = ',',
            default_value = "sha256"
        )]
        digests: Vec<HashAlg>,
        /// Sign the manifest with this private key (Ed25519 or ECDSA, PEM); writes OUTPUT.sig
        #[arg(long = "private-key", alias = "key", value_name = "FILE")]
        key: Option<PathBuf>,
        /// Findings at or above this severity make a file's verdict "fail"
        #[arg(long, value_name = "SEVERITY", default_value = "error", value_parser = parse_severity())]
        fail_on: Severity,
    },
    /// Compare a tree with a manifest: added, removed, modified and renamed files
    Verify {
        /// The directory (or file) to check, or a remote input (as for create)
        #[arg(value_name = "PATH|URL")]
        path: PathBuf,
        /// The manifest
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        #[command(flatten)]
        trust: Trust,
        #[command(flatten)]
        out: Outputs,
    },
}

pub fn run(cmd: Command) -> Exit {
    use crate::manifest;
    match cmd {
        Command::Create {
            path,
            output,
            digests,
            key,
            fail_on,
        } => {
            let mut algs: Vec<HashAlg> = Vec::new();
            for a in digests {
                if !algs.contains(&a) {
                    algs.push(a);
                }
            }
            let signing = crate::gate::manifest_signing_key(key.as_deref())?;
            // Checked before the tree is read (it may be inside it: it is then left out).
            super::check_destination(&output, &[], "-o ")
                .map_err(|e| Error::file("manifest", &output, e))?;
            // The output must not replace a file of the tree that is not a manifest.
            if output.is_file() {
                let previous = std::fs::read(&output).ok();
                let is_manifest = previous
                    .as_deref()
                    .is_some_and(|b| serde_json::from_slice::<manifest::Manifest>(b).is_ok());
                if !is_manifest {
                    return Err(Error::file(
                        "manifest",
                        &output,
                        "exists and is not a manifest: refusing to overwrite it",
                    ));
                }
            }
            let sig_path = manifest::default_signature(&output);
            let exclude = [output.clone(), sig_path.clone()];
            let (m, _) = manifest::create(&path, &algs, fail_on, &exclude).map_err(Error::Usage)?;
            let bytes = m.to_bytes();
            crate::output::write(&output, &bytes, crate::output::Access::Public)
                .map_err(|e| Error::file("cannot write manifest", &output, e))?;
            match signing {
                Some(sk) => {
                    crate::output::write(
                        &sig_path,
                        &manifest::sign(&bytes, &sk),
                        crate::output::Access::Public,
                    )
                    .map_err(|e| Error::file("cannot write signature", &sig_path, e))?;
                    complain!(
                        "{} -> {} (signed: {})",
                        crate::finding::plural(m.files.len() as u64, "file", "files"),
                        output.display(),
                        sig_path.display()
                    );
                }
                None => complain!(
                    "{} -> {} (unsigned)",
                    crate::finding::plural(m.files.len() as u64, "file", "files"),
                    output.display()
                ),
            }
            Ok(0)
        }
        Command::Verify {
            path,
            manifest: mpath,
            trust,
            out,
        } => {
            out.check()?;
            if trust.key.is_none() && !trust.allow_unsigned {
                return Err(Error::Usage(
                    "manifest verify needs --public-key FILE to check the manifest's signature, or --allow-unsigned to use the manifest without one (reported as manifest-unsigned)".into(),
                ));
            }
            let trust = ManifestTrust {
                signature: trust.signature,
                key: trust.key,
                allow_unsigned: trust.allow_unsigned,
            };
            out.write(&crate::gate::verify_manifest(
                &path,
                &mpath,
                &trust,
                out.bom(),
            )?)
        }
    }
}
