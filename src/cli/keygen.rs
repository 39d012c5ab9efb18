//! `modelgate keygen`: key pairs for signing models and manifests.

use super::Exit;
use crate::gate::Error;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Writes OUTPUT.key (PKCS#8, mode 600) and OUTPUT.pub
    #[arg(long, short, value_name = "OUTPUT", default_value = "modelgate")]
    output: PathBuf,
    /// Key type: ecdsa-p256 and ecdsa-p384 sign models (OpenSSF Model Signing) and
    /// manifests; ed25519 signs modelgate's own manifests only
    #[arg(long = "type", value_enum, default_value = "ecdsa-p256")]
    key_type: KeyType,
    /// Overwrite existing files
    #[arg(long)]
    force: bool,
}

/// Key types `keygen` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyType {
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    #[value(name = "ecdsa-p384")]
    EcdsaP384,
    #[value(name = "ed25519")]
    Ed25519,
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub fn run(a: Args) -> Exit {
    use crate::signature::keys::SigningKey;
    let key_path = with_suffix(&a.output, ".key");
    let pub_path = with_suffix(&a.output, ".pub");
    super::check_destination(&key_path, &[], "-o ")
        .map_err(|e| Error::file("key", &key_path, e))?;
    if !a.force {
        for p in [&key_path, &pub_path] {
            if p.exists() {
                return Err(Error::file("key", p, "exists; pass --force to overwrite"));
            }
        }
    }
    let generated = match a.key_type {
        KeyType::EcdsaP256 => SigningKey::generate_ecdsa(256),
        KeyType::EcdsaP384 => SigningKey::generate_ecdsa(384),
        KeyType::Ed25519 => SigningKey::generate_ed25519(),
    };
    let (key, pem) = generated
        .and_then(|k| k.to_pem().map(|p| (k, p)))
        .map_err(|e| Error::Usage(format!("cannot make a key: {e}")))?;
    // Both files are written to temporary files first (the private one created with mode
    // 600, the public one 0666 less the umask), then renamed: never a key without its public
    // half, never half a key.
    let write = || -> std::io::Result<()> {
        use crate::output::{Access, OutputFile};
        use std::io::Write;
        let mut private = OutputFile::create(&key_path, Access::Private)?;
        private.write_all(pem.as_bytes())?;
        let mut public = OutputFile::create(&pub_path, Access::Public)?;
        public.write_all(key.verifying_key().to_pem().as_bytes())?;
        public.commit()?;
        if let Err(e) = private.commit() {
            if std::fs::symlink_metadata(&pub_path).is_ok_and(|m| m.is_file()) {
                let _ = std::fs::remove_file(&pub_path);
            }
            return Err(e);
        }
        Ok(())
    };
    write().map_err(|e| Error::file("cannot write key pair", &key_path, e))?;
    let kind = match a.key_type {
        KeyType::EcdsaP256 => "ECDSA P-256",
        KeyType::EcdsaP384 => "ECDSA P-384",
        KeyType::Ed25519 => "Ed25519",
    };
    complain!(
        "{kind} key pair: {} (private, mode 600), {}",
        key_path.display(),
        pub_path.display()
    );
    Ok(0)
}
