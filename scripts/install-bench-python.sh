#!/usr/bin/env bash
# Installs the benchmark's Python contender (bench/python) into the git-ignored bench/python/.venv:
# `python3 -m venv` + pip from PyPI, versions pinned in bench/python/requirements.txt. Idempotent. When it
# fails, `npm run bench` lists the Python contenders as skipped instead of failing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="bench/python/.venv"
REQUIREMENTS="bench/python/requirements.txt"
if ! command -v python3 >/dev/null 2>&1; then
  echo "install-bench-python: python3 not found on PATH" >&2
  exit 1
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
"$VENV/bin/python" -c 'import sys, httpx, tenacity; print("bench python", sys.version.split()[0], "httpx", httpx.__version__, "tenacity ok")'
