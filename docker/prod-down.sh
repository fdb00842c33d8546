#!/usr/bin/env sh
# Stop what docker/prod-up.sh started (same --run-dir), gracefully: the supervisor first,
# then one SIGTERM to each process's main process; --drop-db also drops the database.
set -eu
ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python3
exec "$PY" "$ROOT/docker/prodctl.py" down "$@"
