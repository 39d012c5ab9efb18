//! The command line. Exit codes: 0 pass, 1 policy failed, 2 could not run.

use crate::finding::{Code, Severity, CODES};
use crate::report::{text, Coverage};
use crate::scan::{scan, ScanOptions};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

/// A `modelgate: …` line on standard error. Control characters and bidi overrides are shown
/// escaped: the line can quote a path or an error from the tree under scan.
macro_rules! complain {
    ($($arg:tt)*) => {
        eprintln!("modelgate: {}", text::Safe(&format!($($arg)*)))
    };
}

#[derive(Parser, Debug)]
#[command(
    name = "modelgate",
    version,
    about = "Guards the ML supply chain: finds code hidden in model files without ever loading them.",
    long_about = "Guards the ML supply chain: finds code hidden in model files without ever loading them.\n\n\
Exit codes: 0 = no finding at or above the fail threshold; 1 = findings at or above it;\n\
2 = the run could not happen (bad arguments, a path that does not exist)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A human summary (colour only on a terminal)
    Text,
    /// The full report as JSON (schema: schemas/report.schema.json)
    Json,
    /// SARIF 2.1.0 for GitHub code scanning and other SARIF viewers
    Sarif,
    /// JUnit XML: one test case per file, for CI dashboards
    Junit,
    /// A CycloneDX 1.6 ML-BOM: components with hashes, formats, signature status, ATLAS status
    Cyclonedx,
}

/// Render a report in a format.
pub fn render(report: &crate::report::Report, format: OutputFormat, color: bool) -> String {
    match format {
        OutputFormat::Text => text::render(report, color),
        OutputFormat::Json => report.to_json(),
        OutputFormat::Sarif => crate::report::sarif::render(report),
        OutputFormat::Junit => crate::report::junit::render(report),
        OutputFormat::Cyclonedx => crate::report::cyclonedx::render(report),
    }
}

/// A policy's required signature: every file of the (single) root must be covered by a
/// verified OMS signature made with the given key.
fn required_signature(
    p: &crate::policy::Loaded,
    req: &crate::policy::RequireSignature,
    paths: &[PathBuf],
) -> (Vec<crate::finding::Finding>, Option<Coverage>) {
    let root = paths.first().cloned().unwrap_or_default();
    let shown = root.to_string_lossy().into_owned();
    let finding = |path: String, message: String| {
        crate::finding::Finding::new(Code::PolicySignatureRequired, path, message, crate::ev! {})
    };
    let key_path = p
        .path
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join(&req.public_key);
    let sig_path = root.join(
        req.signature
            .clone()
            .unwrap_or_else(|| PathBuf::from("model.sig")),
    );
    let key = crate::input::read_small(&key_path, crate::input::SIGNATURE_LIMIT)
        .and_then(|b| String::from_utf8(b).map_err(std::io::Error::other))
        .map_err(|e| format!("{}: {e}", key_path.display()))
        .and_then(|k| {
            crate::signature::keys::VerifyingKey::from_pem_any(&k)
                .map_err(|e| format!("{}: {e}", key_path.display()))
        });
    let key = match key {
        Ok(k) => k,
        Err(e) => {
            return (
                vec![finding(
                    shown,
                    format!("the policy's public key cannot be used: {e}"),
                )],
                None,
            )
        }
    };
    let bundle = match crate::input::read_small(&sig_path, crate::input::SIGNATURE_LIMIT) {
        Ok(b) => b,
        Err(e) => {
            return (
                vec![finding(
                    shown,
                    format!(
                        "the policy requires a signature, and {} cannot be read: {e}",
                        sig_path.display()
                    ),
                )],
                None,
            )
        }
    };
    let v = crate::signature::oms::verify_with_key(&root, &bundle, &key, Some(&sig_path), &[]);
    let coverage = Coverage::of_signature(&v, &sig_path);
    let mut out = v.findings;
    // Anything that did not verify means files are not covered as the policy requires.
    if out.iter().any(|f| f.severity >= Severity::Error) {
        out.push(finding(
            shown,
            "the files are not all covered by a verified signature from the policy's key".into(),
        ));
    }
    (out, Some(coverage))
}

fn atlas_command(file: Option<&PathBuf>, format: OutputFormat) -> i32 {
    if !matches!(format, OutputFormat::Text | OutputFormat::Json) {
        complain!("`atlas` writes text or json; the other formats are reports of a run (scan, verify, ...)");
        return 2;
    }
    let atlas = match atlas_data(file) {
        Ok(a) => a,
        Err(c) => return c,
    };
    let mut techniques: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for c in CODES {
        for t in c.atlas {
            techniques.entry(t).or_default().push(c.name);
        }
    }
    let name = |id: &str| {
        atlas
            .mitigations
            .get(id)
            .map(|m| m.name.clone())
            .or_else(|| atlas.techniques.get(id).cloned())
            .unwrap_or_else(|| "(not in this ATLAS data)".into())
    };
    let body = if format == OutputFormat::Json {
        let doc = serde_json::json!({
            "data_version": atlas.version,
            "attribution": crate::atlas::ATTRIBUTION,
            "mitigations": crate::atlas::EVIDENCED.iter().map(|(id, how)| serde_json::json!({"id": id, "name": name(id), "evidenced_by": how})).collect::<Vec<_>>(),
            "not_assessed": atlas.mitigations.keys().filter(|id| !crate::atlas::EVIDENCED.iter().any(|(e, _)| e == id)).map(|id| serde_json::json!({"id": id, "name": name(id)})).collect::<Vec<_>>(),
            "techniques": techniques.iter().map(|(id, codes)| serde_json::json!({"id": id, "name": name(id), "codes": codes})).collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    } else {
        let mut s = format!(
            "MITRE ATLAS data {} ({} mitigations, {} techniques known)\n{}\n\nMitigations a run can evidence (each report's atlas section gives their status):\n",
            atlas.version,
            atlas.mitigations.len(),
            atlas.techniques.len(),
            crate::atlas::ATTRIBUTION
        );
        for (id, how) in crate::atlas::EVIDENCED {
            s.push_str(&format!("  {id:<10} {}\n             {how}\n", name(id)));
        }
        s.push_str(&format!(
            "  ({} other mitigations, e.g. user training and access control, are outside a scanner's reach: not assessed)\n\nTechniques findings evidence:\n",
            atlas.mitigations.len().saturating_sub(crate::atlas::EVIDENCED.len())
        ));
        for (id, codes) in &techniques {
            s.push_str(&format!(
                "  {id:<14} {}\n                 {}\n",
                name(id),
                codes.join(", ")
            ));
        }
        s
    };
    match emit(&body) {
        Ok(()) | Err(0) => 0,
        Err(c) => c,
    }
}

/// `FORMAT` or `FORMAT=FILE`.
fn parse_format_spec(s: &str) -> Result<(OutputFormat, Option<PathBuf>), String> {
    let (name, file) = match s.split_once('=') {
        Some((n, f)) if !f.is_empty() => (n, Some(PathBuf::from(f))),
        Some(_) => return Err(format!("'{s}': a file name must follow '='")),
        None => (s, None),
    };
    let f = OutputFormat::from_str(name, true)
        .map_err(|_| format!("unknown format '{name}' (text, json, sarif, junit, cyclonedx)"))?;
    Ok((f, file))
}

/// Where a report goes: one or more formats, each to standard output, `--output` or a file.
#[derive(clap::Args, Debug, Clone)]
pub struct Outputs {
    /// Output format: text, json, sarif, junit or cyclonedx. Repeat for several, each as
    /// FORMAT=FILE to write it to a file (e.g. --format text --format sarif=results.sarif)
    #[arg(long = "format", value_name = "FORMAT[=FILE]", default_value = "text", value_parser = parse_format_spec)]
    formats: Vec<(OutputFormat, Option<PathBuf>)>,
    /// Write the report (the one format without its own =FILE) to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Colour in the text report: auto (a terminal, unless NO_COLOR is set), always (CI logs
    /// that render colour), never
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorChoice,
}

/// When the text report is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl Outputs {
    /// Refuse what would lose a report: two formats on standard output (or `--output`), or
    /// two formats into one file (the second would silently replace the first).
    fn check(&self) -> Result<(), i32> {
        let unnamed = self.formats.iter().filter(|(_, f)| f.is_none()).count();
        if unnamed > 1 {
            complain!("only one --format can go to standard output or --output; give the others a file (FORMAT=FILE)");
            return Err(2);
        }
        let mut destinations: Vec<PathBuf> = Vec::new();
        for (_, file) in &self.formats {
            let Some(file) = file.as_ref().or(self.output.as_ref()) else {
                continue;
            };
            // The same file however it is spelled: the directory resolved, the name kept.
            let dir = match file.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => std::path::Path::new("."),
            };
            let abs = match (dir.canonicalize(), file.file_name()) {
                (Ok(d), Some(n)) => d.join(n),
                _ => file.clone(),
            };
            if destinations.contains(&abs) {
                complain!(
                    "{} is given for two formats; each report needs a file of its own",
                    file.display()
                );
                return Err(2);
            }
            destinations.push(abs);
        }
        Ok(())
    }

    /// Refuse, before anything is scanned, a report file that would land where it must not:
    /// in a directory that does not exist, on a directory, inside a scanned root (it would
    /// become part of the tree, or overwrite a model file), or on an input.
    fn check_against(&self, inputs: &[PathBuf]) -> Result<(), i32> {
        self.check()?;
        let roots: Vec<PathBuf> = inputs
            .iter()
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        for (_, file) in &self.formats {
            let Some(file) = file.as_ref().or(self.output.as_ref()) else {
                continue;
            };
            if let Err(e) = check_destination(file, &roots) {
                complain!("{}: {e}", file.display());
                return Err(2);
            }
        }
        Ok(())
    }

    /// Whether a BOM is among the formats (ATLAS M0023 is then evidenced).
    fn bom(&self) -> bool {
        self.formats
            .iter()
            .any(|(f, _)| *f == OutputFormat::Cyclonedx)
    }

    /// Write every format; the exit code is the report's, or 2 if one could not be written.
    fn write(&self, report: &crate::report::Report) -> i32 {
        if let Err(c) = self.check() {
            return c;
        }
        let color = self.output.is_none()
            && match self.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
        let mut code = report.exit_code();
        // Every report going to a file leaves the log silent: the verdict is said on stderr.
        if self
            .formats
            .iter()
            .all(|(_, f)| f.is_some() || self.output.is_some())
        {
            let failing = report.summary.findings.at_least(report.inputs.fail_on);
            let files: Vec<String> = self
                .formats
                .iter()
                .filter_map(|(_, f)| f.as_ref().or(self.output.as_ref()))
                .map(|p| p.display().to_string())
                .collect();
            match report.summary.verdict {
                crate::report::Verdict::Pass => complain!(
                    "PASS: no findings at or above {} (reports: {})",
                    report.inputs.fail_on,
                    files.join(", ")
                ),
                crate::report::Verdict::Fail => complain!(
                    "FAIL: {failing} finding{} at or above {} (reports: {})",
                    if failing == 1 { "" } else { "s" },
                    report.inputs.fail_on,
                    files.join(", ")
                ),
            }
        }
        for (format, file) in &self.formats {
            let body = render(report, *format, color && file.is_none());
            let written = match file.as_ref().or(self.output.as_ref()) {
                // Through a temporary file and a rename: a failed write (a full disk) leaves
                // no half report for a later step to upload.
                Some(p) => crate::input::write_atomically(p, body.as_bytes()).map_err(|e| {
                    complain!("cannot write {}: {e}", p.display());
                    2
                }),
                None => emit(&body),
            };
            if let Err(c) = written {
                if c != 0 {
                    code = c;
                }
            }
        }
        code
    }
}

/// Whether `file` can receive an output: its directory exists, it is not a directory, and it
/// lies outside every one of `roots` (canonical paths of what is read: scanned trees, inputs).
pub fn check_destination(file: &std::path::Path, roots: &[PathBuf]) -> Result<(), String> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("its directory cannot be used: {e}"))?;
    if !dir.is_dir() {
        return Err("its directory is not a directory".into());
    }
    if file.is_dir() {
        return Err("is a directory".into());
    }
    let abs = match file.file_name() {
        Some(n) => dir.join(n),
        None => return Err("names no file".into()),
    };
    let abs = abs.canonicalize().unwrap_or(abs);
    if let Some(r) = roots.iter().find(|r| abs.starts_with(r)) {
        return Err(format!(
            "is inside {}, which this run reads: writing there would change what is checked (or overwrite a model file); write it elsewhere",
            r.display()
        ));
    }
    Ok(())
}

/// ATLAS data: `--atlas-data FILE`, else the bundled extract.
fn atlas_data(path: Option<&PathBuf>) -> Result<crate::atlas::Atlas, i32> {
    match path {
        None => Ok(crate::atlas::bundled()),
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| crate::atlas::parse(&t))
        {
            Ok(a) => Ok(a),
            Err(e) => {
                complain!("{}: {e}", p.display());
                Err(2)
            }
        },
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan files and directories for code that runs when a model is loaded
    #[command(
        long_about = "Scan files and directories for code that runs when a model is loaded.\n\n\
Every regular file is inspected by content, whatever its name: pickles (protocols 0-5), PyTorch\n\
checkpoints (zip, legacy and TorchScript), NumPy .npy/.npz, joblib (raw and compressed),\n\
safetensors, and archives and compressed streams around them. Nothing is loaded or executed.\n\
A file that cannot be read or parsed is a finding that fails the gate."
    )]
    Scan {
        /// Files or directories to scan (symlinks are followed only inside each root)
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        out: Outputs,
        /// Fail (exit 1) on findings at or above this severity [default: the policy's, else error]
        #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
        fail_on: Option<Severity>,
        /// Policy file [default: modelgate.toml in the working directory, else in the first PATH
        /// if that is inside the working directory; one in a tree elsewhere is reported, not applied]
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Apply no policy, not even modelgate.toml in the working directory (e.g. when scanning a
        /// download from inside it)
        #[arg(long, conflicts_with = "policy")]
        no_policy: bool,
        /// MITRE ATLAS data to use instead of the bundled 5.6.0 extract (ATLAS.yaml of a release)
        #[arg(long, value_name = "FILE")]
        atlas_data: Option<PathBuf>,
        /// Files inspected in parallel (default: one per core)
        #[arg(long, short = 'j', value_name = "N")]
        jobs: Option<usize>,
        /// Never draw a progress bar
        #[arg(long)]
        no_progress: bool,
        /// Seconds of decompression and reading one file may take before the rest of it is
        /// reported as not inspected (limit-exceeded)
        #[arg(long, value_name = "SECONDS", default_value_t = 300)]
        max_seconds_per_file: u64,
        /// Record digests of every file in the report (repeatable): sha256, blake2b, blake3
        #[arg(long = "digest", value_name = "ALG")]
        digests: Vec<String>,
        /// Also compare the tree with this manifest (one root only)
        #[arg(long, value_name = "FILE", requires = "manifest_trust")]
        manifest: Option<PathBuf>,
        /// The manifest's signature (default: MANIFEST.sig)
        #[arg(long = "manifest-signature", alias = "signature", value_name = "FILE")]
        manifest_signature: Option<PathBuf>,
        /// The public key that signed the manifest
        #[arg(
            long = "public-key",
            aliases = ["manifest-key", "key"],
            value_name = "FILE",
            group = "manifest_trust"
        )]
        manifest_key: Option<PathBuf>,
        /// Use the manifest without a signature (reported as manifest-unsigned)
        #[arg(long = "allow-unsigned-manifest", group = "manifest_trust")]
        allow_unsigned_manifest: bool,
        /// Write the policy entries this scan's unknown pickle globals would need (a profile
        /// where one covers them, else allow_globals), for a person to review: to FILE, or to
        /// standard error without one. Denylisted imports are never suggested.
        #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
        suggest_policy: Option<PathBuf>,
    },
    /// Sign a model in the OpenSSF Model Signing format (as `model_signing sign`)
    Sign {
        #[command(subcommand)]
        method: SignMethod,
    },
    /// Verify a model's OpenSSF Model Signing signature (as `model_signing verify`)
    Verify {
        #[command(subcommand)]
        method: VerifyMethod,
    },
    /// Verify any Sigstore bundle (v0.1-v0.3, message signature or DSSE) offline
    #[command(name = "verify-bundle")]
    VerifyBundle {
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
    },
    /// Create and verify auditor manifests of a tree, signed or not
    Manifest {
        #[command(subcommand)]
        command: ManifestCommand,
    },
    /// Record-level dataset manifests, and a diff that finds poisoned records
    Dataset {
        #[command(subcommand)]
        command: DatasetCommand,
    },
    /// MITRE ATLAS: the mitigations modelgate can evidence and the techniques its findings map to
    #[command(
        long_about = "MITRE ATLAS: the mitigations a modelgate run can evidence (each report's `atlas`\n\
section gives their status for that run) and the techniques each finding code maps to.\n\
Uses MITRE ATLAS data (Apache-2.0, Copyright MITRE), bundled as a 5.6.0 extract; --atlas-data\n\
loads another release."
    )]
    Atlas {
        /// ATLAS data to use instead of the bundled extract (ATLAS.yaml of a release)
        #[arg(long, value_name = "FILE")]
        atlas_data: Option<PathBuf>,
        /// Output format (text or json)
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Make an Ed25519 key pair for signing manifests
    Keygen {
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
    },
    /// Explain a finding code, or list all codes
    Explain {
        /// A code such as pickle-dangerous-import, or `profiles` for the policy's framework
        /// profiles; omit to list every code
        code: Option<String>,
    },
}

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
    /// (verify) Files of the model the signature does not list are left out of the
    /// verification and of the coverage reported, instead of failing it (model_signing's
    /// --ignore_unsigned_files)
    #[arg(long = "ignore-unsigned-files", alias = "ignore_unsigned_files")]
    pub ignore_unsigned_files: bool,
}

#[derive(Subcommand, Debug)]
pub enum SignMethod {
    /// Sign with an ECDSA private key (P-256, P-384 or P-521; PEM, PKCS#8 or SEC1)
    Key {
        #[command(flatten)]
        model: ModelArgs,
        /// The private key
        #[arg(long = "private-key", alias = "private_key", value_name = "FILE")]
        private_key: PathBuf,
        /// Digest algorithm: sha256, blake2b or blake3
        #[arg(long, value_name = "ALG", default_value = "sha256")]
        hash: String,
        /// Sign shards of this many bytes instead of whole files
        #[arg(long = "shard-size", value_name = "BYTES")]
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
        /// Digest algorithm: sha256, blake2b or blake3
        #[arg(long, value_name = "ALG", default_value = "sha256")]
        hash: String,
        /// Sign shards of this many bytes instead of whole files
        #[arg(long = "shard-size", value_name = "BYTES")]
        shard_size: Option<u64>,
    },
}

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
        i32,
    > {
        use crate::signature::sigstore::{trusted_root, Signer};
        let root_json = match &self.trusted_root {
            Some(p) => Some(read_text(p, "trusted root")?),
            None => None,
        };
        let root = trusted_root(root_json.as_deref()).map_err(|e| {
            complain!("{e}");
            2
        })?;
        let signer = match (key, &self.identity, &self.identity_provider) {
            (Some(k), _, _) => Signer::Key(read_text(k, "public key")?),
            (None, Some(identity), Some(issuer)) => Signer::Identity {
                identity: identity.clone(),
                issuer: issuer.clone(),
            },
            _ => {
                complain!("give both --identity and --identity-provider (or a --public-key)");
                return Err(2);
            }
        };
        Ok((signer, root))
    }
}

/// The report of a verification (a signature, a bundle or a manifest).
fn print_report(findings: Vec<crate::finding::Finding>, root: String, out: &Outputs) -> i32 {
    let cx = crate::atlas::RunContext {
        verify: true,
        ..Default::default()
    };
    print_report_cx(findings, root, out, cx, None)
}

fn print_report_cx(
    findings: Vec<crate::finding::Finding>,
    root: String,
    out: &Outputs,
    cx: crate::atlas::RunContext,
    coverage: Option<Coverage>,
) -> i32 {
    let mut report = crate::report::Report::new(vec![root], Severity::Error, Vec::new(), findings);
    report.coverage.extend(coverage);
    let cx = crate::atlas::RunContext {
        bom: out.bom(),
        ..cx
    };
    report.atlas = Some(crate::atlas::section(&crate::atlas::bundled(), &report, cx));
    out.write(&report)
}

fn verify_bundle(
    artifact: String,
    bundle: PathBuf,
    signer: SigstoreSigner,
    key: Option<PathBuf>,
    out: &Outputs,
) -> i32 {
    use crate::signature::sigstore::{verify, Subject};
    let (signer, root) = match signer.load(key.as_ref()) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let json = match read_text(&bundle, "bundle") {
        Ok(j) => j,
        Err(c) => return c,
    };
    let bytes;
    let subject = match artifact.strip_prefix("sha256:") {
        Some(h) => match crate::digest::unhex(h).and_then(|d| <[u8; 32]>::try_from(d).ok()) {
            Some(d) => Subject::Sha256(d),
            None => {
                complain!("'{artifact}' is not sha256: followed by 64 hex digits");
                return 2;
            }
        },
        None => {
            bytes = match std::fs::read(&artifact) {
                Ok(b) => b,
                Err(e) => {
                    complain!("cannot read {artifact}: {e}");
                    return 2;
                }
            };
            Subject::Bytes(&bytes)
        }
    };
    let f = |code: Code, message: String, evidence: crate::inspect::Evidence| {
        crate::finding::Finding::new(code, artifact.clone(), message, evidence)
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
    print_report(vec![finding], artifact.clone(), out)
}

#[derive(Subcommand, Debug)]
pub enum VerifyMethod {
    /// Verify with an ECDSA public key (SubjectPublicKeyInfo PEM)
    Key {
        #[command(flatten)]
        model: ModelArgs,
        /// The public key
        #[arg(long = "public-key", alias = "public_key", value_name = "FILE")]
        public_key: PathBuf,
        #[command(flatten)]
        out: Outputs,
    },
    /// Verify a certificate signature against trust anchors you supply (never system roots)
    Certificate {
        #[command(flatten)]
        model: ModelArgs,
        /// Trusted certificates (roots, or intermediates you trust), PEM (repeatable)
        #[arg(long = "certificate-chain", alias = "certificate_chain", value_name = "FILE", num_args = 1.., required = true)]
        certificate_chain: Vec<PathBuf>,
        /// Validate the chain at this time (RFC 3339 or seconds since 1970; default: now)
        #[arg(long = "validation-time", value_name = "TIME")]
        validation_time: Option<String>,
        #[command(flatten)]
        out: Outputs,
    },
    /// Verify a keyless Sigstore signature: certificate identity, OIDC issuer, transparency log
    Sigstore {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        signer: SigstoreSigner,
        #[command(flatten)]
        out: Outputs,
    },
}

/// Ignore paths relative to the model, as model_signing takes them.
fn ignore_list(args: &ModelArgs) -> Vec<String> {
    let mut v: Vec<String> = if args.no_ignore_git_paths {
        Vec::new()
    } else {
        crate::signature::oms::DEFAULT_IGNORE
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    for p in &args.ignore_paths {
        let rel = p.strip_prefix(&args.model).unwrap_or(p);
        v.push(rel.to_string_lossy().trim_end_matches('/').to_string());
    }
    v
}

/// Read a PEM key with `parse`; usage errors (exit 2) say which file and why.
fn load_key<K>(path: &std::path::Path, parse: fn(&str) -> Result<K, String>) -> Result<K, i32> {
    let pem = read_text(path, "key")?;
    parse(&pem).map_err(|e| {
        complain!("{}: {e}", path.display());
        2
    })
}

/// A key, certificate or bundle: small, so read whole (within the signature limit).
fn read_text(path: &std::path::Path, what: &str) -> Result<String, i32> {
    crate::input::read_small(path, crate::input::SIGNATURE_LIMIT)
        .and_then(|b| String::from_utf8(b).map_err(std::io::Error::other))
        .map_err(|e| {
            complain!("cannot read {what} {}: {e}", path.display());
            2
        })
}

fn pem_chain(files: &[PathBuf]) -> Result<Vec<Vec<u8>>, i32> {
    let mut out = Vec::new();
    for f in files {
        let text = read_text(f, "certificate")?;
        match crate::signature::chain::pem_certificates(&text) {
            Ok(mut c) => out.append(&mut c),
            Err(e) => {
                complain!("{}: {e}", f.display());
                return Err(2);
            }
        }
    }
    Ok(out)
}

fn sign(method: SignMethod) -> i32 {
    use crate::signature::{keys::SigningKey, oms};
    let (model, private_key, hash, shard_size) = match &method {
        SignMethod::Key {
            model,
            private_key,
            hash,
            shard_size,
        }
        | SignMethod::Certificate {
            model,
            private_key,
            hash,
            shard_size,
            ..
        } => (model, private_key, hash, *shard_size),
    };
    let key = match read_text(private_key, "private key").map(|pem| SigningKey::from_pem(&pem)) {
        Ok(Ok(k)) => k,
        Ok(Err(e)) => {
            complain!("{}: {e}", private_key.display());
            return 2;
        }
        Err(c) => return c,
    };
    let Some(hash) = crate::digest::HashAlg::from_name(hash) else {
        complain!("unknown hash '{hash}' (expected sha256, blake2b or blake3)");
        return 2;
    };
    if shard_size == Some(0) {
        complain!("--shard-size must be at least 1");
        return 2;
    }
    let ser = oms::Serialization {
        hash,
        shard_size,
        ignore_paths: ignore_list(model),
        allow_symlinks: false,
    };
    let bundle = match &method {
        SignMethod::Key { .. } => {
            oms::sign_with_key(&model.model, &ser, &key, Some(&model.signature))
        }
        SignMethod::Certificate {
            signing_certificate,
            certificate_chain,
            ..
        } => {
            let mut chain = match pem_chain(std::slice::from_ref(signing_certificate)) {
                Ok(c) => c,
                Err(c) => return c,
            };
            chain.truncate(1);
            match pem_chain(certificate_chain) {
                Ok(mut rest) => chain.append(&mut rest),
                Err(c) => return c,
            }
            oms::sign_with_certificate(&model.model, &ser, &key, &chain, Some(&model.signature))
        }
    };
    match bundle {
        Ok(bundle) => match std::fs::write(&model.signature, bundle) {
            Ok(()) => {
                complain!(
                    "signed {} -> {}",
                    model.model.display(),
                    model.signature.display()
                );
                0
            }
            Err(e) => {
                complain!("cannot write {}: {e}", model.signature.display());
                2
            }
        },
        Err(e) => {
            complain!("cannot sign {}: {e}", model.model.display());
            2
        }
    }
}

fn verify(method: VerifyMethod) -> i32 {
    use crate::signature::{keys::VerifyingKey, oms};
    let (model, out) = match &method {
        VerifyMethod::Key { model, out, .. }
        | VerifyMethod::Certificate { model, out, .. }
        | VerifyMethod::Sigstore { model, out, .. } => (model, out),
    };
    if !model.model.exists() {
        complain!("{}: no such file or directory", model.model.display());
        return 2;
    }
    let bundle = match crate::input::read_small(&model.signature, crate::input::SIGNATURE_LIMIT) {
        Ok(b) => b,
        Err(e) => {
            complain!("cannot read signature {}: {e}", model.signature.display());
            return 2;
        }
    };
    // Paths the user adds on top of those the signature itself lists.
    let extra: Vec<String> = ignore_list(model)
        .into_iter()
        .filter(|p| !oms::DEFAULT_IGNORE.contains(&p.as_str()))
        .collect();
    let v = match &method {
        VerifyMethod::Key { public_key, .. } => {
            let key =
                match read_text(public_key, "public key").map(|pem| VerifyingKey::from_pem(&pem)) {
                    Ok(Ok(k)) => k,
                    Ok(Err(e)) => {
                        complain!("{}: {e}", public_key.display());
                        return 2;
                    }
                    Err(c) => return c,
                };
            oms::verify_with_key(&model.model, &bundle, &key, Some(&model.signature), &extra)
        }
        VerifyMethod::Certificate {
            certificate_chain,
            validation_time,
            ..
        } => {
            let anchors = match pem_chain(certificate_chain) {
                Ok(a) => a,
                Err(c) => return c,
            };
            let at = match validation_time
                .as_deref()
                .map(crate::signature::chain::parse_time)
            {
                None => crate::signature::chain::now(),
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    complain!("--validation-time: {e}");
                    return 2;
                }
            };
            oms::verify_with_certificate(
                &model.model,
                &bundle,
                &anchors,
                at,
                Some(&model.signature),
                &extra,
            )
        }
        VerifyMethod::Sigstore { signer, .. } => {
            let (signer, root) = match signer.load(None) {
                Ok(x) => x,
                Err(c) => return c,
            };
            oms::verify_with_sigstore(
                &model.model,
                &bundle,
                &signer,
                &root,
                Some(&model.signature),
                &extra,
            )
        }
    };
    let mut v = v;
    if model.ignore_unsigned_files {
        let before = v.findings.len();
        v.findings.retain(|f| f.code != Code::UnsignedFile);
        let ignored = before.saturating_sub(v.findings.len());
        if ignored > 0 {
            // Left out: not covered, and not counted as files the signature vouches for.
            v.on_disk = v.on_disk.map(|n| n.saturating_sub(ignored));
            if v.findings.is_empty() {
                v.findings.push(crate::finding::Finding::new(
                    Code::SignatureVerified,
                    model.model.to_string_lossy().into_owned(),
                    format!("signature verified: {} files; {ignored} files it does not list were left out (--ignore-unsigned-files)", v.covered),
                    crate::ev! {"files" => v.covered, "ignored_unsigned_files" => ignored},
                ));
            }
        }
    }
    let cx = crate::atlas::RunContext {
        verify: true,
        ..Default::default()
    };
    let coverage = Coverage::of_signature(&v, &model.signature);
    print_report_cx(
        v.findings,
        model.model.to_string_lossy().into_owned(),
        out,
        cx,
        Some(coverage),
    )
}

/// How a manifest is trusted: a signature with a public key, or explicitly not at all.
#[derive(clap::Args, Debug)]
pub struct ManifestTrust {
    /// The manifest's signature (default: MANIFEST.sig)
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// The public key that signed the manifest (Ed25519 or ECDSA, PEM)
    #[arg(
        long = "public-key",
        alias = "key",
        value_name = "FILE",
        required_unless_present = "allow_unsigned"
    )]
    pub key: Option<PathBuf>,
    /// Use the manifest without a signature (reported as manifest-unsigned)
    #[arg(long = "allow-unsigned", conflicts_with_all = ["key", "signature"])]
    pub allow_unsigned: bool,
}

#[derive(Subcommand, Debug)]
pub enum ManifestCommand {
    /// Record every file's path, size, digests, format and scan verdict
    Create {
        /// The directory (or file) to describe
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// Where to write the manifest
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        /// Digest algorithms (repeatable): sha256, blake2b, blake3
        #[arg(long = "digest", value_name = "ALG", default_value = "sha256")]
        digests: Vec<String>,
        /// Sign the manifest with this private key (Ed25519 or ECDSA, PEM); writes OUTPUT.sig
        #[arg(long = "private-key", alias = "key", value_name = "FILE")]
        key: Option<PathBuf>,
        /// Findings at or above this severity make a file's verdict "fail"
        #[arg(long, value_name = "SEVERITY", default_value = "error", value_parser = parse_severity)]
        fail_on: Severity,
    },
    /// Compare a tree with a manifest: added, removed, modified and renamed files
    Verify {
        /// The directory (or file) to check
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// The manifest
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        #[command(flatten)]
        trust: ManifestTrust,
        #[command(flatten)]
        out: Outputs,
    },
}

fn parse_algs(names: &[String]) -> Result<Vec<crate::digest::HashAlg>, i32> {
    let mut v = Vec::new();
    for n in names.iter().flat_map(|n| n.split(',')) {
        match crate::digest::HashAlg::from_name(n.trim()) {
            Some(a) if !v.contains(&a) => v.push(a),
            Some(_) => {}
            None => {
                complain!("unknown digest '{n}' (expected sha256, blake2b or blake3)");
                return Err(2);
            }
        }
    }
    Ok(v)
}

/// Read and trust a manifest: verify its signature over the raw bytes, or accept it unsigned
/// only when asked to. Returns the finding that explains a refusal.
/// A policy's required manifest, signed with the given key (paths relative to the policy
/// file). A manifest or signature that cannot be read is a finding that fails the gate; a key
/// that cannot be used is a broken policy (exit 2).
fn required_manifest(
    p: &crate::policy::Loaded,
    req: &crate::policy::RequireManifest,
) -> Result<
    (
        PathBuf,
        Result<crate::manifest::TrustedManifest, crate::finding::Finding>,
    ),
    i32,
> {
    let base = p.path.parent().unwrap_or(std::path::Path::new("."));
    let manifest = base.join(&req.path);
    let signature = req
        .signature
        .as_ref()
        .map(|s| base.join(s))
        .unwrap_or_else(|| crate::manifest::default_signature(&manifest));
    for (what, f) in [("manifest", &manifest), ("manifest signature", &signature)] {
        if let Err(e) = std::fs::metadata(f) {
            return Ok((
                manifest.clone(),
                Err(crate::finding::Finding::new(
                    Code::PolicySignatureRequired,
                    f.to_string_lossy().into_owned(),
                    format!(
                        "the policy requires a signed manifest, and its {what} cannot be read: {e}"
                    ),
                    crate::ev! {},
                )),
            ));
        }
    }
    let trust = ManifestTrust {
        signature: Some(signature),
        key: Some(base.join(&req.public_key)),
        allow_unsigned: false,
    };
    match trusted_manifest(&manifest, &trust) {
        Ok(t) => Ok((manifest, Ok(t))),
        Err(Ok(f)) => Ok((manifest, Err(f))),
        Err(Err(c)) => Err(c),
    }
}

fn trusted_manifest(
    manifest: &std::path::Path,
    trust: &ManifestTrust,
) -> Result<crate::manifest::TrustedManifest, Result<crate::finding::Finding, i32>> {
    use crate::manifest::{default_signature, UnverifiedManifest};
    let bytes = crate::input::read_small(manifest, crate::input::MANIFEST_LIMIT).map_err(|e| {
        complain!("cannot read manifest {}: {e}", manifest.display());
        Err(2)
    })?;
    let raw = UnverifiedManifest::new(bytes);
    let result = if trust.allow_unsigned {
        raw.trust_unsigned()
    } else {
        let key_path = trust.key.as_ref().ok_or(Err(2))?;
        let key =
            load_key(key_path, crate::signature::keys::VerifyingKey::from_pem_any).map_err(Err)?;
        let sig_path = trust
            .signature
            .clone()
            .unwrap_or_else(|| default_signature(manifest));
        let bundle =
            crate::input::read_small(&sig_path, crate::input::SIGNATURE_LIMIT).map_err(|e| {
                complain!("cannot read manifest signature {}: {e}", sig_path.display());
                Err(2)
            })?;
        raw.verify(&bundle, &key)
    };
    result.map_err(|(code, message)| {
        Ok(crate::finding::Finding::new(
            code,
            manifest.to_string_lossy().into_owned(),
            message,
            crate::ev! {},
        ))
    })
}

fn manifest_command(cmd: ManifestCommand) -> i32 {
    use crate::manifest;
    match cmd {
        ManifestCommand::Create {
            path,
            output,
            digests,
            key,
            fail_on,
        } => {
            let algs = match parse_algs(&digests) {
                Ok(a) => a,
                Err(c) => return c,
            };
            let signing = match &key {
                Some(k) => match load_key(k, crate::signature::keys::SigningKey::from_pem_any) {
                    Ok(s) => Some(s),
                    Err(c) => return c,
                },
                None => None,
            };
            // The output must not replace a file of the tree that is not a manifest.
            if output.is_file() {
                let previous = std::fs::read(&output).ok();
                let is_manifest = previous
                    .as_deref()
                    .is_some_and(|b| serde_json::from_slice::<manifest::Manifest>(b).is_ok());
                if !is_manifest {
                    complain!(
                        "{} exists and is not a manifest: refusing to overwrite it",
                        output.display()
                    );
                    return 2;
                }
            }
            let sig_path = manifest::default_signature(&output);
            let exclude = [output.clone(), sig_path.clone()];
            let (m, _) = match manifest::create(&path, &algs, fail_on, &exclude) {
                Ok(x) => x,
                Err(e) => {
                    complain!("{e}");
                    return 2;
                }
            };
            let bytes = m.to_bytes();
            if let Err(e) = crate::input::write_atomically(&output, &bytes) {
                complain!("cannot write {}: {e}", output.display());
                return 2;
            }
            if let Some(sk) = signing {
                let sig = sig_path;
                if let Err(e) = crate::input::write_atomically(&sig, &manifest::sign(&bytes, &sk)) {
                    complain!("cannot write {}: {e}", sig.display());
                    return 2;
                }
                complain!(
                    "{} files -> {} (signed: {})",
                    m.files.len(),
                    output.display(),
                    sig.display()
                );
            } else {
                complain!("{} files -> {} (unsigned)", m.files.len(), output.display());
            }
            0
        }
        ManifestCommand::Verify {
            path,
            manifest: mpath,
            trust,
            out,
        } => {
            if let Err(c) = out.check() {
                return c;
            }
            if !path.exists() {
                complain!("{}: no such file or directory", path.display());
                return 2;
            }
            let trusted = match trusted_manifest(&mpath, &trust) {
                Ok(t) => t,
                Err(Ok(f)) => {
                    return print_report(vec![f], path.to_string_lossy().into_owned(), &out)
                }
                Err(Err(c)) => return c,
            };
            let algs: Vec<crate::digest::HashAlg> = trusted
                .manifest
                .algorithms
                .iter()
                .filter_map(|a| crate::digest::HashAlg::from_name(a))
                .collect();
            let opts = ScanOptions {
                digests: algs,
                ..ScanOptions::default()
            };
            let report = match scan(std::slice::from_ref(&path), &opts) {
                Ok(r) => r,
                Err(e) => {
                    complain!("{e}");
                    return 2;
                }
            };
            let sig = trust
                .signature
                .clone()
                .unwrap_or_else(|| manifest::default_signature(&mpath));
            let findings = manifest::diff(&trusted, &path, &report, &[mpath.clone(), sig]);
            // What was compared, for the report and its ATLAS evidence: the manifest was
            // checked even when files differ from it.
            let files = report
                .files
                .iter()
                .filter(|f| f.status != crate::report::FileStatus::Skipped)
                .count() as u64;
            let coverage = Coverage::of_manifest(&trusted, &mpath, files, &findings);
            let cx = crate::atlas::RunContext {
                verify: true,
                ..Default::default()
            };
            print_report_cx(
                findings,
                path.to_string_lossy().into_owned(),
                &out,
                cx,
                Some(coverage),
            )
        }
    }
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

fn keygen(output: PathBuf, key_type: KeyType, force: bool) -> i32 {
    use crate::signature::keys::SigningKey;
    let mut key_path = output.as_os_str().to_owned();
    key_path.push(".key");
    let mut pub_path = output.as_os_str().to_owned();
    pub_path.push(".pub");
    let (key_path, pub_path) = (PathBuf::from(key_path), PathBuf::from(pub_path));
    if !force && (key_path.exists() || pub_path.exists()) {
        complain!(
            "{} or {} exists; pass --force to overwrite",
            key_path.display(),
            pub_path.display()
        );
        return 2;
    }
    let generated = match key_type {
        KeyType::EcdsaP256 => SigningKey::generate_ecdsa(256),
        KeyType::EcdsaP384 => SigningKey::generate_ecdsa(384),
        KeyType::Ed25519 => SigningKey::generate_ed25519(),
    };
    let key = match generated.and_then(|k| k.to_pem().map(|p| (k, p))) {
        Ok(x) => x,
        Err(e) => {
            complain!("{e}");
            return 2;
        }
    };
    // Both files are written to temporary files first (the private one created with mode
    // 600), then renamed: never a key without its public half, never half a key.
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let dir = key_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut private = tempfile::NamedTempFile::new_in(dir)?;
        private.write_all(key.1.as_bytes())?;
        private.as_file().sync_all()?;
        let mut public = tempfile::NamedTempFile::new_in(dir)?;
        public.write_all(key.0.verifying_key().to_pem().as_bytes())?;
        public.as_file().sync_all()?;
        public.persist(&pub_path).map_err(|e| e.error)?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pub_path, std::fs::Permissions::from_mode(0o644))?;
        }
        if let Err(e) = private.persist(&key_path) {
            let _ = std::fs::remove_file(&pub_path);
            return Err(e.error);
        }
        Ok(())
    };
    if let Err(e) = write() {
        complain!("cannot write the key pair: {e}");
        return 2;
    }
    let kind = match key_type {
        KeyType::EcdsaP256 => "ECDSA P-256",
        KeyType::EcdsaP384 => "ECDSA P-384",
        KeyType::Ed25519 => "Ed25519",
    };
    complain!(
        "{kind} key pair: {} (private, mode 600), {}",
        key_path.display(),
        pub_path.display()
    );
    0
}

/// Which fields of a record mean what.
#[derive(clap::Args, Debug)]
pub struct DatasetFields {
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

#[derive(Subcommand, Debug)]
pub enum DatasetCommand {
    /// Record a digest per record (JSON Lines, JSON arrays, CSV/TSV, text lines) and per file
    Manifest {
        /// The dataset directory
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Where to write the manifest
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        fields: DatasetFields,
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
        /// The public key that signed the baseline
        #[arg(
            long = "public-key",
            value_name = "FILE",
            required_unless_present = "allow_unsigned"
        )]
        public_key: Option<PathBuf>,
        /// Use the baseline without a signature (reported as manifest-unsigned)
        #[arg(long = "allow-unsigned", conflicts_with_all = ["public_key", "signature"])]
        allow_unsigned: bool,
        #[command(flatten)]
        out: Outputs,
    },
}

fn dataset_command(cmd: DatasetCommand) -> i32 {
    use crate::dataset;
    match cmd {
        DatasetCommand::Manifest {
            dir,
            output,
            fields,
            signing_key,
        } => {
            let f = crate::dataset::records::Fields {
                key: fields.key_field,
                label: fields.label_field,
                text: fields.text_field,
                keep_text: false,
            };
            let key = match &signing_key {
                Some(k) => match load_key(k, crate::signature::keys::SigningKey::from_pem_any) {
                    Ok(s) => Some(s),
                    Err(c) => return c,
                },
                None => None,
            };
            let written = std::fs::File::create(&output)
                .map_err(|e| e.to_string())
                .and_then(|out| {
                    let mut out = std::io::BufWriter::new(out);
                    let h = dataset::create_into(&dir, &f, &mut out)?;
                    out.flush().map_err(|e| e.to_string())?;
                    Ok(h)
                });
            let header = match written {
                Ok(h) => h,
                Err(e) => {
                    let _ = std::fs::remove_file(&output);
                    complain!("{e}");
                    return 2;
                }
            };
            if let Some(k) = key {
                let sig = crate::manifest::default_signature(&output);
                let mut head = serde_json::to_vec(&header).unwrap_or_default();
                head.push(b'\n');
                let signed = dataset::sign(&head, &k)
                    .and_then(|b| std::fs::write(&sig, b).map_err(|e| e.to_string()));
                if let Err(e) = signed {
                    complain!("cannot sign {}: {e}", output.display());
                    return 2;
                }
            }
            complain!("{} records in {} files", header.records, header.files.len());
            complain!("dataset manifest -> {}", output.display());
            0
        }
        DatasetCommand::Diff {
            dir,
            baseline,
            signature,
            public_key,
            allow_unsigned,
            out,
        } => {
            if let Err(c) = out.check() {
                return c;
            }
            // Only the header line is read now; the body streams during the diff and is
            // checked against the header's digest there.
            let (head, body_len) = match dataset::read_header_line(&baseline) {
                Ok(b) => b,
                Err(e) => {
                    complain!("cannot read {e}");
                    return 2;
                }
            };
            let mut findings = Vec::new();
            let base = if allow_unsigned {
                findings.push(crate::finding::Finding::new(
                    Code::ManifestUnsigned,
                    baseline.to_string_lossy().into_owned(),
                    "the baseline was used without a signature (--allow-unsigned)",
                    crate::ev! {},
                ));
                dataset::open(&baseline, &head, body_len).map_err(|e| (Code::SignatureMalformed, e))
            } else {
                let Some(pk) = public_key else { return 2 };
                let key = match load_key(&pk, crate::signature::keys::VerifyingKey::from_pem_any) {
                    Ok(k) => k,
                    Err(c) => return c,
                };
                let sig =
                    signature.unwrap_or_else(|| crate::manifest::default_signature(&baseline));
                match crate::input::read_small(&sig, crate::input::SIGNATURE_LIMIT) {
                    Ok(b) => dataset::verify_header(&head, &b, &key).and_then(|()| {
                        dataset::open(&baseline, &head, body_len)
                            .map_err(|e| (Code::SignatureMalformed, e))
                    }),
                    Err(e) => {
                        complain!("cannot read signature {}: {e}", sig.display());
                        return 2;
                    }
                }
            };
            match base {
                Ok(base) => match dataset::diff(&dir, &base) {
                    Ok(f) => findings.extend(f),
                    Err(e) => {
                        complain!("{e}");
                        return 2;
                    }
                },
                Err((code, message)) => findings.push(crate::finding::Finding::new(
                    code,
                    baseline.to_string_lossy().into_owned(),
                    message,
                    crate::ev! {},
                )),
            }
            print_report_cx(
                findings,
                dir.to_string_lossy().into_owned(),
                &out,
                crate::atlas::RunContext {
                    dataset_diff: true,
                    ..Default::default()
                },
                None,
            )
        }
    }
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// Write to stdout; a closed pipe is not an error (`modelgate scan ... | head`).
fn emit(s: &str) -> Result<(), i32> {
    let mut out = io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(0),
        Err(e) => {
            complain!("cannot write output: {e}");
            Err(2)
        }
    }
}

pub fn explain_text(code: Code) -> String {
    let i = code.info();
    let atlas = if i.atlas.is_empty() {
        String::new()
    } else {
        format!("\nMITRE ATLAS: {}\n", i.atlas.join(", "))
    };
    format!(
        "{} (default severity: {})\n\n{}\n\n{}\n{atlas}",
        i.name, i.severity, i.summary, i.explanation
    )
}

pub fn codes_table() -> String {
    let mut s = String::new();
    for c in CODES {
        s.push_str(&format!(
            "{:<30} {:<8} {}\n",
            c.name,
            c.severity.as_str(),
            c.summary
        ));
    }
    s
}

/// Run the command line; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Sign { method } => sign(method),
        Command::Verify { method } => verify(method),
        Command::Manifest { command } => manifest_command(command),
        Command::Dataset { command } => dataset_command(command),
        Command::Keygen {
            output,
            key_type,
            force,
        } => keygen(output, key_type, force),
        Command::Atlas {
            atlas_data: file,
            format,
        } => atlas_command(file.as_ref(), format),
        Command::VerifyBundle {
            artifact,
            bundle,
            signer,
            key,
            out,
        } => verify_bundle(artifact, bundle, signer, key, &out),
        Command::Explain { code: None } => match emit(&codes_table()) {
            Ok(()) => 0,
            Err(c) => c,
        },
        Command::Explain { code: Some(name) } if name == "profiles" => {
            let mut t = String::from("Framework profiles (policy: profiles = [\"NAME\", ...]). A profile accepts, in its\nmodules, pickle globals whose name starts with an upper-case letter (classes, enums);\nfunctions, dotted names and denylisted imports stay reported.\n\n");
            for p in crate::policy::PROFILES {
                t.push_str(&format!(
                    "{:<13} {}\n{:<13} modules: {}\n",
                    p.name,
                    p.about,
                    "",
                    p.modules.join(", ")
                ));
            }
            match emit(&t) {
                Ok(()) => 0,
                Err(c) => c,
            }
        }
        Command::Explain { code: Some(name) } => match Code::from_name(&name) {
            Some(c) => match emit(&explain_text(c)) {
                Ok(()) => 0,
                Err(c) => c,
            },
            None => {
                complain!("unknown code '{name}'; `modelgate explain` lists them");
                2
            }
        },
        Command::Scan {
            paths,
            out,
            fail_on,
            policy,
            no_policy,
            atlas_data: atlas_file,
            jobs,
            no_progress,
            max_seconds_per_file,
            digests,
            manifest,
            manifest_signature,
            manifest_key,
            allow_unsigned_manifest,
            suggest_policy,
        } => {
            if let Err(c) = out.check_against(&paths) {
                return c;
            }
            if let Some(dest) = suggest_policy.as_ref().filter(|d| d.as_os_str() != "-") {
                let roots: Vec<PathBuf> =
                    paths.iter().filter_map(|p| p.canonicalize().ok()).collect();
                if let Err(e) = check_destination(dest, &roots) {
                    complain!("{}: {e}", dest.display());
                    return 2;
                }
            }
            let atlas = match atlas_data(atlas_file.as_ref()) {
                Ok(a) => a,
                Err(c) => return c,
            };
            let found = if no_policy {
                crate::policy::Found::default()
            } else {
                match crate::policy::find(policy.as_deref(), &paths) {
                    Ok(p) => p,
                    Err(e) => {
                        complain!("invalid policy: {e}");
                        return 2;
                    }
                }
            };
            let policy = found.policy;
            if let Some(p) = &policy {
                complain!("policy {}", p.path.display());
            }
            let fail_on = fail_on
                .or_else(|| policy.as_ref().and_then(|p| p.policy.fail_on))
                .unwrap_or(Severity::Error);
            let bom = out.bom();
            // Trusted manifests to check the tree against: --manifest, and the policy's.
            #[allow(clippy::type_complexity)]
            let mut trusted: Vec<(
                PathBuf,
                Result<crate::manifest::TrustedManifest, crate::finding::Finding>,
            )> = Vec::new();
            let required = policy.as_ref().and_then(|p| {
                p.policy
                    .require
                    .as_ref()
                    .and_then(|r| r.manifest.as_ref())
                    .map(|m| (p, m))
            });
            if (manifest.is_some() || required.is_some()) && paths.len() != 1 {
                complain!("a manifest (--manifest or the policy's [require.manifest]) needs exactly one PATH");
                return 2;
            }
            let manifest_signature_path = manifest_signature.clone();
            if let Some(m) = &manifest {
                let trust = ManifestTrust {
                    signature: manifest_signature,
                    key: manifest_key,
                    allow_unsigned: allow_unsigned_manifest,
                };
                match trusted_manifest(m, &trust) {
                    Ok(t) => trusted.push((m.clone(), Ok(t))),
                    Err(Ok(f)) => trusted.push((m.clone(), Err(f))),
                    Err(Err(c)) => return c,
                }
            }
            if let Some((p, req)) = required {
                match required_manifest(p, req) {
                    Ok(t) => trusted.push(t),
                    Err(c) => return c,
                }
            }
            let mut algs = match parse_algs(&digests) {
                Ok(a) => a,
                Err(c) => return c,
            };
            if bom && !algs.contains(&crate::digest::HashAlg::Sha256) {
                // A BOM lists every component's SHA-256.
                algs.push(crate::digest::HashAlg::Sha256);
            }
            for t in trusted.iter().filter_map(|(_, t)| t.as_ref().ok()) {
                for a in t
                    .manifest
                    .algorithms
                    .iter()
                    .filter_map(|a| crate::digest::HashAlg::from_name(a))
                {
                    if !algs.contains(&a) {
                        algs.push(a);
                    }
                }
            }
            if let Some(j) = jobs {
                // More threads than a few per core only cost memory and time: bounded.
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                let cap = cores.saturating_mul(4).clamp(4, 256);
                if j > cap {
                    complain!("--jobs {j} is more than {cap} (4 per core); using {cap}");
                }
                if let Err(e) = rayon::ThreadPoolBuilder::new()
                    .num_threads(j.clamp(1, cap))
                    .build_global()
                {
                    complain!("{e}");
                }
            }
            let mut opts = ScanOptions {
                fail_on,
                progress: !no_progress,
                digests: algs,
                ..ScanOptions::default()
            };
            opts.limits.max_seconds_per_file = max_seconds_per_file.max(1);
            let mut report = match scan(&paths, &opts) {
                Ok(r) => r,
                Err(e) => {
                    complain!("{e}");
                    return 2;
                }
            };
            if report.summary.scanned == 0 {
                let files = report.summary.files;
                let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                let shown = shown.join(", ");
                report = report.with_findings(vec![crate::finding::Finding::new(
                    Code::NothingInspected,
                    shown.clone(),
                    format!("no file was inspected under {shown}: an empty tree proves nothing"),
                    crate::ev! {"files" => files},
                )]);
            }
            for (m, t) in trusted {
                let extra = match t {
                    Err(f) => vec![f],
                    Ok(t) => {
                        let mut exclude = vec![m.clone(), crate::manifest::default_signature(&m)];
                        exclude.extend(manifest_signature_path.clone());
                        let diff = crate::manifest::diff(&t, &paths[0], &report, &exclude);
                        let files = report
                            .files
                            .iter()
                            .filter(|f| f.status != crate::report::FileStatus::Skipped)
                            .count() as u64;
                        report
                            .coverage
                            .push(Coverage::of_manifest(&t, &m, files, &diff));
                        diff
                    }
                };
                report = report.with_findings(extra);
            }
            if let Some(p) = &policy {
                if let Some(req) = p.policy.require.as_ref().and_then(|r| r.signature.as_ref()) {
                    let (extra, coverage) = required_signature(p, req, &paths);
                    report = report.with_findings(extra);
                    report.coverage.extend(coverage);
                }
                report = p.apply(report, fail_on);
            }
            if let Some(dest) = &suggest_policy {
                let text = crate::policy::suggest(&report);
                if dest.as_os_str() == "-" {
                    eprint!("{text}");
                } else if let Err(e) = crate::input::write_atomically(dest, text.as_bytes()) {
                    complain!("{}: {e}", dest.display());
                    return 2;
                }
            }
            if let Some(ignored) = found.ignored {
                let path = ignored.to_string_lossy().into_owned();
                report = report.with_findings(vec![crate::finding::Finding::new(Code::PolicyNotApplied, path.clone(), format!("{path} is part of the scanned tree, not your policy: it was not applied (pass it with --policy if you trust it)"), crate::ev! {})]);
            }
            report.atlas = Some(crate::atlas::section(
                &atlas,
                &report,
                crate::atlas::RunContext {
                    scan: true,
                    bom,
                    ..Default::default()
                },
            ));
            out.write(&report)
        }
    }
}
