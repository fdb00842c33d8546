"""Requests sent with an ``Idempotency-Key``: the same key from the same user within
``KEPT_FOR`` gets the first answer again instead of a second change.

A use case that honours keys does, in its own transaction::

    request = idempotency.keyed(user_id, "create_referral", key, body)   # None without a key
    answered = idempotency.reserve(uow, request)    # the stored answer of a repeat, else None
    if answered is not None:
        return ...the first answer...
    ...make the change...
    idempotency.remember(uow, request, 201, {...the answer...})
    uow.commit()

``reserve`` inserts the key's row first, so two requests with one key racing each other
meet at the unique constraint (user, operation, key): on PostgreSQL the second waits for
the first to commit, then fails to insert, rolls back and reads the first one's answer; the
key, the change and the answer commit together or not at all. A key sent again with a
different body is refused (422): it names another request. An empty key, or one longer than
``KEY_MAX`` characters, is malformed (400).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import delete, select

from engine import clock
from engine.errors import BadRequest, Conflict, Invalid
from engine.models.ops import IdempotencyKey

KEPT_FOR = dt.timedelta(hours=24)
KEY_MAX = 200
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class KeyedRequest:
    user_id: int
    operation: str
    key: str
    fingerprint: str  # sha256 of the request body, canonical JSON


def fingerprint(body: object) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def keyed(user_id: int, operation: str, key: str | None, body: object) -> KeyedRequest | None:
    """The request under its key, or None when it came without one. ``BadRequest`` for an
    empty key or one longer than ``KEY_MAX`` characters."""
    if key is None:
        return None
    if not key.strip() or len(key) > KEY_MAX:
        raise BadRequest(f"the {HEADER} header must be 1 to {KEY_MAX} characters",
                         errors={HEADER: [f"1 to {KEY_MAX} characters"]})
    return KeyedRequest(user_id, operation, key, fingerprint(body))


def recall(session, request: KeyedRequest) -> dict | None:
    """The answer stored for this key within ``KEPT_FOR``, or None. ``Invalid`` when the
    key was used for a different request."""
    row = session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.user_id == request.user_id, IdempotencyKey.operation == request.operation,
        IdempotencyKey.key == request.key, IdempotencyKey.created_at >= clock.now() - KEPT_FOR))
    if row is None or not row.response_json:
        return None
    if row.fingerprint != request.fingerprint:
        raise Invalid(f"this {HEADER} was already used for a different request; send a new key for a new request",
                      errors={HEADER: ["already used with a different body"]})
    return json.loads(row.response_json)


def reserve(uow, request: KeyedRequest | None) -> dict | None:
    """Hold the key for this transaction, or return the stored answer when the key has
    one (also when a concurrent request with the key committed first). A building block:
    call it before making the change; the calling use case commits."""
    if request is None:
        return None
    session = uow.session
    answered = recall(session, request)
    if answered is not None:
        return answered
    session.execute(delete(IdempotencyKey).where(  # an expired use of the key may be reused
        IdempotencyKey.user_id == request.user_id, IdempotencyKey.operation == request.operation,
        IdempotencyKey.key == request.key, IdempotencyKey.created_at < clock.now() - KEPT_FOR))
    session.add(IdempotencyKey(user_id=request.user_id, operation=request.operation, key=request.key,
                               fingerprint=request.fingerprint, status_code=0, response_json="",
                               created_at=clock.now()))
    try:
        uow.flush()
    except Conflict:  # a concurrent request with the same key committed first (the flush rolled back)
        answered = recall(session, request)
        if answered is None:
            raise
        return answered
    return None


def remember(uow, request: KeyedRequest | None, status_code: int, answer: dict) -> None:
    """Store the answer of a request whose key :func:`reserve` holds, in the same
    transaction as its change."""
    if request is None:
        return
    row = uow.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.user_id == request.user_id, IdempotencyKey.operation == request.operation,
        IdempotencyKey.key == request.key))
    if row is None:
        raise RuntimeError("remember() needs the key reserved in this transaction")
    row.status_code, row.response_json = status_code, json.dumps(answer, default=str, sort_keys=True)
