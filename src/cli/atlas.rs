//! `modelgate atlas`: the mitigations a run can evidence and the techniques codes map to.

use super::{emit, Exit};
use crate::finding::CODES;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// ATLAS data to use instead of the bundled extract (ATLAS.yaml of a release)
    #[arg(long, value_name = "FILE")]
    atlas_data: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = AtlasFormat::Text)]
    format: AtlasFormat,
}

/// What `atlas` writes: a table, not a report of a run (the report formats belong to scan,
/// verify, manifest verify and dataset diff).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AtlasFormat {
    /// The mitigations and techniques as text
    Text,
    /// The same as JSON
    Json,
}

pub fn run(a: Args) -> Exit {
    let (file, format) = (a.atlas_data.as_ref(), a.format);
    let atlas = super::scan::atlas_data(file)?;
    let mut techniques: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for c in CODES {
        for t in c.atlas {
            techniques.entry(t).or_default().push(c.name);
        }
    }
    let name = |id: &str| {
        atlas
            .mitigations
            .get(id)
            .map(|m| m.name.clone())
            .or_else(|| atlas.techniques.get(id).cloned())
            .unwrap_or_else(|| "(not in this ATLAS data)".into())
    };
    let body = if format == AtlasFormat::Json {
        let doc = serde_json::json!({
            "data_version": atlas.version,
            "attribution": crate::atlas::ATTRIBUTION,
            "mitigations": crate::atlas::EVIDENCED.iter().map(|(id, how)| serde_json::json!({"id": id, "name": name(id), "evidenced_by": how})).collect::<Vec<_>>(),
            "not_assessed": atlas.mitigations.keys().filter(|id| !crate::atlas::EVIDENCED.iter().any(|(e, _)| e == id)).map(|id| serde_json::json!({"id": id, "name": name(id)})).collect::<Vec<_>>(),
            "techniques": techniques.iter().map(|(id, codes)| serde_json::json!({"id": id, "name": name(id), "codes": codes})).collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    } else {
        let mut s = format!(
            "MITRE ATLAS data {} ({} mitigations, {} techniques known)\n{}\n\nMitigations a run can evidence (each report's atlas section gives their status):\n",
            atlas.version,
            atlas.mitigations.len(),
            atlas.techniques.len(),
            crate::atlas::ATTRIBUTION
        );
        for (id, how) in crate::atlas::EVIDENCED {
            s.push_str(&format!("  {id:<10} {}\n             {how}\n", name(id)));
        }
        s.push_str(&format!(
            "  ({} other mitigations, e.g. user training and access control, are outside a scanner's reach: not assessed)\n\nTechniques findings evidence:\n",
            atlas.mitigations.len().saturating_sub(crate::atlas::EVIDENCED.len())
        ));
        for (id, codes) in &techniques {
            s.push_str(&format!(
                "  {id:<14} {}\n                 {}\n",
                name(id),
                codes.join(", ")
            ));
        }
        s
    };
    emit(&body)?;
    Ok(0)
}
