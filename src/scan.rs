//! A scan: walk the roots, inspect every file in parallel, assemble the report.

use crate::digest::{hex, HashAlg, Hasher};
use crate::ev;
use crate::finding::{Code, Finding, Severity};
use crate::input::Input;
use crate::inspect::{inspect, Cx, Limits};
use crate::report::{FileEntry, FileStatus, Report};
use crate::walk::{walk, FileTask, Walked};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub fail_on: Severity,
    pub limits: Limits,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Digests to compute over every file's bytes.
    pub digests: Vec<HashAlg>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            fail_on: Severity::Error,
            limits: Limits::default(),
            progress: false,
            digests: Vec::new(),
        }
    }
}

/// The result of inspecting one file.
pub struct FileResult {
    pub entry: FileEntry,
    pub findings: Vec<Finding>,
}

/// Inspect one file from disk. Never panics: an inspector panic becomes a finding.
pub fn scan_file(task: &FileTask, limits: &Limits) -> FileResult {
    scan_file_with(task, limits, &[])
}

/// Files up to this size are read into memory once, hashed and inspected from the same bytes.
const READ_ONCE: u64 = 64 << 20;

/// Algorithm name → hex digest, and the bytes when they were kept.
type Hashed = (BTreeMap<String, String>, Option<Vec<u8>>);

/// Hash `file` with every algorithm: the whole content when it is small enough to keep (then
/// returned, so that inspection uses exactly the hashed bytes), else streamed.
fn hash_content(
    file: &mut dyn crate::input::ReadSeek,
    len: u64,
    algs: &[HashAlg],
) -> std::io::Result<Hashed> {
    let mut hashers: Vec<Hasher> = algs.iter().map(|a| Hasher::new(*a)).collect();
    let mut kept = None;
    if len <= READ_ONCE {
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut buf)?;
        for h in &mut hashers {
            h.update(&buf);
        }
        kept = Some(buf);
    } else {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            for h in &mut hashers {
                h.update(buf.get(..n).unwrap_or_default());
            }
        }
        file.rewind()?;
    }
    let digests = algs
        .iter()
        .zip(hashers)
        .map(|(a, h)| (a.name().to_string(), hex(&h.finish())))
        .collect();
    Ok((digests, kept))
}

/// A file opened for scanning: local, or remote (ranged reads, or a verified cached copy).
struct Opened {
    reader: Box<dyn crate::input::ReadSeek + Send>,
    len: u64,
    /// The local file, for the changed-while-scanned check.
    local: Option<File>,
    remote: Option<crate::remote::Opened>,
    note: Option<String>,
}

impl Opened {
    /// Size and modification time of a local file.
    fn local_stamp(&self) -> Option<(u64, Option<std::time::SystemTime>)> {
        let m = self.local.as_ref()?.metadata().ok()?;
        Some((m.len(), m.modified().ok()))
    }

    fn remote_read(&self) -> Option<crate::report::RemoteRead> {
        let r = self.remote.as_ref()?;
        let (requests, bytes_fetched) = r.stats.get();
        Some(crate::report::RemoteRead {
            requests,
            bytes_fetched,
            cached_copy: r
                .from_cache
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        })
    }
}

fn open_task(task: &FileTask) -> std::io::Result<Opened> {
    if let Some(rf) = &task.remote {
        let mut o = rf.open()?;
        let reader = std::mem::replace(&mut o.reader, Box::new(std::io::Cursor::new(Vec::new())));
        let note = o.note.take();
        return Ok(Opened {
            reader,
            len: o.len,
            local: None,
            remote: Some(o),
            note,
        });
    }
    let f = File::open(&task.fs_path)?;
    let len = f.metadata()?.len();
    let stamp = f.try_clone()?;
    Ok(Opened {
        reader: Box::new(f),
        len,
        local: Some(stamp),
        remote: None,
        note: None,
    })
}

/// Inspect one file, computing `digests` over the same bytes.
pub fn scan_file_with(task: &FileTask, limits: &Limits, digests: &[HashAlg]) -> FileResult {
    let mut cx = Cx::new(limits, task.display.clone());
    let mut entry = FileEntry {
        path: task.display.clone(),
        size: None,
        format: None,
        status: FileStatus::Scanned,
        reason: None,
        digests: BTreeMap::new(),
        same_as: None,
        verdict: crate::report::Verdict::Pass,
        seconds: None,
        remote: None,
    };
    let started = std::time::Instant::now();
    match open_task(task) {
        Err(e) => {
            cx.report(Code::ReadError, None, format!("cannot open: {e}"), ev! {});
            entry.status = FileStatus::Error;
            entry.reason = Some(e.to_string());
        }
        Ok(mut src) => {
            let len = src.len;
            entry.size = Some(len);
            if let Some(note) = src.note.take() {
                cx.report(Code::CachedCopyDiffers, None, note, ev! {});
            }
            let name = task.name.clone();
            let before = src.local_stamp();
            let seconds = limits.max_seconds_per_file;
            let r = crate::input::with_deadline(seconds, || {
                catch_unwind(AssertUnwindSafe(|| {
                    let kept = if digests.is_empty() {
                        None
                    } else {
                        let (d, kept) = hash_content(&mut *src.reader, len, digests)?;
                        entry.digests = d;
                        kept
                    };
                    let id = match kept {
                        Some(bytes) => {
                            let n = bytes.len() as u64;
                            let mut c = std::io::Cursor::new(bytes);
                            let mut input = Input::seekable(&mut c, n)?;
                            inspect(&mut input, &mut cx, Some(&name))
                        }
                        None => {
                            let mut input = Input::seekable(&mut *src.reader, len)?;
                            inspect(&mut input, &mut cx, Some(&name))
                        }
                    };
                    Ok::<_, std::io::Error>(id)
                }))
            });
            // Hashed and inspected in two reads (large files): they must be the same bytes.
            // (Remote reads are conditional on the listed version: a change is a read error.)
            let after = src.local_stamp();
            if !digests.is_empty() && len > READ_ONCE && before.is_some() && after != before {
                cx.report(
                    Code::ReadError,
                    None,
                    "the file changed while it was scanned",
                    ev! {},
                );
            }
            entry.remote = src.remote_read();
            match r {
                Ok(Ok(id)) => entry.format = Some(id.label.to_string()),
                Ok(Err(e)) => {
                    cx.report(Code::ReadError, None, format!("cannot read: {e}"), ev! {});
                    entry.status = FileStatus::Error;
                    entry.reason = Some(e.to_string());
                }
                Err(p) => {
                    let msg = p
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    cx.member.clear();
                    cx.depth = 0;
                    cx.report(
                        Code::InspectorPanic,
                        None,
                        format!("inspector failed: {msg}"),
                        ev! {"panic" => msg},
                    );
                    entry.status = FileStatus::Error;
                    entry.reason = Some("inspector failed".into());
                }
            }
        }
    }
    if entry.status == FileStatus::Scanned
        && cx
            .findings
            .iter()
            .any(|f| f.code == Code::ReadError && f.member.is_empty())
    {
        entry.status = FileStatus::Error;
        entry.reason = Some("read error".into());
    }
    entry.seconds = Some(started.elapsed().as_secs_f64());
    FileResult {
        entry,
        findings: cx.findings,
    }
}

/// Scan `roots`. `Err` only when the run cannot happen (a root is missing): exit 2.
pub fn scan(roots: &[PathBuf], opts: &ScanOptions) -> Result<Report, String> {
    let walked = walk(roots)?;
    Ok(scan_walked(roots, &walked, opts))
}

/// Scan what a walk of `roots` found (all of it, or the part a shard owns).
pub fn scan_walked(roots: &[PathBuf], walked: &Walked, opts: &ScanOptions) -> Report {
    // The same file reached through several paths (the Hugging Face cache links snapshots to
    // blobs) is read once; its findings are reported under every path.
    let mut first: HashMap<(u64, u64), usize> = HashMap::new();
    let mut unique: Vec<usize> = Vec::new();
    for (i, t) in walked.tasks.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(v) = first.entry(t.key) {
            v.insert(i);
            unique.push(i);
        }
    }
    let bar = progress_bar(opts.progress, unique.len() as u64);
    let results: HashMap<usize, FileResult> = unique
        .par_iter()
        .map(|&i| {
            let r = scan_file_with(&walked.tasks[i], &opts.limits, &opts.digests);
            if let Some(b) = &bar {
                b.inc(1);
            }
            (i, r)
        })
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }

    let mut files = Vec::new();
    let mut findings = Vec::new();
    for note in &walked.notes {
        findings.push(note.finding());
        if note.skipped {
            files.push(FileEntry {
                path: note.display.clone(),
                size: None,
                format: None,
                status: FileStatus::Skipped,
                reason: Some(note.code.to_string()),
                digests: BTreeMap::new(),
                same_as: None,
                verdict: crate::report::Verdict::Pass,
                seconds: None,
                remote: None,
            });
        }
    }
    for (i, t) in walked.tasks.iter().enumerate() {
        let owner = first.get(&t.key).copied().unwrap_or(i);
        let Some(r) = results.get(&owner) else {
            continue;
        };
        let mut entry = r.entry.clone();
        if owner != i {
            entry.path = t.display.clone();
            entry.same_as = Some(walked.tasks[owner].display.clone());
        }
        for f in &r.findings {
            let mut f = f.clone();
            f.path = t.display.clone();
            findings.push(f);
        }
        files.push(entry);
    }
    let roots = roots
        .iter()
        .map(|r| r.to_string_lossy().into_owned())
        .collect();
    let mut report = Report::new(roots, opts.fail_on, files, findings);
    report.inputs.resolved = walked.resolved.clone();
    report
}

fn progress_bar(wanted: bool, n: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || n < 20 || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new(n);
    b.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} scanning {pos}/{len} files [{bar:30}] {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(b)
}
