//! SARIF 2.1.0, as GitHub code scanning takes it: one rule per finding code (help = the
//! `explain` text, `security-severity`, ATLAS ids as tags), artifact URIs relative to the
//! working directory, and `partialFingerprints` from what identifies a finding in a binary
//! file (code, path, member, offset, evidence), never from line contents. Findings a policy
//! waiver covers are results with an accepted external suppression carrying the waiver's reason.

use super::Report;
use crate::finding::{Finding, Severity, CODES};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// GitHub keeps at most 25 000 results per run; more are cut, and the run says so.
pub const MAX_RESULTS: usize = 25_000;

/// GitHub takes SARIF files of up to 10 MB gzip-compressed; results are cut at this many bytes
/// of JSON (pretty-printed results compress well over five times), and the run says so.
pub const MAX_BYTES: usize = 48 << 20;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// GitHub maps these to critical (≥ 9), high (≥ 7), medium (≥ 4) and low.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::Error => "7.5",
        Severity::Warning => "5.0",
        Severity::Info => "1.0",
    }
}

fn rule_name(code: &str) -> String {
    code.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// A path as a relative URI when it is under the working directory, else a file URI.
pub fn artifact_uri(path: &str) -> (String, bool) {
    let p = std::path::Path::new(path);
    let rel = if p.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| p.strip_prefix(cwd).ok().map(|r| r.to_path_buf()))
    } else {
        Some(
            p.components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect(),
        )
    };
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    match rel {
        Some(r) => (enc(&r.to_string_lossy()), true),
        None => (format!("file://{}", enc(path)), false),
    }
}

pub fn render(r: &Report) -> String {
    let rules: Vec<Value> = CODES
        .iter()
        .map(|c| {
            let mut tags = vec!["security".to_string(), "supply-chain".to_string()];
            tags.extend(c.atlas.iter().map(|t| format!("atlas/{t}")));
            let mut rule = json!({
                "id": c.name,
                "name": rule_name(c.name),
                "shortDescription": {"text": c.summary},
                "fullDescription": {"text": c.summary},
                "help": {
                    "text": c.explanation,
                    "markdown": format!("**{}**\n\n{}\n\nMITRE ATLAS: {}", c.summary, c.explanation,
                        if c.atlas.is_empty() { "-".to_string() } else { c.atlas.join(", ") }),
                },
                "defaultConfiguration": {"level": level(c.severity)},
                "properties": {
                    "security-severity": security_severity(c.severity),
                    "precision": "high",
                    "problem.severity": level(c.severity),
                    "tags": tags,
                },
            });
            if let Some(t) = c.atlas.first() {
                rule["helpUri"] = json!(format!("https://atlas.mitre.org/techniques/{t}"));
            }
            rule
        })
        .collect();
    let result = |f: &Finding| {
        // CODES is in declaration order: a code's rule index is its discriminant.
        let (info, index) = (f.code.info(), f.code as usize);
        let name = info.name;
        let (uri, relative) = artifact_uri(&f.path);
        let mut loc = json!({"artifactLocation": {"uri": &uri}});
        if relative {
            loc["artifactLocation"]["uriBaseId"] = json!("%SRCROOT%");
        }
        // A finding in a text file (a policy) that knows its line.
        if let Some(line) = f
            .evidence
            .get("line")
            .and_then(Value::as_u64)
            .filter(|l| *l > 0)
        {
            loc["region"] = json!({"startLine": line});
        }
        // Over the artifact's URI, not the path as typed: `./m`, `m` and `/abs/m` are one file.
        let mut h = Sha256::new();
        for part in [
            name,
            &uri,
            &f.member.join("!"),
            &f.offset.map(|o| o.to_string()).unwrap_or_default(),
            &serde_json::to_string(&f.evidence).unwrap_or_default(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let fp = crate::digest::hex(&h.finalize());
        let location_text = f.location();
        let mut props = json!({"severity": f.severity.as_str()});
        if !f.member.is_empty() {
            props["member"] = json!(f.member);
        }
        if let Some(o) = f.offset {
            props["offset"] = json!(o);
        }
        if !f.evidence.is_empty() {
            props["evidence"] = json!(f.evidence);
        }
        if !info.atlas.is_empty() {
            props["atlas"] = json!(info.atlas);
        }
        json!({
            "ruleId": name,
            "ruleIndex": index,
            "level": level(f.severity),
            "message": {"text": format!("{} ({})", f.message, location_text)},
            "locations": [{"physicalLocation": loc}],
            "partialFingerprints": {"modelgateFinding/v1": fp},
            "properties": props,
        })
    };
    // Waived findings are results too, suppressed by the policy (GitHub shows them as dismissed).
    let suppressed = |w: &super::Waived| {
        let mut v = result(&w.finding);
        let mut justification = w.reason.clone();
        if let Some(d) = &w.expires {
            justification.push_str(&format!(" (waived until {d})"));
        }
        v["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": justification,
        }]);
        v
    };
    // Result i: the findings, then the waived ones.
    let (findings, total) = (r.findings.len(), r.findings.len() + r.waived.len());
    let at = |i: usize| match i.checked_sub(findings) {
        None => (&r.findings[i], None),
        Some(j) => (&r.waived[j].finding, Some(&r.waived[j])),
    };
    let build = |i: usize| match at(i) {
        (_, Some(w)) => suppressed(w),
        (f, None) => result(f),
    };
    // Within GitHub's limits (results per run, upload size): when there is too much, the most
    // severe findings are kept (waived ones last), listed in report order.
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| {
        let (f, w) = at(i);
        (w.is_some(), std::cmp::Reverse(f.severity), i)
    });
    let mut chosen: Vec<(usize, Value)> = Vec::new();
    let mut bytes = 0usize;
    for i in order {
        let v = build(i);
        let size = serde_json::to_string(&v).map(|t| t.len()).unwrap_or(0);
        if chosen.len() == MAX_RESULTS || bytes.saturating_add(size) > MAX_BYTES {
            break;
        }
        bytes += size;
        chosen.push((i, v));
    }
    let kept = chosen.len();
    chosen.sort_by_key(|(i, _)| *i);
    let results: Vec<Value> = chosen.into_iter().map(|(_, v)| v).collect();
    let mut notes = Vec::new();
    if kept < total {
        notes.push(json!({"level": "warning", "message": {"text": format!(
            "{total} findings (waived ones included); the {kept} most severe are listed, within GitHub's limits ({MAX_RESULTS} results per run, {} MiB of results); the JSON report has them all",
            MAX_BYTES >> 20
        )}}));
    }
    let mut run = json!({
        "tool": {"driver": {
            "name": "modelgate",
            "version": r.tool.version,
            "semanticVersion": r.tool.version,
            "informationUri": "https://github.com/modelgate/modelgate",
            "rules": rules,
        }},
        "invocations": [{
            "executionSuccessful": true,
            "toolExecutionNotifications": notes,
        }],
        "results": results,
        "properties": {
            "verdict": r.summary.verdict,
            "failOn": r.inputs.fail_on.as_str(),
            "waived": r.waived.len(),
        },
    });
    if let Some(p) = &r.inputs.policy {
        run["properties"]["policy"] = json!(p);
    }
    if let Some(a) = &r.atlas {
        run["properties"]["atlas"] = json!(a);
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Code;

    fn finding(path: &str, severity: Severity, message: String) -> Finding {
        Finding {
            code: Code::PickleUnknownImport,
            severity,
            path: path.into(),
            member: Vec::new(),
            offset: None,
            message,
            evidence: crate::ev! {},
        }
    }

    fn results(r: &Report) -> (Vec<Value>, Value) {
        let doc: Value = serde_json::from_str(&render(r)).unwrap();
        let run = &doc["runs"][0];
        (
            run["results"].as_array().unwrap().clone(),
            run["invocations"][0]["toolExecutionNotifications"].clone(),
        )
    }

    #[test]
    fn fingerprints_do_not_depend_on_how_the_root_was_typed() {
        let abs = std::env::current_dir().unwrap().join("m/a.pkl");
        let fingerprints: Vec<Value> = ["m/a.pkl", "./m/a.pkl", abs.to_str().unwrap(), "m/b.pkl"]
            .iter()
            .map(|p| {
                let r = Report::new(
                    vec!["m".into()],
                    Severity::Error,
                    Vec::new(),
                    vec![finding(p, Severity::Error, "x".into())],
                );
                results(&r).0[0]["partialFingerprints"].clone()
            })
            .collect();
        assert_eq!(fingerprints[0], fingerprints[1]);
        assert_eq!(fingerprints[0], fingerprints[2]);
        assert_ne!(fingerprints[0], fingerprints[3]);
    }

    #[test]
    fn over_the_result_limit_the_most_severe_are_kept() {
        let mut findings: Vec<Finding> = (0..MAX_RESULTS + 10)
            .map(|i| finding(&format!("a/{i:06}"), Severity::Warning, "w".into()))
            .collect();
        findings.push(finding("z/last", Severity::Critical, "c".into()));
        let r = Report::new(vec!["a".into()], Severity::Error, Vec::new(), findings);
        let (res, notes) = results(&r);
        assert_eq!(res.len(), MAX_RESULTS);
        // Kept in report order, the critical one (last in path order) among them.
        assert_eq!(res.last().unwrap()["properties"]["severity"], "critical");
        assert_eq!(res[0]["message"]["text"], "w (a/000000)");
        assert!(notes[0]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{} findings", MAX_RESULTS + 11)));
    }

    #[test]
    fn over_the_size_limit_results_are_cut_and_the_run_says_so() {
        let big = "x".repeat(1 << 20);
        let findings: Vec<Finding> = (0..60)
            .map(|i| finding(&format!("f{i:02}"), Severity::Error, big.clone()))
            .collect();
        let r = Report::new(vec!["a".into()], Severity::Error, Vec::new(), findings);
        let (res, notes) = results(&r);
        assert_eq!(res.len(), MAX_BYTES / (1 << 20) - 1);
        assert!(notes[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("most severe are listed"));
        let small = Report::new(
            vec!["a".into()],
            Severity::Error,
            Vec::new(),
            vec![finding("f", Severity::Error, "m".into())],
        );
        let (res, notes) = results(&small);
        assert_eq!(res.len(), 1);
        assert_eq!(notes, json!([]));
    }

    #[test]
    fn rules_stay_within_github_tag_limits() {
        // GitHub shows 10 tags per rule and rejects more than 20.
        let doc: Value = serde_json::from_str(&render(&Report::new(
            Vec::new(),
            Severity::Error,
            Vec::new(),
            Vec::new(),
        )))
        .unwrap();
        for rule in doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
        {
            assert!(
                rule["properties"]["tags"].as_array().unwrap().len() <= 10,
                "{rule}"
            );
        }
    }
}
