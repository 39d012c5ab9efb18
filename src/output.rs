//! Writing what modelgate produces (reports, policy suggestions, signatures, manifests, dataset
//! manifests, BOMs, keys) without ever replacing what is not a regular file. Every output of
//! every command goes through [`OutputFile`] (or [`write`], its one-shot form).
//!
//! - **A regular file, or a name that does not exist yet**: written to a temporary file in the
//!   same directory and renamed over it when complete, so a failed run (a full disk) leaves no
//!   half report for a later step to upload.
//! - **A symbolic link**: the same, at the file the chain of links ends at; the link stays a
//!   link. A dangling link creates the file it names, as the shell's `>` does.
//! - **A device, FIFO or socket**: written straight through (opened for writing, never created,
//!   truncated, replaced or renamed over): `-o /dev/null` leaves `/dev/null` a device.
//! - **The standard streams** (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, any link through
//!   `/proc`): written straight through to the open file, appended when it is a regular file
//!   (`-o /dev/stdout >> log` keeps what the log held).
//! - **A FIFO** is opened without blocking: a FIFO no process reads would otherwise hang the
//!   run for ever after the work is done. modelgate waits up to [`fifo_wait`] (10 s, or
//!   `MODELGATE_FIFO_WAIT` seconds) for a reader to open it, then fails with an error that
//!   says so (exit 2). A reader that goes away early is treated as a closed standard output
//!   (`| head`): not an error.
//!
//! Modes: published artefacts (reports, signatures, manifests, BOMs, public keys) are created
//! with 0666 less the umask, as any other tool's output; private keys with 0600.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Who may read what is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Meant to be published: 0666 less the umask.
    Public,
    /// A private key: 0600.
    Private,
}

impl Access {
    fn mode(self) -> u32 {
        match self {
            Access::Public => 0o666,
            Access::Private => 0o600,
        }
    }
}

/// How long a FIFO with no reader is waited for: `MODELGATE_FIFO_WAIT` seconds, else 10.
pub fn fifo_wait() -> Duration {
    let secs = std::env::var("MODELGATE_FIFO_WAIT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(10.0);
    Duration::from_secs_f64(secs.min(86_400.0))
}

/// An output being written; nothing is visible under its name before [`OutputFile::commit`]
/// when it goes to a regular file.
pub struct OutputFile {
    kind: Kind,
}

enum Kind {
    /// A temporary file beside `target`, renamed over it on commit.
    Temp {
        file: tempfile::NamedTempFile,
        target: PathBuf,
    },
    /// A device, FIFO or open stream, written as it comes. `closed`: the reader went away.
    Through { file: File, closed: bool },
}

/// Where a chain of symbolic links ends, without normalizing (the kernel resolves `..` after
/// a link as it would), and whether it passes through `/proc` or `/dev/fd` (open file
/// descriptors: never resolved further, never renamed over).
fn resolve(dest: &Path) -> io::Result<(PathBuf, bool)> {
    let stream = |p: &Path| p.starts_with("/proc") || p.starts_with("/dev/fd");
    let mut p = dest.to_path_buf();
    if stream(&p) {
        return Ok((p, true));
    }
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let t = fs::read_link(&p)?;
                let next = if t.is_absolute() {
                    t
                } else {
                    p.parent().unwrap_or(Path::new(".")).join(t)
                };
                if stream(&next) {
                    // `/dev/stdout -> /proc/self/fd/1`: the link names an open file.
                    return Ok((p, true));
                }
                p = next;
            }
            _ => return Ok((p, false)),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

impl OutputFile {
    /// Start writing `dest` (see the module's rules).
    pub fn create(dest: &Path, access: Access) -> io::Result<OutputFile> {
        let (target, stream) = resolve(dest)?;
        match fs::metadata(&target) {
            Ok(m) if m.is_dir() => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            )),
            Ok(m) if stream || !m.is_file() => Ok(OutputFile {
                kind: Kind::Through {
                    file: open_through(&target, &m, stream)?,
                    closed: false,
                },
            }),
            Ok(_) => Self::temp(target, access),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !stream => Self::temp(target, access),
            Err(e) => Err(e),
        }
    }

    fn temp(target: PathBuf, access: Access) -> io::Result<OutputFile> {
        use std::os::unix::fs::PermissionsExt;
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file = tempfile::Builder::new()
            .prefix(".modelgate-")
            .permissions(fs::Permissions::from_mode(access.mode()))
            .tempfile_in(dir)?;
        Ok(OutputFile {
            kind: Kind::Temp { file, target },
        })
    }

    /// Whether this output goes straight to a device, FIFO or stream.
    pub fn is_through(&self) -> bool {
        matches!(self.kind, Kind::Through { .. })
    }

    /// Finish: a temporary file is synced and renamed over its target; a stream is flushed.
    pub fn commit(self) -> io::Result<()> {
        match self.kind {
            Kind::Temp { file, target } => {
                file.as_file().sync_all()?;
                file.persist(&target).map_err(|e| e.error)?;
                Ok(())
            }
            Kind::Through { mut file, closed } => match file.flush() {
                Err(e) if !closed && e.kind() != io::ErrorKind::BrokenPipe => Err(e),
                _ => Ok(()),
            },
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Temp { file, .. } => file.write(buf),
            Kind::Through { closed: true, .. } => Ok(buf.len()),
            Kind::Through { file, closed } => match file.write(buf) {
                // The reader went away, as `| head` does: the rest is dropped, not an error.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    *closed = true;
                    Ok(buf.len())
                }
                r => r,
            },
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.kind {
            Kind::Temp { file, .. } => file.flush(),
            Kind::Through { closed: true, .. } => Ok(()),
            Kind::Through { file, .. } => file.flush(),
        }
    }
}

/// Open what is not a regular file (or an open stream) for writing, as it is.
fn open_through(target: &Path, meta: &fs::Metadata, stream: bool) -> io::Result<File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let ft = meta.file_type();
    if ft.is_socket() {
        return Err(io::Error::other(
            "is a socket: modelgate writes files, devices and FIFOs",
        ));
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true);
    if stream && meta.is_file() {
        opts.append(true);
    }
    if !ft.is_fifo() {
        return opts.open(target);
    }
    // A FIFO: open without blocking (ENXIO while no process reads it), wait for a reader a
    // bounded time, then write blocking as any pipe is written.
    opts.custom_flags(libc::O_NONBLOCK);
    let wait = fifo_wait();
    let start = Instant::now();
    let file = loop {
        match opts.open(target) {
            Ok(f) => break f,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if start.elapsed() >= wait {
                    return Err(io::Error::other(format!(
                        "is a FIFO that no process opened for reading within {:.0} s (start the reader first, or set MODELGATE_FIFO_WAIT)",
                        wait.as_secs_f64()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    };
    set_blocking(&file)?;
    Ok(file)
}

/// Clear `O_NONBLOCK` on an open file.
fn set_blocking(file: &File) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a file descriptor this function's caller owns and keeps open; F_GETFL
    // and F_SETFL read and set its status flags only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Write `bytes` to `dest` in one go (see the module's rules).
pub fn write(dest: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    let mut out = OutputFile::create(dest, access)?;
    out.write_all(bytes)?;
    out.commit()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    fn umask() -> u32 {
        // The umask as /proc reports it (reading it with umask(2) would change it).
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    }

    #[test]
    fn regular_files_are_replaced_whole_with_the_umask() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.json");
        write(&p, b"one", Access::Public).unwrap();
        write(&p, b"two", Access::Public).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask());
        let k = d.path().join("k.key");
        write(&k, b"secret", Access::Private).unwrap();
        assert_eq!(
            fs::metadata(&k).unwrap().permissions().mode() & 0o077,
            0,
            "a private key is readable by others"
        );
        // Nothing left behind.
        let left: Vec<_> = fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(left.len(), 2);
    }

    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_updated() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("real")).unwrap();
        let target = d.path().join("real/r.txt");
        fs::write(&target, b"old").unwrap();
        let link = d.path().join("link.txt");
        std::os::unix::fs::symlink("real/r.txt", &link).unwrap();
        // A link to a link.
        let link2 = d.path().join("link2.txt");
        std::os::unix::fs::symlink(&link, &link2).unwrap();
        write(&link2, b"new", Access::Public).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(&link2)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
        // A dangling link creates what it names.
        let dangling = d.path().join("dangling");
        std::os::unix::fs::symlink("real/new.txt", &dangling).unwrap();
        write(&dangling, b"made", Access::Public).unwrap();
        assert!(fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(d.path().join("real/new.txt")).unwrap(), b"made");
    }

    #[test]
    fn a_fifo_is_written_through_to_its_reader_and_never_waited_on_for_ever() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("f");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(&fifo).unwrap())
        };
        let big = vec![b'x'; 1 << 20];
        write(&fifo, &big, Access::Public).unwrap();
        assert_eq!(reader.join().unwrap(), big);
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        // No reader: an error after the wait, not a hang.
        std::env::set_var("MODELGATE_FIFO_WAIT", "0.2");
        let e = write(&fifo, b"x", Access::Public).unwrap_err();
        assert!(e.to_string().contains("no process opened"), "{e}");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn a_device_is_written_through() {
        let d = tempfile::tempdir().unwrap();
        let dev = d.path().join("null");
        let c = std::ffi::CString::new(dev.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path; the node is /dev/null's (1, 3), in a temp directory.
        let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
        if made != 0 {
            eprintln!(
                "skipped: cannot make a device node ({}); needs root",
                io::Error::last_os_error()
            );
            return;
        }
        write(&dev, b"report", Access::Public).unwrap();
        let m = fs::symlink_metadata(&dev).unwrap();
        assert!(m.file_type().is_char_device());
        assert_eq!(fs::read(&dev).unwrap(), b"");
        // The real /dev/null is only looked at.
        assert!(fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }
}
