//! `modelgate dataset manifest|diff`: record-level dataset manifests.

use super::{Exit, Outputs};
use crate::atlas::RunContext;
use crate::finding::{Code, Finding};
use crate::gate::{load_key, Error};
use std::io::Write;
use std::path::PathBuf;

/// Which fields of a record mean what.
#[derive(clap::Args, Debug)]
pub struct Fields {
    /// A field that identifies a record across versions (finds modified records)
    #[arg(long = "key-field", value_name = "FIELD")]
    pub key_field: Option<String>,
    /// The label field (finds label flips and label shifts)
    #[arg(long = "label-field", value_name = "FIELD")]
    pub label_field: Option<String>,
    /// The text field (for hidden characters and trigger tokens; default: every string field)
    #[arg(long = "text-field", value_name = "FIELD")]
    pub text_field: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Record a digest per record (JSON Lines, JSON arrays, CSV/TSV, text lines) and per file
    Manifest {
        /// The dataset directory
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Where to write the manifest
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        fields: Fields,
        /// Sign the manifest with this private key (Ed25519 or ECDSA); writes OUTPUT.sig
        #[arg(long = "private-key", alias = "signing-key", value_name = "FILE")]
        signing_key: Option<PathBuf>,
    },
    /// Compare a dataset with a trusted baseline manifest
    Diff {
        /// The dataset directory
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The baseline manifest
        #[arg(long, value_name = "FILE")]
        baseline: PathBuf,
        /// The baseline's signature (default: BASELINE.sig)
        #[arg(long, value_name = "FILE")]
        signature: Option<PathBuf>,
        /// The public key that signed the baseline; required unless --allow-unsigned
        #[arg(long = "public-key", value_name = "FILE")]
        public_key: Option<PathBuf>,
        /// Use the baseline without a signature (reported as manifest-unsigned)
        #[arg(long = "allow-unsigned", conflicts_with_all = ["public_key", "signature"])]
        allow_unsigned: bool,
        #[command(flatten)]
        out: Outputs,
    },
}

pub fn run(cmd: Command) -> Exit {
    use crate::dataset;
    match cmd {
        Command::Manifest {
            dir,
            output,
            fields,
            signing_key,
        } => {
            let f = dataset::records::Fields {
                key: fields.key_field,
                label: fields.label_field,
                text: fields.text_field,
                keep_text: false,
            };
            let key = crate::gate::manifest_signing_key(signing_key.as_deref())?;
            let roots = super::outputs::canonical(std::slice::from_ref(&dir));
            super::check_destination(&output, &roots, "-o ")
                .map_err(|e| Error::file("manifest", &output, e))?;
            // Streamed to a temporary file beside the output and renamed when complete (a
            // failed run leaves no half manifest); straight through to a device or FIFO.
            let tmp = crate::output::OutputFile::create(&output, crate::output::Access::Public)
                .map_err(|e| Error::file("cannot write manifest", &output, e))?;
            let mut w = std::io::BufWriter::new(tmp);
            let header = dataset::create_into(&dir, &f, &mut w).map_err(Error::Usage)?;
            w.flush()
                .map_err(|e| Error::file("cannot write manifest", &output, e))?;
            w.into_inner()
                .map_err(|e| Error::file("cannot write manifest", &output, e.error()))?
                .commit()
                .map_err(|e| Error::file("cannot write manifest", &output, e))?;
            if let Some(k) = key {
                let sig = crate::manifest::default_signature(&output);
                let mut head = serde_json::to_vec(&header).unwrap_or_default();
                head.push(b'\n');
                let signed = dataset::sign(&head, &k)
                    .map_err(|e| Error::file("cannot sign manifest", &output, e))?;
                crate::output::write(&sig, &signed, crate::output::Access::Public)
                    .map_err(|e| Error::file("cannot write signature", &sig, e))?;
            }
            complain!(
                "{} in {}",
                crate::finding::plural(header.records, "record", "records"),
                crate::finding::plural(header.files.len() as u64, "file", "files")
            );
            complain!("dataset manifest -> {}", output.display());
            Ok(0)
        }
        Command::Diff {
            dir,
            baseline,
            signature,
            public_key,
            allow_unsigned,
            out,
        } => {
            out.check()?;
            if public_key.is_none() && !allow_unsigned {
                return Err(Error::Usage(
                    "dataset diff needs --public-key FILE to check the baseline's signature, or --allow-unsigned to use the baseline without one (reported as manifest-unsigned)".into(),
                ));
            }
            // Only the header line is read now; the body streams during the diff and is
            // checked against the header's digest there.
            let (head, body_len) = dataset::read_header_line(&baseline)
                .map_err(|e| Error::Usage(format!("cannot read {e}")))?;
            let mut findings = Vec::new();
            let mut trusted = vec![crate::gate::trust_ref("baseline", &baseline)];
            let base = if allow_unsigned {
                findings.push(Finding::new(
                    Code::ManifestUnsigned,
                    baseline.to_string_lossy().into_owned(),
                    "the baseline was used without a signature (--allow-unsigned)",
                    crate::ev! {},
                ));
                dataset::open(&baseline, &head, body_len).map_err(|e| (Code::SignatureMalformed, e))
            } else {
                let pk = public_key.ok_or_else(|| {
                    Error::Usage("dataset diff needs --public-key (or --allow-unsigned)".into())
                })?;
                let key = load_key(
                    &pk,
                    "public key",
                    crate::signature::keys::VerifyingKey::from_pem_any,
                )?;
                let sig =
                    signature.unwrap_or_else(|| crate::manifest::default_signature(&baseline));
                trusted.push(crate::gate::trust_ref("signature", &sig));
                trusted.push(crate::gate::trust_ref("public-key", &pk));
                let b = crate::input::read_small(&sig, crate::input::SIGNATURE_LIMIT)
                    .map_err(|e| Error::file("signature", &sig, e))?;
                dataset::verify_header(&head, &b, &key).and_then(|()| {
                    dataset::open(&baseline, &head, body_len)
                        .map_err(|e| (Code::SignatureMalformed, e))
                })
            };
            match base {
                Ok(base) => findings.extend(dataset::diff(&dir, &base).map_err(Error::Usage)?),
                Err((code, message)) => findings.push(Finding::new(
                    code,
                    baseline.to_string_lossy().into_owned(),
                    message,
                    crate::ev! {},
                )),
            }
            let cx = RunContext {
                dataset_diff: true,
                bom: out.bom(),
                ..Default::default()
            };
            let root = dir.to_string_lossy().into_owned();
            let mut report = crate::gate::checked(findings, root, cx, None);
            report.inputs.trusted = trusted;
            out.write(&report)
        }
    }
}
