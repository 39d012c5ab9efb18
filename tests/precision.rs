//! Bytes no loader unpickles are not pickles: real files whose data happens to read as
//! opcodes must pass.

mod common;

use common::*;
use modelgate::finding::Severity;

fn failing(f: &[modelgate::finding::Finding]) -> Vec<&modelgate::finding::Finding> {
    f.iter()
        .filter(|f| f.severity >= Severity::Warning)
        .collect()
}

/// A torch.save zip checkpoint of `n` tensors whose storages hold `data(i)`.
fn torch_zip(n: usize, mut data: impl FnMut(usize) -> Vec<u8>) -> Vec<u8> {
    let mut pkl = b"\x80\x02}q\x00(".to_vec();
    for i in 0..n {
        let key = format!("layer{i}.weight");
        pkl.push(b'X');
        pkl.extend((key.len() as u32).to_le_bytes());
        pkl.extend(key.as_bytes());
        pkl.extend(
            b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n",
        );
        let id = i.to_string();
        pkl.push(b'X');
        pkl.extend((id.len() as u32).to_le_bytes());
        pkl.extend(id.as_bytes());
        pkl.extend(b"X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR");
    }
    pkl.extend(b"u.");
    let storages: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| (format!("archive/data/{i}"), data(i)))
        .collect();
    let mut members: Vec<(&str, &[u8])> =
        vec![("archive/data.pkl", &pkl), ("archive/version", b"3\n")];
    for (name, d) in &storages {
        members.push((name, d));
    }
    zip(&members)
}

#[test]
fn torch_storages_are_raw_bytes() {
    // 300 storages of pseudo-random floats; every first byte value occurs, 0x80-0x84
    // (PROTO, NEWOBJ, EXT1/2/4) among them, and some read as a whole pickle.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let f = inspect_bytes(
        "pytorch_model.bin",
        &torch_zip(300, |i| {
            let mut d: Vec<u8> = (0..16)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            d[0] = i as u8;
            match i % 5 {
                0 => d[..5].copy_from_slice(b"\x82\x46\r\r\r"),
                1 => d[..4].copy_from_slice(b"\x80\x02N."),
                2 => d[..5].copy_from_slice(b"cos\ns"),
                _ => {}
            }
            d
        }),
    );
    assert!(failing(&f).is_empty(), "{f:#?}");
}

#[test]
fn random_bytes_are_not_a_pickle() {
    for data in [
        &b"\x82\x46\r\r\r"[..],
        b"\x83\x01\x00N.",
        b"\x84\x01\x00\x00\x00",
        b"PK\x01\x02 not a zip",
    ] {
        let f = inspect_bytes("x.bin", data);
        assert!(failing(&f).is_empty(), "{data:?}: {f:#?}");
    }
}

#[test]
fn numpy_scalar_bytes_are_data() {
    // numpy.core.multiarray.scalar(dtype('f8'), b'\x80\x03...'): the 8 bytes of a float that
    // begin like PROTO 3 are the scalar's value, not a pickle.
    for raw in [
        &b"\x80\x03N.\x00\x00\x00\x00"[..],
        b"\x80\x03\x82\x01\x00\x00\xf0?",
    ] {
        let mut p = b"\x80\x02cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x08".to_vec();
        p.extend(raw);
        p.extend(b"\x86R.");
        let f = inspect_bytes("x.pkl", &p);
        assert!(failing(&f).is_empty(), "{raw:?}: {f:#?}");
    }
}

/// `getattr(ZoneInfo, '_unpickle')` is how protocols before 4 write a classmethod (every
/// tz-aware pandas column): allowed in exactly that form, where what it reaches is judged as the
/// `zoneinfo.ZoneInfo._unpickle` import. Any other use of getattr stays critical.
#[test]
fn getattr_of_an_imported_class_is_judged_by_what_it_reaches() {
    use modelgate::finding::Code;
    // getattr(ZoneInfo, '_unpickle')('Europe/Paris', 1), twice through the memo.
    let tz = b"\x80\x02cbuiltins\ngetattr\nq\x00czoneinfo\nZoneInfo\nq\x01X\x09\x00\x00\x00_unpickle\x86R\
X\x0c\x00\x00\x00Europe/ParisK\x01\x86Rh\x00h\x01X\x09\x00\x00\x00_unpickle\x86RX\x03\x00\x00\x00UTCK\x01\x86R\x86.";
    let f = inspect_bytes("tz.pkl", tz);
    assert!(f.is_empty(), "{f:#?}");
    // The same getattr reaching os.system through an imported module: critical.
    let evil = b"\x80\x02cbuiltins\ngetattr\ncos\nsystem\nX\x06\x00\x00\x00system\x86R.";
    let f = inspect_bytes("evil.pkl", evil);
    assert!(
        f.iter().any(|f| f.code == Code::PickleDangerousImport),
        "{f:#?}"
    );
    // getattr also used another way (here: kept in a list) stays critical.
    let other = b"\x80\x02cbuiltins\ngetattr\nq\x00czoneinfo\nZoneInfo\nX\x09\x00\x00\x00_unpickle\x86R0]h\x00a.";
    let f = inspect_bytes("other.pkl", other);
    assert!(
        f.iter()
            .any(|f| f.code == Code::PickleDangerousImport && f.evidence["name"] == "getattr"),
        "{f:#?}"
    );
    // A dunder reached through getattr(Class, ...) is a traversal.
    let dunder =
        b"\x80\x02cbuiltins\ngetattr\nczoneinfo\nZoneInfo\nX\x08\x00\x00\x00__init__\x86R.";
    let f = inspect_bytes("dunder.pkl", dunder);
    assert!(
        f.iter().any(|f| f.code == Code::PickleDangerousImport),
        "{f:#?}"
    );
}

/// A TFLite model with metadata: the flatbuffer, then its associated files as a zip. That is
/// the format, not a polyglot; the zip's members are still inspected.
#[test]
fn tflite_metadata_zip_is_not_a_polyglot() {
    let mut model = vec![0x1c, 0, 0, 0];
    model.extend(b"TFL3");
    model.extend(vec![0u8; 200]);
    let mut clean = model.clone();
    clean.extend(zip(&[("labels.txt", b"cat\ndog\n")]));
    let f = inspect_bytes("model.tflite", &clean);
    assert!(failing(&f).is_empty(), "{f:#?}");
    let mut evil = model;
    evil.extend(zip(&[("labels.pkl", &call("os", "system", "id"))]));
    let f = inspect_bytes("model.tflite", &evil);
    assert!(
        f.iter()
            .any(|f| f.code == modelgate::finding::Code::PickleDangerousImport),
        "{f:#?}"
    );
}

/// A text file whose first line starts with an opcode letter ("cat" reads as GLOBAL at.dog) is
/// read by its loader as text: not a pickle unless it is a complete one or imports something
/// denylisted. The same bytes in a file named as a pickle stay reported.
#[test]
fn text_files_that_read_as_opcodes_are_text() {
    use modelgate::finding::Code;
    let labels = b"cat\ndog\nbird\n";
    assert!(failing(&inspect_bytes("labels.txt", labels)).is_empty());
    assert!(!failing(&inspect_bytes("labels.pkl", labels)).is_empty());
    let payload = b"cos\nsystem\n(S'id'\ntR.";
    let f = inspect_bytes("labels.txt", payload);
    assert!(
        f.iter().any(|f| f.code == Code::PickleDangerousImport),
        "{f:#?}"
    );
    let cut = b"cos\nsystem\nbird\n";
    let f = inspect_bytes("labels.txt", cut);
    assert!(
        f.iter().any(|f| f.code == Code::PickleDangerousImport),
        "{f:#?}"
    );
}
