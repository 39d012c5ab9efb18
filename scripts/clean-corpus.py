#!/usr/bin/env python3
"""Build a corpus of clean files the ML libraries really write and ship, to measure modelgate's
precision (issue 24: every file here must pass). Run by hand; nothing it writes is committed.

    python3 scripts/clean-corpus.py /tmp/corpus            # build (shipped + generated + random)
    python3 scripts/clean-corpus.py /tmp/corpus --only random
    scripts/clean-corpus-check.sh /tmp/corpus /tmp/corpus-bin/modelgate-before /tmp/corpus-bin/modelgate-new

Sections (each writes under OUT/<section>/ and appends to OUT/manifest.tsv: path, source, version,
sha256; a file shipped identically by several versions is kept once, every provenance listed):

- shipped: test data and datasets inside real wheels: numpy's numpy/lib/tests/data (Python 2 and 3
  pickles, .npy, .npz with object arrays), pandas' legacy pickles and pickle/ test data, joblib's
  test/data (pickles and compressed files from joblib 0.8 to 0.11 on Python 2.7 to 3.6 and numpy
  1.6 to 1.11), scipy's test data (.mat, .npz, .npy), scikit-learn's shipped datasets and test data.
  Read from the cached venvs (VENVS) and from wheels downloaded into DL (older numpy/pandas/joblib).
  picklescan, modelscan and fickling ship no test files in their sdists (checked: 1.0.5, 0.8.8, 0.1.12).
- generated: written by the libraries themselves, in each cached venv (scikit-learn 1.1.3 to 1.9.1
  with numpy 1.23 to 2.4, pandas 1.5 to 3.1, scipy 1.9 to 1.17, joblib 1.6): every scikit-learn
  estimator that constructs and fits on tiny data (meta-estimators given a base estimator), pickled
  with protocols 2/4/5 and dumped by joblib (compress 0, 3, and every compressor joblib has);
  pandas Series/DataFrames of every dtype through to_pickle with every compression; numpy
  save/savez/savez_compressed of every dtype including object arrays; Keras 3 models (.keras, .h5,
  .weights.h5) under the jax and numpy backends; safetensors (the safetensors package).
- random: 5,000 raw-byte "weight" files (1 B to 64 KiB, seeded) under the names weights ship with,
  a share of them starting with the magic of a pickle (80 01..80 05), zlib, gzip, bz2, lz4, zstd,
  xz, zip, tar, GGUF, safetensors or npy, followed by random bytes: no loader unpickles them.
"""
import argparse
import glob
import hashlib
import io
import os
import pickle
import random
import shutil
import struct
import subprocess
import sys
import tarfile
import warnings
import zipfile

VENVS = "/tmp/allowvenvs"
DL = "/tmp/corpus-dl"
EXTRA = os.path.join(DL, "extra311")  # lz4, zstandard, safetensors (pip install --target)
HERE = os.path.abspath(__file__)

SHIPPED = [
    # (package label, path pattern inside site-packages or a wheel)
    ("numpy", r"numpy/lib/tests/data/"),
    ("numpy", r"numpy/core/tests/data/"),
    ("numpy", r"numpy/_core/tests/data/"),
    ("pandas", r"pandas/tests/io/data/legacy_pickle/"),
    ("pandas", r"pandas/tests/io/data/pickle/"),
    ("pandas", r"pandas/io/tests/data/legacy_pickle/"),
    ("joblib", r"joblib/test/data/"),
    ("scipy", r"scipy/"),
    ("sklearn", r"sklearn/datasets/"),
]
# Data formats worth scanning (source code, .pyc and text descriptions are not model files).
SHIPPED_EXT = (".npy", ".npz", ".pkl", ".pickle", ".gz", ".bz2", ".xz", ".lzma", ".z", ".gzip", ".mat",
               ".joblib", ".zip", ".tar", ".h5", ".hdf5", ".zst", ".lz4", ".bin")


def keep_shipped(rel):
    for label, prefix in SHIPPED:
        if rel.startswith(prefix):
            name = rel.rsplit("/", 1)[-1]
            if label == "scipy" and "/tests/data/" not in rel:
                return None
            if label in ("joblib", "pandas") or any(name.lower().endswith(e) or (".npy" in name)
                                                     for e in SHIPPED_EXT):
                if name.endswith((".py", ".pyc")) or name == "__init__.py":
                    return None
                return label
    return None


class Manifest:
    def __init__(self, out):
        self.out = out
        self.path = os.path.join(out, "manifest.tsv")
        self.seen = {}  # sha256 -> relative path (shipped files dedup)
        self.rows = []

    def add(self, rel, source, version, data=None):
        full = os.path.join(self.out, rel)
        if data is None:
            with open(full, "rb") as f:
                data = f.read()
        digest = hashlib.sha256(data).hexdigest()
        self.rows.append((rel, source, version, digest))
        return digest

    def flush(self):
        new = not os.path.exists(self.path)
        with open(self.path, "a") as f:
            if new:
                f.write("path\tsource\tversion\tsha256\n")
            for row in self.rows:
                f.write("\t".join(row) + "\n")
        self.rows = []


def venv_list():
    return sorted(glob.glob(os.path.join(VENVS, "sk*/bin/python")),
                  key=lambda p: [int(x) for x in p.split("/sk")[1].split("/")[0].split(".")])


def venv_versions(py):
    code = ("import importlib.metadata as m;print(' '.join(f'{p}=={m.version(p)}' for p in "
            "('scikit-learn','numpy','pandas','scipy','joblib')))")
    return subprocess.run([py, "-c", code], capture_output=True, text=True).stdout.strip()


def put_shipped(man, out, source_label, version, rel, data, dedup):
    digest = hashlib.sha256(data).hexdigest()
    key = (rel.rsplit("/", 1)[-1], digest)
    if key in dedup:
        dedup[key].append(f"{source_label}=={version}")
        return 0
    name = f"shipped/{source_label}/{source_label}-{version}/{rel}"
    full = os.path.join(out, name)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
    dedup[key] = [f"{source_label}=={version}"]
    man.add(name, source_label, version, data)
    return 1


def section_shipped(out, man):
    dedup = {}
    n = 0
    # Installed packages in the cached venvs.
    for py in venv_list():
        sp = glob.glob(os.path.join(os.path.dirname(os.path.dirname(py)), "lib/python3*/site-packages"))[0]
        import importlib.metadata as md
        for label, pkg in (("numpy", "numpy"), ("pandas", "pandas"), ("joblib", "joblib"), ("scipy", "scipy"),
                           ("sklearn", "scikit_learn")):
            dists = list(md.distributions(path=[sp], name=pkg.replace("_", "-"))) or \
                list(md.distributions(path=[sp], name=pkg))
            version = dists[0].version if dists else "?"
            root = os.path.join(sp, label if label != "sklearn" else "sklearn")
            for dirpath, _, files in os.walk(root):
                for fn in files:
                    full = os.path.join(dirpath, fn)
                    rel = os.path.relpath(full, sp)
                    if keep_shipped(rel) != label:
                        continue
                    with open(full, "rb") as f:
                        n += put_shipped(man, out, label, version, rel, f.read(), dedup)
    # Wheels of older versions (numpy 1.16 to 1.21, pandas 0.25 and 1.1, joblib 0.14, sklearn 0.22 to 1.0).
    wheels = glob.glob(os.path.join(DL, "whl", "*.whl")) + glob.glob(os.path.join(VENVS, "dl", "*", "*.whl"))
    for whl in sorted(wheels):
        base = os.path.basename(whl)
        pkg, version = base.split("-")[:2]
        label = {"scikit_learn": "sklearn"}.get(pkg, pkg)
        with zipfile.ZipFile(whl) as z:
            for info in z.infolist():
                if info.is_dir() or keep_shipped(info.filename) != label:
                    continue
                n += put_shipped(man, out, label, version, info.filename, z.read(info), dedup)
    with open(os.path.join(out, "shipped", "provenance.tsv"), "w") as f:
        for (name, digest), where in sorted(dedup.items()):
            f.write(f"{name}\t{digest}\t{','.join(where)}\n")
    return n


# ---------------------------------------------------------------- generated (worker, runs in a venv)

def tiny_data():
    import numpy as np

    rng = np.random.RandomState(0)
    X = np.abs(rng.randn(40, 4)) + 0.1
    y = (X[:, 0] > X[:, 1]).astype(int)
    y3 = np.digitize(X[:, 0], [0.6, 1.1])
    yr = X[:, 0] * 2.0 + 0.1
    return X, y, y3, yr


def sklearn_estimators():
    import numpy as np
    from sklearn.utils import all_estimators
    from sklearn import linear_model, tree, preprocessing, svm, naive_bayes

    X, y, y3, yr = tiny_data()
    base = {
        "classifier": lambda: tree.DecisionTreeClassifier(max_depth=2),
        "regressor": lambda: linear_model.Ridge(),
        "transformer": lambda: preprocessing.StandardScaler(),
        "cluster": lambda: preprocessing.StandardScaler(),
    }
    out = []
    for name, cls in all_estimators():
        kind = next((k for k in ("classifier", "regressor", "cluster", "transformer")
                     if any(k in b.__name__.lower() for b in cls.__mro__)), "transformer")
        tries = [{}]
        if name in ("ColumnTransformer",):
            from sklearn.compose import make_column_selector
            tries = [{"transformers": [("s", preprocessing.StandardScaler(), [0, 1]), ("p", "passthrough", [2])]},
                     {"transformers": [("s", preprocessing.MinMaxScaler(), make_column_selector())]}]
        elif name in ("Pipeline",):
            tries = [{"steps": [("s", preprocessing.StandardScaler()), ("m", linear_model.LogisticRegression())]}]
        elif name in ("FeatureUnion",):
            tries = [{"transformer_list": [("a", preprocessing.StandardScaler()), ("b", preprocessing.Normalizer())]}]
        elif name in ("VotingClassifier", "StackingClassifier"):
            tries = [{"estimators": [("t", tree.DecisionTreeClassifier()), ("n", naive_bayes.GaussianNB())]}]
        elif name in ("VotingRegressor", "StackingRegressor"):
            tries = [{"estimators": [("r", linear_model.Ridge()), ("t", tree.DecisionTreeRegressor())]}]
        elif name in ("SelfTrainingClassifier",):
            tries = [{"estimator": svm.SVC(probability=True)}, {"base_estimator": svm.SVC(probability=True)}]
        elif name in ("GridSearchCV", "HalvingGridSearchCV"):
            tries = [{"estimator": linear_model.LogisticRegression(), "param_grid": {"C": [0.5, 1]}, "cv": 2}]
        elif name in ("RandomizedSearchCV", "HalvingRandomSearchCV"):
            tries = [{"estimator": linear_model.Ridge(), "param_distributions": {"alpha": [0.5, 1]}, "n_iter": 2,
                      "cv": 2}]
        tries.append({"estimator": base[kind]()})
        tries.append({"base_estimator": base[kind]()})
        if kind == "classifier":
            tries.append({"estimator": linear_model.LogisticRegression()})
        fitted = None
        for kw in tries:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = cls(**kw)
            except Exception:
                continue
            for target in ((y, y3, yr, None) if kind != "regressor" else (yr, y, None)):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        Xf = X
                        if name in ("CountVectorizer", "TfidfVectorizer", "HashingVectorizer"):
                            Xf = ["apple banana", "banana cherry", "cherry apple pie"]
                            target = None
                        elif name in ("DictVectorizer",):
                            Xf = [{"a": 1, "b": 2}, {"a": 3, "c": 1}]
                            target = None
                        elif name in ("FeatureHasher",):
                            Xf = [{"a": 1}, {"b": 2}]
                            target = None
                        elif name in ("MultiLabelBinarizer",):
                            Xf = [[1, 2], [3]]
                            target = None
                        elif name in ("LabelEncoder", "LabelBinarizer"):
                            Xf = y3
                            target = None
                        elif name in ("IsotonicRegression",):
                            Xf = X[:, 0]
                        elif name in ("MultiOutputClassifier", "ClassifierChain"):
                            target = np.stack([y, y3], axis=1)
                        elif name in ("MultiOutputRegressor", "RegressorChain", "MultiTaskLasso",
                                      "MultiTaskElasticNet", "MultiTaskLassoCV", "MultiTaskElasticNetCV",
                                      "CCA", "PLSCanonical"):
                            target = np.stack([yr, yr ** 2], axis=1)
                        est.fit(Xf, target) if target is not None else est.fit(Xf)
                    fitted = est
                    break
                except Exception:
                    continue
            if fitted is not None:
                break
        if fitted is not None:
            out.append((name, fitted))
        else:
            print(f"  not fitted: {name}", file=sys.stderr)
    return out


def gen_allowlist_values():
    """The values scripts/gen-allowlist.py pickles to build the allowlists (extra losses, metrics,
    searches, sparse containers), so the corpus covers what the lists were built from."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("genallow", os.path.join(os.path.dirname(HERE), "gen-allowlist.py"))
    mod = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(mod)
        out = []
        for fn in ("stdlib_values", "numpy_values", "pandas_values"):
            try:
                out += [(f"{fn[:-7]}{i}", v) for i, v in enumerate(getattr(mod, fn)())]
            except Exception as e:  # noqa: BLE001
                print(f"  {fn}: {e}", file=sys.stderr)
        try:
            vals, _ = mod.sklearn_values()
            out += [(f"extra{i}-{type(v).__name__}", v) for i, v in enumerate(vals)]
        except Exception as e:  # noqa: BLE001
            print(f"  sklearn_values: {e}", file=sys.stderr)
    return out


def joblib_compressors():
    import joblib

    names = ["zlib", "gzip", "bz2", "lzma", "xz"]
    try:
        import lz4  # noqa: F401
        names.append("lz4")
    except ImportError:
        pass
    return [n for n in names if n in getattr(joblib.compressor, "_COMPRESSORS", {n: 1})]


def worker_sklearn(outdir, tag):
    import joblib

    os.makedirs(outdir, exist_ok=True)
    rows = []
    comps = joblib_compressors()
    items = sklearn_estimators() + gen_allowlist_values()
    for i, (name, obj) in enumerate(items):
        stem = f"{i:03d}-{name}"
        try:
            for proto in (2, 4, 5):
                fn = f"{stem}.p{proto}.pkl"
                with open(os.path.join(outdir, fn), "wb") as f:
                    pickle.dump(obj, f, protocol=proto)
                rows.append((fn, f"pickle protocol {proto}"))
            for compress, ext in ((0, "joblib"), (3, "z3.joblib")):
                fn = f"{stem}.{ext}"
                joblib.dump(obj, os.path.join(outdir, fn), compress=compress)
                rows.append((fn, f"joblib.dump compress={compress}"))
            comp = comps[i % len(comps)]
            fn = f"{stem}.{comp}.joblib"
            joblib.dump(obj, os.path.join(outdir, fn), compress=(comp, 3))
            rows.append((fn, f"joblib.dump compress=({comp},3)"))
        except Exception as e:  # noqa: BLE001
            print(f"  not written: {stem}: {e}", file=sys.stderr)
    # Every compressor over one pipeline, and by extension inference.
    from sklearn import pipeline, preprocessing, linear_model
    X, y, _, _ = tiny_data()
    pipe = pipeline.make_pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression()).fit(X, y)
    for comp in comps:
        for level in (1, 9):
            fn = f"pipe.{comp}{level}.joblib"
            joblib.dump(pipe, os.path.join(outdir, fn), compress=(comp, level))
            rows.append((fn, f"joblib.dump compress=({comp},{level})"))
    for ext in (".z", ".gz", ".bz2", ".xz", ".lzma", ".pkl"):
        fn = f"pipe.infer{ext}"
        joblib.dump(pipe, os.path.join(outdir, fn))
        rows.append((fn, f"joblib.dump by extension {ext}"))
    return rows


def worker_pandas(outdir, tag):
    import numpy as np
    import pandas as pd

    os.makedirs(outdir, exist_ok=True)
    rows = []
    n = 4
    cols = {
        "int64": np.arange(n), "int8": np.arange(n, dtype="i1"), "uint32": np.arange(n, dtype="u4"),
        "float32": np.linspace(0, 1, n, dtype="f4"), "float64": np.linspace(0, 1, n), "bool": [True, False] * 2,
        "object": list("abcd"), "mixed": [1, "a", 2.5, None], "bytes": [b"a", b"b", b"c", b"d"],
        "category": pd.Categorical(list("abab")), "datetime": pd.date_range("2024-01-01", periods=n),
        "datetimetz": pd.date_range("2024-01-01", periods=n, tz="Europe/Paris"),
        "timedelta": pd.to_timedelta(np.arange(n), "s"), "period": pd.period_range("2024-01", periods=n, freq="M"),
        "interval": pd.arrays.IntervalArray.from_breaks(range(n + 1)),
        "sparse": pd.arrays.SparseArray([0, 0, 1, 0]), "Int64": pd.array([1, None, 3, 4], dtype="Int64"),
        "UInt8": pd.array([1, None, 3, 4], dtype="UInt8"), "boolean": pd.array([True, None, False, True], dtype="boolean"),
        "string": pd.array(["a", None, "c", "d"], dtype="string"),
        "Float64": pd.array([1.0, None, 3.0, 4.0], dtype="Float64"), "complex": np.arange(n) * 1j,
    }
    try:
        cols["string_pyarrow"] = pd.array(["a", None, "c", "d"], dtype="string[python]")
    except Exception:  # noqa: BLE001
        pass
    values = {f"series-{k}": pd.Series(v, name=k) for k, v in cols.items()}
    values["frame-all"] = pd.DataFrame(cols)
    values["frame-multiindex"] = pd.DataFrame(cols).set_index(pd.MultiIndex.from_product([[1, 2], ["a", "b"]]))
    values["frame-numeric"] = pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=list("xyz"))
    comps = [("infer", ".pkl"), ("gzip", ".pkl.gz"), ("bz2", ".pkl.bz2"), ("zip", ".pkl.zip"), ("xz", ".pkl.xz")]
    if tuple(int(x) for x in pd.__version__.split(".")[:2]) >= (1, 5):
        comps.append(("tar", ".pkl.tar"))
    try:
        import zstandard  # noqa: F401
        comps.append(("zstd", ".pkl.zst"))
    except ImportError:
        pass
    for name, v in values.items():
        for comp, ext in comps:
            for proto in ((2, 5) if comp == "infer" else (5,)):
                fn = f"{name}.p{proto}{ext}"
                try:
                    v.to_pickle(os.path.join(outdir, fn), compression=comp, protocol=proto)
                    rows.append((fn, f"to_pickle compression={comp} protocol={proto}"))
                except Exception as e:  # noqa: BLE001
                    print(f"  pandas {fn}: {e}", file=sys.stderr)
    return rows


def worker_numpy(outdir, tag):
    import numpy as np

    os.makedirs(outdir, exist_ok=True)
    rows = []
    dtypes = ["?", "i1", "i2", "<i4", ">i4", "i8", "u1", "u2", "u4", "u8", "f2", "<f4", ">f8", "f8", "g", "c8", "c16",
              "G", "M8[ns]", "M8[D]", "m8[s]", "U3", "S3", "V4", "O"]
    arrays = {}
    for t in dtypes:
        a = np.zeros((2, 3), dtype=t)
        if t == "O":
            a = np.array([[1, "a", None], [2.5, {"k": [1, 2]}, (3, 4)]], dtype=object)
        arrays[f"a_{t.replace('[', '_').replace(']', '').replace('<', 'le').replace('>', 'be')}"] = a
    arrays["struct"] = np.zeros(3, dtype=[("a", "i4"), ("b", "f8", (2,)), ("c", "U2")])
    arrays["struct_obj"] = np.array([(1, "x"), (2, None)], dtype=[("a", "i4"), ("o", "O")])
    arrays["nested"] = np.zeros(2, dtype=[("p", [("x", "f4"), ("y", "f4")]), ("n", "i8")])
    arrays["fortran"] = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    arrays["scalar0d"] = np.array(3.5)
    arrays["empty"] = np.zeros((0, 5))
    arrays["big"] = np.arange(70000, dtype="i8").reshape(7, 10000)
    arrays["obj_arrays"] = np.array([np.arange(3), np.arange(2)], dtype=object) if True else None
    for name, a in arrays.items():
        fn = f"{name}.npy"
        np.save(os.path.join(outdir, fn), a, allow_pickle=True)
        rows.append((fn, "numpy.save"))
    plain = {k: v for k, v in arrays.items() if v.dtype.hasobject is False}
    obj = {k: v for k, v in arrays.items() if v.dtype.hasobject}
    for fn_, func, arrs in (("plain.npz", np.savez, plain), ("plain_c.npz", np.savez_compressed, plain),
                            ("objects.npz", np.savez, obj), ("objects_c.npz", np.savez_compressed, obj),
                            ("all.npz", np.savez, arrays), ("all_c.npz", np.savez_compressed, arrays)):
        func(os.path.join(outdir, fn_), **arrs)
        rows.append((fn_, f"numpy.{func.__name__}"))
    np.savez(os.path.join(outdir, "positional.npz"), np.arange(3), np.eye(2))
    rows.append(("positional.npz", "numpy.savez positional"))
    for proto in (2, 4, 5):
        fn = f"ndarray-objects.p{proto}.pkl"
        with open(os.path.join(outdir, fn), "wb") as f:
            pickle.dump(list(arrays.values()), f, protocol=proto)
        rows.append((fn, f"pickle protocol {proto} of arrays"))
    return rows


def worker_keras(outdir, tag):
    import numpy as np

    sys.path.insert(0, EXTRA)
    os.makedirs(outdir, exist_ok=True)
    rows = []
    import keras
    from keras import layers

    X = np.random.RandomState(0).rand(8, 6).astype("float32")
    y = (X[:, 0] > 0.5).astype("float32")
    models = {}
    models["dense"] = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="relu"),
                                        layers.Dropout(0.1), layers.Dense(1, activation="sigmoid")])
    inp = keras.Input((6,))
    h = layers.Reshape((6, 1))(inp)
    h = layers.Conv1D(2, 3, padding="same")(h)
    h = layers.BatchNormalization()(h)
    h = layers.LSTM(3)(h)
    h2 = layers.Dense(3, activation="tanh")(inp)
    out = layers.Dense(1)(layers.Concatenate()([h, h2]))
    models["functional"] = keras.Model(inp, out)
    ein = keras.Input((5,), dtype="int32")
    e = layers.Embedding(10, 4)(ein)
    e = layers.GRU(2)(e)
    models["embedding"] = keras.Model(ein, layers.Dense(2, activation="softmax")(e))
    inp2 = keras.Input((4, 4, 1))
    c = layers.Conv2D(2, 2)(inp2)
    c = layers.MaxPooling2D()(c)
    c = layers.LayerNormalization()(c)
    c = layers.GlobalAveragePooling2D()(c)
    models["conv"] = keras.Model(inp2, layers.Dense(1)(c))
    for name, m in models.items():
        for opt in ("adam", "sgd", "rmsprop"):
            try:
                m.compile(optimizer=opt, loss="mse", metrics=["mae"])
                xin = X if name in ("dense", "functional") else (
                    np.random.RandomState(1).randint(0, 10, (8, 5)) if name == "embedding" else
                    np.random.RandomState(1).rand(8, 4, 4, 1).astype("float32"))
                tgt = y if name != "embedding" else np.eye(2)[(y > 0).astype(int)]
                m.fit(xin, tgt, epochs=1, verbose=0)
            except Exception as e:  # noqa: BLE001
                print(f"  keras fit {name} {opt}: {e}", file=sys.stderr)
            for ext in (".keras", ".h5", ".weights.h5"):
                fn = f"{name}-{opt}{ext}"
                try:
                    if ext == ".weights.h5":
                        m.save_weights(os.path.join(outdir, fn))
                    else:
                        m.save(os.path.join(outdir, fn))
                    rows.append((fn, f"keras {keras.__version__} {ext}"))
                except Exception as e:  # noqa: BLE001
                    print(f"  keras save {fn}: {e}", file=sys.stderr)
    try:
        from safetensors.numpy import save_file

        tensors = {f"layer.{i}.{t}": np.zeros((3, 2), dtype=t) for i, t in
                   enumerate(("float32", "float16", "int64", "int8", "uint8", "bool", "float64", "int32"))}
        save_file(tensors, os.path.join(outdir, "model.safetensors"), metadata={"format": "np"})
        save_file({"w": np.ones(5, "float32")}, os.path.join(outdir, "model-00001-of-00002.safetensors"))
        save_file({}, os.path.join(outdir, "empty.safetensors"))
        rows += [("model.safetensors", "safetensors.numpy.save_file"),
                 ("model-00001-of-00002.safetensors", "safetensors.numpy.save_file"),
                 ("empty.safetensors", "safetensors.numpy.save_file")]
    except Exception as e:  # noqa: BLE001
        print(f"  safetensors: {e}", file=sys.stderr)
    return rows


def worker(kind, outdir, tag):
    sys.path.append(EXTRA)
    rows = {"sklearn": worker_sklearn, "pandas": worker_pandas, "numpy": worker_numpy,
            "keras": worker_keras}[kind](outdir, tag)
    with open(os.path.join(outdir, "rows.tsv"), "w") as f:
        for fn, how in rows:
            f.write(f"{fn}\t{how}\n")


def section_generated(out, man, jobs=2):
    procs = []
    tasks = []
    for py in venv_list():
        ver = py.split("/sk")[1].split("/")[0]
        versions = venv_versions(py)
        for kind in ("sklearn", "pandas", "numpy"):
            tasks.append((py, kind, f"generated/sk{ver}/{kind}", versions, {}))
    kpy = os.path.join(VENVS, "keras/bin/python")
    if os.path.exists(kpy):
        for backend in ("jax", "numpy"):
            env = {"KERAS_BACKEND": backend}
            tasks.append((kpy, "keras", f"generated/keras-{backend}", f"keras backend={backend}", env))
    logs = []
    while tasks or procs:
        while tasks and len(procs) < jobs:
            py, kind, rel, versions, env = tasks.pop(0)
            log = open(os.path.join(out, rel.replace("/", "_") + ".log"), "w")
            logs.append(log)
            e = dict(os.environ, **env)
            p = subprocess.Popen([py, HERE, "--worker", kind, os.path.join(out, rel), versions], stdout=log,
                                 stderr=log, env=e)
            procs.append((p, rel, kind, versions))
        p, rel, kind, versions = procs.pop(0)
        p.wait()
        rows = os.path.join(out, rel, "rows.tsv")
        if not os.path.exists(rows):
            print(f"worker failed: {rel} (see its log)", file=sys.stderr)
            continue
        if kind == "keras":
            kv = subprocess.run([p.args[0], "-c", "import importlib.metadata as m;print('keras=='+m.version('keras'))"],
                                capture_output=True, text=True).stdout.strip()
            versions = f"{kv} {versions}"
        with open(rows) as f:
            for line in f:
                fn, how = line.rstrip("\n").split("\t")
                man.add(f"{rel}/{fn}", f"{kind}: {how}", versions)
        os.remove(rows)
        print(f"  {rel}: done", file=sys.stderr)
    for log in logs:
        log.close()


# ---------------------------------------------------------------- random bytes

NAMES = ["model-{a:05d}-of-{b:05d}.bin", "pytorch_model-{a:05d}-of-{b:05d}.bin", "x{a}.onnx_data",
         "weights{a}.bin", "tensor{a}.raw", "model{a}.onnx.data", "layer{a}.weight", "blob{a}.dat"]


def tar_header(rng):
    h = bytearray(rng.randbytes(512))
    h[257:263] = b"ustar\x00"
    return bytes(h)


PREFIXES = [
    ("pickle-proto1", lambda r: b"\x80\x01"), ("pickle-proto2", lambda r: b"\x80\x02"),
    ("pickle-proto3", lambda r: b"\x80\x03"), ("pickle-proto4", lambda r: b"\x80\x04"),
    ("pickle-proto5", lambda r: b"\x80\x05"), ("zlib-01", lambda r: b"\x78\x01"),
    ("zlib-5e", lambda r: b"\x78\x5e"), ("zlib-9c", lambda r: b"\x78\x9c"), ("zlib-da", lambda r: b"\x78\xda"),
    ("gzip", lambda r: b"\x1f\x8b\x08"), ("bz2", lambda r: b"BZh" + bytes([0x31 + r.randrange(9)])),
    ("lz4", lambda r: b"\x04\x22\x4d\x18"), ("zstd", lambda r: b"\x28\xb5\x2f\xfd"),
    ("xz", lambda r: b"\xfd7zXZ\x00"), ("zip", lambda r: b"PK\x03\x04"), ("tar", tar_header),
    ("gguf", lambda r: b"GGUF" + struct.pack("<I", r.choice([1, 2, 3]))),
    ("safetensors", lambda r: struct.pack("<Q", r.randrange(2, 4096)) + b'{"'),
    ("npy", lambda r: b"\x93NUMPY\x01\x00"), ("lzma-alone", lambda r: b"\x5d\x00\x00\x80\x00"),
]


def section_random(out, man, count=5000, seed=24):
    rng = random.Random(seed)
    d = os.path.join(out, "random")
    os.makedirs(d, exist_ok=True)
    for i in range(count):
        size = max(1, int(2 ** rng.uniform(0, 16)))
        body = bytearray(rng.randbytes(size))
        kind = "random"
        if i % 5 != 0:  # four in five start with a forced magic
            kind, make = PREFIXES[i % len(PREFIXES)]
            head = make(rng)
            body[: len(head)] = head
            body = body[:max(size, 1)]
        name = NAMES[i % len(NAMES)].format(a=i + 1, b=count)
        rel = f"random/{i:04d}-{kind}-{name}"
        with open(os.path.join(out, rel), "wb") as f:
            f.write(bytes(body))
        man.add(rel, f"random bytes ({kind})", f"random.Random({seed}) #{i}", bytes(body))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--only", choices=["shipped", "generated", "random"], action="append")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    sections = args.only or ["shipped", "generated", "random"]
    os.makedirs(args.out, exist_ok=True)
    man = Manifest(args.out)
    if os.path.exists(man.path):  # a rebuilt section replaces its rows
        with open(man.path) as f:
            kept = [line for line in f if line.split("/", 1)[0] not in sections]
        with open(man.path, "w") as f:
            f.writelines(kept)
    for s in sections:
        if os.path.exists(os.path.join(args.out, s)):
            shutil.rmtree(os.path.join(args.out, s))
        print(f"{s} ...", file=sys.stderr)
        if s == "shipped":
            section_shipped(args.out, man)
        elif s == "generated":
            section_generated(args.out, man, args.jobs)
        else:
            section_random(args.out, man)
        man.flush()
    counts = {}
    with open(man.path) as f:
        next(f)
        for line in f:
            rel = line.split("\t")[0]
            top = "/".join(rel.split("/")[:2]) if not rel.startswith("random") else "random"
            counts[top] = counts.get(top, 0) + 1
    for k, v in sorted(counts.items()):
        print(f"{v:6d}  {k}")


if __name__ == "__main__":
    main()
