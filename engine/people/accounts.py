"""Accounts: passwords, signing in with lock-out, creating users."""
from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from engine import clock
from engine.errors import Invalid, Unauthorized
from engine.models import ROLES, User, UserRole

_hasher = PasswordHasher()
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
# A hash of a random string, verified when the username is unknown so that a wrong
# username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(uow, username: str, password: str) -> User:
    """The user with these credentials; counts failures and locks the account for a
    while after ``MAX_FAILED_LOGINS`` in a row. Commits the counter either way."""
    user = uow.session.scalar(select(User).where(User.username == username))
    now = clock.now()
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        raise Unauthorized("wrong username or password")
    if user.locked_until is not None and user.locked_until > now:
        raise Unauthorized("this account is locked after repeated failed logins; try again later")
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            uow.audit(user.id, "account_locked", "user", user.id)
        uow.audit(user.id, "login_failed", "user", user.id)
        uow.commit()
        raise Unauthorized("wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    uow.audit(user.id, "login", "user", user.id)
    uow.commit()
    return user


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
