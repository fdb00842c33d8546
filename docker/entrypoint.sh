#!/bin/sh
# One image, one role per container:
#   web       gunicorn 'webui.wsgi:app' on :8000 (WEB_WORKERS processes)
#   worker    dramatiq workers (WORKER_PROCESSES x WORKER_THREADS); on SIGTERM they finish
#             running jobs for up to WORKER_SHUTDOWN_TIMEOUT_MS, then requeue and exit
#   sweeper   periodiq: sends the timer sweep and the deadline job every minute
#   migrate   bring the schema to head, deploy workflows/ (new versions only), seed the
#             demo users when DEMO=1, then exit
#   healthcheck  exit 0 when /healthz answers 200 (used by the compose health checks)
set -eu
role="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$role" in
  web)
    exec gunicorn 'webui.wsgi:app' --bind "0.0.0.0:${PORT:-8000}" --workers "${WEB_WORKERS:-4}" \
      --access-logfile - --graceful-timeout 30 --no-control-socket "$@" ;;
  worker)
    exec dramatiq tasks.worker --processes "${WORKER_PROCESSES:-2}" --threads "${WORKER_THREADS:-4}" \
      --worker-shutdown-timeout "${WORKER_SHUTDOWN_TIMEOUT_MS:-30000}" "$@" ;;
  sweeper)
    exec periodiq tasks.worker "$@" ;;
  migrate)
    python -m webui.cli migrate
    python -m webui.cli deploy
    case "${DEMO:-0}" in 1|true|yes|on) exec python -m webui.cli seed-demo ;; esac ;;
  healthcheck)
    exec python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:${PORT:-8000}/healthz', timeout=3).status == 200 else 1)" ;;
  *)
    exec "$role" "$@" ;;
esac
