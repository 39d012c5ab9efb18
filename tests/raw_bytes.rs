//! Precision at the cause (issue 24): bytes that no loader unpickles are not judged as
//! pickles, streams every loader refuses before reaching anything are information, and
//! conventional names are not errors; while what a loader does reach is still reported.

mod common;

use common::{call, inspect_bytes, Rng};
use modelgate::finding::{Code, Finding, Severity};

fn worst(f: &[Finding]) -> Option<Severity> {
    f.iter().map(|f| f.severity).max()
}

fn random(seed: u64, n: usize) -> Vec<u8> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    (0..n).map(|_| rng.below(256) as u8).collect()
}

/// Raw weights or external data that happen to start like a pickle (PROTO 1-5): every
/// unpickler raises at the first invalid opcode, having imported nothing.
#[test]
fn random_bytes_after_pickle_magic_are_information() {
    for seed in 0..200 {
        let mut b = vec![0x80, 1 + (seed % 5) as u8];
        b.extend(random(seed, 4096));
        let f = inspect_bytes("weights.bin", &b);
        let imports = f.iter().any(|f| {
            matches!(
                f.code,
                Code::PickleUnknownImport | Code::PickleDangerousImport
            )
        });
        if !imports {
            // Below the gate's default threshold (an extension code the bytes happen to
            // spell is a warning: see pickle-extension-code).
            assert!(worst(&f) < Some(Severity::Error), "seed {seed}: {:#?}", f);
        }
    }
    // A payload before the break is still an error, the break included.
    let mut b = call("os", "system", "echo hi");
    b.pop();
    b.extend([0xff; 8]);
    let f = inspect_bytes("weights.bin", &b);
    assert!(f
        .iter()
        .any(|f| f.code == Code::PickleDangerousImport && f.severity == Severity::Critical));
    assert!(f
        .iter()
        .any(|f| f.code == Code::PickleParseError && f.severity == Severity::Error));
}

/// Random bytes that start with a zlib header (`78 01`): joblib.load tries zlib, which fails
/// before producing a byte.
#[test]
fn random_bytes_after_a_zlib_header_are_information() {
    for seed in 0..50 {
        let mut b = vec![0x78, 0x01];
        b.extend(random(1000 + seed, 4096));
        let f = inspect_bytes("part-0001.bin", &b);
        assert!(worst(&f) <= Some(Severity::Info), "seed {seed}: {f:#?}");
    }
}

/// A compressed pickle whose stream breaks after the payload: the prefix a loader reads is
/// inspected and the break is an error.
#[test]
fn a_broken_compressed_stream_has_its_prefix_inspected() {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&call("os", "system", "echo hi")).unwrap();
    e.write_all(&random(5, 1 << 16)).unwrap();
    let mut z = e.finish().unwrap();
    let n = z.len();
    z.truncate(n - 200);
    z.extend(random(6, 300));
    let f = inspect_bytes("model.joblib", &z);
    assert!(
        f.iter().any(|f| f.code == Code::PickleDangerousImport),
        "{f:#?}"
    );
}

/// Unpicklers without a persistent_load raise at a persistent id: the start of a zip
/// (`PK\x03\x04`: PERSID), or text starting with `P`, is not a pickle to any loader that
/// reads a file's first bytes as one.
#[test]
fn a_persistent_id_at_a_files_start_ends_every_reading() {
    let mut b = b"PK\x03\x04 not a zip at all\n".to_vec();
    b.extend(call("os", "system", "echo hi"));
    let f = inspect_bytes("data.bin", &b);
    assert!(
        !f.iter().any(|f| f.code == Code::PickleDangerousImport),
        "{f:#?}"
    );
    // Inside a torch archive the persistent id is torch's: the pickle goes on and is judged.
    let mut p = b"\x80\x02P0\n".to_vec();
    p.extend(&call("os", "system", "echo hi")[2..]);
    let z = common::zip(&[("archive/data.pkl", &p), ("archive/version", b"3\n")]);
    let f = inspect_bytes("model.pt", &z);
    assert!(
        f.iter().any(|f| f.code == Code::PickleDangerousImport),
        "{f:#?}"
    );
}

/// Conventional names are information; a name that promises another binary format is not.
#[test]
fn conventional_names_are_information() {
    let p = b"\x80\x02}q\x00.".to_vec();
    let z = common::zip(&[("archive/data.pkl", &p), ("archive/version", b"3\n")]);
    let f = inspect_bytes("checkpoint.pth.tar", &z);
    let m: Vec<_> = f
        .iter()
        .filter(|f| f.code == Code::FormatMismatch)
        .collect();
    assert_eq!(m.len(), 1, "{f:#?}");
    assert_eq!(m[0].severity, Severity::Info);
    // gzip content under a bz2 name: joblib and pandas detect the compressor by magic.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &p).unwrap();
    let f = inspect_bytes("model.joblib.bz2", &e.finish().unwrap());
    assert!(worst(&f) <= Some(Severity::Info), "{f:#?}");
    // joblib 0.8 and 0.9 wrote their zlib `ZF` files under a .gz name.
    let mut zf = b"ZF0x6".to_vec();
    zf.resize(21, b' ');
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &p).unwrap();
    zf.extend(e.finish().unwrap());
    let f = inspect_bytes("joblib_0.9.2_compressed_pickle_py35_np19.gz", &zf);
    assert!(worst(&f) <= Some(Severity::Info), "{f:#?}");
    // A torch archive named .npy is still an error.
    let f = inspect_bytes("weights.npy", &z);
    assert!(f
        .iter()
        .any(|f| f.code == Code::FormatMismatch && f.severity == Severity::Error));
}

/// Red team, round 2: torch's legacy format written at protocol 0 has no pickle magic, and its
/// fourth pickle (the object) is read with a persistent_load: a persistent id there goes on.
#[test]
fn a_later_stacked_pickle_has_a_persistent_load() {
    let mut b =
        b"L119547037146038801333356L\n.I1001\n.(dp0\nVprotocol_version\np1\nI1001\ns.".to_vec();
    b.extend(b"(S'module'\nI0\nS''\nS''\ntQ0cos\nsystem\n(S'echo pwned'\ntR.(lp0\n.");
    let f = inspect_bytes("model.pt", &b);
    assert!(
        f.iter()
            .any(|f| f.code == Code::PickleDangerousImport && f.severity == Severity::Critical),
        "{f:#?}"
    );
}

/// Red team, round 2: an xz stream cut inside its only chunk. Python's lzma yields the decoded
/// prefix (the payload runs, then the error); the decoder here yields nothing, so the break
/// fails closed.
#[test]
fn a_broken_xz_stream_fails_closed() {
    let xz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/redteam/truncated.pkl.xz"
    ))
    .unwrap();
    let f = inspect_bytes("model.pkl.xz", &xz);
    assert!(worst(&f) >= Some(Severity::Error), "{f:#?}");
}

/// The clean corpus (issue 24): raw bytes whose first bytes spell an xz or lz4 header that
/// every decoder refuses; GLOBAL lines that are not UTF-8 (both unpicklers decode them strictly
/// and raise before importing); readers that part where no reading imports anything.
#[test]
fn headers_and_lines_every_loader_refuses() {
    for seed in 0..40 {
        let mut xz = b"\xfd7zXZ\x00".to_vec();
        xz.extend(random(3000 + seed, 2048));
        let f = inspect_bytes("weights.bin", &xz);
        assert!(worst(&f) < Some(Severity::Error), "xz seed {seed}: {f:#?}");
    }
    // A GLOBAL whose module is not UTF-8: no import.
    let f = inspect_bytes("x.pkl", b"\x80\x02c\xff\xfeos\nsystem\n)R.");
    assert!(
        !f.iter().any(|f| matches!(
            f.code,
            Code::PickleUnknownImport | Code::PickleDangerousImport
        )),
        "{f:#?}"
    );
    assert!(worst(&f) < Some(Severity::Error), "{f:#?}");
    // Still an import when it is UTF-8.
    let f = inspect_bytes("x.pkl", b"\x80\x02cos\nsyst\xc3\xa9m\n)R.");
    assert!(
        f.iter().any(|f| f.code == Code::PickleDangerousImport),
        "{f:#?}"
    );
}
