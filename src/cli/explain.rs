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

pub fn run(a: Args) -> Exit {
    let text = match a.code.as_deref() {
        None => codes_table(),
        Some("profiles") => profiles(),
        Some(name) => explain_text(Code::from_name(name).ok_or_else(|| {
            Error::Usage(format!(
                "unknown code '{name}'; `modelgate explain` lists them"
            ))
        })?),
    };
    emit(&text)?;
    Ok(0)
}
