//! The loader inventory (issue 23): every library entry point that can run code or unpickle
//! when a user loads a model, config or dataset, which files and names it reads, how it
//! resolves names, and which modelgate reader models it. `docs/loaders.md` holds the same
//! table (a test keeps the two equal) with the sources and the gaps.
//!
//! A row's [`Reader`] is the inspector (module and function) that reads what the loader reads,
//! a fail-closed [`Code`] that such a file produces when no reader models the loader, or an
//! explicit [`Reader::Gap`]: nothing fires, or only at info.

use crate::finding::Code;

/// What in modelgate stands for a loader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// `inspect::pickle::inspect` over the symbolic machine of `crates/pickle`.
    Pickle,
    /// `inspect::pickle::torch_tar_member`: the `storages` / `tensors` members of a legacy tar.
    TorchLegacyTar,
    /// `inspect::zip::inspect_view`: every member by content (torch zip, TorchScript, npz, .keras, .mar).
    Zip,
    /// `inspect::tar::walk`: every member by content.
    Tar,
    /// `inspect::compress::inspect`: gzip, bz2, xz, lzma, zstd, zlib, lz4, joblib's `ZF`.
    Compress,
    /// `inspect::numpy::inspect`: the `.npy` header and the pickle of object arrays.
    Numpy,
    /// `inspect::keras::check_doc`: a Keras config walked for Lambda, modules and classes.
    Keras,
    /// `inspect::keras::inspect_h5`: the HDF5 walker's `model_config` / `training_config`.
    KerasH5,
    /// `inspect::jinja::injections`: chat templates by Jinja's tokens.
    Jinja,
    /// `inspect::gguf::inspect`: GGUF metadata and its chat templates.
    Gguf,
    /// `inspect::onnx::inspect`: external data and operator-set domains.
    Onnx,
    /// `inspect::tensorflow::inspect`: SavedModel, frozen graphs, `keras_metadata.pb` (and `inspect_text`: `.pbtxt`).
    Tensorflow,
    /// `inspect::tflite::inspect`: operator codes, custom and Flex ops.
    Tflite,
    /// `inspect::executorch::inspect`: operators and delegates of a `.pte` program.
    Executorch,
    /// `inspect::yamlcfg::check`: `_target_`, PyYAML python tags, MLflow `loader_module`/`code`.
    YamlCfg,
    /// `inspect::hf_remote_code`: `auto_map` and `custom_pipelines` of a JSON config.
    HfRemoteCode,
    /// `inspect::torchserve_manifest`: a `.mar`'s `MAR-INF/MANIFEST.json` handler.
    TorchServe,
    /// `inspect::python_file`: every `.py`/`.pyw` is `python-code`.
    PythonSource,
    /// `inspect::native_code`: ELF, Mach-O and PE files are `native-code`.
    NativeCode,
    /// `inspect::hdf5::analyse_pickles`: PyTables' pickled attributes and `ObjectAtom` rows.
    Hdf5Pickles,
    /// `inspect::configrefs::check`: sentence-transformers `modules.json`, skops `schema.json`, diffusers
    /// `model_index.json`, MLflow `pickle_module_info.txt`.
    ConfigRefs,
    /// No reader models the loader; this finding code (error or above) fires on such files.
    FailClosed(Code),
    /// Nothing fires (or only at info): a gap, listed in `docs/loaders.md` under Gaps.
    Gap,
}

impl Reader {
    /// The source file and function of a reader; `None` for fail-closed codes and gaps.
    pub fn source(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Reader::Pickle => ("src/inspect/pickle/mod.rs", "inspect"),
            Reader::TorchLegacyTar => ("src/inspect/pickle/mod.rs", "torch_tar_member"),
            Reader::Zip => ("src/inspect/zip.rs", "inspect_view"),
            Reader::Tar => ("src/inspect/tar.rs", "walk"),
            Reader::Compress => ("src/inspect/compress.rs", "inspect"),
            Reader::Numpy => ("src/inspect/numpy.rs", "inspect"),
            Reader::Keras => ("src/inspect/keras.rs", "check_doc"),
            Reader::KerasH5 => ("src/inspect/keras.rs", "inspect_h5"),
            Reader::Jinja => ("src/inspect/jinja.rs", "injections"),
            Reader::Gguf => ("src/inspect/gguf.rs", "inspect"),
            Reader::Onnx => ("src/inspect/onnx.rs", "inspect"),
            Reader::Tensorflow => ("src/inspect/tensorflow.rs", "inspect"),
            Reader::Tflite => ("src/inspect/tflite.rs", "inspect"),
            Reader::Executorch => ("src/inspect/executorch.rs", "inspect"),
            Reader::YamlCfg => ("src/inspect/yamlcfg.rs", "check"),
            Reader::HfRemoteCode => ("src/inspect/mod.rs", "hf_remote_code"),
            Reader::TorchServe => ("src/inspect/mod.rs", "torchserve_manifest"),
            Reader::PythonSource => ("src/inspect/mod.rs", "python_file"),
            Reader::NativeCode => ("src/inspect/mod.rs", "native_code"),
            Reader::ConfigRefs => ("src/inspect/configrefs.rs", "check"),
            Reader::Hdf5Pickles => ("src/inspect/hdf5.rs", "analyse_pickles"),
            Reader::FailClosed(_) | Reader::Gap => return None,
        })
    }

    /// The text of the Reader column in `docs/loaders.md`.
    pub fn label(self) -> String {
        match self {
            Reader::FailClosed(code) => format!("fail-closed: {code}"),
            Reader::Gap => "gap".to_string(),
            r => {
                let (file, func) = r.source().unwrap_or(("", ""));
                let module = file
                    .trim_start_matches("src/")
                    .trim_end_matches(".rs")
                    .trim_end_matches("/mod")
                    .replace('/', "::");
                format!("{module}::{func}")
            }
        }
    }
}

/// One loader entry point.
#[derive(Clone, Copy, Debug)]
pub struct Loader {
    pub library: &'static str,
    pub entry_point: &'static str,
    /// The files and names it reads, and how it finds them.
    pub reads: &'static str,
    /// How it turns names in the file into code (imports, registries).
    pub resolves: &'static str,
    /// Whether loading can run code chosen by the file (including by unpickling).
    pub runs_code: bool,
    pub reader: Reader,
    /// What modelgate misses for this loader (empty when nothing is known).
    pub gap: &'static str,
}

macro_rules! rows {
    ($( [$lib:literal, $entry:literal, $reads:literal, $resolves:literal, $code:literal, $reader:expr, $gap:literal] )*) => {
        &[ $( Loader { library: $lib, entry_point: $entry, reads: $reads, resolves: $resolves, runs_code: $code, reader: $reader, gap: $gap }, )* ]
    };
}

/// The inventory, one row per entry point.
pub const LOADERS: &[Loader] = rows! {
    // --- PyTorch ------------------------------------------------------------------------------
    ["torch", "`torch.load` (zip checkpoint, `weights_only=False`)",
     "any file whose first 4 bytes are `PK\\x03\\x04` (`_is_zipfile`), read by miniz (`PyTorchFileReader`): `<root>/data.pkl`, storages `<root>/data/<key>`, `<root>/byteorder`; `<root>` is the archive's top folder",
     "pickle `find_class` (import the module, getattr through a dotted name); `persistent_load` turns `('storage', type, key, location, numel)` into `data/<key>`",
     true, Reader::Zip, ""]
    ["torch", "`torch.load(weights_only=True)` (the default since 2.6)",
     "the same members as the zip or legacy format",
     "`torch._weights_only_unpickler`: only `module.name` pairs on torch's allowlist or added by `add_safe_globals`/`safe_globals`; anything else raises (bypassable before 2.6, CVE-2025-32434)",
     false, Reader::Zip, ""]
    ["torch", "`torch.load` (legacy tar)",
     "a non-zip file is first opened with `tarfile` (mode `r:`): members `sys_info`, `pickle`, `storages`, `tensors`",
     "`pickle` is unpickled with `persistent_load`; `storages` is a count pickle, then per storage a `(key, location, type)` pickle and raw bytes; `tensors` likewise",
     true, Reader::TorchLegacyTar, ""]
    ["torch", "`torch.load` (legacy stacked pickles, 0.4 to 1.5)",
     "when `tarfile` fails: magic-number pickle (0x1950a86a20f9469cfc6c), protocol pickle, `sys_info` pickle, the object pickle, the storage-key pickle, raw storages",
     "as `pickle.load`, with `persistent_load`",
     true, Reader::Pickle, "`torch-legacy-format` is info; the imports are judged as pickles"]
    ["torch", "`torch.jit.load` (and `torch.load` on a TorchScript zip)",
     "zip: `<root>/data.pkl`, `<root>/constants.pkl`, `<root>/code/__torch__/**.py` (TorchScript source), `<root>/extra/*`; `torch.load` hands a zip holding `constants.pkl` to `torch.jit.load`",
     "C++ unpickler: `__torch__.*` classes from the compiled `code/`, other globals limited to torch's rebuild helpers; methods compiled by the TorchScript compiler",
     true, Reader::Zip, "`torchscript-code` is a warning; the TorchScript source is not analysed (the ops it calls, e.g. file I/O, custom `torch.ops` namespaces)"]
    ["torch", "`torch.hub.load(repo_or_dir, model)`",
     "`hubconf.py` at the repo root (github: the downloaded `owner/repo[:ref]` archive; `source='local'`: the directory), its `dependencies` list",
     "`hubconf.py` imported from its path (`importlib` spec from file), then `getattr(module, model)` called",
     true, Reader::PythonSource, ""]
    ["torch", "`torch.package.PackageImporter` / `load_pickle`",
     "zip: `.data/version`, `.data/extern_modules`, modules stored as `<pkg>/<mod>.py` members, pickles `<pkg>/<name>.pkl`",
     "`PackageUnpickler.find_class` imports from the archive's own modules first (their code runs), extern modules from the environment",
     true, Reader::Zip, ""]
    ["torch", "`torch.export.load` / AOTInductor `load_package` (`.pt2`)",
     "zip: serialized program JSON, weights and constants read with `torch.load`, AOTInductor shared objects under `data/aotinductor/`",
     "shared objects are `dlopen`ed; tensors through the restricted unpickler",
     true, Reader::Zip, ""]
    ["torch", "`torch.distributed.checkpoint.FileSystemReader`",
     "`.metadata` (a pickle, any name), `__<rank>_<n>.distcp` shards",
     "`.metadata` by `pickle.load` (`find_class` as pickle)",
     true, Reader::Pickle, ""]
    // --- pickle and its relatives -------------------------------------------------------------
    ["pickle (CPython)", "`pickle.load` / `pickle.loads` / `pickle.Unpickler` / `pickle._Unpickler`",
     "any bytes from the first; stops at STOP and ignores what follows",
     "`find_class`: protocol < 3 maps Python 2 names (`_compat_pickle`), `__import__(module)`, then for protocol >= 4 a getattr walk through every dot; opcodes GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE, NEWOBJ(_EX), BUILD (`__setstate__`/setattr), EXT1/2/4 (copyreg registry)",
     true, Reader::Pickle, ""]
    ["dill", "`dill.load` / `dill.loads`",
     "as pickle",
     "`dill.Unpickler.find_class`; `dill._dill` helpers (`_create_function`, `_create_code`, `_load_type`, ...) rebuild functions and code objects from bytes",
     true, Reader::Pickle, ""]
    ["cloudpickle", "`cloudpickle.load` / `loads` (= `pickle.load`)",
     "as pickle",
     "by-value functions and classes rebuilt by `cloudpickle.cloudpickle` helpers (`_make_function`, `_make_skeleton_class`, `_builtin_type`, code objects)",
     true, Reader::Pickle, ""]
    ["joblib", "`joblib.load` (uncompressed)",
     "the file; after each `NumpyArrayWrapper` the array's raw bytes (or, for object dtype, a nested pickle) inline in the stream",
     "`NumpyUnpickler`, a subclass of the pure-Python `pickle._Unpickler` with a BUILD hook; the nested pickle of object arrays uses the outer `find_class`",
     true, Reader::Pickle, ""]
    ["joblib", "`joblib.load` (compressed)",
     "compressor chosen by prefix: `ZF` (compat), `\\x78` zlib, `\\x1f\\x8b` gzip, `BZ` bz2, `\\xfd7zXZ` xz, `\\x5d\\x00` lzma, `\\x04\\x22\\x4d\\x18` lz4; then as uncompressed",
     "as uncompressed",
     true, Reader::Compress, ""]
    ["joblib", "`joblib.load` of joblib < 0.10 files (`load_compatibility`)",
     "`ZF` zfile, or a pickle whose `NDArrayWrapper`/`ZNDArrayWrapper` name companion files (`<dir>/<name>` read with `np.load(allow_pickle=True)` or as a zfile)",
     "`ZipNumpyUnpickler` (pure-Python); the companion file name comes from the pickle",
     true, Reader::Pickle, "a companion named by a plain file name is beside the pickle and inspected as a file of the tree; any other name fails closed"]
    // --- NumPy / pandas ---------------------------------------------------------------------
    ["numpy", "`np.load` (`.npy`) / `np.lib.format.read_array` / `open_memmap`",
     "magic `\\x93NUMPY`, versions 1.0, 2.0, 3.0; header dict by `ast.literal_eval` (retried after `_filter_header`); an object `descr` makes the rest a pickle (`allow_pickle=True`)",
     "`pickle.load(fp)` for object arrays",
     true, Reader::Numpy, "`npy-object-array` is a warning (the pickle after the header is judged by its imports)"]
    ["numpy", "`np.load` (`.npz`, `NpzFile`)",
     "content starting `PK\\x03\\x04` or `PK\\x05\\x06`; a key `k` opens member `k` or `k.npy`; a member with the npy magic goes to `read_array`, any other member is returned as bytes",
     "as `.npy` per member",
     true, Reader::Zip, ""]
    ["numpy", "`np.load` (any other bytes, `allow_pickle=True`)",
     "the whole file, whatever its name",
     "`pickle.load`",
     true, Reader::Pickle, ""]
    ["pandas", "`pandas.read_pickle`",
     "compression inferred from the extension (`.gz`, `.bz2`, `.zip`, `.xz`, `.zst`, `.tar`, `.tar.gz`, ...; a zip or tar must hold one file), then the stream",
     "`pickle.load`; on failure retried with `pandas.compat.pickle_compat.Unpickler` (a `_Unpickler` whose `find_class` remaps old class locations)",
     true, Reader::Pickle, ""]
    ["pandas / PyTables", "`pandas.read_hdf` / `HDFStore` / `tables.open_file`",
     "HDF5: node attributes (`pandas_type`, `non_index_axes`, `levels`, `info`, `metadata`, ...) and object columns stored as `VLArray` of `ObjectAtom`",
     "PyTables unpickles string attributes that hold a pickle and every `ObjectAtom` row",
     true, Reader::Hdf5Pickles, "object rows under blosc, lzf, bzip2 or szip, or newer chunk indexes, are `hdf5-malformed` (error), not read"]
    // --- Keras / TensorFlow -------------------------------------------------------------------
    ["keras", "`keras.saving.load_model` (`.keras` zip or unzipped directory)",
     "a zip named `*.keras` (or a directory holding `config.json`, or `hf://`): `config.json`, `metadata.json`, `model.weights.h5` / `model.weights.npz` (`allow_pickle=False`), `assets/`",
     "`deserialize_keras_object`: custom objects and the registry by `registered_name` first; `module` `keras[.*]` through the export table; packages `keras`, `keras_hub`, `keras_cv`, `keras_nlp` imported with `import_module` and the class must be `KerasSaveable`; other modules refused",
     true, Reader::Keras, ""]
    ["keras", "Keras `Lambda` layer / `__lambda__` functions (`safe_mode=False`)",
     "layer config `class_name: Lambda` whose `function` is `{class_name: __lambda__, config: {code: <base64 marshal>}}`",
     "`python_utils.func_load`: `marshal.loads` of the bytecode into a function; refused while `safe_mode` is on",
     true, Reader::Keras, ""]
    ["keras", "`TorchModuleWrapper.from_config`",
     "layer config `module`: base64 of `torch.save` bytes",
     "`torch.load(weights_only=False)` when safe mode is off",
     true, Reader::Keras, ""]
    ["keras", "`load_model` of legacy `.h5` (`load_model_from_hdf5`)",
     "HDF5 (name `.h5`/`.hdf5`): root attributes `model_config` and `training_config` (JSON)",
     "legacy deserialization by `module`/`class_name` and `custom_objects` under a safe-mode scope; Lambda bytecode",
     true, Reader::KerasH5, ""]
    ["tf_keras / TF", "`tf.keras.models.load_model` of a SavedModel",
     "`keras_metadata.pb` (each layer's Keras config as JSON) beside `saved_model.pb`",
     "Keras 2 deserialization (`module`/`class_name`, Lambda bytecode)",
     true, Reader::Tensorflow, ""]
    ["tensorflow", "`tf.saved_model.load` / `keras.layers.TFSMLayer` / `tf.compat.v1.import_graph_def`",
     "`saved_model.pb` or `saved_model.pbtxt`, `variables/`, `assets/`; frozen `GraphDef` `.pb`, `.meta`",
     "every `NodeDef.op` looked up in the op registry; `PyFunc`/`EagerPyFunc` call Python functions registered in the process; file ops open paths the graph gives",
     true, Reader::Tensorflow, "`tf-file-op` is a warning"]
    ["tensorflow", "`tf.load_op_library` / `tf.load_library` (custom ops)",
     "a shared object shipped with the model",
     "`dlopen`",
     true, Reader::NativeCode, ""]
    // --- Hugging Face ------------------------------------------------------------------------
    ["transformers", "`Auto*.from_pretrained(trust_remote_code=True)`",
     "`config.json`, `tokenizer_config.json`, `preprocessor_config.json`, `processor_config.json`, feature-extractor configs: key `auto_map` (`AutoX: \"module.Class\"`, `\"repo--module.Class\"`, or a [slow, fast] pair); `<module>.py` plus its relative imports (`from .x import`)",
     "`get_class_from_dynamic_module`: split at `--` for another repo, copy the files into `HF_MODULES_CACHE/transformers_modules`, import by file spec and `exec_module`, getattr the class",
     true, Reader::HfRemoteCode, "configs inside compressed tars (`.tar.gz`) are not read; a `repo--module.Class` reference names code outside the tree"]
    ["transformers", "`pipeline(..., trust_remote_code=True)` (custom pipelines)",
     "`config.json` key `custom_pipelines` (`task: {impl: \"module.Class\", pt, tf}`)",
     "as `auto_map`",
     true, Reader::HfRemoteCode, "configs inside compressed tars (`.tar.gz`) are not read"]
    ["transformers", "`from_pretrained` weights (`pytorch_model.bin`, sharded `*.bin.index.json`)",
     "`model.safetensors` first; else `pytorch_model.bin` and the shards a `weight_map` names",
     "`torch.load(weights_only=True)` (requires torch >= 2.6); `weights_only=False` when the caller passes it",
     true, Reader::Zip, ""]
    ["transformers", "`apply_chat_template`",
     "`tokenizer_config.json` `chat_template` (a string, or a list of `{name, template}`), `chat_template.jinja`, `additional_chat_templates/*.jinja`, a processor's `chat_template.json`",
     "jinja2 `ImmutableSandboxedEnvironment` (`trim_blocks`, `lstrip_blocks`, `loopcontrols`), globals `raise_exception`, `strftime_now`; code only through a sandbox escape",
     true, Reader::Jinja, "a `.jinja` file over 16 MiB is skipped without a finding"]
    ["transformers / llama-cpp-python", "GGUF chat templates (`Llama(...)` chat formatting, `from_pretrained(gguf_file=...)`)",
     "GGUF metadata `tokenizer.chat_template` and `tokenizer.chat_template.<name>`",
     "llama-cpp-python `Jinja2ChatFormatter`: sandboxed since 0.2.72, a plain `jinja2.Environment` before (CVE-2024-34359); llama.cpp itself renders with a C++ engine",
     true, Reader::Gguf, ""]
    ["huggingface_hub / fastai", "`from_pretrained_fastai` / `fastai.learner.load_learner`",
     "`model.pkl` (a `torch.save` zip) in the repo",
     "`torch.load(fname, pickle_module=pickle, weights_only=False)`",
     true, Reader::Zip, ""]
    ["diffusers", "`DiffusionPipeline.from_pretrained` (custom pipelines and components)",
     "`model_index.json`: `_class_name`, components `[library, class]`; `custom_pipeline` (`pipeline.py`, a hub repo or a community name); `<component>/<library>.py` with `trust_remote_code`",
     "library names imported with `importlib`, the class by getattr and loaded with its own loading method; module files by `get_class_from_dynamic_module`",
     true, Reader::ConfigRefs, "a bare library name is taken for one of diffusers' pipeline modules (a module shipped beside it is `python-code`)"]
    ["sentence-transformers", "`SentenceTransformer(path)` / `CrossEncoder`",
     "`modules.json` (a list of `{idx, name, path, type}`), each module's folder and config",
     "`type` under `sentence_transformers.` imported directly; any other through `get_class_from_dynamic_module` with `trust_remote_code`, else `import_from_string` (import_module + getattr)",
     true, Reader::ConfigRefs, ""]
    ["timm", "`create_model(pretrained=True)` / `hf-hub:` / `load_checkpoint`",
     "`config.json` (`architecture`, `pretrained_cfg`), `model.safetensors` or `pytorch_model.bin` / `open_clip_pytorch_model.bin`",
     "`_torch_load` with `weights_only=True` by default (`safe_globals` where torch has it)",
     false, Reader::Zip, ""]
    // --- Configs that instantiate -----------------------------------------------------------
    ["hydra", "`hydra.utils.instantiate` / `call`",
     "any YAML or dict node with `_target_` (and `_args_`, `_partial_`, `_recursive_`, `_convert_`)",
     "`_locate`: import the first component, getattr through the rest, importing submodules when an attribute is missing; 1.3.8 adds a best-effort blocklist",
     true, Reader::YamlCfg, ""]
    ["omegaconf", "`OmegaConf.load` + interpolation (`${resolver:...}`)",
     "`${...}` interpolations in any value; built-ins `oc.env`, `oc.decode`, `oc.create`, `oc.select`, and resolvers the application registered (often `eval`)",
     "resolver name looked up in the registry; arguments parsed by OmegaConf's grammar",
     true, Reader::YamlCfg, "what an application-registered resolver does with its argument is the application's: the call is reported (eval-like names error, others warning)"]
    ["NeMo", "`ModelPT.restore_from` (`.nemo`)",
     "tar opened `r:`, then `r:gz`: `model_config.yaml`, `model_weights.ckpt` (`torch.load`), tokenizer and artifact files",
     "`from_config_dict`: `_target_`, or Hydra 0.x `cls`/`target` with `params`, through `safe_instantiate` (prefix allowlist); a top-level `target` class imported",
     true, Reader::YamlCfg, "`cls` keys are not checked"]
    ["ldm / sgm (Stable Diffusion configs)", "`instantiate_from_config`",
     "YAML `target:` with `params:` (e.g. `v1-inference.yaml`)",
     "`importlib.import_module(module)` + getattr, then called with `params`",
     true, Reader::YamlCfg, ""]
    ["jsonargparse / LightningCLI", "`LightningCLI` / `jsonargparse` configs",
     "YAML `class_path` with `init_args`",
     "`import_module` + getattr of the dotted path, then called",
     true, Reader::YamlCfg, ""]
    ["PyYAML", "`yaml.load(Loader=Loader/UnsafeLoader)` / `unsafe_load` / `full_load`",
     "tags `tag:yaml.org,2002:python/...` (after `%TAG` handles and `%xx` escapes): `name:`, `module:`, `object:`, `object/new:`, `object/apply:`",
     "`find_python_name`: rsplit at the last dot, `__import__(module)` (unsafe loaders only), getattr; `FullLoader` resolves only `python/name` of already imported modules",
     true, Reader::YamlCfg, ""]
    // --- Serving formats --------------------------------------------------------------------
    ["MLflow", "`mlflow.pyfunc.load_model` (`loader_module`, `code`)",
     "`MLmodel` (YAML): `flavors.python_function.loader_module`, `code` (put on `sys.path`), `data`, `env`",
     "`importlib.import_module(loader_module)._load_pyfunc(data_path)`",
     true, Reader::YamlCfg, ""]
    ["MLflow", "`mlflow.pyfunc` `python_model` / models from code",
     "`python_model.pkl` (cloudpickle, optionally compressed), `artifacts`; `model_code_path` (a `.py` executed)",
     "`cloudpickle.load`; the code file imported by file spec",
     true, Reader::Pickle, "`python_model` is not flagged (the pickle it names is inspected as one)"]
    ["MLflow", "`mlflow.pytorch.load_model`",
     "`data/model.pth`, `data/pickle_module_info.txt` naming a module",
     "`importlib.import_module(<name from the txt>)` passed to `torch.load` as `pickle_module`",
     true, Reader::ConfigRefs, ""]
    ["MLflow / scikit-learn", "`mlflow.sklearn.load_model`",
     "`model.pkl` (`serialization_format` pickle or cloudpickle) or `model.skops`",
     "`pickle.load` / `cloudpickle.load` / `skops.io.load`",
     true, Reader::Pickle, ""]
    ["TorchServe", "model loading of a `.mar` (`ModelLoader.load`)",
     "zip: `MAR-INF/MANIFEST.json` (`model.handler` `module[:function]`, `modelFile`, `serializedFile`, `extraFiles`, `requirementsFile`), the handler `.py`",
     "`importlib.import_module(handler)` with the model directory on `sys.path` first; on ImportError a default handler from `ts.torch_handler`; the base handler `torch.jit.load`s or `torch.load`s `serializedFile` and imports `modelFile`",
     true, Reader::TorchServe, "a handler named like a default handler is skipped although a shipped `image_classifier.py` would win (it is reported as `python-code`); `requirementsFile` (pip install) is not flagged"]
    // --- Runtimes -----------------------------------------------------------------------------
    ["onnxruntime / onnx", "`InferenceSession` / `onnx.load`",
     "ONNX protobuf (any name; ORT format by `.ort` or its header), tensors' external data `location` relative to the model's folder; custom op libraries the application registers; `ai.onnx.contrib` ops from onnxruntime-extensions (PyOp)",
     "ops by (domain, type) in the registered kernels",
     true, Reader::Onnx, "ONNX is read only under a `.onnx` name; ORT-format models are not identified; `onnx-custom-domain` is info"]
    ["TFLite / LiteRT", "`tf.lite.Interpreter`",
     "`.tflite` flatbuffer (`TFL3`): operator codes, custom op names, Flex ops",
     "custom ops by name in the application's op resolver; Flex ops through TensorFlow kernels",
     false, Reader::Tflite, "`custom-operator` is info"]
    ["ExecuTorch", "`Runtime.load_program` / `Module`",
     "`.pte` flatbuffer (`ET12`): operators per execution plan, backend delegates",
     "operators by name in the registered kernels, delegates by backend id",
     false, Reader::Executorch, "`custom-operator` is info"]
    // --- Other libraries ----------------------------------------------------------------------
    ["scikit-learn / xgboost / lightgbm / catboost", "estimators saved with pickle or joblib",
     "`*.pkl`, `*.joblib`, `*.sav` (any name)",
     "as `pickle.load` / `joblib.load`",
     true, Reader::Pickle, ""]
    ["skops", "`skops.io.load(trusted=...)`",
     "zip: `schema.json` (`__module__`, `__class__`, `__loader__` per object), array members",
     "`get_module` + getattr for types the caller trusts; untrusted types refused",
     true, Reader::ConfigRefs, ""]
    ["spaCy", "`spacy.load(<package>)` / `load_model_from_init_py`",
     "a pipeline package: `<pkg>/__init__.py`, `meta.json`, `config.cfg` (`@architectures`, `@misc`, ... registry names), component data (msgpack)",
     "the package's `__init__.py` imported; registry names looked up in catalogue registries of installed packages",
     true, Reader::PythonSource, ""]
    ["gensim", "`SaveLoad.load` (`Word2Vec.load`, `KeyedVectors.load`, ...)",
     "the main file (a pickle, `utils.unpickle`), companions `<fname>.<attr>.npy` (or `.npz` when compressed)",
     "`pickle.load`; companions with `np.load` (default `allow_pickle=False`)",
     true, Reader::Pickle, ""]
    ["datasets", "`load_dataset` (loading scripts, datasets < 4.0)",
     "`<name>.py` in the dataset repo or folder; webdataset decoders: `.pth` (`torch.load(weights_only=True)`), `.npy`/`.npz` (`allow_pickle=False`)",
     "the script imported as a module (`trust_remote_code`); 4.0 and later refuse scripts",
     true, Reader::PythonSource, ""]
    // --- Python itself ------------------------------------------------------------------------
    ["CPython import", "`import` of `.py` in a shipped tree",
     "any `.py` a loader puts on `sys.path` or imports by file (trust_remote_code, hubconf, handlers, MLflow `code`)",
     "the import system",
     true, Reader::PythonSource, ""]
    ["CPython import", "`import` of `.pyc` (sourceless or `__pycache__`)",
     "`<mod>.pyc` beside no source, `__pycache__/<mod>.cpython-3XX.pyc`",
     "`SourcelessFileLoader`: `marshal` code object executed",
     true, Reader::PythonSource, ""]
    ["CPython import / ctypes", "extension modules and shared libraries",
     "`.so`, `.pyd`, `.dylib`, `.dll` imported by name or opened with `ctypes.CDLL`",
     "`dlopen` / `LoadLibrary`",
     true, Reader::NativeCode, ""]
    ["CPython site", "`.pth` files in a site directory",
     "every `*.pth` in a site-packages directory at start-up; lines starting with `import` are executed",
     "`exec` of the line",
     true, Reader::PythonSource, ""]
};
