"""Accounts: passwords, signing in, changing one's password, deactivating and locking, creating users.

Signing in answers the same way — "wrong username or password", after one password-hash
verification — whether the username is unknown, the password is wrong, or the account is
waiting out a delay after failed attempts: the answer tells a stranger neither which
usernames exist nor which are under attack. Failed attempts never lock an account. After
``FREE_FAILURES`` failures in a row, the next attempt is accepted only once a delay has
passed since the last failure (``FIRST_DELAY``, doubling with each further failure, at most
``MAX_DELAY``); an attempt during the delay is refused without its password being looked
at, and does not lengthen the delay. A success clears the count.

An attempt from a *trusted device* (the web layer's word: a browser where this account
signed in before, ``webui.device_cookies``) is not held back by that delay and does not
add to the count: strangers failing on a username cannot keep its owner out of their own
browser. Its failures are counted against the device by the web layer instead; an
administrator's lock applies to it as to every attempt.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from engine import clock
from engine.errors import Invalid, Unauthorized
from engine.models import ROLES, User, UserRole
from engine.people import directory, sessions

_hasher = PasswordHasher()
FREE_FAILURES = 3
FIRST_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(minutes=15)
WRONG_CREDENTIALS = "wrong username or password"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
# A hash of a random string, verified when the username is unknown or the account is
# waiting out a delay, so that every refusal costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, and the secret of the session just started (shown to them once)."""
    user_id: int
    username: str
    display_name: str
    roles: frozenset[str]
    secret: str
    expires_at: dt.datetime


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def retry_delay(failed_logins: int) -> dt.timedelta:
    """How long after the last failure the next attempt must wait: nothing for the first
    ``FREE_FAILURES``, then ``FIRST_DELAY`` doubling per further failure, capped at ``MAX_DELAY``."""
    extra = failed_logins - FREE_FAILURES
    if extra < 0:
        return dt.timedelta(0)
    return min(FIRST_DELAY * 2 ** min(extra, 16), MAX_DELAY)


def _refusal(user: User, now: dt.datetime) -> str | None:
    """Why an attempt on this account is refused before its password is checked: still
    inside the delay after failures, or locked by an administrator. None: check it."""
    locked_until = clock.as_utc(user.locked_until)
    if locked_until is not None and locked_until > now:
        return "locked"
    last_failure = clock.as_utc(user.last_failed_login_at)
    if last_failure is not None and now < last_failure + retry_delay(user.failed_logins or 0):
        return "delay"
    return None


def _record_failure(uow, user: User, now: dt.datetime) -> None:
    # an SQL increment, so failures made at the same time all count
    user.failed_logins = User.failed_logins + 1
    user.last_failed_login_at = now
    uow.audit(None, "login_failed", "user", user.id)


def check_credentials(uow, username: str, password: str, trusted_device: bool = False) -> User | None:
    """The active user with these credentials, or None (see the module's docstring for
    the delays and trusted devices). Records the failure or success. Building block: does
    not commit."""
    user = uow.session.scalar(select(User).where(User.username == username))
    now = clock.now()
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return None
    refusal = _refusal(user, now)
    if refusal == "delay" and trusted_device:
        refusal = None  # the delay is for attempts from unknown devices
    if refusal is not None:
        _verify(_DUMMY_HASH, password)
        uow.audit(None, "login_refused", "user", user.id, reason=refusal)
        return None
    if not _verify(user.password_hash, password):
        if trusted_device:
            uow.audit(None, "login_failed", "user", user.id, trusted_device=True)
        else:
            _record_failure(uow, user, now)
        return None
    if not trusted_device:  # a trusted device's success leaves the strangers' count as it is
        user.failed_logins = 0
        user.last_failed_login_at = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def sign_in(uow, username: str, password: str, kind: sessions.SessionKind,
            lifetime: dt.timedelta = sessions.LIFETIME, trusted_device: bool = False) -> SignedIn:
    """Use case: start a session (an API token or a browser sign-in) for these
    credentials, or ``Unauthorized`` — the same answer for every refusal. Audited; commits
    either way, so failures are counted. ``trusted_device``: see the module's docstring."""
    user = check_credentials(uow, username, password, trusted_device)
    if user is None:
        uow.commit()
        raise Unauthorized(WRONG_CREDENTIALS)
    signed_in = open_session(uow, user, kind, lifetime)
    uow.commit()
    return signed_in


def open_session(uow, user: User, kind: sessions.SessionKind, lifetime: dt.timedelta = sessions.LIFETIME,
                 **detail) -> SignedIn:
    """Building block: a new session for ``user``, who proved who they are (a password, or
    the single sign-on provider's word), audited as a sign-in with ``detail``. Does not commit."""
    issued = sessions.start(uow, user.id, kind, lifetime)
    uow.audit(user.id, "login", "user", user.id, session_id=issued.session_id, kind=str(kind), **detail)
    return SignedIn(user.id, user.username, user.display_name, frozenset(user.roles), issued.secret,
                    issued.expires_at)


def password_problems(password: str) -> list[str]:
    """Why a new password cannot be used (empty: it can)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"use at least {MIN_PASSWORD_LENGTH} characters"]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"use at most {MAX_PASSWORD_LENGTH} characters"]
    return []


def change_password(uow, user_id: int, current_password: str, new_password: str) -> int:
    """Use case: the signed-in user replaces their password, proving the current one
    (a wrong one counts as a failed sign-in, with the same delays). Every session and
    token of the user ends, this one included. Returns how many ended. Audited; commits."""
    user = directory.get_user(uow.session, user_id)
    problems = password_problems(new_password)
    if problems:
        raise Invalid("the new password cannot be used", errors={"new_password": problems})
    now = clock.now()
    refusal = _refusal(user, now)
    if refusal is not None:
        _verify(_DUMMY_HASH, current_password)
        uow.audit(user.id, "password_change_refused", "user", user.id, reason=refusal)
    elif not _verify(user.password_hash, current_password):
        _record_failure(uow, user, now)
        refusal = "wrong_password"
    if refusal is not None:
        uow.commit()
        raise Invalid("the current password is not right",
                      errors={"current_password": ["not right (after several tries, wait a few minutes)"]})
    if new_password == current_password:
        raise Invalid("the new password is the current one", errors={"new_password": ["choose a different one"]})
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.last_failed_login_at = None
    ended = sessions.end_all(uow, user.id, sessions.EndReason.PASSWORD_CHANGED, actor_id=user.id)
    uow.audit(user.id, "password_changed", "user", user.id)
    uow.commit()
    return ended


def deactivate(uow, user: User, actor_id: int | None) -> int:
    """The account signs in no more and every session and token of it ends now. Returns
    how many ended. Building block: does not commit."""
    user.active = False
    uow.audit(actor_id, "user_deactivated", "user", user.id)
    return sessions.end_all(uow, user.id, sessions.EndReason.DEACTIVATED, actor_id=actor_id)


def lock(uow, user: User, until: dt.datetime, actor_id: int | None) -> int:
    """An administrator's lock: sign-ins are refused (with the usual answer) until
    ``until`` and every session and token ends now. Building block: does not commit."""
    user.locked_until = until
    uow.audit(actor_id, "account_locked", "user", user.id, until=until.isoformat())
    return sessions.end_all(uow, user.id, sessions.EndReason.LOCKED, actor_id=actor_id)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(uow, username: str, password: str, roles: list[str], display_name: str = "",
                email: str | None = None) -> User:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise Invalid(f"unknown roles: {', '.join(sorted(unknown))}", errors={"roles": sorted(unknown)})
    if uow.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Invalid(f"user {username} exists", errors={"username": ["already taken"]})
    user = User(username=username, password_hash=hash_password(password),
                display_name=display_name or username, email=email)
    user.role_rows = [UserRole(role=r) for r in roles]
    uow.session.add(user)
    uow.session.flush()
    return user
