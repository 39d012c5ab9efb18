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
Standard library only; with MODELGATE_ORACLE_COVERAGE set (see loader_coverage.py), the run is
measured with coverage.py: the branches of pickle.py's reading code (the pure-Python
_Unpickler's load and load_* methods, the helpers they call, and _Unframer) its inputs took.
Not judged: find_class and persistent_load (the hooks replace them), __init__ and
_decode_string (options, not bytes: its other branch is encoding="bytes"), and get_extension (its cache and registered-code branches need a copyreg extension
registry, which is empty unless the loading program registers codes itself).
"""
import io
import json
import pickle
import resource
import sys
import warnings

from loader_coverage import measured

# Hostile lengths make the unpickler allocate what the stream claims: cap the address space.
try:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
except (ValueError, OSError):
    pass
sys.setrecursionlimit(10000)
# STRING escapes like '\q' warn; the warnings are noise here.
warnings.simplefilter("ignore")


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


class PlainStub:
    """A class as many real ones are: no __setstate__ (BUILD sets its __dict__, and a slot
    state's attributes) and no extend (APPENDS falls back to append). find_class returns one
    for names holding "Plain", so that the readers' fallback branches are reached too."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return PlainStub()

    def append(self, item):
        pass

    def add(self, item):
        pass


def dotted(s):
    return bool(s) and all(p.isidentifier() for p in s.split("."))


def attribute_lookup(seen):
    """builtins.getattr, recording what it reaches: getattr(<imported class>, 'name') is the
    import of module.Class.name (recorded as such); any other call is marked 'getattr()'."""

    def lookup(*args):
        # As the real getattr: any other arity raises before anything is looked up.
        if len(args) not in (2, 3):
            raise TypeError(f"getattr expected 2 or 3 arguments, got {len(args)}")
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
        def __init__(self, f, seen, magic):
            super().__init__(f)
            self.seen = seen
            self.magic = magic

        def find_class(self, module, name):
            self.seen.append([module, name])
            if not dotted(module):
                raise ModuleNotFoundError(module)
            if not dotted(name):
                raise AttributeError(name)
            if module in ("builtins", "__builtin__") and name == "getattr":
                return attribute_lookup(self.seen)
            base = PlainStub if "Plain" in name else Stub
            return type("Stub", (base,), {"_mg": (module, name)})

        def persistent_load(self, pid):
            # Bytes without pickle magic at a file's start are unpickled only by loaders
            # without a persistent_load (pickle.load, joblib, numpy's and pandas' fallbacks,
            # torch's legacy magic number): there a persistent id raises, as here. With the
            # magic, torch's readers have one: a stub.
            if not self.magic:
                raise pickle.UnpicklingError("A load persistent id instruction was encountered, "
                                             "but no persistent_load function was specified.")
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


def run(cls, f, magic):
    seen = []
    try:
        cls(f, seen, magic).load()
        err = None
    except BaseException as e:  # noqa: BLE001 - every failure is data here
        if isinstance(e, KeyboardInterrupt):
            raise
        err = f"{type(e).__name__}: {e}"[:200]
    return {"imports": seen, "error": err}


# The pure-Python reader's parsing code, judged by branch coverage (see the docstring).
JUDGED = {pickle: ["_Unframer", "_Unpickler.load", "_Unpickler.load_*", "_Unpickler.pop_mark",
                   "_Unpickler._instantiate"]}


def main():
    with measured(JUDGED):
        answer()


def answer():
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        magic = data[:1] == b"\x80"
        out = {
            "loads": run(C, PeekAll(data), magic),
            "peek": run(C, io.BufferedReader(io.BytesIO(data)), magic),
            "nopeek": run(C, io.BytesIO(data), magic),
            "python": run(PY, io.BytesIO(data), magic),
        }
        print(json.dumps({"path": path, "paths": out}), flush=True)


if __name__ == "__main__":
    main()
