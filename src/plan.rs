//! Scale-out (docs/scale-out.md): a plan lists the files of the inputs grouped into models, a
//! model never split; a shard is a pure function of (plan, N) that balances bytes; a shard scan
//! reports its part, byte for byte the same when run again; `merge` checks that the shards of
//! one plan are all there, once each, covering exactly the plan's files, and joins them into
//! one report.
//!
//! Everything is built on [`crate::walk::walk`] and [`FileTask`]: whatever the walk lists
//! (local or remote files) is planned, sharded and merged the same way.

use crate::digest::hex;
use crate::ev;
use crate::finding::{Code, Finding, Severity};
use crate::report::{FileEntry, FileStatus, Report, Shard, ShardFile, Tool};
use crate::scan::{scan_walked, ScanOptions};
use crate::walk::{walk, FileTask, Walked};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::path::PathBuf;

/// Bumped when the plan's JSON shape changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

/// The files of the inputs, grouped into models (schema: `schemas/plan.schema.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub schema_version: u32,
    pub tool: Tool,
    /// The inputs, as given.
    pub inputs: Vec<String>,
    /// Files in all models.
    pub files: u64,
    /// Bytes in all models.
    pub bytes: u64,
    /// Sorted by name; a model is never split between shards.
    pub models: Vec<Model>,
    /// What the walk reported about paths it did not list as files (links out of the root,
    /// special files, unreadable directories) or listed with a remark (odd names), sorted.
    pub notes: Vec<Note>,
}

/// A model: the files a shard scans together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// The model's directory (or file) as reports show paths.
    pub name: String,
    /// The sum of its files' sizes.
    pub bytes: u64,
    /// Sorted by path.
    pub files: Vec<ShardFile>,
}

/// A walk note kept in the plan.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub path: String,
    pub code: Code,
    pub message: String,
    /// The path was not scanned at all.
    pub skipped: bool,
}

/// Names of Hugging Face cache repositories (`models--org--name`, ...): one model each, whole.
fn is_hub_repo(name: &str) -> bool {
    ["models--", "datasets--", "spaces--"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// A root as the walk shows it (without trailing `/`).
fn shown_root(root: &std::path::Path) -> String {
    let s = root.to_string_lossy();
    let s = s.trim_end_matches('/');
    if s.is_empty() {
        "/".into()
    } else {
        s.to_string()
    }
}

/// The model of each of `tasks`, the files a walk of the root shown as `root` found.
///
/// The rule: an input that is a file is a model; an input inside a Hugging Face cache
/// repository (a path component `models--*`, `datasets--*`, `spaces--*`) is one model; below a
/// directory input, a file inside such a repository belongs to the highest one (the whole
/// repository), and any other file to the highest of its directories (the input itself
/// included) that directly contains a regular file. So `org/model-a/{config.json, ...}` is one
/// model per model directory, and a snapshot with `config.json` at its top is one model.
fn model_names(root: &str, tasks: &[FileTask]) -> Vec<String> {
    let prefix = if root.ends_with('/') {
        root.to_string()
    } else {
        format!("{root}/")
    };
    let whole = root.split('/').any(is_hub_repo);
    // The directories below the root that hold each file; `None`: the file is the root (or
    // is shown otherwise than below it, then it goes with the root too).
    let dirs: Vec<Option<Vec<&str>>> = tasks
        .iter()
        .map(|t| {
            let rel = t.display.strip_prefix(&prefix)?;
            let mut parts: Vec<&str> = rel.split('/').collect();
            parts.pop();
            Some(parts)
        })
        .collect();
    let holders: HashSet<&[&str]> = dirs.iter().flatten().map(|d| d.as_slice()).collect();
    dirs.iter()
        .map(|d| {
            let Some(d) = d.as_ref().filter(|_| !whole) else {
                return root.to_string();
            };
            let depth = match d.iter().position(|c| is_hub_repo(c)) {
                Some(j) => j + 1,
                None => (0..=d.len())
                    .find(|k| d.get(..*k).is_some_and(|p| holders.contains(p)))
                    .unwrap_or(d.len()),
            };
            match d.get(..depth) {
                Some(p) if !p.is_empty() => format!("{prefix}{}", p.join("/")),
                _ => root.to_string(),
            }
        })
        .collect()
}

/// Walk `inputs` and plan them. The walk comes back too (a shard planned in-process scans it).
/// `Err` only when the run cannot happen (an input is missing).
pub fn make(inputs: &[PathBuf]) -> Result<(Plan, Walked), String> {
    let mut models: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut all = Walked::default();
    // A remote input is planned as it resolved (the Hub's `hf://org/name@<commit>`), so that
    // every shard reads the same commit even when the branch moves.
    let mut pinned: Vec<PathBuf> = Vec::new();
    for root in inputs {
        let w = walk(std::slice::from_ref(root))?;
        let root = &w
            .resolved
            .first()
            .map(|r| PathBuf::from(&r.display))
            .unwrap_or_else(|| root.clone());
        pinned.push(root.clone());
        let names = model_names(&shown_root(root), &w.tasks);
        for (t, m) in w.tasks.iter().zip(names) {
            // The same path twice (an input given twice) is planned once.
            if seen.insert(t.display.clone()) {
                models
                    .entry(m)
                    .or_default()
                    .insert(t.display.clone(), t.size);
            }
        }
        all.tasks.extend(w.tasks);
        all.notes.extend(w.notes);
        all.resolved.extend(w.resolved);
    }
    let mut notes: Vec<Note> = all
        .notes
        .iter()
        .map(|n| Note {
            path: n.display.clone(),
            code: n.code,
            message: n.message.clone(),
            skipped: n.skipped,
        })
        .collect();
    notes.sort();
    notes.dedup();
    let models: Vec<Model> = models
        .into_iter()
        .map(|(name, files)| Model {
            name,
            bytes: files.values().sum(),
            files: files
                .into_iter()
                .map(|(path, size)| ShardFile { path, size })
                .collect(),
        })
        .collect();
    let plan = Plan {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        inputs: pinned
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        files: models.iter().map(|m| m.files.len() as u64).sum(),
        bytes: models.iter().map(|m| m.bytes).sum(),
        models,
        notes,
    };
    Ok((plan, all))
}

fn tool() -> Tool {
    Tool {
        name: "modelgate".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

impl Plan {
    /// The plan's bytes: pretty JSON with a final newline, the same for the same tree.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Read a plan, checking that it is one this version makes: sorted, its totals right,
    /// no file in two models.
    pub fn parse(bytes: &[u8]) -> Result<Plan, String> {
        let p: Plan = serde_json::from_slice(bytes).map_err(|e| format!("not a plan: {e}"))?;
        if p.schema_version != SCHEMA_VERSION {
            return Err(format!(
                "plan schema version {} is not supported (this modelgate reads {SCHEMA_VERSION})",
                p.schema_version
            ));
        }
        if !p.models.windows(2).all(|w| w[0].name < w[1].name) {
            return Err("its models are not sorted by name, once each".into());
        }
        let mut paths = HashSet::new();
        for m in &p.models {
            if !m.files.windows(2).all(|w| w[0].path < w[1].path) {
                return Err(format!("model {}: files not sorted by path", m.name));
            }
            if m.files.iter().map(|f| f.size).sum::<u64>() != m.bytes {
                return Err(format!(
                    "model {}: bytes are not the sum of its files",
                    m.name
                ));
            }
            if let Some(f) = m.files.iter().find(|f| !paths.insert(f.path.as_str())) {
                return Err(format!("{} is in two models", f.path));
            }
        }
        if paths.len() as u64 != p.files || p.models.iter().map(|m| m.bytes).sum::<u64>() != p.bytes
        {
            return Err("its totals are not the sum of its models".into());
        }
        Ok(p)
    }

    /// SHA-256 of [`Plan::to_bytes`].
    pub fn sha256(&self) -> String {
        hex(&sha2::Sha256::digest(self.to_bytes()))
    }

    /// SHA-256 of the plan's whole listing: compact JSON of `[[path, size], ...]` sorted by path.
    pub fn listing_sha256(&self) -> String {
        let mut all: Vec<&ShardFile> = self.models.iter().flat_map(|m| &m.files).collect();
        all.sort();
        listing_sha256(all.into_iter())
    }
}

fn listing_sha256<'a>(files: impl Iterator<Item = &'a ShardFile>) -> String {
    let v: Vec<(&str, u64)> = files.map(|f| (f.path.as_str(), f.size)).collect();
    hex(&sha2::Sha256::digest(
        serde_json::to_vec(&v).unwrap_or_default(),
    ))
}

/// The shard of each model (in plan order) when the plan is split `count` ways: models by
/// bytes, largest first (ties by name), each to the shard with the fewest bytes so far (ties
/// to the lowest index). A pure function of the plan and `count`.
pub fn assign(plan: &Plan, count: usize) -> Vec<usize> {
    let mut order: Vec<(&Model, usize)> = plan.models.iter().zip(0..).collect();
    order.sort_by(|(a, _), (b, _)| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    // Only the first M shards can ever receive one of M models (an empty shard wins ties by
    // its lower index), so the others need no place in the heap.
    let used = count.clamp(1, plan.models.len().max(1));
    let mut load: BinaryHeap<Reverse<(u64, usize)>> = (0..used).map(|i| Reverse((0, i))).collect();
    let mut out = vec![0; plan.models.len()];
    for (m, at) in order {
        if let Some(Reverse((bytes, shard))) = load.pop() {
            if let Some(o) = out.get_mut(at) {
                *o = shard;
            }
            load.push(Reverse((bytes.saturating_add(m.bytes), shard)));
        }
    }
    out
}

/// `--shard i/N`, `--shard N` or `--shard /N` (then i is `job_index`, Kubernetes'
/// `JOB_COMPLETION_INDEX`): (i, N), i from 0.
pub fn shard_spec(spec: &str, job_index: Option<&str>) -> Result<(usize, usize), String> {
    let (i, n) = match spec.split_once('/') {
        Some((i, n)) => (Some(i.trim()).filter(|i| !i.is_empty()), n),
        None => (None, spec),
    };
    let n: usize = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        format!("--shard {spec}: the number of shards must be a whole number, at least 1")
    })?;
    let i = match (i, job_index) {
        (Some(i), _) => i
            .parse::<usize>()
            .map_err(|_| format!("--shard {spec}: the shard index must be a whole number"))?,
        (None, Some(j)) => j.trim().parse::<usize>().map_err(|_| {
            format!("JOB_COMPLETION_INDEX={j} is not a shard index (a whole number)")
        })?,
        (None, None) => {
            return Err(format!(
                "--shard {spec} names no shard index: give --shard i/{n}, or set JOB_COMPLETION_INDEX (as a Kubernetes Indexed Job does)"
            ))
        }
    };
    if i >= n {
        return Err(format!(
            "shard index {i} is out of range for {n} shards (0 to {})",
            n - 1
        ));
    }
    Ok((i, n))
}

/// The plan a shard scan takes: the plan, the SHA-256 of its bytes, and its file as given
/// (`None`: planned in-process).
pub struct PlanRef<'a> {
    pub plan: &'a Plan,
    pub sha256: String,
    pub path: Option<String>,
}

/// Scan shard `index` of `count` of a plan. `walked`: the walk the plan was made from
/// (planned in-process), else the plan's inputs are walked again.
///
/// The shard scans the files of its models that the walk finds now; a planned file that is
/// gone or has another size, and (in shard 0) a file the plan does not list, are `plan-changed`
/// findings. Shard 0 also reports the walk's notes, so that they are in the merged report
/// once. No policy is applied (`merge` applies it); `opts.digests` are recorded. The report
/// holds no time: the same shard of the same tree gives the same bytes.
pub fn scan_shard(
    plan: &PlanRef,
    index: usize,
    count: usize,
    walked: Option<Walked>,
    opts: &ScanOptions,
) -> Result<Report, String> {
    let roots: Vec<PathBuf> = plan.plan.inputs.iter().map(PathBuf::from).collect();
    let walked = match walked {
        Some(w) => w,
        None => walk(&roots)?,
    };
    let shards = assign(plan.plan, count);
    let mut models = Vec::new();
    let mut mine: BTreeMap<&str, u64> = BTreeMap::new();
    for (m, s) in plan.plan.models.iter().zip(&shards) {
        if *s == index {
            models.push(m.name.clone());
            mine.extend(m.files.iter().map(|f| (f.path.as_str(), f.size)));
        }
    }
    let planned: HashSet<&str> = plan
        .plan
        .models
        .iter()
        .flat_map(|m| m.files.iter().map(|f| f.path.as_str()))
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut tasks = Vec::new();
    let mut findings = Vec::new();
    let mut files = Vec::new();
    for t in walked.tasks {
        if !seen.insert(t.display.clone()) {
            continue;
        }
        match mine.get(t.display.as_str()) {
            Some(&size) => {
                if size != t.size {
                    findings.push(Finding::new(
                        Code::PlanChanged,
                        t.display.clone(),
                        format!(
                            "the file has {} bytes now; the plan has {size}: it changed after it was planned",
                            t.size
                        ),
                        ev! {"planned_size" => size, "size" => t.size},
                    ));
                }
                tasks.push(t);
            }
            None if planned.contains(t.display.as_str()) => {}
            None if index == 0 => {
                findings.push(Finding::new(
                    Code::PlanChanged,
                    t.display.clone(),
                    "the file is not in the plan (added after it was made): this sharded run did not scan it",
                    ev! {"size" => t.size},
                ));
                files.push(FileEntry {
                    path: t.display.clone(),
                    size: Some(t.size),
                    format: None,
                    status: FileStatus::Skipped,
                    reason: Some(Code::PlanChanged.to_string()),
                    digests: BTreeMap::new(),
                    same_as: None,
                    verdict: crate::report::Verdict::Pass,
                    seconds: None,
                    remote: None,
                });
            }
            None => {}
        }
    }
    for (path, size) in &mine {
        if !seen.contains(*path) {
            findings.push(Finding::new(
                Code::PlanChanged,
                path.to_string(),
                "the file is in the plan and was not found: it was removed or renamed after it was planned",
                ev! {"planned_size" => size},
            ));
        }
    }
    let notes = if index == 0 { walked.notes } else { Vec::new() };
    let resolved = walked.resolved;
    let scanned = scan_walked(
        &roots,
        &Walked {
            tasks,
            notes,
            resolved,
        },
        opts,
    );
    files.extend(scanned.files);
    findings.extend(scanned.findings);
    let mut report = Report::new(scanned.inputs.roots, opts.fail_on, files, findings);
    report.inputs.resolved = scanned.inputs.resolved;
    report.shard = Some(Shard {
        plan_sha256: plan.sha256.clone(),
        plan: plan.path.clone(),
        index: index as u64,
        count: count as u64,
        plan_files: plan.plan.files,
        plan_bytes: plan.plan.bytes,
        plan_listing_sha256: plan.plan.listing_sha256(),
        digests: opts.digests.iter().map(|a| a.name().to_string()).collect(),
        models,
        files: mine
            .into_iter()
            .map(|(path, size)| ShardFile {
                path: path.to_string(),
                size,
            })
            .collect(),
    });
    Ok(report)
}

/// Join the shard reports of one plan (each with the name it is shown by) into one report
/// failing at `fail_on`, with no shard section. Refused, naming what, unless every shard of
/// the same plan (0 to N-1) is there exactly once, made by this version, and together they
/// cover exactly the plan's files.
pub fn merge(shards: &[(String, Report)], fail_on: Severity) -> Result<Report, String> {
    let Some((first_name, first)) = shards.first() else {
        return Err("no shard report given".into());
    };
    let ours = tool();
    let mut sections: Vec<(&str, &Shard)> = Vec::new();
    for (name, r) in shards {
        let s = r.shard.as_ref().ok_or_else(|| {
            format!("{name} is not a shard report (it has no shard section; shard reports come from modelgate scan --shard)")
        })?;
        if r.tool != ours {
            return Err(format!(
                "{name} was made by {} {}; this is {} {}: merge shards with the version that scanned them",
                r.tool.name, r.tool.version, ours.name, ours.version
            ));
        }
        sections.push((name.as_str(), s));
    }
    let (_, s0) = sections[0];
    for (name, s) in &sections {
        if s.plan_sha256 != s0.plan_sha256 {
            return Err(format!(
                "{name} is a shard of another plan (sha256 {}) than {first_name} (sha256 {})",
                s.plan_sha256, s0.plan_sha256
            ));
        }
        if s.count != s0.count {
            return Err(format!(
                "{name} is one of {} shards, {first_name} one of {}",
                s.count, s0.count
            ));
        }
        if (
            s.plan_files,
            s.plan_bytes,
            &s.plan_listing_sha256,
            &s.digests,
        ) != (
            s0.plan_files,
            s0.plan_bytes,
            &s0.plan_listing_sha256,
            &s0.digests,
        ) {
            return Err(format!(
                "{name} and {first_name} disagree about the plan (files, bytes, listing or digests) although its sha256 is the same"
            ));
        }
    }
    for (name, r) in shards {
        if r.inputs.roots != first.inputs.roots {
            return Err(format!("{name} and {first_name} scanned different inputs"));
        }
    }
    let count = s0.count;
    let mut by_index: BTreeMap<u64, &str> = BTreeMap::new();
    for (name, s) in &sections {
        if s.index >= count {
            return Err(format!(
                "{name} has shard index {} of {count}, out of range",
                s.index
            ));
        }
        if let Some(other) = by_index.insert(s.index, name) {
            return Err(format!(
                "shard {}/{count} is given twice: {other} and {name}",
                s.index
            ));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing: {} {} of {count} (every shard of the plan must be merged)",
            if missing.len() == 1 {
                "shard"
            } else {
                "shards"
            },
            missing.join(", ")
        ));
    }
    let mut covered: BTreeMap<&str, (&ShardFile, &str)> = BTreeMap::new();
    for (name, s) in &sections {
        for f in &s.files {
            if let Some((_, other)) = covered.insert(f.path.as_str(), (f, name)) {
                return Err(format!("{} is in two shards: {other} and {name}", f.path));
            }
        }
    }
    if covered.len() as u64 != s0.plan_files
        || listing_sha256(covered.values().map(|(f, _)| *f)) != s0.plan_listing_sha256
    {
        return Err(format!(
            "the shards cover {} files, not exactly the plan's {} files",
            covered.len(),
            s0.plan_files
        ));
    }
    let mut files = Vec::new();
    let mut findings = Vec::new();
    let mut waived = Vec::new();
    for (_, r) in shards {
        files.extend(r.files.iter().cloned());
        findings.extend(r.findings.iter().cloned());
        waived.extend(r.waived.iter().cloned());
    }
    let mut report = Report::new(first.inputs.roots.clone(), fail_on, files, findings);
    report.inputs.resolved = first.inputs.resolved.clone();
    report.waived = waived;
    Ok(report)
}

/// The shard assignment as (shard, models, files, bytes), for a summary.
pub fn loads(plan: &Plan, count: usize) -> Vec<(usize, usize, u64, u64)> {
    let mut out: Vec<(usize, usize, u64, u64)> = (0..count).map(|i| (i, 0, 0, 0)).collect();
    for (m, s) in plan.models.iter().zip(assign(plan, count)) {
        if let Some(l) = out.get_mut(s) {
            l.1 += 1;
            l.2 += m.files.len() as u64;
            l.3 += m.bytes;
        }
    }
    out
}

/// `v` without repeats, in order.
pub fn unique<T: PartialEq + Clone>(v: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for x in v {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// The plans' JSON Schema, as committed in `schemas/plan.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Plan);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(display: &str, size: u64) -> FileTask {
        FileTask {
            display: display.into(),
            fs_path: PathBuf::from(display),
            name: display.rsplit('/').next().unwrap_or_default().into(),
            key: (0, 0),
            size,
            remote: None,
        }
    }

    fn names(root: &str, files: &[&str]) -> Vec<String> {
        let tasks: Vec<FileTask> = files.iter().map(|f| task(f, 1)).collect();
        model_names(root, &tasks)
    }

    #[test]
    fn a_model_is_the_highest_directory_holding_a_file() {
        assert_eq!(
            names(
                "b",
                &[
                    "b/org/m1/config.json",
                    "b/org/m1/sub/w.bin",
                    "b/org/m2/w.pkl",
                    "b/x/y/z/w.bin"
                ]
            ),
            ["b/org/m1", "b/org/m1", "b/org/m2", "b/x/y/z"]
        );
        // A file at the top: the whole input is one model.
        assert_eq!(
            names("snap", &["snap/config.json", "snap/sub/w.bin"]),
            ["snap", "snap"]
        );
        // A file input is a model.
        assert_eq!(names("w.pkl", &["w.pkl"]), ["w.pkl"]);
    }

    #[test]
    fn a_hugging_face_cache_repository_is_one_model() {
        assert_eq!(
            names(
                "hub",
                &[
                    "hub/version.txt",
                    "hub/models--a--b/blobs/123",
                    "hub/models--a--b/refs/main",
                    "hub/models--a--b/snapshots/r/config.json",
                    "hub/datasets--c--d/blobs/9",
                ]
            ),
            [
                "hub",
                "hub/models--a--b",
                "hub/models--a--b",
                "hub/models--a--b",
                "hub/datasets--c--d"
            ]
        );
        assert_eq!(
            names(
                "hub/models--a--b/snapshots/r",
                &["hub/models--a--b/snapshots/r/x/config.json"]
            ),
            ["hub/models--a--b/snapshots/r"]
        );
    }

    fn plan_of(models: &[(&str, u64)]) -> Plan {
        Plan {
            schema_version: SCHEMA_VERSION,
            tool: tool(),
            inputs: vec![],
            files: models.len() as u64,
            bytes: models.iter().map(|m| m.1).sum(),
            models: models
                .iter()
                .map(|(n, b)| Model {
                    name: n.to_string(),
                    bytes: *b,
                    files: vec![ShardFile {
                        path: format!("{n}/f"),
                        size: *b,
                    }],
                })
                .collect(),
            notes: vec![],
        }
    }

    #[test]
    fn models_go_largest_first_to_the_least_loaded_shard() {
        let p = plan_of(&[("a", 5), ("b", 10), ("c", 3), ("d", 3), ("e", 1)]);
        // b→0 (10), a→1 (5), c→1 (8), d→1 (8 < 10: 11), e→0 (10 < 11).
        assert_eq!(assign(&p, 2), [1, 0, 1, 1, 0]);
        assert_eq!(assign(&p, 1), [0, 0, 0, 0, 0]);
        // Ties of load go to the lowest index; more shards than models leave some empty.
        assert_eq!(assign(&p, 7), [1, 0, 2, 3, 4]);
    }

    #[test]
    fn shard_specs() {
        assert_eq!(shard_spec("3/7", None), Ok((3, 7)));
        assert_eq!(shard_spec("3/7", Some("5")), Ok((3, 7)));
        assert_eq!(shard_spec("7", Some("5")), Ok((5, 7)));
        assert_eq!(shard_spec("/7", Some("0")), Ok((0, 7)));
        assert_eq!(
            shard_spec("7/7", None),
            Err("shard index 7 is out of range for 7 shards (0 to 6)".into())
        );
        assert_eq!(
            shard_spec("7", Some("9")),
            Err("shard index 9 is out of range for 7 shards (0 to 6)".into())
        );
        assert_eq!(
            shard_spec("7", None),
            Err("--shard 7 names no shard index: give --shard i/7, or set JOB_COMPLETION_INDEX (as a Kubernetes Indexed Job does)".into())
        );
        assert_eq!(
            shard_spec("7", Some("x")),
            Err("JOB_COMPLETION_INDEX=x is not a shard index (a whole number)".into())
        );
        assert!(shard_spec("1/0", None).is_err());
        assert!(shard_spec("a/2", None).is_err());
    }
}
