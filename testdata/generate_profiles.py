#!/usr/bin/env python3
"""Fixtures of libraries whose loaders import their own classes: each passes with one profile
line in the policy (tests/cli.rs). Run by hand with lightgbm==4.6.0, xgboost-cpu==3.2.0,
catboost==1.2.10, omegaconf==2.4.0, scikit-learn==1.7.2, joblib==1.5.2, numpy==2.3.5."""
import pickle
from pathlib import Path

import catboost
import joblib
import lightgbm
import numpy as np
import xgboost
from omegaconf import OmegaConf

OUT = Path(__file__).resolve().parent / "profiles"


def main():
    OUT.mkdir(exist_ok=True)
    rng = np.random.RandomState(0)
    X = rng.rand(50, 3)
    y = (X[:, 0] > 0.5).astype(int)
    with open(OUT / "lgbm.pkl", "wb") as f:
        pickle.dump(lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, y), f)
    with open(OUT / "xgb.pkl", "wb") as f:
        pickle.dump(xgboost.XGBClassifier(n_estimators=3).fit(X, y), f)
    joblib.dump(xgboost.XGBRegressor(n_estimators=3).fit(X, y), OUT / "xgb.joblib")
    with open(OUT / "catboost.pkl", "wb") as f:
        pickle.dump(catboost.CatBoostClassifier(iterations=3, verbose=0, allow_writing_files=False).fit(X, y), f)
    with open(OUT / "omegaconf.pkl", "wb") as f:
        pickle.dump({"cfg": OmegaConf.create({"lr": 0.1, "layers": [1, 2], "opt": {"name": "adam"}})}, f)


if __name__ == "__main__":
    main()
