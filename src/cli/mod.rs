//! The command line: one module per subcommand (its arguments and its run), the report
//! outputs they share, and the dispatch. Exit codes: 0 pass, 1 policy failed, 2 could not run.
//! What decides a verdict lives in [`crate::gate`]; this layer parses, prints and writes.

use crate::gate::Error;
use clap::{Parser, Subcommand};
use std::io::{self, Write};

/// A `modelgate: …` line on standard error. Control characters and bidi overrides are shown
/// escaped: the line can quote a path or an error from the tree under scan.
macro_rules! complain {
    ($($arg:tt)*) => {
        eprintln!("modelgate: {}", $crate::report::text::Safe(&format!($($arg)*)))
    };
}

mod atlas;
mod dataset;
mod explain;
mod keygen;
mod manifest;
mod merge;
mod outputs;
mod plan;
mod scan;
mod sign;
mod verify;

pub use explain::{codes_markdown, codes_table, explain_text};
pub use outputs::{check_destination, render, ColorChoice, OutputFormat, Outputs};

/// What a subcommand's run returns: its exit code (0 or 1), or why it could not run (2).
pub type Exit = Result<i32, Error>;

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

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan files and directories for code that runs when a model is loaded
    #[command(
        long_about = "Scan files and directories for code that runs when a model is loaded.\n\n\
Every regular file is inspected by content, whatever its name: pickles (protocols 0-5), PyTorch\n\
checkpoints (zip, legacy and TorchScript), NumPy .npy/.npz, joblib (raw and compressed),\n\
safetensors, Keras (.keras, .h5, keras_metadata.pb), GGUF and Hugging Face chat templates, ONNX\n\
(external data, custom domains), TensorFlow SavedModel and frozen graphs, Hugging Face auto_map\n\
and shipped Python, Hydra/NeMo and MLflow configs, TorchServe handlers, TFLite and ExecuTorch\n\
custom operators, native libraries, and the archives (zip, tar) and compressed streams (gzip,\n\
zlib, bzip2, xz, lzma, zstd, lz4) around them. Formats identified but not read (7z, RAR, Core ML,\n\
OpenVINO, PaddlePaddle, Flax msgpack) are reported as not inspected, never passed silently.\n\
Nothing is loaded or executed. A file that cannot be read or parsed is a finding that fails the\n\
gate."
    )]
    Scan(scan::Args),
    /// List the files of the inputs grouped into models, for sharded scans (scan --shard)
    #[command(
        long_about = "List the files of the inputs grouped into models, for sharded scans.\n\n\
The plan (JSON, the same bytes for the same tree) lists every file with its size, grouped into\n\
models, sorted, with the walk's notes (paths skipped or odd). `modelgate scan --plan PLAN --shard i/N`\n\
scans shard i of N: models by bytes, largest first, each to the shard with the fewest bytes so far.\n\
A model is never split. The rule: an input that is a file is a model; an input inside a Hugging Face\n\
cache repository (models--*, datasets--*, spaces--*) is one model; below a directory input, a file\n\
inside such a repository belongs to it (the whole repository is one model), any other file to the\n\
highest of its directories (the input itself included) that directly contains a regular file. So\n\
org/model-a/{config.json,...} is one model per model directory, and a snapshot with config.json at\n\
its top is one model. See docs/scale-out.md."
    )]
    Plan(plan::Args),
    /// Join the shard reports of one plan into one report and manifest
    #[command(
        long_about = "Join the shard reports of one plan (modelgate scan --shard) into one report, and with\n\
--manifest one auditor manifest whose Merkle root does not depend on the number of shards.\n\n\
Refused (exit 2, naming what) unless every shard 0..N-1 of the same plan is given exactly once,\n\
made by this version, and together they cover exactly the plan's files. The policy, --fail-on and\n\
the exit code are as for scan: 0 pass, 1 findings at or above the threshold, 2 could not run."
    )]
    Merge(merge::Args),
    /// Sign a model in the OpenSSF Model Signing format (as `model_signing sign`)
    Sign {
        #[command(subcommand)]
        method: sign::Method,
    },
    /// Verify a model's OpenSSF Model Signing signature (as `model_signing verify`)
    Verify {
        #[command(subcommand)]
        method: verify::Method,
    },
    /// Verify any Sigstore bundle (v0.1-v0.3, message signature or DSSE) offline
    #[command(name = "verify-bundle")]
    VerifyBundle(verify::BundleArgs),
    /// Create and verify auditor manifests of a tree, signed or not
    Manifest {
        #[command(subcommand)]
        command: manifest::Command,
    },
    /// Record-level dataset manifests, and a diff that finds poisoned records
    Dataset {
        #[command(subcommand)]
        command: dataset::Command,
    },
    /// MITRE ATLAS: the mitigations modelgate can evidence and the techniques its findings map to
    #[command(
        long_about = "MITRE ATLAS: the mitigations a modelgate run can evidence (each report's `atlas`\n\
section gives their status for that run) and the techniques each finding code maps to.\n\
Uses MITRE ATLAS data (Apache-2.0, Copyright MITRE), bundled as a 5.6.0 extract; --atlas-data\n\
loads another release."
    )]
    Atlas(atlas::Args),
    /// Make a key pair for signing models and manifests (ECDSA P-256 by default)
    Keygen(keygen::Args),
    /// Explain a finding code, or list all codes
    Explain(explain::Args),
}

/// Write to stdout; a closed pipe is not an error (`modelgate scan ... | head`).
pub(crate) fn emit(s: &str) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::file("output", std::path::Path::new("<stdout>"), e)),
    }
}

/// A severity argument: its values listed in `--help` and in the error for a wrong one.
pub(crate) fn parse_severity(
) -> impl clap::builder::TypedValueParser<Value = crate::finding::Severity> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(
        crate::finding::Severity::ALL.map(crate::finding::Severity::as_str),
    )
    .try_map(|s| s.parse::<crate::finding::Severity>())
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
    let run = match cli.command {
        Command::Scan(a) => scan::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Sign { method } => sign::run(method),
        Command::Verify { method } => verify::run(method),
        Command::VerifyBundle(a) => verify::run_bundle(a),
        Command::Manifest { command } => manifest::run(command),
        Command::Dataset { command } => dataset::run(command),
        Command::Atlas(a) => atlas::run(a),
        Command::Keygen(a) => keygen::run(a),
        Command::Explain(a) => explain::run(a),
    };
    match run {
        Ok(code) => code,
        Err(e) => {
            complain!("{e}");
            2
        }
    }
}
