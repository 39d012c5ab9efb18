#!/usr/bin/env python3
"""Regenerate the pickle allowlist families in src/inspect/pickle/allow/*.txt from what real
libraries write. Run by hand, once per pinned environment, with the modelgate binary to judge
pairs (pairs it finds dangerous are never listed, and are printed):

    /tmp/fixvenv/bin/python scripts/gen-allowlist.py target/release/modelgate        # testdata/requirements.txt
    /tmp/oldvenv/bin/python scripts/gen-allowlist.py target/release/modelgate        # numpy 1.26.4, pandas 2.2.3,
                                                                                    # scikit-learn 1.3.2 (old paths)

Each run merges into the families whose producer is installed (a family file is the union of
every environment it was generated in; delete it to start over). How a pair is found: the
values below are pickled (protocols 2, 4 and 5, and joblib for estimators) and read back with
`find_class` recording every (module, name) the real unpickler imports.

Families and why their pairs are allowed (also written at the head of each file):
- sklearn: estimators and the helper objects fitted estimators hold (trees, losses, splitters,
  scorers). Constructing them sets attributes from their state; nothing runs, imports or opens
  files. Also the pre-0.22 module paths of every class whose module sklearn 0.22 renamed
  (the rename table of sklearn 0.22's _build_utils/deprecated_modules.py).
- numpy: arrays, scalars, dtypes, matrices, masked and record arrays, random generators and
  their bit generators. Reconstruction copies bytes into new buffers.
- pandas: frames, series, every index kind, every dtype's block and array, offsets, scalars.
  Reconstruction builds containers from arrays; pandas' own pickle loader (read_pickle) is
  denied separately.
- stdlib: plain values (containers, numbers, dates, UUIDs, addresses, regexes, arrays).
- torch: tensors, storages, dtypes, layouts, nn modules (written only when torch is installed).
"""

import argparse as _argparse
import array
import collections
import datetime
import decimal
import fractions
import io
import ipaddress
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import uuid
import warnings

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "inspect", "pickle", "allow")

WHY = {
    "sklearn": "scikit-learn estimators and the objects fitted estimators hold (trees, losses, splitters, "
    "scorers, link functions), and their pre-0.22 module paths. Constructing one sets attributes from "
    "its pickled state: nothing runs, imports or opens files.",
    "numpy": "numpy arrays, scalars, dtypes, matrices, masked and record arrays, random generators and bit "
    "generators. Reconstruction copies bytes into new buffers; numpy's loaders (load, fromfile, memmap) are "
    "denied separately.",
    "pandas": "pandas frames, series, every index kind, every dtype's blocks and arrays, offsets and scalars. "
    "Reconstruction builds containers from arrays; read_pickle and eval are denied separately.",
    "stdlib": "Python standard-library values: containers, numbers, dates and time zones, UUIDs, IP addresses, "
    "compiled regular expressions, arrays. Construction builds the value; nothing runs or opens files.",
    "torch": "PyTorch tensors, storages, dtypes, layouts, sizes and nn module classes. Rebuilding a tensor "
    "views bytes the archive holds; modules are constructed from their state dicts.",
}

# sklearn 0.22 renamed these modules (new name, old dotted path): the rename table of its
# _build_utils/deprecated_modules.py. Pickles written by sklearn <= 0.21 name the old paths.
SKLEARN_RENAMES = [
    ("_bagging", "sklearn.ensemble.bagging"), ("_base", "sklearn.ensemble.base"),
    ("_forest", "sklearn.ensemble.forest"), ("_gb", "sklearn.ensemble.gradient_boosting"),
    ("_iforest", "sklearn.ensemble.iforest"), ("_voting", "sklearn.ensemble.voting"),
    ("_weight_boosting", "sklearn.ensemble.weight_boosting"), ("_classes", "sklearn.tree.tree"),
    ("_rbm", "sklearn.neural_network.rbm"),
    ("_multilayer_perceptron", "sklearn.neural_network.multilayer_perceptron"),
    ("_weight_vector", "sklearn.utils.weight_vector"), ("_seq_dataset", "sklearn.utils.seq_dataset"),
    ("_fast_dict", "sklearn.utils.fast_dict"),
    ("_affinity_propagation", "sklearn.cluster.affinity_propagation_"),
    ("_bicluster", "sklearn.cluster.bicluster"), ("_birch", "sklearn.cluster.birch"),
    ("_dbscan", "sklearn.cluster.dbscan_"), ("_agglomerative", "sklearn.cluster.hierarchical"),
    ("_kmeans", "sklearn.cluster.k_means_"), ("_mean_shift", "sklearn.cluster.mean_shift_"),
    ("_optics", "sklearn.cluster.optics_"), ("_spectral", "sklearn.cluster.spectral"),
    ("_base", "sklearn.mixture.base"), ("_gaussian_mixture", "sklearn.mixture.gaussian_mixture"),
    ("_bayesian_mixture", "sklearn.mixture.bayesian_mixture"),
    ("_empirical_covariance", "sklearn.covariance.empirical_covariance_"),
    ("_shrunk_covariance", "sklearn.covariance.shrunk_covariance_"),
    ("_robust_covariance", "sklearn.covariance.robust_covariance"),
    ("_graph_lasso", "sklearn.covariance.graph_lasso_"),
    ("_elliptic_envelope", "sklearn.covariance.elliptic_envelope"),
    ("_cca", "sklearn.cross_decomposition.cca_"), ("_pls", "sklearn.cross_decomposition.pls_"),
    ("_base", "sklearn.svm.base"), ("_classes", "sklearn.svm.classes"),
    ("_base", "sklearn.decomposition.base"), ("_dict_learning", "sklearn.decomposition.dict_learning"),
    ("_factor_analysis", "sklearn.decomposition.factor_analysis"),
    ("_fastica", "sklearn.decomposition.fastica_"),
    ("_incremental_pca", "sklearn.decomposition.incremental_pca"),
    ("_kernel_pca", "sklearn.decomposition.kernel_pca"), ("_nmf", "sklearn.decomposition.nmf"),
    ("_lda", "sklearn.decomposition.online_lda"), ("_pca", "sklearn.decomposition.pca"),
    ("_sparse_pca", "sklearn.decomposition.sparse_pca"),
    ("_truncated_svd", "sklearn.decomposition.truncated_svd"),
    ("_gpr", "sklearn.gaussian_process.gpr"), ("_gpc", "sklearn.gaussian_process.gpc"),
    ("_dict_vectorizer", "sklearn.feature_extraction.dict_vectorizer"),
    ("_hash", "sklearn.feature_extraction.hashing"),
    ("_base", "sklearn.linear_model.base"), ("_bayes", "sklearn.linear_model.bayes"),
    ("_coordinate_descent", "sklearn.linear_model.coordinate_descent"),
    ("_huber", "sklearn.linear_model.huber"), ("_least_angle", "sklearn.linear_model.least_angle"),
    ("_logistic", "sklearn.linear_model.logistic"), ("_omp", "sklearn.linear_model.omp"),
    ("_passive_aggressive", "sklearn.linear_model.passive_aggressive"),
    ("_perceptron", "sklearn.linear_model.perceptron"), ("_ransac", "sklearn.linear_model.ransac"),
    ("_ridge", "sklearn.linear_model.ridge"), ("_sag_fast", "sklearn.linear_model.sag_fast"),
    ("_sgd_fast", "sklearn.linear_model.sgd_fast"),
    ("_stochastic_gradient", "sklearn.linear_model.stochastic_gradient"),
    ("_theil_sen", "sklearn.linear_model.theil_sen"),
    ("_scorer", "sklearn.metrics.scorer"),
    ("_ball_tree", "sklearn.neighbors.ball_tree"), ("_base", "sklearn.neighbors.base"),
    ("_classification", "sklearn.neighbors.classification"),
    ("_dist_metrics", "sklearn.neighbors.dist_metrics"), ("_graph", "sklearn.neighbors.graph"),
    ("_kd_tree", "sklearn.neighbors.kd_tree"), ("_kde", "sklearn.neighbors.kde"),
    ("_lof", "sklearn.neighbors.lof"), ("_nca", "sklearn.neighbors.nca"),
    ("_nearest_centroid", "sklearn.neighbors.nearest_centroid"),
    ("_quad_tree", "sklearn.neighbors.quad_tree"), ("_regression", "sklearn.neighbors.regression"),
    ("_typedefs", "sklearn.neighbors.typedefs"), ("_unsupervised", "sklearn.neighbors.unsupervised"),
    ("_isomap", "sklearn.manifold.isomap"), ("_locally_linear", "sklearn.manifold.locally_linear"),
    ("_mds", "sklearn.manifold.mds"), ("_spectral_embedding", "sklearn.manifold.spectral_embedding_"),
    ("_t_sne", "sklearn.manifold.t_sne"),
    ("_label_propagation", "sklearn.semi_supervised.label_propagation"),
    ("_data", "sklearn.preprocessing.data"), ("_label", "sklearn.preprocessing.label"),
    ("_from_model", "sklearn.feature_selection.from_model"), ("_rfe", "sklearn.feature_selection.rfe"),
    ("_univariate_selection", "sklearn.feature_selection.univariate_selection"),
    ("_variance_threshold", "sklearn.feature_selection.variance_threshold"),
]


def family_of(module):
    top = module.split(".")[0]
    if top in ("sklearn", "scipy", "_loss", "threadpoolctl", "joblib"):
        return "sklearn"
    if top in ("numpy",):
        return "numpy"
    if top in ("pandas", "dateutil", "pytz"):
        return "pandas"
    if top in ("torch",):
        return "torch"
    return "stdlib"


class Recorder(pickle.Unpickler):
    seen = set()

    def find_class(self, module, name):
        Recorder.seen.add((module, name))
        return super().find_class(module, name)


def record(obj, joblib_too=False):
    """Every (module, name) the real unpickler imports for `obj`, on several protocols."""
    for proto in (2, 4, 5):
        try:
            data = pickle.dumps(obj, protocol=proto)
        except Exception:
            continue
        try:
            Recorder(io.BytesIO(data)).load()
        except Exception as e:  # noqa: BLE001
            print(f"reading back failed ({type(obj).__name__}, protocol {proto}): {e}", file=sys.stderr)
    if joblib_too:
        import joblib

        original = pickle._Unpickler.find_class

        def hooked(self, module, name):
            Recorder.seen.add((module, name))
            return original(self, module, name)

        pickle._Unpickler.find_class = hooked
        try:
            b = io.BytesIO()
            joblib.dump(obj, b)
            b.seek(0)
            joblib.load(b)
        except Exception as e:  # noqa: BLE001
            print(f"joblib round trip failed ({type(obj).__name__}): {e}", file=sys.stderr)
        finally:
            pickle._Unpickler.find_class = original


def stdlib_values():
    import zoneinfo

    return [
        _argparse.Namespace(a=1, b="x"), uuid.UUID(int=7), fractions.Fraction(1, 3), decimal.Decimal("1.5"),
        collections.ChainMap({"a": 1}, {"b": 2}), collections.OrderedDict(a=1), collections.Counter("aab"),
        collections.defaultdict(list, a=[1]), collections.deque([1, 2]), re.compile(r"a+b", re.I),
        re.IGNORECASE | re.MULTILINE, zoneinfo.ZoneInfo("Europe/Paris"),
        datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=zoneinfo.ZoneInfo("UTC")),
        datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        datetime.date(2024, 1, 2), datetime.time(1, 2), datetime.timedelta(days=1),
        array.array("d", [1.0, 2.0]), array.array("i", [1, 2]), ipaddress.ip_address("10.0.0.1"),
        ipaddress.ip_address("::1"), ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fe80::/64"),
        ipaddress.ip_interface("10.0.0.1/24"), ipaddress.ip_interface("::1/128"), complex(1, 2), range(3),
        slice(1, 2), frozenset({1}), bytearray(b"x"), b"x", 1.5, True, None, Ellipsis, NotImplemented,
    ]


def numpy_values():
    import numpy as np

    arrays = [np.zeros(2, dtype=t) for t in (
        "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "g", "c8", "c16", "G",
        "M8[ns]", "m8[s]", "U3", "S3", "V4", "O")]
    arrays.append(np.zeros(2, dtype=[("a", "i4"), ("b", "f8", (2,))]))
    values = arrays + [np.float64(1), np.int64(1), np.bool_(True), np.complex128(1j), np.float16(1),
                       np.datetime64("2024-01-01"), np.timedelta64(1, "D"), np.str_("x"), np.bytes_(b"x"),
                       np.dtype("f8"), np.dtype([("a", "i4")]), np.matrix([[1, 2]]),
                       np.ma.masked_array([1, 2], mask=[0, 1]), np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
                       np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])[0],
                       np.random.RandomState(0), np.random.SeedSequence(1)]
    for bg in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
        if hasattr(np.random, bg):
            values.append(np.random.Generator(getattr(np.random, bg)(0)))
            values.append(getattr(np.random, bg)(0))
    values.append(np.random.default_rng(0))
    return values


def pandas_values():
    import numpy as np
    import pandas as pd

    n = 4
    cols = {
        "i": np.arange(n), "f": np.linspace(0, 1, n), "b": [True, False] * 2, "o": list("abcd"),
        "cat": pd.Categorical(list("abab")), "dt": pd.date_range("2024-01-01", periods=n),
        "dtz": pd.date_range("2024-01-01", periods=n, tz="Europe/Paris"),
        "dtu": pd.date_range("2024-01-01", periods=n, tz="UTC"), "td": pd.to_timedelta(np.arange(n), "s"),
        "per": pd.period_range("2024-01", periods=n, freq="M"),
        "iv": pd.arrays.IntervalArray.from_breaks(range(n + 1)),
        "sparse": pd.arrays.SparseArray([0, 0, 1, 0]), "Int64": pd.array([1, None, 3, 4], dtype="Int64"),
        "boolean": pd.array([True, None, False, True], dtype="boolean"),
        "string": pd.array(["a", None, "c", "d"], dtype="string"),
        "Float64": pd.array([1.0, None, 3.0, 4.0], dtype="Float64"), "c": np.arange(n) * 1j,
    }
    df = pd.DataFrame(cols)
    indexes = [
        pd.RangeIndex(n), pd.Index([1, 2, 3, 4]), pd.Index([1.0, 2, 3, 4]), pd.Index(list("abcd")),
        pd.CategoricalIndex(list("abab")), pd.date_range("2024", periods=n), pd.timedelta_range(0, periods=n),
        pd.period_range("2024-01", periods=n, freq="M"), pd.interval_range(0, n),
        pd.MultiIndex.from_product([[1, 2], ["a", "b"]]), pd.date_range("2024", periods=n, tz="UTC"),
    ]
    values = [df, df.set_index(indexes[9]), df["i"], df.T, df.to_dict()]
    for ix in indexes:
        values.append(ix)
        values.append(pd.Series(np.arange(n), index=ix))
    values += [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01", tz="UTC"), pd.Timedelta("1s"),
               pd.Period("2024-01", freq="M"), pd.Interval(0, 1), pd.NaT, pd.NA,
               pd.offsets.Day(2), pd.offsets.MonthEnd(), pd.offsets.BusinessDay(), pd.offsets.Hour(),
               pd.offsets.Week(weekday=0), pd.offsets.YearBegin(), pd.DateOffset(months=1),
               pd.Categorical(list("ab")), df.groupby("b").sum(numeric_only=True)]
    return values


def sklearn_values():
    import numpy as np
    from sklearn import (calibration, compose, ensemble, feature_extraction, linear_model, model_selection,
                         pipeline, preprocessing)
    from sklearn.metrics import make_scorer, f1_score
    from sklearn.utils import all_estimators

    rng = np.random.RandomState(0)
    X = np.abs(rng.randn(60, 4))
    y = (X[:, 0] > X[:, 1]).astype(int)
    y3 = np.digitize(X[:, 0], [0.5, 1.0])
    yr = X[:, 0] * 2.0
    out = []
    for name, cls in all_estimators():
        try:
            est = cls()
        except Exception:
            continue
        for target in (y, yr, None):
            try:
                est.fit(X, target) if target is not None else est.fit(X)
                out.append(est)
                break
            except Exception:
                continue
    extra = [
        (ensemble.HistGradientBoostingClassifier(max_iter=3), y3),
        (ensemble.HistGradientBoostingClassifier(max_iter=3), y),
        (ensemble.GradientBoostingClassifier(n_estimators=3), y3),
        (calibration.CalibratedClassifierCV(linear_model.LogisticRegression(), method="isotonic", cv=3), y),
        (model_selection.GridSearchCV(linear_model.LogisticRegression(), {"C": [1, 2]}, scoring="accuracy",
                                      cv=model_selection.KFold(3)), y),
        (model_selection.GridSearchCV(linear_model.LogisticRegression(), {"C": [1, 2]},
                                      scoring={"f1": make_scorer(f1_score), "auc": "roc_auc"}, refit="f1",
                                      cv=model_selection.StratifiedKFold(3)), y),
        (model_selection.RandomizedSearchCV(linear_model.Ridge(), {"alpha": [1, 2]}, n_iter=2,
                                            scoring="neg_mean_squared_error", cv=model_selection.ShuffleSplit(2)), yr),
        (pipeline.make_pipeline(preprocessing.FunctionTransformer(np.log1p, inverse_func=np.expm1),
                                linear_model.LinearRegression()), yr),
        (pipeline.make_pipeline(preprocessing.FunctionTransformer(np.sqrt), preprocessing.PolynomialFeatures(),
                                linear_model.LinearRegression()), yr),
        (pipeline.FeatureUnion([("a", preprocessing.StandardScaler()), ("b", preprocessing.MinMaxScaler())]), None),
    ]
    for loss in ("poisson", "gamma", "quantile", "absolute_error", "squared_error"):
        extra.append((ensemble.HistGradientBoostingRegressor(max_iter=3, loss=loss), yr + 0.1))
    for loss in ("huber", "quantile", "absolute_error"):
        extra.append((ensemble.GradientBoostingRegressor(n_estimators=3, loss=loss), yr))
    for loss in ("hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron", "squared_error",
                 "huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        extra.append((linear_model.SGDClassifier(loss=loss, max_iter=5), y))
    for loss in ("squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        extra.append((linear_model.SGDRegressor(loss=loss, max_iter=5), yr))
    for est, target in extra:
        try:
            est.fit(X, target) if target is not None else est.fit(X)
            out.append(est)
        except Exception as e:  # noqa: BLE001
            print(f"not fitted: {type(est).__name__}: {e}", file=sys.stderr)
    import pandas as pd

    frame = pd.DataFrame({"city": list("abca") * 15, "x": X[:, 0]})
    ct = compose.ColumnTransformer([("oh", preprocessing.OneHotEncoder(), ["city"]), ("num", "passthrough", ["x"])])
    out.append(pipeline.make_pipeline(ct, linear_model.LogisticRegression()).fit(frame, y))
    out.append(feature_extraction.text.TfidfVectorizer().fit(["apple banana", "banana cherry"]))
    classes = {(c.__module__, c.__name__) for _, c in all_estimators()}
    return out, classes


def torch_values():
    import torch
    import torch.nn as nn

    objs = []
    classes = set()
    for cls in vars(nn).values():
        if isinstance(cls, type) and issubclass(cls, nn.Module):
            classes.add((cls.__module__, cls.__name__))
            try:
                objs.append(cls())
            except Exception:
                pass
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LayerNorm(4), nn.Linear(4, 1))
    objs.append(model)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.randn(2, 3)).sum().backward()
    opt.step()
    objs += [opt.state_dict(), torch.optim.lr_scheduler.StepLR(opt, 1).state_dict(),
             {"f16": torch.zeros(2, dtype=torch.float16), "bf16": torch.zeros(2, dtype=torch.bfloat16),
              "param": nn.Parameter(torch.zeros(2)), "size": torch.Size([2, 3]), "device": torch.device("cpu"),
              "dtype": torch.float32, "sparse": torch.zeros(2, 2).to_sparse(), "version": torch.__version__}]
    return objs, classes


def torch_save_pairs(objs):
    import torch

    for obj in objs:
        b = io.BytesIO()
        try:
            torch.save(obj, b)
        except Exception:
            continue
        b.seek(0)
        original = pickle.Unpickler.find_class

        class Mod:
            class Unpickler(pickle.Unpickler):
                def find_class(self, module, name):
                    Recorder.seen.add((module, name))
                    return original(self, module, name)

            load = staticmethod(pickle.load)

        torch.load(b, weights_only=False, pickle_module=Mod)


def dangerous(modelgate, pairs):
    """The pairs modelgate judges dangerous, from a one-global pickle per pair."""
    bad = {}
    with tempfile.TemporaryDirectory() as d:
        index = {}
        for i, (m, n) in enumerate(sorted(pairs)):
            p = os.path.join(d, f"{i}.pkl")
            with open(p, "wb") as f:
                f.write(b"\x80\x02c" + m.encode() + b"\n" + n.encode() + b"\n.")
            index[p] = (m, n)
        out = subprocess.run([modelgate, "scan", "--format", "json", "--no-progress", d], capture_output=True,
                             check=False).stdout
        for f in json.loads(out)["findings"]:
            if f["code"] == "pickle-dangerous-import":
                bad[index[f["path"]]] = f["message"]
    return bad


def main():
    modelgate = sys.argv[1] if len(sys.argv) > 1 else "target/release/modelgate"
    found = {}
    versions = []

    def add(pairs, family=None):
        for m, n in pairs:
            if "." in n or m.startswith("__main__"):
                continue
            found.setdefault(family or family_of(m), set()).add((m, n))

    for v in stdlib_values():
        record(v)
    versions.append(f"python {sys.version.split()[0]}")
    try:
        import numpy

        for v in numpy_values():
            record(v)
        versions.append(f"numpy {numpy.__version__}")
    except ImportError:
        pass
    try:
        import pandas

        for v in pandas_values():
            record(v)
        versions.append(f"pandas {pandas.__version__}")
    except ImportError:
        pass
    try:
        import sklearn

        ests, classes = sklearn_values()
        for e in ests:
            record(e, joblib_too=True)
        add(classes, "sklearn")
        versions.append(f"scikit-learn {sklearn.__version__}")
    except ImportError:
        pass
    try:
        import torch

        objs, classes = torch_values()
        torch_save_pairs(objs)
        add(classes, "torch")
        versions.append(f"torch {torch.__version__}")
    except ImportError:
        pass
    add(Recorder.seen)
    # Old sklearn paths of every renamed module.
    renames = {old.rsplit(".", 1)[0] + "." + new: old for new, old in SKLEARN_RENAMES}
    for m, n in list(found.get("sklearn", ())):
        if m in renames:
            found["sklearn"].add((renames[m], n))
    everything = set().union(*found.values())
    bad = dangerous(modelgate, everything)
    for (m, n), why in sorted(bad.items()):
        print(f"not allowed (dangerous): {m}.{n}: {why}", file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    for family, pairs in sorted(found.items()):
        path = os.path.join(OUT, f"{family}.txt")
        old = set()
        header = []
        if os.path.exists(path):
            for line in open(path):
                if line.startswith("#"):
                    if line.startswith("# generated in:"):
                        header.append(line[len("# generated in:"):].strip())
                    continue
                if "\t" in line:
                    old.add(tuple(line.rstrip("\n").split("\t")))
        merged = sorted((pairs | old) - set(bad))
        envs = sorted(set(header) | {", ".join(versions)})
        with open(path, "w") as f:
            f.write(f"# family: {family}\n# why allowed: {WHY.get(family, '')}\n")
            for e in envs:
                f.write(f"# generated in: {e}\n")
            f.write("# written by scripts/gen-allowlist.py; do not edit by hand. module<TAB>name\n")
            for m, n in merged:
                f.write(f"{m}\t{n}\n")
        print(f"{family}: {len(merged)} pairs ({len(merged) - len(old & set(merged))} new)", file=sys.stderr)


if __name__ == "__main__":
    main()
