//! The joblib oracle: joblib.load itself (tests/oracle/joblib_oracle.py, joblib and numpy in
//! target/joblib-venv; every unpickler in that process hooked, so nothing runs) on seeds the
//! real producer writes (joblib.dump of arrays in every layout read_array reads, under every
//! compressor; joblib < 0.10's ZF files, NDArrayWrapper and ZNDArrayWrapper companions), the
//! joblib fixtures under testdata/, and byte mutations of both. Wherever joblib.load resolves
//! posix.system, modelgate must report the import in that file or the companion it reads.
//!
//! Judged by the loader's own branch coverage (printed): joblib's numpy_pickle (the wrapper's
//! read/read_array, NumpyUnpickler.load_build, _unpickle, load), numpy_pickle_utils (compressor
//! detection, the file object, _read_bytes, byte order), the compressor wrappers and
//! BinaryZlibFile's reading, and numpy_pickle_compat (read_zfile, the wrappers' read,
//! ZipNumpyUnpickler, load_compatibility). The 90 % floor is asserted; MODELGATE_OFFLINE=1
//! skips the test (joblib comes from PyPI). Branches no input can take are in `UNREACHABLE`.

mod common;
mod loader_coverage;

use common::Rng;
use modelgate::finding::Code;
use std::path::Path;

/// joblib branches no input can take through `joblib.load(path)`, each with its reason.
const UNREACHABLE: &[loader_coverage::Unreachable] = &[
    (
        "NumpyArrayWrapper.read",
        "if hasattr(array, \"__array_prepare__\") and self.subclass not in (",
        "new_array = _reconstruct(self.subclass, (0,), \"b\")",
        "numpy 2 arrays have no __array_prepare__",
    ),
    (
        "NDArrayWrapper.read",
        "if hasattr(array, \"__array_prepare__\") and self.subclass not in (",
        "new_array = _reconstruct(self.subclass, (0,), \"b\")",
        "numpy 2 arrays have no __array_prepare__",
    ),
    (
        "NDArrayWrapper.read",
        "if \"allow_pickle\" in inspect.signature(unpickler.np.load).parameters:",
        "array = unpickler.np.load(filename, **kwargs)",
        "np.load has allow_pickle since numpy 1.10",
    ),
    (
        "NumpyUnpickler.load_build",
        "if self.np is None:",
        "raise ImportError(",
        "numpy imports wherever joblib reads arrays",
    ),
    (
        "ZipNumpyUnpickler.load_build",
        "if self.np is None:",
        "raise ImportError(",
        "numpy imports wherever joblib reads arrays",
    ),
    (
        "load",
        "if ensure_native_byte_order == \"auto\":",
        "if ensure_native_byte_order and mmap_mode is not None:",
        "loaders leave ensure_native_byte_order at 'auto'",
    ),
    (
        "load",
        "if ensure_native_byte_order and mmap_mode is not None:",
        "raise ValueError(",
        "loaders leave ensure_native_byte_order at 'auto'",
    ),
    (
        "BinaryZlibFile.__init__",
        "if not isinstance(compresslevel, int) or not (1 <= compresslevel <= 9):",
        "raise ValueError(",
        "decompressor_file passes the default level",
    ),
    (
        "BinaryZlibFile.__init__",
        "if mode == \"rb\":",
        "elif mode == \"wb\":",
        "decompressor_file opens for reading",
    ),
    (
        "BinaryZlibFile.__init__",
        "elif mode == \"wb\":",
        "",
        "decompressor_file opens for reading",
    ),
    (
        "BinaryZlibFile.__init__",
        "if isinstance(filename, str):",
        "self._fp = io.open(filename, mode)",
        "decompressor_file passes the open file",
    ),
    (
        "BinaryZlibFile.__init__",
        "elif hasattr(filename, \"read\") or hasattr(filename, \"write\"):",
        "raise TypeError(\"filename must be a str or bytes object, or a file\")",
        "decompressor_file passes the open file",
    ),
    (
        "BinaryZlibFile.close",
        "if self._mode == _MODE_CLOSED:",
        "return",
        "joblib closes the decompressor once",
    ),
    (
        "BinaryZlibFile.close",
        "if self._mode in (_MODE_READ, _MODE_READ_EOF):",
        "elif self._mode == _MODE_WRITE:",
        "the decompressor is only read",
    ),
    (
        "BinaryZlibFile.close",
        "elif self._mode == _MODE_WRITE:",
        "",
        "the decompressor is only read",
    ),
    (
        "BinaryZlibFile.close",
        "if self._closefp:",
        "self._fp.close()",
        "decompressor_file passes the open file (closefp False)",
    ),
    (
        "BinaryZlibFile._check_not_closed",
        "if self.closed:",
        "",
        "joblib reads before it closes",
    ),
    (
        "BinaryZlibFile._check_not_closed",
        "if fname is not None:",
        "",
        "joblib reads before it closes",
    ),
    (
        "BinaryZlibFile._check_can_read",
        "if self._mode not in (_MODE_READ, _MODE_READ_EOF):",
        "self._check_not_closed()",
        "the decompressor is opened for reading",
    ),
    (
        "BinaryZlibFile._read_all",
        "while self._fill_buffer():",
        "",
        "the BufferedReader joblib wraps it in reads through readinto with a size, never read(-1)",
    ),
    (
        "BinaryZlibFile._read_all",
        "if return_data:",
        "",
        "the BufferedReader joblib wraps it in reads through readinto with a size, never read(-1)",
    ),
    (
        "BinaryZlibFile._read_block",
        "if return_data:",
        "",
        "return_data=False only when seeking; nothing seeks the decompressor",
    ),
    (
        "BinaryZlibFile.read",
        "if size == 0:",
        "return b\"\"",
        "the BufferedReader reads with its buffer's size",
    ),
    (
        "load_compatibility",
        "if hasattr(unpickler, \"file_handle\"):",
        "return obj",
        "the unpickler exists only once its __init__ has set file_handle",
    ),
    (
        "BinaryZlibFile.read",
        "elif size < 0:",
        "return self._read_all()",
        "the BufferedReader reads with its buffer's size",
    ),
];

const DANGEROUS: &[(&str, &str)] = &[("posix", "system"), ("os", "system"), ("nt", "system")];

#[test]
fn modelgate_reports_every_import_joblib_load_resolves() {
    let Some(python) = common::oracle_python(
        "the joblib oracle",
        "joblib-venv",
        "tests/oracle/joblib_requirements.txt",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Seeds from the real producer, with the companion files each one reads.
    let out = std::process::Command::new(&python)
        .args(["tests/oracle/joblib_oracle.py", "--generate"])
        .arg(dir.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generating joblib seeds: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seeds: Vec<(String, Vec<String>)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let comps = v["companions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            (v["file"].as_str().unwrap().to_string(), comps)
        })
        .collect();
    // The fixtures under testdata/.
    for d in [
        "testdata/benign/joblib",
        "testdata/malicious/joblib",
        "testdata/profiles",
    ] {
        let mut files: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "joblib"))
            .collect();
        files.sort();
        for f in files {
            let to = dir.path().join(format!(
                "fixture_{}",
                f.file_name().unwrap().to_string_lossy()
            ));
            std::fs::copy(&f, &to).unwrap();
            seeds.push((to.display().to_string(), Vec::new()));
        }
    }
    // Regressions: inputs where modelgate once missed an import joblib.load resolves.
    if let Ok(rd) = std::fs::read_dir("tests/oracle/joblib-regressions") {
        let mut files: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let to = dir.path().join(format!(
                "regression_{}",
                f.file_name().unwrap().to_string_lossy()
            ));
            std::fs::copy(&f, &to).unwrap();
            seeds.push((to.display().to_string(), Vec::new()));
        }
    }
    let mut cases = seeds.clone();
    let mut rng = Rng(0x6a6f_626c_6962_5f6f);
    for i in 0..common::oracle_cases(500) {
        let (path, comps) = &seeds[rng.below(seeds.len())];
        let mut d = std::fs::read(path).unwrap();
        if d.is_empty() {
            continue;
        }
        for _ in 0..1 + rng.below(3) {
            match rng.below(4) {
                0 => {
                    let at = rng.below(d.len());
                    d[at] ^= 1 << rng.below(8);
                }
                1 => {
                    // Near the start: headers, the pickle's first opcodes, a ZF length.
                    let at = rng.below(d.len().min(64));
                    d[at] = rng.next() as u8;
                }
                2 => {
                    let at = rng.below(d.len());
                    d.truncate(at.max(1));
                }
                _ => {
                    // A byte that a wrapper's state decides (alignment, order, dtype).
                    for (pat, to) in [
                        (&b"\x8c\x01C"[..], &b"\x8c\x01F"[..]),
                        (b"\x8c\x01F", b"\x8c\x01C"),
                        (
                            b"numpy_array_alignment_bytes",
                            b"numpy_array_alignment_bytez",
                        ),
                        (b"<i8", b">i8"),
                        (b"<f8", b"|O8"),
                    ] {
                        if let Some(p) = d.windows(pat.len()).position(|w| w == pat) {
                            if rng.below(2) == 0 {
                                d[p..p + to.len()].copy_from_slice(to);
                            }
                        }
                    }
                }
            }
        }
        let ext = Path::new(path)
            .extension()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let p = dir.path().join(format!("mutated_{i}.{ext}"));
        std::fs::write(&p, &d).unwrap();
        cases.push((p.display().to_string(), comps.clone()));
    }
    let paths: Vec<String> = cases.iter().map(|(p, _)| p.clone()).collect();
    let (lines, cov) = loader_coverage::run_oracle_measured_excluding(
        &python,
        "tests/oracle/joblib_oracle.py",
        paths,
        true,
        UNREACHABLE,
    );
    let (mut reached, mut misses) = (0, Vec::new());
    for ((path, comps), v) in cases.iter().zip(&lines) {
        let imports = v["imports"].as_array().unwrap();
        let dangerous = imports.iter().any(|i| {
            DANGEROUS
                .iter()
                .any(|(m, n)| i[0].as_str() == Some(m) && i[1].as_str() == Some(n))
        });
        if !dangerous {
            continue;
        }
        reached += 1;
        let p = Path::new(path);
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let mut findings = common::inspect_bytes(&name, &std::fs::read(p).unwrap());
        for c in comps {
            findings.extend(common::inspect_bytes(
                c,
                &std::fs::read(p.with_file_name(c)).unwrap(),
            ));
        }
        if !findings
            .iter()
            .any(|f| f.code == Code::PickleDangerousImport)
        {
            let keep = Path::new("target/oracle-misses");
            std::fs::create_dir_all(keep).unwrap();
            std::fs::copy(p, keep.join(format!("joblib-{name}"))).unwrap();
            misses.push(format!(
                "{name}: joblib.load resolves posix.system ({}), modelgate: {findings:#?}",
                v["error"]
            ));
        }
    }
    eprintln!(
        "joblib oracle: {} files ({} seeds), joblib.load resolved posix.system in {reached}",
        cases.len(),
        seeds.len()
    );
    assert!(
        reached > 20,
        "the seeds should carry payloads joblib.load reaches"
    );
    const WHAT: &str = "joblib oracle (joblib.load)";
    let ratio = loader_coverage::report(WHAT, cov.as_ref().unwrap());
    common::assert_no_misses(&misses, 3);
    loader_coverage::assert_floor(WHAT, ratio);
}
