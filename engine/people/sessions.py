"""Signed-in sessions the server can end: an API bearer token or a browser sign-in.

The secret handed to the client (the bearer token, or the value kept in the browser's
signed session cookie) is random and never stored; only its sha256 is (``token_hash``),
so a copy of the database signs no one in. Every request looks its row up (one query),
so ending the row — signing out, a password change, deactivation, a lock — refuses the
secret from the next request on, and so does the account being deactivated.

``start`` and ``end_all`` are building blocks (they never commit); ``user_id_for``,
``web_user`` and ``sign_out`` are use cases the web layer calls, and commit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import bindparam, delete, select, update

from engine import clock
from engine.errors import Unauthorized
from engine.models import AuthSession, User

LIFETIME = dt.timedelta(hours=12)
SEEN_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often per session
KEEP_ENDED = dt.timedelta(days=30)  # a user's rows expired longer ago than this are pruned at their next sign-in
MAX_SECRET_LENGTH = 200  # ours are 43 characters; anything much longer is not one of ours
SIGNED_OUT = "this sign-in has ended or expired; sign in again"


class SessionKind(StrEnum):
    API = "api"  # a bearer token
    WEB = "web"  # a browser sign-in, its secret in the session cookie


class EndReason(StrEnum):
    LOGOUT = "logout"
    PASSWORD_CHANGED = "password_changed"
    DEACTIVATED = "deactivated"
    LOCKED = "locked"
    SSO_UNLINKED = "sso_unlinked"


@dataclass(frozen=True)
class Issued:
    """A new session: ``secret`` goes to the client once and is never stored."""
    session_id: int
    secret: str
    expires_at: dt.datetime


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def start(uow, user_id: int, kind: SessionKind, lifetime: dt.timedelta = LIFETIME) -> Issued:
    """A new session row for ``user_id``. Building block: does not commit. Prunes the
    user's own rows that expired more than ``KEEP_ENDED`` ago, so the table stays small."""
    now = clock.now()
    uow.session.execute(delete(AuthSession).where(AuthSession.user_id == user_id,
                                                  AuthSession.expires_at < now - KEEP_ENDED))
    secret = secrets.token_urlsafe(32)
    row = AuthSession(token_hash=hash_secret(secret), user_id=user_id, kind=str(kind), created_at=now,
                      expires_at=now + lifetime, last_seen_at=now)
    uow.session.add(row)
    uow.session.flush()
    return Issued(row.id, secret, row.expires_at)


_LIVE_ROW = (select(AuthSession.id, AuthSession.user_id, AuthSession.expires_at, AuthSession.last_seen_at,
                    User.locale, User.username)  # built once: every request runs it
             .join(User, User.id == AuthSession.user_id)
             .where(AuthSession.token_hash == bindparam("token_hash"), AuthSession.kind == bindparam("kind"),
                    AuthSession.revoked_at.is_(None), User.active.is_(True)))


def _live_row(uow, secret: str, kind: SessionKind):
    """(session id, user id, expiry, last seen, the user's language and username) of the live
    session with this secret whose user is active, in one query (on the connection: no ORM
    objects to make); None for anything else."""
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    row = uow.session.connection().execute(_LIVE_ROW, {"token_hash": hash_secret(secret), "kind": str(kind)}).first()
    if row is None or clock.as_utc(row.expires_at) <= clock.now():
        return None
    return row


def _mark_seen(uow, row) -> None:
    now = clock.now()
    last_seen = clock.as_utc(row.last_seen_at)
    if last_seen is None or now - last_seen >= SEEN_EVERY:
        uow.session.execute(update(AuthSession).where(AuthSession.id == row.id).values(last_seen_at=now))


@dataclass(frozen=True)
class SignedIn:
    """Who a request's secret signs in: the user, the language they chose (None: none) and
    their username."""
    user_id: int
    locale: str | None
    username: str | None = None


def signed_in(uow, secret: str, kind: SessionKind = SessionKind.API) -> SignedIn:
    """Use case: the user a request's secret signs in, with their language (read in the same
    query, so answering in it costs no other), or ``Unauthorized`` when the secret is unknown,
    ended or expired, or its account is deactivated. Commits (the last-seen time, written at
    most once a minute)."""
    row = _live_row(uow, secret, kind)
    if row is None:
        raise Unauthorized(SIGNED_OUT)
    _mark_seen(uow, row)
    uow.commit()
    return SignedIn(row.user_id, row.locale, row.username)


def user_id_for(uow, secret: str, kind: SessionKind = SessionKind.API) -> int:
    """:func:`signed_in`, the user's id only."""
    return signed_in(uow, secret, kind).user_id


def web_user(uow, secret: str | None, user_id: int) -> User | None:
    """Use case: the active user of a browser session, if ``secret`` is still a live web
    session of ``user_id``; None means signed out. Commits (the last-seen time)."""
    row = _live_row(uow, secret or "", SessionKind.WEB)
    if row is None or row.user_id != user_id:
        return None
    _mark_seen(uow, row)
    user = uow.session.get(User, user_id)
    uow.commit()
    return user


def sign_out(uow, secret: str | None, kind: SessionKind) -> bool:
    """Use case: end the session with this secret (the caller's own). True if one was
    live. Audited; commits."""
    row = _live_row(uow, secret or "", kind)
    if row is None:
        return False
    now = clock.now()
    uow.session.execute(update(AuthSession).where(AuthSession.id == row.id)
                        .values(revoked_at=now, revoked_reason=str(EndReason.LOGOUT)))
    uow.audit(row.user_id, "logout", "user", row.user_id, session_id=row.id, kind=str(kind))
    uow.commit()
    return True


def end_all(uow, user_id: int, reason: EndReason, actor_id: int | None = None) -> int:
    """End every live session and token of ``user_id`` (a password change, deactivation,
    a lock). Returns how many ended; audited when any did. Building block: does not commit."""
    now = clock.now()
    ended = uow.session.execute(
        update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None),
                                  AuthSession.expires_at > now)
        .values(revoked_at=now, revoked_reason=str(reason))
        .execution_options(synchronize_session=False)).rowcount
    if ended:
        uow.audit(actor_id, "sessions_ended", "user", user_id, reason=str(reason), count=ended)
    return ended
