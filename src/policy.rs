//! The gate's policy: `modelgate.toml` in the scanned root, or `--policy FILE`.
//!
//! Per-code severity overrides, the fail threshold, extra allowed pickle globals for in-house
//! classes, a required signature or signed manifest, and waivers (code + path glob + optional evidence match +
//! reason + optional expiry). Waived findings stay in the report under `waived`; a waiver that
//! matched nothing, and an expired waiver, are findings themselves. An invalid policy is an
//! error with the file, line and reason (exit 2). Schema: `schemas/policy.schema.json`.

use crate::finding::{Code, Finding, Severity};
use crate::report::{Report, Waived};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "modelgate.toml";

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Findings at or above this severity fail the run (the command line's --fail-on wins).
    pub fail_on: Option<Severity>,
    /// Finding code → the severity to report it with.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// Pickle globals to accept as plain data (in-house classes you trust).
    #[serde(default)]
    pub allow_globals: Vec<AllowGlobal>,
    /// What every scanned file must be covered by.
    pub require: Option<Require>,
    /// Findings accepted for a reason, until a date.
    #[serde(default, rename = "waiver")]
    pub waivers: Vec<Waiver>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowGlobal {
    pub module: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Require {
    /// Every file must be covered by a verified OpenSSF Model Signing signature made with this
    /// key.
    pub signature: Option<RequireSignature>,
    /// Every file must match a manifest (`modelgate manifest create`) signed with this key.
    pub manifest: Option<RequireManifest>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequireManifest {
    /// The manifest, relative to the policy file.
    pub path: PathBuf,
    /// The signer's public key (PEM, Ed25519 or ECDSA), relative to the policy file.
    pub public_key: PathBuf,
    /// The manifest's signature, relative to the policy file (default: the manifest's path with
    /// `.sig`, as `manifest create` writes it).
    pub signature: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequireSignature {
    /// The signer's public key (PEM), relative to the policy file.
    pub public_key: PathBuf,
    /// The signature bundle, relative to the scanned root (default: model.sig).
    pub signature: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The finding code waived.
    pub code: String,
    /// A glob over the finding's path (`*` within a path segment, `**` across them), as the
    /// report shows it or relative to the policy file's directory; a leading `./` is ignored.
    pub path: String,
    /// Waive only findings whose message or evidence contains this text.
    pub evidence: Option<String>,
    /// Why: shown with every finding it covers.
    pub reason: String,
    /// The last day the waiver applies (YYYY-MM-DD).
    pub expires: Option<String>,
}

/// A policy read from a file.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub policy: Policy,
    /// SHA-256 of the file as read, recorded in the report.
    pub sha256: String,
    /// Line of each waiver (for findings about waivers).
    waiver_lines: Vec<usize>,
    globs: Vec<globset::GlobMatcher>,
    /// The policy file's directory, absolute: waiver globs also match paths relative to it.
    base: PathBuf,
}

/// A path with `.` components dropped (`./a/./b` → `a/b`); `..` is kept.
fn without_dots(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map(|t| t.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// The parts of a policy whose place in the file messages name.
#[derive(Default, Deserialize)]
struct Spans {
    #[serde(default)]
    severity: BTreeMap<toml::Spanned<String>, toml::Value>,
    #[serde(default)]
    waiver: Vec<toml::Spanned<toml::Value>>,
    #[serde(default)]
    allow_globals: Vec<toml::Spanned<toml::Value>>,
}

/// Read and check a policy. The error names the file, the line and the reason.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let at = |line: usize, why: &str| format!("{}:{line}: {why}", path.display());
    let policy: Policy = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(1);
        at(line, e.message())
    })?;
    // Where things are, for messages about them: the policy read again with spans.
    let spans: Spans = toml::from_str(&text).unwrap_or_default();
    let key_line = |code: &str| {
        spans
            .severity
            .keys()
            .find(|k| k.get_ref() == code)
            .map(|k| line_of(&text, k.span().start))
            .unwrap_or(1)
    };
    let item_line = |items: &[toml::Spanned<toml::Value>], i: usize| {
        items
            .get(i)
            .map(|v| line_of(&text, v.span().start))
            .unwrap_or(1)
    };
    for code in policy.severity.keys() {
        if Code::from_name(code).is_none() {
            return Err(at(
                key_line(code),
                &format!(
                    "unknown finding code '{code}' in [severity] (`modelgate explain` lists them)"
                ),
            ));
        }
    }
    let mut waiver_lines = Vec::new();
    let mut globs = Vec::new();
    for (i, w) in policy.waivers.iter().enumerate() {
        let line = item_line(&spans.waiver, i);
        waiver_lines.push(line);
        if Code::from_name(&w.code).is_none() {
            return Err(at(
                line,
                &format!("unknown finding code '{}' in a waiver", w.code),
            ));
        }
        if w.reason.trim().is_empty() {
            return Err(at(line, "a waiver needs a reason"));
        }
        if let Some(d) = &w.expires {
            if d.parse::<jiff::civil::Date>().is_err() {
                return Err(at(
                    line,
                    &format!("expires = '{d}' is not a date (YYYY-MM-DD)"),
                ));
            }
        }
        let g = globset::GlobBuilder::new(&w.path)
            .literal_separator(true)
            .build()
            .map_err(|e| at(line, &format!("path = '{}': {e}", w.path)))?;
        globs.push(g.compile_matcher());
    }
    for (i, g) in policy.allow_globals.iter().enumerate() {
        if g.module.is_empty() || g.name.is_empty() {
            return Err(at(
                item_line(&spans.allow_globals, i),
                "allow_globals entries need a module and a name",
            ));
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let base = without_dots(&std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()));
    Ok(Loaded {
        path: path.to_path_buf(),
        policy,
        sha256: crate::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes())),
        waiver_lines,
        globs,
        base,
    })
}

/// The policy a scan found, and a policy file it found but did not apply.
#[derive(Debug, Default)]
pub struct Found {
    pub policy: Option<Loaded>,
    /// A `modelgate.toml` in a scanned root outside the working directory: content under scan
    /// (a downloaded model could carry one to waive its own findings), not the user's policy.
    pub ignored: Option<PathBuf>,
}

/// The policy for a scan: `--policy FILE`; else `modelgate.toml` in the working directory (the
/// project the gate runs in); else `modelgate.toml` in the first root, when that root is inside
/// the working directory. One in a root elsewhere (a download) is reported, never applied.
pub fn find(explicit: Option<&Path>, roots: &[PathBuf]) -> Result<Found, String> {
    let applied = |p: &Path| {
        load(p).map(|l| Found {
            policy: Some(l),
            ignored: None,
        })
    };
    if let Some(p) = explicit {
        return applied(p);
    }
    let cwd = std::env::current_dir().ok();
    // Named relative to the working directory, as the report names scanned files.
    if Path::new(FILE_NAME).is_file() {
        return applied(Path::new(FILE_NAME));
    }
    let Some(root) = roots.first() else {
        return Ok(Found::default());
    };
    let p = root.join(FILE_NAME);
    if !p.is_file() {
        return Ok(Found::default());
    }
    let inside = match (cwd.and_then(|c| c.canonicalize().ok()), root.canonicalize()) {
        (Some(c), Ok(r)) => r.starts_with(c),
        _ => false,
    };
    if inside {
        applied(&p)
    } else {
        Ok(Found {
            policy: None,
            ignored: Some(p),
        })
    }
}

fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

impl Loaded {
    /// Whether a pickle global is allowed by this policy.
    fn allowed_global(&self, f: &Finding) -> bool {
        if f.code != Code::PickleUnknownImport {
            return false;
        }
        let get = |k: &str| f.evidence.get(k).and_then(|v| v.as_str());
        self.policy
            .allow_globals
            .iter()
            .any(|g| get("module") == Some(&g.module) && get("name") == Some(&g.name))
    }

    /// The first waiver (index and waiver) that covers a finding.
    fn waiver_for(&self, f: &Finding, expired: &[bool], cwd: &Path) -> Option<(usize, &Waiver)> {
        let text = format!(
            "{} {}",
            f.message,
            serde_json::to_string(&f.evidence).unwrap_or_default()
        );
        // The path as shown (without `./`), and relative to the policy's directory.
        let as_shown = without_dots(Path::new(&f.path));
        let relative = without_dots(&cwd.join(&as_shown))
            .strip_prefix(&self.base)
            .ok()
            .map(Path::to_path_buf);
        self.policy.waivers.iter().enumerate().find(|(i, w)| {
            w.code == f.code.as_str()
                && !expired.get(*i).copied().unwrap_or(true)
                && self.globs.get(*i).is_some_and(|g| {
                    g.is_match(&as_shown) || relative.as_ref().is_some_and(|r| g.is_match(r))
                })
                && w.evidence.as_deref().is_none_or(|e| text.contains(e))
        })
    }

    /// Apply the policy to a report's findings: allowed globals go, severities change, waived
    /// findings move to `waived`, and waivers that are unused or expired become findings.
    pub fn apply(&self, mut report: Report, fail_on: Severity) -> Report {
        let today = today();
        let shown = self.path.to_string_lossy().into_owned();
        let expired: Vec<bool> = self
            .policy
            .waivers
            .iter()
            .map(|w| {
                w.expires
                    .as_deref()
                    .and_then(|d| d.parse::<jiff::civil::Date>().ok())
                    .is_some_and(|d| d < today)
            })
            .collect();
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut used = vec![false; self.policy.waivers.len()];
        let mut kept = Vec::new();
        let mut waived = std::mem::take(&mut report.waived);
        for mut f in std::mem::take(&mut report.findings) {
            if self.allowed_global(&f) {
                continue;
            }
            if let Some(s) = self.policy.severity.get(f.code.as_str()) {
                f.severity = *s;
            }
            // Only a waiver of this code can apply: nothing to work out for the rest.
            let hit = if self
                .policy
                .waivers
                .iter()
                .any(|w| w.code == f.code.as_str())
            {
                self.waiver_for(&f, &expired, &cwd)
            } else {
                None
            };
            match hit {
                Some((i, w)) => {
                    if let Some(u) = used.get_mut(i) {
                        *u = true;
                    }
                    waived.push(Waived {
                        finding: f,
                        reason: w.reason.clone(),
                        expires: w.expires.clone(),
                    });
                }
                None => kept.push(f),
            }
        }
        report.inputs.policy = Some(crate::report::PolicyRef {
            path: shown.clone(),
            sha256: self.sha256.clone(),
        });
        for (i, w) in self.policy.waivers.iter().enumerate() {
            let line = self.waiver_lines.get(i).copied().unwrap_or(1);
            let code = if expired.get(i).copied().unwrap_or(false) {
                Code::PolicyWaiverExpired
            } else if !used.get(i).copied().unwrap_or(true) {
                Code::PolicyWaiverUnused
            } else {
                continue;
            };
            let message = match code {
                Code::PolicyWaiverExpired => format!(
                    "the waiver of {} for '{}' expired on {}; the findings it covered are reported",
                    w.code,
                    w.path,
                    w.expires.as_deref().unwrap_or("")
                ),
                _ => format!(
                    "the waiver of {} for '{}' matched no finding",
                    w.code, w.path
                ),
            };
            kept.push(Finding {
                code,
                severity: self
                    .policy
                    .severity
                    .get(code.as_str())
                    .copied()
                    .unwrap_or(code.default_severity()),
                path: shown.clone(),
                member: Vec::new(),
                offset: None,
                message,
                evidence: crate::ev! {"line" => line, "code" => w.code, "path" => w.path, "reason" => w.reason},
            });
        }
        let mut r = report.rebuilt(kept, fail_on);
        r.waived = waived;
        r
    }
}

/// The JSON Schema of the policy file, as committed in `schemas/policy.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Policy);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiver_paths_match_as_shown_or_relative_to_the_policy() {
        let dir = std::env::temp_dir().join(format!("modelgate-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("modelgate.toml");
        std::fs::write(
            &file,
            "[[waiver]]\ncode = \"pickle-unknown-import\"\npath = \"quarantine/*.pkl\"\nreason = \"test samples\"\n",
        )
        .unwrap();
        let policy = load(&file).unwrap();
        let absolute = dir.join("quarantine/a.pkl").to_string_lossy().into_owned();
        let finding =
            |p: &str| Finding::new(Code::PickleUnknownImport, p, "imports x.y", crate::ev! {});
        let report = Report::new(
            vec![".".into()],
            Severity::Error,
            Vec::new(),
            vec![
                finding(&absolute),
                finding("./quarantine/b.pkl"),
                finding("other/quarantine/c.pkl"),
                finding("quarantine/deeper/d.pkl"),
            ],
        );
        let r = policy.apply(report, Severity::Error);
        let waived: Vec<&str> = r.waived.iter().map(|w| w.finding.path.as_str()).collect();
        assert_eq!(waived, ["./quarantine/b.pkl", absolute.as_str()]);
        let kept: Vec<&str> = r.findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(kept, ["other/quarantine/c.pkl", "quarantine/deeper/d.pkl"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
