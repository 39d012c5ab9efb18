#!/usr/bin/env python3
"""Loader oracle for pickles: runs each input through CPython's real reader paths with every
import hooked, so that nothing the pickle names is ever imported or run.

Reader paths:
  loads     the C unpickler over a file whose peek() returns everything left: it reads front
            to back as pickle.loads(bytes) does (frames below the 128 KiB prefetch);
  peek      the C unpickler over io.BufferedReader (pickle.load(open(f, 'rb')));
  nopeek    the C unpickler over io.BytesIO (torch.load's data.pkl; no peek());
  python    the pure-Python pickle._Unpickler (joblib's base).

find_class records (module, name) and returns a fresh inert stub class; persistent_load
returns a stub. Stubs accept any call, state and items, and do nothing. As the real
find_class does, it fails (after recording: the module import is what runs code) on a module
or name that no module could have, one that is not a dotted identifier.

Input: file paths, one per line, on stdin. Output: one JSON object per input line, e.g.
{"path": ..., "paths": {"loads": {"imports": [[m, n], ...], "error": null}, ...}}.
Standard library only.
"""
import io
import json
import pickle
import resource
import sys

# Hostile lengths make the unpickler allocate what the stream claims: cap the address space.
try:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
except (ValueError, OSError):
    pass
sys.setrecursionlimit(10000)


class Stub:
    """An inert object: every operation the unpickler may apply is accepted and ignored."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return Stub()

    def __setstate__(self, state):
        pass

    def append(self, item):
        pass

    def extend(self, items):
        pass

    def add(self, item):
        pass

    def __setitem__(self, key, value):
        pass


def dotted(s):
    return bool(s) and all(p.isidentifier() for p in s.split("."))


def attribute_lookup(seen):
    """builtins.getattr, recording what it reaches: getattr(<imported class>, 'name') is the
    import of module.Class.name (recorded as such); any other call is marked 'getattr()'."""

    def lookup(*args):
        if len(args) == 2 and isinstance(args[0], type) and "_mg" in vars(args[0]) and isinstance(args[1], str):
            module, name = args[0]._mg
            reached = (module, f"{name}.{args[1]}")
            seen.append(list(reached))
            return type("Stub", (Stub,), {"_mg": reached})
        seen.append(["builtins", "getattr()"])
        return Stub()

    return lookup


def recorder(base):
    class Hooked(base):
        def __init__(self, f, seen):
            super().__init__(f)
            self.seen = seen

        def find_class(self, module, name):
            self.seen.append([module, name])
            if not dotted(module):
                raise ModuleNotFoundError(module)
            if not dotted(name):
                raise AttributeError(name)
            if module in ("builtins", "__builtin__") and name == "getattr":
                return attribute_lookup(self.seen)
            return type("Stub", (Stub,), {"_mg": (module, name)})

        def persistent_load(self, pid):
            return Stub()

    return Hooked


C = recorder(pickle.Unpickler)
PY = recorder(pickle._Unpickler)


class PeekAll(io.RawIOBase):
    """A file whose peek() returns every byte left, so the C unpickler reads linearly."""

    def __init__(self, data):
        self.b = io.BytesIO(data)
        self.data = data

    def read(self, n=-1):
        return self.b.read(n)

    def readline(self, n=-1):
        return self.b.readline(n)

    def peek(self, n=0):
        return self.data[self.b.tell():]


def run(cls, f):
    seen = []
    try:
        cls(f, seen).load()
        err = None
    except BaseException as e:  # noqa: BLE001 - every failure is data here
        if isinstance(e, KeyboardInterrupt):
            raise
        err = f"{type(e).__name__}: {e}"[:200]
    return {"imports": seen, "error": err}


def main():
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        out = {
            "loads": run(C, PeekAll(data)),
            "peek": run(C, io.BufferedReader(io.BytesIO(data))),
            "nopeek": run(C, io.BytesIO(data)),
            "python": run(PY, io.BytesIO(data)),
        }
        print(json.dumps({"path": path, "paths": out}), flush=True)


if __name__ == "__main__":
    main()
