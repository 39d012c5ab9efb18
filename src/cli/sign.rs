//! `modelgate sign`: OpenSSF Model Signing bundles, with a key or a certificate.

use super::Exit;
use crate::digest::HashAlg;
use crate::gate::{load_key, read_text, Error};
use std::path::PathBuf;

/// What both signing and verification need to know about the model.
#[derive(clap::Args, Debug)]
pub struct ModelArgs {
    /// The model: a directory, or a single file
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// The signature file (a Sigstore bundle)
    #[arg(long, value_name = "FILE", default_value = "model.sig")]
    pub signature: PathBuf,
    /// Paths inside the model to leave out (repeatable)
    #[arg(long = "ignore-paths", alias = "ignore_paths", value_name = "PATH", num_args = 1..)]
    pub ignore_paths: Vec<PathBuf>,
    /// Do not leave out .git, .gitattributes, .github and .gitignore
    #[arg(long = "no-ignore-git-paths", alias = "no_ignore_git_paths")]
    pub no_ignore_git_paths: bool,
    /// Follow symbolic links in the model, as model_signing's --allow_symlinks: a link to a
    /// file is signed (and checked) under its own name with its target's content, wherever
    /// the target lies (a Hugging Face snapshot links every file into ../../blobs); a link to
    /// a directory is refused. Without it, a link is an error
    #[arg(long = "allow-symlinks", alias = "allow_symlinks")]
    pub allow_symlinks: bool,
}

impl ModelArgs {
    /// Ignore paths relative to the model, as model_signing takes them.
    pub fn ignore_list(&self) -> Vec<String> {
        let mut v: Vec<String> = if self.no_ignore_git_paths {
            Vec::new()
        } else {
            crate::signature::oms::DEFAULT_IGNORE
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        for p in &self.ignore_paths {
            let rel = p.strip_prefix(&self.model).unwrap_or(p);
            v.push(rel.to_string_lossy().trim_end_matches('/').to_string());
        }
        v
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum Method {
    /// Sign with an ECDSA private key (P-256, P-384 or P-521; PEM, PKCS#8 or SEC1)
    Key {
        #[command(flatten)]
        model: ModelArgs,
        /// The private key
        #[arg(long = "private-key", alias = "private_key", value_name = "FILE")]
        private_key: PathBuf,
        /// Digest algorithm
        #[arg(long, value_name = "ALG", value_enum, default_value = "sha256")]
        hash: HashAlg,
        /// Sign shards of this many bytes instead of whole files
        #[arg(long = "shard-size", value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
        shard_size: Option<u64>,
    },
    /// Sign with a private key and its X.509 certificate (and the chain above it)
    Certificate {
        #[command(flatten)]
        model: ModelArgs,
        /// The private key of the signing certificate
        #[arg(long = "private-key", alias = "private_key", value_name = "FILE")]
        private_key: PathBuf,
        /// The signing (leaf) certificate, PEM
        #[arg(
            long = "signing-certificate",
            alias = "signing_certificate",
            value_name = "FILE"
        )]
        signing_certificate: PathBuf,
        /// Certificates above the leaf, PEM (repeatable)
        #[arg(long = "certificate-chain", alias = "certificate_chain", value_name = "FILE", num_args = 1..)]
        certificate_chain: Vec<PathBuf>,
        /// Digest algorithm
        #[arg(long, value_name = "ALG", value_enum, default_value = "sha256")]
        hash: HashAlg,
        /// Sign shards of this many bytes instead of whole files
        #[arg(long = "shard-size", value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
        shard_size: Option<u64>,
    },
}

/// Certificates from PEM files, in order.
pub(super) fn pem_chain(files: &[PathBuf]) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    for f in files {
        let text = read_text(f, "certificate")?;
        let mut c = crate::signature::chain::pem_certificates(&text)
            .map_err(|e| Error::file("certificate", f, e))?;
        out.append(&mut c);
    }
    Ok(out)
}

pub fn run(method: Method) -> Exit {
    use crate::signature::{keys::SigningKey, oms};
    let (model, private_key, hash, shard_size) = match &method {
        Method::Key {
            model,
            private_key,
            hash,
            shard_size,
        }
        | Method::Certificate {
            model,
            private_key,
            hash,
            shard_size,
            ..
        } => (model, private_key, *hash, *shard_size),
    };
    let key = load_key(private_key, "private key", SigningKey::from_pem)?;
    // The signature must not replace a file that is not one (a model's weights).
    if model.signature.is_file() {
        let previous = crate::input::read_small(&model.signature, crate::input::SIGNATURE_LIMIT);
        if !previous.is_ok_and(|b| crate::signature::dsse::Bundle::parse(&b).is_ok()) {
            return Err(Error::file(
                "signature",
                &model.signature,
                "exists and is not a signature bundle: refusing to overwrite it",
            ));
        }
    }
    let ser = oms::Serialization {
        hash,
        shard_size,
        ignore_paths: model.ignore_list(),
        allow_symlinks: model.allow_symlinks,
    };
    let bundle = match &method {
        Method::Key { .. } => oms::sign_with_key(&model.model, &ser, &key, Some(&model.signature)),
        Method::Certificate {
            signing_certificate,
            certificate_chain,
            ..
        } => {
            let mut chain = pem_chain(std::slice::from_ref(signing_certificate))?;
            chain.truncate(1);
            chain.append(&mut pem_chain(certificate_chain)?);
            oms::sign_with_certificate(&model.model, &ser, &key, &chain, Some(&model.signature))
        }
    }
    .map_err(|e| Error::file("cannot sign model", &model.model, e))?;
    // Through a temporary file and a rename: never half a signature.
    crate::output::write(&model.signature, &bundle, crate::output::Access::Public)
        .map_err(|e| Error::file("cannot write signature", &model.signature, e))?;
    complain!(
        "signed {} -> {}",
        model.model.display(),
        model.signature.display()
    );
    Ok(0)
}
