//! Names never subtract (issue 23): a file is judged by every format its bytes read as and by
//! what loaders do with its name. Python's import system runs files by their names; Hydra,
//! OmegaConf, MLflow and transformers read configs by name, also inside compressed archives.

mod common;

use common::{call, inspect_bytes};
use modelgate::finding::{Code, Finding, Severity};
use std::io::Write;

fn has(f: &[Finding], code: Code) -> bool {
    f.iter().any(|f| f.code == code)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn every_importable_python_form_is_code() {
    // A .py whose bytes are also a complete pickle is still Python that an import runs.
    let f = inspect_bytes("configuration_evil.py", b"().__class__ # x\n");
    assert!(has(&f, Code::PythonCode), "{f:#?}");
    let f = inspect_bytes("model.py", &call("os", "system", "echo"));
    assert!(has(&f, Code::PythonCode), "{f:#?}");
    assert!(has(&f, Code::PickleDangerousImport), "{f:#?}");
    // Bytecode is imported without its source.
    let f = inspect_bytes("pkg/__init__.pyc", b"\xa7\r\r\n\0\0\0\0rest");
    assert!(has(&f, Code::PythonCode), "{f:#?}");
    // site runs the import lines of a .pth file; a .pth checkpoint is not text.
    let f = inspect_bytes(
        "evil.pth",
        b"# paths\n./lib\nimport os; os.system('echo')\n",
    );
    assert!(has(&f, Code::PythonCode), "{f:#?}");
    let f = inspect_bytes("paths.pth", b"./lib\n../other\n");
    assert!(!has(&f, Code::PythonCode), "{f:#?}");
    let z = common::zip(&[
        ("archive/data.pkl", b"\x80\x02}q\x00."),
        ("archive/version", b"3\n"),
    ]);
    let f = inspect_bytes("model.pth", &z);
    assert!(!has(&f, Code::PythonCode), "{f:#?}");
}

#[test]
fn configs_inside_compressed_archives_are_read() {
    let cfg =
        br#"{"model_type": "x", "auto_map": {"AutoConfig": "configuration_evil.EvilConfig"}}"#;
    let f = inspect_bytes(
        "model.tar.gz",
        &gzip(&common::tar(&[("m/config.json", cfg)])),
    );
    assert!(has(&f, Code::HfRemoteCode), "{f:#?}");
    // NeMo: a gzip'd tar holding model_config.yaml, read by OmegaConf then instantiated.
    let yaml = b"model:\n  _target_: os.system\n  command: echo\n";
    let f = inspect_bytes(
        "model.nemo",
        &gzip(&common::tar(&[("./model_config.yaml", yaml)])),
    );
    assert!(
        f.iter()
            .any(|f| f.code == Code::ConfigCodeReference && f.severity == Severity::Critical),
        "{f:#?}"
    );
    let f = inspect_bytes(
        "model.tar.gz",
        &gzip(&common::tar(&[(
            "chat_template.jinja",
            b"{{ x.__class__ }}",
        )])),
    );
    assert!(has(&f, Code::ChatTemplateInjection), "{f:#?}");
}

#[test]
fn yaml_configs_by_any_case_and_pyyaml_line_breaks() {
    let f = inspect_bytes("conf/model.YAML", b"m:\n  _target_: os.system\n");
    assert!(has(&f, Code::ConfigCodeReference), "{f:#?}");
    // PyYAML ends a comment at NEL (U+0085) and LS/PS: what follows is a key.
    let f = inspect_bytes(
        "c.yaml",
        "a: 1 # note\u{2028}b: {_target_: os.system}\n".as_bytes(),
    );
    assert!(has(&f, Code::ConfigCodeReference), "{f:#?}");
    let f = inspect_bytes(
        "c.yaml",
        "a: 1 # note\u{85}_target_: os.system\n".as_bytes(),
    );
    assert!(has(&f, Code::ConfigCodeReference), "{f:#?}");
}
