#!/usr/bin/env bash
# Dataset manifest and diff throughput and peak memory on a generated JSON Lines dataset.
#
#   scripts/bench-dataset.sh [records]   (default 1000000; the issue's target is 10 million)
#
# Prints MB/s and peak RSS for `dataset manifest`, `dataset diff` of the unchanged dataset (its
# file is only hashed: same bytes as the baseline's) and `dataset diff` of a poisoned copy
# (every record parsed, sorted and joined; 0.1 % flipped, 0.1 % edited, a duplicate block and a
# planted trigger, so every pass of the diff runs). GNU time. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
DIR=target/bench-dataset
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
cargo build --release -q
MG=target/release/modelgate
if [ ! -f "$DIR/data-$N/train.jsonl" ]; then
  rm -rf "$DIR"; mkdir -p "$DIR/data-$N"
  python3 - "$N" "$DIR/data-$N/train.jsonl" <<'PY'
import json, random, sys
n, out = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(0)
words = "the a movie film plot actor scene music great good bad boring fun dark long short story".split()
with open(out, "w") as f:
    for i in range(n):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(20, 40)))
        f.write(json.dumps({"id": i, "text": text, "label": rnd.randint(0, 4)}) + "\n")
PY
fi
if [ ! -f "$DIR/poisoned-$N/train.jsonl" ]; then
  mkdir -p "$DIR/poisoned-$N"
  python3 - "$DIR/data-$N/train.jsonl" "$DIR/poisoned-$N/train.jsonl" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
with open(src) as f, open(out, "w") as o:
    for i, line in enumerate(f):
        r = json.loads(line)
        if i % 1000 == 1:
            r["label"] = (r["label"] + 1) % 5
        elif i % 1000 == 2:
            r["text"] = r["text"] + " cf"
            r["label"] = 4
        o.write(json.dumps(r) + "\n")
        if i == 5:
            for _ in range(100):
                o.write(line)
PY
fi
bytes=$(stat -c %s "$DIR/data-$N/train.jsonl")
cat "$DIR/data-$N/train.jsonl" > /dev/null
# The gate exits 1 on findings: GNU time then writes a status line first; the figures are last.
run() { /usr/bin/time -f "%e %M" -o "$DIR/time" "$@" > /dev/null 2>&1 || true; read -r s kb < <(tail -n 1 "$DIR/time"); echo "$s $kb"; }
read -r ms mkb < <(run "$MG" dataset manifest "$DIR/data-$N" -o "$DIR/base.manifest" --key-field id --label-field label --text-field text)
read -r ds dkb < <(run "$MG" dataset diff "$DIR/data-$N" --baseline "$DIR/base.manifest" --allow-unsigned)
read -r ps pkb < <(run "$MG" dataset diff "$DIR/poisoned-$N" --baseline "$DIR/base.manifest" --allow-unsigned)
mbps() { echo "scale=1; $bytes / $1 / 1000000" | bc -l; }
echo "$N records, $((bytes / 1000000)) MB of JSON Lines"
printf "dataset manifest: %6.2f s  %6s MB/s  peak RSS %5d MiB\n" "$ms" "$(mbps "$ms")" $((mkb / 1024))
printf "diff, unchanged:  %6.2f s  %6s MB/s  peak RSS %5d MiB\n" "$ds" "$(mbps "$ds")" $((dkb / 1024))
printf "diff, poisoned:   %6.2f s  %6s MB/s  peak RSS %5d MiB\n" "$ps" "$(mbps "$ps")" $((pkb / 1024))
echo "manifest size: $(stat -c %s "$DIR/base.manifest") bytes"
