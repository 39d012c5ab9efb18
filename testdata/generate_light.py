#!/usr/bin/env python3
"""Fixtures that need only the light producers (numpy, scikit-learn, joblib, pandas): run on
its own (`python testdata/generate_light.py`, versions pinned in testdata/requirements.txt) or
from generate.py. Writes into testdata/benign/."""
import pickle
from pathlib import Path

import joblib
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = Path(__file__).resolve().parent
BENIGN = HERE / "benign"


def column_transformer():
    """A ColumnTransformer with a OneHotEncoder: its categories_ are object arrays, which joblib
    writes as inline pickles (the shared-memo reading of pickle.load)."""
    import pandas as pd

    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "city": rng.choice(["paris", "lyon", "nice"], 60),
            "kind": rng.choice(["a", "b"], 60),
            "age": rng.randint(18, 80, 60).astype(float),
        }
    )
    y = rng.randint(0, 2, 60)
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "kind"]), ("num", StandardScaler(), ["age"])]
    )
    model = Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(X, y)
    return model


def numpy_scalars():
    """numpy scalars of every common dtype, with values whose bytes start like pickle opcodes
    (PROTO, EXT1, a GLOBAL): scalar bytes are data, never a pickle."""
    values = {
        "f8_proto": np.frombuffer(b"\x80\x02N.\x00\x00\x00\x00", dtype="<f8")[0],
        "f8_ext": np.frombuffer(b"\x82\x46\r\r\r\x00\x00\x00", dtype="<f8")[0],
        "i8_global": np.frombuffer(b"cos\nsys\n", dtype="<i8")[0],
        "f4": np.float32(1.5),
        "f2": np.float16(-2.0),
        "i4": np.int32(-7),
        "u1": np.uint8(200),
        "b": np.bool_(True),
        "c16": np.complex128(1 + 2j),
    }
    return values


def pandas_frame():
    """A DataFrame with a column of every common dtype (tz-aware ones written, under protocols
    before 4, as getattr(ZoneInfo, '_unpickle')) and a MultiIndex."""
    import pandas as pd

    n = 4
    return pd.DataFrame(
        {
            "i": np.arange(n),
            "f": np.linspace(0, 1, n),
            "o": list("abcd"),
            "cat": pd.Categorical(list("abab")),
            "dt": pd.date_range("2024-01-01", periods=n),
            "dtz": pd.date_range("2024-01-01", periods=n, tz="Europe/Paris"),
            "td": pd.to_timedelta(np.arange(n), "s"),
            "per": pd.period_range("2024-01", periods=n, freq="M"),
            "iv": pd.arrays.IntervalArray.from_breaks(range(n + 1)),
            "Int64": pd.array([1, None, 3, 4], dtype="Int64"),
            "string": pd.array(["a", None, "c", "d"], dtype="string"),
        },
        index=pd.MultiIndex.from_product([[1, 2], ["a", "b"]]),
    )


def numpy_values():
    """numpy values beyond plain arrays: matrix, masked and record arrays, generators."""
    return {
        "matrix": np.matrix([[1, 2]]),
        "masked": np.ma.masked_array([1, 2], mask=[0, 1]),
        "rec": np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        "record": np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])[0],
        "philox": np.random.Generator(np.random.Philox(0)),
        "sfc64": np.random.Generator(np.random.SFC64(0)),
        "legacy": np.random.RandomState(0),
        "datetime": np.datetime64("2024-01-01"),
    }


def stdlib_values():
    """Standard-library values people keep in checkpoints and configs."""
    import argparse
    import array
    import collections
    import decimal
    import fractions
    import ipaddress
    import pathlib
    import re
    import types
    import uuid
    import zoneinfo
    import datetime

    return {
        "args": argparse.Namespace(lr=0.1, name="run"),
        "uuid": uuid.UUID(int=7),
        "frac": fractions.Fraction(1, 3),
        "dec": decimal.Decimal("1.5"),
        "chain": collections.ChainMap({"a": 1}),
        "regex": re.compile(r"a+b", re.I),
        "when": datetime.datetime(2024, 1, 2, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
        "array": array.array("d", [1.0]),
        "ip": ipaddress.ip_network("10.0.0.0/8"),
        "path": pathlib.PurePosixPath("data/train.csv"),
        "ns": types.SimpleNamespace(a=1),
        "dots": Ellipsis,
    }


def sklearn_extras():
    """Estimators whose fitted state holds loss objects, scorers and splitters."""
    from sklearn.ensemble import HistGradientBoostingClassifier, GradientBoostingClassifier
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.RandomState(0)
    X = np.abs(rng.randn(60, 4))
    y3 = np.digitize(X[:, 0], [0.5, 1.0])
    y = (X[:, 0] > X[:, 1]).astype(int)
    return {
        "hgb_multiclass": HistGradientBoostingClassifier(max_iter=3).fit(X, y3),
        "gb_multiclass": GradientBoostingClassifier(n_estimators=3).fit(X, y3),
        "sgd_modified_huber": SGDClassifier(loss="modified_huber", max_iter=5).fit(X, y),
        "grid_search": GridSearchCV(
            LogisticRegression(), {"C": [1, 2]}, scoring="roc_auc", cv=StratifiedKFold(3)
        ).fit(X, y),
        "log1p": Pipeline([("log", FunctionTransformer(np.log1p, inverse_func=np.expm1)), ("clf", LogisticRegression())]).fit(X, y),
    }


def main():
    (BENIGN / "joblib").mkdir(parents=True, exist_ok=True)
    joblib.dump(column_transformer(), BENIGN / "joblib/column_transformer.joblib")
    (BENIGN / "pickle").mkdir(parents=True, exist_ok=True)
    for proto in (2, 4):
        with open(BENIGN / f"pickle/numpy_scalars_p{proto}.pkl", "wb") as f:
            pickle.dump(numpy_scalars(), f, protocol=proto)
    (BENIGN / "pandas").mkdir(parents=True, exist_ok=True)
    for proto in (2, 5):
        with open(BENIGN / f"pandas/frame_p{proto}.pkl", "wb") as f:
            pickle.dump(pandas_frame(), f, protocol=proto)
        with open(BENIGN / f"numpy/values_p{proto}.pkl", "wb") as f:
            pickle.dump(numpy_values(), f, protocol=proto)
        with open(BENIGN / f"pickle/stdlib_values_p{proto}.pkl", "wb") as f:
            pickle.dump(stdlib_values(), f, protocol=proto)
    for name, est in sklearn_extras().items():
        joblib.dump(est, BENIGN / f"joblib/{name}.joblib")


if __name__ == "__main__":
    main()
