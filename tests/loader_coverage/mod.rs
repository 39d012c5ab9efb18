//! Oracles judged by the loader's own branch coverage: the oracle script runs under coverage.py
//! (tests/oracle/loader_coverage.py, installed into the oracle's venv) and reports the branches
//! of the loader's reading functions its inputs took; the test prints them and fails below a
//! floor, so a generator that shares modelgate's blind spots shows as loader code never reached.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The floor every oracle's inputs must reach in the loader's reading functions.
pub const FLOOR: f64 = 0.90;

/// Like `common::run_oracle`, and when `measure`, under coverage.py: returns the answers and
/// the coverage report (see loader_coverage.py).
pub fn run_oracle_measured(
    python: &Path,
    script: &str,
    paths: Vec<String>,
    measure: bool,
) -> (Vec<serde_json::Value>, Option<serde_json::Value>) {
    run_oracle_measured_excluding(python, script, paths, measure, &[])
}

/// A branch of the loader's reading code that no loader can take: (function, the source line
/// the branch leaves, the line it goes to or "" for any, why). Left out of the counts and
/// printed with the reason (see loader_coverage.py).
pub type Unreachable = (&'static str, &'static str, &'static str, &'static str);

/// `run_oracle_measured`, leaving the `unreachable` branches out of the loader's counts.
pub fn run_oracle_measured_excluding(
    python: &Path,
    script: &str,
    paths: Vec<String>,
    measure: bool,
    unreachable: &[Unreachable],
) -> (Vec<serde_json::Value>, Option<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("coverage.json");
    let mut cmd = Command::new(python);
    cmd.arg(script).env("PYTHONDONTWRITEBYTECODE", "1");
    let excl: Vec<[&str; 4]> = unreachable.iter().map(|u| [u.0, u.1, u.2, u.3]).collect();
    cmd.env(
        "MODELGATE_ORACLE_UNREACHABLE",
        serde_json::to_string(&excl).unwrap(),
    );
    if measure {
        cmd.env("MODELGATE_ORACLE_COVERAGE", &report);
    } else {
        cmd.env_remove("MODELGATE_ORACLE_COVERAGE");
    }
    let lines = super::common::oracle_answers(cmd, script, paths);
    let cov = measure.then(|| {
        serde_json::from_slice(&std::fs::read(&report).expect("coverage report")).unwrap()
    });
    (lines, cov)
}

/// Print the loader's branch coverage (total and per judged function); returns the ratio.
pub fn report(what: &str, cov: &serde_json::Value) -> f64 {
    let n = cov["total"]["branches"].as_u64().unwrap();
    let c = cov["total"]["covered"].as_u64().unwrap();
    let ratio = if n == 0 { 0.0 } else { c as f64 / n as f64 };
    eprintln!(
        "{what}: loader branch coverage {c}/{n} = {:.1} % of the judged reading functions",
        100.0 * ratio
    );
    let mut lows = Vec::new();
    for (file, f) in cov["files"].as_object().unwrap() {
        for (q, v) in f["functions"].as_object().unwrap() {
            let (b, k) = (
                v["branches"].as_u64().unwrap(),
                v["covered"].as_u64().unwrap(),
            );
            eprintln!("  {q}: {k}/{b}");
            for x in v["excluded"].as_array().into_iter().flatten() {
                eprintln!(
                    "    excluded {}->{}: {}",
                    x[0],
                    x[1],
                    x[2].as_str().unwrap_or("")
                );
            }
            if k < b {
                lows.push(format!("{file}:{q} missing {}", v["missing"]));
            }
        }
    }
    if std::env::var_os("MODELGATE_ORACLE_SHOW_MISSING").is_some() {
        for l in &lows {
            eprintln!("  {l}");
        }
    }
    ratio
}

/// Fail below `FLOOR`.
pub fn assert_floor(what: &str, ratio: f64) {
    assert!(
        ratio >= FLOOR,
        "{what}: loader branch coverage {:.1} % is below {:.0} % (MODELGATE_ORACLE_SHOW_MISSING=1 lists the branches never taken)",
        100.0 * ratio,
        100.0 * FLOOR
    );
}
