#!/usr/bin/env python3
"""Loader oracle for tar archives: Python's tarfile (as torch's legacy loader, NeMo and
WebDataset use it) lists each archive's members and the bytes it would extract for each.
Input: file paths on stdin. Output per line: {"path", "members": [{"name", "type", "data_hex"}]}
or {"path", "error"}. Nothing is extracted to disk."""
import json
import sys
import tarfile

from loader_coverage import measured

# Judged by branch coverage (MODELGATE_ORACLE_COVERAGE, see loader_coverage.py): tarfile's
# header reading (frombuf, fromtarfile, the _proc_* member handlers, pax application, nti and
# TarFile.next).
JUDGED = {tarfile: ["nti", "nts", "TarInfo.frombuf", "TarInfo.fromtarfile", "TarInfo._proc_*",
                    "TarInfo._apply_pax_info", "TarInfo._decode_pax_field", "TarInfo._block",
                    "TarFile.next"]}


def main():
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        try:
            members = []
            # "r:*": NeMo and WebDataset read compressed archives too.
            with tarfile.open(path, "r:*") as tf:
                for m in tf.getmembers():
                    data = None
                    # Links resolve to other members; only what is read as a file matters here.
                    if m.isreg() or m.type not in tarfile.SUPPORTED_TYPES:
                        data = tf.extractfile(m).read()
                    # Raw name bytes shown as lossy UTF-8, as modelgate shows member names.
                    name = m.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                    members.append({"name": name, "type": m.type.decode("latin-1"),
                                    "data_hex": None if data is None else data.hex()})
            print(json.dumps({"path": path, "members": members}), flush=True)
        except Exception as e:  # noqa: BLE001 - a refusal is data here
            print(json.dumps({"path": path, "error": f"{type(e).__name__}: {e}"[:200]}), flush=True)


with measured(JUDGED):
    main()
