//! The loader oracle: CPython's own unpickler, on each of its reader paths, with every import
//! hooked (tests/oracle/pickle_oracle.py), run over the pickle fixtures, crafted frame attacks
//! and a bounded set of generated mutations. modelgate must report every import any path
//! reaches that is not allowlisted, and a reader divergence wherever the C paths part.
//!
//! Needs `python3` (standard library only). A longer campaign: `MODELGATE_ORACLE_CASES=200000
//! cargo test --release --test pickle_oracle`.

mod common;

use common::{inspect_bytes, Rng};
use modelgate::finding::{Code, Finding};
use modelgate::inspect::pickle::globals::{classify, Verdict};
use modelgate::inspect::pickle::machine::{plausible, COMPUTED};
use std::collections::BTreeSet;
use std::path::Path;

fn frame(n: u64) -> Vec<u8> {
    let mut f = vec![0x95];
    f.extend(n.to_le_bytes());
    f
}

/// Frame attacks built by hand: each hides a call from one reader path.
fn crafted() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // A string argument crosses the end of a 4-byte frame (SHORT_BINUNICODE, BINUNICODE,
    // BINSTRING: all read with _Unpickler_Read).
    for (name, head) in [
        ("short_binunicode", vec![0x8c, 14]),
        ("binunicode", {
            let mut h = vec![b'X'];
            h.extend(14u32.to_le_bytes());
            h
        }),
        ("binstring", {
            let mut h = vec![b'T'];
            h.extend(14u32.to_le_bytes());
            h
        }),
    ] {
        let mut p = vec![0x80, 4];
        let body_in_frame = 1 + head.len() + 1;
        p.extend(frame(body_in_frame as u64));
        p.push(b'N');
        p.extend(&head);
        p.push(b'A');
        p.extend([b'A'; 13]);
        p.extend(b"Cc");
        let mut hidden = b"os\nsystem\n(S'echo hi'\ntR.".to_vec();
        hidden.resize(99, b'N');
        p.extend(hidden);
        p.extend(b"00.");
        out.push((format!("crafted/cross_{name}"), p));
    }
    // A GLOBAL line starts inside the frame and ends after it.
    let mut p = vec![0x80, 4];
    p.extend(frame(3));
    p.extend(b"cxxos\nsystem\n.");
    out.push(("crafted/cross_line".into(), p));
    // A frame inside a frame, fitting and not fitting.
    let mut p = vec![0x80, 4];
    p.extend(frame(11));
    p.extend(frame(1));
    p.extend(b"N.");
    out.push(("crafted/frame_in_frame".into(), p));
    let mut p = vec![0x80, 4];
    p.extend(frame(12));
    p.extend(b"N");
    p.extend(frame(40));
    p.extend(b"0cos\nsystem\n)R.");
    p.resize(80, b'N');
    out.push(("crafted/frame_in_frame_longer".into(), p));
    // Bytes data crossing a frame is read on, not dropped.
    let mut p = vec![0x80, 4];
    p.extend(frame(3));
    p.extend(b"NC\x05ab");
    p.extend(b"cde0cos\nsystem\n.");
    out.push(("crafted/cross_bytes".into(), p));
    // Differentials the generated cases found, kept for good.
    for (name, p) in [
        // A truncated frame: C raises, the pure-Python unpickler runs what there is.
        (
            "truncated_frame",
            &b"\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00cxxos\nsystem\n."[..],
        ),
        (
            "truncated_frame_no_proto",
            b"\x95&\x00\x00\x00\x00\x00\x00\x00cos\n",
        ),
        (
            "huge_frame_then_eof",
            b"\x80\x04\x95\x03\x00\x00\x008\x00\x00\x00NC\x05abcde0cos\n",
        ),
        // The stream ends inside, or right before, a GLOBAL's name line.
        ("unterminated_name", b"cos\nsys"),
        ("missing_name", b"\x80\x02cmypkg.hooks\n"),
        // Pure Python imports INST's class before it looks for the MARK.
        ("inst_without_mark", b"ios\nsystem\n."),
        // A name no module has stops the load after the module import.
        ("bad_name_then_call", b"cposix\ns(S'echo'\nios\nsystem\n."),
    ] {
        out.push((format!("regression/{name}"), p.to_vec()));
    }
    out
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in [
        "testdata/benign/pickle",
        "testdata/malicious/pickle",
        "testdata/benign/joblib",
        "testdata/benign/torch",
        // Differentials the long campaigns found, kept as files.
        "tests/oracle/regressions",
    ] {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let data = std::fs::read(&p).unwrap();
            // Only raw pickle streams: the oracle hands the bytes straight to the unpickler.
            if data.first() == Some(&0x80) || p.extension().is_some_and(|e| e == "pkl") {
                out.push((p.display().to_string(), data));
            }
        }
    }
    out.extend(crafted());
    out
}

/// Positions of FRAME opcodes found by a linear walk is overkill here: any 0x95 followed by a
/// plausible little-endian length is a candidate.
fn frames_in(p: &[u8]) -> Vec<usize> {
    (0..p.len().saturating_sub(9))
        .filter(|&i| p[i] == 0x95 && p[i + 5..i + 9] == [0, 0, 0, 0])
        .collect()
}

fn mutate(rng: &mut Rng, seeds: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut p = seeds[rng.below(seeds.len())].1.clone();
    p.truncate(1 << 16);
    for _ in 0..=rng.below(3) {
        match rng.below(7) {
            // Resize a frame.
            0 | 1 => {
                let f = frames_in(&p);
                if let Some(&i) = f.get(rng.below(f.len())) {
                    let n = u64::from_le_bytes(p[i + 1..i + 9].try_into().unwrap());
                    let d = rng.below(33) as i64 - 16;
                    let n = (n as i64 + d).max(0) as u64;
                    p[i + 1..i + 9].copy_from_slice(&n.to_le_bytes());
                }
            }
            // Put a new frame anywhere.
            2 => {
                let at = rng.below(p.len() + 1);
                let n = rng.below(48) as u64;
                let f = frame(n);
                p.splice(at..at, f);
            }
            // Splice another stream in.
            3 => {
                let other = &seeds[rng.below(seeds.len())].1;
                let at = rng.below(p.len() + 1);
                let from = rng.below(other.len() + 1);
                let take = rng.below(64);
                let end = (from + take).min(other.len());
                p.splice(at..at, other[from..end].iter().copied());
            }
            // Flip a byte.
            4 => {
                if !p.is_empty() {
                    let i = rng.below(p.len());
                    p[i] = rng.next() as u8;
                }
            }
            // Text lines: a NUL, a long digit run, a sign, underscores.
            5 => {
                let nl: Vec<usize> = (0..p.len()).filter(|&i| p[i] == b'\n').collect();
                if let Some(&i) = nl.get(rng.below(nl.len())) {
                    let ins: &[u8] = match rng.below(4) {
                        0 => b"\x00junk",
                        1 => b"_0",
                        2 => b" ",
                        _ => b"0000000000000000000000",
                    };
                    p.splice(i..i, ins.iter().copied());
                }
            }
            // Cut.
            _ => {
                let at = rng.below(p.len() + 1);
                p.truncate(at.max(2));
            }
        }
    }
    p
}

#[derive(Debug, Default)]
struct PathResult {
    imports: Vec<(String, String)>,
    error: Option<String>,
}

fn run_pickle_oracle(dir: &Path, names: &[String]) -> Vec<[PathResult; 4]> {
    let paths = names
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect();
    common::run_oracle(Path::new("python3"), "tests/oracle/pickle_oracle.py", paths)
        .into_iter()
        .map(|v| {
            ["loads", "peek", "nopeek", "python"].map(|k| {
                let p = &v["paths"][k];
                PathResult {
                    imports: p["imports"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| {
                            (
                                i[0].as_str().unwrap().to_string(),
                                i[1].as_str().unwrap().to_string(),
                            )
                        })
                        .collect(),
                    error: p["error"].as_str().map(str::to_string),
                }
            })
        })
        .collect()
}

fn reported(f: &[Finding], m: &str, n: &str) -> bool {
    f.iter().any(|f| {
        matches!(
            f.code,
            Code::PickleDangerousImport | Code::PickleUnknownImport
        ) && (f.evidence.get("module").and_then(|v| v.as_str()) == Some(m)
            && f.evidence.get("name").and_then(|v| v.as_str()) == Some(n)
            || f.evidence.get("name").and_then(|v| v.as_str()) == Some(COMPUTED))
    })
}

/// Checks one case; returns a description of the miss, if any.
fn check(name: &str, data: &[u8], paths: &[PathResult; 4]) -> Option<String> {
    let findings = inspect_bytes("x.pkl", data);
    for (i, p) in paths.iter().enumerate() {
        // getattr called otherwise than getattr(<imported class>, 'name') (the oracle's mark).
        let other_getattr = p.imports.iter().any(|(_, n)| n == "getattr()");
        for (m, n) in &p.imports {
            if n == "getattr()" {
                continue;
            }
            // getattr used only for attribute lookups on imported classes is judged by what it
            // reached: the oracle records each as an import of module.Class.name, checked here.
            let getattr = matches!(m.as_str(), "builtins" | "__builtin__") && n == "getattr";
            if getattr && !other_getattr && !reported(&findings, m, n) {
                continue;
            }
            // find_class("", ...) fails in __import__ before importing anything.
            if m.is_empty() {
                continue;
            }
            // A module whose name is no dotted identifier cannot exist on the loading machine
            // (nobody ships `nump\x02.py`): find_class fails before anything is imported.
            // modelgate's sniffing and joblib's pickle.load reading stop there too. (Modules
            // that can exist are imports even with an impossible name: the import runs first.)
            if !plausible(m) {
                continue;
            }
            if classify(m, n, false) == Verdict::Allowed {
                continue;
            }
            if !reported(&findings, m, n) {
                return Some(format!(
                    "{name}: path {} imports {m}.{n}, modelgate does not report it: {findings:#?}",
                    ["loads", "peek", "nopeek", "python"][i]
                ));
            }
        }
    }
    // The C paths differ only around frames: wherever they part, a divergence is reported.
    // (Imports of modules that cannot exist change nothing.)
    let set = |p: &PathResult| {
        p.imports
            .iter()
            .filter(|(m, _)| plausible(m))
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    let c = [&paths[0], &paths[1], &paths[2]];
    let parted = c
        .iter()
        .any(|p| set(p) != set(c[0]) || p.error.is_some() != c[0].error.is_some());
    if parted
        && !findings
            .iter()
            .any(|f| f.code == Code::PickleReaderDivergence)
    {
        return Some(format!(
            "{name}: CPython's reader paths part ({paths:?}), modelgate reports no divergence: {findings:#?}"
        ));
    }
    None
}

#[test]
fn modelgate_sees_every_import_each_reader_path_reaches() {
    let cases = common::oracle_cases(1500);
    let seeds = seeds();
    let mut all: Vec<(String, Vec<u8>)> = seeds.clone();
    let mut rng = Rng(0x6d6f_6465_6c67_6174);
    for i in 0..cases {
        all.push((format!("mutant-{i}"), mutate(&mut rng, &seeds)));
    }
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..all.len()).map(|i| format!("{i}.pkl")).collect();
    for (n, (_, data)) in names.iter().zip(&all) {
        std::fs::write(dir.path().join(n), data).unwrap();
    }
    let results = run_pickle_oracle(dir.path(), &names);
    assert_eq!(results.len(), all.len());
    let mut misses = Vec::new();
    let mut parted = 0;
    for ((name, data), paths) in all.iter().zip(&results) {
        let set = |p: &PathResult| p.imports.iter().cloned().collect::<BTreeSet<_>>();
        if set(&paths[0]) != set(&paths[2]) {
            parted += 1;
        }
        if let Some(m) = check(name, data, paths) {
            // Keep the input: a differential found is a regression test.
            let keep = Path::new("target/oracle-misses");
            std::fs::create_dir_all(keep).unwrap();
            std::fs::write(keep.join(name.replace('/', "_")), data).unwrap();
            misses.push(m);
        }
    }
    eprintln!(
        "oracle: {} cases ({} seeds), {parted} where loads and load(file) without peek import differently",
        all.len(),
        seeds.len()
    );
    assert!(
        misses.is_empty(),
        "{} of {} cases missed (inputs in target/oracle-misses):\n{}",
        misses.len(),
        all.len(),
        misses
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}
