#!/usr/bin/env bash
# The Python SDK's checks (`npm run test:python`): mypy --strict, flake8, then pytest, whose
# end-to-end tests spawn the gateway from this repository's build (run `npm run build` first).
# Debian's interpreter on purpose: a python3 earlier on PATH (pyenv, say) cannot see Debian's
# python3-requests, -httpx, -aiohttp, -pytest and -mypy, which .ci/run installs.
set -euo pipefail
cd "$(dirname "$0")/../python"
PY="${SPHYR_PYTHON:-/usr/bin/python3}"
"$PY" --version
echo "mypy --strict:" >&2
"$PY" -m mypy --strict src tests ../bench/python_client.py
echo "flake8:" >&2
"$PY" -m flake8 src tests ../bench/python_client.py
# pytest exits 5 when it collects nothing; under `set -e` an empty suite fails the run.
"$PY" -m pytest -q "$@"
