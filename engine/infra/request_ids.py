"""The id of the request a piece of work belongs to, for the logs.

The web app binds one per request (``X-Request-Id`` when the caller sent a well-formed one,
else a new one); every job that request causes carries it (the outbox row's ``request_id``,
then the ``request_id`` message option), and the worker binds it again while it runs the
job — so one grep of the logs follows a referral from the request through every job it set
off. Plain Python (a context variable): the engine knows no web framework and no queue.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

MAX_LENGTH = 64
_WELL_FORMED = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_LENGTH - 1}}}")
_current: ContextVar[str | None] = ContextVar("casework_request_id", default=None)


def well_formed(value: str | None) -> bool:
    """Letters, digits and ``. _ : -``, 1 to 64 characters (nothing a log line could be
    forged with)."""
    return bool(value) and _WELL_FORMED.fullmatch(value or "") is not None


def new() -> str:
    return uuid.uuid4().hex


def current() -> str | None:
    return _current.get()


def bind(value: str | None) -> object:
    """Make ``value`` the current id; returns the token :func:`reset` takes."""
    return _current.set(value if well_formed(value) else None)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


@contextmanager
def bound(value: str | None) -> Iterator[None]:
    token = bind(value)
    try:
        yield
    finally:
        reset(token)
