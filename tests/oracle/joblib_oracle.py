#!/usr/bin/env python3
"""Loader oracle for joblib: joblib.load (numpy_pickle: NumpyUnpickler, NumpyArrayWrapper's
inline array data, object arrays unpickled from the same stream, the zlib/gzip/bz2/xz/lzma
wrappers, and joblib < 0.10's `ZF` files and NDArrayWrapper companion files through
numpy_pickle_compat) on each input (file paths on stdin). Every global the loader resolves is
recorded; only the classes joblib and numpy need to read arrays resolve for real, the rest are
inert stubs, and every unpickler in the process (joblib's pure-Python one, pickle.load for
object arrays, numpy's np.load of companion files) goes through the same hook, so nothing runs.
Prints one JSON object per line: {"imports": [[module, name], ...], "error": str or null}."""
import io
import json
import pathlib
import pickle
import sys
import warnings

IMPORTS = []
# Resolved for real: what joblib and numpy need to rebuild arrays (constructing them runs no
# code of the file's choosing).
REAL = {
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("joblib.numpy_pickle_compat", "NDArrayWrapper"),
    ("joblib.numpy_pickle_compat", "ZNDArrayWrapper"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy", "memmap"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "tuple"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
    ("builtins", "slice"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),
}


class Stub:
    """An inert stand-in for every other global: takes any arguments and state."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __call__(self, *args, **kwargs):
        return Stub()


def hooked_find_class(module, name):
    IMPORTS.append([module, name])
    if (module, name) in REAL:
        return _real_find_class(module, name)
    return type(name if name.isidentifier() else "Stub", (Stub,), {})


def _real_find_class(module, name):
    __import__(module)
    obj = sys.modules[module]
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


class HookedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        return hooked_find_class(module, name)


def hooked_load(file, **kwargs):
    return HookedUnpickler(file, **kwargs).load()


def hooked_loads(data, **kwargs):
    return HookedUnpickler(io.BytesIO(data), **kwargs).load()


# Every unpickler in the process goes through the hook: joblib's (pickle._Unpickler
# subclasses), pickle.load for object arrays and numpy's np.load(allow_pickle=True).
pickle._Unpickler.find_class = lambda self, module, name: hooked_find_class(module, name)
pickle.Unpickler = HookedUnpickler
pickle.load = hooked_load
pickle.loads = hooked_loads

import joblib  # noqa: E402 - after the hook
import joblib.compressor  # noqa: E402
import joblib.numpy_pickle as numpy_pickle  # noqa: E402
import joblib.numpy_pickle_compat as numpy_pickle_compat  # noqa: E402
import joblib.numpy_pickle_utils as numpy_pickle_utils  # noqa: E402
import numpy as np  # noqa: E402

try:
    from numpy.lib import _format_impl as _fmt
    from numpy.lib import _npyio_impl as _npyio
except ImportError:  # numpy 1
    from numpy.lib import format as _fmt
    from numpy.lib import npyio as _npyio
for _m in (_fmt, _npyio, numpy_pickle, numpy_pickle_compat):
    if hasattr(_m, "pickle"):
        _m.pickle = pickle

from loader_coverage import measured  # noqa: E402

# Judged by branch coverage (MODELGATE_ORACLE_COVERAGE, see loader_coverage.py): joblib.load's
# reading code. Writing (dump, the picklers, write_*), memory maps (read_mmap,
# load_temporary_memmap) and the compressor registry are left out.
JUDGED = {
    numpy_pickle: ["NumpyArrayWrapper.read_array", "NumpyArrayWrapper.read",
                   "NumpyArrayWrapper.safe_get_numpy_array_alignment_bytes",
                   "NumpyUnpickler.__init__", "NumpyUnpickler.load_build", "_unpickle", "load"],
    numpy_pickle_utils: ["_detect_compressor", "_validate_fileobject_and_memmap", "_read_bytes",
                         "_ensure_native_byte_order", "_is_numpy_array_byte_order_mismatch",
                         "_buffered_read_file", "_is_raw_file"],
    joblib.compressor: ["CompressorWrapper.decompressor_file",
                        "BZ2CompressorWrapper.decompressor_file",
                        "LZMACompressorWrapper.decompressor_file",
                        "BinaryZlibFile.__init__", "BinaryZlibFile.close",
                        "BinaryZlibFile._check_not_closed", "BinaryZlibFile._check_can_read",
                        "BinaryZlibFile._fill_buffer", "BinaryZlibFile._read_all",
                        "BinaryZlibFile._read_block", "BinaryZlibFile.read",
                        "BinaryZlibFile.readinto", "BinaryZlibFile.readable",
                        "BinaryZlibFile.seekable", "BinaryZlibFile.tell"],
    numpy_pickle_compat: ["read_zfile", "NDArrayWrapper.read", "ZNDArrayWrapper.read",
                          "ZipNumpyUnpickler.*", "load_compatibility"],
}
warnings.simplefilter("ignore")


def _from_open_file(path, **kw):
    with open(path, "rb") as f:
        return joblib.load(f, **kw)


def _from_raw_file(path, **kw):
    with io.FileIO(path, "rb") as f:
        return joblib.load(f, **kw)


def _from_buffered_bytes(path, **kw):
    with open(path, "rb") as f:
        return joblib.load(io.BufferedReader(io.BytesIO(f.read())), **kw)


def _from_bytes(path, **kw):
    with open(path, "rb") as f:
        return joblib.load(io.BytesIO(f.read()), **kw)


READINGS = [
    joblib.load,
    lambda p: joblib.load(pathlib.Path(p), mmap_mode="r"),
    _from_open_file,
    lambda p: _from_open_file(p, mmap_mode="r"),
    lambda p: _from_raw_file(p, mmap_mode="r"),
    _from_bytes,
    lambda p: _from_bytes(p, mmap_mode="r"),
    lambda p: _from_buffered_bytes(p, mmap_mode="r"),
]


def main():
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        del IMPORTS[:]
        err = None
        # joblib.load as loaders call it: a path (str and pathlib), an open file, bytes in
        # memory; without and with memory maps. The first answer is reported; the imports
        # of every reading are recorded.
        for i, how in enumerate(READINGS):
            try:
                how(path)
            except BaseException as e:  # noqa: BLE001 - a refusal is data here
                if isinstance(e, KeyboardInterrupt):
                    raise
                if i == 0:
                    err = f"{type(e).__name__}: {e}"[:200]
        print(json.dumps({"imports": IMPORTS, "error": err}), flush=True)


def generate(out):
    """Seed files written by the real producer (joblib.dump, and joblib < 0.10's layouts by
    numpy_pickle_compat's own classes): arrays of every layout read_array reads, every
    compressor, ZF files, NDArrayWrapper and ZNDArrayWrapper companions. The payload object
    pickles as posix.system("echo") (never called: every unpickler here is hooked). Prints
    one JSON line per file: {"file", "companions"}."""
    import os

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo",))

    payload_array = np.empty(2, dtype=object)
    payload_array[0] = Payload()
    payload_array[1] = "x"
    objs = {
        "be": np.arange(6, dtype=">i4").reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(3, 2)),
        "scalar0d": np.array(5.0),
        "empty": np.zeros((0, 3)),
        "big": np.arange(300_000, dtype=np.int64),
        "zeros": np.zeros(1_500_000),
        "structured": np.zeros(3, dtype=[("a", "<i4"), ("b", ">f8")]),
        "objects": {"w": np.arange(3), "p": payload_array, "after": Payload()},
        "plain_payload": [np.arange(2), Payload()],
    }
    written = []
    for name, obj in objs.items():
        for comp in (0, ("zlib", 1), ("gzip", 1), ("bz2", 1), ("xz", 1), ("lzma", 1)):
            if name in ("big", "zeros") and comp not in (0, ("zlib", 1)):
                continue
            tag = comp[0] if comp else "raw"
            path = os.path.join(out, f"{name}_{tag}.joblib")
            joblib.dump(obj, path, compress=comp)
            written.append((path, []))
    # joblib < 0.10: ZF files (with and without 0.8.4's extra space).
    for name, space in (("zf", b""), ("zf_space", b" ")):
        data = pickle.dumps({"a": [1, 2], "p": Payload()}, protocol=2)
        path = os.path.join(out, f"{name}.joblib")
        with open(path, "wb") as f:
            f.write(b"ZF" + numpy_pickle_compat.hex_str(len(data)).encode().ljust(19) + space)
            import zlib
            f.write(zlib.compress(data))
        written.append((path, []))
    # A Python 2 str that is not ASCII: the unpickler's default encoding refuses it.
    path = os.path.join(out, "zf_py2_str.joblib")
    with open(path, "wb") as f:
        numpy_pickle_compat.write_zfile(f, b"\x80\x02U\x01\xff.")
    written.append((path, []))
    # NDArrayWrapper: the array in a companion .npy (an object array holding the payload),
    # the pickle plain and inside a ZF file.
    comp_npy = "companion_objects.npy"
    np.save(os.path.join(out, comp_npy), payload_array, allow_pickle=True)
    np.save(os.path.join(out, "companion_be.npy"), np.arange(4, dtype=">i8"))
    for name, target, mm in (("ndwrapper", comp_npy, False), ("ndwrapper_be", "companion_be.npy", True)):
        w = numpy_pickle_compat.NDArrayWrapper(target, np.ndarray, allow_mmap=mm)
        data = pickle.dumps([w], protocol=2)
        path = os.path.join(out, f"{name}.pkl")
        with open(path, "wb") as f:
            f.write(data)
        written.append((path, [target]))
        path = os.path.join(out, f"{name}_zf.joblib")
        with open(path, "wb") as f:
            numpy_pickle_compat.write_zfile(f, data)
        written.append((path, [target]))
    # ZNDArrayWrapper: the array's bytes in a companion ZF file.
    arr = np.arange(5, dtype="<i4")
    red = arr.__reduce__()
    zname = "companion_z.z"
    with open(os.path.join(out, zname), "wb") as f:
        numpy_pickle_compat.write_zfile(f, red[2][-1])
    w = numpy_pickle_compat.ZNDArrayWrapper(zname, red[1], red[2][:-1])
    data = pickle.dumps({"z": w, "p": Payload()}, protocol=2)
    path = os.path.join(out, "zndwrapper_zf.joblib")
    with open(path, "wb") as f:
        numpy_pickle_compat.write_zfile(f, data)
    written.append((path, [zname]))
    for path, companions in written:
        print(json.dumps({"file": path, "companions": companions}))


if len(sys.argv) == 3 and sys.argv[1] == "--generate":
    generate(sys.argv[2])
    sys.exit(0)


with measured(JUDGED):
    main()
