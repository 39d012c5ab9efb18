//! modelgate: guards the ML supply chain. Finds code hidden in model files without loading them.
//!
//! Data flow: [`walk`] → [`identify`] → [`inspect`] (one inspector per [`identify::Format`])
//! → [`finding::Finding`]s → [`report::Report`] → text / JSON, and an exit code.

pub mod atlas;
pub mod cli;
pub mod dataset;
pub mod digest;
pub mod finding;
pub mod gate;
pub mod identify;
pub mod input;
pub mod inspect;
pub mod loaders;
pub mod manifest;
pub mod output;
pub mod plan;
pub mod policy;
#[cfg(feature = "remote")]
pub mod remote;
/// Built without the `remote` feature: remote URLs are refused with a clear message.
#[cfg(not(feature = "remote"))]
#[path = "remote_off.rs"]
pub mod remote;
pub mod report;
pub mod scan;
pub mod signature;
pub mod walk;

pub use finding::{Code, Finding, Severity};
pub use report::Report;
pub use scan::{scan, scan_file, ScanOptions};
