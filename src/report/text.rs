//! The human report: findings grouped by file, then a summary table.

use super::{FileStatus, Report, Verdict};
use crate::finding::{Finding, Severity};
use crate::report::atlas::Status;
use std::fmt::Write;

fn paint(s: &str, sev: Severity, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match sev {
        Severity::Critical => "1;31",
        Severity::Error => "31",
        Severity::Warning => "33",
        Severity::Info => "36",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

/// One finding: severity, code and where, then the message; the rows a dataset finding
/// names; and, the first time a code appears with a cause (`remedy`), what to do about it.
fn finding(o: &mut String, f: &Finding, color: bool, remedy: bool) {
    let mut loc = String::new();
    for m in &f.member {
        let _ = write!(loc, " !{}", Safe(m));
    }
    if let Some(off) = f.offset {
        let _ = write!(loc, " @{off}");
    }
    let sev = paint(&format!("{:<8}", f.severity.as_str()), f.severity, color);
    let _ = writeln!(o, "  {sev} {}{loc}", f.code);
    let _ = writeln!(o, "           {}", Safe(&f.message));
    // Dataset findings list their first rows (file and 0-based row) in the evidence.
    for key in ["first", "first_in_baseline"] {
        let Some(rows) = f.evidence.get(key).and_then(|v| v.as_array()) else {
            continue;
        };
        let shown: Vec<String> = rows
            .iter()
            .take(5)
            .filter_map(|r| {
                let file = r.get("file")?.as_str()?;
                let row = r.get("row")?.as_u64()?;
                let change = match (
                    r.get("from").and_then(|v| v.as_str()),
                    r.get("to").and_then(|v| v.as_str()),
                ) {
                    (Some(a), Some(b)) => format!(" ({a} -> {b})"),
                    _ => String::new(),
                };
                Some(format!("{}:{row}{change}", Safe(file)))
            })
            .collect();
        if !shown.is_empty() {
            let more = rows.len().saturating_sub(shown.len());
            let _ = writeln!(
                o,
                "           rows{}: {}{}",
                if key == "first_in_baseline" {
                    " in the baseline"
                } else {
                    ""
                },
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more in the JSON report")
                } else {
                    String::new()
                }
            );
        }
    }
    // Duplicate injection, near-duplicates and trigger tokens: each group or token with its
    // first rows (the JSON report has them all).
    let rows = |v: Option<&serde_json::Value>| -> String {
        let locs: Vec<&serde_json::Value> = match v {
            Some(serde_json::Value::Array(a)) => a.iter().collect(),
            Some(l @ serde_json::Value::Object(_)) => vec![l],
            _ => Vec::new(),
        };
        let shown: Vec<String> = locs
            .iter()
            .take(5)
            .filter_map(|r| {
                let file = r.get("file")?.as_str()?;
                let row = r.get("row")?.as_u64()?;
                Some(format!("{}:{row}", Safe(file)))
            })
            .collect();
        let more = locs.len().saturating_sub(shown.len());
        format!(
            "{}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    };
    let num = |v: &serde_json::Value, k: &str| v.get(k).and_then(|n| n.as_u64()).unwrap_or(0);
    let groups = f.evidence.get("top").and_then(|v| v.as_array());
    for (i, g) in groups.into_iter().flatten().enumerate() {
        if i == 5 {
            let _ = writeln!(
                o,
                "           and {} more in the JSON report",
                crate::finding::plural(groups.map_or(0, |g| g.len() as u64 - 5), "group", "groups")
            );
            break;
        }
        if let Some(text) = g.get("normalized_text").and_then(|t| t.as_str()) {
            let short: String = text.chars().take(60).collect();
            let _ = writeln!(
                o,
                "           {} like '{}{}': {}",
                crate::finding::plural(num(g, "records"), "record", "records"),
                Safe(&short),
                if short.len() < text.len() { "..." } else { "" },
                rows(g.get("first"))
            );
        } else if g.get("digest").is_some() {
            let now = num(g, "now");
            let _ = writeln!(
                o,
                "           {} now ({} in the baseline), first at {}",
                crate::finding::plural(now, "copy", "copies"),
                num(g, "baseline"),
                rows(g.get("first"))
            );
        }
    }
    for t in f
        .evidence
        .get("tokens")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .take(5)
    {
        let token = t.get("token").and_then(|v| v.as_str()).unwrap_or("");
        let label = match t.get("label").and_then(|v| v.as_str()) {
            Some(l) if !l.is_empty() => format!(", label {}", Safe(l)),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "           token '{}': {} ({} unchanged){label}: rows {}",
            Safe(token),
            crate::finding::plural(
                num(t, "changed_records"),
                "changed record",
                "changed records"
            ),
            num(t, "unchanged_records"),
            rows(t.get("first"))
        );
    }
    if let Some(p) = f.evidence.get("profile").and_then(|p| p.as_str()) {
        // A framework's own class: one policy line passes every such global.
        let _ = writeln!(
            o,
            "           profile: profiles = [\"{}\"] in a policy accepts this framework class (modelgate explain profiles)",
            Safe(p)
        );
    }
    if remedy && f.severity > Severity::Info && !f.remedy().is_empty() {
        let _ = writeln!(o, "           fix: {}", f.remedy());
    }
}

/// Text from files, the command line or ATLAS data, safe for a terminal: control characters
/// (C0 but tab, DEL, C1) and bidirectional overrides are shown escaped, so a hostile file or
/// member name cannot move the cursor, recolour, start a fake line or reorder what is shown.
pub struct Safe<'a>(pub &'a str);

impl std::fmt::Display for Safe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Escaped into a string first, so that width and alignment (`{:<14}`) still apply.
        let mut s = String::with_capacity(self.0.len());
        for c in self.0.chars() {
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if (c.is_control() && c != '\t') || bidi {
                s.extend(c.escape_unicode());
            } else {
                s.push(c);
            }
        }
        f.pad(&s)
    }
}

pub fn render(r: &Report, color: bool) -> String {
    let mut o = String::new();
    let roots = r.inputs.roots.join(", ");
    let roots = Safe(&roots);
    if r.files.is_empty() && !r.findings.is_empty() {
        // Not a scan (e.g. a signature verification): no per-file counts to give.
        let _ = writeln!(o, "modelgate {}: {}", r.tool.version, roots);
    } else {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let _ = writeln!(
            o,
            "modelgate {}: {} under {} ({} inspected, {} not inspected, {} unreadable, {} skipped)",
            r.tool.version,
            plural(r.summary.files, "file", "files"),
            roots,
            r.summary.scanned.saturating_sub(r.summary.not_inspected),
            r.summary.not_inspected,
            r.summary.errors,
            r.summary.skipped
        );
    }
    for res in &r.inputs.resolved {
        let _ = writeln!(o, "{}: {}", Safe(&res.root), Safe(&res.resolved));
    }
    let remote: Vec<&crate::report::RemoteRead> =
        r.files.iter().filter_map(|f| f.remote.as_ref()).collect();
    if !remote.is_empty() {
        let requests: u64 = remote.iter().map(|x| x.requests).sum();
        let fetched: u64 = remote.iter().map(|x| x.bytes_fetched).sum();
        let stored: u64 = r
            .files
            .iter()
            .filter(|f| f.remote.is_some())
            .filter_map(|f| f.size)
            .sum();
        let cached = remote.iter().filter(|x| x.cached_copy.is_some()).count();
        let _ = writeln!(
            o,
            "remote: {fetched} of {stored} bytes fetched in {requests} ranged requests{}",
            if cached > 0 {
                format!(
                    "; {} read from the local cache",
                    crate::finding::plural(cached as u64, "file", "files")
                )
            } else {
                String::new()
            }
        );
    }
    if let Some(p) = &r.inputs.policy {
        let _ = writeln!(
            o,
            "policy {} (sha256 {}): {} finding{} waived",
            Safe(&p.path),
            p.sha256.get(..12).unwrap_or(&p.sha256),
            r.waived.len(),
            if r.waived.len() == 1 { "" } else { "s" }
        );
    }
    // What the marks mean, when they appear.
    let members = r.findings.iter().any(|f| !f.member.is_empty());
    let offsets = r.findings.iter().any(|f| f.offset.is_some());
    let rows = r
        .findings
        .iter()
        .any(|f| f.evidence.contains_key("first") || f.evidence.contains_key("first_in_baseline"));
    let mut legend = Vec::new();
    if members {
        legend.push("!NAME: a member inside an archive or container (nested: one ! each)");
    }
    if offsets {
        legend.push("@N: the byte offset in the file, or in the member");
    }
    if rows {
        legend.push("rows: FILE:ROW, rows counted from 0");
    }
    if !legend.is_empty() {
        let _ = writeln!(o, "({})", legend.join("; "));
    }
    let mut last_path: Option<&str> = None;
    let mut explained = std::collections::HashSet::new();
    for f in &r.findings {
        if last_path != Some(f.path.as_str()) {
            let _ = writeln!(o, "\n{}", Safe(&f.path));
            last_path = Some(f.path.as_str());
        }
        finding(&mut o, f, color, explained.insert((f.code, f.remedy())));
    }
    if !r.waived.is_empty() {
        let _ = writeln!(o, "\nwaived by the policy (not counted):");
        for w in &r.waived {
            let _ = writeln!(o, "\n{}", Safe(&w.finding.path));
            finding(&mut o, &w.finding, false, false);
            let until = w
                .expires
                .as_deref()
                .map(|d| format!(" (until {})", Safe(d)))
                .unwrap_or_default();
            let _ = writeln!(o, "           waiver: {}{until}", Safe(&w.reason));
        }
    }
    let skipped: Vec<_> = r
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Skipped)
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(o, "\nnot scanned:");
        for f in skipped {
            let _ = writeln!(
                o,
                "  {} ({})",
                Safe(&f.path),
                Safe(f.reason.as_deref().unwrap_or("see findings"))
            );
        }
    }
    if let Some(a) = r
        .atlas
        .as_ref()
        .filter(|_| r.summary.verdict == Verdict::Pass)
    {
        // A passing run: one line (the evidence is in the JSON and SARIF reports).
        let assessed: Vec<String> = a
            .mitigations
            .iter()
            .filter(|m| m.status != Status::NotAssessed)
            .map(|m| format!("{} {}", Safe(&m.id), m.status.as_str()))
            .collect();
        let _ = writeln!(
            o,
            "\nMITRE ATLAS {}: {} (evidence: --format json)",
            Safe(&a.data_version),
            assessed.join(", ")
        );
    } else if let Some(a) = &r.atlas {
        let assessed: Vec<_> = a
            .mitigations
            .iter()
            .filter(|m| m.status != Status::NotAssessed)
            .collect();
        let _ = writeln!(
            o,
            "\nMITRE ATLAS {} mitigations this run assesses:",
            Safe(&a.data_version)
        );
        for m in &assessed {
            let _ = writeln!(
                o,
                "  {:<9} {} {}",
                m.status.as_str(),
                Safe(&m.id),
                Safe(&m.name)
            );
            let _ = writeln!(o, "            {}", Safe(&m.evidence));
        }
        let _ = writeln!(
            o,
            "  ({} more not assessed: outside what this run can evidence)",
            a.mitigations.len() - assessed.len()
        );
        if !a.techniques.is_empty() {
            let _ = writeln!(o, "\nMITRE ATLAS techniques the findings evidence:");
            for t in &a.techniques {
                let _ = writeln!(
                    o,
                    "  {:<14} {} ({} finding{}: {})",
                    Safe(&t.id),
                    Safe(&t.name),
                    t.findings,
                    if t.findings == 1 { "" } else { "s" },
                    t.codes.join(", ")
                );
            }
        }
    }
    let _ = writeln!(o, "\n  severity   findings");
    for s in Severity::ALL {
        let n = r.summary.findings.get(s);
        let mark = if s >= r.inputs.fail_on {
            "  (fails the gate)"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "  {}{n:>9}{mark}",
            paint(&format!("{:<9}", s.as_str()), s, color && n > 0)
        );
    }
    let failing = r.summary.findings.at_least(r.inputs.fail_on);
    match r.summary.verdict {
        Verdict::Pass => {
            let _ = writeln!(o, "\nPASS: no findings at or above {}", r.inputs.fail_on);
        }
        Verdict::Fail => {
            let _ = writeln!(
                o,
                "\nFAIL: {} at or above {} (`modelgate explain <code>` tells what each means)",
                crate::finding::plural(failing, "finding", "findings"),
                r.inputs.fail_on
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Code;

    #[test]
    fn hostile_names_cannot_drive_the_terminal() {
        let f = Finding {
            member: vec!["a\u{1b}[2Kb".into()],
            ..Finding::new(
                Code::PickleUnknownImport,
                "m/\u{202e}lmth.pkl",
                "imports os\u{1b}[1A.system\r\nPASS: no findings",
                crate::ev! {},
            )
        };
        let r = Report::new(vec!["m".into()], Severity::Error, Vec::new(), vec![f]);
        let text = render(&r, false);
        assert!(!text.contains(['\u{1b}', '\r', '\u{202e}']), "{text}");
        assert!(text.contains("imports os\\u{1b}[1A.system\\u{d}\\u{a}PASS: no findings"));
        assert!(text.contains("m/\\u{202e}lmth.pkl"));
        assert!(text.contains("!a\\u{1b}[2Kb"));
        assert!(!text.lines().any(|l| l.starts_with("PASS")), "{text}");
    }

    #[test]
    fn escaping_keeps_width_and_alignment() {
        assert_eq!(format!("[{:<6}]", Safe("ab")), "[ab    ]");
        assert_eq!(format!("[{:>8}]", Safe("a\u{1}")), "[  a\\u{1}]");
    }
}
