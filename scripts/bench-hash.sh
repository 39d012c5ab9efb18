#!/usr/bin/env bash
# Hashing and signing throughput, side by side with the references, and the ratios.
#
#   scripts/bench-hash.sh [size-GiB]   (default 4)
#
# - SHA-256 over a directory of large files in page cache: modelgate (`scan --digest sha256`,
#   which also inspects every file) against `openssl dgst -sha256` run as one process per core.
# - BLAKE3 with modelgate (all cores, also within one file).
# - `modelgate sign key` against `model_signing sign key` (the real tool, from
#   tests/interop/requirements.txt) on the same model: whole process, same digests.
# Not a test: numbers vary by machine.
set -euo pipefail
cd "$(dirname "$0")/.."
GIB=${1:-4}
DIR=target/bench-hash
MODEL=$DIR/model
VENV=target/interop-venv
cargo build --release -q
MG=target/release/modelgate

if [ "$(find "$MODEL" -type f 2>/dev/null | wc -l)" -ne 8 ] || [ "$(du -sb "$MODEL" | cut -f1)" -ne $((GIB << 30)) ]; then
  rm -rf "$MODEL"; mkdir -p "$MODEL"
  per=$(( (GIB << 30) / 8 ))
  for i in 0 1 2 3 4 5 6 7; do
    head -c "$per" /dev/urandom > "$MODEL/shard-$i.bin"
  done
fi
if [ ! -x "$VENV/bin/model_signing" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r tests/interop/requirements.txt
  cp tests/interop/requirements.txt "$VENV/requirements.txt"
fi
cat "$MODEL"/* > /dev/null  # page cache

secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
cores=$(nproc)
bytes=$((GIB << 30))

t_openssl=$(secs sh -c "ls $MODEL/* | xargs -P $cores -n 1 openssl dgst -sha256")
t_mg_sha=$(secs "$MG" scan --no-progress --digest sha256 --format json -o /dev/null "$MODEL")
t_mg_b3=$(secs "$MG" scan --no-progress --digest blake3 --format json -o /dev/null "$MODEL")
t_ms_sign=$(secs "$VENV/bin/model_signing" sign key "$MODEL" --private_key testdata/keys/p256.key --signature "$DIR/ms.sig")
t_mg_sign=$(secs "$MG" sign key "$MODEL" --private-key testdata/keys/p256.key --signature "$DIR/mg.sig")

small=$DIR/small; rm -rf "$small"; mkdir -p "$small"; cp -r testdata/interop/oms/toy-model/. "$small"/
t_ms_small=$(secs "$VENV/bin/model_signing" sign key "$small" --private_key testdata/keys/p256.key --signature "$DIR/ms-small.sig")
t_mg_small=$(secs "$MG" sign key "$small" --private-key testdata/keys/p256.key --signature "$DIR/mg-small.sig")

gbps() { echo "scale=2; $bytes / $1 / 1000000000" | bc -l; }
echo "data: $GIB GiB in 8 files, page cache, $cores cores"
printf "%-44s %7.2f s  %s GB/s\n" "openssl dgst -sha256, one process per core" "$t_openssl" "$(gbps "$t_openssl")"
printf "%-44s %7.2f s  %s GB/s\n" "modelgate scan --digest sha256" "$t_mg_sha" "$(gbps "$t_mg_sha")"
printf "%-44s %7.2f s  %s GB/s\n" "modelgate scan --digest blake3" "$t_mg_b3" "$(gbps "$t_mg_b3")"
printf "%-44s %7.2f s\n" "model_signing sign key (sha256)" "$t_ms_sign"
printf "%-44s %7.2f s\n" "modelgate sign key (sha256)" "$t_mg_sign"
printf "%-44s %7.2f s\n" "model_signing sign key, 9-file toy model" "$t_ms_small"
printf "%-44s %7.2f s\n" "modelgate sign key, 9-file toy model" "$t_mg_small"
echo
echo "modelgate SHA-256 / openssl:       $(echo "scale=0; 100 * $t_openssl / $t_mg_sha" | bc -l)% of openssl's throughput"
echo "model_signing / modelgate sign:    $(echo "scale=2; $t_ms_sign / $t_mg_sign" | bc -l)x"
echo "model_signing / modelgate (toy):   $(echo "scale=1; $t_ms_small / $t_mg_small" | bc -l)x"
root_of() { python3 -c "import json,base64,sys; b=json.load(open(sys.argv[1])); print(json.loads(base64.b64decode(b['dsseEnvelope']['payload']))['subject'][0]['digest']['sha256'])" "$1"; }
if [ "$(root_of "$DIR/ms.sig")" = "$(root_of "$DIR/mg.sig")" ]; then echo "same root digest from both signers"; else echo "ROOT DIGESTS DIFFER"; exit 1; fi
