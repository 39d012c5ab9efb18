//! Walk the roots. Every regular file is considered; symlinks are followed only while they stay
//! inside the root; loops, special files and odd names are reported, never skipped silently.

use crate::ev;
use crate::finding::{Code, Finding};
use crate::inspect::Evidence;
use std::collections::HashSet;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// A regular file to inspect.
#[derive(Debug, Clone)]
pub struct FileTask {
    /// How the file is shown: the root as given, joined with the path below it.
    pub display: String,
    /// The path to open.
    pub fs_path: PathBuf,
    /// The file name, for the extension check.
    pub name: String,
    /// (device, inode): the same file reached twice is read once.
    pub key: (u64, u64),
    /// The size the walk saw (the file may change before it is read).
    pub size: u64,
    /// A remote file (read by ranged requests) instead of `fs_path`.
    pub remote: Option<std::sync::Arc<crate::remote::RemoteFile>>,
}

/// Something the walk must report about a path it did not (fully) scan.
#[derive(Debug, Clone)]
pub struct WalkNote {
    pub display: String,
    pub code: Code,
    pub message: String,
    pub evidence: Evidence,
    /// The path was not scanned at all (link outside the root, special file, ...).
    pub skipped: bool,
}

#[derive(Debug, Default)]
pub struct Walked {
    pub tasks: Vec<FileTask>,
    pub notes: Vec<WalkNote>,
    /// What each remote root was resolved to.
    pub resolved: Vec<crate::remote::Resolved>,
}

impl WalkNote {
    pub fn finding(&self) -> Finding {
        Finding::new(
            self.code,
            self.display.clone(),
            self.message.clone(),
            self.evidence.clone(),
        )
    }
}

/// Walk every root. A root that does not exist is an error of the run (exit 2).
pub fn walk(roots: &[PathBuf]) -> Result<Walked, String> {
    let mut w = Walked::default();
    for root in roots {
        let shown = root.to_string_lossy();
        if crate::remote::is_remote(&shown) {
            walk_remote(&shown, &mut w)?;
            continue;
        }
        let meta = fs::metadata(root).map_err(|e| format!("{}: {e}", root.display()))?;
        let canon = fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
        let display = root.to_string_lossy().trim_end_matches('/').to_string();
        let display = if display.is_empty() {
            "/".to_string()
        } else {
            display
        };
        if meta.is_dir() {
            let mut visited = HashSet::new();
            visited.insert((meta.dev(), meta.ino()));
            walk_dir(&canon, root, &display, &mut visited, &mut w);
        } else if meta.is_file() {
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            w.tasks.push(FileTask {
                display,
                fs_path: root.clone(),
                name,
                key: (meta.dev(), meta.ino()),
                size: meta.len(),
                remote: None,
            });
        } else {
            return Err(format!(
                "{}: not a regular file or directory",
                root.display()
            ));
        }
    }
    Ok(w)
}

/// A remote root's listing as tasks: each file shown as the root joined with its path below it,
/// named by its last path segment.
fn walk_remote(root: &str, w: &mut Walked) -> Result<(), String> {
    let listing = crate::remote::list(root)?;
    let root = listing.resolved.display.clone();
    for (rel, file) in listing.files {
        let display = if rel.is_empty() {
            root.to_string()
        } else {
            format!("{root}/{rel}")
        };
        let name = file.key.rsplit('/').next().unwrap_or_default().to_string();
        let n = w.tasks.len() as u64;
        w.tasks.push(FileTask {
            fs_path: PathBuf::from(&display),
            display,
            name,
            // Never the key of a local file (devices are never u64::MAX).
            key: (u64::MAX, n),
            size: file.size,
            remote: Some(file),
        });
    }
    w.resolved.push(listing.resolved);
    Ok(())
}

fn note(
    w: &mut Walked,
    display: &str,
    code: Code,
    message: String,
    evidence: Evidence,
    skipped: bool,
) {
    w.notes.push(WalkNote {
        display: display.to_string(),
        code,
        message,
        evidence,
        skipped,
    });
}

fn walk_dir(
    root: &Path,
    dir: &Path,
    display: &str,
    visited: &mut HashSet<(u64, u64)>,
    w: &mut Walked,
) {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            note(
                w,
                display,
                Code::ReadError,
                format!("directory cannot be read: {e}"),
                ev! {},
                true,
            );
            return;
        }
    };
    let mut entries: Vec<fs::DirEntry> = Vec::new();
    for e in rd {
        match e {
            Ok(e) => entries.push(e),
            Err(e) => note(
                w,
                display,
                Code::ReadError,
                format!("directory entry cannot be read: {e}"),
                ev! {},
                true,
            ),
        }
    }
    entries.sort_by(|a, b| a.file_name().as_bytes().cmp(b.file_name().as_bytes()));
    for entry in entries {
        let os_name = entry.file_name();
        let name = escaped_name(os_name.as_bytes());
        let shown = format!("{display}/{name}");
        if std::str::from_utf8(os_name.as_bytes()).is_err() {
            let hex: String = os_name
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            note(
                w,
                &shown,
                Code::NonUtf8Path,
                format!(
                    "file name is not valid UTF-8; its other bytes are shown as \\xNN (in a shell: {})",
                    shell_quoted(os_name.as_bytes())
                ),
                ev! {"name_hex" => hex},
                false,
            );
        }
        let path = entry.path();
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                note(
                    w,
                    &shown,
                    Code::ReadError,
                    format!("cannot stat: {e}"),
                    ev! {},
                    true,
                );
                continue;
            }
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target_text = fs::read_link(&path)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            let target = match fs::canonicalize(&path) {
                Ok(t) => t,
                Err(e) => {
                    let what = if e.raw_os_error() == Some(40) {
                        "is part of a loop"
                    } else {
                        "is dangling"
                    };
                    note(
                        w,
                        &shown,
                        Code::SymlinkBroken,
                        format!("symbolic link to '{target_text}' {what}"),
                        ev! {"target" => target_text},
                        true,
                    );
                    continue;
                }
            };
            let into_blobs = hf_blobs(root).is_some_and(|b| target.starts_with(b));
            if !target.starts_with(root) && !into_blobs {
                note(
                    w,
                    &shown,
                    Code::SymlinkOutsideRoot,
                    format!(
                        "symbolic link points outside the scanned root, to '{}'; not followed",
                        target.display()
                    ),
                    ev! {"target" => target.to_string_lossy()},
                    true,
                );
                continue;
            }
            match fs::metadata(&target) {
                Ok(m) if m.is_dir() => {
                    let key = (m.dev(), m.ino());
                    if dir_canon(dir).starts_with(&target) {
                        // The link leads back up the path being walked.
                        note(
                            w,
                            &shown,
                            Code::SymlinkBroken,
                            format!("symbolic link to '{target_text}' is part of a loop"),
                            ev! {"target" => target_text},
                            true,
                        );
                        continue;
                    }
                    // A directory reached again through another link (links can form a DAG
                    // whose paths are exponential in number) was walked once already: its
                    // files are in the scan under their first path.
                    if !visited.insert(key) {
                        continue;
                    }
                    walk_dir(root, &path, &shown, visited, w);
                }
                Ok(m) if m.is_file() => w.tasks.push(FileTask {
                    display: shown,
                    fs_path: path,
                    name,
                    key: (m.dev(), m.ino()),
                    size: m.len(),
                    remote: None,
                }),
                Ok(m) => special(w, &shown, &m.file_type()),
                Err(e) => note(
                    w,
                    &shown,
                    Code::ReadError,
                    format!("cannot stat link target: {e}"),
                    ev! {},
                    true,
                ),
            }
        } else if ft.is_dir() {
            if visited.insert((meta.dev(), meta.ino())) {
                walk_dir(root, &path, &shown, visited, w);
            }
        } else if ft.is_file() {
            w.tasks.push(FileTask {
                display: shown,
                fs_path: path,
                name,
                key: (meta.dev(), meta.ino()),
                size: meta.len(),
                remote: None,
            });
        } else {
            special(w, &shown, &ft);
        }
    }
}

/// When `root` is (inside) a revision of a Hugging Face cache repository
/// (`models--org--name/snapshots/<rev>`, or `datasets--`/`spaces--`), that repository's
/// `blobs/` folder, where the snapshot's links point: followed, and nothing further.
fn hf_blobs(root: &Path) -> Option<PathBuf> {
    let mut cur = root;
    while let Some(parent) = cur.parent() {
        if cur.file_name().is_some_and(|n| n == "snapshots") {
            let repo = parent.file_name()?.to_str()?;
            if ["models--", "datasets--", "spaces--"]
                .iter()
                .any(|p| repo.starts_with(p))
            {
                let blobs = parent.join("blobs");
                return blobs.is_dir().then_some(blobs);
            }
            return None;
        }
        cur = parent;
    }
    None
}

/// The canonical form of a directory being walked (for loop detection), or the path itself.
fn dir_canon(dir: &Path) -> PathBuf {
    fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

fn special(w: &mut Walked, shown: &str, ft: &fs::FileType) {
    let kind = if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    };
    note(
        w,
        shown,
        Code::SpecialFile,
        format!("{kind}: not a regular file; not read"),
        ev! {"kind" => kind},
        true,
    );
}

/// A file name for reports: UTF-8 as it is, each byte of an invalid sequence as `\xNN` (never
/// U+FFFD, which would make two names look alike and cannot be typed back).
pub fn escaped_name(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A name as a POSIX shell reads it back, byte for byte: `$'...'` with every byte outside
/// printable ASCII (and `'`, `\\`) escaped.
pub fn shell_quoted(bytes: &[u8]) -> String {
    let mut out = String::from("$'");
    for &b in bytes {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}
