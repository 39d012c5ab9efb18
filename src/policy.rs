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
    /// Framework profiles to apply, by name (`modelgate explain profiles` lists them): the
    /// classes a library's own loader imports (gensim, lightning, transformers, xgboost, ...).
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Module globs whose pickle globals to accept (`mycompany.models`, `mycompany.**`; `*` is
    /// one dotted component or part of one, `**` at the end any number). Never a denylisted
    /// import, never a dotted name.
    #[serde(default)]
    pub allow_modules: Vec<String>,
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

/// A built-in framework profile: the classes a library's loader imports from its own modules.
pub struct Profile {
    pub name: &'static str,
    pub about: &'static str,
    /// Module globs (see [`module_glob`]).
    pub modules: &'static [&'static str],
}

/// Built-in profiles. A profile accepts, inside its modules, names that start with an upper-case
/// letter (classes and enums: constructing one sets state); functions, dotted names and
/// anything the denylist flags stay reported.
pub static PROFILES: &[Profile] = &[
    Profile {
        name: "catboost",
        about: "CatBoost models (catboost.core.CatBoostClassifier, ...)",
        modules: &["catboost", "catboost.**"],
    },
    Profile {
        name: "gensim",
        about: "gensim models and keyed vectors (gensim.models.*, gensim.corpora.*)",
        modules: &["gensim.**"],
    },
    Profile {
        name: "lightgbm",
        about: "LightGBM models (lightgbm.sklearn.LGBMClassifier, lightgbm.basic.Booster)",
        modules: &["lightgbm", "lightgbm.**"],
    },
    Profile {
        name: "lightning",
        about: "PyTorch Lightning checkpoints: hyperparameters (AttributeDict), callbacks' state, enums",
        modules: &["lightning.**", "pytorch_lightning.**", "lightning_fabric.**", "lightning_utilities.**"],
    },
    Profile {
        name: "omegaconf",
        about: "OmegaConf configs (DictConfig, ListConfig, nodes, metadata) kept in checkpoints",
        modules: &["omegaconf", "omegaconf.**"],
    },
    Profile {
        name: "pyannote",
        about: "pyannote.audio checkpoints (its Specifications, Problem and Resolution enums)",
        modules: &["pyannote.**"],
    },
    Profile {
        name: "transformers",
        about: "Hugging Face Trainer checkpoints: TrainingArguments, trainer state and enums, configs",
        modules: &[
            "transformers.training_args",
            "transformers.training_args_*",
            "transformers.trainer_utils",
            "transformers.trainer_callback",
            "transformers.trainer_pt_utils",
            "transformers.configuration_utils",
            "transformers.generation.configuration_utils",
            "transformers.models.*.configuration_*",
            "transformers.utils.generic",
            "transformers.utils.quantization_config",
            "transformers.debug_utils",
            "accelerate.utils.dataclasses",
            "accelerate.state",
        ],
    },
    Profile {
        name: "xgboost",
        about: "XGBoost models (xgboost.sklearn.XGBClassifier, xgboost.core.Booster)",
        modules: &["xgboost", "xgboost.**"],
    },
];

/// Whether `module` matches `pattern`: dotted components compared one by one, `*` matching any
/// run of characters inside one component, a final `**` matching any number of components.
pub fn module_glob(pattern: &str, module: &str) -> bool {
    fn wild(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| s.get(i..).is_some_and(|t| wild(rest, t))),
            Some((c, rest)) => s
                .split_first()
                .is_some_and(|(d, t)| c == d && wild(rest, t)),
        }
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let m: Vec<&str> = module.split('.').collect();
    match p.split_last() {
        Some((&"**", head)) => {
            m.len() >= head.len()
                && head
                    .iter()
                    .zip(&m)
                    .all(|(a, b)| wild(a.as_bytes(), b.as_bytes()))
        }
        _ => {
            p.len() == m.len()
                && p.iter()
                    .zip(&m)
                    .all(|(a, b)| wild(a.as_bytes(), b.as_bytes()))
        }
    }
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
    for name in &policy.profiles {
        if !PROFILES.iter().any(|p| p.name == name) {
            let known: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
            return Err(format!(
                "{}: unknown profile '{name}' (known: {})",
                path.display(),
                known.join(", ")
            ));
        }
    }
    for g in &policy.allow_modules {
        if g.is_empty() || g.split('.').any(str::is_empty) || g == "**" || g.starts_with('*') {
            return Err(format!(
                "{}: allow_modules entry '{g}' must name a package (e.g. 'mycompany.**')",
                path.display()
            ));
        }
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
    // Content under scan never decides its own verdict: a policy file inside any scanned root
    // is part of what is scanned (a download can ship one that waives its payload), so it
    // applies only when named with --policy; otherwise it is reported.
    let canon_roots: Vec<PathBuf> = roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
    let under_a_root = |p: &Path| {
        p.canonicalize()
            .is_ok_and(|c| canon_roots.iter().any(|r| c.starts_with(r)))
    };
    let here = Path::new(FILE_NAME);
    if here.is_file() {
        if !under_a_root(here) {
            // Named relative to the working directory, as the report names scanned files.
            return applied(here);
        }
        return Ok(Found {
            policy: None,
            ignored: Some(here.to_path_buf()),
        });
    }
    let ignored = roots
        .iter()
        .map(|r| r.join(FILE_NAME))
        .find(|p| p.is_file());
    Ok(Found {
        policy: None,
        ignored,
    })
}

fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

impl Loaded {
    /// Why a pickle global is allowed by this policy, if it is: `allow_globals`, a profile or
    /// `allow_modules`. Only imports that are merely unknown: never a denylisted one.
    fn allowed_global(&self, f: &Finding) -> Option<String> {
        if f.code != Code::PickleUnknownImport {
            return None;
        }
        let get = |k: &str| f.evidence.get(k).and_then(|v| v.as_str());
        let (module, name) = (get("module")?, get("name")?);
        if self
            .policy
            .allow_globals
            .iter()
            .any(|g| module == g.module && name == g.name)
        {
            return Some(format!(
                "allowed by the policy's allow_globals ({module}.{name})"
            ));
        }
        if name.contains('.') || name.is_empty() {
            return None;
        }
        if let Some(g) = self
            .policy
            .allow_modules
            .iter()
            .find(|g| module_glob(g, module))
        {
            return Some(format!("allowed by the policy's allow_modules '{g}'"));
        }
        let class = name.chars().next().is_some_and(|c| c.is_ascii_uppercase());
        self.policy
            .profiles
            .iter()
            .filter_map(|n| PROFILES.iter().find(|p| p.name == n))
            .find(|p| class && p.modules.iter().any(|g| module_glob(g, module)))
            .map(|p| format!("allowed by the policy's profile '{}' ({})", p.name, p.about))
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
            if let Some(reason) = self.allowed_global(&f) {
                // A policy decision, shown in the report like a waiver.
                waived.push(Waived {
                    finding: f,
                    reason,
                    expires: None,
                });
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

/// The framework profile that accepts the pickle global `module.name` (a class or enum of
/// its modules), if one does.
pub fn covering_profile(module: &str, name: &str) -> Option<&'static str> {
    let class = name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !name.contains('.');
    if !class {
        return None;
    }
    PROFILES
        .iter()
        .find(|p| p.modules.iter().any(|g| module_glob(g, module)))
        .map(|p| p.name)
}

/// The policy entries a report's unknown pickle globals would need, as TOML for a person to
/// review: the profile that covers a global where one does, else an `allow_globals` entry.
/// Denylisted imports are never suggested (they are `pickle-dangerous-import`, not unknown).
pub fn suggest(report: &Report) -> String {
    use std::collections::BTreeSet;
    let mut profiles: BTreeSet<&'static str> = BTreeSet::new();
    let mut globals: BTreeSet<(String, String)> = BTreeSet::new();
    let mut files: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.code == Code::PickleUnknownImport)
    {
        let get = |k: &str| f.evidence.get(k).and_then(|v| v.as_str()).unwrap_or("");
        let (module, name) = (get("module").to_string(), get("name").to_string());
        if module.is_empty() || name.is_empty() {
            continue;
        }
        match covering_profile(&module, &name) {
            Some(p) => {
                profiles.insert(p);
            }
            None => {
                files
                    .entry((module.clone(), name.clone()))
                    .or_default()
                    .insert(f.path.clone());
                globals.insert((module, name));
            }
        }
    }
    let mut out = String::from(
        "# Policy entries this scan would need (modelgate scan --suggest-policy). Review each one:
         # an entry accepts the global as plain data in every file the policy covers.
",
    );
    if profiles.is_empty() && globals.is_empty() {
        out.push_str(
            "# Nothing to suggest: no unknown pickle globals were found.
",
        );
        return out;
    }
    if !profiles.is_empty() {
        for p in PROFILES.iter().filter(|p| profiles.contains(p.name)) {
            out.push_str(&format!(
                "# profile {}: {}
",
                p.name, p.about
            ));
        }
        let names: Vec<String> = profiles.iter().map(|p| format!("\"{p}\"")).collect();
        out.push_str(&format!(
            "profiles = [{}]
",
            names.join(", ")
        ));
    }
    for (m, n) in &globals {
        let seen = files
            .get(&(m.clone(), n.clone()))
            .map(|s| s.len())
            .unwrap_or(0);
        out.push_str(&format!(
            "\n# seen in {seen} file(s)\n[[allow_globals]]\nmodule = {}\nname = {}\n",
            toml_str(m),
            toml_str(n)
        ));
    }
    out
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
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
