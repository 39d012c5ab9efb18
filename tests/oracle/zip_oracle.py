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
JUDGED = {zipfile: ["_EndRecData", "_EndRecData64", "ZipFile._RealGetContents", "ZipFile.open",
                    "ZipInfo._decodeExtra", "_strip_extra", "ZipExtFile.*"]}


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
            print(json.dumps({"members": members}), flush=True)
        except Exception as e:  # noqa: BLE001
            print(json.dumps({"error": f"{type(e).__name__}: {e}"[:200]}), flush=True)


with measured(JUDGED):
    main()
