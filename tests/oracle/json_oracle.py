"""Oracle for tests/json_oracle.rs: Python's own json reads each file named on stdin, and one JSON
line per file answers what it made of it.

Views, each {"ok": canonical value, or null, "error": message or null}:
  "py":       json.loads(bytes) with the pure-Python decoder (py_scanstring, py_make_scanner,
              JSONObject/JSONArray), as with the C accelerator disabled;
  "py_pairs": the same with object_pairs_hook=list (every pair of an object, duplicates kept);
  "c":        json.loads(bytes) with the C accelerator (CPython's default);
  "text":     json.loads(bytes.decode("utf-8")) (transformers: open(path, encoding="utf-8")), pure.
The canonical form (see pyjson::canonical): null, true/false, ["i", digits], ["f", IEEE hex],
strings (ensure_ascii), ["a", [...]], ["o", [[key, value], ...]]. A RecursionError is reported as
"recursion" (modelgate may read deeper than this Python).

Under MODELGATE_ORACLE_COVERAGE the branches of the decoder's own reading functions are measured
(json/__init__.py loads/detect_encoding, json/decoder.py, json/scanner.py py_make_scanner).
"""
import json
import json.decoder as jd
import json.scanner as js
import struct
import sys
import threading

from loader_coverage import measured

JUDGED = {
    json: ["loads", "detect_encoding"],
    jd: ["py_scanstring", "_decode_uXXXX", "JSONObject", "JSONArray", "JSONDecoder.decode", "JSONDecoder.raw_decode"],
    js: ["py_make_scanner"],
}

C_SCANSTRING = jd.scanstring


class PyDecoder(json.JSONDecoder):
    """The pure-Python decoder: py_scanstring for values (and, patched below, for keys)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.parse_string = jd.py_scanstring
        self.scan_once = js.py_make_scanner(self)


def canon(v):
    if v is None or v is True or v is False:
        return v
    if isinstance(v, int):
        return ["i", str(v)]
    if isinstance(v, float):
        return ["f", struct.pack(">d", v).hex()]
    if isinstance(v, str):
        return v
    if isinstance(v, Pairs):
        return ["o", [[k, canon(x)] for k, x in v]]
    if isinstance(v, list):
        return ["a", [canon(x) for x in v]]
    if isinstance(v, dict):
        return ["o", [[k, canon(x)] for k, x in v.items()]]
    raise TypeError(type(v))


class Pairs(list):
    pass


def view(fn):
    try:
        v = fn()
    except RecursionError:
        return {"ok": None, "error": "recursion"}
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError, int() limits, chr()
        return {"ok": None, "error": f"{type(e).__name__}: {e}"[:300]}
    return {"ok": json.dumps(canon(v), ensure_ascii=True, separators=(",", ":")), "error": None}


def pure(fn):
    jd.scanstring = jd.py_scanstring
    try:
        return fn()
    finally:
        jd.scanstring = C_SCANSTRING


def answer_one(data):
    out = {}
    out["py"] = view(lambda: pure(lambda: json.loads(data, cls=PyDecoder)))
    out["py_pairs"] = view(lambda: pure(lambda: json.loads(data, cls=PyDecoder, object_pairs_hook=Pairs)))
    out["c"] = view(lambda: json.loads(data))
    out["text"] = view(lambda: pure(lambda: json.loads(data.decode("utf-8"), cls=PyDecoder)))
    return out


def answer():
    # The rest of the hooks and entry points, once, so that their branches are judged too.
    for call in (
        lambda: json.loads(1),
        lambda: pure(lambda: json.loads('{"a": [1]}', cls=PyDecoder, object_hook=dict)),
        lambda: pure(lambda: json.loads('{}', cls=PyDecoder, object_hook=dict)),
        lambda: pure(lambda: json.loads('{}', cls=PyDecoder, object_pairs_hook=Pairs)),
        lambda: pure(lambda: json.loads('"\\x"', cls=PyDecoder, strict=False)),
        lambda: pure(lambda: json.loads('"a\x01b"', cls=PyDecoder, strict=False)),
        lambda: json.loads('[1]', parse_int=int),
        lambda: PyDecoder().raw_decode("[1] x"),
    ):
        try:
            call()
        except (TypeError, ValueError):
            pass
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        out = answer_one(data)
        out["path"] = path
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


def main():
    with measured(JUDGED):
        answer()


if __name__ == "__main__":
    # Deep documents: the pure decoder takes three frames per level.
    sys.setrecursionlimit(40000)
    threading.stack_size(512 << 20)
    t = threading.Thread(target=main)
    t.start()
    t.join()
