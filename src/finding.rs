//! Findings: everything a user must see. Each has a stable kebab-case [`Code`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// How bad a finding is. Ordered: `Info < Warning < Error < Critical`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity '{s}' (expected critical, error, warning or info)"
            )),
        }
    }
}

/// Static description of one code.
pub struct CodeInfo {
    pub code: Code,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub explanation: &'static str,
    /// MITRE ATLAS technique ids this finding evidences.
    pub atlas: &'static [&'static str],
}

macro_rules! codes {
    ($( $variant:ident = $name:literal, $sev:ident, [$($atlas:literal),*], $summary:literal, $explain:literal; )*) => {
        /// Every finding code. Names are stable: never rename one, only add.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum Code {
            $(
                #[doc = $summary]
                #[serde(rename = $name)]
                $variant,
            )*
        }

        /// The table of all codes, in declaration order.
        pub static CODES: &[CodeInfo] = &[
            $( CodeInfo {
                code: Code::$variant,
                name: $name,
                severity: Severity::$sev,
                summary: $summary,
                explanation: $explain,
                atlas: &[$($atlas),*],
            }, )*
        ];
    };
}

codes! {
    // --- pickle ---------------------------------------------------------------------------
    PickleDangerousImport = "pickle-dangerous-import", Critical, ["AML.T0011.000", "AML.T0010.003", "AML.T0018.002"],
        "A pickle imports a callable known to run code, spawn processes, touch files or re-enter unpickling.",
        "Loading this file with pickle, torch.load, joblib.load or numpy.load(allow_pickle=True) imports the named \
object, and the pickle can call it with arguments of its choosing. The global is on modelgate's denylist \
(e.g. os.system, subprocess, builtins.eval/exec/getattr/__import__, importlib, runpy, marshal, nested \
pickle loaders). Treat the file as malicious: do not load it. Obtain the model from a trusted source, or \
convert it to a format without code (safetensors) in an isolated environment.";
    PickleUnknownImport = "pickle-unknown-import", Error, ["AML.T0011.000", "AML.T0010.003"],
        "A pickle imports a global that is not on the allowlist of plain-data types.",
        "modelgate's verdicts are default-deny: only exact (module, name) pairs that real frameworks write for \
plain data (torch tensor rebuild helpers, numpy array reconstruction, collections.OrderedDict, common \
scikit-learn estimators, ...) pass. Any other import can execute arbitrary code when the file is loaded, \
depending on what the imported object does. Check that the named object is expected for this model; if it \
is an in-house class you trust, allow it explicitly by policy. Otherwise do not load the file.";
    PickleExtensionCode = "pickle-extension-code", Error, ["AML.T0011.000"],
        "A pickle uses EXT1/EXT2/EXT4, importing an object through the copyreg extension registry.",
        "Extension codes name a global indirectly through copyreg's extension registry, which is empty in a \
standard Python. What it resolves to depends on the loading process, so it cannot be verified statically. \
Real frameworks do not write these opcodes.";
    PickleBuildOnGlobal = "pickle-build-on-global", Error, ["AML.T0011.000"],
        "A pickle applies BUILD (setattr/__setstate__) directly to an imported class or function.",
        "BUILD on an imported object rather than on an instance changes attributes of a module-level object in \
the loading process (monkey-patching). Framework pickles never do this.";
    PickleNested = "pickle-nested", Warning, ["AML.T0011.000"],
        "A pickle carries another pickle as a bytes argument to a call; the inner pickle was analysed too.",
        "A bytes argument that is itself a pickle (for example to torch.storage._load_from_bytes or \
pickle.loads) is unpickled when the outer call runs. modelgate analyses the inner pickle and reports its \
findings with the member '<nested pickle>'.";
    PickleParseError = "pickle-parse-error", Error, ["AML.T0011.000"],
        "A pickle stream could not be parsed to its end; everything before the break was analysed.",
        "Python's unpickler executes opcodes as it reads them, so a pickle that breaks part-way still runs \
everything before the break. modelgate reports all imports seen before the break; a break after a \
dangerous import is treated as malicious. A file that cannot be parsed cannot be shown to be safe.";
    PickleReaderDivergence = "pickle-reader-divergence", Error, ["AML.T0011.000", "AML.T0010.003"],
        "CPython's reader paths read this pickle differently (an argument crosses the end of its FRAME, a frame inside a frame, STOP inside a frame).",
        "_pickle.c's pickle.loads reads a stream front to back; pickle.load(file) fetches each FRAME into a buffer \
and, when an opcode's argument crosses the end of that buffer, drops the rest of it and reads from the file \
after the frame (torch.load and numpy.load read this way); the pure-Python unpickler (joblib's) raises \
instead. Python's picklers never write such a stream, so it exists to show one loader something other than \
what another runs. modelgate analyses both C readings and reports imports that either reaches.";
    PickleOddStructure = "pickle-odd-structure", Error, ["AML.T0011.000"],
        "A pickle holds a structure no pickler writes (e.g. SETITEMS applied to a list), aimed at a loader's bugs.",
        "Python's picklers write lists with APPENDS and dicts with SETITEMS. SETITEMS on a list calls \
list.__setitem__ with indices of the pickle's choosing, the pattern of attacks on restricted unpicklers such \
as torch's weights-only loader. A real framework never writes it.";
    PickleTrailingData = "pickle-trailing-data", Warning, ["AML.T0010.003"],
        "Bytes follow the last complete pickle in a file that is not a pickle.",
        "pickle.load stops at the STOP opcode and ignores what follows, but other readers may not. Data after \
the pickle is a common way to hide a second payload (polyglot files).";
    // --- walk / identify --------------------------------------------------------------------
    ReadError = "read-error", Error, [],
        "A file or directory could not be read; its content was not scanned.",
        "An unreadable file cannot be shown to be safe, so it fails the gate. Check permissions and that the \
file is not being modified during the scan.";
    CachedCopyDiffers = "cached-copy-differs", Error, ["AML.T0010.003"],
        "A local cached copy of a remote file is not the file the remote lists; the remote file was read instead.",
        "The Hugging Face cache on this machine holds, for the commit scanned, bytes whose SHA-256 or size is not \
the one the Hub lists. A loader that reads the cache would load those bytes, which this scan did not judge. \
Delete the cached copy (or the whole snapshot) and download it again.";
    SymlinkOutsideRoot = "symlink-outside-root", Error, ["AML.T0010.003"],
        "A symbolic link points outside the scanned root; its target was not scanned.",
        "A loader follows the link and loads whatever it points to, which this scan did not see. Scan the \
target too, or replace the link with the file.";
    SymlinkBroken = "symlink-broken", Warning, [],
        "A symbolic link is dangling or part of a loop.",
        "The link cannot be resolved. Nothing can be loaded through it, but the tree is not what it claims to be.";
    SpecialFile = "special-file", Warning, [],
        "A FIFO, socket or device node was found in the tree; it was not read.",
        "Model repositories contain regular files only. Special files can block or feed a loader arbitrary data.";
    NonUtf8Path = "non-utf8-path", Warning, [],
        "A file name is not valid UTF-8; it was scanned and is shown with replacement characters.",
        "Odd names are a way to confuse tools that display or match paths. The file was scanned anyway.";
    FormatMismatch = "format-mismatch", Warning, ["AML.T0010.003"],
        "A file's content contradicts its extension.",
        "modelgate identifies files by content. A file whose extension promises one format (e.g. .safetensors) \
but whose bytes are another (e.g. a pickle) is a classic way past tools that route by extension.";
    LfsPointer = "lfs-pointer", Error, [],
        "A Git LFS pointer was found instead of the file it stands for.",
        "The real content was never fetched, so it was not scanned. Run `git lfs pull` and scan again.";
    NotInspected = "not-inspected", Info, [],
        "The file's format was identified but modelgate has no inspector for it yet.",
        "The file was hashed and identified, but its content was not checked for embedded code.";
    InspectorPanic = "inspector-panic", Error, [],
        "An inspector failed unexpectedly on this file; its content was not fully checked.",
        "This is a bug in modelgate. The file fails the gate because it could not be shown to be safe. \
Please report it with the file if you can share it.";
    LimitExceeded = "limit-exceeded", Error, [],
        "A safety limit (size, depth, count, decompressed bytes) was reached; the rest was not inspected.",
        "Limits keep hostile input from exhausting memory or time. Content beyond the limit was not checked, so \
the file fails the gate. Decompression bombs and deeply nested archives end here.";
    // --- archives ---------------------------------------------------------------------------
    ZipMalformed = "zip-malformed", Error, [],
        "A zip archive (or one of its members) could not be parsed.",
        "The archive's structure is broken. Loaders differ in how they read broken archives, so what they load \
cannot be known.";
    ZipCrcMismatch = "zip-crc-mismatch", Error, ["AML.T0010.003"],
        "A zip member's CRC-32 does not match its content.",
        "PyTorch's reader ignores CRCs while Python's zipfile rejects the member. A mismatch is how a modified \
pickle is slipped past scanners that give up on bad CRCs. The member was analysed anyway.";
    ZipNameMismatch = "zip-name-mismatch", Error, ["AML.T0010.003"],
        "A zip member's local header name differs from its central directory name.",
        "Readers disagree on which name is real, so a member can look harmless to one tool and be loaded as \
data.pkl by another. The member was analysed anyway.";
    ZipDuplicateMember = "zip-duplicate-member", Error, ["AML.T0010.003"],
        "Two zip members have the same name.",
        "Readers disagree on which copy wins (the first, or the last). Every copy was analysed.";
    ZipFlagAnomaly = "zip-flag-anomaly", Error, ["AML.T0010.003"],
        "A zip member has unusual general-purpose flags (e.g. encryption bits) that loaders ignore.",
        "PyTorch ignores the general-purpose flags; other readers refuse encrypted members. Either way the flags \
do not match the content, which is a scanner-evasion trick.";
    ZipEncrypted = "zip-encrypted", Error, [],
        "A zip member is encrypted or uses an unsupported compression method; it was not inspected.",
        "Its content could not be checked, so it fails the gate.";
    ZipPrefixData = "zip-prefix-data", Error, ["AML.T0010.003"],
        "Bytes precede the first zip entry (a polyglot: another format may be read from the start).",
        "Zip readers find the archive from its end, while pickle.load and torch.load read from the start. A \
file can be a harmless zip to one tool and a pickle to another. Both readings were analysed.";
    ZipTrailingData = "zip-trailing-data", Error, ["AML.T0010.003"],
        "Bytes follow the zip end-of-central-directory record or sit between the entries and the directory.",
        "Data outside the archive structure is invisible to zip readers and can carry a second payload.";
    ZipOverlap = "zip-overlapping-members", Error, [],
        "Zip members overlap each other (a zip-bomb or parser-confusion construction).",
        "Overlapping entries make a small file expand enormously, or make two names share bytes.";
    TarMalformed = "tar-malformed", Error, [],
        "A tar archive could not be parsed.",
        "The archive's structure is broken, so its members could not all be checked.";
    CompressionError = "compression-error", Error, [],
        "A compressed stream (gzip, bz2, xz, lzma, zstd, zlib, lz4) is corrupt or truncated.",
        "The decompressed content could only be checked up to the error.";
    // --- torch --------------------------------------------------------------------------------
    TorchScriptCode = "torchscript-code", Warning, ["AML.T0011.000"],
        "A TorchScript archive carries code (code/ members) that torch.jit.load compiles and runs.",
        "TorchScript code runs inside the TorchScript interpreter when the model is loaded and called; it can \
invoke any registered operator, including file I/O. Prefer weights-only formats.";
    TorchLegacyFormat = "torch-legacy-format", Info, [],
        "A PyTorch checkpoint in the legacy (pre-1.6) stacked-pickle format.",
        "All of its pickles were analysed. Re-save with a current PyTorch, or better, as safetensors.";
    // --- numpy --------------------------------------------------------------------------------
    NpyMalformed = "npy-malformed", Error, [],
        "A NumPy .npy header could not be parsed.",
        "numpy.load cannot read it as intended; what a lenient loader does with it is unknown.";
    NpyObjectArray = "npy-object-array", Warning, ["AML.T0011.000"],
        "A NumPy array has dtype object: its content is a pickle (analysed), loaded only with allow_pickle=True.",
        "Object arrays are stored as pickles and run code when loaded with allow_pickle=True. The embedded pickle \
was analysed and its findings are reported separately.";
    // --- datasets -----------------------------------------------------------------------------
    DatasetUnchanged = "dataset-unchanged", Info, [],
        "Every record matches the baseline manifest.",
        "The dataset holds exactly the baseline's records (in any order and any split into files).";
    DatasetRecordsInserted = "dataset-records-inserted", Warning, ["AML.T0020", "AML.T0010.002"],
        "Records that are not in the baseline.",
        "New records are where poison enters a dataset. The other signals say whether these look like poisoning.";
    DatasetRecordsRemoved = "dataset-records-removed", Warning, ["AML.T0020"],
        "Baseline records that are gone.",
        "Removing records can shift what a model learns just as adding them can.";
    DatasetRecordsModified = "dataset-records-modified", Error, ["AML.T0020", "AML.T0010.002"],
        "Records whose key stayed but whose content changed.",
        "An edited record under a known key is a quiet way to poison a dataset.";
    DatasetLabelFlip = "dataset-label-flip", Error, ["AML.T0020", "AML.T0019"],
        "Records whose input is unchanged but whose label changed.",
        "Flipped labels are the simplest poisoning attack; a handful suffices against a small class.";
    DatasetDuplicateInjection = "dataset-duplicate-injection", Error, ["AML.T0020", "AML.T0019"],
        "The same record was added many times.",
        "Repeating a record weights it in training: a cheap way to plant a behaviour.";
    DatasetNearDuplicates = "dataset-near-duplicates", Error, ["AML.T0020", "AML.T0019"],
        "Inserted records that differ only in case, spacing, punctuation or hidden characters.",
        "Near-copies weight the same content while evading exact-duplicate checks.";
    DatasetLabelShift = "dataset-label-shift", Warning, ["AML.T0020"],
        "The label distribution moved.",
        "Counts per label are given; a shift toward one label can come from poisoning or from a legitimate update.";
    DatasetTriggerToken = "dataset-trigger-token", Error, ["AML.T0020", "AML.T0018.000"],
        "Tokens rare in the rest of the data but concentrated in changed records with one label.",
        "This is the shape of a backdoor trigger: a rare token that, once learned, steers the model to a label. \
Candidates are listed with counts; none of this proves the data is clean.";
    DatasetInvisibleText = "dataset-invisible-text", Error, ["AML.T0020"],
        "New or changed text contains invisible or bidirectional-control characters.",
        "Zero-width and bidi characters hide triggers from reviewers and reorder what they see.";
    DatasetMixedScript = "dataset-mixed-script", Warning, ["AML.T0020"],
        "New or changed text mixes Latin with Greek or Cyrillic look-alikes inside words.",
        "Homoglyphs let poisoned text pass for ordinary text.";
    DatasetSchemaDrift = "dataset-schema-drift", Warning, ["AML.T0010.002"],
        "Columns were added, removed or renamed.",
        "Loaders and training code may read different fields than they were written for.";
    DatasetFileChanged = "dataset-file-changed", Error, ["AML.T0010.002"],
        "A file that holds no records was added, removed or changed.",
        "Files other than records (scripts, configs, binaries) ship with datasets and are loaded with them.";
    // --- keras / gguf -------------------------------------------------------------------------
    KerasLambdaLayer = "keras-lambda-layer", Critical, ["AML.T0011.000", "AML.T0010.003", "AML.T0018.002"],
        "A Keras model has a Lambda layer: Python bytecode or source that runs when the model is loaded.",
        "Lambda layers store a marshalled Python function (or its source) in the model config. Keras 2 runs it on \
load; Keras 3 does so when safe_mode is turned off, which users routinely do to load such models. Treat the \
model as code: do not load it unless you trust its author.";
    KerasCustomObject = "keras-custom-object", Error, ["AML.T0011.000"],
        "A Keras config names a class or function from a module outside Keras and TensorFlow.",
        "Loading the model imports that module and calls the object it names. Check that the module is yours and \
expected; otherwise do not load the model.";
    KerasTorchModule = "keras-torch-module", Error, ["AML.T0011.000", "AML.T0010.003"],
        "A Keras TorchModuleWrapper layer carries a torch.save'd module, which Keras loads with torch.load(weights_only=False).",
        "TorchModuleWrapper.from_config base64-decodes the layer's 'module' and unpickles it with torch.load \
(weights_only=False): whatever the pickle imports runs when the model is loaded (Keras versions before safe \
mode guarded it always; later ones when safe mode is off). modelgate decodes and analyses the module; its \
findings are reported under '<torch module of LAYER>'.";
    KerasUnlistedObject = "keras-unlisted-object", Error, ["AML.T0011.000"],
        "A Keras config names an object of Keras that is not a known layer, initializer, regularizer, constraint, optimizer, loss, metric or activation.",
        "Keras resolves any public symbol a config names, functions included: keras.utils.get_file downloads \
files, keras.config.enable_unsafe_deserialization turns safe mode off. modelgate allows exactly the (module, \
name) pairs that Keras itself writes for its components; anything else is reported.";
    KerasExternalReference = "keras-external-reference", Error, ["AML.T0010.003"],
        "A Keras config makes the loader read a file or a URL (e.g. a StringLookup vocabulary path).",
        "Layers such as StringLookup and TextVectorization read a vocabulary from a path when they are built; a \
config can point them at any file on the machine or at a remote location. Ship the vocabulary inside the model.";
    KerasConfigMalformed = "keras-config-malformed", Error, [],
        "A Keras model config (or training config) could not be read as JSON the way Keras reads it.",
        "What the loader makes of a config that does not parse here cannot be known, so it was not shown to be safe.";
    Hdf5ExternalLink = "hdf5-external-link", Error, ["AML.T0010.003"],
        "An HDF5 file links to an object in another file (an external or user-defined link).",
        "h5py follows external links when the group is read: loading the weights opens a file named by the \
model, which this scan did not see.";
    Hdf5Malformed = "hdf5-malformed", Error, [],
        "Part of an HDF5 file's structure could not be read (dense storage, a shared message, a broken structure).",
        "Attributes or groups there (a Keras model_config among them) were not inspected by structure; a text \
search for configs was run instead.";
    HfRemoteCode = "hf-remote-code", Error, ["AML.T0011.000", "AML.T0010.003"],
        "A Hugging Face config maps a class to Python code shipped with the model (auto_map, custom_pipelines).",
        "transformers imports that code when the model is loaded with trust_remote_code=True, which such models \
require: whatever the files do runs in the loading process. modelgate does not judge Python; review the \
files named (each is reported as python-code with its SHA-256) and approve exact ones by hash in the policy.";
    PythonCode = "python-code", Error, ["AML.T0011.000"],
        "A Python source file in a model tree: code that trust_remote_code, custom handlers or loaders run.",
        "Model repositories carry Python for custom architectures, tokenizers and pipelines; loaders import it. \
It is not analysed. Review it, and approve the exact file with a waiver whose evidence is its SHA-256.";
    OnnxExternalData = "onnx-external-data", Critical, ["AML.T0010.003", "AML.T0011.000"],
        "An ONNX tensor's external data points outside the model's folder (an absolute path, '..', or a link out).",
        "onnxruntime opens the file a tensor's external-data location names when it loads the model: a model \
can read any file the loading process can (and load it as weights, or leak it through outputs).";
    OnnxCustomDomain = "onnx-custom-domain", Info, ["AML.T0011.000"],
        "An ONNX model uses operators of a non-standard domain.",
        "Custom operators are served by a library the runtime must load; the domain ai.onnx.contrib is \
onnxruntime-extensions, whose PyOp runs Python (reported as an error).";
    OnnxMalformed = "onnx-malformed", Error, [],
        "An ONNX model could not be read as protobuf.",
        "Its external-data locations and operator domains could not all be checked.";
    TfPythonOp = "tf-python-op", Error, ["AML.T0011.000"],
        "A TensorFlow graph uses an op that calls Python (PyFunc, PyFuncStateless, EagerPyFunc).",
        "These ops call a Python function registered in the process that runs the graph: a model that uses \
them runs whatever that process has registered under the names it gives. Real exported models do not use them.";
    TfFileOp = "tf-file-op", Warning, ["AML.T0010.003"],
        "A TensorFlow graph uses an op that reads or writes files at paths the graph supplies (ReadFile, WriteFile, readers, datasets, summary writers).",
        "Running the graph opens those paths: a model can read any file the serving process can, or write \
one. Text models read vocabulary assets this way; check that the paths are the model's own assets. The \
checkpoint ops every SavedModel uses (SaveV2, RestoreV2, MergeV2Checkpoints) are not reported.";
    CustomOperator = "custom-operator", Info, [],
        "A TFLite or ExecuTorch model uses a custom operator (or an ExecuTorch backend delegate).",
        "The interpreter runs whatever the application registered under that name (the model cannot carry the \
code); listed so that a reviewer knows which implementations the model needs. Flex operators that call Python \
or open files are reported as tf-python-op and tf-file-op.";
    TfGraphMalformed = "tf-graph-malformed", Error, [],
        "A TensorFlow graph (.pb) could not be read as protobuf.",
        "Its ops could not all be checked.";
    ConfigCodeReference = "config-code-reference", Error, ["AML.T0011.000", "AML.T0010.003"],
        "A model config names code its loader imports and calls: a Hydra _target_ outside the frameworks' classes, a PyYAML python tag, an MLflow loader_module.",
        "NeMo and other Hydra-configured models are built by hydra.utils.instantiate, which imports the \
_target_ and calls it with the entry's arguments (CVE-2025-23304): `_target_: os.system` runs a command. \
Classes of NeMo, PyTorch, Lightning, transformers and a few other frameworks pass; functions and other \
modules are reported (critical for denylisted modules). PyYAML's unsafe loaders construct !!python tags; \
mlflow.pyfunc.load_model imports the MLmodel's loader_module.";
    SignatureTimestamp = "signature-timestamp", Info, ["AML.T0010.003"],
        "What a bundle's RFC 3161 timestamps establish: verified (info), not checked (warning), or not verifying (error).",
        "A trusted time-stamping authority's token over the signature proves when it was made: the signing \
certificate's chain is then validated at that time, so a model signed before its certificate expired still \
verifies. Give the authority's certificates with --tsa-certificate-chain; without them the timestamps are not \
checked and the chain is validated at the current time.";
    CertificateCaLeaf = "certificate-ca-leaf", Warning, ["AML.T0010.003"],
        "A model's signing certificate is itself a CA certificate (basicConstraints CA:TRUE).",
        "A CA certificate can issue others: whoever holds its key can mint signing certificates that chain to \
your anchors. model_signing and the Go client accept such signers, so modelgate verifies the chain by the \
same rules (validity, the code-signing usage, each signature up to an anchor) and says so; raise this code's \
severity in the policy to refuse them.";
    NativeCode = "native-code", Error, ["AML.T0011.000", "AML.T0010.003"],
        "A native shared library or executable (ELF, Mach-O, PE) in a model tree.",
        "Model folders ship native code for custom operators and runtime extensions (OpenVINO extensions, \
ONNX Runtime custom-op libraries, compiled Python modules); whatever loads it runs it, unchecked by any \
model scanner. Approve exact files by hash in the policy, or remove them.";
    ConfigMalformed = "config-malformed", Warning, [],
        "A YAML config could not be parsed; its entries were not all checked.",
        "Loaders that read it may still accept it; the _target_ and loader_module entries past the error were \
not checked.";
    GgufTemplateInjection = "gguf-template-injection", Critical, ["AML.T0011.000", "AML.T0010.003"],
        "A GGUF chat template reaches into Python internals (server-side template injection).",
        "Chat templates are Jinja2 rendered by the loader (e.g. llama-cpp-python, CVE-2024-34359). A template that \
reaches __globals__, __subclasses__, __builtins__ or os runs code when a chat is formatted. Real templates \
never do.";
    ChatTemplateInjection = "chat-template-injection", Critical, ["AML.T0011.000", "AML.T0010.003"],
        "A Hugging Face chat template (tokenizer_config.json chat_template, chat_template.jinja) reaches into Python internals.",
        "transformers renders chat templates with Jinja2 (apply_chat_template); so do servers built on it. A \
template that reaches an attribute or subscript key starting with '_' (after unescaping, or built at render \
time), the attr filter or frame internals can escape to Python (the CVE-2024-34359 class, not GGUF-only). \
Do not serve the tokenizer; replace the template with a known one.";
    GgufMalformed = "gguf-malformed", Error, [],
        "A GGUF header or its metadata could not be parsed.",
        "Its chat templates and metadata could not be checked.";
    // --- safetensors ------------------------------------------------------------------------
    SafetensorsHeader = "safetensors-invalid-header", Error, ["AML.T0010.003"],
        "A safetensors header is not valid: length, UTF-8, JSON or structure.",
        "The header must be a JSON object, within the file and size limit, whose entries are tensors with dtype, \
shape and data_offsets, plus an optional __metadata__ map of strings.";
    SafetensorsDuplicateKey = "safetensors-duplicate-key", Error, ["AML.T0010.003"],
        "A safetensors header names the same key twice.",
        "JSON parsers disagree on which duplicate wins, so two tools can load different tensors from one file.";
    SafetensorsDtype = "safetensors-invalid-dtype", Error, [],
        "A safetensors tensor has an unknown dtype.",
        "The loader rejects the file or misreads the tensor.";
    SafetensorsSizeMismatch = "safetensors-size-mismatch", Error, ["AML.T0010.003"],
        "A safetensors tensor's byte length does not equal dtype size times its shape.",
        "Shapes and offsets disagree, so readers may read past the tensor or overlap others.";
    SafetensorsOffsets = "safetensors-invalid-offsets", Error, ["AML.T0010.003"],
        "safetensors data offsets are out of bounds, overlap, or leave gaps.",
        "Tensors must tile the data section exactly, in order. Gaps can hide data; overlaps alias tensors.";
    SafetensorsTrailing = "safetensors-trailing-bytes", Error, ["AML.T0010.003"],
        "Bytes follow the last safetensors tensor.",
        "Data the loader never reads can carry a second payload (a polyglot).";
    SafetensorsMetadata = "safetensors-invalid-metadata", Error, [],
        "The safetensors __metadata__ entry is not a map of strings to strings.",
        "The format allows only string values in __metadata__.";
    // --- signatures ---------------------------------------------------------------------
    SignatureVerified = "signature-verified", Info, [],
        "The model's signature verified and every file matches it.",
        "The signature is valid for the given key or certificate chain, the subject digest matches the listed \
resources, and every file of the model has exactly the signed digest.";
    SignatureInvalid = "signature-invalid", Error, ["AML.T0010.003"],
        "The signature does not verify with the given key or certificate.",
        "Either the signed payload was altered or it was signed by another key. Nothing in it can be trusted.";
    SignatureMalformed = "signature-malformed", Error, [],
        "The signature file is not a Sigstore bundle with a DSSE envelope modelgate can read.",
        "Expected a Sigstore bundle (v0.1-v0.3) holding a DSSE envelope over an in-toto Statement v1 with the \
model_signing v1.0 predicate, as `model-signing` writes it.";
    SignatureSubjectMismatch = "signature-subject-mismatch", Error, ["AML.T0010.003"],
        "The signed subject digest does not match the resources listed in the signature.",
        "The subject digest is SHA-256 over the listed digests in order; a mismatch means the listing was \
assembled inconsistently or tampered with before signing.";
    SignatureUnsafeName = "signature-unsafe-name", Error, ["AML.T0010.003"],
        "A signed resource name is absolute, leaves the model directory, or repeats.",
        "Such names could make a verifier check files outside the model or check one file twice.";
    SignedFileModified = "signed-file-modified", Error, ["AML.T0010.003", "AML.T0018"],
        "A file's content differs from its signed digest.",
        "The model changed after it was signed: weights swapped, a file edited. Do not use it.";
    SignedFileMissing = "signed-file-missing", Error, ["AML.T0010.003"],
        "A signed file is missing from the model.",
        "The model on disk is not the model that was signed.";
    UnsignedFile = "unsigned-file", Error, ["AML.T0010.003"],
        "A file in the model is not covered by the signature.",
        "Files added after signing (for example a pickle next to signed safetensors) are not vouched for.";
    // --- manifests --------------------------------------------------------------------------
    ManifestVerified = "manifest-verified", Info, [],
        "Every file matches the signed manifest.",
        "The manifest's signature verified over its exact bytes, and every file has the recorded size and digests.";
    ManifestUnsigned = "manifest-unsigned", Warning, [],
        "The manifest was used without a signature, by explicit request.",
        "Without a signature anyone who can edit the manifest can make any tree match it. Sign manifests \
(`modelgate manifest create --private-key`) and verify them with the public key.";
    ManifestFileAdded = "manifest-file-added", Error, ["AML.T0010.003"],
        "A file is not in the manifest.",
        "The tree gained a file after the manifest was made.";
    ManifestFileRemoved = "manifest-file-removed", Error, ["AML.T0010.003"],
        "A file in the manifest is missing.",
        "The tree lost a file after the manifest was made.";
    ManifestFileModified = "manifest-file-modified", Error, ["AML.T0010.003", "AML.T0018"],
        "A file's size or digest differs from the manifest.",
        "The file changed after the manifest was made.";
    ManifestFileRenamed = "manifest-file-renamed", Error, ["AML.T0010.003"],
        "A file in the manifest now appears under another name.",
        "Its content is unchanged, but loaders find files by name.";
    // --- policy -----------------------------------------------------------------------------
    PolicySignatureRequired = "policy-signature-required", Error, ["AML.T0010.003"],
        "The policy requires a verified signature over this file, and there is none.",
        "modelgate.toml's [require] section asks that every file be covered by a verified OpenSSF Model \
Signing signature from the given key. This file is not covered (the signature is missing, does not verify, \
or does not list the file). Sign the model again, or remove the file.";
    PolicyWaiverUnused = "policy-waiver-unused", Warning, [],
        "A waiver in the policy matched no finding.",
        "Waivers that match nothing hide nothing today but may hide a new finding tomorrow. Remove the waiver, \
or narrow its path and evidence to what it is meant to cover.";
    PolicyWaiverExpired = "policy-waiver-expired", Error, [],
        "A waiver in the policy has passed its expiry date.",
        "Expired waivers no longer apply: the findings they covered are reported again. Review them, then \
renew the waiver with a new date or fix the cause.";
    PolicyNotApplied = "policy-not-applied", Warning, [],
        "A modelgate.toml inside a scanned tree was not applied.",
        "A policy can waive findings, so one that arrives with the files under scan (a downloaded model, a \
pull request) could waive its own malicious content. modelgate applies a policy named with --policy, or \
modelgate.toml in the working directory when that file is outside every scanned root. Review this file; \
if you trust it, pass it with --policy.";
    NothingInspected = "nothing-inspected", Error, [],
        "The run inspected no file at all.",
        "An empty tree (a mistyped path in CI, a folder whose files were never fetched) passes nothing: a \
gate that inspected nothing cannot say the model is safe. Check the path.";
    // --- scale-out --------------------------------------------------------------------------
    PlanChanged = "plan-changed", Error, [],
        "The tree differs from the scan plan: a file was added, removed or resized after `modelgate plan`.",
        "A sharded scan (`modelgate scan --plan PLAN --shard i/N`) reads the files the plan lists. A planned \
file that is gone or has another size, and a file the plan does not list (not scanned by the sharded run), \
mean the tree changed between planning and scanning: what was scanned is not what was planned. Plan again \
from a tree that nothing writes to, and scan again.";
}

impl Code {
    pub fn info(self) -> &'static CodeInfo {
        // CODES is in declaration order, which matches the enum discriminants.
        #[allow(clippy::indexing_slicing)]
        &CODES[self as usize]
    }
    pub fn as_str(self) -> &'static str {
        self.info().name
    }
    pub fn default_severity(self) -> Severity {
        self.info().severity
    }
    pub fn from_name(name: &str) -> Option<Code> {
        CODES.iter().find(|c| c.name == name).map(|c| c.code)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the user must see.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// The file, as given on the command line joined with its path below the root.
    pub path: String,
    /// Members inside archives, outermost first (e.g. `["archive/data.pkl"]`). Empty for the file itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member: Vec<String>,
    /// Byte offset within the innermost member (or the file), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub message: String,
    /// Structured detail, e.g. `{"module": "os", "name": "system"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evidence: BTreeMap<String, serde_json::Value>,
}

impl Finding {
    /// A finding about a whole file or tree (no archive member, no offset), at its code's
    /// default severity.
    pub fn new(
        code: Code,
        path: impl Into<String>,
        message: impl Into<String>,
        evidence: BTreeMap<String, serde_json::Value>,
    ) -> Finding {
        Finding {
            code,
            severity: code.default_severity(),
            path: path.into(),
            member: Vec::new(),
            offset: None,
            message: message.into(),
            evidence,
        }
    }

    /// `path!member!member` for display.
    pub fn location(&self) -> String {
        let mut s = self.path.clone();
        for m in &self.member {
            s.push('!');
            s.push_str(m);
        }
        if let Some(o) = self.offset {
            s.push_str(&format!(" @{o}"));
        }
        s
    }

    pub(crate) fn sort_key(&self) -> impl Ord + '_ {
        (
            &self.path,
            &self.member,
            self.offset,
            self.code,
            &self.message,
        )
    }
}

impl Code {
    /// What to do about a finding of this code, in one line (the text report prints it under
    /// the first finding of each code; `explain` says more).
    pub fn remedy(self) -> &'static str {
        use Code::*;
        match self {
            PickleDangerousImport | PickleExtensionCode | PickleBuildOnGlobal | PickleNested
            | KerasLambdaLayer | KerasTorchModule | GgufTemplateInjection
            | ChatTemplateInjection | TfPythonOp | OnnxExternalData => {
                "do not load this file; get the model from its publisher in a data-only format (safetensors, GGUF, ONNX without external paths)"
            }
            PickleUnknownImport | KerasCustomObject | KerasUnlistedObject => {
                "review the import; if harmless, allow it in the policy (a profile or allow_globals: `modelgate scan --suggest-policy`)"
            }
            HfRemoteCode | PythonCode | NativeCode | TorchScriptCode | ConfigCodeReference => {
                "review the code it names; approve the exact files by SHA-256 with a policy waiver, or do not load the model"
            }
            PickleParseError | PickleReaderDivergence | PickleOddStructure | PickleTrailingData
            | ZipMalformed | ZipCrcMismatch | ZipNameMismatch | ZipDuplicateMember
            | ZipFlagAnomaly | ZipPrefixData | ZipTrailingData | ZipOverlap | TarMalformed
            | NpyMalformed | Hdf5Malformed | KerasConfigMalformed | OnnxMalformed
            | TfGraphMalformed | GgufMalformed | SafetensorsHeader
            | SafetensorsDuplicateKey | SafetensorsDtype | SafetensorsSizeMismatch
            | SafetensorsOffsets | SafetensorsTrailing | SafetensorsMetadata
            | CompressionError | FormatMismatch | ConfigMalformed => {
                "loaders may read this file differently from what was checked: re-export it with the library that made it"
            }
            LimitExceeded => {
                "part of the file was not checked: extract or re-export it, or raise the limit it names, and scan again"
            }
            ZipEncrypted => "encrypted members cannot be checked: decrypt and extract them, and scan what they hold",
            NotInspected => "this format is not inspected: extract or convert it to one modelgate reads, and scan again",
            ReadError => "the file could not be read: check that it is there and readable, and scan again",
            CachedCopyDiffers => "delete the cached copy (or its snapshot) and download it again: what loaders read from the cache was not this scan's file",
            InspectorPanic => "modelgate failed on this file (a bug: please report it); treat the file as unchecked",
            NonUtf8Path => "rename it to a UTF-8 name: tools disagree on what this file is called",
            SymlinkOutsideRoot => {
                "the link leads out of the scanned tree: scan its target as well (name it on the command line), or replace the link with the file"
            }
            SymlinkBroken => "the link leads nowhere (or in a circle): fetch the file it stands for again, or remove the link",
            SpecialFile => "a FIFO, socket or device is no model file: remove it from the tree",
            LfsPointer => "fetch the real files (git lfs pull) and scan again",
            NothingInspected => "check the path: an empty tree proves nothing",
            PlanChanged => "plan again (modelgate plan) once nothing writes to the tree, and scan every shard again",
            NpyObjectArray => "load with allow_pickle=False, or re-save the array with a numeric dtype",
            TorchLegacyFormat => "re-save with torch.save (zip format) or, better, as safetensors",
            KerasExternalReference | Hdf5ExternalLink | TfFileOp | OnnxCustomDomain
            | CustomOperator => {
                "check that every path it names is the model's own file; ship the files inside the model"
            }
            SignatureInvalid | SignatureMalformed | SignatureSubjectMismatch
            | SignatureUnsafeName | SignedFileModified | SignedFileMissing | UnsignedFile
            | CertificateCaLeaf => {
                "do not use the files until a signature from the publisher verifies over all of them"
            }
            SignatureTimestamp => "give the time-stamping authority's certificates (--tsa-certificate-chain) to check the timestamps",
            ManifestUnsigned | ManifestFileAdded | ManifestFileRemoved | ManifestFileModified
            | ManifestFileRenamed => {
                "compare with the publisher's release; re-create the manifest only from a trusted copy"
            }
            PolicySignatureRequired => "sign the model (`modelgate sign key`) or fix the policy's [require] paths",
            PolicyWaiverUnused | PolicyWaiverExpired => "remove or renew the waiver in the policy",
            PolicyNotApplied => "pass your own policy with --policy; a policy shipped with the files is not trusted",
            DatasetRecordsInserted | DatasetRecordsRemoved | DatasetRecordsModified
            | DatasetLabelFlip | DatasetDuplicateInjection | DatasetNearDuplicates
            | DatasetLabelShift | DatasetTriggerToken | DatasetInvisibleText
            | DatasetMixedScript | DatasetSchemaDrift | DatasetFileChanged => {
                "inspect the rows listed before training; restore them from the trusted baseline"
            }
            SignatureVerified | ManifestVerified | DatasetUnchanged => "",
        }
    }
}

impl Finding {
    /// What to do about this finding, in one line: its code's remedy, made specific where one
    /// code has several causes (a read refused for permissions is not a slow read; a time
    /// limit is raised with `--max-seconds-per-file`, other limits are not).
    pub fn remedy(&self) -> &'static str {
        let message = self.message.to_ascii_lowercase();
        let limit = self.evidence.get("limit").and_then(|v| v.as_str());
        match self.code {
            Code::ReadError | Code::LimitExceeded
                if message.contains("permission denied")
                    || message.contains("operation not permitted") =>
            {
                "the file is not readable by this user: fix its permissions (chmod, chown) or scan as its owner, and scan again"
            }
            Code::ReadError if message.contains("changed while it was scanned") => {
                "the file changed during the scan: scan again once nothing writes to it"
            }
            Code::ReadError if message.contains("symbolic link") => {
                "a symbolic link in the model: pass --allow-symlinks to follow links (as model_signing's --allow_symlinks), or replace it with the file"
            }
            Code::LimitExceeded if limit == Some("max_seconds_per_file") => {
                "the file was not read to its end in time: raise --max-seconds-per-file and scan again"
            }
            Code::LimitExceeded if limit == Some("max_decompressed") => {
                "the file decompresses to more than the limit: a bomb, or a model too large to check in one stream; extract it and scan the parts"
            }
            code => code.remedy(),
        }
    }
}

/// `n` and the noun, singular when `n` is 1 ("1 file", "3 files").
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Issue 25: a fix hint fits the finding's cause: a permission error never suggests a time
    /// limit, a link never suggests `git lfs pull`, only a time limit suggests
    /// `--max-seconds-per-file`.
    #[test]
    fn remedies_follow_the_cause() {
        let f = |code: Code, message: &str, limit: Option<&str>| {
            let mut ev = BTreeMap::new();
            if let Some(l) = limit {
                ev.insert("limit".to_string(), serde_json::json!(l));
            }
            Finding::new(code, "x", message, ev).remedy()
        };
        let denied = f(
            Code::ReadError,
            "cannot open: Permission denied (os error 13)",
            None,
        );
        assert!(denied.contains("permissions"), "{denied}");
        assert!(!denied.contains("max-seconds"), "{denied}");
        let plain = f(Code::ReadError, "cannot read: Input/output error", None);
        assert!(!plain.contains("max-seconds"), "{plain}");
        let slow = f(
            Code::LimitExceeded,
            "reading: timed out",
            Some("max_seconds_per_file"),
        );
        assert!(slow.contains("--max-seconds-per-file"), "{slow}");
        let other = f(Code::LimitExceeded, "nesting too deep", Some("depth"));
        assert!(!other.contains("max-seconds"), "{other}");
        for code in [
            Code::SymlinkBroken,
            Code::SymlinkOutsideRoot,
            Code::SpecialFile,
        ] {
            let r = f(code, "symbolic link to 'x' is dangling", None);
            assert!(!r.contains("lfs"), "{code:?}: {r}");
        }
        assert!(f(Code::LfsPointer, "a Git LFS pointer", None).contains("git lfs pull"));
        let link = f(
            Code::ReadError,
            "cannot hash the model: a: a symbolic link; pass --allow-symlinks",
            None,
        );
        assert!(link.contains("--allow-symlinks"), "{link}");
        // No code's default remedy suggests the time limit: only a time limit's cause does.
        for c in CODES {
            assert!(!c.code.remedy().contains("max-seconds"), "{}", c.name);
        }
    }

    #[test]
    fn codes_are_unique_kebab_case_and_in_order() {
        let mut seen = HashSet::new();
        for (i, c) in CODES.iter().enumerate() {
            assert_eq!(c.code as usize, i, "{} out of order", c.name);
            assert!(seen.insert(c.name), "duplicate code {}", c.name);
            assert!(
                c.name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
                "{} is not kebab-case",
                c.name
            );
            assert_eq!(Code::from_name(c.name), Some(c.code));
            let json = serde_json::to_string(&c.code).unwrap();
            assert_eq!(json, format!("\"{}\"", c.name));
            assert!(!c.summary.is_empty() && !c.explanation.is_empty());
        }
    }
}
