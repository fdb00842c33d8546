"""Errors a user can cause. Adapters map them to HTTP statuses / incidents.

Each carries a machine-readable ``code``, a human ``message`` and optional per-field
``errors`` ({field: [message, ...]}).
"""
from __future__ import annotations

from collections.abc import Sequence


def message(template: str, **values: object) -> str:
    """A message with values in it (``message("no case %(code)s", code=code)``) for the packages that
    do not mark texts themselves: its template is marked in ``engine.service_ops.error_texts``, where
    the message is matched when shown in the reader's language."""
    return template % values


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, **details):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.details = details


class BadRequest(DomainError):
    code = "bad_request"
    status = 400


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Invalid(DomainError):
    """Well-formed input that breaks a rule (form data, a diagram, a business rule)."""
    code = "invalid"
    status = 422


class SpecInvalid(Invalid):
    """A BPMN/DMN file that does not validate. Names the file, element and line."""
    code = "invalid_model"
    problems: Sequence[object]  # every problem found (engine.bpmn.dmn_check.Problem), set by the spec parser

    def __init__(self, message: str, file: str | None = None, element_id: str | None = None,
                 line: int | None = None):
        where = {"file": file, "element_id": element_id, "line": line}
        errors = {file or "model": [_describe(message, element_id, line)]}
        super().__init__(message, errors=errors, **where)
        self.file, self.element_id, self.line = file, element_id, line


class ServiceUnavailable(DomainError):
    """The service cannot answer this now (the database is busy or out of reach): nothing
    was changed, and the same request may be sent again after ``retry_after`` seconds."""
    code = "unavailable"
    status = 503

    def __init__(self, message: str, retry_after: int = 2):
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class ScriptError(DomainError):
    """A diagram's script or expression failed or was refused by the sandbox."""
    code = "script_error"
    status = 422


def _describe(message: str, element_id: str | None, line: int | None) -> str:
    parts = [message]
    if element_id:
        parts.append(f"element {element_id}")
    if line:
        parts.append(f"line {line}")
    return " — ".join(parts)
