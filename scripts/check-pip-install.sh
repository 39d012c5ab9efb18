#!/usr/bin/env bash
# Checks that `pip install .` gives a working modelgate, as an ML engineer installs tools: a
# fresh venv, pip install of this checkout (a maturin wheel with the binary), then the
# installed command scans the shipped examples (exit 1: examples/malicious carries payloads).
#
#   scripts/check-pip-install.sh [VENV_DIR]      (default: target/pip-check-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-target/pip-check-venv}
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet .
"$venv/bin/modelgate" --version
set +e
"$venv/bin/modelgate" scan --no-policy --no-progress examples/clean examples/malicious > /dev/null
code=$?
set -e
if [ "$code" != 1 ]; then
    echo "check-pip-install: expected exit 1 on examples/malicious, got $code" >&2
    exit 1
fi
"$venv/bin/modelgate" scan --no-policy --no-progress examples/clean > /dev/null
echo "check-pip-install: pip install . gives a working modelgate ($venv/bin/modelgate)"
