"""Every error leaves as JSON in the CONTRACT shape (API) or as a page (browser)."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from engine.errors import DomainError

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
          422: "invalid", 429: "too_many_requests"}


def error_response(status: int, code: str, message: str, errors: dict | None = None, **extra):
    body = {"error": code, "message": message, "errors": errors or {}}
    body.update({k: v for k, v in extra.items() if v is not None})
    return jsonify(body), status


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


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        return error_response(err.status, err.code, err.message, err.errors, **err.details)

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
