"""``python -m webui``: the app served by waitress, a production-grade WSGI server (what
`make run` starts). Embedded by default: it migrates the SQLite file, deploys workflows/,
seeds the demo users and runs the task worker in this process. Ctrl-C (or SIGTERM) stops
the server, lets the requests in progress finish, then stops the worker.

``PORT`` (5000), ``HOST`` (127.0.0.1) and ``WEB_THREADS`` (8) come from the environment.
"""
from __future__ import annotations

import logging
import os
import signal
import sys

from waitress import create_server

from engine.infra import logs
from engine.infra.bootstrap import SchemaNotCurrent
from engine.infra.garbage_collection import tune_for_service
from webui.app import create_app

log = logging.getLogger(__name__)


def _stop_on_sigterm(_signum, _frame) -> None:
    raise KeyboardInterrupt  # waitress's loop ends on it as on Ctrl-C


def main() -> int:
    logs.configure()  # JSON lines in production (LOG_FORMAT), each naming its request
    port = int(os.environ.get("PORT", "5000"))
    host = os.environ.get("HOST", "127.0.0.1")
    threads = int(os.environ.get("WEB_THREADS", "8"))
    try:
        app = create_app()
    except SchemaNotCurrent as err:
        log.critical("not serving: %s", err)
        return 2
    tune_for_service(app.extensions["engine_ctx"].settings)  # booted: frozen out of the collector's passes
    server = create_server(app, host=host, port=port, threads=threads)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    log.info("serving on http://%s:%d (waitress, %d threads); Ctrl-C stops", host, port, threads)
    try:
        server.run()  # returns once Ctrl-C or SIGTERM ended the loop (waitress closes itself then)
    except KeyboardInterrupt:
        server.close()
    finally:
        log.info("stopping: the task worker finishes what it holds")
        app.extensions["task_queue"].stop()
        app.extensions["engine_ctx"].engine.dispose()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
