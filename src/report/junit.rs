//! JUnit XML for CI dashboards: one test case per scanned file (class: its folder; time: the
//! seconds spent inspecting it); a file fails when it has
//! findings at or above the fail threshold, is skipped when it was not read. Findings on paths
//! that are not scanned files (a manifest, a signature) get a test case of their own. Findings
//! below the threshold and those a policy waived go to the case's `system-out`.

use super::{FileStatus, Report};
use std::collections::BTreeMap;
use std::fmt::Write;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters, even escaped.
            c if ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
                || matches!(c, '\u{FFFE}' | '\u{FFFF}') =>
            {
                o.push('\u{FFFD}')
            }
            c => o.push(c),
        }
    }
    o
}

pub fn render(r: &Report) -> String {
    let threshold = r.inputs.fail_on;
    let mut by_path: BTreeMap<&str, Vec<&crate::finding::Finding>> = BTreeMap::new();
    for f in &r.findings {
        by_path.entry(f.path.as_str()).or_default().push(f);
    }
    let mut waived_by_path: BTreeMap<&str, Vec<&super::Waived>> = BTreeMap::new();
    for w in &r.waived {
        waived_by_path
            .entry(w.finding.path.as_str())
            .or_default()
            .push(w);
    }
    let mut cases: Vec<(String, Option<FileStatus>, f64)> = r
        .files
        .iter()
        .map(|f| (f.path.clone(), Some(f.status), f.seconds.unwrap_or(0.0)))
        .collect();
    let files: std::collections::HashSet<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
    for p in by_path.keys() {
        if !files.contains(p) {
            cases.push((p.to_string(), None, 0.0));
        }
    }
    let total: f64 = cases.iter().map(|c| c.2).sum();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut failures, mut skipped) = (0, 0);
    let mut body = String::new();
    for (path, status, seconds) in &cases {
        let fs = by_path.get(path.as_str()).cloned().unwrap_or_default();
        let waived = waived_by_path
            .get(path.as_str())
            .cloned()
            .unwrap_or_default();
        let mut failing: Vec<_> = fs.iter().filter(|f| f.severity >= threshold).collect();
        // The most severe first: it names the failure.
        failing.sort_by_key(|f| std::cmp::Reverse(f.severity));
        // The class is the file's folder (CI dashboards group test cases by it).
        let class = match path.rsplit_once('/') {
            Some((dir, _)) if !dir.is_empty() => dir,
            _ => ".",
        };
        let _ = write!(
            body,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{seconds:.3}\"",
            esc(class),
            esc(path)
        );
        if fs.is_empty() && waived.is_empty() && status != &Some(FileStatus::Skipped) {
            body.push_str("/>\n");
            continue;
        }
        body.push_str(">\n");
        if !failing.is_empty() {
            failures += 1;
            let first = failing.first().map(|f| f.code.as_str()).unwrap_or("");
            let _ = write!(
                body,
                "      <failure type=\"{}\" message=\"{} finding(s) at or above {}\">",
                esc(first),
                failing.len(),
                threshold.as_str()
            );
            for f in &failing {
                let _ = writeln!(
                    body,
                    "{} {}: {} [{}]",
                    f.severity.as_str(),
                    f.code.as_str(),
                    esc(&f.message),
                    esc(&f.location())
                );
            }
            body.push_str("</failure>\n");
        } else if status == &Some(FileStatus::Skipped) {
            skipped += 1;
            body.push_str("      <skipped/>\n");
        }
        let below: Vec<_> = fs.iter().filter(|f| f.severity < threshold).collect();
        if !below.is_empty() || !waived.is_empty() {
            body.push_str("      <system-out>");
            for f in below {
                let _ = writeln!(
                    body,
                    "{} {}: {}",
                    f.severity.as_str(),
                    f.code.as_str(),
                    esc(&f.message)
                );
            }
            for w in waived {
                let f = &w.finding;
                let _ = writeln!(
                    body,
                    "waived {} {}: {} (waiver: {})",
                    f.severity.as_str(),
                    f.code.as_str(),
                    esc(&f.message),
                    esc(&w.reason)
                );
            }
            body.push_str("</system-out>\n");
        }
        body.push_str("    </testcase>\n");
    }
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"modelgate\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        cases.len()
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"modelgate {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        esc(&r.inputs.roots.join(", ")),
        cases.len()
    );
    // The run's context, as JUnit properties: the tool, the threshold, the ATLAS data version
    // and the status of each mitigation this run assessed.
    let mut props = vec![
        ("modelgate.version".to_string(), r.tool.version.clone()),
        (
            "modelgate.fail-on".to_string(),
            threshold.as_str().to_string(),
        ),
    ];
    if let Some(p) = &r.inputs.policy {
        props.push(("modelgate.policy".to_string(), p.path.clone()));
        props.push(("modelgate.policy-sha256".to_string(), p.sha256.clone()));
    }
    if let Some(a) = &r.atlas {
        props.push(("atlas.data-version".to_string(), a.data_version.clone()));
        for m in a
            .mitigations
            .iter()
            .filter(|m| m.status != crate::report::atlas::Status::NotAssessed)
        {
            props.push((
                format!("atlas.{}", m.id),
                format!("{}: {}", m.status.as_str(), m.evidence),
            ));
        }
    }
    o.push_str("    <properties>\n");
    for (name, value) in &props {
        let _ = writeln!(
            o,
            "      <property name=\"{}\" value=\"{}\"/>",
            esc(name),
            esc(value)
        );
    }
    o.push_str("    </properties>\n");
    o.push_str(&body);
    o.push_str("  </testsuite>\n</testsuites>\n");
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_that_xml_cannot_carry_is_replaced() {
        assert_eq!(
            super::esc("a<\u{1}&\u{FFFF}'\"\tb\n"),
            "a&lt;\u{FFFD}&amp;\u{FFFD}&apos;&quot;\tb\n"
        );
    }
}
