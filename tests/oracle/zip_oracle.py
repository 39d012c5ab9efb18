#!/usr/bin/env python3
"""Loader oracle for zip archives: Python's zipfile (as numpy's .npz loader and Keras use it)
lists each archive's members and reads each one's bytes. Input: file paths on stdin. Output per
line: {"members": [{"name", "data_hex" or null, "error"}]} or {"error"}. Nothing is extracted."""
import json
import sys
import zipfile

from loader_coverage import measured

# Judged by branch coverage (MODELGATE_ORACLE_COVERAGE, see loader_coverage.py): zipfile's
# reading code (the end records, the central directory, extra fields, opening and reading a
# member).
# member). _strip_extra is left out (zipfile calls it only when writing), ZipExtFile.__repr__
# too (not reading).
JUDGED = {zipfile: ["_EndRecData", "_EndRecData64", "ZipFile._RealGetContents", "ZipFile.open",
                    "ZipInfo._decodeExtra", "ZipExtFile.__init__", "ZipExtFile._init_decrypter",
                    "ZipExtFile.readline", "ZipExtFile.peek", "ZipExtFile.readable",
                    "ZipExtFile.read", "ZipExtFile._update_crc", "ZipExtFile.read1",
                    "ZipExtFile._read1", "ZipExtFile._read2", "ZipExtFile.close",
                    "ZipExtFile.seekable", "ZipExtFile.seek", "ZipExtFile.tell"]}


def read_like_loaders(zf, name):
    """Open a member by name (as np.load and Keras do) and read it the ways loaders read a
    file object: pickle.load (peek, readline, read, read1) and h5py (seekable, seek, tell)."""
    with zf.open(name) as f:
        f.readable()
        f.seekable()
        f.peek(1)
        f.readline()
        f.peek(1 << 20)
        f.read(3)
        f.read1(2)
        f.read1(1 << 16)
        f.read1(-1)
        f.tell()
        f.seek(1)
        f.seek(0)
        f.read(1)
        f.seek(2, 1)
        f.seek(-1, 2)
        f.seek(-(1 << 20), 1)
        f.read(1 << 16)
        f.seek(1 << 20)
        f.read()
    with zf.open(name) as f:
        f.read1(-1)
        f.readline(5)
    with zf.open(name) as f:
        while f.read1(5000):
            pass
    with zf.open(name) as f:
        while f.read(4097):
            f.readline(3)


def main():
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        try:
            members = []
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    try:
                        data = zf.read(info).hex()
                        err = None
                    except Exception as e:  # noqa: BLE001 - a refusal is data here
                        data, err = None, f"{type(e).__name__}"
                    members.append({"name": info.filename, "data_hex": data, "error": err})
                    try:
                        read_like_loaders(zf, info.filename)
                    except Exception:  # noqa: BLE001 - only the branches taken matter here
                        pass
            print(json.dumps({"members": members}), flush=True)
        except Exception as e:  # noqa: BLE001
            print(json.dumps({"error": f"{type(e).__name__}: {e}"[:200]}), flush=True)


with measured(JUDGED):
    main()
