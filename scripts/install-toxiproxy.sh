#!/usr/bin/env bash
# Installs the Toxiproxy server v2.12.0 (MIT) into .tools/bin for the fault-matrix tests (test/faults).
# Idempotent: an existing binary is kept. .tools/ is git-ignored; the binary is never committed.
# `go install` names the binary after its package dir (`server`); we rename it toxiproxy-server.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="v2.12.0"
MODULE="github.com/Shopify/toxiproxy/v2"
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin/toxiproxy-server"

if [[ -x "$BIN" ]] && "$BIN" -version >/dev/null 2>&1; then
  echo "toxiproxy-server already installed at ${BIN}"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-toxiproxy: 'go' not found on PATH; install Go >= 1.23 and re-run" >&2
  exit 1
fi
mkdir -p "$TOOLS/bin"
echo "building toxiproxy ${VERSION} into ${TOOLS}/bin"
# Pinned: the module proxy's version list is stale, so @latest would resolve to an old v2.5.0.
GOBIN="$TOOLS/bin" go install "${MODULE}/cmd/server@${VERSION}"
mv "$TOOLS/bin/server" "$BIN"
"$BIN" -version
