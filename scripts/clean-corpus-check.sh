#!/bin/sh
# Scan the clean corpus of scripts/clean-corpus.py with one or more modelgate binaries and print,
# per binary: files, files failing (any finding at error or above), and the failures grouped by
# cause (code + the message with paths, numbers and quoted names normalised), with the corpus
# section and an example file of each. Every file in the corpus is clean: the goal is 0.
#
#   scripts/clean-corpus-check.sh /tmp/corpus /tmp/corpus-bin/modelgate-before /tmp/corpus-bin/modelgate-new
#
# MODELGATE_CORPUS_LIST=1 also lists every failing file (path, code, message).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 CORPUS_DIR MODELGATE_BIN..." >&2; exit 2; }
dir=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for bin in "$@"; do
    i=$((i + 1))
    # Exit 1 is a failing verdict, not a failed run; 2 is.
    rc=0
    "$bin" scan "$dir" --no-policy --format json -o "$tmp/$i.json" 2>"$tmp/$i.err" || rc=$?
    if [ "$rc" -ge 2 ]; then
        echo "$bin: could not run (exit $rc)" >&2
        cat "$tmp/$i.err" >&2
        exit 2
    fi
done
python3 - "$dir" "$tmp" "$@" <<'EOF'
import json, os, re, sys
from collections import Counter, defaultdict

corpus, tmp, bins = sys.argv[1], sys.argv[2], sys.argv[3:]
RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
manifest = {}
mpath = os.path.join(corpus, "manifest.tsv")
if os.path.exists(mpath):
    with open(mpath) as f:
        next(f)
        for line in f:
            rel, source, version, _ = line.rstrip("\n").split("\t")
            manifest[rel] = (source, version)


def norm(msg):
    msg = re.sub(r"'[^']*'", "'…'", msg)
    msg = re.sub(r"/[^\s,;:]+", "PATH", msg)
    msg = re.sub(r"0x[0-9a-fA-F]+", "N", msg)
    msg = re.sub(r"\d+", "N", msg)
    return msg[:150]


def section(path):
    rel = os.path.relpath(path.split("!")[0].split("::")[0], corpus)
    parts = rel.split("/")
    if parts[0] == "random" or (len(parts) == 1 and "-" in rel[:6]):
        # random files by the magic they were given (NNNN-<kind>-<name>)
        kind = parts[-1].split("-")[1] if parts[-1][:4].isdigit() else "?"
        return rel, f"random/{kind}"
    return rel, "/".join(parts[:2])


summary = []
for i, b in enumerate(bins, 1):
    with open(os.path.join(tmp, f"{i}.json")) as f:
        r = json.load(f)
    files = r["summary"]["files"]
    failing = {}
    causes = defaultdict(set)
    examples = {}
    by_section = Counter()
    for fd in r["findings"]:
        if RANK.get(fd["severity"], 0) < 2:
            continue
        rel, sec = section(fd["path"])
        key = (fd["code"], norm(fd["message"]))
        causes[key].add(rel)
        examples.setdefault(key, (rel, fd["message"]))
        if rel not in failing:
            failing[rel] = []
            by_section[sec] += 1
        failing[rel].append((fd["code"], fd["message"]))
    summary.append((b, files, len(failing)))
    print(f"== {b}: {files} files, {len(failing)} failing")
    for sec, n in sorted(by_section.items()):
        print(f"   {n:6d}  {sec}")
    print("  by cause:")
    for (code, msg), rels in sorted(causes.items(), key=lambda kv: -len(kv[1])):
        secs = Counter(section(os.path.join(corpus, r_))[1] for r_ in rels)
        print(f"  {len(rels):6d}  {code}: {msg}")
        top = ", ".join(f"{k}: {v}" for k, v in secs.most_common(6))
        more = f", +{len(secs) - 6} more" if len(secs) > 6 else ""
        print(f"          in {top}{more}; e.g. {examples[(code, msg)][0]}")
        print(f"          {examples[(code, msg)][1][:300]}")
    if os.environ.get("MODELGATE_CORPUS_LIST"):
        for rel, fds in sorted(failing.items()):
            src = manifest.get(rel, ("?", "?"))
            for code, msg in fds:
                print(f"   FAIL {rel}\t[{src[0]} {src[1]}]\t{code}: {msg[:200]}")
print("== before/after")
for b, files, n in summary:
    print(f"  {n:6d} of {files} files failing  {b}")
EOF
