#!/usr/bin/env bash
# The real-Dify files suite (issue 13): brings up a real Dify 1.13.2 API server on loopback with the
# shared start.sh (into the git-ignored .real-dify/, PORT 5013 unless set; reused when it already
# answers, else started and stopped at the end), imports file-input-app.yml, and runs test/real-dify-files.
# Env: DIFY_SHARED (folder of start.sh, create-app.mjs, file-input-app.yml; default ../shared/dify beside
# the repository, else /work/shared/dify), PORT (5013).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-5013}
SHARED=${DIFY_SHARED:-$(readlink -f ../shared/dify 2>/dev/null || true)}
[ -f "$SHARED/start.sh" ] || SHARED=/work/shared/dify
if ! curl -sf "http://127.0.0.1:$PORT/console/api/setup" >/dev/null; then
  # Started here, stopped here (by its pid files; postgres and redis are left to whoever shares them).
  trap 'kill $(cat .real-dify/run/gunicorn.pid .real-dify/run/celery.pid 2>/dev/null) 2>/dev/null || true' EXIT
  PORT=$PORT bash "$SHARED/start.sh" .real-dify
fi
line=$(DSL_FILE="$SHARED/file-input-app.yml" node "$SHARED/create-app.mjs" "http://127.0.0.1:$PORT" | tail -n 1)
BASE_URL=$(sed -n 's/.*BASE_URL=\([^ ]*\).*/\1/p' <<<"$line")
APP_KEY=$(sed -n 's/.*APP_KEY=\([^ ]*\).*/\1/p' <<<"$line")
[ -n "$APP_KEY" ] || { echo "could not create the file-input app: $line" >&2; exit 1; }
npm run build
REAL_DIFY_BASE_URL=$BASE_URL REAL_DIFY_FILES_KEY=$APP_KEY npx vitest run --config vitest.real-dify-files.config.ts
