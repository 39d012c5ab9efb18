//! `modelgate plan`: the files of the inputs grouped into models, for sharded scans.

use super::outputs::{canonical, check_destination};
use super::{emit, Exit};
use crate::gate::Error;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories to plan
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Where to write the plan [default: standard output]
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also show on standard error how N shards would share the plan
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    shards: Option<u64>,
}

pub fn run(a: Args) -> Exit {
    if let Some(o) = &a.output {
        check_destination(o, &canonical(&a.inputs), "-o ")
            .map_err(|e| Error::file("plan", o, e))?;
    }
    let (plan, _) = crate::plan::make(&a.inputs).map_err(Error::Usage)?;
    let bytes = plan.to_bytes();
    match &a.output {
        Some(o) => crate::output::write(o, &bytes, crate::output::Access::Public)
            .map_err(|e| Error::file("cannot write plan", o, e))?,
        None => emit(&String::from_utf8_lossy(&bytes))?,
    }
    complain!(
        "{} in {} ({} bytes){}{}",
        crate::finding::plural(plan.files, "file", "files"),
        crate::finding::plural(plan.models.len() as u64, "model", "models"),
        plan.bytes,
        if plan.notes.is_empty() {
            String::new()
        } else {
            format!(
                ", {}",
                crate::finding::plural(plan.notes.len() as u64, "walk note", "walk notes")
            )
        },
        a.output
            .as_ref()
            .map(|o| format!(" -> {}", o.display()))
            .unwrap_or_default()
    );
    if let Some(n) = a.shards {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        for (i, models, files, bytes) in crate::plan::loads(&plan, n) {
            complain!(
                "shard {i}/{n}: {}, {}, {bytes} bytes",
                crate::finding::plural(models as u64, "model", "models"),
                crate::finding::plural(files, "file", "files")
            );
        }
    }
    Ok(0)
}
