//! Hostile inputs as a standing test: each bomb (generated here, deterministically) is scanned
//! by the binary under a memory cap and a time bound, and must end in the expected finding
//! (`limit-exceeded` or the bomb's own code), never in a crash, an abort or a stall.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address-space cap for the scanner (its threads' stacks included), and the wall-clock bound.
const MEMORY_KB: u64 = 4 << 20;
const SECONDS: u64 = 120;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// gzip of `n` zero bytes, written in chunks (never held whole).
fn gzip_zeros_after(prefix: &[u8], n: u64) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(prefix).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len() as u64) as usize;
        e.write_all(&chunk[..k]).unwrap();
        left -= k as u64;
    }
    e.finish().unwrap()
}

/// The bombs: (file name, bytes, a code the scan must report).
fn bombs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut out = Vec::new();
    // A pickle of a million nested tuples (dropping it recursively overflowed the stack).
    let mut deep = b"\x80\x02)".to_vec();
    deep.extend(std::iter::repeat_n(0x85u8, 1_000_000));
    deep.push(b'.');
    out.push(("deep_tuples.pt", deep, ""));
    // Nested lists a million deep.
    let mut lists = b"\x80\x02".to_vec();
    lists.extend(std::iter::repeat_n(b']', 1_000_000));
    lists.extend(std::iter::repeat_n(b'a', 999_999));
    lists.push(b'.');
    out.push(("deep_lists.pkl", lists, ""));
    // A dict that contains itself, many times over (leaked memory through cycles).
    let mut cyc = b"\x80\x02}q\x00".to_vec();
    for _ in 0..200_000 {
        cyc.extend(b"(h\x00h\x00u");
    }
    cyc.push(b'.');
    out.push(("cycles.pkl.gz", gzip(&cyc), ""));
    // A gzip'd tar whose member declares 8 GiB and holds 64 MiB.
    let t = common::tar_header("big.bin", (8 << 30) - 1);
    out.push((
        "huge_member.tar.gz",
        gzip_zeros_after(&t, 64 << 20),
        "tar-malformed",
    ));
    // A gzip'd pickle of a billion NONE opcodes: the stack limit ends it.
    let mut flood = b"\x80\x02".to_vec();
    flood.extend(std::iter::repeat_n(b'N', 64 << 20));
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&flood).unwrap();
    for _ in 0..15 {
        e.write_all(&flood[2..]).unwrap();
    }
    out.push(("opcode_flood.pkl.gz", e.finish().unwrap(), "limit-exceeded"));
    // A safetensors header of a million duplicate keys (a flood of findings).
    let h = format!("{{{}\"a\": 1}}", "\"a\": 1,".repeat(1_000_000));
    let mut st = (h.len() as u64).to_le_bytes().to_vec();
    st.extend(h.as_bytes());
    out.push(("dups.safetensors", st, "safetensors-duplicate-key"));
    // bz2 of a pickle whose BINBYTES8 declares 20 GiB, then 20 GiB of zeros: 16 MiB of zeros
    // compressed once, the stream repeated (bz2 readers read concatenated streams). Within the
    // byte budget for long; the decompression ratio ends it.
    let mut head = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    head.write_all(b"\x80\x04\x8e").unwrap();
    head.write_all(&(20u64 << 30).to_le_bytes()).unwrap();
    let mut bz = head.finish().unwrap();
    let mut zeros = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    zeros.write_all(&vec![0u8; 16 << 20]).unwrap();
    let zeros = zeros.finish().unwrap();
    for _ in 0..1280 {
        bz.extend(&zeros);
    }
    out.push(("ratio.pkl.bz2", bz, "limit-exceeded"));
    // Zips nested in zips, deeper than the depth limit.
    let mut z = common::call("os", "system", "id");
    for i in 0..40 {
        z = common::zip(&[(&format!("l{i}.zip"), &z)]);
    }
    out.push(("nested.zip", z, "limit-exceeded"));
    out
}

fn scan(path: &Path) -> (Option<i32>, String, Duration) {
    let start = Instant::now();
    let cmd = format!(
        "ulimit -v {MEMORY_KB}; exec '{}' scan --no-policy --no-progress --format json '{}'",
        env!("CARGO_BIN_EXE_modelgate"),
        path.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &cmd])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), reader.join().unwrap(), start.elapsed());
        }
        if start.elapsed() > Duration::from_secs(SECONDS) {
            child.kill().unwrap();
            panic!("{}: no verdict within {SECONDS} s", path.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_bomb_ends_in_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    for (name, data, code) in bombs() {
        // In a directory beside another file: scanned on the pool's worker threads, whose
        // stacks are smaller than the main thread's.
        let sub = dir.path().join(format!("{name}.d"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("other.pkl"), b"\x80\x02N.").unwrap();
        let p = sub.join(name);
        std::fs::write(&p, &data).unwrap();
        drop(data);
        let (status, stdout, took) = scan(&sub);
        assert!(
            matches!(status, Some(0 | 1)),
            "{name}: exit {status:?} after {took:?} (a crash or an abort)"
        );
        let r: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{name}: no report ({e})"));
        if !code.is_empty() {
            assert!(
                r["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["code"] == code),
                "{name}: expected {code}: {}",
                r["findings"]
            );
        }
        if name == "ratio.pkl.bz2" {
            assert!(stdout.contains("decompression ratio"), "{name}: {stdout}");
        }
        let findings = r["findings"].as_array().unwrap().len();
        assert!(findings <= 200, "{name}: {findings} findings");
        eprintln!("bomb {name}: exit {status:?}, {took:?}, {findings} findings");
        std::fs::remove_dir_all(&sub).unwrap();
    }
}
