#!/usr/bin/env bash
# The bomb table: each bomb of scripts/gen-bombs.py met by one or more modelgate binaries, with
# wall time, peak RSS and outcome, side by side (issue 13's before/after).
#
#   scripts/bomb-table.sh BOMBDIR LABEL=BINARY [LABEL=BINARY ...]
#
# Each run has an address-space cap (MEMORY_GB, default 8) so that a bomb that would take the
# machine's memory is stopped by the kernel, and a wall-clock bound (SECONDS_CAP, default 120).
# Outcome: the exit code (0 pass, 1 findings), "abort" (a signal: stack overflow, allocation
# failure), "timeout", plus the codes that matter (limit-exceeded, the bomb's own).
set -u
dir=${1:?usage: bomb-table.sh BOMBDIR LABEL=BINARY ...}
shift
mem_kb=$(( ${MEMORY_GB:-8} * 1024 * 1024 ))
cap=${SECONDS_CAP:-120}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

printf '| bomb | what |'
for b in "$@"; do printf ' %s: wall s | peak RSS MB | outcome |' "${b%%=*}"; done
printf '\n|---|---|'
for _ in "$@"; do printf '%s' '---:|---:|---|'; done
printf '\n'

while IFS=$'\t' read -r name kind what extra; do
    printf '| %s | %s |' "$name" "$what"
    for b in "$@"; do
        bin=${b#*=}
        rm -f "$out/report" "$out/manifest.json"
        if [ "$kind" = scan ]; then
            # shellcheck disable=SC2206
            cmd=("$bin" scan --no-policy --no-progress --format json $extra "$dir/$name")
        else
            cmd=("$bin" dataset manifest "$dir/$name" -o "$out/manifest.json")
        fi
        /usr/bin/time -f '%e %M' -o "$out/time" \
            bash -c 'ulimit -v '"$mem_kb"'; exec timeout -s KILL '"$cap"' "$@"' _ "${cmd[@]}" \
            >"$out/report" 2>"$out/stderr"
        rc=$?
        read -r wall rss < <(tail -1 "$out/time")
        case $rc in
            0 | 1) outcome="exit $rc" ;;
            137) outcome=$([ "${wall%.*}" -ge "$cap" ] && echo timeout || echo "killed") ;;
            *) outcome="exit $rc" ;;
        esac
        [ $rc -ge 128 ] && [ $rc -ne 137 ] && outcome="abort (signal $((rc - 128)))"
        [ $rc = 134 ] && outcome="abort (SIGABRT)"
        codes=$(python3 - "$out/report" "$out/stderr" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    c = sorted({f["code"] for f in r.get("findings", [])} - {"pickle-unknown-import"})
    print(", ".join(c[:4]) + (" ..." if len(c) > 4 else ""))
except Exception:
    e = open(sys.argv[2], errors="replace").read().strip().splitlines()
    print(("stderr: " + e[-1][:90]) if e else "")
EOF
)
        [ -n "$codes" ] && outcome="$outcome; $codes"
        printf ' %s | %d | %s |' "$wall" "$((rss / 1024))" "$outcome"
    done
    printf '\n'
done <"$dir/bombs.tsv"
