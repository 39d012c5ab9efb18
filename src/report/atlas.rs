//! The `atlas` section a report carries: the data types only. What a run evidenced is decided
//! by [`crate::atlas::section`]; the report just holds and renders it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Met,
    Partial,
    NotMet,
    NotAssessed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Partial => "partial",
            Status::NotMet => "not met",
            Status::NotAssessed => "not assessed",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct MitigationStatus {
    pub id: String,
    pub name: String,
    pub status: Status,
    /// What this run saw that supports the status.
    pub evidence: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TechniqueHits {
    pub id: String,
    pub name: String,
    /// Findings in this run that evidence the technique.
    pub findings: u64,
    /// Their codes (each code's techniques are fixed: `modelgate explain CODE` lists them).
    pub codes: Vec<String>,
}

/// The `atlas` section of a report.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Section {
    pub data_version: String,
    pub attribution: String,
    /// Every mitigation in the data: those a run can evidence first.
    pub mitigations: Vec<MitigationStatus>,
    /// Techniques evidenced by this run's findings.
    pub techniques: Vec<TechniqueHits>,
}
