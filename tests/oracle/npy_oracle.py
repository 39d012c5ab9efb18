#!/usr/bin/env python3
"""Loader oracle for .npy headers: numpy's own header reader on each input (file paths on
stdin, one per line). Prints one JSON object per line: {"path", "object": bool} when numpy
reads the header, {"path", "error": str} when it refuses. Reads headers only, never data."""
import json
import sys
import warnings

import numpy as np

from loader_coverage import measured

try:  # numpy 2 keeps the implementation (and the reader np.load uses) here
    from numpy.lib import _format_impl as fmt
except ImportError:
    from numpy.lib import format as fmt

# Judged by branch coverage (MODELGATE_ORACLE_COVERAGE, see loader_coverage.py): the header
# reader np.load runs, read_magic, _read_array_header, _filter_header and descr_to_dtype.
JUDGED = {fmt: ["read_magic", "_read_array_header", "_filter_header", "descr_to_dtype"]}
# Python 2 headers warn; noise here.
warnings.simplefilter("ignore")


def main():
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        try:
            with open(path, "rb") as f:
                version = fmt.read_magic(f)
                # np.load(allow_pickle=True), which object arrays need, lifts the header limit.
                shape, fortran, dtype = fmt._read_array_header(f, version, max_header_size=1 << 20)
            out = {"path": path, "object": bool(dtype.hasobject)}
        except Exception as e:  # noqa: BLE001 - a refusal is data here
            out = {"path": path, "error": f"{type(e).__name__}: {e}"[:200]}
        print(json.dumps(out), flush=True)


with measured(JUDGED):
    main()
