#!/usr/bin/env bash
# Installs Benthos v4.60.0 (MIT) into .tools/bin for the benchmark head-to-head (bench/). Idempotent: a
# binary that already reports this version is kept. .tools/ is git-ignored; the binary is never committed.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="v4.60.0"
MODULE="github.com/redpanda-data/benthos/v4"
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin/benthos"

if [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -q "^Version: ${VERSION#v}$"; then
  echo "benthos ${VERSION} already installed at ${BIN}"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-benthos: 'go' not found on PATH; install Go >= 1.22 (https://go.dev/dl/) and re-run" >&2
  exit 1
fi
mkdir -p "$TOOLS/bin"
LDFLAGS="-X ${MODULE}/internal/cli.Version=${VERSION#v}"
echo "building benthos ${VERSION} into ${TOOLS}/bin (the first build compiles for several minutes)"

# The plain way. The module proxy needs the explicit version (peers.md take-away 5).
if GOBIN="$TOOLS/bin" go install -ldflags "$LDFLAGS" "${MODULE}/cmd/benthos@${VERSION}"; then
  "$BIN" --version
  exit 0
fi

# `go install pkg@version` also asks the proxy for the module's version list (deprecation check); some
# proxies refuse that list while serving the version itself. A pinned throwaway module avoids the lookup.
echo "go install failed; building from a pinned module in ${TOOLS}/benthos-build" >&2
BUILD="$TOOLS/benthos-build"
mkdir -p "$BUILD"
cat > "$BUILD/go.mod" <<MOD
module benthosbuild

go 1.22

require ${MODULE} ${VERSION}
MOD
cat > "$BUILD/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/redpanda-data/benthos/v4/cmd/benthos"
GO
(
  cd "$BUILD"
  go mod download "${MODULE}@${VERSION}"
  go mod tidy
  grep -q "${MODULE} ${VERSION}\$" go.mod || { echo "install-benthos: go mod tidy moved ${MODULE} off ${VERSION}" >&2; exit 1; }
  go build -trimpath -ldflags "$LDFLAGS" -o "$BIN" "${MODULE}/cmd/benthos"
)
"$BIN" --version
