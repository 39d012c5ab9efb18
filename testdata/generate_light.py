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


def main():
    (BENIGN / "joblib").mkdir(parents=True, exist_ok=True)
    joblib.dump(column_transformer(), BENIGN / "joblib/column_transformer.joblib")
    (BENIGN / "pickle").mkdir(parents=True, exist_ok=True)
    for proto in (2, 4):
        with open(BENIGN / f"pickle/numpy_scalars_p{proto}.pkl", "wb") as f:
            pickle.dump(numpy_scalars(), f, protocol=proto)


if __name__ == "__main__":
    main()
