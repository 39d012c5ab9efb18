#!/usr/bin/env python3
"""Regenerate the pickle allowlist families in src/inspect/pickle/allow/*.txt from what real
libraries write. Run by hand, once per pinned environment, with the modelgate binary to judge
pairs (pairs it finds dangerous are never listed, and are printed):

    /tmp/fixvenv/bin/python scripts/gen-allowlist.py target/release/modelgate        # testdata/requirements.txt

Each run merges into the families whose producer is installed (a family file is the union of
every environment it was generated in; delete it to start over). How a pair is found: the
values below are pickled (protocols 2, 4 and 5, and joblib for estimators) and read back with
`find_class` recording every (module, name) the real unpickler imports.

Versions (issue 24): the sklearn and numpy families are the union over the versions people
have. Every scikit-learn with a wheel for this machine's Python 3.11 runs the real generator,
each in a cached venv under /tmp/allowvenvs (VENVS below; `--setup` creates the missing ones):

    for v in /tmp/allowvenvs/sk*/; do $v/bin/python scripts/gen-allowlist.py target/debug/modelgate; done

which covers scikit-learn 1.1.3 to current with numpy 1.23 to 2.x, pandas 1.5 to 2.x and scipy
1.9 to current. Older scikit-learn (0.22 to 1.0: no Python 3.11 wheel, and it cannot be imported
here) is read statically from its wheel, never run:

    pip download --only-binary=:all: --python-version 3.8 --no-deps scikit-learn==0.24.2 -d DIR
    python3 scripts/gen-allowlist.py --static-sklearn DIR/scikit_learn-0.24.2-*.whl target/debug/modelgate

The static reading lists what a pickle written by that version could import: Python classes
defined at the top level of each module (their `__module__` is the module's dotted path), and
for compiled modules the qualified names Cython stores in the .so (`module.Class` for every
extension type's tp_name, `module.function` for its functions, e.g. `__pyx_unpickle_Tree`;
the module part is what the pickler writes, so a bare `_loss` module from a build that named it
so is kept as it is). Of those, a pair is listed only when (a) a class or function of that name
is already in the sklearn family from a real run (the same object under its old module path),
or (b) the class is an estimator or a loss, link or GLM distribution (its base classes, resolved
by name through the wheel's own class definitions, reach BaseEstimator, or the loss/link/
distribution bases of HistGradientBoosting, GradientBoosting and the GLMs of those versions),
or (c) it is the Cython `__pyx_unpickle_<Class>` helper of a listed extension type. Tests,
externals and the testing utilities are never read. Run the static reading after the real runs:
(a) depends on them.

numpy ufuncs: every `numpy.ufunc` instance exported from numpy's namespace, under the module the
pickler writes in that numpy (numpy >= 2: `numpy`; 1.20-1.26: `numpy.core._multiarray_umath`,
found by `pickle.whichmodule`) and the other numpy modules exporting the same object
(`numpy.core.umath`, `numpy._core.umath`, ...). numpy <= 1.19 wrote a ufunc as
`numpy.core._ufunc_reconstruct(module, name)`, which is `__import__(module)` + getattr: that
callable is never listed (modelgate denies it, and allows a call of it only when both
arguments are constant, judging the pair they name as an import of its own).

Families and why their pairs are allowed (also written at the head of each file):
- sklearn: estimators and the helper objects fitted estimators hold (trees, losses, splitters,
  scorers). Constructing them sets attributes from their state; nothing runs, imports or opens
  files. Also the pre-0.22 module paths of every class whose module sklearn 0.22 renamed
  (the rename table of sklearn 0.22's _build_utils/deprecated_modules.py), and the pre-1.8
  module paths of scipy.sparse's matrices (scipy 1.8 renamed csr.py to _csr.py, ...).
- numpy: arrays, scalars, dtypes, matrices, masked and record arrays, random generators and
  their bit generators, ufuncs. Reconstruction copies bytes into new buffers.
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
    "scorers, link functions, distance metrics), from scikit-learn 0.22 to current (1.1.3 and later by real "
    "pickles, older by reading their wheels), their pre-0.22 module paths, and scipy's sparse matrices under "
    "their pre-1.8 paths. Constructing one sets attributes from its pickled state: nothing runs, imports or "
    "opens files. The metric functions scorers hold (f1_score, ...) and 0.2x's _passthrough_scorer "
    "(estimator.score(...)) only compute on objects the pickle built from listed classes; FunctionTransformer "
    "is listed as a class, its func is an import judged on its own. Never listed: joblib's Parallel and "
    "Memory, loaders, or anything that calls a callable it is handed at load time.",
    "numpy": "numpy arrays, scalars, dtypes, matrices, masked and record arrays, random generators and bit "
    "generators, and the ufuncs numpy exports (numpy 1.23 to 2.x, each under every numpy module the pickler "
    "can name for it). Reconstruction copies bytes into new buffers; a ufunc computes on arrays. numpy's "
    "loaders (load, fromfile, memmap) and _ufunc_reconstruct (an import by name) are denied separately.",
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


def numpy_ufunc_pairs():
    """(module, name) for every ufunc numpy exports: the module its pickler writes here (recorded
    by reading the pickle back) and every numpy module that exports the same object, which is
    what `pickle.whichmodule` may find first under another import order (and what
    `_ufunc_reconstruct(module, name)` was written with by numpy <= 1.19)."""
    import importlib

    import numpy as np

    # Each ufunc under its __name__ (what the pickler writes; `np.abs` is written `absolute`).
    ufuncs = {u.__name__: u for u in vars(np).values() if isinstance(u, np.ufunc)}
    pairs = set()
    for name, u in ufuncs.items():
        for proto in (2, 4, 5):
            Recorder(io.BytesIO(pickle.dumps(u, protocol=proto))).load()
    for modname in ("numpy", "numpy.core.umath", "numpy.core._multiarray_umath", "numpy._core.umath",
                    "numpy._core._multiarray_umath"):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        for name, u in ufuncs.items():
            if getattr(mod, name, None) is u:
                pairs.add((modname, name))
    return pairs


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
    # Every masked dtype (Int64 alone left UInt8Dtype & co. out: clean-corpus).
    for t in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32", "Float64"):
        arr = pd.array([1, None, 3, 4], dtype=t)
        values += [arr, pd.Series(arr), arr.dtype]
    return values


def pandas_compat_pairs(listed):
    """Re-exports of listed pandas objects, and old pandas paths that pandas' own read_pickle maps (pandas.compat.pickle_compat's
    _class_locations_map) to a pair already listed, e.g. pandas.core.internals.BlockManager in a
    Python 2 pickle. Kept only when plain pickle.load could not reach anything else through it:
    the old path does not resolve in this pandas (the import raises) or resolves to the very
    object the new path names."""
    import importlib

    try:
        from pandas.compat import pickle_compat
    except ImportError:
        return set()
    table = getattr(pickle_compat, "_class_locations_map", {})

    def resolve(m, n):
        try:
            obj = importlib.import_module(m)
            for part in n.split("."):
                obj = getattr(obj, part)
            return obj
        except Exception:  # noqa: BLE001
            return None

    pairs = set()
    # The same listed object under a package that re-exports it (pandas.core.internals
    # exports managers.BlockManager; pandas 0.x pickles name it there).
    for m, n in listed:
        parts = m.split(".")
        if parts[0] != "pandas":
            continue
        obj = resolve(m, n)
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if obj is not None and resolve(parent, n) is obj:
                pairs.add((parent, n))
    for old, new in table.items():
        if tuple(new) not in listed:
            continue
        was = resolve(*old)
        if was is None or was is resolve(*new):
            pairs.add(tuple(old))
    return pairs


def sklearn_values():
    import numpy as np
    from sklearn import (calibration, compose, ensemble, feature_extraction, linear_model, model_selection,
                         neighbors, pipeline, preprocessing)
    from sklearn.metrics import make_scorer, f1_score
    from sklearn.utils import all_estimators

    from sklearn.tree import DecisionTreeClassifier as tree_clf

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
        (model_selection.GridSearchCV(linear_model.LogisticRegression(), {"C": [1, 2]}, cv=3), y),
        (model_selection.GridSearchCV(linear_model.Ridge(), {"alpha": [1, 2]}, cv=3), yr),
        (model_selection.RandomizedSearchCV(linear_model.Ridge(), {"alpha": [1, 2]}, n_iter=2,
                                            scoring="neg_mean_squared_error", cv=model_selection.ShuffleSplit(2)), yr),
        (pipeline.make_pipeline(preprocessing.FunctionTransformer(np.log1p, inverse_func=np.expm1),
                                linear_model.LinearRegression()), yr),
        (pipeline.make_pipeline(preprocessing.FunctionTransformer(np.sqrt), preprocessing.PolynomialFeatures(),
                                linear_model.LinearRegression()), yr),
        (pipeline.FeatureUnion([("a", preprocessing.StandardScaler()), ("b", preprocessing.MinMaxScaler())]), None),
    ]
    # Loss names of every version (older ones first spelled "least_squares", "ls", "log", ...);
    # a name a version does not know is skipped.
    for loss in ("poisson", "gamma", "quantile", "absolute_error", "squared_error", "least_squares",
                 "least_absolute_deviation"):
        extra.append((ensemble.HistGradientBoostingRegressor(max_iter=3, loss=loss), yr + 0.1))
    for loss in ("huber", "quantile", "absolute_error", "squared_error", "ls", "lad"):
        extra.append((ensemble.GradientBoostingRegressor(n_estimators=3, loss=loss), yr))
    for loss in ("log_loss", "deviance", "exponential"):
        extra.append((ensemble.GradientBoostingClassifier(n_estimators=3, loss=loss), y))
    for loss in ("hinge", "log_loss", "log", "modified_huber", "squared_hinge", "perceptron", "squared_error",
                 "squared_loss", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        extra.append((linear_model.SGDClassifier(loss=loss, max_iter=5), y))
    for loss in ("squared_error", "squared_loss", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        extra.append((linear_model.SGDRegressor(loss=loss, max_iter=5), yr))
    for metric in ("euclidean", "manhattan", "chebyshev", "minkowski", "haversine"):
        extra.append((neighbors.KNeighborsClassifier(n_neighbors=3, algorithm="ball_tree", metric=metric), y))
        extra.append((neighbors.KNeighborsClassifier(n_neighbors=3, algorithm="kd_tree", metric=metric), y))
    # Ensembles of named estimators (their fitted named_estimators_ is a Bunch), and the
    # threshold classifiers of 1.5+ (a _CurveScorer holding a metric function).
    named_c = [("t", tree_clf()), ("l", linear_model.LogisticRegression())]
    named_r = [("r", linear_model.Ridge()), ("l", linear_model.LinearRegression())]
    extra += [(ensemble.VotingClassifier(named_c), y), (ensemble.VotingClassifier(named_c, voting="soft"), y),
              (ensemble.VotingRegressor(named_r), yr), (ensemble.StackingClassifier(named_c, cv=2), y),
              (ensemble.StackingRegressor(named_r, cv=2), yr)]
    for cls_name in ("TunedThresholdClassifierCV", "FixedThresholdClassifier"):
        cls = getattr(model_selection, cls_name, None)
        if cls is not None:
            extra.append((cls(linear_model.LogisticRegression()), y))
            if cls_name == "TunedThresholdClassifierCV":
                for scoring in ("f1", "roc_auc", "accuracy", "recall", "precision"):
                    extra.append((cls(linear_model.LogisticRegression(), scoring=scoring, cv=2), y))
    for est, target in extra:
        try:
            est.fit(X, target) if target is not None else est.fit(X)
            out.append(est)
        except Exception as e:  # noqa: BLE001
            print(f"not fitted: {type(est).__name__}: {e}", file=sys.stderr)
    # Every distance metric a tree or neighbors estimator can hold (not PyFuncDistance, which wraps
    # a Python callable: a pickle naming it is reported).
    try:
        from sklearn.metrics import DistanceMetric
    except ImportError:
        from sklearn.neighbors import DistanceMetric
    metrics = [("euclidean", {}), ("manhattan", {}), ("chebyshev", {}), ("minkowski", {"p": 3}),
               ("minkowski", {"p": 3, "w": np.ones(4)}), ("wminkowski", {"p": 3, "w": np.ones(4)}),
               ("seuclidean", {"V": np.ones(4)}), ("mahalanobis", {"VI": np.eye(4)}), ("haversine", {}),
               ("hamming", {}), ("canberra", {}), ("braycurtis", {}), ("jaccard", {}), ("matching", {}),
               ("dice", {}), ("kulsinski", {}), ("rogerstanimoto", {}), ("russellrao", {}),
               ("sokalmichener", {}), ("sokalsneath", {})]
    for name, kw in metrics:
        for dtype in (np.float64, np.float32):
            try:
                out.append(DistanceMetric.get_metric(name, dtype=dtype, **kw))
            except TypeError:
                out.append(DistanceMetric.get_metric(name, **kw))
                break
            except Exception:  # noqa: BLE001
                break
    # scipy's sparse containers, every format (estimators and vectorizers hold them).
    import scipy.sparse as sp

    dense = np.eye(4)
    for fmt in ("csr", "csc", "coo", "bsr", "dia", "dok", "lil"):
        for kind in ("matrix", "array"):
            cls = getattr(sp, f"{fmt}_{kind}", None)
            if cls is not None:
                out.append(cls(dense))
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


# Base classes (by name) whose subclasses are listed from a wheel read statically: estimators,
# and the loss, link and distribution objects fitted estimators of 0.22-1.0 hold
# (HistGradientBoosting's loss.BaseLoss, GradientBoosting's _gb_losses.LossFunction, the GLMs'
# BaseLink and ExponentialDispersionModel). Each of their subclasses in those versions keeps
# parameters as attributes and computes on arrays; none defines __reduce__, __setstate__ or
# __new__ beyond BaseEstimator's (a version check and a __dict__ update).
STATIC_BASES = {"BaseEstimator", "BaseLoss", "LossFunction", "BaseLink", "ExponentialDispersionModel"}
# Never read from a wheel: tests, vendored code and the testing utilities.
STATIC_SKIP = {"tests", "externals", "_build_utils", "_testing", "_mocking", "estimator_checks", "conftest",
               "setup", "__check_build"}
# Functions of 0.2x pickles outside the real runs' lists: GridSearchCV's scorer for scoring=None
# (estimator.score(*args), the function form of the later _PassthroughScorer class).
STATIC_FUNCTIONS = {("sklearn.metrics._scorer", "_passthrough_scorer"), ("sklearn.metrics.scorer", "_passthrough_scorer")}


def static_sklearn(wheel, known_names):
    """The pairs a pickle written by the scikit-learn in `wheel` can import, read without running
    it (see the module docstring): (pairs, version)."""
    import ast
    import zipfile

    ident = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    classes = {}  # (module, name) -> (base names, abstract)
    functions = set()
    compiled = {}  # module -> qualified names found in its .so
    version = "?"
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            path = info.filename
            parts = path.split("/")
            if parts[0].endswith(".dist-info") and parts[-1] == "METADATA":
                for line in z.read(info).decode("utf-8", "replace").splitlines():
                    if line.startswith("Version:"):
                        version = line.split(":", 1)[1].strip()
            if parts[0] != "sklearn" or any(p in STATIC_SKIP for p in parts[:-1]):
                continue
            stem = parts[-1].split(".")[0]
            if stem in STATIC_SKIP:
                continue
            module = ".".join(parts[:-1] + ([] if stem == "__init__" else [stem]))
            if path.endswith(".py"):
                tree = ast.parse(z.read(info))
                for node in tree.body:
                    if isinstance(node, ast.ClassDef):
                        bases = []
                        for b in node.bases:
                            while isinstance(b, ast.Subscript):
                                b = b.value
                            if isinstance(b, ast.Attribute):
                                bases.append(b.attr)
                            elif isinstance(b, ast.Name):
                                bases.append(b.id)
                        abstract = any(
                            isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                            and any("abstractmethod" in ast.unparse(d) for d in f.decorator_list)
                            for f in node.body)
                        classes[(module, node.name)] = (bases, abstract)
                    elif isinstance(node, ast.FunctionDef):
                        functions.add((module, node.name))
            elif path.endswith(".so"):
                # Cython stores `module.Class` (each extension type's tp_name) and
                # `module.function` (each function's qualified name) as C strings.
                names = set()
                for raw in re.findall(rb"[A-Za-z0-9_.]{3,}", z.read(info)):
                    text = raw.decode()
                    for prefix in (module, stem):
                        rest = text[len(prefix) + 1:] if text.startswith(prefix + ".") else None
                        if rest and ident.fullmatch(rest):
                            names.add((prefix, rest))
                compiled[module] = names
    # Base classes resolved by name through the wheel's own class definitions.
    listed_bases = set(STATIC_BASES)
    changed = True
    while changed:
        changed = False
        for (m, n), (bases, _) in classes.items():
            if n not in listed_bases and any(b in listed_bases for b in bases):
                listed_bases.add(n)
                changed = True
    pairs = set()
    # Abstract classes (an @abstractmethod in the body) are never instantiated, so never pickled.
    for (m, n), (bases, abstract) in classes.items():
        if (module_stem(m), n) in known_names or (any(b in listed_bases for b in bases) and not abstract):
            pairs.add((m, n))
    for module, names in compiled.items():
        for prefix, n in names:
            if (module_stem(prefix), n) in known_names:
                pairs.add((prefix, n))
    for module, names in compiled.items():
        for prefix, n in names:
            if n.startswith("__pyx_unpickle_") and (prefix, n[len("__pyx_unpickle_"):]) in pairs:
                pairs.add((prefix, n))
    pairs |= STATIC_FUNCTIONS & functions
    return pairs, version


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


def module_stem(module):
    """The last part of a module's path without the underscores renames add (`_tree`, `tree`)."""
    return module.rsplit(".", 1)[-1].strip("_")


def known_names(path):
    """(module stem, name) of the sklearn family's objects (sklearn modules and bare Cython
    modules) in `path`: a name under a module of the same stem is the same object moved."""
    names = set()
    if os.path.exists(path):
        for line in open(path):
            if "\t" in line and not line.startswith("#"):
                m, n = line.rstrip("\n").split("\t")
                if m.startswith("sklearn.") or "." not in m:
                    names.add((module_stem(m), n))
    return names


# The environments of the real runs: scikit-learn with the numpy, scipy and pandas of its time.
VENVS = [
    ("1.1.3", ["numpy==1.23.5", "scipy==1.9.3", "pandas==1.5.3"]),
    ("1.2.2", ["numpy==1.24.4", "scipy==1.10.1", "pandas==1.5.3"]),
    ("1.3.2", ["numpy==1.26.4", "scipy==1.11.4", "pandas==2.2.3"]),
    ("1.4.2", ["numpy==1.26.4", "scipy==1.12.0", "pandas==2.2.3"]),
    ("1.5.2", ["numpy==2.0.2", "scipy==1.14.1", "pandas==2.2.3"]),
    ("1.6.1", ["numpy==2.2.6", "scipy==1.15.3", "pandas==2.2.3"]),
    ("1.7.2", ["numpy==2.3.5", "scipy==1.16.3", "pandas==2.3.3"]),
    ("1.9.1", ["numpy==2.4.6", "scipy==1.17.1", "pandas==3.1.1"]),
]


def setup_venvs(root="/tmp/allowvenvs"):
    for version, pins in VENVS:
        d = os.path.join(root, f"sk{version}")
        if os.path.exists(os.path.join(d, "bin", "python")):
            continue
        subprocess.run([sys.executable, "-m", "venv", d], check=True)
        subprocess.run([os.path.join(d, "bin", "pip"), "install", "-q", "--only-binary=:all:",
                        f"scikit-learn=={version}", "joblib", *pins], check=True)
        print(d, file=sys.stderr)


# Never listed whatever a run records: they call what they are handed, or load files.
NEVER = {"Parallel", "delayed", "_FuncWrapper", "Memory", "MemorizedFunc", "load", "loads"}


def main():
    ap = _argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modelgate", nargs="?", default="target/release/modelgate")
    ap.add_argument("--static-sklearn", metavar="WHEEL", action="append", default=[],
                    help="read a scikit-learn wheel statically instead of running this environment")
    ap.add_argument("--setup", action="store_true", help="create the venvs of VENVS under /tmp/allowvenvs")
    args = ap.parse_args()
    if args.setup:
        setup_venvs()
        return
    modelgate = args.modelgate
    found = {}
    versions = []

    def add(pairs, family=None):
        for m, n in pairs:
            if "." in n or m.startswith("__main__"):
                continue
            found.setdefault(family or family_of(m), set()).add((m, n))

    if args.static_sklearn:
        known = known_names(os.path.join(OUT, "sklearn.txt"))
        for wheel in args.static_sklearn:
            pairs, version = static_sklearn(wheel, known)
            add(pairs, "sklearn")
            versions.append(f"scikit-learn {version} (its wheel read statically)")
            print(f"scikit-learn {version}: {len(pairs)} pairs read statically", file=sys.stderr)
    else:
        collect(add, versions)
    finish(found, versions, modelgate)


def collect(add, versions):
    """Record what the libraries installed here write."""
    for v in stdlib_values():
        record(v)
    versions.append(f"python {sys.version.split()[0]}")
    try:
        import numpy

        for v in numpy_values():
            record(v)
        add(numpy_ufunc_pairs(), "numpy")
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
    try:
        import pandas  # noqa: F401

        listed = ({(m, n) for m, n in Recorder.seen if family_of(m) in ("pandas", "numpy")}
                  | known_pairs("pandas") | known_pairs("numpy"))
        add(pandas_compat_pairs(listed), "pandas")
    except ImportError:
        pass


def known_pairs(family):
    path = os.path.join(OUT, f"{family}.txt")
    if not os.path.exists(path):
        return set()
    return {tuple(line.rstrip("\n").split("\t")) for line in open(path) if "\t" in line and not line.startswith("#")}


def finish(found, versions, modelgate):
    """Add old module paths, drop what must never be listed, merge into the family files."""
    # Old sklearn paths of every renamed module.
    renames = {old.rsplit(".", 1)[0] + "." + new: old for new, old in SKLEARN_RENAMES}
    for m, n in list(found.get("sklearn", ())):
        if m in renames:
            found["sklearn"].add((renames[m], n))
        # scipy 1.8 made scipy.sparse's modules private (csr.py -> _csr.py); older pickles
        # name the public paths.
        if m.startswith("scipy.sparse._") and m.count(".") == 2 and n.endswith("_matrix"):
            found["sklearn"].add((m.replace("._", ".", 1), n))
    for family in found:
        found[family] = {(m, n) for m, n in found[family] if n not in NEVER}
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
        merged = sorted({(m, n) for m, n in pairs | old if n not in NEVER} - set(bad))
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
