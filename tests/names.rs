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

#[test]
fn configs_that_name_code_to_import() {
    let crit = |f: &[Finding]| {
        f.iter()
            .any(|f| f.code == Code::ConfigCodeReference && f.severity == Severity::Critical)
    };
    // sentence-transformers: each module's type is imported.
    let ok = br#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]"#;
    assert!(inspect_bytes("m/modules.json", ok).is_empty());
    let bad = br#"[{"idx": 0, "name": "0", "path": "", "type": "subprocess.Popen"}]"#;
    assert!(crit(&inspect_bytes("m/modules.json", bad)));
    // diffusers: component libraries; bare names are its pipeline modules.
    let ok = br#"{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
                  "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
                  "text_encoder": ["transformers", "CLIPTextModel"], "image_encoder": [null, null]}"#;
    assert!(inspect_bytes("sd/model_index.json", ok).is_empty());
    let bad = br#"{"_class_name": "X", "unet": ["os", "system"]}"#;
    assert!(crit(&inspect_bytes("sd/model_index.json", bad)));
    let f = inspect_bytes(
        "sd/model_index.json",
        br#"{"custom_pipeline": "evil/pipe"}"#,
    );
    assert!(has(&f, Code::ConfigCodeReference), "{f:#?}");
    // MLflow's torch flavour: the unpickler module.
    assert!(inspect_bytes(
        "m/data/pickle_module_info.txt",
        b"mlflow.pytorch.pickle_module\n"
    )
    .is_empty());
    assert!(crit(&inspect_bytes(
        "m/data/pickle_module_info.txt",
        b"os\n"
    )));
    // YAML: LightningCLI class_path, Stable Diffusion target, MLflow models-from-code.
    let f = inspect_bytes("cfg.yaml", b"model:\n  class_path: torch.nn.Linear\n");
    assert!(f.is_empty(), "{f:#?}");
    assert!(crit(&inspect_bytes(
        "cfg.yaml",
        b"model:\n  class_path: os.system\n"
    )));
    let f = inspect_bytes(
        "v1-inference.yaml",
        b"model:\n  target: ldm.models.diffusion.ddpm.LatentDiffusion\n  params:\n    target: 0.5\n",
    );
    assert!(f.is_empty(), "{f:#?}");
    assert!(crit(&inspect_bytes(
        "v1.yaml",
        b"model:\n  target: ldm.os.system\n"
    )));
    let f = inspect_bytes("v1.yaml", b"model:\n  target: mypkg.models.Net\n");
    assert!(has(&f, Code::ConfigCodeReference), "{f:#?}");
    let f = inspect_bytes("m/MLmodel", b"flavors:\n  python_function:\n    model_code_path: model.py\n    loader_module: mlflow.pyfunc.model\n");
    assert!(has(&f, Code::ConfigCodeReference), "{f:#?}");
}

#[test]
fn skops_schema_nodes_are_judged_as_imports() {
    let schema = br#"{"__class__": "Pipeline", "__module__": "sklearn.pipeline", "__loader__": "ObjectNode",
      "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {
        "f": {"__class__": "log1p", "__module__": "numpy", "__loader__": "FunctionNode"}}}}"#;
    let f = inspect_bytes("m.skops", &common::zip(&[("schema.json", schema)]));
    assert!(f.is_empty(), "{f:#?}");
    let evil =
        br#"{"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {
        "f": {"__class__": "system", "__module__": "os", "__loader__": "FunctionNode"},
        "g": {"__class__": "Net", "__module__": "mypkg.models", "__loader__": "ObjectNode"}}}"#;
    let f = inspect_bytes("m.skops", &common::zip(&[("schema.json", evil)]));
    let sev: Vec<Severity> = f
        .iter()
        .filter(|f| f.code == Code::ConfigCodeReference)
        .map(|f| f.severity)
        .collect();
    assert_eq!(sev.len(), 2, "{f:#?}");
    assert!(sev.contains(&Severity::Critical) && sev.contains(&Severity::Error));
    // A JSON schema file outside an archive is not skops'.
    assert!(inspect_bytes(
        "schema.json",
        br#"{"__module__": "os", "__class__": "system"}"#
    )
    .is_empty());
}

#[test]
fn omegaconf_resolvers_the_application_registered() {
    let f = inspect_bytes(
        "train.yaml",
        b"lr: ${oc.env:LR,0.1}\nn: ${model.n}\nd: ${now:%Y}\nx: ${eval:'__import__(\"os\").system(\"id\")'}\ny: ${my_res:3}\n",
    );
    let r: Vec<(Severity, &str)> = f
        .iter()
        .filter(|f| f.code == Code::ConfigCodeReference)
        .map(|f| (f.severity, f.evidence["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        r,
        vec![(Severity::Error, "eval"), (Severity::Warning, "my_res")],
        "{f:#?}"
    );
}

/// Red team, round 2: OmegaConf's own `oc.create` and `oc.decode` build a node from their
/// argument, and `instantiate` then imports and calls its `_target_` (or ldm's `target`).
#[test]
fn targets_inside_oc_create_and_oc_decode() {
    for doc in [
        "model: ${oc.create:{_target_:os.system,command:'echo'}}\n",
        "model: ${oc.decode:\"{_target_:os.system,command:'echo'}\"}\n",
        "model: ${oc.create:{target:os.system,params:{command:echo}}}\n",
        "model: \"${oc.create:{'_target_' : 'subprocess.Popen'}}\"\n",
    ] {
        let f = inspect_bytes("c.yaml", doc.as_bytes());
        assert!(
            f.iter()
                .any(|f| f.code == Code::ConfigCodeReference && f.severity == Severity::Critical),
            "{doc}: {f:#?}"
        );
    }
    let f = inspect_bytes("c.yaml", b"opt: ${oc.create:{lr:0.1,target_size:3}}\n");
    assert!(f.is_empty(), "{f:#?}");
}

/// PEFT's adapter_config.json names the library its base model class is imported from.
#[test]
fn peft_auto_mapping() {
    let ok = br#"{"peft_type": "LORA", "auto_mapping": {"base_model_class": "BertModel", "parent_library": "transformers.models.bert.modeling_bert"}}"#;
    assert!(inspect_bytes("a/adapter_config.json", ok).is_empty());
    let bad = br#"{"peft_type": "LORA", "auto_mapping": {"base_model_class": "system", "parent_library": "os"}}"#;
    let f = inspect_bytes("a/adapter_config.json", bad);
    assert!(
        f.iter()
            .any(|f| f.code == Code::ConfigCodeReference && f.severity == Severity::Critical),
        "{f:#?}"
    );
}
