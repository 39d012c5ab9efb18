//! The command line. Exit codes: 0 pass, 1 policy failed, 2 could not run.

use crate::finding::{Code, Severity, CODES};
use crate::report::text;
use crate::scan::{scan, ScanOptions};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

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
        /// Output format
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Write the report to FILE instead of standard output
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Fail (exit 1) on findings at or above this severity
        #[arg(long, value_name = "SEVERITY", default_value = "error", value_parser = parse_severity)]
        fail_on: Severity,
        /// Files inspected in parallel (default: one per core)
        #[arg(long, short = 'j', value_name = "N")]
        jobs: Option<usize>,
        /// Never draw a progress bar
        #[arg(long)]
        no_progress: bool,
    },
    /// Explain a finding code, or list all codes
    Explain {
        /// A code such as pickle-dangerous-import; omit to list every code
        code: Option<String>,
    },
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
            eprintln!("modelgate: cannot write output: {e}");
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
        Command::Explain { code: None } => match emit(&codes_table()) {
            Ok(()) => 0,
            Err(c) => c,
        },
        Command::Explain { code: Some(name) } => match Code::from_name(&name) {
            Some(c) => match emit(&explain_text(c)) {
                Ok(()) => 0,
                Err(c) => c,
            },
            None => {
                eprintln!("modelgate: unknown code '{name}'; `modelgate explain` lists them");
                2
            }
        },
        Command::Scan {
            paths,
            format,
            output,
            fail_on,
            jobs,
            no_progress,
        } => {
            if let Some(j) = jobs {
                if let Err(e) = rayon::ThreadPoolBuilder::new()
                    .num_threads(j.max(1))
                    .build_global()
                {
                    eprintln!("modelgate: {e}");
                }
            }
            let opts = ScanOptions {
                fail_on,
                progress: !no_progress,
                ..ScanOptions::default()
            };
            let report = match scan(&paths, &opts) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("modelgate: {e}");
                    return 2;
                }
            };
            let color = output.is_none()
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
            let body = match format {
                OutputFormat::Text => text::render(&report, color),
                OutputFormat::Json => report.to_json(),
            };
            let written = match &output {
                Some(p) => std::fs::write(p, body).map_err(|e| {
                    eprintln!("modelgate: cannot write {}: {e}", p.display());
                    2
                }),
                None => emit(&body),
            };
            match written {
                Ok(()) => report.exit_code(),
                Err(0) => report.exit_code(),
                Err(c) => c,
            }
        }
    }
}
