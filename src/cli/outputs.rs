//! Where a report goes: formats, files, colour; destinations checked before any work.

use super::emit;
use crate::gate::Error;
use crate::report::{text, Report, Verdict};
use clap::ValueEnum;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

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
pub fn render(report: &Report, format: OutputFormat, color: bool) -> String {
    match format {
        OutputFormat::Text => text::render(report, color),
        OutputFormat::Json => report.to_json(),
        OutputFormat::Sarif => crate::report::sarif::render(report),
        OutputFormat::Junit => crate::report::junit::render(report),
        OutputFormat::Cyclonedx => crate::report::cyclonedx::render(report),
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
    /// The files written, each with its format.
    fn files(&self) -> impl Iterator<Item = &PathBuf> {
        self.formats
            .iter()
            .filter_map(|(_, f)| f.as_ref().or(self.output.as_ref()))
    }

    /// Refuse what would lose a report: two formats on standard output (or `--output`), or
    /// two formats into one file (the second would silently replace the first).
    pub fn check(&self) -> Result<(), Error> {
        let unnamed = self.formats.iter().filter(|(_, f)| f.is_none()).count();
        if unnamed > 1 {
            return Err(Error::Usage("only one --format can go to standard output or --output; give the others a file (FORMAT=FILE)".into()));
        }
        let mut destinations: Vec<PathBuf> = Vec::new();
        for file in self.files() {
            // The same file however it is spelled: the directory resolved, the name kept.
            let dir = match file.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let abs = match (dir.canonicalize(), file.file_name()) {
                (Ok(d), Some(n)) => d.join(n),
                _ => file.clone(),
            };
            if destinations.contains(&abs) {
                return Err(Error::file(
                    "report",
                    file,
                    "is given for two formats; each report needs a file of its own",
                ));
            }
            destinations.push(abs);
        }
        Ok(())
    }

    /// Refuse, before anything is scanned, a report file that would land where it must not:
    /// in a directory that does not exist, on a directory, inside a scanned root (it would
    /// become part of the tree, or overwrite a model file), or on an input.
    pub fn check_against(&self, inputs: &[PathBuf]) -> Result<(), Error> {
        self.check()?;
        let roots = canonical(inputs);
        for (format, file) in &self.formats {
            let (file, flag) = match (file, &self.output) {
                (Some(f), _) => (f, format!("--format {}=", format_name(*format))),
                (None, Some(o)) => (o, "-o ".to_string()),
                (None, None) => continue,
            };
            check_destination(file, &roots, &flag).map_err(|e| Error::file("report", file, e))?;
        }
        Ok(())
    }

    /// The same outputs as JSON, for a report `modelgate merge` reads back: the default
    /// (text) becomes JSON; any other format is refused.
    pub fn json_only(&self, what: &str) -> Result<Outputs, Error> {
        let mut o = self.clone();
        if o.formats == [(OutputFormat::Text, None)] {
            o.formats = vec![(OutputFormat::Json, None)];
        }
        if o.formats.iter().any(|(f, _)| *f != OutputFormat::Json) {
            return Err(Error::Usage(format!(
                "{what} is written as JSON only (modelgate merge reads it): leave --format out, or give --format json"
            )));
        }
        Ok(o)
    }

    /// Whether a BOM is among the formats (ATLAS M0023 is then evidenced).
    pub fn bom(&self) -> bool {
        self.formats
            .iter()
            .any(|(f, _)| *f == OutputFormat::Cyclonedx)
    }

    /// Write every format; the exit code is the report's. A report that cannot be written is
    /// an error, after the others have been written.
    pub fn write(&self, report: &Report) -> Result<i32, Error> {
        self.check()?;
        let color = self.output.is_none()
            && match self.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
        let mut failed = None;
        let mut written_to: Vec<String> = Vec::new();
        for (format, file) in &self.formats {
            let body = render(report, *format, color && file.is_none());
            let written = match file.as_ref().or(self.output.as_ref()) {
                // Through a temporary file and a rename (a failed write, a full disk, leaves
                // no half report for a later step to upload); straight through to a device,
                // FIFO or stream, never replacing it.
                Some(p) => crate::output::write(p, body.as_bytes(), crate::output::Access::Public)
                    .map(|()| written_to.push(p.display().to_string()))
                    .map_err(|e| Error::file("cannot write report", p, e)),
                None => emit(&body),
            };
            if let Err(e) = written {
                match failed {
                    None => failed = Some(e),
                    Some(_) => complain!("{e}"),
                }
            }
        }
        // Every report going to a file leaves the log silent: the verdict is said on stderr,
        // naming only the reports that were written.
        if self
            .formats
            .iter()
            .all(|(_, f)| f.is_some() || self.output.is_some())
        {
            let failing = report.summary.findings.at_least(report.inputs.fail_on);
            let reports = if written_to.is_empty() {
                "no report written".to_string()
            } else {
                format!("reports: {}", written_to.join(", "))
            };
            match report.summary.verdict {
                Verdict::Pass => complain!(
                    "PASS: no findings at or above {} ({reports})",
                    report.inputs.fail_on,
                ),
                Verdict::Fail => complain!(
                    "FAIL: {} at or above {} ({reports})",
                    crate::finding::plural(failing, "finding", "findings"),
                    report.inputs.fail_on,
                ),
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(report.exit_code()),
        }
    }
}

/// Canonical paths of the inputs that exist.
pub fn canonical(inputs: &[PathBuf]) -> Vec<PathBuf> {
    inputs
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect()
}

/// A format's name on the command line.
fn format_name(f: OutputFormat) -> &'static str {
    match f {
        OutputFormat::Text => "text",
        OutputFormat::Json => "json",
        OutputFormat::Sarif => "sarif",
        OutputFormat::Junit => "junit",
        OutputFormat::Cyclonedx => "cyclonedx",
    }
}

/// Where an output refused inside `root` could go instead: beside the tree, spelled relative
/// to the working directory when that is shorter (`../modelgate.sarif` for `scan .`).
fn elsewhere(root: &Path, name: &std::ffi::OsStr) -> String {
    let beside = root.parent().unwrap_or(Path::new("/")).join(name);
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| d.canonicalize().ok());
    match cwd {
        Some(c) if c == root => Path::new("..").join(name).display().to_string(),
        Some(c) => match beside.strip_prefix(&c) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => beside.display().to_string(),
        },
        None => beside.display().to_string(),
    }
}

/// Whether `file` can receive an output: its directory exists, it is not a directory, and it
/// lies outside every one of `roots` (canonical paths of what is read: scanned trees, inputs).
/// `flag` is how the output was named (`--format sarif=`, `-o `), for the suggestion made when
/// it is refused.
pub fn check_destination(file: &Path, roots: &[PathBuf], flag: &str) -> Result<(), String> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
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
        let name = abs.file_name().unwrap_or(abs.as_os_str());
        return Err(format!(
            "is inside {}, which this run reads: the report would join the tree it describes (the next scan, manifest or signature of that tree would take it in) or overwrite one of its files. Write it outside the tree, e.g. {flag}{} (or under $RUNNER_TEMP in GitHub Actions)",
            r.display(),
            elsewhere(r, name)
        ));
    }
    Ok(())
}
