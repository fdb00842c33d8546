"""``@idempotent(operation)``: every state-changing API call accepts an ``Idempotency-Key``,
and once a change has committed no error can take its place.

Placed between the route and the argument decorators of a view::

    @blp.post(f"/<{TASK_ID}:task_id>/complete")
    @idempotent("complete_task")
    @blp.arguments(CompleteSchema)
    @blp.response(200, TaskSchema)
    def complete(body, task_id): ...

**Why two ways of keeping the answer** (engine.service_ops.idempotency). Best is to store
the answer in the change's own transaction, so the key, the change and the answer commit
together or not at all: that needs the use case to know keys, as ``create_referral`` does
(``@idempotent(..., stored_by_use_case=True)``: the view hands it the key). Every other
view builds its answer only after its use case has committed — often by reading again —
so its answer cannot be in that transaction. For those the key is claimed first (its own
short commit), "the change was made" is stamped *inside* the change's transaction (a
``before_commit`` hook on the request's sessions, fenced by the claim's token), and the
answer is stored in a second step. Whatever fails after that, a repeat never makes a second
change: it gets the stored answer, or — when the change committed but its answer was lost —
``202 {"applied": true, ...}``; a claim whose request changed nothing is released, so the
repeat runs.

**After the commit, nothing turns a success into an error.** For every decorated call,
key or not: once one of the request's transactions committed, a failure of what follows
(the database going away while the answer is read back) is answered ``202`` with
``"applied": true`` — the change was made, read it again to see it — instead of a 5xx that
would tell the client nothing happened. A failure before any commit stays what it was (a
lost connection: 503 with ``Retry-After``, see webui.errors), and then nothing was changed.
Sign-in, sign-out and password changes take no key (a bearer token must never be stored;
repeating them is harmless).
"""
from __future__ import annotations

import contextvars
import functools
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass

from flask import Response, request
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from engine.errors import DomainError, ServiceUnavailable
from engine.service_ops import idempotency
from tasks.outbox import BOOKKEEPING
from webui.auth import current_user_id
from webui.extensions import engine_ctx

log = logging.getLogger(__name__)

REPLAYED_HEADER = "Idempotent-Replayed"
APPLIED_STATUS = 202
APPLIED_MESSAGE = ("the change was made, but its answer could not be given; read the resource again to see it "
                   "(sending this request again with the same Idempotency-Key changes nothing)")


@dataclass
class _Call:
    """One decorated call in progress: its key's claim, and whether it committed yet."""
    claim: idempotency.HeldClaim | None
    committed: bool = False


_call: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("idempotent_call", default=None)


def _before_commit(session: Session) -> None:
    call = _call.get()
    if call is not None and call.claim is not None and not session.info.get(BOOKKEEPING):
        idempotency.mark_applied(session, call.claim)


def _after_commit(session: Session) -> None:
    call = _call.get()
    if call is not None and not session.info.get(BOOKKEEPING):
        call.committed = True


event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_commit", _after_commit)


def idempotent(operation: str, stored_by_use_case: bool = False):
    """Decorate a state-changing view (see the module docstring). ``operation`` names the
    keys' namespace; ``stored_by_use_case``: the view passes the key to a use case that
    stores the answer with its change (under the same ``operation``)."""
    def decorate(view):
        @functools.wraps(view)
        def call(*args, **kwargs):
            user_id = current_user_id()  # 401 first; signing in is no change of this call
            key = request.headers.get(idempotency.HEADER)
            keyed = None if key is None else idempotency.keyed(user_id, operation, key, _request_digest())
            held = None
            if keyed is not None and not stored_by_use_case:
                with engine_ctx().uow() as work:
                    outcome = idempotency.claim(work, keyed)
                if outcome.claim is None:
                    return _replay(outcome)
                held = outcome.claim
            state = _Call(held)
            try:
                response = _tracked(state, view, *args, **kwargs)
            except (SQLAlchemyError, OSError, ServiceUnavailable) as err:  # the database or network went away
                answered = _after_failure(state, err, user_id, operation, key, stored_by_use_case)
                if answered is None:
                    raise
                return answered
            except (DomainError, HTTPException) as err:
                _after_refusal(state, err)
                raise
            if held is not None:
                _keep(held, idempotency.StoredAnswer(response.status_code, response.get_data(as_text=True)))
            return response

        call.__dict__["idempotency_operation"] = operation  # tests/webui check that every such view has one
        return call
    return decorate


def _tracked(state: _Call, view, *args, **kwargs):
    """Run the view with its commits watched (and stamped, for a claimed key)."""
    token = _call.set(state)
    try:
        return view(*args, **kwargs)
    finally:
        _call.reset(token)


def _request_digest() -> dict:
    """What makes two requests "the same": the path (its ids), the query and the body — the
    body as a keyed hash, so that the stored fingerprint reveals nothing of what was sent."""
    secret = engine_ctx().settings.secret_key.encode()
    if request.mimetype == "application/json":
        canonical = json.dumps(request.get_json(silent=True), sort_keys=True, separators=(",", ":"), default=str)
        body = canonical.encode("utf-8", "surrogatepass")
    else:
        parts = sorted((name, f.filename or "", hashlib.sha256(f.read()).hexdigest()) for name, f in
                       request.files.items(multi=True))
        for _, upload in request.files.items(multi=True):
            upload.seek(0)
        body = json.dumps([parts, sorted(request.form.items(multi=True))]).encode("utf-8", "surrogatepass")
    return {"method": request.method, "path": request.path, "query": sorted(request.args.items(multi=True)),
            "body": hmac.new(secret, body, hashlib.sha256).hexdigest()}


def _replay(outcome: idempotency.ClaimOutcome) -> Response:
    if outcome.answer is not None:
        response = Response(outcome.answer.body, status=outcome.answer.status_code,
                            mimetype="application/json" if outcome.answer.body else None)
    else:
        response = _applied_response()
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _applied_response() -> Response:
    return Response(json.dumps({"applied": True, "message": APPLIED_MESSAGE}), status=APPLIED_STATUS,
                    mimetype="application/json")


def _after_refusal(state: _Call, err: DomainError | HTTPException) -> None:
    """A refusal (4xx, or a 503 before anything committed): kept as the answer when
    something committed on the way (a diagram failure recorded), else the key is released."""
    if state.claim is None:
        return
    if state.committed and isinstance(err, DomainError):
        body = {"error": err.code, "message": err.message, "errors": err.errors,
                **{k: v for k, v in err.details.items() if v is not None}}
        _keep(state.claim, idempotency.StoredAnswer(err.status, json.dumps(body, default=str)))
    elif not state.committed:
        _release(state.claim)


def _after_failure(state: _Call, err: Exception, user_id: int, operation: str, key: str | None,
                   stored_by_use_case: bool) -> Response | None:
    """An error escaped the view. The answer when a change committed before (or with) it;
    None — let the error be answered — when nothing was changed."""
    if stored_by_use_case and key is not None:
        stored = _stored_by_use_case(user_id, operation, key)  # the commit may have landed although it failed
        if stored is not None:
            log.warning("%s %s: %s after its change committed; answering what was stored", request.method,
                        request.path, type(err).__name__)
            return Response(stored.body, status=stored.status_code, mimetype="application/json")
    applied = state.committed or (state.claim is not None and _applied_after_all(state.claim))
    if not applied:
        if state.claim is not None:
            _release(state.claim)
        return None
    log.warning("%s %s: %s after its change committed; answering %d applied", request.method, request.path,
                f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}", APPLIED_STATUS)
    response = _applied_response()
    if state.claim is not None:
        _keep(state.claim, idempotency.StoredAnswer(response.status_code, response.get_data(as_text=True)))
    return response


def _applied_after_all(held: idempotency.HeldClaim) -> bool:
    """Whether a commit that failed on the way (the connection lost while committing) landed."""
    try:
        with engine_ctx().session_factory() as session:
            return idempotency.was_applied(session, held)
    except SQLAlchemyError:
        return False  # out of reach: the claim stays; a repeat will find out which it was


def _stored_by_use_case(user_id: int, operation: str, key: str) -> idempotency.StoredAnswer | None:
    try:
        with engine_ctx().session_factory() as session:
            return idempotency.answer_for(session, user_id, operation, key)
    except SQLAlchemyError:
        return None


def _keep(held: idempotency.HeldClaim, answer: idempotency.StoredAnswer) -> None:
    """Store the answer for repeats; a failure here loses only the answer, never the change."""
    try:
        with engine_ctx().uow() as work:
            idempotency.store_answer(work, held, answer)
    except (SQLAlchemyError, DomainError) as err:
        log.warning("the answer for an Idempotency-Key could not be kept (a repeat is told the change was made): "
                    "%s", err)


def _release(held: idempotency.HeldClaim) -> None:
    try:
        with engine_ctx().uow() as work:
            idempotency.release(work, held)
    except (SQLAlchemyError, DomainError) as err:
        log.warning("an Idempotency-Key claim could not be released (it lapses in %s): %s",
                    idempotency.CLAIM_STALE, err)
