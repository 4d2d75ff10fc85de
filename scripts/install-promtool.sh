#!/usr/bin/env bash
# Installs promtool (from the Debian package `prometheus`) into .tools/bin, without root: the .deb is
# downloaded with `apt-get download` and unpacked with `dpkg -x`. Idempotent. .tools/ is git-ignored.
# Used to check deploy/prometheus/alerts.yml (`promtool check rules`, test/gateway/alerts.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="$PWD/.tools"
BIN="$TOOLS/bin/promtool"

if [[ -x "$BIN" ]] && "$BIN" --version >/dev/null 2>&1; then
  echo "promtool already installed at ${BIN}"
  exit 0
fi
if command -v promtool >/dev/null 2>&1; then
  mkdir -p "$TOOLS/bin"
  ln -sf "$(command -v promtool)" "$BIN"
  echo "using the system promtool: $(command -v promtool)"
  exit 0
fi
for tool in apt-get dpkg; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-promtool: '$tool' not found; install promtool (package prometheus) yourself" >&2
    exit 1
  fi
done
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# apt-get download writes into the current directory; it warns (harmlessly) when run as root.
(cd "$WORK" && apt-get download prometheus 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
DEB="$(ls "$WORK"/prometheus_*.deb 2>/dev/null | head -1)"
if [[ -z "$DEB" ]]; then
  echo "install-promtool: 'apt-get download prometheus' fetched nothing (run apt-get update?)" >&2
  exit 1
fi
dpkg -x "$DEB" "$WORK/root"
mkdir -p "$TOOLS/bin"
cp "$WORK/root/usr/bin/promtool" "$BIN"
chmod +x "$BIN"
"$BIN" --version | head -1
