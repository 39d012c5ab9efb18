//! Attack classes on pickles and containers, built in Rust, with the exact findings expected.

mod common;
use common::*;
use modelgate::finding::{Code, Severity};
use modelgate::inspect::Limits;
use std::io::Write;

#[test]
fn clean_protocol4_dict_has_no_findings() {
    let p = P::new()
        .proto(4)
        .op(b'}')
        .memoize()
        .short_unicode("a")
        .op(b'K')
        .op(1)
        .op(b's')
        .stop()
        .build();
    assert!(inspect_bytes("x.pkl", &p).is_empty());
}

#[test]
fn allowlisted_torch_globals_pass_unknown_ones_fail() {
    let ok = P::new()
        .proto(2)
        .global("collections", "OrderedDict")
        .empty_tuple()
        .reduce()
        .stop()
        .build();
    assert!(inspect_bytes("m.pt", &ok).is_empty());
    let f = inspect_bytes("m.pt", &call("__main__", "Net", "x"));
    assert_eq!(codes(&f), vec![Code::PickleUnknownImport]);
    assert_eq!(f[0].severity, Severity::Error);
    assert_eq!(f[0].evidence["invoked"], true);
}

#[test]
fn stack_global_operands_from_memo() {
    let p = P::new()
        .proto(4)
        .short_unicode("subprocess")
        .memoize()
        .short_unicode("Popen")
        .memoize()
        .op(b'0')
        .op(b'0')
        .get(0)
        .get(1)
        .stack_global()
        .short_unicode("ls")
        .tuple1()
        .reduce()
        .stop()
        .build();
    let f = inspect_bytes("x.pkl", &p);
    assert_eq!(codes(&f), vec![Code::PickleDangerousImport]);
    assert_eq!(f[0].evidence["module"], "subprocess");
    assert_eq!(f[0].evidence["name"], "Popen");
    assert_eq!(f[0].evidence["opcode"], "STACK_GLOBAL");
}

#[test]
fn dangerous_import_without_call_is_still_critical() {
    // os.system pushed and left unused: a later allowlisted call could receive it.
    let p = P::new()
        .proto(2)
        .global("os", "system")
        .op(b'0')
        .op(b'N')
        .stop()
        .build();
    let f = inspect_bytes("x.pkl", &p);
    assert_eq!(codes(&f), vec![Code::PickleDangerousImport]);
    assert_eq!(f[0].evidence["invoked"], false);
}

#[test]
fn ext_opcode_and_build_on_global() {
    let p = P::new().proto(2).raw(&[0x82, 7]).stop().build();
    assert_eq!(
        codes(&inspect_bytes("x.pkl", &p)),
        vec![Code::PickleExtensionCode]
    );
    let p = P::new()
        .proto(2)
        .global("collections", "OrderedDict")
        .op(b'}')
        .op(b'b')
        .stop()
        .build();
    assert_eq!(
        codes(&inspect_bytes("x.pkl", &p)),
        vec![Code::PickleBuildOnGlobal]
    );
}

#[test]
fn nested_pickle_in_bytes_argument() {
    let inner = call("os", "system", "echo");
    let p = P::new()
        .proto(3)
        .global("torch.storage", "_load_from_bytes")
        .bytes(&inner)
        .tuple1()
        .reduce()
        .stop()
        .build();
    let f = inspect_bytes("x.pkl", &p);
    assert_eq!(
        codes(&f),
        vec![
            Code::PickleDangerousImport,
            Code::PickleDangerousImport,
            Code::PickleNested
        ]
    );
    assert_eq!(f[1].member, vec!["<nested pickle>".to_string()]);
    assert_eq!(f[1].evidence["module"], "os");
}

#[test]
fn truncated_stream_reports_what_ran() {
    let mut p = call("os", "system", "echo");
    p.pop(); // no STOP
    let f = inspect_bytes("x.pkl", &p);
    assert_eq!(
        codes(&f),
        vec![Code::PickleDangerousImport, Code::PickleParseError]
    );
    assert_eq!(f[1].evidence["after_dangerous_import"], true);
}

#[test]
fn broken_pickle_without_imports_is_information() {
    // Every unpickler raises where the stream breaks, having imported and called nothing
    // (the machine stops only where _pickle.c does): no loader reaches code here. Issue 24:
    // raw weights that start like a pickle failed the gate.
    let f = inspect_bytes("x.pkl", b"\x80\x02]q\x00(K\x01");
    assert_eq!(codes(&f), vec![Code::PickleParseError]);
    assert_eq!(f[0].severity, Severity::Info);
    assert_eq!(f[0].evidence["reached_import"], false);
    // An import before the break keeps it an error, allowed or not.
    let f = inspect_bytes("x.pkl", b"\x80\x02cnumpy\ndtype\nq\x00(K\x01");
    let e: Vec<_> = f
        .iter()
        .filter(|f| f.code == Code::PickleParseError)
        .collect();
    assert_eq!(e.len(), 1, "{f:#?}");
    assert_eq!(e[0].severity, Severity::Error);
}

#[test]
fn text_files_are_not_pickles_but_payloads_without_magic_are() {
    // Python is code (reported as such, never as a pickle).
    assert_eq!(
        codes(&inspect_bytes(
            "model.py",
            b"class Net(Module):\n    pass\n"
        )),
        vec![Code::PythonCode]
    );
    assert!(inspect_bytes("notes.txt", b"import os\nprint(1)\n").is_empty());
    let f = inspect_bytes("notes.txt", b"cos\nsystem\n(S'echo'\ntR.");
    assert_eq!(
        codes(&f),
        vec![Code::PickleDangerousImport, Code::FormatMismatch]
    );
}

#[test]
fn stack_limit_is_a_finding_not_an_oom() {
    let mut limits = Limits::default();
    limits.pickle.max_stack = 1000;
    let mut p = P::new().proto(2).build();
    p.extend(std::iter::repeat_n(b'N', 5000));
    p.push(b'.');
    let f = inspect_bytes_with("x.pkl", &p, &limits);
    assert_eq!(codes(&f), vec![Code::LimitExceeded]);
}

#[test]
fn zip_member_pickle_by_content_whatever_its_name() {
    let z = zip(&[
        ("weights/tensor_0", &call("os", "system", "x")),
        ("readme.txt", b"hello"),
    ]);
    let f = inspect_bytes("model.zip", &z);
    assert_eq!(codes(&f), vec![Code::PickleDangerousImport]);
    assert_eq!(f[0].member, vec!["weights/tensor_0".to_string()]);
}

#[test]
fn zip_trailing_and_overlap() {
    let mut z = zip(&[("a.pkl", &call("collections", "OrderedDict", "x"))]);
    z.extend(b"junk after the end record");
    let f = inspect_bytes("m.zip", &z);
    assert!(codes(&f).contains(&Code::ZipTrailingData), "{f:#?}");
}

#[test]
fn decompression_bomb_is_bounded() {
    // 64 MiB of zeros in a tiny gzip; the budget is 1 MiB.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let gz = enc.finish().unwrap();
    let limits = Limits {
        max_decompressed: 1 << 20,
        ..Limits::default()
    };
    // Zeros are not a pickle, so nothing reads far: no finding, and nothing decompressed
    // beyond what identification needed.
    assert!(inspect_bytes_with("x.gz", &gz, &limits).is_empty());
    // A bomb that is a pickle (a huge BINBYTES8) reads until the budget stops it.
    let mut p = P::new()
        .proto(4)
        .raw(&[0x8e])
        .raw(&(64u64 << 20).to_le_bytes())
        .build();
    p.extend(vec![0u8; 4 << 20]);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&p).unwrap();
    let gz = enc.finish().unwrap();
    let f = inspect_bytes_with("x.pkl.gz", &gz, &limits);
    assert_eq!(codes(&f), vec![Code::LimitExceeded], "{f:#?}");
}

#[test]
fn archive_depth_is_bounded() {
    let mut data = call("os", "system", "x");
    for i in 0..20 {
        data = zip(&[(&format!("level{i}.zip"), &data)]);
    }
    let f = inspect_bytes("deep.zip", &data);
    assert!(codes(&f).contains(&Code::LimitExceeded), "{f:#?}");
}

#[test]
fn safetensors_rejections() {
    fn st(header: &str, data_len: usize) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend(header.as_bytes());
        v.extend(vec![0u8; data_len]);
        v
    }
    let ok = st(
        r#"{"__metadata__":{"a":"b"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
        8,
    );
    assert!(inspect_bytes("m.safetensors", &ok).is_empty());
    let cases: &[(&str, usize, Code)] = &[
        (
            r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            8,
            Code::SafetensorsSizeMismatch,
        ),
        (
            r#"{"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}"#,
            8,
            Code::SafetensorsDtype,
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            9,
            Code::SafetensorsTrailing,
        ),
        (
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#,
            8,
            Code::SafetensorsOffsets,
        ),
        (
            r#"{"__metadata__":{"a":1},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            8,
            Code::SafetensorsMetadata,
        ),
        (r#"{"w":1}"#, 0, Code::SafetensorsHeader),
        (
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x"#,
            8,
            Code::SafetensorsHeader,
        ),
    ];
    for (h, n, code) in cases {
        let f = inspect_bytes("m.safetensors", &st(h, *n));
        assert_eq!(codes(&f), vec![*code], "{h}: {f:#?}");
    }
    let gap = st(
        r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#,
        6,
    );
    assert_eq!(
        codes(&inspect_bytes("m.safetensors", &gap)),
        vec![Code::SafetensorsOffsets]
    );
    let overlap = st(
        r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#,
        4,
    );
    assert_eq!(
        codes(&inspect_bytes("m.safetensors", &overlap)),
        vec![Code::SafetensorsOffsets]
    );
    // Not a JSON object at all: not safetensors by content, so only the name disagrees.
    assert_eq!(
        codes(&inspect_bytes("m.safetensors", &st("[1,2]", 0))),
        vec![Code::FormatMismatch]
    );
    let mut huge = (1u64 << 39).to_le_bytes().to_vec();
    huge.extend(b"{}");
    assert_eq!(
        codes(&inspect_bytes("m.safetensors", &huge)),
        vec![Code::SafetensorsHeader]
    );
}

#[test]
fn lfs_pointer_fails_closed() {
    let p = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n";
    let f = inspect_bytes("pytorch_model.bin", p);
    assert_eq!(codes(&f), vec![Code::LfsPointer]);
    assert_eq!(f[0].severity, Severity::Error);
}

/// Bit flips, truncations and splices of every real fixture: no panic, no hang.
#[test]
fn mutated_fixtures_never_panic() {
    let mut files = Vec::new();
    for root in ["testdata/benign", "testdata/malicious"] {
        let w = modelgate::walk::walk(&[std::path::PathBuf::from(root)]).unwrap();
        files.extend(
            w.tasks
                .into_iter()
                .map(|t| std::fs::read(t.fs_path).unwrap()),
        );
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let limits = Limits::default();
    for data in &files {
        for _ in 0..40 {
            let mut d = data.clone();
            match next() % 3 {
                0 => {
                    for _ in 0..1 + next() % 8 {
                        let i = (next() as usize) % d.len().max(1);
                        if let Some(b) = d.get_mut(i) {
                            *b ^= 1 << (next() % 8);
                        }
                    }
                }
                1 => d.truncate((next() as usize) % d.len().max(1)),
                _ => {
                    let other = &files[(next() as usize) % files.len()];
                    let at = (next() as usize) % d.len().max(1);
                    d.splice(at..at, other.iter().take(300).copied());
                }
            }
            let _ = modelgate::inspect::inspect_bytes("mutant", &d, &limits);
        }
    }
}

/// Each of these once stopped the analysis where CPython's unpickler goes on; the import after
/// the stop must still be seen.
#[test]
fn no_early_stop_where_the_c_unpickler_continues() {
    let tail = P::new()
        .global("os", "system")
        .unicode("echo")
        .tuple1()
        .reduce()
        .stop()
        .build();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // REDUCE whose args tuple is itself a call result (builtins.tuple([])).
        (
            "computed args",
            P::new()
                .proto(2)
                .global("collections", "OrderedDict")
                .global("builtins", "tuple")
                .op(b']')
                .tuple1()
                .reduce()
                .reduce()
                .op(b'0')
                .raw(&tail)
                .build(),
        ),
        // APPEND whose list sits below the mark (do_append ignores the fence).
        (
            "append below mark",
            P::new()
                .proto(2)
                .op(b']')
                .op(b'(')
                .op(b'N')
                .op(b'a')
                .op(b'0')
                .op(b'0')
                .raw(&tail)
                .build(),
        ),
        // INT with a base prefix, GET index with an underscore.
        (
            "int base prefix",
            P::new()
                .proto(2)
                .raw(b"I0x10\n")
                .op(b'0')
                .raw(&tail)
                .build(),
        ),
        (
            "get underscore",
            P::new()
                .proto(2)
                .op(b'N')
                .raw(b"p1_0\n")
                .raw(b"g1_0\n")
                .op(b'0')
                .op(b'0')
                .raw(&tail)
                .build(),
        ),
        (
            "float forms",
            P::new()
                .proto(2)
                .raw(b"F1_000.5\n")
                .op(b'0')
                .raw(&tail)
                .build(),
        ),
        (
            "unicode escape",
            P::new()
                .proto(2)
                .raw(b"V\\\\uZZ\n")
                .op(b'0')
                .raw(&tail)
                .build(),
        ),
    ];
    for (what, p) in cases {
        let f = inspect_bytes("x.pkl", &p);
        assert!(
            f.iter()
                .any(|f| f.code == Code::PickleDangerousImport && f.evidence["module"] == "os"),
            "{what}: {f:#?}"
        );
    }
}

#[test]
fn stack_global_with_computed_operands_is_critical() {
    // STACK_GLOBAL(builtins.str('os'), builtins.str('system')): names known only at load time.
    let p = P::new()
        .proto(4)
        .global("builtins", "str")
        .short_unicode("o")
        .tuple1()
        .reduce()
        .global("builtins", "str")
        .empty_tuple()
        .reduce()
        .stack_global()
        .stop()
        .build();
    let f = inspect_bytes("x.pkl", &p);
    assert_eq!(codes(&f), vec![Code::PickleDangerousImport], "{f:#?}");
    assert_eq!(f[0].evidence["name"], "<computed at load time>");
    // An allowlisted class's instance is never an exact str: CPython raises "STACK_GLOBAL
    // requires str" and imports nothing.
    let p = P::new()
        .proto(4)
        .global("builtins", "str")
        .short_unicode("o")
        .tuple1()
        .reduce()
        .global("collections", "OrderedDict")
        .empty_tuple()
        .reduce()
        .stack_global()
        .stop()
        .build();
    let f = inspect_bytes("x.pkl", &p);
    assert_eq!(codes(&f), vec![Code::PickleParseError], "{f:#?}");
    assert_eq!(f[0].evidence["error"], "STACK_GLOBAL requires str");
    // builtins.str of a literal is followed through.
    let p = P::new()
        .proto(4)
        .global("builtins", "str")
        .short_unicode("os")
        .tuple1()
        .reduce()
        .short_unicode("system")
        .stack_global()
        .stop()
        .build();
    let f = inspect_bytes("x.pkl", &p);
    assert_eq!(f[0].evidence["module"], "os");
}

#[test]
fn pickle_at_the_start_of_another_format_is_found() {
    // A tar whose first header's name field is a protocol-0 pickle: tarfile reads a tar,
    // pickle.load runs the name.
    let payload = b"cos\nsystem\n(S'echo'\ntR.";
    let mut h = [0u8; 512];
    h[..payload.len()].copy_from_slice(payload);
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = h.to_vec();
    tar.extend([0u8; 1024]);
    let f = inspect_bytes("model.pkl", &tar);
    assert!(codes(&f).contains(&Code::PickleDangerousImport), "{f:#?}");
}

#[test]
fn npy_object_dtype_hidden_by_duplicate_key_or_tuple() {
    fn npy(header: &str, tail: &[u8]) -> Vec<u8> {
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend((header.len() as u16).to_le_bytes());
        v.extend(header.as_bytes());
        v.extend(tail);
        v
    }
    let payload = call("os", "system", "x");
    for h in [
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'descr': '|O'}\n",
        "{'descr': ('|O', (2,)), 'fortran_order': False, 'shape': (1,), }\n",
        "{'descr': 'object', 'fortran_order': False, 'shape': (1,), }\n",
    ] {
        let f = inspect_bytes("a.npy", &npy(h, &payload));
        assert!(
            codes(&f).contains(&Code::PickleDangerousImport),
            "{h}: {f:#?}"
        );
    }
}

/// joblib skips the bytes after a NumpyArrayWrapper as array data; pickle.load runs them.
#[test]
fn payload_hidden_in_joblib_array_data() {
    let payload = b"cos\nsystem\n(S'echo'\ntR0";
    let p = P::new()
        .proto(4)
        .short_unicode("joblib.numpy_pickle")
        .short_unicode("NumpyArrayWrapper")
        .stack_global()
        .empty_tuple()
        .op(0x81) // NEWOBJ
        .op(b'}')
        .op(b'(')
        .short_unicode("shape")
        .op(b'K')
        .op(payload.len() as u8)
        .tuple1()
        .short_unicode("dtype")
        .short_unicode("numpy")
        .short_unicode("dtype")
        .stack_global()
        .short_unicode("u1")
        .tuple1()
        .reduce()
        .op(b'u')
        .op(b'b') // BUILD: joblib now reads the raw bytes
        .raw(payload)
        .stop()
        .build();
    let f = inspect_bytes("model.joblib", &p);
    let hit = f
        .iter()
        .find(|f| f.code == Code::PickleDangerousImport)
        .expect("payload in array data must be found");
    assert_eq!(hit.evidence["reading"], "pickle.load");
    assert_eq!(hit.evidence["module"], "os");
}

fn gguf(template: &str, truncate: usize) -> Vec<u8> {
    let mut v = b"GGUF".to_vec();
    v.extend(3u32.to_le_bytes());
    v.extend(0u64.to_le_bytes()); // tensors
    v.extend(2u64.to_le_bytes()); // key/values
    let key = |v: &mut Vec<u8>, k: &str| {
        v.extend((k.len() as u64).to_le_bytes());
        v.extend(k.as_bytes());
    };
    key(&mut v, "general.name");
    v.extend(8u32.to_le_bytes());
    v.extend(3u64.to_le_bytes());
    v.extend(b"toy");
    key(&mut v, "tokenizer.chat_template");
    v.extend(8u32.to_le_bytes());
    v.extend((template.len() as u64).to_le_bytes());
    v.extend(template.as_bytes());
    v.truncate(v.len() - truncate);
    v
}

#[test]
fn gguf_templates() {
    let benign = "{% set ns = namespace(x=1) %}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{% endfor %}";
    assert!(inspect_bytes("m.gguf", &gguf(benign, 0)).is_empty());
    let evil = "{{ cycler.__init__.__globals__.os.popen('id').read() }}";
    let f = inspect_bytes("m.gguf", &gguf(evil, 0));
    assert_eq!(codes(&f), vec![Code::GgufTemplateInjection]);
    let f = inspect_bytes("m.gguf", &gguf(benign, 5));
    assert_eq!(codes(&f), vec![Code::GgufMalformed]);
    assert_eq!(f[0].severity, Severity::Error);
}

#[test]
fn keras_configs() {
    let ok = br#"{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "Dense", "config": {"name": "d"}}]}}"#;
    assert!(inspect_bytes("config.json", ok).is_empty());
    let k2_lambda = br#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAA==", null, null], "function_type": "lambda"}}]}}"#;
    assert_eq!(
        codes(&inspect_bytes("config.json", k2_lambda)),
        vec![Code::KerasLambdaLayer]
    );
    // The same config in a file whose HDF5 structure cannot be read: reported, and the
    // config is still found by the text search run as a second view.
    let mut h5 = b"\x89HDF\r\n\x1a\n".to_vec();
    h5.extend(vec![0u8; 300]);
    h5.extend_from_slice(k2_lambda);
    h5.extend(vec![0u8; 300]);
    assert_eq!(
        codes(&inspect_bytes("model.h5", &h5)),
        vec![Code::Hdf5Malformed, Code::KerasLambdaLayer]
    );
    // Nested as deep as Python reads (serde_json stopped at 128 levels), it is walked; a
    // config.json nested deeper than this reader goes is reported, never taken for "not a
    // config".
    let nested = |d: usize| {
        format!(
            "{{\"class_name\": \"Sequential\", \"config\": {}1{}}}",
            "[".repeat(d),
            "]".repeat(d)
        )
    };
    assert!(inspect_bytes("config.json", nested(900).as_bytes()).is_empty());
    let deep = nested(modelgate::inspect::pyjson::MAX_DEPTH);
    assert_eq!(
        codes(&inspect_bytes("config.json", deep.as_bytes())),
        vec![Code::KerasConfigMalformed]
    );
    // Keras components only: a public utility named as a function, or a path to read, is not.
    let gadget = br#"{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "activation": {"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization", "registered_name": "function"}}}]}}"#;
    let f = inspect_bytes("config.json", gadget);
    assert_eq!(codes(&f), vec![Code::KerasUnlistedObject]);
    assert_eq!(f[0].evidence["name"], "enable_unsafe_deserialization");
    let builtin = br#"{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "activation": {"module": "builtins", "class_name": "function", "config": "gelu", "registered_name": "function"}}}]}}"#;
    assert!(inspect_bytes("config.json", builtin).is_empty());
    let url = br#"{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "TextVectorization", "config": {"name": "t", "vocabulary": "https://example.com/v.txt"}}]}}"#;
    assert_eq!(
        codes(&inspect_bytes("config.json", url)),
        vec![Code::KerasExternalReference]
    );
}

/// Zips inside gzip inside zips: every level needs its buffer, and all of them share one
/// budget per file, so nesting cannot stack memory.
#[test]
fn nested_compressed_zips_share_one_buffer_budget() {
    use std::io::Write;
    let mut data = call("os", "system", "x");
    for i in 0..4 {
        // Padding inside each zip: every level's buffer is 300 KiB larger than the last.
        let pad = vec![0u8; 300 << 10];
        let z = zip(&[(&format!("l{i}.pkl"), &data), ("pad.bin", &pad)]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&z).unwrap();
        data = gz.finish().unwrap();
    }
    // Enough for the first buffers, not for all of them at once.
    let limits = Limits {
        max_materialize: 1 << 20,
        ..Limits::default()
    };
    let f = inspect_bytes_with("deep.gz", &data, &limits);
    assert!(codes(&f).contains(&Code::LimitExceeded), "{f:#?}");
    // With the default budget the payload at the bottom is found.
    let f = inspect_bytes("deep.gz", &data);
    assert!(codes(&f).contains(&Code::PickleDangerousImport), "{f:#?}");
}

/// Nested, never-closed Keras config candidates: validation is bounded by a budget, and no
/// JSON tree is built for them.
#[test]
fn keras_candidate_flood_is_bounded() {
    let mut h5 = b"\x89HDF\r\n\x1a\n".to_vec();
    h5.extend([0u8; 64]);
    for _ in 0..100 {
        h5.extend_from_slice(br#"{"class_name": "X", "config": ["#);
        h5.extend("1,".repeat(20_000).as_bytes());
    }
    let limits = Limits {
        max_config_parse: 8 << 20,
        ..Limits::default()
    };
    let f = inspect_bytes_with("m.h5", &h5, &limits);
    assert!(codes(&f).contains(&Code::LimitExceeded), "{f:#?}");
}

/// A legacy tar checkpoint (torch before 0.4) as `legacy_load` reads it: the `storages` and
/// `tensors` members interleave pickles with raw bytes.
fn legacy_tar(storage_views: &[u8], raw: &[u8]) -> Vec<u8> {
    let mut storages = b"\x80\x02K\x01.".to_vec();
    storages
        .extend(b"\x80\x02(X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\nFloatStorage\ntq\x00.");
    storages.extend(((raw.len() / 4) as i64).to_le_bytes());
    storages.extend(raw);
    storages.extend(storage_views);
    let mut tensors = b"\x80\x02K\x01.".to_vec();
    tensors.extend(b"\x80\x02(X\x01\x00\x00\x000X\x01\x00\x00\x000ctorch\nFloatTensor\ntq\x00.");
    tensors.extend(1i32.to_le_bytes());
    tensors.extend([0u8; 4]);
    tensors.extend(2i64.to_le_bytes());
    tensors.extend(1i64.to_le_bytes());
    tensors.extend(0i64.to_le_bytes());
    common::tar(&[
        ("sys_info", b"\x80\x02}q\x00."),
        (
            "pickle",
            b"\x80\x02}X\x06\x00\x00\x00weightX\x01\x00\x00\x000Qs.",
        ),
        ("storages", &storages),
        ("tensors", &tensors),
    ])
}

#[test]
fn legacy_tar_checkpoints_are_read_as_legacy_load_reads_them() {
    // Raw storage bytes that read as opcodes are never taken for a pickle.
    let clean = legacy_tar(b"\x80\x02].", b"cos\nsyst");
    let f = inspect_bytes("model.pt", &clean);
    assert!(f.iter().all(|f| f.severity < Severity::Warning), "{f:#?}");
    // The pickle after the raw bytes runs: its payload is found.
    let bad = legacy_tar(
        b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00echo\x85R.",
        b"\0\0\0\0\0\0\0\0",
    );
    let f = inspect_bytes("model.pt", &bad);
    let hit = f
        .iter()
        .find(|f| f.code == Code::PickleDangerousImport)
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(hit.member, vec!["storages".to_string()]);
    assert_eq!(hit.evidence["module"], "posix");
}

#[test]
fn joblib_dtype_flags_decide_whether_array_data_is_a_pickle() {
    // A NumpyArrayWrapper whose dtype says 'f8' but whose state sets NPY_ITEM_HASOBJECT:
    // joblib reads the data with pickle.load. The payload hidden there is found.
    let mut p = b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(X\x05\x00\x00\x00dtypecnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x01tbX\x05\x00\x00\x00shapeK\x01\x85X\x05\x00\x00\x00orderX\x01\x00\x00\x00Cub".to_vec();
    p.extend(b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00echo\x85R.");
    p.extend(b".");
    let f = inspect_bytes("model.joblib", &p);
    assert!(
        f.iter().any(|f| f.code == Code::PickleDangerousImport
            && f.evidence["module"] == "posix"
            && !f.evidence.contains_key("reading")),
        "joblib.load's own reading must find it: {f:#?}"
    );
}

#[test]
fn joblib_zfile_layouts_of_every_version_are_read() {
    // joblib <= 0.8.4 wrote the hex length one character wider; zlib headers with a smaller
    // window are taken by zlib.decompress(data, 15) too.
    use flate2::write::ZlibEncoder;
    let raw = call("posix", "system", "echo");
    let mut z = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let deflated = z.finish().unwrap();
    for (what, prefix, stream) in [
        ("0.8.4, one space wider", format!("ZF0x{:x}", raw.len()), {
            let mut s = b" ".to_vec();
            s.extend(&deflated);
            s
        }),
        ("a 4 KiB window", format!("ZF0x{:x}", raw.len()), {
            // CMF 0x48 (window 2^12), FLG chosen for the check, then the same deflate data.
            // 0x480d is a multiple of 31, as zlib's header check requires.
            let mut s = vec![0x48u8, 0x0d];
            s.extend(&deflated[2..]);
            s
        }),
    ] {
        let mut file = prefix.into_bytes();
        file.resize(21, b' ');
        file.extend(stream);
        let f = inspect_bytes("model.pkl", &file);
        assert!(
            f.iter().any(|f| f.code == Code::PickleDangerousImport),
            "{what}: {f:#?}"
        );
    }
}

#[test]
fn keras_configs_read_as_json_loads_reads_bytes() {
    // json.loads(bytes) takes a UTF-8 BOM, UTF-16/32 (BOM or not) and NaN/Infinity; a config
    // serde_json alone refuses was "not a config" and its Lambda layer unseen.
    let cfg = r#"{"class_name": "Sequential", "config": {"x": NaN, "y": [-Infinity, Infinity], "s": "NaN", "layers": [{"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAA==", null, null], "function_type": "lambda"}}]}}"#;
    let utf16 = |big: bool, bom: bool| {
        let mut v = Vec::new();
        if bom {
            v.extend(if big { [0xfe, 0xff] } else { [0xff, 0xfe] });
        }
        for u in cfg.encode_utf16() {
            v.extend(if big {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            });
        }
        v
    };
    let mut bom8 = b"\xef\xbb\xbf".to_vec();
    bom8.extend(cfg.as_bytes());
    let mut utf32 = vec![0xff, 0xfe, 0, 0];
    for c in cfg.chars() {
        utf32.extend((c as u32).to_le_bytes());
    }
    for (what, data) in [
        ("utf-8 with NaN", cfg.as_bytes().to_vec()),
        ("utf-8 BOM", bom8),
        ("utf-16-le BOM", utf16(false, true)),
        ("utf-16-be", utf16(true, false)),
        ("utf-32 BOM", utf32),
    ] {
        let f = inspect_bytes("config.json", &data);
        // transformers reads config.json as UTF-8 text, which refuses a BOM or UTF-16/32: the
        // divergence is reported (a warning), the view that reads is inspected.
        let mut want = vec![Code::KerasLambdaLayer];
        if what != "utf-8 with NaN" {
            want.insert(0, Code::ConfigMalformed);
        }
        assert_eq!(codes(&f), want, "{what}: {f:#?}");
    }
}

/// A zip whose zip64 locator points at another zip64 record than the one right before it:
/// Python's zipfile reads the central directory of the record before the locator, torch's
/// miniz the one the locator names.
fn zip64_two_views(python_member: (&str, &[u8]), miniz_member: (&str, &[u8])) -> Vec<u8> {
    fn local(out: &mut Vec<u8>, name: &str, data: &[u8]) -> u32 {
        let off = out.len() as u32;
        let crc = crc32fast::hash(data);
        out.extend(b"PK\x03\x04");
        out.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend(crc.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(data);
        off
    }
    fn central(name: &str, data: &[u8], off: u32) -> Vec<u8> {
        let mut c = b"PK\x01\x02".to_vec();
        c.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        c.extend(crc32fast::hash(data).to_le_bytes());
        c.extend((data.len() as u32).to_le_bytes());
        c.extend((data.len() as u32).to_le_bytes());
        c.extend((name.len() as u16).to_le_bytes());
        c.extend([0u8; 12]);
        c.extend(off.to_le_bytes());
        c.extend(name.as_bytes());
        c
    }
    fn record64(cd_size: usize, cd_off: usize) -> Vec<u8> {
        let mut r = b"PK\x06\x06".to_vec();
        r.extend(44u64.to_le_bytes());
        r.extend([45, 0, 45, 0]);
        r.extend([0u8; 8]);
        r.extend(1u64.to_le_bytes());
        r.extend(1u64.to_le_bytes());
        r.extend((cd_size as u64).to_le_bytes());
        r.extend((cd_off as u64).to_le_bytes());
        r
    }
    let mut z = Vec::new();
    let a = local(&mut z, python_member.0, python_member.1);
    let b = local(&mut z, miniz_member.0, miniz_member.1);
    let cd_b = central(miniz_member.0, miniz_member.1, b);
    let cd_b_off = z.len();
    z.extend(&cd_b);
    let rec_b = z.len();
    z.extend(record64(cd_b.len(), cd_b_off));
    let cd_a = central(python_member.0, python_member.1, a);
    let cd_a_off = z.len();
    z.extend(&cd_a);
    z.extend(record64(cd_a.len(), cd_a_off));
    z.extend(b"PK\x06\x07");
    z.extend(0u32.to_le_bytes());
    z.extend((rec_b as u64).to_le_bytes());
    z.extend(1u32.to_le_bytes());
    z.extend(b"PK\x05\x06");
    z.extend([0u8; 4]);
    z.extend([0xff; 4]);
    z.extend([0xff; 8]);
    z.extend(0u16.to_le_bytes());
    z
}

#[test]
fn zip64_locator_pointing_elsewhere_is_read_both_ways() {
    let payload = call("posix", "system", "echo");
    let z = zip64_two_views(
        ("archive/notes.txt", b"hello"),
        ("archive/data.pkl", &payload),
    );
    assert_miniz_view(&z, "zip64 locator points at offset");
}

/// The divergence is reported, and the payload only miniz reads is found under its view.
fn assert_miniz_view(file: &[u8], divergence: &str) {
    let f = inspect_bytes("model.pt", file);
    assert!(
        f.iter()
            .any(|f| f.code == Code::ZipMalformed && f.message.contains(divergence)),
        "{f:#?}"
    );
    let hit = f
        .iter()
        .find(|f| f.code == Code::PickleDangerousImport)
        .unwrap_or_else(|| panic!("the miniz view's payload: {f:#?}"));
    assert_eq!(
        hit.member,
        vec!["<miniz view>".to_string(), "archive/data.pkl".to_string()]
    );
}

#[test]
fn keras_torch_module_wrapper_payload_is_analysed() {
    use base64::Engine;
    let torch = zip(&[("archive/data.pkl", &call("posix", "system", "echo"))]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&torch);
    let cfg = format!(
        r#"{{"class_name": "Sequential", "config": {{"layers": [{{"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {{"name": "t", "module": "{b64}", "output_shape": null}}}}]}}}}"#
    );
    let f = inspect_bytes("config.json", cfg.as_bytes());
    assert!(f.iter().any(|f| f.code == Code::KerasTorchModule), "{f:#?}");
    let hit = f
        .iter()
        .find(|f| f.code == Code::PickleDangerousImport)
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(
        hit.member,
        vec![
            "<torch module of t>".to_string(),
            "archive/data.pkl".to_string()
        ]
    );
}

#[test]
fn hugging_face_chat_templates_are_judged_by_their_tokens() {
    let evil = r#"{{ cycler['\x5f\x5finit\x5f\x5f']['__glo' ~ 'bals__'].os.popen('id').read() }}"#;
    let benign = "{% for m in messages %}{{ '<|im_start|>' ~ m['role'] ~ '\\n' ~ m['content'] | trim ~ '<|im_end|>' }}{% endfor %}";
    let cfg = |t: &str| serde_json::json!({"tokenizer_class": "X", "chat_template": t}).to_string();
    let list = serde_json::json!({"chat_template": [{"name": "default", "template": benign}, {"name": "tool_use", "template": evil}]}).to_string();
    for (what, name, data, bad) in [
        ("string", "tokenizer_config.json", cfg(evil), true),
        ("list", "tokenizer_config.json", list, true),
        ("jinja file", "chat_template.jinja", evil.to_string(), true),
        ("benign string", "tokenizer_config.json", cfg(benign), false),
        (
            "benign jinja",
            "chat_template.jinja",
            benign.to_string(),
            false,
        ),
    ] {
        let f = inspect_bytes(name, data.as_bytes());
        let hit = f.iter().any(|f| f.code == Code::ChatTemplateInjection);
        assert_eq!(hit, bad, "{what}: {f:#?}");
    }
    // The GGUF check uses the same judge: the escaped, computed spelling is found there too.
    let f = inspect_bytes("m.gguf", &gguf(evil, 0));
    assert_eq!(codes(&f), vec![Code::GgufTemplateInjection], "{f:#?}");
}

/// Data prepended to a zip whose end record states unshifted offsets: Python's zipfile shifts
/// them by the prefix and reads the archive at the end; torch's miniz takes them as stated and
/// reads a central directory planted in the prefix, with its own member.
#[test]
fn prepended_central_directory_is_read_as_miniz_reads_it() {
    let payload = call("posix", "system", "echo");
    // The archive zipfile reads: one benign member, padded so that its central directory's
    // stated offset lies beyond the planted one's local header.
    let benign = zip(&[("archive/data.pkl", &vec![b'N'; 4096][..])]);
    let eocd = benign.len() - 22;
    let cd_size = u32::from_le_bytes(benign[eocd + 12..eocd + 16].try_into().unwrap()) as usize;
    let cd_off = u32::from_le_bytes(benign[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    // The planted archive: its local header at 0, its central directory (same size: same name
    // length) at the stated offset.
    let planted = zip(&[("archive/data.pkl", &payload)]);
    let p_eocd = planted.len() - 22;
    let p_cd_off =
        u32::from_le_bytes(planted[p_eocd + 16..p_eocd + 20].try_into().unwrap()) as usize;
    let p_cd = &planted[p_cd_off..p_eocd];
    assert_eq!(p_cd.len(), cd_size);
    let mut prefix = planted[..p_cd_off].to_vec();
    assert!(prefix.len() <= cd_off);
    prefix.resize(cd_off, 0);
    prefix.extend(p_cd);
    let mut file = prefix;
    file.extend(&benign);
    assert_miniz_view(&file, "miniz");
}

fn safetensors_with_header(h: &str) -> Vec<u8> {
    let mut v = (h.len() as u64).to_le_bytes().to_vec();
    v.extend(h.as_bytes());
    v
}

/// A long key over a long array costs its length (the path of an element is built only for a
/// duplicate), and a header of a million duplicate keys lists a bounded number of findings.
#[test]
fn hostile_safetensors_headers_cost_their_length() {
    let long = format!(
        "{{\"{}\": [{}0]}}",
        "k".repeat(1 << 20),
        "0,".repeat(500_000)
    );
    let f = inspect_bytes("m.safetensors", &safetensors_with_header(&long));
    assert!(!f.is_empty());
    let dups = format!("{{{}\"a\": 1}}", "\"a\": 1,".repeat(200_000));
    let f = inspect_bytes("m.safetensors", &safetensors_with_header(&dups));
    let listed = f
        .iter()
        .filter(|f| f.code == Code::SafetensorsDuplicateKey)
        .count();
    assert!(listed <= 65, "{listed}");
    assert!(f.iter().any(|f| f.message.contains("counted, not listed")));
}

/// Findings of one code per file are bounded, and names from the file are shown bounded.
#[test]
fn findings_per_file_are_bounded() {
    // Many zip members whose local names (long) differ from their central names.
    let mut members = Vec::new();
    for i in 0..300 {
        members.push((format!("{i}-{}", "n".repeat(5000)), vec![b'x']));
    }
    let refs: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let mut z = zip(&refs);
    // Rename every local header's name: the central directory keeps the original.
    let mut i = 0;
    while let Some(p) = z[i..].windows(4).position(|w| w == b"PK\x03\x04") {
        let at = i + p + 30;
        z[at] = b'L';
        i = at;
    }
    let f = inspect_bytes("x.zip", &z);
    let mismatches: Vec<_> = f
        .iter()
        .filter(|f| f.code == Code::ZipNameMismatch)
        .collect();
    assert!(mismatches.len() <= 65, "{}", mismatches.len());
    assert!(mismatches.iter().all(|f| f.message.len() < 6000));
}

/// A per-file time budget: once spent, reading stops and the rest is `limit-exceeded` (a small
/// compressed bomb can cost minutes of CPU within its byte limits).
#[test]
fn time_budget_ends_reading_with_a_finding() {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &call("os", "system", "id")).unwrap();
    let gz = e.finish().unwrap();
    let f = modelgate::input::with_deadline(0, || inspect_bytes("x.pkl.gz", &gz));
    let hit = f
        .iter()
        .find(|f| f.code == Code::LimitExceeded)
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(hit.evidence["limit"], "max_seconds_per_file");
}

/// Code shipped with a model: a config's auto_map names it (trust_remote_code imports it), a
/// Python file is reported with its SHA-256 for approval by hash; formats identified but not
/// inspected say so, and an archive that cannot be read fails.
#[test]
fn remote_code_and_uninspected_formats_are_reported() {
    let cfg = br#"{"model_type": "toy", "auto_map": {"AutoModel": "modeling_toy.ToyModel", "AutoConfig": "configuration_toy.ToyConfig"}}"#;
    let f = inspect_bytes("config.json", cfg);
    assert_eq!(codes(&f), vec![Code::HfRemoteCode]);
    assert!(f[0].message.contains("modeling_toy.ToyModel"));
    let tok = br#"{"tokenizer_class": "ToyTokenizer", "auto_map": {"AutoTokenizer": ["tokenization_toy.ToyTokenizer", null]}}"#;
    assert_eq!(
        codes(&inspect_bytes("tokenizer_config.json", tok)),
        vec![Code::HfRemoteCode]
    );
    let py = b"import os\nos.system('id')\n";
    let f = inspect_bytes("modeling_toy.py", py);
    assert_eq!(codes(&f), vec![Code::PythonCode]);
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(py)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(f[0].evidence["sha256"], want);
    let seven = b"7z\xbc\xaf\x27\x1c\x00\x04rest";
    let f = inspect_bytes("weights.7z", seven);
    assert_eq!(codes(&f), vec![Code::NotInspected]);
    assert_eq!(f[0].severity, Severity::Error);
    // A SavedModel is read (its ops walked), in text format too.
    let f = inspect_bytes("saved_model.pb", b"\x08\x01\x12\x00");
    assert_eq!(codes(&f), vec![]);
    let f = inspect_bytes("saved_model.pb", b"\x0a\x07\x12\x04toy");
    assert_eq!(
        codes(&f),
        vec![Code::TfGraphMalformed],
        "a field past the end"
    );
    let f = inspect_bytes("graph.pbtxt", b"node { name: 'a' op: 'ReadFile' }");
    assert_eq!(codes(&f), vec![Code::TfFileOp]);
    let f = inspect_bytes(
        "m/saved_model.pbtxt",
        b"meta_graphs { graph_def { node { op: \"Py\" 'Func' } } }",
    );
    assert_eq!(codes(&f), vec![Code::TfPythonOp]);
    let f = inspect_bytes("m/saved_model.pbtxt", b"node { op: 'PyFunc }");
    assert_eq!(codes(&f), vec![Code::TfGraphMalformed]);
    assert_eq!(f[0].severity, Severity::Error);
}

/// Issue 15: what TensorFlow graphs and YAML configs make their loaders run is reported.
#[test]
fn graph_ops_and_config_targets() {
    fn ld(field: u8, body: &[u8]) -> Vec<u8> {
        let mut o = vec![field << 3 | 2, body.len() as u8];
        o.extend_from_slice(body);
        o
    }
    let node = [ld(1, b"n"), ld(2, b"EagerPyFunc")].concat();
    let graph = ld(1, &node);
    let saved = [vec![0x08, 0x01], ld(2, &ld(2, &graph))].concat();
    assert_eq!(
        codes(&inspect_bytes("m/saved_model.pb", &saved)),
        vec![Code::TfPythonOp]
    );
    assert_eq!(
        codes(&inspect_bytes("frozen.pb", &graph)),
        vec![Code::TfPythonOp]
    );
    let nemo = b"model:\n  encoder:\n    _target_: os.system\n    command: id\n";
    let f = inspect_bytes("model_config.yaml", nemo);
    assert_eq!(codes(&f), vec![Code::ConfigCodeReference]);
    assert_eq!(f[0].severity, Severity::Critical);
    let ml = b"flavors:\n  python_function:\n    loader_module: loader\n    code: code\n";
    assert_eq!(
        codes(&inspect_bytes("MLmodel", ml)),
        vec![Code::ConfigCodeReference, Code::ConfigCodeReference]
    );
    // A TorchServe archive whose handler is its own Python.
    let manifest =
        br#"{"runtime": "python", "model": {"modelName": "m", "handler": "handler.py"}}"#;
    let mar = common::zip(&[
        ("MAR-INF/MANIFEST.json", &manifest[..]),
        (
            "handler.py",
            b"import os
",
        ),
    ]);
    let f = inspect_bytes("m.mar", &mar);
    assert!(codes(&f).contains(&Code::ConfigCodeReference), "{f:#?}");
    assert!(codes(&f).contains(&Code::PythonCode), "{f:#?}");
    let builtin = br#"{"model": {"handler": "image_classifier"}}"#;
    let f = inspect_bytes(
        "m.mar",
        &common::zip(&[("MAR-INF/MANIFEST.json", &builtin[..])]),
    );
    assert!(!codes(&f).contains(&Code::ConfigCodeReference), "{f:#?}");
    // A name that promises a binary format its content is not: an error.
    let f = inspect_bytes("model.safetensors", b"\x80\x02N.");
    let m = f.iter().find(|f| f.code == Code::FormatMismatch).unwrap();
    assert_eq!(m.severity, Severity::Error);
}

/// An ONNX model whose last field runs past the end of the file does not load (onnx raises
/// DecodeError): reported, never taken for a clean model.
#[test]
fn truncated_onnx_is_malformed() {
    let d = std::fs::read("testdata/benign/onnx/add.onnx").unwrap();
    let f = inspect_bytes("model.onnx", &d[..d.len() - 10]);
    assert_eq!(codes(&f), vec![Code::OnnxMalformed]);
}

/// Past the per-code cap, a finding reported with its own severity must not change another:
/// 80 members of an unknown type (warnings) before a payload member leave the payload critical.
#[test]
fn capped_findings_never_change_another_findings_severity() {
    let mut t = Vec::new();
    let mut member = |name: &str, kind: u8, data: &[u8]| {
        let mut h = common::tar_header(name, data.len() as u64);
        h[156] = kind;
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        t.extend(h);
        t.extend(data);
        t.resize(t.len().div_ceil(512) * 512, 0);
    };
    let payload = call("os", "system", "id");
    for i in 0..80 {
        member(&format!("odd{i}.pkl"), b'Z', &payload);
    }
    t.extend([0u8; 1024]);
    let f = inspect_bytes("x.tar", &t);
    let dangerous: Vec<_> = f
        .iter()
        .filter(|f| f.code == Code::PickleDangerousImport)
        .collect();
    assert!(!dangerous.is_empty());
    assert!(
        dangerous.iter().all(|f| f.severity == Severity::Critical),
        "{dangerous:#?}"
    );
    let odd: Vec<_> = f.iter().filter(|f| f.code == Code::TarMalformed).collect();
    assert!(
        odd.iter().all(|f| f.severity == Severity::Warning),
        "{odd:#?}"
    );
}

/// Central entries that share one local header are read once and reported as overlapping
/// (zipfile reads the same bytes under every name); a flood of them costs no more than one.
#[test]
fn zip_entries_sharing_a_local_header_are_reported() {
    let body = common::call("os", "system", "id");
    let crc = crc32fast::hash(&body);
    let mut z = Vec::new();
    let name = b"a.pkl";
    z.extend(0x04034b50u32.to_le_bytes());
    z.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    z.extend(crc.to_le_bytes());
    z.extend((body.len() as u32).to_le_bytes());
    z.extend((body.len() as u32).to_le_bytes());
    z.extend((name.len() as u16).to_le_bytes());
    z.extend(0u16.to_le_bytes());
    z.extend(name);
    z.extend(&body);
    let cd_at = z.len() as u32;
    let n = 1000u16;
    for _ in 0..n {
        z.extend(0x02014b50u32.to_le_bytes());
        z.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        z.extend(crc.to_le_bytes());
        z.extend((body.len() as u32).to_le_bytes());
        z.extend((body.len() as u32).to_le_bytes());
        z.extend((name.len() as u16).to_le_bytes());
        z.extend([0u8; 12]);
        z.extend(0u32.to_le_bytes());
        z.extend(name);
    }
    let cd_len = z.len() as u32 - cd_at;
    z.extend(0x06054b50u32.to_le_bytes());
    z.extend([0, 0, 0, 0]);
    z.extend(n.to_le_bytes());
    z.extend(n.to_le_bytes());
    z.extend(cd_len.to_le_bytes());
    z.extend(cd_at.to_le_bytes());
    z.extend([0, 0]);
    let f = inspect_bytes("m.zip", &z);
    let count = |c: Code| f.iter().filter(|x| x.code == c).count();
    assert_eq!(count(Code::PickleDangerousImport), 1, "{f:#?}");
    // 64 listed, the rest counted in one more.
    assert_eq!(count(Code::ZipOverlap), 65);
}
