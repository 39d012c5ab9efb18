//! Issue 25: outputs never replace special files. Reports (`-o`, `--format F=FILE`,
//! `--suggest-policy FILE`), signatures, manifests and dataset manifests are renamed into place
//! only over regular files; devices and FIFOs are written straight through, symlinks stay links
//! and their targets are updated; published artefacts honour the umask, private keys stay 0600.
//! As root the device case uses a node made with mknod in a temporary directory (the machine's
//! /dev/null is only looked at); otherwise it is skipped with a message.

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn modelgate_umask(umask: u32, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_modelgate"));
    c.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    // SAFETY: umask(2) in the child before exec; async-signal-safe.
    unsafe {
        c.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    c.output().unwrap()
}

fn modelgate(args: &[&str]) -> Output {
    modelgate_umask(0o022, args)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("modelgate-wt-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn ok(out: &Output) {
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A character device node equal to /dev/null (1, 3) in `dir`, when this process may make one.
fn device(dir: &Path) -> Option<PathBuf> {
    let p = dir.join("null");
    let c = std::ffi::CString::new(s(&p)).unwrap();
    // SAFETY: a NUL-terminated path in a temporary directory.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    if made != 0 {
        eprintln!(
            "skipped the device case: mknod: {} (needs root)",
            std::io::Error::last_os_error()
        );
        return None;
    }
    Some(p)
}

fn ls_l(p: &Path) -> String {
    let out = Command::new("ls").arg("-l").arg(p).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn reports_to_a_device_leave_it_a_device() {
    let d = tmp("device");
    let Some(dev) = device(&d) else { return };
    let before = ls_l(&dev);
    for args in [
        vec!["scan", "--no-policy", "examples/clean", "-o", s(&dev)],
        vec![
            "scan",
            "--no-policy",
            "examples/clean",
            "--format",
            &format!("sarif={}", s(&dev)),
        ],
        vec![
            "scan",
            "--no-policy",
            "examples/clean",
            "--suggest-policy",
            s(&dev),
        ],
    ] {
        let out = modelgate(&args);
        ok(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let m = fs::symlink_metadata(&dev).unwrap();
        assert!(
            m.file_type().is_char_device(),
            "{args:?} replaced the device"
        );
    }
    let after = ls_l(&dev);
    eprintln!("before: {before}\nafter:  {after}");
    assert_eq!(before, after);
    // Signatures and manifests too.
    let m = d.join("m");
    fs::create_dir_all(&m).unwrap();
    fs::write(m.join("w.bin"), b"weights").unwrap();
    let key = d.join("k");
    ok(&modelgate(&["keygen", "-o", s(&key)]));
    for args in [
        vec![
            "sign",
            "key",
            s(&m),
            "--private-key",
            &format!("{}.key", s(&key)),
            "--signature",
            s(&dev),
        ],
        vec!["manifest", "create", s(&m), "-o", s(&dev)],
        vec!["dataset", "manifest", s(&m), "-o", s(&dev)],
    ] {
        let out = modelgate(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(fs::symlink_metadata(&dev)
            .unwrap()
            .file_type()
            .is_char_device());
    }
    assert_eq!(ls_l(&dev), before);
    // The machine's /dev/null is only looked at.
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

#[test]
fn reports_to_a_fifo_reach_its_reader() {
    let d = tmp("fifo");
    let fifo = d.join("f");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(&fifo).unwrap())
    };
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "examples/clean",
        "--format",
        "json",
        "-o",
        s(&fifo),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let got = reader.join().unwrap();
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(v["summary"]["verdict"], "pass");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    // No reader: exit 2 after the wait, naming the FIFO, not a hang; the FIFO stays.
    let out = Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["scan", "--no-policy", "examples/clean", "-o", s(&fifo)])
        .env("MODELGATE_FIFO_WAIT", "0.3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no process opened"), "{err}");
    assert!(!err.contains("reports:"), "{err}");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_symlinked_report_stays_a_link_and_its_target_is_updated() {
    let d = tmp("symlink");
    fs::create_dir_all(d.join("reports")).unwrap();
    let target = d.join("reports/latest.json");
    fs::write(&target, b"old").unwrap();
    let link = d.join("report.json");
    std::os::unix::fs::symlink("reports/latest.json", &link).unwrap();
    let out = modelgate(&[
        "scan",
        "--no-policy",
        "examples/clean",
        "--format",
        &format!("json={}", s(&link)),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let v: serde_json::Value = serde_json::from_slice(&fs::read(&target).unwrap()).unwrap();
    assert_eq!(v["summary"]["verdict"], "pass");
    // The verdict line names the report once written.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PASS") && err.contains("reports: "), "{err}");
}

/// Published artefacts are 0666 less the umask; a private key 0600.
#[test]
fn published_artefacts_honour_the_umask() {
    let d = tmp("umask");
    let m = d.join("m");
    fs::create_dir_all(&m).unwrap();
    fs::write(m.join("w.bin"), b"weights").unwrap();
    let data = d.join("data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("a.jsonl"), b"{\"t\":\"x\"}\n").unwrap();
    for umask in [0o022u32, 0o002, 0o077] {
        let key = d.join(format!("k{umask:o}"));
        let out = modelgate_umask(umask, &["keygen", "-o", s(&key), "--force"]);
        assert_eq!(out.status.code(), Some(0));
        let private = PathBuf::from(format!("{}.key", s(&key)));
        let public = PathBuf::from(format!("{}.pub", s(&key)));
        assert_eq!(mode(&private), 0o600);
        assert_eq!(mode(&public), 0o666 & !umask);
        let f = |n: &str| d.join(format!("{n}-{umask:o}"));
        let (report, sarif, sig, man, dman) = (
            f("r.txt"),
            f("r.sarif"),
            f("model.sig"),
            f("m.json"),
            f("d.manifest"),
        );
        for args in [
            vec![
                "scan",
                "--no-policy",
                "examples/clean",
                "-o",
                s(&report),
                "--format",
                "text",
                "--format",
                &format!("sarif={}", s(&sarif)),
            ],
            vec![
                "sign",
                "key",
                s(&m),
                "--private-key",
                s(&private),
                "--signature",
                s(&sig),
            ],
            vec![
                "manifest",
                "create",
                s(&m),
                "-o",
                s(&man),
                "--private-key",
                s(&private),
            ],
            vec![
                "dataset",
                "manifest",
                s(&data),
                "-o",
                s(&dman),
                "--private-key",
                s(&private),
            ],
        ] {
            let out = modelgate_umask(umask, &args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let man_sig = PathBuf::from(format!("{}.sig", s(&man)));
        let dman_sig = PathBuf::from(format!("{}.sig", s(&dman)));
        for p in [&report, &sarif, &sig, &man, &man_sig, &dman, &dman_sig] {
            assert_eq!(
                mode(p),
                0o666 & !umask,
                "{} under umask {umask:o}",
                p.display()
            );
        }
    }
}
