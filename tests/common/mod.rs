//! Test helpers: a tiny pickle opcode writer and in-memory scanning.
#![allow(dead_code)]

use modelgate::finding::{Code, Finding};
use modelgate::inspect::Limits;

pub mod remote;

/// Builds pickles opcode by opcode: readable tests, no binaries.
#[derive(Default)]
pub struct P(pub Vec<u8>);

impl P {
    pub fn new() -> Self {
        P(Vec::new())
    }
    pub fn proto(mut self, p: u8) -> Self {
        self.0.extend([0x80, p]);
        self
    }
    pub fn global(mut self, m: &str, n: &str) -> Self {
        self.0.push(b'c');
        self.0.extend(m.as_bytes());
        self.0.push(b'\n');
        self.0.extend(n.as_bytes());
        self.0.push(b'\n');
        self
    }
    pub fn unicode(mut self, s: &str) -> Self {
        self.0.push(b'X');
        self.0.extend((s.len() as u32).to_le_bytes());
        self.0.extend(s.as_bytes());
        self
    }
    pub fn short_unicode(mut self, s: &str) -> Self {
        self.0.extend([0x8c, s.len() as u8]);
        self.0.extend(s.as_bytes());
        self
    }
    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.0.push(b'B');
        self.0.extend((b.len() as u32).to_le_bytes());
        self.0.extend(b);
        self
    }
    pub fn stack_global(self) -> Self {
        self.op(0x93)
    }
    pub fn memoize(self) -> Self {
        self.op(0x94)
    }
    pub fn get(mut self, i: u8) -> Self {
        self.0.extend([b'h', i]);
        self
    }
    pub fn tuple1(self) -> Self {
        self.op(0x85)
    }
    pub fn empty_tuple(self) -> Self {
        self.op(b')')
    }
    pub fn reduce(self) -> Self {
        self.op(b'R')
    }
    pub fn stop(self) -> Self {
        self.op(b'.')
    }
    pub fn op(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend(b);
        self
    }
    pub fn build(self) -> Vec<u8> {
        self.0
    }
}

/// `module.name(arg)` as a protocol-2 pickle.
pub fn call(m: &str, n: &str, arg: &str) -> Vec<u8> {
    P::new()
        .proto(2)
        .global(m, n)
        .unicode(arg)
        .tuple1()
        .reduce()
        .stop()
        .build()
}

/// Inspect bytes as a file named `name`, with `limits`.
pub fn inspect_bytes_with(name: &str, data: &[u8], limits: &Limits) -> Vec<Finding> {
    modelgate::inspect::inspect_bytes(name, data, limits)
}

pub fn inspect_bytes(name: &str, data: &[u8]) -> Vec<Finding> {
    inspect_bytes_with(name, data, &Limits::default())
}

pub fn codes(f: &[Finding]) -> Vec<Code> {
    f.iter().map(|f| f.code).collect()
}

/// A stored zip written by hand: (name, data) members, CRCs right.
pub fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cen = Vec::new();
    for (name, data) in members {
        let off = out.len() as u32;
        let crc = crc32(data);
        let mut lh = Vec::new();
        lh.extend(b"PK\x03\x04");
        lh.extend(20u16.to_le_bytes());
        lh.extend(0u16.to_le_bytes());
        lh.extend(0u16.to_le_bytes());
        lh.extend([0u8; 4]);
        lh.extend(crc.to_le_bytes());
        lh.extend((data.len() as u32).to_le_bytes());
        lh.extend((data.len() as u32).to_le_bytes());
        lh.extend((name.len() as u16).to_le_bytes());
        lh.extend(0u16.to_le_bytes());
        lh.extend(name.as_bytes());
        out.extend(&lh);
        out.extend(*data);
        cen.extend(b"PK\x01\x02");
        cen.extend(20u16.to_le_bytes());
        cen.extend(20u16.to_le_bytes());
        cen.extend(0u16.to_le_bytes());
        cen.extend(0u16.to_le_bytes());
        cen.extend([0u8; 4]);
        cen.extend(crc.to_le_bytes());
        cen.extend((data.len() as u32).to_le_bytes());
        cen.extend((data.len() as u32).to_le_bytes());
        cen.extend((name.len() as u16).to_le_bytes());
        cen.extend([0u8; 12]);
        cen.extend(off.to_le_bytes());
        cen.extend(name.as_bytes());
    }
    let cd_off = out.len() as u32;
    out.extend(&cen);
    out.extend(b"PK\x05\x06");
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((cen.len() as u32).to_le_bytes());
    out.extend(cd_off.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for b in data {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Copy a directory tree; the copies are writable (the sources may be read-only).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::write(&t, std::fs::read(e.path()).unwrap()).unwrap();
        }
    }
}

/// A JSON Schema as it is committed: pretty, with a final newline.
pub fn schema_text(schema: &schemars::Schema) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap();
    s.push('\n');
    s
}

/// The committed `schemas/<file>` equals `now`; `MODELGATE_UPDATE_SCHEMAS=1` rewrites it.
pub fn assert_committed_schema(file: &str, now: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(file);
    if std::env::var_os("MODELGATE_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, now).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_default(),
        now,
        "schemas/{file} is stale: run MODELGATE_UPDATE_SCHEMAS=1 cargo test"
    );
}

/// Whether tests that need PyPI packages are to be skipped (`MODELGATE_OFFLINE=1`); says so.
#[allow(dead_code)]
pub fn offline(what: &str) -> bool {
    let off = std::env::var_os("MODELGATE_OFFLINE").is_some_and(|v| v == "1");
    if off {
        eprintln!("skipped: {what} needs PyPI packages, and MODELGATE_OFFLINE=1");
    }
    off
}

/// Fail an oracle test on its misses, showing the first `show`.
#[allow(dead_code)]
pub fn assert_no_misses(misses: &[String], show: usize) {
    assert!(
        misses.is_empty(),
        "{} misses:\n{}",
        misses.len(),
        misses
            .iter()
            .take(show)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// How many generated cases an oracle test tries: `MODELGATE_ORACLE_CASES`, else `default`.
#[allow(dead_code)]
pub fn oracle_cases(default: usize) -> usize {
    std::env::var("MODELGATE_ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An oracle's Python (a venv under target/ with `requirements`), or `None` when offline.
#[allow(dead_code)]
pub fn oracle_python(what: &str, venv: &str, requirements: &str) -> Option<std::path::PathBuf> {
    if offline(what) {
        return None;
    }
    Some(python_venv(venv, requirements).join("bin/python"))
}

/// A Python venv under target/ with the pinned packages of `requirements` (relative to the
/// crate), made or brought up to date on first use; returns the venv's directory.
pub fn python_venv(name: &str, requirements: &str) -> std::path::PathBuf {
    use std::process::Command;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target").join(name);
    let req = root.join(requirements);
    let stamp = venv.join("requirements.txt");
    if std::fs::read(&stamp).ok() != std::fs::read(&req).ok() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "python3 -m venv failed");
        let out = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(&req)
            .output()
            .expect("pip");
        assert!(
            out.status.success(),
            "pip install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::copy(&req, &stamp).unwrap();
    }
    venv
}

/// One ustar header for a regular member of `size` bytes (an octal size of 11 digits).
#[allow(dead_code)]
pub fn tar_header(name: &str, size: u64) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h.to_vec()
}

/// A ustar archive written by hand: (name, data) regular-file members.
pub fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        out.extend(tar_header(name, data.len() as u64));
        out.extend(*data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend([0u8; 1024]);
    out
}

/// A small deterministic generator (xorshift64*), so every run of a generated test tries the
/// same cases.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Run a loader oracle script (`python` on `script`) over `paths`, one per line on its stdin,
/// and parse its one-JSON-object-per-line answers.
pub fn run_oracle(
    python: &std::path::Path,
    script: &str,
    paths: Vec<String>,
) -> Vec<serde_json::Value> {
    let mut cmd = std::process::Command::new(python);
    cmd.arg(script);
    oracle_answers(cmd, script, paths)
}

/// Spawn `cmd` (an oracle script), feed it `paths` one per line and parse its
/// one-JSON-object-per-line answers, one per path. The paths are fed from another thread: the
/// oracle answers as it reads, and a full stdout pipe would otherwise block both sides.
pub fn oracle_answers(
    mut cmd: std::process::Command,
    script: &str,
    paths: Vec<String>,
) -> Vec<serde_json::Value> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{:?} runs {script}: {e}", cmd.get_program()));
    let mut stdin = child.stdin.take().unwrap();
    let n = paths.len();
    let feeder = std::thread::spawn(move || {
        for p in paths {
            writeln!(stdin, "{p}").unwrap();
        }
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(out.status.success(), "{script} failed");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        n,
        "{script} answered {} of {n} inputs",
        lines.len()
    );
    lines
}
