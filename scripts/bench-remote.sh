#!/usr/bin/env bash
# What scanning remote inputs costs, measured on local servers (not a test: times vary).
#
#   scripts/bench-remote.sh [GiB]
#
# Starts moto's S3 (tests/servers/s3.py, counting every byte it serves) and the offline Hub
# (tests/servers/hub.py), puts a torch-zip checkpoint of GiB GiB (default 2; 64 stored members,
# written without torch as scripts/bench-peers.sh writes it) on both, and a bucket of 1,000 small
# objects (a pickle, a safetensors, a config.json per model, 333 models and one extra). Prints,
# for each: bytes served against bytes stored, requests per file and wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
GIB=${1:-2}
VENV=target/remote-venv
WORK=target/bench-remote
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r tests/servers/remote-requirements.txt
fi
cargo build --release -q
MG=$PWD/target/release/modelgate

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # name cmd... : waits for "PORT n" on stdout
  local name=$1; shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q '^PORT ' "$WORK/$name.out" 2>/dev/null && break
    sleep 0.2
  done
  awk '/^PORT /{print $2; exit}' "$WORK/$name.out"
}

# The checkpoint.
CK="$WORK/ckpt-$GIB/model/pytorch_model.bin"
if [ ! -f "$CK" ]; then
  mkdir -p "$(dirname "$CK")"; "$VENV/bin/python" tests/servers/torchzip.py "$CK" $((GIB * 1024)) 64
fi
SIZE=$(stat -c %s "$CK")

# S3.
S3PORT=$(start s3 "$VENV/bin/python" tests/servers/s3.py)
export AWS_ENDPOINT_URL=http://127.0.0.1:$S3PORT
"$VENV/bin/python" tests/servers/s3put.py "$AWS_ENDPOINT_URL" bench ckpt "$(dirname "$CK")" >/dev/null
curl -s -X POST "$AWS_ENDPOINT_URL/_stats/reset" >/dev/null
start_t=$(date +%s.%N)
"$MG" scan --no-policy --no-progress "s3://bench/ckpt" --format json="$WORK/s3-ckpt.json" >/dev/null || true
end_t=$(date +%s.%N)
S3STATS=$(curl -s "$AWS_ENDPOINT_URL/_stats")

# 1,000 small objects.
SMALL="$WORK/small"
if [ ! -d "$SMALL" ]; then
  "$VENV/bin/python" - "$SMALL" <<'PY'
import json, os, pickle, struct, sys
root = sys.argv[1]
hdr = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
st = struct.pack("<Q", len(hdr)) + hdr + bytes(16)
n = 0
for i in range(334):
    d = os.path.join(root, f"org/model-{i:03d}")
    os.makedirs(d, exist_ok=True)
    files = {"config.json": json.dumps({"model_type": "bert", "i": i}).encode(),
             "model.safetensors": st,
             "extra.pkl": pickle.dumps({"i": i, "w": [0.5] * 64}, protocol=4)}
    for name, data in files.items():
        if n == 1000:
            break
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        n += 1
PY
fi
"$VENV/bin/python" tests/servers/s3put.py "$AWS_ENDPOINT_URL" many "" "$SMALL" >/dev/null
curl -s -X POST "$AWS_ENDPOINT_URL/_stats/reset" >/dev/null
m_start=$(date +%s.%N)
"$MG" scan --no-policy --no-progress "s3://many" --format json="$WORK/s3-many.json" >/dev/null || true
m_end=$(date +%s.%N)
MANYSTATS=$(curl -s "$AWS_ENDPOINT_URL/_stats")

# The Hub.
HUBROOT="$WORK/hub"
mkdir -p "$HUBROOT/models/bench"
ln -sfn "$PWD/$(dirname "$CK")" "$HUBROOT/models/bench/ckpt"
HUBPORT=$(start hub python3 tests/servers/hub.py "$HUBROOT")
export HF_ENDPOINT=http://127.0.0.1:$HUBPORT HF_HUB_CACHE=$WORK/empty-cache
curl -s -X POST "$HF_ENDPOINT/_stats/reset" >/dev/null
h_start=$(date +%s.%N)
"$MG" scan --no-policy --no-progress "hf://bench/ckpt" --format json="$WORK/hf-ckpt.json" >/dev/null || true
h_end=$(date +%s.%N)
HUBSTATS=$(curl -s "$HF_ENDPOINT/_stats")

python3 - "$SIZE" "$S3STATS" "$MANYSTATS" "$HUBSTATS" "$start_t" "$end_t" "$m_start" "$m_end" "$h_start" "$h_end" "$WORK" <<'PY'
import json, sys
size = int(sys.argv[1])
s3, many, hub = (json.loads(x) for x in sys.argv[2:5])
t = [float(x) for x in sys.argv[5:11]]
work = sys.argv[11]
def files(p):
    return json.load(open(p))["files"]
ck = files(f"{work}/s3-ckpt.json")[0]
print(f"checkpoint: {size:,} bytes stored, format {ck.get('format')}, verdict {ck.get('verdict')}")
served = s3["total_bytes"]
print(f"  S3 (moto): {served:,} bytes served ({100*served/size:.4f} %), {s3['requests']} requests "
      f"(modelgate counted {ck['remote']['requests']} ranged GETs, {ck['remote']['bytes_fetched']:,} bytes), "
      f"{t[1]-t[0]:.1f} s")
h = files(f"{work}/hf-ckpt.json")[0]
print(f"  Hub: {hub['total_bytes']:,} bytes served ({100*hub['total_bytes']/size:.4f} %), "
      f"{sum(r['requests'] for r in hub['routes'].values())} requests "
      f"(modelgate counted {h['remote']['requests']} ranged GETs, {h['remote']['bytes_fetched']:,} bytes), {t[5]-t[4]:.1f} s")
m = files(f"{work}/s3-many.json")
stored = sum(f.get("size", 0) for f in m)
reqs = [f["remote"]["requests"] for f in m if "remote" in f]
print(f"1,000-object bucket: {len(m)} files, {stored:,} bytes stored, {many['total_bytes']:,} served, "
      f"{many['requests']} requests in all ({sum(reqs)/max(len(reqs),1):.2f} ranged GETs per file), {t[3]-t[2]:.1f} s")
PY
