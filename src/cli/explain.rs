//! `modelgate explain`: a finding code, the list of codes, or the policy's profiles.

use super::{emit, Exit};
use crate::finding::{Code, CODES};
use crate::gate::Error;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A code such as pickle-dangerous-import, or `profiles` for the policy's framework
    /// profiles; omit to list every code
    code: Option<String>,
}

pub fn explain_text(code: Code) -> String {
    let i = code.info();
    let atlas = if i.atlas.is_empty() {
        String::new()
    } else {
        format!("\nMITRE ATLAS: {}\n", i.atlas.join(", "))
    };
    format!(
        "{} (default severity: {})\n\n{}\n\n{}\n{atlas}",
        i.name, i.severity, i.summary, i.explanation
    )
}

pub fn codes_table() -> String {
    let mut s = String::new();
    for c in CODES {
        s.push_str(&format!(
            "{:<30} {:<8} {}\n",
            c.name,
            c.severity.as_str(),
            c.summary
        ));
    }
    s
}

/// The README's table of codes (between `<!-- codes:start -->` and `<!-- codes:end -->`):
/// generated from the codes themselves, and checked by a test.
pub fn codes_markdown() -> String {
    let mut s = String::from("| code | severity | what it means |\n|---|---|---|\n");
    for c in CODES {
        s.push_str(&format!(
            "| `{}` | {} | {} |\n",
            c.name,
            c.severity.as_str(),
            c.summary.replace('|', "\\|")
        ));
    }
    s
}

fn profiles() -> String {
    let mut t = String::from("Framework profiles (policy: profiles = [\"NAME\", ...]). A profile accepts, in its\nmodules, pickle globals whose name starts with an upper-case letter (classes, enums);\nfunctions, dotted names and denylisted imports stay reported.\n\n");
    for p in crate::policy::PROFILES {
        t.push_str(&format!(
            "{:<13} {}\n{:<13} modules: {}\n",
            p.name,
            p.about,
            "",
            p.modules.join(", ")
        ));
    }
    t
}

/// Edit distance (insertions, deletions, substitutions), over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The code (or `profiles`) closest to a mistyped name: within a third of its length, or the
/// one code that contains what was typed.
fn closest(typed: &str) -> Option<&'static str> {
    let typed = typed.trim().to_ascii_lowercase().replace('_', "-");
    let names = CODES.iter().map(|c| c.name).chain(["profiles"]);
    let (best, d) = names
        .clone()
        .map(|n| (n, distance(&typed, n)))
        .min_by_key(|(_, d)| *d)?;
    if d <= (best.len() / 3).max(2) {
        return Some(best);
    }
    let mut containing = names.filter(|n| typed.len() >= 3 && n.contains(typed.as_str()));
    match (containing.next(), containing.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

pub fn run(a: Args) -> Exit {
    let text = match a.code.as_deref() {
        None => codes_table(),
        Some("profiles") => profiles(),
        Some(name) => explain_text(Code::from_name(name).ok_or_else(|| {
            let hint = match closest(name) {
                Some(c) => format!("did you mean '{c}'? "),
                None => String::new(),
            };
            Error::Usage(format!(
                "unknown code '{name}'; {hint}`modelgate explain` lists them"
            ))
        })?),
    };
    emit(&text)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn a_typo_gets_the_closest_code() {
        assert_eq!(
            closest("pickle-dangerous-imports"),
            Some("pickle-dangerous-import")
        );
        assert_eq!(
            closest("pickle_dangerous_import"),
            Some("pickle-dangerous-import")
        );
        assert_eq!(closest("hf-remote-cod"), Some("hf-remote-code"));
        assert_eq!(closest("lfs"), Some("lfs-pointer"));
        assert_eq!(closest("profile"), Some("profiles"));
        assert_eq!(closest("completely-unrelated-words-here"), None);
    }
}
