#!/usr/bin/env python3
"""HDF5 fixtures written by h5py alone (pinned in testdata/requirements.txt), laid out as
Keras's legacy .h5 saving lays files out: root attributes backend, keras_version, model_config
and training_config, and a model_weights group. Each malicious file hides its config from a text
search or points the loader elsewhere; run by hand (`python testdata/generate_hdf5.py`)."""
import json
from pathlib import Path

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
BENIGN = HERE / "benign" / "hdf5"
MAL = HERE / "malicious" / "hdf5"


def dense(name, **extra):
    cfg = {"units": 2, "activation": "relu", "name": name}
    cfg.update(extra)
    return {"module": "keras.layers", "class_name": "Dense", "config": cfg, "registered_name": None}


LAMBDA = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}},
    "registered_name": None,
}


def sequential(layers, first="class_name"):
    body = {"name": "sequential", "layers": layers}
    items = [("module", "keras"), ("class_name", "Sequential"), ("config", body), ("registered_name", None)]
    if first == "config":
        items = [("config", body), ("module", "keras"), ("class_name", "Sequential")]
    return json.dumps(dict(items))


TRAINING = json.dumps(
    {
        "loss": "mean_squared_error",
        "metrics": ["mae"],
        "optimizer_config": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam"}},
    }
)


def keras_like(path, model_config, libver="earliest", userblock=0, extra_attrs=0, weights=True):
    kw = {"libver": libver}
    if userblock:
        kw["userblock_size"] = userblock
    with h5py.File(path, "w", **kw) as f:
        f.attrs["backend"] = "jax"
        f.attrs["keras_version"] = "3.12.0"
        for i in range(extra_attrs):
            f.attrs[f"note_{i}"] = f"padding attribute {i}"
        f.attrs["model_config"] = model_config
        f.attrs["training_config"] = TRAINING
        if weights:
            g = f.create_group("model_weights")
            g.attrs["layer_names"] = np.array([b"dense"])
            d = g.create_group("dense").create_group("dense")
            d.create_dataset("kernel", data=np.arange(6, dtype="float32").reshape(3, 2))
    return path


def main():
    BENIGN.mkdir(parents=True, exist_ok=True)
    MAL.mkdir(parents=True, exist_ok=True)
    # Benign: a Keras-like model (earliest and latest layouts) and a weights-only file.
    keras_like(BENIGN / "sequential.h5", sequential([dense("dense")]))
    keras_like(BENIGN / "sequential_latest.h5", sequential([dense("dense")]), libver="latest")
    with h5py.File(BENIGN / "weights_only.h5", "w") as f:
        f.attrs["layer_names"] = np.array([b"dense", b"dense_1"])
        for n in ("dense", "dense_1"):
            f.create_group(n).create_dataset("kernel", data=np.zeros((2, 2), "float32"))
    # The config's keys in another order than '{"class_name"' first.
    keras_like(MAL / "key_order.h5", sequential([dense("dense"), LAMBDA], first="config"))
    # A fixed-length byte string (np.bytes_) with whitespace before the first key, naming a
    # module outside Keras.
    custom = sequential([dense("dense")]).replace('{"module": "keras.layers"', '{ "module": "evil_pkg.layers"')
    keras_like(MAL / "fixed_bytes.h5", np.bytes_(("{ " + custom[1:]).encode()))
    # The latest file format (superblock 3, OHDR headers): a Keras utility as an activation and
    # a vocabulary read from a path.
    gadget = dense(
        "dense",
        activation={"module": "keras.utils", "class_name": "function", "config": "get_file", "registered_name": "function"},
    )
    lookup = {
        "module": "keras.layers",
        "class_name": "StringLookup",
        "config": {"name": "lookup", "vocabulary": "/etc/passwd"},
        "registered_name": None,
    }
    keras_like(MAL / "latest_gadget.h5", sequential([gadget, lookup]), libver="latest")
    # A user block of 512 bytes before the superblock (the library searches 0, 512, 1024, ...).
    keras_like(MAL / "user_block.h5", sequential([LAMBDA]), userblock=512)
    # More attributes than the compact limit of the latest format: dense storage.
    keras_like(MAL / "dense_attributes.h5", sequential([dense("dense"), LAMBDA]), libver="latest", extra_attrs=12)
    # A config that is not JSON.
    keras_like(MAL / "unreadable_config.h5", "{'class_name': 'Sequential'}")
    # An external link from the weights group to another file.
    p = keras_like(MAL / "external_link.h5", sequential([dense("dense")]))
    with h5py.File(p, "a") as f:
        f["model_weights"]["dense_1"] = h5py.ExternalLink("/tmp/elsewhere.h5", "/weights")


if __name__ == "__main__":
    main()
