//! Files written by the real libraries (testdata/generate.py): benign ones scan clean, every
//! malicious variant fails the gate with the exact finding expected for its attack class.

use modelgate::finding::{Code, Severity};
use modelgate::inspect::Limits;
use modelgate::walk::walk;
use modelgate::{scan, scan_file, ScanOptions};
use std::path::{Path, PathBuf};

fn testdata(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(sub)
}

#[test]
fn every_benign_file_passes() {
    let walked = walk(&[testdata("benign")]).unwrap();
    assert!(
        walked.tasks.len() >= 25,
        "fixtures missing: run testdata/generate.py"
    );
    for t in &walked.tasks {
        let r = scan_file(t, &Limits::default());
        let bad: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Error)
            .collect();
        assert!(bad.is_empty(), "{}: {bad:#?}", t.display);
    }
}

#[test]
fn benign_formats_are_identified() {
    let report = scan(&[testdata("benign")], &ScanOptions::default()).unwrap();
    let fmt = |suffix: &str| {
        report
            .files
            .iter()
            .find(|f| f.path.ends_with(suffix))
            .and_then(|f| f.format.clone())
            .unwrap_or_default()
    };
    assert_eq!(fmt("torch/state_dict.pt"), "torch-zip");
    assert_eq!(fmt("torch/state_dict_legacy.pt"), "torch-legacy");
    assert_eq!(fmt("torch/scripted.pt"), "torchscript");
    assert_eq!(fmt("numpy/arrays.npz"), "npz");
    assert_eq!(fmt("numpy/numeric.npy"), "npy");
    assert_eq!(fmt("joblib/logreg.joblib"), "joblib");
    assert_eq!(fmt("joblib/logreg_zlib.joblib"), "joblib-compressed");
    assert_eq!(fmt("joblib/forest_xz.joblib"), "joblib-compressed");
    assert_eq!(fmt("safetensors/model.safetensors"), "safetensors");
    assert_eq!(fmt("pickle/data_p0.pkl"), "pickle");
    assert_eq!(fmt("config.json"), "unknown");
    assert_eq!(fmt("keras/dense.keras"), "keras");
    assert_eq!(fmt("keras/dense.h5"), "keras-h5");
    assert_eq!(fmt("hdf5/sequential.h5"), "keras-h5");
    assert_eq!(fmt("hdf5/sequential_latest.h5"), "keras-h5");
    assert_eq!(fmt("onnx/add.onnx"), "onnx");
    assert_eq!(fmt("gguf/chatml.gguf"), "gguf");
    assert_eq!(report.exit_code(), 0);
    // The only findings on benign files are the expected warnings/info.
    let codes: Vec<(String, Code)> = report
        .findings
        .iter()
        .map(|f| (f.path.rsplit('/').next().unwrap_or("").to_string(), f.code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("weights_only.h5".to_string(), Code::NotInspected),
            // pickle.load's reading of joblib's inline object array: a name no module has,
            // shown as info.
            ("object_array.joblib".to_string(), Code::PickleUnknownImport),
            ("dense.keras".to_string(), Code::NotInspected),
            ("object_strings.npy".to_string(), Code::NpyObjectArray),
            // pandas frames over PyTables (testdata/generate_hdf5_pytables.py): their pickled
            // attributes and object rows are read; numeric datasets are not.
            ("frame_fixed.h5".to_string(), Code::NotInspected),
            ("frame_fixed_zlib.h5".to_string(), Code::NotInspected),
            ("frame_table.h5".to_string(), Code::NotInspected),
            ("multiindex.h5".to_string(), Code::NotInspected),
            ("scripted.pt".to_string(), Code::TorchScriptCode),
            ("state_dict_legacy.pt".to_string(), Code::TorchLegacyFormat),
        ]
    );
}

/// (file under testdata/malicious, code, severity, member chain, module.name in evidence)
const EXPECT: &[(&str, Code, &[&str], &str)] = &[
    (
        "pickle/reduce_p0.pkl",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "pickle/reduce_p1.pkl",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "pickle/reduce_p2.pkl",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "pickle/reduce_p3.pkl",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "pickle/reduce_p4.pkl",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "pickle/reduce_p5.pkl",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "pickle/nested_loads_p2.pkl",
        Code::PickleDangerousImport,
        &["<nested pickle>"],
        "posix.system",
    ),
    (
        "pickle/nested_loads_p4.pkl",
        Code::PickleDangerousImport,
        &["<nested pickle>"],
        "posix.system",
    ),
    (
        "pickle/torch_load_from_bytes.pkl",
        Code::PickleDangerousImport,
        &[],
        "torch.storage._load_from_bytes",
    ),
    (
        "pickle/torch_load_from_bytes.pkl",
        Code::PickleDangerousImport,
        &["<nested pickle>"],
        "posix.system",
    ),
    (
        "pickle/dotted_name.pkl",
        Code::PickleDangerousImport,
        &[],
        "pathlib.os.system",
    ),
    (
        "pickle/memo_stack_global.pkl",
        Code::PickleDangerousImport,
        &[],
        "os.system",
    ),
    (
        "pickle/string_operands.pkl",
        Code::PickleDangerousImport,
        &[],
        "os.system",
    ),
    (
        "pickle/frame_tricks.pkl",
        Code::PickleDangerousImport,
        &[],
        "os.system",
    ),
    (
        "pickle/broken_tail.pkl",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    ("pickle/broken_tail.pkl", Code::PickleParseError, &[], ""),
    (
        "pickle/no_stop.pkl",
        Code::PickleDangerousImport,
        &[],
        "os.system",
    ),
    (
        "pickle/getattr_chain.pkl",
        Code::PickleDangerousImport,
        &[],
        "builtins.getattr",
    ),
    (
        "pickle/inst_opcode.pkl",
        Code::PickleDangerousImport,
        &[],
        "os.system",
    ),
    (
        "pickle/obj_opcode.pkl",
        Code::PickleDangerousImport,
        &[],
        "subprocess.check_output",
    ),
    (
        "pickle/unknown_global.pkl",
        Code::PickleUnknownImport,
        &[],
        "mypkg.hooks.run_on_load",
    ),
    (
        "pickle/stacked_second.pkl",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "pickle/py2_builtin_eval.pkl",
        Code::PickleDangerousImport,
        &[],
        "__builtin__.eval",
    ),
    (
        "torch/zip_payload.pt",
        Code::PickleDangerousImport,
        &["archive/data.pkl"],
        "posix.system",
    ),
    (
        "torch/legacy_payload.pt",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "torch/bad_crc.pt",
        Code::ZipCrcMismatch,
        &["archive/data.pkl"],
        "",
    ),
    (
        "torch/bad_crc.pt",
        Code::PickleDangerousImport,
        &["archive/data.pkl"],
        "posix.system",
    ),
    ("torch/encrypted_flag.pt", Code::ZipFlagAnomaly, &[], ""),
    (
        "torch/encrypted_flag.pt",
        Code::PickleDangerousImport,
        &["archive/data.pkl"],
        "posix.system",
    ),
    (
        "torch/local_name_mismatch.pt",
        Code::ZipNameMismatch,
        &[],
        "",
    ),
    (
        "torch/local_name_mismatch.pt",
        Code::PickleDangerousImport,
        &["archive/data.pkl"],
        "posix.system",
    ),
    (
        "torch/duplicate_data_pkl.pt",
        Code::ZipDuplicateMember,
        &[],
        "",
    ),
    (
        "torch/duplicate_data_pkl.pt",
        Code::PickleDangerousImport,
        &["archive/data.pkl"],
        "posix.system",
    ),
    (
        "torch/polyglot_pickle_then_zip.pt",
        Code::ZipPrefixData,
        &[],
        "",
    ),
    (
        "torch/polyglot_pickle_then_zip.pt",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    ("torch/polyglot_zip_hidden.pt", Code::ZipPrefixData, &[], ""),
    (
        "torch/polyglot_zip_hidden.pt",
        Code::PickleDangerousImport,
        &["archive/data.pkl"],
        "posix.system",
    ),
    (
        "nested/zip_in_zip.zip",
        Code::PickleDangerousImport,
        &["inner/model.pt", "archive/data.pkl"],
        "posix.system",
    ),
    (
        "nested/model.tar.gz",
        Code::PickleDangerousImport,
        &["<gzip>", "checkpoints/model.pt", "archive/data.pkl"],
        "posix.system",
    ),
    (
        "extensions/model.safetensors",
        Code::FormatMismatch,
        &[],
        "",
    ),
    (
        "extensions/model.safetensors",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    ("extensions/config.json", Code::FormatMismatch, &[], ""),
    (
        "extensions/config.json",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "extensions/weights.bin",
        Code::PickleDangerousImport,
        &["archive/data.pkl"],
        "posix.system",
    ),
    (
        "extensions/noext",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "numpy/object_payload.npy",
        Code::PickleDangerousImport,
        &["<object data>"],
        "posix.system",
    ),
    (
        "numpy/object_payload.npz",
        Code::PickleDangerousImport,
        &["x.npy", "<object data>"],
        "posix.system",
    ),
    (
        "joblib/payload.joblib",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "joblib/object_array_payload.joblib",
        Code::PickleDangerousImport,
        &[],
        "posix.system",
    ),
    (
        "joblib/payload_zlib.joblib",
        Code::PickleDangerousImport,
        &["<zlib>"],
        "posix.system",
    ),
    (
        "joblib/payload_gzip.joblib",
        Code::PickleDangerousImport,
        &["<gzip>"],
        "posix.system",
    ),
    (
        "joblib/payload_bz2.joblib",
        Code::PickleDangerousImport,
        &["<bzip2>"],
        "posix.system",
    ),
    (
        "joblib/payload_xz.joblib",
        Code::PickleDangerousImport,
        &["<xz>"],
        "posix.system",
    ),
    (
        "joblib/payload_lzma.joblib",
        Code::PickleDangerousImport,
        &["<lzma>"],
        "posix.system",
    ),
    (
        "safetensors/duplicate_key.safetensors",
        Code::SafetensorsDuplicateKey,
        &[],
        "",
    ),
    (
        "joblib/zfile_no_0x.pkl",
        Code::PickleDangerousImport,
        &["<joblib-zfile>"],
        "posix.system",
    ),
    (
        "nested/v7_tar_odd_name.tar",
        Code::PickleDangerousImport,
        &["\u{1}pickle"],
        "posix.system",
    ),
    (
        "joblib/lzma_odd_dict.joblib",
        Code::PickleDangerousImport,
        &["<lzma>"],
        "posix.system",
    ),
    (
        "keras/lambda.keras",
        Code::KerasLambdaLayer,
        &["config.json"],
        "",
    ),
    ("keras/lambda.h5", Code::KerasLambdaLayer, &[], ""),
    // HDF5 read by structure (testdata/generate_hdf5.py).
    ("hdf5/key_order.h5", Code::KerasLambdaLayer, &[], ""),
    (
        "hdf5/fixed_bytes.h5",
        Code::KerasCustomObject,
        &[],
        "evil_pkg.layers.Dense",
    ),
    (
        "hdf5/latest_gadget.h5",
        Code::KerasUnlistedObject,
        &[],
        "keras.utils.get_file",
    ),
    (
        "hdf5/latest_gadget.h5",
        Code::KerasExternalReference,
        &[],
        "",
    ),
    ("hdf5/user_block.h5", Code::KerasLambdaLayer, &[], ""),
    ("hdf5/dense_attributes.h5", Code::Hdf5Malformed, &[], ""),
    ("hdf5/dense_attributes.h5", Code::KerasLambdaLayer, &[], ""),
    (
        "hdf5/unreadable_config.h5",
        Code::KerasConfigMalformed,
        &[],
        "",
    ),
    ("hdf5/external_link.h5", Code::Hdf5ExternalLink, &[], ""),
    // ONNX (testdata/generate_onnx.py).
    ("onnx/external_data.onnx", Code::OnnxExternalData, &[], ""),
    ("onnx/pyop.onnx", Code::OnnxCustomDomain, &[], ""),
    (
        "keras/custom_module.keras",
        Code::KerasCustomObject,
        &["config.json"],
        "",
    ),
    (
        "gguf/template_injection.gguf",
        Code::GgufTemplateInjection,
        &[],
        "",
    ),
    (
        "safetensors/trailing_pickle.safetensors",
        Code::SafetensorsTrailing,
        &[],
        "",
    ),
];

#[test]
fn every_malicious_file_fails_with_the_expected_finding() {
    let root = testdata("malicious");
    let walked = walk(std::slice::from_ref(&root)).unwrap();
    let prefix = format!("{}/", root.display());
    let mut covered = std::collections::BTreeSet::new();
    for t in &walked.tasks {
        let rel = t
            .display
            .strip_prefix(&prefix)
            .unwrap_or(&t.display)
            .to_string();
        let r = scan_file(t, &Limits::default());
        assert!(
            r.findings.iter().any(|f| f.severity >= Severity::Error),
            "{rel} passed the gate: {:#?}",
            r.findings
        );
        for (file, code, member, global) in EXPECT.iter().filter(|e| e.0 == rel) {
            let hit = r.findings.iter().any(|f| {
                f.code == *code
                    && f.member
                        .iter()
                        .map(String::as_str)
                        .eq(member.iter().copied())
                    && (global.is_empty()
                        || format!(
                            "{}.{}",
                            f.evidence["module"].as_str().unwrap_or(""),
                            f.evidence["name"].as_str().unwrap_or("")
                        ) == *global)
            });
            assert!(
                hit,
                "{file}: expected {code} {member:?} {global}, got {:#?}",
                r.findings
            );
        }
        covered.insert(rel);
    }
    for (file, ..) in EXPECT {
        assert!(
            covered.contains(*file),
            "fixture {file} missing: run testdata/generate.py"
        );
    }
    assert_eq!(covered.len(), walked.tasks.len());
}

#[test]
fn malicious_tree_report_snapshot() {
    let report = scan(
        &[PathBuf::from("testdata/malicious")],
        &ScanOptions::default(),
    )
    .unwrap();
    assert_eq!(report.exit_code(), 1);
    insta::assert_snapshot!(
        "malicious_text",
        modelgate::report::text::render(&report, false)
    );
}

#[test]
fn benign_tree_json_snapshot() {
    let report = scan(&[PathBuf::from("testdata/benign")], &ScanOptions::default()).unwrap();
    insta::assert_snapshot!("benign_json", report.to_json());
}
