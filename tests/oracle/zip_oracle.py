#!/usr/bin/env python3
"""Loader oracle for zip archives: Python's zipfile (as numpy's .npz loader and Keras use it)
lists each archive's members and reads each one's bytes. Input: file paths on stdin. Output per
line: {"members": [{"name", "data_hex" or null, "error"}]} or {"error"}. Nothing is extracted."""
import json
import sys
import zipfile

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
