//! The STRING opcode oracle: CPython's C unpickler reads protocol-0 `S'...'` lines (Python 2's
//! `str`) with random escapes, quotes and raw bytes (tests/oracle/string_escape_oracle.py,
//! standard library only); modelgate's machine must read the same value wherever CPython
//! does, and refuse exactly what CPython refuses. The value is observed as the module name of
//! a STACK_GLOBAL that takes it.

use modelgate::inspect::pickle::machine::{run, Events, PickleLimits, Src};
use std::process::Command;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn string_escapes_read_as_cpython_reads_them() {
    let out = std::env::temp_dir().join(format!("mg-string-escapes-{}.txt", std::process::id()));
    let status = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/oracle/string_escape_oracle.py"
        ))
        .args(["7", "20000"])
        .arg(&out)
        .status()
        .expect("python3 runs");
    assert!(status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let (mut differ, mut n, mut accepted) = (Vec::new(), 0, 0);
    for line in text.lines() {
        let mut it = line.split(' ');
        let p = hex(it.next().unwrap());
        let cpython = it.next().unwrap();
        let want = it.next().map(hex);
        // The STRING line, then 'x' and STACK_GLOBAL: the string becomes the module name.
        let nl = p.iter().position(|&b| b == b'\n').unwrap();
        let mut q = vec![0x80, 4];
        q.extend(&p[..=nl]);
        q.extend([0x8c, 1, b'x', 0x93, b'.']);
        let mut ev = Events::default();
        let mut r: &[u8] = &q;
        let mut src = Src::new(&mut r, Some(q.len() as u64));
        run(&mut src, &PickleLimits::default(), &mut ev);
        let ours: Option<Vec<u8>> = ev
            .imports
            .first()
            .map(|i| i.module.chars().map(|c| c as u32 as u8).collect());
        n += 1;
        let same = match (cpython, &want, &ours) {
            ("ok", Some(w), Some(o)) => w == o,
            ("err", _, None) => true,
            _ => false,
        };
        accepted += usize::from(cpython == "ok");
        if !same {
            differ.push(line.to_string());
        }
    }
    println!(
        "{n} STRING opcodes, {accepted} accepted by CPython; {} differ",
        differ.len()
    );
    assert!(differ.is_empty(), "{:#?}", &differ[..differ.len().min(10)]);
}
