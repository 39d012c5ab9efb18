//! The .npy header oracle: numpy's own header reader (tests/oracle/npy_oracle.py, numpy
//! installed into target/npy-venv) on generated headers that spell dtypes every way
//! `ast.literal_eval` allows. Wherever numpy reads an object dtype, modelgate must too (and
//! analyse the data as a pickle); wherever numpy reads a plain dtype, modelgate must not cry
//! object.

mod common;

use modelgate::inspect::numpy::parse_header;

use common::Rng;

/// `s` as a Python string literal, spelled at random: quotes, prefixes, escapes, and split
/// into adjacent literals.
fn spell(rng: &mut Rng, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    loop {
        let take = if chars.len() - i <= 1 || rng.below(3) > 0 {
            chars.len() - i
        } else {
            1 + rng.below(chars.len() - i - 1)
        };
        let q = if rng.below(2) == 0 { '\'' } else { '"' };
        let prefix = ["", "", "u", "U"][rng.below(4)];
        out.push_str(prefix);
        out.push(q);
        for &c in &chars[i..i + take] {
            match rng.below(6) {
                0 => out.push_str(&format!("\\x{:02x}", c as u32)),
                1 => out.push_str(&format!("\\{:03o}", c as u32)),
                2 => out.push_str(&format!("\\u{:04x}", c as u32)),
                _ => out.push(c),
            }
        }
        out.push(q);
        i += take;
        if i >= chars.len() {
            break;
        }
        out.push_str([" ", "", "\n ", " # c\n"][rng.below(4)]);
    }
    if rng.below(5) == 0 {
        out = format!("({out})");
    }
    out
}

const PLAIN: &[&str] = &[
    "<f8", "<i4", "|b1", "|u1", "<c16", "|S5", "<U3", "V8", "<f2", "(2,)<f4", "i4, f8",
];
const OBJECT: &[&str] = &["|O", "O", "object", "O8", "i4, O", "(2,)O", "<f8,|O"];

fn dtype(rng: &mut Rng, object: bool) -> String {
    let base = |rng: &mut Rng, obj: bool| {
        let list = if obj { OBJECT } else { PLAIN };
        list[rng.below(list.len())].to_string()
    };
    match rng.below(4) {
        // A structured dtype, the object field anywhere.
        0 => {
            let n = 1 + rng.below(3);
            let at = rng.below(n);
            let fields: Vec<String> = (0..n)
                .map(|k| {
                    let name = ["a", "O", "b", "object"][rng.below(4)];
                    let t = base(rng, object && k == at);
                    let shape = if rng.below(3) == 0 { ", (2,)" } else { "" };
                    format!("({}, {}{shape})", spell(rng, name), spell(rng, &t))
                })
                .collect();
            format!("[{}]", fields.join(", "))
        }
        // (base, shape)
        1 => {
            let t = base(rng, object);
            format!("({}, ({},))", spell(rng, &t), 1 + rng.below(3))
        }
        _ => {
            let t = base(rng, object);
            spell(rng, &t)
        }
    }
}

fn header(rng: &mut Rng) -> (String, bool) {
    let object = rng.below(2) == 0;
    let key = |rng: &mut Rng, k: &str| spell(rng, k);
    let mut entries = vec![
        format!("{}: {}", key(rng, "descr"), dtype(rng, object)),
        format!(
            "{}: {}",
            key(rng, "fortran_order"),
            ["False", "True"][rng.below(2)]
        ),
        format!("{}: ({},)", key(rng, "shape"), 1 + rng.below(4)),
    ];
    // A duplicate descr: the last one is what numpy uses.
    if rng.below(4) == 0 {
        let decoy = format!("{}: {}", key(rng, "descr"), dtype(rng, !object));
        entries.insert(0, decoy);
    }
    if rng.below(2) == 0 {
        let last = entries.pop().unwrap();
        entries.insert(1, last);
    }
    (format!("{{{}, }}", entries.join(", ")), object)
}

fn npy(header: &str) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    let total = 10 + h.len() + 1;
    let pad = (64 - total % 64) % 64;
    h.extend(std::iter::repeat_n(b' ', pad));
    h.push(b'\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend((h.len() as u16).to_le_bytes());
    v.extend(h);
    v
}

#[test]
fn modelgate_reads_npy_headers_as_numpy_does() {
    let Some(python) = common::oracle_python(
        "the numpy oracle",
        "npy-venv",
        "tests/oracle/npy_requirements.txt",
    ) else {
        return;
    };
    let cases = common::oracle_cases(2000);
    let mut rng = Rng(0x6e70_795f_6f72_6163);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..cases {
        let (h, _) = header(&mut rng);
        let data = npy(&h);
        let p = dir.path().join(format!("{i}.npy"));
        std::fs::write(&p, &data).unwrap();
        files.push((p, h, data));
    }
    let paths = files.iter().map(|f| f.0.display().to_string()).collect();
    let lines = common::run_oracle(&python, "tests/oracle/npy_oracle.py", paths);
    assert_eq!(lines.len(), files.len());
    let (mut read, mut objects, mut misses) = (0, 0, Vec::new());
    for ((_, h, data), o) in files.iter().zip(&lines) {
        let Some(obj) = o["object"].as_bool() else {
            continue;
        };
        read += 1;
        objects += usize::from(obj);
        match parse_header(data) {
            Ok(m) if m.object == obj => {}
            Ok(m) => misses.push(format!(
                "{h}\n  numpy object={obj}, modelgate object={}",
                m.object
            )),
            Err(e) => misses.push(format!(
                "{h}\n  numpy reads it (object={obj}), modelgate: {e}"
            )),
        }
    }
    eprintln!(
        "npy oracle: {} headers, numpy read {read} ({objects} object dtypes)",
        files.len()
    );
    assert!(
        read > files.len() / 2,
        "most generated headers should be valid"
    );
    common::assert_no_misses(&misses, 5);
}
