#!/usr/bin/env bash
# Times modelgate against picklescan and modelscan, side by side, and prints the ratios.
#
#   scripts/bench-peers.sh [corpus-dir]
#
# Installs the peers from PyPI into target/bench-venv, generates (once) a corpus of 200
# pickles of ~2.3 MB (dicts of lists of floats/ints/strs, protocols 2 and 4) and one 2 GiB
# PyTorch-zip checkpoint (written without torch: same layout, stored members), then runs each
# tool on each and reports wall time and peak RSS (GNU time). On one core (taskset -c 0 where
# there is taskset) it also times `modelgate scan -j 1` against CPython's own C `pickle.load`
# of the same pickles: analysing a pickle should cost less than running it.
# Not a test: numbers vary by machine (and with whatever else it runs).
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-target/bench-corpus}
VENV=target/bench-venv
PICKLESCAN_VERSION=1.0.5
MODELSCAN_VERSION=0.8.8

command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "picklescan==$PICKLESCAN_VERSION" "modelscan==$MODELSCAN_VERSION"
fi
cargo build --release -q

"$VENV/bin/python" - "$CORPUS" <<'PY'
import io, os, pickle, random, struct, sys, types, zipfile
out = sys.argv[1]
pk = os.path.join(out, "pickles")
os.makedirs(pk, exist_ok=True)
if len(os.listdir(pk)) < 200:
    rnd = random.Random(0)
    for i in range(200):
        d = {}
        for k in range(60):
            kind = k % 3
            if kind == 0:
                d[f"col{k}"] = [rnd.random() for _ in range(4000)]
            elif kind == 1:
                d[f"col{k}"] = [rnd.randrange(1 << 30) for _ in range(4000)]
            else:
                d[f"col{k}"] = [f"value-{rnd.randrange(1 << 20)}" for _ in range(4000)]
        with open(os.path.join(pk, f"p{i:03d}.pkl"), "wb") as f:
            pickle.dump(d, f, protocol=2 if i % 2 else 4)
ckpt = os.path.join(out, "checkpoint", "pytorch_model.bin")
if not os.path.exists(ckpt):
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    # A fake torch namespace so that pickle writes the same globals torch.save writes.
    torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
    class FloatStorage: pass
    FloatStorage.__module__ = "torch"; torch.FloatStorage = FloatStorage
    def _rebuild_tensor_v2(*a): pass
    _rebuild_tensor_v2.__module__ = "torch._utils"; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
    import collections
    n_tensors, per = 64, (2 << 30) // 64
    class T:
        def __init__(self, key): self.key = key
        def __reduce__(self):
            return (_rebuild_tensor_v2, (Storage(self.key), 0, (per // 4,), (1,), False, collections.OrderedDict()))
    class Storage:
        def __init__(self, key): self.key = key
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", FloatStorage, str(obj.key), "cpu", per // 4)
            return None
    sd = collections.OrderedDict((f"layer{i}.weight", T(i)) for i in range(n_tensors))
    b = io.BytesIO(); P(b, protocol=2).dump(sd)
    with zipfile.ZipFile(ckpt, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr("archive/data.pkl", b.getvalue())
        z.writestr("archive/byteorder", "little")
        chunk = os.urandom(1 << 20)
        for i in range(n_tensors):
            with z.open(f"archive/data/{i}", "w", force_zip64=True) as w:
                for _ in range(per >> 20):
                    w.write(chunk)
        z.writestr("archive/version", "3\n")
PY

measure() { # label, command...: prints "label seconds peak_rss_mib"
  local label=$1; shift
  local t; t=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$t" "$@" >/dev/null 2>&1 || true
  read -r secs kb < "$t"; rm -f "$t"
  printf "%-34s %9.2f s %9.1f MiB\n" "$label" "$secs" "$(echo "$kb / 1024" | bc -l)"
  echo "$secs" > "target/bench-$label.secs"
}

MG=target/release/modelgate
echo "corpus: 200 pickles in $CORPUS/pickles ($(du -sh "$CORPUS/pickles" | cut -f1)), checkpoint $(du -sh "$CORPUS/checkpoint" | cut -f1)"
sync
cat "$CORPUS"/pickles/* "$CORPUS"/checkpoint/* > /dev/null  # warm the page cache for everyone
measure modelgate-pickles   "$MG" scan --no-progress "$CORPUS/pickles"
measure picklescan-pickles  "$VENV/bin/picklescan" -p "$CORPUS/pickles"
measure modelscan-pickles   "$VENV/bin/modelscan" -p "$CORPUS/pickles"
PIN=(); command -v taskset >/dev/null && PIN=(taskset -c 0)
measure modelgate-pickles-1core "${PIN[@]}" "$MG" scan -j 1 --no-progress "$CORPUS/pickles"
measure pickle.load-1core "${PIN[@]}" "$VENV/bin/python" -c '
import os, pickle, sys
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    with open(os.path.join(d, f), "rb") as fh:
        pickle.load(fh)
' "$CORPUS/pickles"
measure modelgate-ckpt      "$MG" scan --no-progress "$CORPUS/checkpoint"
measure picklescan-ckpt     "$VENV/bin/picklescan" -p "$CORPUS/checkpoint"
measure modelscan-ckpt      "$VENV/bin/modelscan" -p "$CORPUS/checkpoint"

ratio() { # "n/a" when the denominator rounds to 0.00 s (GNU time's resolution)
  local d; d=$(cat "target/bench-$2.secs")
  if [ "$(echo "$d > 0" | bc -l)" = 1 ]; then echo "scale=1; $(cat "target/bench-$1.secs") / $d" | bc -l; else echo "n/a (under 0.01 s) "; fi
}
echo
MB=$(du -sm "$CORPUS/pickles" | cut -f1)
echo "picklescan / modelgate, 200 pickles: $(ratio picklescan-pickles modelgate-pickles)x"
echo "pickle.load / modelgate -j 1, one core: $(ratio pickle.load-1core modelgate-pickles-1core)x ($(echo "scale=0; $MB / $(cat target/bench-modelgate-pickles-1core.secs)" | bc -l) MB/s vs $(echo "scale=0; $MB / $(cat target/bench-pickle.load-1core.secs)" | bc -l) MB/s)"
echo "modelscan  / modelgate, 200 pickles: $(ratio modelscan-pickles modelgate-pickles)x"
echo "picklescan / modelgate, 2 GiB ckpt:  $(ratio picklescan-ckpt modelgate-ckpt)x"
echo "modelscan  / modelgate, 2 GiB ckpt:  $(ratio modelscan-ckpt modelgate-ckpt)x"
