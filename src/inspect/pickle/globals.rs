//! Verdicts on pickle globals: exact allowlist, denylist, and everything else unknown.
//!
//! Verdicts depend only on the (module, name) strings: never on what is installed here,
//! never on where the file came from.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The generated allowlist, one file per family (scripts/gen-allowlist.py records what real
/// libraries write; each file states why its family is plain data and where it was generated).
const FAMILIES: &[(&str, &str)] = &[
    ("numpy", include_str!("allow/numpy.txt")),
    ("pandas", include_str!("allow/pandas.txt")),
    ("sklearn", include_str!("allow/sklearn.txt")),
    ("stdlib", include_str!("allow/stdlib.txt")),
    ("torch", include_str!("allow/torch.txt")),
];

/// Every generated (module, name) pair, with its family.
pub fn generated() -> &'static HashSet<(&'static str, &'static str)> {
    static SET: OnceLock<HashSet<(&'static str, &'static str)>> = OnceLock::new();
    SET.get_or_init(|| {
        FAMILIES
            .iter()
            .flat_map(|(_, text)| text.lines())
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .collect()
    })
}

/// What an import is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// An exact (module, name) pair that frameworks write for plain data.
    Allowed,
    /// Not on the allowlist.
    Unknown,
    /// Known to run code, spawn processes, touch files or network, or re-enter unpickling.
    Dangerous(&'static str),
}

/// Exact pairs that frameworks write for plain data. Sorted for binary search.
static ALLOW: &[(&str, &str)] = &[
    ("__builtin__", "bool"),
    ("__builtin__", "bytearray"),
    ("__builtin__", "complex"),
    ("__builtin__", "dict"),
    ("__builtin__", "float"),
    ("__builtin__", "frozenset"),
    ("__builtin__", "int"),
    ("__builtin__", "list"),
    ("__builtin__", "long"),
    ("__builtin__", "object"),
    ("__builtin__", "set"),
    ("__builtin__", "slice"),
    ("__builtin__", "str"),
    ("__builtin__", "tuple"),
    ("__builtin__", "unicode"),
    ("__builtin__", "xrange"),
    ("_codecs", "encode"),
    ("builtins", "bool"),
    ("builtins", "bytearray"),
    ("builtins", "bytes"),
    ("builtins", "complex"),
    ("builtins", "dict"),
    ("builtins", "float"),
    ("builtins", "frozenset"),
    ("builtins", "int"),
    ("builtins", "list"),
    ("builtins", "object"),
    ("builtins", "range"),
    ("builtins", "set"),
    ("builtins", "slice"),
    ("builtins", "str"),
    ("builtins", "tuple"),
    ("collections", "Counter"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("collections", "deque"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("datetime", "date"),
    ("datetime", "datetime"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("decimal", "Decimal"),
    // NDArrayWrapper / ZNDArrayWrapper (joblib < 0.10) load a file named in the pickle with
    // allow_pickle=True: not plain data, so they are left to default-deny.
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy", "bool_"),
    ("numpy", "complex128"),
    ("numpy", "complex64"),
    ("numpy", "dtype"),
    ("numpy", "float16"),
    ("numpy", "float32"),
    ("numpy", "float64"),
    ("numpy", "int16"),
    ("numpy", "int32"),
    ("numpy", "int64"),
    ("numpy", "int8"),
    ("numpy", "ndarray"),
    ("numpy", "uint16"),
    ("numpy", "uint32"),
    ("numpy", "uint64"),
    ("numpy", "uint8"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy.ma.core", "MaskedArray"),
    ("numpy.ma.core", "_mareconstruct"),
    ("numpy.random._mt19937", "MT19937"),
    ("numpy.random._pcg64", "PCG64"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random.mtrand", "RandomState"),
    ("scipy.sparse._coo", "coo_matrix"),
    ("scipy.sparse._csc", "csc_matrix"),
    ("scipy.sparse._csr", "csr_matrix"),
    ("scipy.sparse.csr", "csr_matrix"),
    ("sklearn._loss.link", "IdentityLink"),
    ("sklearn._loss.link", "Interval"),
    ("sklearn._loss.link", "LogitLink"),
    ("sklearn._loss.link", "MultinomialLogit"),
    ("sklearn._loss.loss", "HalfBinomialLoss"),
    ("sklearn._loss.loss", "HalfMultinomialLoss"),
    ("sklearn._loss.loss", "HalfSquaredError"),
    ("sklearn.cluster._kmeans", "KMeans"),
    ("sklearn.compose._column_transformer", "ColumnTransformer"),
    ("sklearn.decomposition._pca", "PCA"),
    ("sklearn.decomposition._truncated_svd", "TruncatedSVD"),
    ("sklearn.dummy", "DummyClassifier"),
    ("sklearn.dummy", "DummyRegressor"),
    ("sklearn.ensemble._forest", "ExtraTreesClassifier"),
    ("sklearn.ensemble._forest", "ExtraTreesRegressor"),
    ("sklearn.ensemble._forest", "RandomForestClassifier"),
    ("sklearn.ensemble._forest", "RandomForestRegressor"),
    ("sklearn.ensemble._gb", "GradientBoostingClassifier"),
    ("sklearn.ensemble._gb", "GradientBoostingRegressor"),
    // sklearn 0.22 and older vendored joblib; its wrapper is read like joblib's.
    ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("sklearn.feature_extraction.text", "CountVectorizer"),
    ("sklearn.feature_extraction.text", "TfidfTransformer"),
    ("sklearn.feature_extraction.text", "TfidfVectorizer"),
    ("sklearn.impute._base", "SimpleImputer"),
    ("sklearn.linear_model._base", "LinearRegression"),
    ("sklearn.linear_model._coordinate_descent", "ElasticNet"),
    ("sklearn.linear_model._coordinate_descent", "Lasso"),
    ("sklearn.linear_model._logistic", "LogisticRegression"),
    ("sklearn.linear_model._ridge", "Ridge"),
    ("sklearn.linear_model._ridge", "RidgeClassifier"),
    ("sklearn.linear_model._stochastic_gradient", "SGDClassifier"),
    ("sklearn.linear_model._stochastic_gradient", "SGDRegressor"),
    ("sklearn.naive_bayes", "BernoulliNB"),
    ("sklearn.naive_bayes", "GaussianNB"),
    ("sklearn.naive_bayes", "MultinomialNB"),
    ("sklearn.neighbors._classification", "KNeighborsClassifier"),
    ("sklearn.neighbors._regression", "KNeighborsRegressor"),
    (
        "sklearn.neural_network._multilayer_perceptron",
        "MLPClassifier",
    ),
    (
        "sklearn.neural_network._multilayer_perceptron",
        "MLPRegressor",
    ),
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.preprocessing._data", "MinMaxScaler"),
    ("sklearn.preprocessing._data", "RobustScaler"),
    ("sklearn.preprocessing._data", "StandardScaler"),
    ("sklearn.preprocessing._encoders", "OneHotEncoder"),
    ("sklearn.preprocessing._encoders", "OrdinalEncoder"),
    ("sklearn.preprocessing._label", "LabelEncoder"),
    ("sklearn.svm._classes", "LinearSVC"),
    ("sklearn.svm._classes", "SVC"),
    ("sklearn.svm._classes", "SVR"),
    ("sklearn.tree._classes", "DecisionTreeClassifier"),
    ("sklearn.tree._classes", "DecisionTreeRegressor"),
    ("sklearn.tree._classes", "ExtraTreeClassifier"),
    ("sklearn.tree._classes", "ExtraTreeRegressor"),
    ("sklearn.tree._tree", "Tree"),
    ("torch", "BFloat16Storage"),
    ("torch", "BFloat16Tensor"),
    ("torch", "BoolStorage"),
    ("torch", "BoolTensor"),
    ("torch", "ByteStorage"),
    ("torch", "ByteTensor"),
    ("torch", "CharStorage"),
    ("torch", "CharTensor"),
    ("torch", "ComplexDoubleStorage"),
    ("torch", "ComplexFloatStorage"),
    ("torch", "DoubleStorage"),
    ("torch", "DoubleTensor"),
    ("torch", "FloatStorage"),
    ("torch", "FloatTensor"),
    ("torch", "HalfStorage"),
    ("torch", "HalfTensor"),
    ("torch", "IntStorage"),
    ("torch", "IntTensor"),
    ("torch", "LongStorage"),
    ("torch", "LongTensor"),
    ("torch", "QInt32Storage"),
    ("torch", "QInt8Storage"),
    ("torch", "QUInt2x4Storage"),
    ("torch", "QUInt4x2Storage"),
    ("torch", "QUInt8Storage"),
    ("torch", "ShortStorage"),
    ("torch", "ShortTensor"),
    ("torch", "Size"),
    ("torch", "UntypedStorage"),
    ("torch", "bfloat16"),
    ("torch", "bool"),
    ("torch", "cdouble"),
    ("torch", "cfloat"),
    ("torch", "channels_last"),
    ("torch", "channels_last_3d"),
    ("torch", "complex128"),
    ("torch", "complex32"),
    ("torch", "complex64"),
    ("torch", "contiguous_format"),
    ("torch", "device"),
    ("torch", "double"),
    ("torch", "float"),
    ("torch", "float16"),
    ("torch", "float32"),
    ("torch", "float64"),
    ("torch", "float8_e4m3fn"),
    ("torch", "float8_e4m3fnuz"),
    ("torch", "float8_e5m2"),
    ("torch", "float8_e5m2fnuz"),
    ("torch", "half"),
    ("torch", "int"),
    ("torch", "int16"),
    ("torch", "int32"),
    ("torch", "int64"),
    ("torch", "int8"),
    ("torch", "long"),
    ("torch", "per_channel_affine"),
    ("torch", "per_channel_symmetric"),
    ("torch", "per_tensor_affine"),
    ("torch", "per_tensor_symmetric"),
    ("torch", "preserve_format"),
    ("torch", "qint32"),
    ("torch", "qint8"),
    ("torch", "quint4x2"),
    ("torch", "quint8"),
    ("torch", "short"),
    ("torch", "sparse_bsc"),
    ("torch", "sparse_bsr"),
    ("torch", "sparse_coo"),
    ("torch", "sparse_csc"),
    ("torch", "sparse_csr"),
    ("torch", "strided"),
    ("torch", "uint16"),
    ("torch", "uint32"),
    ("torch", "uint64"),
    ("torch", "uint8"),
    ("torch._tensor", "_rebuild_from_type"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch._utils", "_rebuild_device_tensor_from_numpy"),
    ("torch._utils", "_rebuild_meta_tensor_no_storage"),
    ("torch._utils", "_rebuild_nested_tensor"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._utils", "_rebuild_qtensor"),
    ("torch._utils", "_rebuild_sparse_tensor"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_wrapper_subclass"),
    ("torch.cuda", "BFloat16Storage"),
    ("torch.cuda", "BFloat16Tensor"),
    ("torch.cuda", "BoolStorage"),
    ("torch.cuda", "BoolTensor"),
    ("torch.cuda", "ByteStorage"),
    ("torch.cuda", "ByteTensor"),
    ("torch.cuda", "CharStorage"),
    ("torch.cuda", "CharTensor"),
    ("torch.cuda", "DoubleStorage"),
    ("torch.cuda", "DoubleTensor"),
    ("torch.cuda", "FloatStorage"),
    ("torch.cuda", "FloatTensor"),
    ("torch.cuda", "HalfStorage"),
    ("torch.cuda", "HalfTensor"),
    ("torch.cuda", "IntStorage"),
    ("torch.cuda", "IntTensor"),
    ("torch.cuda", "LongStorage"),
    ("torch.cuda", "LongTensor"),
    ("torch.cuda", "ShortStorage"),
    ("torch.cuda", "ShortTensor"),
    ("torch.jit._pickle", "build_boollist"),
    ("torch.jit._pickle", "build_doublelist"),
    ("torch.jit._pickle", "build_intlist"),
    ("torch.jit._pickle", "build_tensor_from_id"),
    ("torch.jit._pickle", "build_tensorlist"),
    ("torch.jit._pickle", "restore_type_tag"),
    ("torch.nn.modules.activation", "GELU"),
    ("torch.nn.modules.activation", "LeakyReLU"),
    ("torch.nn.modules.activation", "MultiheadAttention"),
    ("torch.nn.modules.activation", "ReLU"),
    ("torch.nn.modules.activation", "SiLU"),
    ("torch.nn.modules.activation", "Sigmoid"),
    ("torch.nn.modules.activation", "Softmax"),
    ("torch.nn.modules.activation", "Tanh"),
    ("torch.nn.modules.batchnorm", "BatchNorm1d"),
    ("torch.nn.modules.batchnorm", "BatchNorm2d"),
    ("torch.nn.modules.batchnorm", "BatchNorm3d"),
    ("torch.nn.modules.container", "ModuleDict"),
    ("torch.nn.modules.container", "ModuleList"),
    ("torch.nn.modules.container", "ParameterDict"),
    ("torch.nn.modules.container", "ParameterList"),
    ("torch.nn.modules.container", "Sequential"),
    ("torch.nn.modules.conv", "Conv1d"),
    ("torch.nn.modules.conv", "Conv2d"),
    ("torch.nn.modules.conv", "Conv3d"),
    ("torch.nn.modules.conv", "ConvTranspose1d"),
    ("torch.nn.modules.conv", "ConvTranspose2d"),
    ("torch.nn.modules.dropout", "Dropout"),
    ("torch.nn.modules.flatten", "Flatten"),
    ("torch.nn.modules.linear", "Identity"),
    ("torch.nn.modules.linear", "Linear"),
    ("torch.nn.modules.linear", "NonDynamicallyQuantizableLinear"),
    ("torch.nn.modules.normalization", "GroupNorm"),
    ("torch.nn.modules.normalization", "LayerNorm"),
    ("torch.nn.modules.pooling", "AdaptiveAvgPool2d"),
    ("torch.nn.modules.pooling", "AvgPool2d"),
    ("torch.nn.modules.pooling", "MaxPool2d"),
    ("torch.nn.modules.rnn", "GRU"),
    ("torch.nn.modules.rnn", "LSTM"),
    ("torch.nn.modules.rnn", "RNN"),
    ("torch.nn.modules.sparse", "Embedding"),
    ("torch.nn.parameter", "Parameter"),
    ("torch.storage", "TypedStorage"),
    ("torch.storage", "UntypedStorage"),
];

/// Exact pairs allowed inside denied modules, or from versions the generator cannot install,
/// each reviewed by hand: (module, name, why constructing or calling it cannot run code).
static CARVE_OUTS: &[(&str, &str, &str)] = &[
    ("__builtin__", "Ellipsis", "the Ellipsis singleton"),
    ("__builtin__", "NotImplemented", "the NotImplemented singleton"),
    ("__builtin__", "hash", "hash() of a value whose own class the unpickler checked (old gensim models keep it as hashfxn)"),
    ("builtins", "Ellipsis", "the Ellipsis singleton"),
    ("builtins", "NotImplemented", "the NotImplemented singleton"),
    ("builtins", "hash", "hash() of a value whose own class the unpickler checked (old gensim models keep it as hashfxn)"),
    ("http", "HTTPStatus", "an IntEnum of status codes; http's clients and servers stay denied"),
    ("numpy.core._internal", "_reconstruct", "ndarray.__new__(subtype, shape, dtype): arrays pickled by NumPy before 1.0"),
    ("numpy.matrixlib.defmatrix", "matrix", "numpy.matrix under its NumPy 1.x module"),
    ("numpy.random", "__RandomState_ctor", "a fresh RandomState(0) for the pickled state to fill (NumPy before 1.17)"),
    ("pathlib", "PosixPath", "builds a path value; nothing is opened"),
    ("pathlib", "PurePosixPath", "builds a path value; nothing is opened"),
    ("pathlib", "PureWindowsPath", "builds a path value; nothing is opened"),
    ("pathlib._local", "PosixPath", "builds a path value (Python 3.13's module); nothing is opened"),
    ("pathlib._local", "PurePosixPath", "builds a path value (Python 3.13's module); nothing is opened"),
    ("pathlib._local", "PureWindowsPath", "builds a path value (Python 3.13's module); nothing is opened"),
    ("torch.serialization", "_get_layout", "looks a torch.layout up by its name (every sparse tensor)"),
    ("torch.torch_version", "TorchVersion", "a str subclass holding a version"),
    ("types", "SimpleNamespace", "an attribute bag; the rest of types (code and function objects) stays denied"),
    ("typing", "Any", "the typing.Any marker"),
    ("zoneinfo", "ZoneInfo._unpickle", "ZoneInfo by key: keys are validated and only TZif files under the time-zone path are read (every tz-aware pandas column; protocols before 4 write it as getattr(ZoneInfo, '_unpickle'))"),
];

/// Modules (and everything under them) whose import is reported as dangerous.
static DENY_MODULES: &[(&str, &str)] = &[
    (
        "__builtin__",
        "Python builtins (eval, exec, getattr, __import__, open)",
    ),
    (
        "__builtins__",
        "Python builtins (eval, exec, getattr, __import__, open)",
    ),
    ("_ctypes", "native code"),
    ("_io", "file access"),
    ("_operator", "attribute and method access gadgets"),
    ("_pickle", "re-enters unpickling"),
    ("_posixsubprocess", "process execution"),
    ("_thread", "threads"),
    ("aiohttp", "network access"),
    ("asyncio", "process execution and network access"),
    ("bdb", "debugger"),
    (
        "builtins",
        "Python builtins (eval, exec, getattr, __import__, open)",
    ),
    ("cPickle", "re-enters unpickling"),
    ("cProfile", "code execution"),
    ("cffi", "native code"),
    ("cloudpickle", "re-enters unpickling"),
    ("code", "code execution"),
    ("codeop", "code compilation"),
    ("commands", "process execution"),
    ("concurrent", "process execution"),
    ("ctypes", "native code"),
    ("dbm", "file access"),
    ("dill", "re-enters unpickling"),
    ("distutils", "process execution"),
    ("doctest", "code execution"),
    ("ensurepip", "package installation"),
    ("fcntl", "file descriptors"),
    ("ftplib", "network access"),
    ("functools", "call gadgets"),
    ("gc", "interpreter internals"),
    ("glob", "file access"),
    ("http", "network access"),
    ("httplib", "network access"),
    ("httpx", "network access"),
    ("idlelib", "code execution"),
    ("imp", "module loading"),
    ("importlib", "module loading"),
    ("inspect", "interpreter internals"),
    ("io", "file access"),
    ("jinja2", "template code execution"),
    ("joblib", "re-enters unpickling"),
    ("keras", "model loading with code"),
    ("lib2to3", "code execution"),
    ("linecache", "file access"),
    ("logging.config", "code execution"),
    ("marshal", "code objects"),
    ("mmap", "memory access"),
    ("multiprocessing", "process execution"),
    ("nt", "operating system calls"),
    ("numpy.ctypeslib", "native code"),
    ("numpy.distutils", "process execution"),
    ("numpy.f2py", "code compilation"),
    ("numpy.lib.npyio", "re-enters unpickling"),
    ("numpy.testing", "code execution (runstring)"),
    ("operator", "attribute and method access gadgets"),
    ("os", "operating system calls"),
    ("pandas.io.pickle", "re-enters unpickling"),
    ("pathlib", "file access"),
    ("pdb", "debugger"),
    ("pickle", "re-enters unpickling"),
    ("pip", "package installation"),
    ("pkgutil", "module loading"),
    ("platform", "process execution"),
    ("popen2", "process execution"),
    ("posix", "operating system calls"),
    ("profile", "code execution"),
    ("pty", "process execution"),
    ("pydoc", "process execution"),
    ("requests", "network access"),
    ("runpy", "code execution"),
    ("sagemaker", "remote code"),
    ("setuptools", "process execution"),
    ("shelve", "re-enters unpickling"),
    ("shutil", "file access"),
    ("signal", "process control"),
    ("site", "module loading"),
    ("smtplib", "network access"),
    ("socket", "network access"),
    ("subprocess", "process execution"),
    ("sys", "interpreter internals"),
    ("tarfile", "file access"),
    ("telnetlib", "network access"),
    ("tempfile", "file access"),
    ("tensorflow", "model loading with code and file access"),
    ("threading", "threads"),
    ("timeit", "code execution"),
    ("torch._C", "native functions"),
    ("torch._dynamo", "code generation"),
    ("torch._inductor", "code generation"),
    ("torch.classes", "native functions"),
    (
        "torch.fx",
        "code generation (GraphModule runs generated code)",
    ),
    ("torch.hub", "downloads and runs code"),
    ("torch.jit", "re-enters TorchScript loading"),
    ("torch.ops", "native operators"),
    ("torch.package", "re-enters unpickling"),
    ("torch.serialization", "re-enters unpickling"),
    ("torch.storage", "re-enters unpickling"),
    (
        "torch.utils.cpp_extension",
        "compiles and loads native code",
    ),
    ("trace", "code execution"),
    ("types", "code and function objects"),
    ("urllib", "network access"),
    ("urllib2", "network access"),
    ("venv", "process execution"),
    ("webbrowser", "process execution"),
    ("xmlrpc", "network access"),
    ("xmlrpclib", "network access"),
    ("yaml", "code execution (unsafe loaders)"),
    ("zipimport", "module loading"),
];

/// Single (module, name) pairs outside the denied modules.
static DENY_PAIRS: &[(&str, &str, &str)] = &[
    ("numpy", "fromfile", "file access"),
    ("numpy", "load", "re-enters unpickling"),
    ("numpy", "loads", "re-enters unpickling"),
    ("numpy", "memmap", "file access"),
    // getattr(__import__(module, fromlist=[name]), name): numpy <= 1.19 pickles a ufunc as
    // _ufunc_reconstruct('numpy', 'add'). A call whose two arguments are constants is judged
    // as the import it reaches (the machine records it, see Import::only_attribute_lookups);
    // any other use imports whatever the pickle computes.
    (
        "numpy._core",
        "_ufunc_reconstruct",
        "imports the module its arguments name",
    ),
    (
        "numpy.core",
        "_ufunc_reconstruct",
        "imports the module its arguments name",
    ),
    ("pandas", "eval", "code execution"),
    ("pandas", "read_pickle", "re-enters unpickling"),
    ("torch", "load", "re-enters unpickling"),
    ("torch", "save", "file access"),
];

/// Attribute names that run code wherever they are reached.
static DANGEROUS_NAMES: &[&str] = &[
    "__import__",
    // numpy's import-by-name (also reached as `numpy` + `core._ufunc_reconstruct`).
    "_ufunc_reconstruct",
    "compile",
    "eval",
    "exec",
    "execfile",
    "execl",
    "execle",
    "execlp",
    "execv",
    "execve",
    "execvp",
    "getattr",
    "import_module",
    "load",
    "loads",
    "popen",
    "Popen",
    "run_module",
    "run_path",
    "spawnl",
    "spawnv",
    "spawnve",
    "system",
];

/// Why a module (or a module under it) is denylisted, if it is.
pub fn deny_module(m: &str) -> Option<&'static str> {
    DENY_MODULES.iter().find_map(|(d, why)| {
        let under = m
            .strip_prefix(d)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'));
        under.then_some(*why)
    })
}

/// Python 2 module names that `find_class` maps (protocol < 3, fix_imports).
fn py2_module(m: &str) -> Option<&'static str> {
    Some(match m {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "commands" => "subprocess",
        "UserDict" | "UserList" | "UserString" => "collections",
        "StringIO" | "cStringIO" => "io",
        "urllib2" => "urllib.request",
        "httplib" => "http.client",
        "thread" => "_thread",
        "Queue" => "queue",
        "xmlrpclib" => "xmlrpc.client",
        "SimpleHTTPServer" | "BaseHTTPServer" | "CGIHTTPServer" => "http.server",
        _ => return None,
    })
}

/// Classify one import. `torchscript`: the pickle belongs to a TorchScript archive, whose
/// `__torch__.*` names are compiled TorchScript classes, not Python imports.
pub fn classify(module: &str, name: &str, torchscript: bool) -> Verdict {
    let module = module.trim_end_matches(['\r', '\n']);
    let name = name.trim_end_matches(['\r', '\n']);
    let mapped = py2_module(module);
    let allowed = |m: &str| {
        ALLOW.binary_search(&(m, name)).is_ok()
            || generated().contains(&(m, name))
            || CARVE_OUTS.iter().any(|(cm, cn, _)| *cm == m && *cn == name)
    };
    if allowed(module) || mapped.is_some_and(allowed) {
        return Verdict::Allowed;
    }
    if torchscript
        && (module == "__torch__" || module.starts_with("__torch__."))
        && !name.contains("__")
    {
        return Verdict::Allowed;
    }
    if module == super::machine::COMPUTED || name == super::machine::COMPUTED {
        return Verdict::Dangerous("global name computed at load time (evasion)");
    }
    if let Some(why) = danger(module, name).or_else(|| mapped.and_then(|m| danger(m, name))) {
        return Verdict::Dangerous(why);
    }
    Verdict::Unknown
}

fn danger(module: &str, name: &str) -> Option<&'static str> {
    if let Some(why) = deny_module(module) {
        return Some(why);
    }
    let parts: Vec<&str> = name.split('.').collect();
    let dotted = parts.len() > 1;
    // find_class resolves dotted names by getattr from the module: `pathlib` + `os.system`
    // reaches os.system. Treat each component as a possible module or pair.
    let mut prev = module;
    let mut path = module.to_string();
    for (i, part) in parts.iter().enumerate() {
        path.push('.');
        path.push_str(part);
        if dotted && i.saturating_add(1) < parts.len() {
            if let Some(why) = deny_module(&path) {
                return Some(why);
            }
        }
        if let Some((_, _, why)) = DENY_PAIRS.iter().find(|(m, n, _)| *m == prev && n == part) {
            return Some(why);
        }
        if DANGEROUS_NAMES.contains(part) {
            return Some("calls a code-execution primitive");
        }
        if dotted {
            if part.starts_with("__") && part.ends_with("__") {
                return Some("attribute traversal through a dunder");
            }
            if i.saturating_add(1) < parts.len() {
                if let Some(why) = deny_module(part) {
                    return Some(why);
                }
            }
        }
        prev = part;
    }
    None
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used
)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_is_sorted_and_unique() {
        for list in [ALLOW] {
            for w in list.windows(2) {
                assert!(w[0] < w[1], "{:?} !< {:?}", w[0], w[1]);
            }
        }
    }

    #[test]
    fn generated_allowlist_has_nothing_the_denylist_flags() {
        // A generated pair inside a denied module (builtins.list) is there only because the
        // hand-reviewed list allows it: generation never widens the denylist's exceptions.
        for (m, n) in generated() {
            if danger(m, n).is_some() {
                let reviewed = |m: &str| {
                    ALLOW.binary_search(&(m, *n)).is_ok()
                        || CARVE_OUTS.iter().any(|(cm, cn, _)| *cm == m && cn == n)
                };
                assert!(
                    reviewed(m) || py2_module(m).is_some_and(reviewed),
                    "{m}.{n}"
                );
            }
            assert!(!n.contains('.'), "{m}.{n}");
        }
        assert!(generated().contains(&("pandas._libs.internals", "_unpickle_block")));
        assert!(generated().contains(&("numpy.random._philox", "Philox")));
        assert!(generated().contains(&("sklearn.svm.classes", "SVC")));
        assert!(generated().contains(&(
            "sklearn.ensemble._hist_gradient_boosting.binning",
            "_BinMapper"
        )));
        assert!(generated().contains(&("torch.nn.modules.transformer", "TransformerEncoderLayer")));
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            classify("torch._utils", "_rebuild_tensor_v2", false),
            Verdict::Allowed
        );
        assert_eq!(
            classify("collections", "OrderedDict", false),
            Verdict::Allowed
        );
        assert_eq!(classify("__builtin__", "set", false), Verdict::Allowed);
        assert!(matches!(
            classify("os", "system", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("posix", "system", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("builtins", "eval", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("__builtin__", "eval", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("subprocess", "Popen", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("os.path", "join", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("torch.storage", "_load_from_bytes", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("torch", "load", false),
            Verdict::Dangerous(_)
        ));
        // Dotted names resolved like find_class: pathlib.os.system is os.system.
        assert!(matches!(
            classify("pathlib", "os.system", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("collections", "os.system", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("torch", "serialization.load", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("collections", "OrderedDict.__init__.__globals__", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("mymodule", "eval", false),
            Verdict::Dangerous(_)
        ));
        // Dotted suffixes of allowed pairs are not allowed.
        assert_eq!(
            classify("collections", "OrderedDict.fromkeys", false),
            Verdict::Unknown
        );
        assert_eq!(classify("__main__", "Net", false), Verdict::Unknown);
        assert_eq!(classify("__torch__", "Net", false), Verdict::Unknown);
        assert_eq!(classify("__torch__.m", "Net", true), Verdict::Allowed);
        assert_eq!(
            classify("os\r", "system", false),
            classify("os", "system", false)
        );
        assert_eq!(
            classify("torch.jit._pickle", "build_intlist", false),
            Verdict::Allowed
        );
        assert!(matches!(
            classify("torch.jit", "load", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("numpy", "ctypeslib.foo", false),
            Verdict::Dangerous(_)
        ));
        assert!(matches!(
            classify("joblib.numpy_pickle", "NDArrayWrapper", false),
            Verdict::Dangerous(_)
        ));
    }
}
