#!/usr/bin/env python3
"""HDF5 fixtures written by pandas' HDFStore over PyTables, for the pickles PyTables unpickles.

Pinned producers (run by hand: `python testdata/generate_hdf5_pytables.py`):
    pandas==3.1.1, tables==3.11.1, numpy==2.4.6, h5py==3.16.0 (HDF5 1.14.6)

PyTables unpickles (tables/attributeset.py `AttributeSet.__getattr__`, run for every attribute
of a node when its `_v_attrs` is first built; tables/hdf5extension.pyx `_g_getattr`):
  * a scalar (rank 0) string attribute, fixed or variable length, whose character set is not
    UTF-8, read as bytes (fixed: trailing NULs stripped; variable: up to the first NUL), that
    ends with b"." (except b"0."): `pickle.loads(value)`, errors swallowed. pandas and PyTables
    store every attribute value that is not a NumPy scalar/array this way (`pickle.dumps(v, 0)`).
  * every row of a VLArray whose PSEUDOATOM attribute is "object" (ObjectAtom):
    `pickle.loads(row.tobytes())` (tables/atom.py `ObjectAtom.fromarray`); pandas' fixed format
    writes each object-dtype array as one such row (pandas/io/pytables.py `write_array`).

Benign files are what pandas writes for plain frames; malicious ones carry inert payloads
(`echo`) and are never loaded here."""
import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import tables

HERE = Path(__file__).resolve().parent
BENIGN = HERE / "benign" / "pytables"
MAL = HERE / "malicious" / "pytables"


class Payload:
    """Pickles as os.system("echo ..."): what an attacker's object reduces to."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


# pandas creates each VLArray with PyTables' default chunk shape (1 MiB of row references);
# small chunks keep the committed files small without changing what is stored.
_create_vlarray = tables.File.create_vlarray


CHUNK = [(4,)]


def _small_chunks(self, *args, **kwargs):
    kwargs.setdefault("chunkshape", CHUNK[0])
    return _create_vlarray(self, *args, **kwargs)


tables.File.create_vlarray = _small_chunks

PROTO0 = b"cposix\nsystem\n(S'echo pwned'\ntR."


def fresh(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    return path


def frame():
    return pd.DataFrame(
        {
            "x": np.arange(4, dtype="int64"),
            "y": [0.5, 1.5, 2.5, 3.5],
            "mixed": pd.Series(["a", 1, None, 2.5], dtype=object),
        }
    )


def benign():
    df = frame()
    df.to_hdf(fresh(BENIGN / "frame_fixed.h5"), key="df", mode="w", format="fixed")
    df.to_hdf(
        fresh(BENIGN / "frame_fixed_zlib.h5"),
        key="df",
        mode="w",
        format="fixed",
        complevel=9,
        complib="zlib",
    )
    tdf = pd.DataFrame(
        {"x": np.arange(4, dtype="int64"), "s": pd.Series(["a", "bb", "c", "dd"], dtype=object)}
    )
    tdf.to_hdf(
        fresh(BENIGN / "frame_table.h5"), key="df", mode="w", format="table", data_columns=["s"]
    )
    idx = pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["k", "n"])
    mdf = pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0]}, index=idx)
    path = fresh(BENIGN / "multiindex.h5")
    mdf.to_hdf(path, key="fixed", mode="w", format="fixed")
    mdf.to_hdf(path, key="table", mode="a", format="table")
    pd.Series(["u", "v"], index=pd.Index(["p", "q"], dtype=object), dtype=object).to_hdf(
        path, key="series", mode="a", format="fixed"
    )


def malicious():
    # The red team's case: pandas_type replaced by a protocol-0 pickle.
    path = fresh(MAL / "attr_pandas_type.h5")
    frame().to_hdf(path, key="df", mode="w", format="fixed")
    with tables.open_file(path, "a") as t:
        t.get_node("/df")._f_delattr("pandas_type")
        t.set_node_attr("/df", "pandas_type", np.bytes_(PROTO0))

    # A user attribute PyTables pickles itself (pickle.dumps(value, 0)).
    path = fresh(MAL / "attr_user_object.h5")
    frame().to_hdf(path, key="df", mode="w", format="fixed")
    with tables.open_file(path, "a") as t:
        t.set_node_attr("/df", "note", Payload("echo pwned"))

    # A scalar variable-length ASCII string attribute (h5py), on the root group.
    path = fresh(MAL / "attr_vlen_root.h5")
    frame().to_hdf(path, key="df", mode="w", format="fixed")
    with h5py.File(path, "a") as h:
        h.attrs.create("TITLE", PROTO0, dtype=h5py.string_dtype("ascii"))

    # An object column: pandas' fixed format pickles the whole object array in one row.
    bad = pd.DataFrame({"x": [1, 2], "o": pd.Series([Payload("echo pwned"), "b"], dtype=object)})
    bad.to_hdf(fresh(MAL / "object_column.h5"), key="df", mode="w", format="fixed")
    bad.to_hdf(
        fresh(MAL / "object_column_zlib.h5"),
        key="df",
        mode="w",
        format="fixed",
        complevel=9,
        complib="zlib",
    )
    # blosc is not decompressed by modelgate: the rows cannot be read, which fails closed.
    # (A chunk blosc does not shrink is stored unfiltered, so this one is large enough.)
    CHUNK[0] = (1024,)
    bad.to_hdf(
        fresh(MAL / "object_column_blosc.h5"),
        key="df",
        mode="w",
        format="fixed",
        complevel=5,
        complib="blosc",
    )

    CHUNK[0] = (4,)

    # PyTables alone: an ObjectAtom VLArray, several rows, the payload in the last.
    path = fresh(MAL / "vlarray_rows.h5")
    with tables.open_file(path, "w") as t:
        v = t.create_vlarray("/", "objs", tables.ObjectAtom(), chunkshape=(2,))
        for row in [{"a": 1}, [1, 2, 3], "text", Payload("echo pwned")]:
            v.append(row)


if __name__ == "__main__":
    benign()
    malicious()
