"""Every error leaves as JSON in the CONTRACT shape (API) or as a page (browser).

A database that is busy (SQLite "database is locked") or out of reach (a lost connection,
an exhausted pool) is no fault of the request: it is answered 503 with ``Retry-After``,
after the unit of work rolled everything back, so sending it again later is safe.

A use case's message (and its fields' messages) is in English, as raised, unless the signed-in
user chose another language (``engine.process.stored_texts``).
"""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from engine.errors import DomainError, ServiceUnavailable
from engine.process.stored_texts import in_language

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
          422: "invalid", 429: "too_many_requests", 503: "unavailable"}
RETRY_AFTER_S = 2
DATABASE_BUSY = "the database is busy or out of reach right now; nothing was changed, try again in a moment"


def error_response(status: int, code: str, message: str, errors: dict | None = None, **extra):
    body = {"error": code, "message": message, "errors": errors or {}}
    body.update({k: v for k, v in extra.items() if v is not None})
    return jsonify(body), status


def is_database_unavailable(err: SQLAlchemyError) -> bool:
    """A busy or lost database (worth retrying), not a fault in the statement."""
    if isinstance(err, OperationalError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated


def unavailable_for(err: SQLAlchemyError) -> ServiceUnavailable:
    reason = str(getattr(err, "orig", None) or err).strip() or type(err).__name__
    log.warning("database unavailable on %s %s: %s", request.method, request.path, reason.splitlines()[0])
    return ServiceUnavailable(DATABASE_BUSY, retry_after=RETRY_AFTER_S)


def with_retry_after(response, err: DomainError):
    """A 503 tells the client when to come back (RFC 9110 §10.2.3)."""
    if isinstance(err, ServiceUnavailable):
        response.headers["Retry-After"] = str(err.retry_after)
    return response


def _flatten(messages) -> dict[str, list[str]]:
    """webargs nests by location ({"json": {"data": ["..."]}}); callers want fields."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "body", []).extend(value)
        else:
            flat.setdefault(prefix or "body", []).append(str(value))

    for location, fields in (messages or {}).items():
        walk("" if location in ("json", "form", "query", "files") else location, fields)
    return flat


def _readers_language() -> str | None:
    """The language the signed-in user chose (``users.locale``), else None: the JSON API's
    messages are English unless the user chose another language (as its tasks are)."""
    if "user_id" not in g:
        return None
    from webui.extensions import uow  # here: webui.extensions answers its own errors with this module's
    from webui.workflow_words import api_language
    try:
        with uow() as work:
            return api_language(work.session, g.user_id)
    except SQLAlchemyError:
        return None


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        language = None if isinstance(err, ServiceUnavailable) else _readers_language()
        message, errors = in_language(err.message, language), {
            field: [in_language(str(m), language) for m in messages] if isinstance(messages, list) else messages
            for field, messages in err.errors.items()}
        body, status = error_response(err.status, err.code, message, errors, **err.details)
        return with_retry_after(body, err), status

    @app.errorhandler(SQLAlchemyError)
    def database_error(err: SQLAlchemyError):
        if is_database_unavailable(err):
            return domain_error(unavailable_for(err))
        return unexpected(err)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        status = err.code or 500
        data = getattr(err, "data", None) or {}
        errors = _flatten(data.get("messages")) if isinstance(data, dict) else {}
        message = err.description if isinstance(err.description, str) else _CODES.get(status, "error")
        if status == 422 and errors:
            message = "the request has invalid fields"
        if status >= 500:
            log.error("HTTP %s on %s %s", status, request.method, request.path)
        return error_response(status, _CODES.get(status, "error"), message, errors)

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "something went wrong on our side; it has been logged")
