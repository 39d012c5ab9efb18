//! The loader inventory: `docs/loaders.md`'s table and `modelgate::loaders::LOADERS` hold the
//! same rows; every row has a reader (a real function), a fail-closed code (error or above),
//! or is an explicit gap listed under Gaps.

use modelgate::loaders::{Loader, Reader, LOADERS};
use modelgate::Severity;
use std::path::Path;

const HEADER: &str =
    "| Library | Entry point | Reads | Resolves names | Runs code | Reader | Gap |";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cells(l: &Loader) -> Vec<String> {
    vec![
        l.library.to_string(),
        l.entry_point.to_string(),
        l.reads.to_string(),
        l.resolves.to_string(),
        if l.runs_code { "yes" } else { "no" }.to_string(),
        format!("`{}`", l.reader.label()),
        l.gap.to_string(),
    ]
}

/// The table as `docs/loaders.md` should hold it.
fn table() -> String {
    let mut t = format!("{HEADER}\n|---|---|---|---|---|---|---|\n");
    for l in LOADERS {
        t.push_str(&format!("| {} |\n", cells(l).join(" | ")));
    }
    t
}

/// The rows of the doc's table (the lines after the header, up to the first non-table line).
fn doc_rows(doc: &str) -> Vec<Vec<String>> {
    let mut lines = doc.lines().skip_while(|l| l.trim() != HEADER);
    assert!(
        lines.next().is_some(),
        "docs/loaders.md has no table headed {HEADER}"
    );
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let inner = l.trim().trim_start_matches('|').trim_end_matches('|');
            inner.split(" | ").map(|c| c.trim().to_string()).collect()
        })
        .collect()
}

#[test]
fn doc_and_code_tables_agree() {
    let doc = std::fs::read_to_string(root().join("docs/loaders.md")).expect("docs/loaders.md");
    let rows = doc_rows(&doc);
    let expected: Vec<Vec<String>> = LOADERS.iter().map(cells).collect();
    assert!(
        rows == expected,
        "docs/loaders.md's table differs from src/loaders.rs; the table should read:\n\n{}",
        table()
    );
    // Every gap row (and every row with a gap note) is named under "## Gaps".
    let gaps = doc
        .split("\n## Gaps")
        .nth(1)
        .expect("docs/loaders.md has a '## Gaps' section");
    let gaps = gaps.split_whitespace().collect::<Vec<_>>().join(" ");
    for l in LOADERS.iter().filter(|l| !l.gap.is_empty()) {
        assert!(
            gaps.contains(l.entry_point),
            "the Gaps section does not name {}",
            l.entry_point
        );
    }
}

#[test]
fn every_row_has_a_reader_a_fail_closed_code_or_is_a_gap() {
    let (mut readers, mut closed, mut gaps, mut notes) = (0, 0, 0, 0);
    for l in LOADERS {
        for c in cells(l) {
            assert!(!c.contains('|'), "a cell holds '|': {c}");
        }
        assert!(!l.library.is_empty() && !l.entry_point.is_empty() && !l.reads.is_empty());
        match l.reader {
            Reader::Gap => {
                assert!(
                    !l.gap.is_empty(),
                    "{}: a gap says what is missed",
                    l.entry_point
                );
                gaps += 1;
            }
            Reader::FailClosed(code) => {
                assert!(
                    code.default_severity() >= Severity::Error,
                    "{}: {code} does not fail closed",
                    l.entry_point
                );
                closed += 1;
            }
            r => {
                let (file, func) = r.source().expect("a reader names its source");
                let src = std::fs::read_to_string(root().join(file)).expect(file);
                assert!(
                    src.contains(&format!("fn {func}(")) || src.contains(&format!("fn {func}<")),
                    "{}: {file} has no fn {func}",
                    l.entry_point
                );
                readers += 1;
            }
        }
        if !l.gap.is_empty() && l.reader != Reader::Gap {
            notes += 1;
        }
    }
    let mut keys: Vec<(&str, &str)> = LOADERS.iter().map(|l| (l.library, l.entry_point)).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), LOADERS.len(), "a row is listed twice");
    println!(
        "loader inventory: {} rows: {readers} with a reader, {closed} fail-closed, {gaps} gaps; {notes} covered rows with a partial gap",
        LOADERS.len()
    );
}

/// Prints the table for docs/loaders.md (`cargo test --test loaders -- --ignored --nocapture`).
#[test]
#[ignore]
fn print_table() {
    print!("{}", table());
}
