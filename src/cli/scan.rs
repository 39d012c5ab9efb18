//! `modelgate scan`.

use super::outputs::{canonical, check_destination};
use super::{parse_severity, Exit, Outputs};
use crate::digest::HashAlg;
use crate::finding::Severity;
use crate::gate::{Error, ManifestTrust, PolicyChoice, ScanRequest};
use crate::scan::ScanOptions;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories to scan (symlinks are followed only inside each root), or remote
    /// inputs read by ranged requests without downloading them: s3://BUCKET/PREFIX, gs://...,
    /// az://CONTAINER/PREFIX (credentials from the AWS_*, GOOGLE_*, AZURE_* environment),
    /// https://HOST/FILE, hf://[datasets/]ORG/NAME[@REVISION][/PATH] (HF_TOKEN, HF_ENDPOINT;
    /// files already in the local Hugging Face cache are read from there once verified)
    #[arg(required_unless_present = "plan", value_name = "PATH|URL")]
    paths: Vec<PathBuf>,
    /// Scan one shard: i/N (i from 0, as Kubernetes' JOB_COMPLETION_INDEX), or N (or /N) to take
    /// i from JOB_COMPLETION_INDEX. Of --plan's plan, else of the PATHs planned here as
    /// `modelgate plan` would. Writes a JSON shard report for `modelgate merge` (the same bytes
    /// when run again) and exits 0 once it is written (merge applies the policy and decides
    /// the verdict)
    #[arg(long, value_name = "i/N")]
    shard: Option<String>,
    /// The plan (from `modelgate plan`) whose shard --shard scans
    #[arg(
        long,
        value_name = "FILE",
        requires = "shard",
        conflicts_with = "paths"
    )]
    plan: Option<PathBuf>,
    #[command(flatten)]
    out: Outputs,
    /// Fail (exit 1) on findings at or above this severity [default: the policy's, else error]
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity())]
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
    /// Files inspected in parallel, at least 1 (default: one per core; four per core when an
    /// input is remote)
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    jobs: Option<usize>,
    /// Never draw a progress bar
    #[arg(long)]
    no_progress: bool,
    /// Seconds of decompression and reading one file may take before the rest of it is
    /// reported as not inspected (limit-exceeded)
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    max_seconds_per_file: u64,
    /// Ranged requests one remote file may take before the rest of it is reported as not
    /// inspected (limit-exceeded)
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    max_remote_requests: u64,
    /// Bytes all remote files together may fetch; past it, what is left is reported as not
    /// inspected (limit-exceeded) [default: no limit]
    #[arg(long, value_name = "BYTES")]
    max_remote_bytes: Option<u64>,
    /// Record digests of every file in the report (repeatable, or comma-separated)
    #[arg(long = "digest", value_name = "ALG", value_enum, value_delimiter = ',')]
    digests: Vec<HashAlg>,
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
}

/// ATLAS data: `--atlas-data FILE`, else the bundled extract.
pub(super) fn atlas_data(path: Option<&PathBuf>) -> Result<crate::atlas::Atlas, Error> {
    match path {
        None => Ok(crate::atlas::bundled()),
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| crate::atlas::parse(&t))
            .map_err(|e| Error::file("ATLAS data", p, e)),
    }
}

/// `--jobs`: a positive number (0 would mean no worker at all).
fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1 (leave --jobs out for one per core)".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a number of jobs: {e}")),
    }
}

/// `--jobs`, else for remote inputs (waiting on the network, not the CPU) four per core.
fn jobs(given: Option<usize>, paths: &[PathBuf]) {
    match given {
        Some(j) => set_jobs(j),
        None if paths
            .iter()
            .any(|p| crate::remote::is_remote(&p.to_string_lossy())) =>
        {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            set_jobs(cores.saturating_mul(4).clamp(4, 256));
        }
        None => {}
    }
}

/// At most four threads per core: more only cost memory and time.
fn set_jobs(jobs: usize) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let cap = cores.saturating_mul(4).clamp(4, 256);
    if jobs > cap {
        complain!("--jobs {jobs} is more than {cap} (4 per core); using {cap}");
    }
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.clamp(1, cap))
        .build_global()
    {
        complain!("{e}");
    }
}

pub fn run(a: Args) -> Exit {
    crate::remote::set_budgets(crate::remote::Budgets {
        requests_per_file: a.max_remote_requests.max(1),
        run_bytes: a.max_remote_bytes,
    });
    if let Some(spec) = &a.shard {
        return run_shard(spec, &a);
    }
    // Every destination is checked before the scan, which can take long.
    a.out.check_against(&a.paths)?;
    let suggest_to = a.suggest_policy.as_ref().filter(|d| d.as_os_str() != "-");
    if let Some(dest) = suggest_to {
        check_destination(dest, &canonical(&a.paths), "--suggest-policy ")
            .map_err(|e| Error::file("policy suggestion", dest, e))?;
    }
    let atlas = atlas_data(a.atlas_data.as_ref())?;
    jobs(a.jobs, &a.paths);
    let mut options = ScanOptions {
        progress: !a.no_progress,
        ..ScanOptions::default()
    };
    options.limits.max_seconds_per_file = a.max_seconds_per_file.max(1);
    let req = ScanRequest {
        paths: a.paths,
        fail_on: a.fail_on,
        policy: match (a.no_policy, a.policy) {
            (true, _) => PolicyChoice::None,
            (false, Some(p)) => PolicyChoice::File(p),
            (false, None) => PolicyChoice::Discover,
        },
        manifest: a.manifest.map(|m| {
            let trust = ManifestTrust {
                signature: a.manifest_signature,
                key: a.manifest_key,
                allow_unsigned: a.allow_unsigned_manifest,
            };
            (m, trust)
        }),
        digests: a.digests,
        bom: a.out.bom(),
        options,
    };
    let scanned = crate::gate::scan(&req, &atlas)?;
    if let Some(p) = &scanned.policy {
        complain!("policy {}", p.display());
    }
    if let Some(dest) = &a.suggest_policy {
        let text = crate::policy::suggest(&scanned.report);
        match suggest_to {
            None => eprint!("{text}"),
            Some(_) => crate::output::write(dest, text.as_bytes(), crate::output::Access::Public)
                .map_err(|e| Error::file("cannot write policy suggestion", dest, e))?,
        }
    }
    a.out.write(&scanned.report)
}

/// `scan --shard`: one shard of a plan, as a JSON shard report; no policy, no verdict (merge
/// decides), exit 0 once written.
fn run_shard(spec: &str, a: &Args) -> Exit {
    let refused = [
        (a.policy.is_some(), "--policy"),
        (a.fail_on.is_some(), "--fail-on"),
        (a.manifest.is_some(), "--manifest"),
        (a.suggest_policy.is_some(), "--suggest-policy"),
        (a.atlas_data.is_some(), "--atlas-data"),
    ];
    if let Some((_, flag)) = refused.iter().find(|(given, _)| *given) {
        return Err(Error::Usage(format!(
            "{flag} is not for a shard scan: give it to modelgate merge, which decides for the whole plan"
        )));
    }
    let job_index = std::env::var("JOB_COMPLETION_INDEX").ok();
    let (index, count) =
        crate::plan::shard_spec(spec, job_index.as_deref()).map_err(Error::Usage)?;
    let out = a.out.json_only("a shard report")?;
    let mut read = a.paths.clone();
    read.extend(a.plan.clone());
    let loaded = match &a.plan {
        Some(p) => {
            let bytes = crate::input::read_small(p, crate::input::MANIFEST_LIMIT)
                .map_err(|e| Error::file("plan", p, e))?;
            let plan = crate::plan::Plan::parse(&bytes).map_err(|e| Error::file("plan", p, e))?;
            read.extend(plan.inputs.iter().map(PathBuf::from));
            let sha = crate::digest::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
            (plan, sha, Some(p.to_string_lossy().into_owned()), None)
        }
        None => {
            let (plan, walked) = crate::plan::make(&a.paths).map_err(Error::Usage)?;
            let sha = plan.sha256();
            (plan, sha, None, Some(walked))
        }
    };
    out.check_against(&read)?;
    jobs(a.jobs, &read);
    let (plan, sha256, path, walked) = loaded;
    let mut digests = vec![HashAlg::Sha256];
    digests.extend(a.digests.iter().copied());
    let mut options = ScanOptions {
        progress: !a.no_progress,
        digests: crate::plan::unique(&digests),
        ..ScanOptions::default()
    };
    options.limits.max_seconds_per_file = a.max_seconds_per_file.max(1);
    let plan_ref = crate::plan::PlanRef {
        plan: &plan,
        sha256,
        path,
    };
    let report =
        crate::plan::scan_shard(&plan_ref, index, count, walked, &options).map_err(Error::Usage)?;
    out.write(&report)?;
    let s = report.shard.as_ref().map_or(0, |s| s.files.len() as u64);
    complain!(
        "shard {index}/{count}: {} of the plan's {} scanned; modelgate merge decides the verdict",
        crate::finding::plural(s, "file", "files"),
        plan.files
    );
    Ok(0)
}
