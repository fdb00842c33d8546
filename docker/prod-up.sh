#!/usr/bin/env sh
# Start the production topology on this machine without Docker (PostgreSQL and Redis
# already running): create + migrate + deploy, then gunicorn, N dramatiq workers, the
# periodiq sweeper and the supervisor that restarts any of them that dies, in the background.
# Options and environment: docker/prodctl.py; what to rely on: docker/README.md.
#   docker/prod-up.sh [--port 8000] [--workers 2] [--run-dir instance/prod]
set -eu
ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python3
exec "$PY" "$ROOT/docker/prodctl.py" up "$@"
