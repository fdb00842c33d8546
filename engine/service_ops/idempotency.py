"""Requests sent with an ``Idempotency-Key``: the same key from the same user within
``KEPT_FOR`` gets the first answer again instead of a second change.

There are two ways to keep the promise; webui.idempotency says which views use which.

**In the change's own transaction** (the use case knows keys). A use case that honours
keys does, in its own transaction::

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

**A claim first, the answer after** (any other use case). :func:`claim` commits the key's
row before the request runs, with a random token; :func:`mark_applied` — called from inside
the change's own transaction, just before it commits — stamps ``applied_at`` only while the
row still carries that token (else the change is refused: someone took the key over), so
"the change was made" commits with the change or not at all; :func:`store_answer` keeps the
answer afterwards. A repeat finds the answer (sent again), or ``applied_at`` without an
answer (the change was made, its answer was lost: the web layer says so with a 202), or a
claim younger than ``CLAIM_STALE`` (the first request still runs: 409), or an older claim
that never applied (its request died before changing anything: taken over, so the repeat
runs). :func:`release` drops a claim whose request changed nothing, so it may be sent again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from engine import clock
from engine.errors import BadRequest, Conflict, Invalid
from engine.models.ops import IdempotencyKey

KEPT_FOR = dt.timedelta(hours=24)
CLAIM_STALE = dt.timedelta(seconds=60)  # longer than any request may run (gunicorn's timeout is 30 s)
KEY_MAX = 200
HEADER = "Idempotency-Key"
FORGET_BATCH = 5000


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


# -- a claim first, the answer after ------------------------------------------------------------
@dataclass(frozen=True)
class HeldClaim:
    """The key of a request that runs now, held by this request (``token``)."""
    id: int
    token: str


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: str  # the answer's body as sent (JSON text, or empty)


@dataclass(frozen=True)
class ClaimOutcome:
    """Exactly one is set, or ``applied`` alone: the change was made, its answer is lost."""
    claim: HeldClaim | None = None
    answer: StoredAnswer | None = None
    applied: bool = False


def claim(uow, request: KeyedRequest) -> ClaimOutcome:
    """Hold ``request``'s key for the request about to run, or say what became of the
    first request with it (see the module docstring). ``Invalid`` when the key was used for
    a different request; ``Conflict`` while the first request still runs. Commits."""
    session = uow.session
    now = clock.now()
    for _ in range(2):  # a second pass only when a concurrent request inserted the key first
        row = _key_row(session, request)
        if row is not None and row.created_at < now - KEPT_FOR:
            session.delete(row)  # an expired use of the key: it may be used again
            uow.flush()
            row = None
        if row is None:
            row = IdempotencyKey(user_id=request.user_id, operation=request.operation, key=request.key,
                                 fingerprint=request.fingerprint, status_code=0, response_json="", created_at=now,
                                 claim_token=secrets.token_hex(16), claimed_at=now)
            session.add(row)
            try:
                uow.flush()
            except Conflict:  # the same key, inserted by a request running at the same moment
                continue
            uow.commit()
            return ClaimOutcome(claim=HeldClaim(row.id, row.claim_token or ""))
        if row.fingerprint != request.fingerprint:
            raise Invalid(f"this {HEADER} was already used for a different request; send a new key for a new "
                          "request", errors={HEADER: ["already used with a different body"]})
        if row.status_code:
            return ClaimOutcome(answer=StoredAnswer(row.status_code, row.response_json))
        if row.applied_at is not None:
            return ClaimOutcome(applied=True)
        if row.claimed_at is not None and row.claimed_at > now - CLAIM_STALE:
            raise Conflict(f"a request with this {HEADER} is still being carried out; send it again in a few "
                           "seconds to get its answer")
        token = secrets.token_hex(16)  # its request died before changing anything: take the key over
        taken = session.execute(update(IdempotencyKey).where(
            IdempotencyKey.id == row.id, IdempotencyKey.claim_token == row.claim_token,
            IdempotencyKey.applied_at.is_(None), IdempotencyKey.status_code == 0)
            .values(claim_token=token, claimed_at=now).execution_options(synchronize_session=False)).rowcount
        if taken:
            uow.commit()
            return ClaimOutcome(claim=HeldClaim(row.id, token))
        session.expire_all()
    raise Conflict(f"another request with this {HEADER} is starting; send it again in a moment")


def _key_row(session, request: KeyedRequest) -> IdempotencyKey | None:
    return session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.user_id == request.user_id, IdempotencyKey.operation == request.operation,
        IdempotencyKey.key == request.key))


def mark_applied(session, held: HeldClaim) -> None:
    """"The change was made", in the change's own transaction (a building block, called as it
    commits). ``Conflict`` — and so no commit — when another request took the key over."""
    stamped = session.execute(update(IdempotencyKey).where(
        IdempotencyKey.id == held.id, IdempotencyKey.claim_token == held.token)
        .values(applied_at=clock.now()).execution_options(synchronize_session=False)).rowcount
    if not stamped:
        raise Conflict(f"another request with this {HEADER} took it over; nothing was changed")


def was_applied(session, held: HeldClaim) -> bool:
    """Whether the change of the request holding ``held`` committed (read afresh)."""
    return session.scalar(select(IdempotencyKey.applied_at).where(
        IdempotencyKey.id == held.id, IdempotencyKey.claim_token == held.token)) is not None


def store_answer(uow, held: HeldClaim, answer: StoredAnswer) -> None:
    """Keep the answer of the request holding ``held``, for its repeats. Commits."""
    uow.session.execute(update(IdempotencyKey).where(
        IdempotencyKey.id == held.id, IdempotencyKey.claim_token == held.token)
        .values(status_code=answer.status_code, response_json=answer.body)
        .execution_options(synchronize_session=False))
    uow.commit()


def release(uow, held: HeldClaim) -> None:
    """The request holding ``held`` changed nothing: drop the claim, so that the same key
    may be sent again and run. Commits."""
    uow.session.execute(delete(IdempotencyKey).where(
        IdempotencyKey.id == held.id, IdempotencyKey.claim_token == held.token, IdempotencyKey.applied_at.is_(None))
        .execution_options(synchronize_session=False))
    uow.commit()


def answer_for(session, user_id: int, operation: str, key: str) -> StoredAnswer | None:
    """The answer a use case stored with its change under this key (within ``KEPT_FOR``), if any."""
    row = session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.operation == operation, IdempotencyKey.key == key,
        IdempotencyKey.created_at >= clock.now() - KEPT_FOR, IdempotencyKey.status_code != 0))
    return None if row is None else StoredAnswer(row.status_code, row.response_json)


def forget_expired(uow) -> int:
    """Delete keys older than ``KEPT_FOR`` (their answers may hold case data); returns how
    many (at most ``FORGET_BATCH`` at a time). Commits."""
    old = select(IdempotencyKey.id).where(IdempotencyKey.created_at < clock.now() - KEPT_FOR).limit(FORGET_BATCH)
    ids = list(uow.session.scalars(old))
    if ids:
        uow.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids))
                            .execution_options(synchronize_session=False))
    uow.commit()
    return len(ids)
