"""How every process of the service logs: one line per event on standard error, each
carrying the id of the request it belongs to (``engine.infra.request_ids``; ``-`` outside
a request or a job a request caused).

JSON lines in production (``APP_ENV=production``), for a log shipper to index, with the
fields ``time``, ``level``, ``logger``, ``message``, ``request_id`` and whatever a call
adds with ``extra=``; readable text embedded. ``LOG_FORMAT=json`` or ``LOG_FORMAT=text``
chooses either way; ``LOG_LEVEL`` (``INFO``) the threshold.
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from pythonjsonlogger.json import JsonFormatter

from engine.infra import request_ids

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message", "request_id")
JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


class RequestIdFilter(logging.Filter):
    """Gives every record the current request id (``-`` when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_ids.current() or "-"
        return True


class _ServiceHandler(logging.StreamHandler):
    """The handler :func:`configure` installs (so a second call replaces it, not doubles it)."""


def wants_json(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    chosen = (env.get("LOG_FORMAT") or "").strip().lower()
    if chosen in ("json", "text"):
        return chosen == "json"
    return (env.get("APP_ENV") or "").strip().lower() == "production"


def formatter(as_json: bool) -> logging.Formatter:
    if as_json:
        return JsonFormatter(list(JSON_FIELDS), rename_fields=JSON_NAMES, datefmt="%Y-%m-%dT%H:%M:%S%z")
    return logging.Formatter(TEXT_FORMAT)


def configure(env: Mapping[str, str] | None = None, stream=None) -> logging.Handler:
    """Set up the root logger for this process (web app, worker, CLI); returns its handler.

    A host that set up the root logger already keeps its handlers, which get this format
    (dramatiq's worker processes log through a pipe to their parent: a second handler would
    print every line twice); otherwise one handler on ``stream`` (standard error)."""
    env = os.environ if env is None else env
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ServiceHandler)]:
        root.removeHandler(old)
    hosts = [h for h in root.handlers if not isinstance(h, _ServiceHandler)] if stream is None else []
    handlers = hosts or [_ServiceHandler(stream or sys.stderr)]
    for handler in handlers:
        handler.setFormatter(formatter(wants_json(env)))
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
    if not hosts:
        root.addHandler(handlers[0])
    level = (env.get("LOG_LEVEL") or "INFO").strip().upper()
    root.setLevel(level if level in logging.getLevelNamesMapping() else logging.INFO)
    # SpiffWorkflow logs every task's change of state at INFO with the task's data, which is a
    # child's case: it stays out of the logs (and the time it costs out of every step) unless
    # someone debugging asks for it with LOG_LEVEL=DEBUG.
    # Its workflow and task loggers are set too: SpiffWorkflow reads their own level (not the
    # effective one) to decide whether each log call's details walk the whole task tree.
    spiff_level = logging.DEBUG if level == "DEBUG" else logging.WARNING
    for name in ("spiff", "spiff.workflow", "spiff.task"):
        logging.getLogger(name).setLevel(spiff_level)
    return handlers[0]
