"""Branch coverage of a loader's own reading code, measured with coverage.py while an oracle runs.

An oracle script wraps its work in `measured(targets)`: `targets` maps a module (its file is what
is measured) to the qualified names of the reading functions judged (`fnmatch` patterns:
"_Unpickler.load_*", a class name takes the whole class). When MODELGATE_ORACLE_COVERAGE names a
file, the oracle runs under coverage.py with branch coverage, measuring only those modules'
files (`--include`, standard library included), and writes there, as JSON, the branches of each
judged function and which of them the inputs took:
    {"total": {"branches": N, "covered": M},
     "files": {path: {"functions": {qualname: {"branches", "covered", "missing": [[from, to]]}}}}}
Without the variable it does nothing (and needs no coverage.py).

MODELGATE_ORACLE_UNREACHABLE may hold a JSON list of [function, from line, to line, reason]:
branches no loader can take (a password only a caller passes, an option no loader sets). An
arc of that function whose source lines read so (stripped; an empty `to line` matches any)
is left out of the counts and listed under the function's "excluded" with the reason."""
import ast
import contextlib
import fnmatch
import json
import os
import tempfile


def _functions(path):
    """(qualname, first line, last line) of every function and class in the file."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    out = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                q = f"{prefix}{child.name}"
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                out.append((q, first, child.end_lineno))
                walk(child, q + ".")

    walk(tree, "")
    return out


def _judged(path, patterns):
    """Line ranges of the functions `patterns` name, innermost name first."""
    found = {}
    for q, a, b in _functions(path):
        if any(fnmatch.fnmatchcase(q, p) for p in patterns):
            found[q] = (a, b)
    # A class judged whole and a method of it judged by name: count the method under its name.
    return found


@contextlib.contextmanager
def measured(targets):
    out = os.environ.get("MODELGATE_ORACLE_COVERAGE")
    if not out:
        yield
        return
    import coverage

    files = {os.path.realpath(m.__file__): pats for m, pats in targets.items()}
    cov = coverage.Coverage(branch=True, data_file=None, include=list(files), config_file=False)
    cov.set_option("run:cover_pylib", True)
    cov.start()
    try:
        yield
    finally:
        cov.stop()
        with tempfile.TemporaryDirectory() as d:
            report = os.path.join(d, "coverage.json")
            cov.json_report(outfile=report, include=list(files))
            with open(report, encoding="utf-8") as f:
                data = json.load(f)
        by_file = {os.path.realpath(k): v for k, v in data["files"].items()}
        result = {"total": {"branches": 0, "covered": 0}, "files": {}}
        for path, pats in files.items():
            got = by_file.get(path, {"executed_branches": [], "missing_branches": []})
            executed = [tuple(a) for a in got["executed_branches"]]
            missing = [tuple(a) for a in got["missing_branches"]]
            ranges = _judged(path, pats)
            with open(path, encoding="utf-8") as f:
                src = f.read().splitlines()
            unreachable = json.loads(os.environ.get("MODELGATE_ORACLE_UNREACHABLE") or "[]")

            def text(line):
                return src[line - 1].strip() if 0 < line <= len(src) else ""

            def excluded(q, a):
                for fn, frm, to, why in unreachable:
                    if fn == q and text(a[0]) == frm and (not to or text(a[1]) == to):
                        return why
                return None

            # Each branch counts once, under the innermost judged function holding its line.
            def owner(line):
                best = None
                for q, (a, b) in ranges.items():
                    if a <= line <= b and (best is None or a >= ranges[best][0]):
                        best = q
                return best

            funcs = {q: {"branches": 0, "covered": 0, "missing": [], "excluded": []}
                     for q in ranges}
            for arcs, hit in ((executed, True), (missing, False)):
                for a in arcs:
                    q = owner(a[0])
                    if q is None:
                        continue
                    why = excluded(q, a)
                    if why is not None:
                        funcs[q]["excluded"].append([a[0], a[1], why])
                        continue
                    funcs[q]["branches"] += 1
                    if hit:
                        funcs[q]["covered"] += 1
                    else:
                        funcs[q]["missing"].append(list(a))
            for v in funcs.values():
                result["total"]["branches"] += v["branches"]
                result["total"]["covered"] += v["covered"]
            result["files"][path] = {"functions": funcs}
        with open(out, "w", encoding="utf-8") as f:
            json.dump(result, f)
