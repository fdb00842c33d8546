"""Users: passwords, lock-out, roles, supervision, demo seeding."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from engine import clock
from engine.errors import Invalid, Unauthorized
from engine.models import ROLES, Supervision, User, UserRole

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


def set_supervisor(uow, supervisor_id: int, supervisee_id: int) -> None:
    if uow.session.get(Supervision, (supervisor_id, supervisee_id)) is None:
        uow.session.add(Supervision(supervisor_id=supervisor_id, supervisee_id=supervisee_id))


def get_user(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise Unauthorized("this account does not exist or is disabled")
    return user


def supervisee_ids(session, supervisor_id: int, transitive: bool = True) -> set[int]:
    """The people this user supervises (and, transitively, theirs: a director sees the
    supervisors' teams too)."""
    found: set[int] = set()
    frontier = {supervisor_id}
    while frontier:
        rows = session.scalars(select(Supervision.supervisee_id)
                               .where(Supervision.supervisor_id.in_(frontier))).all()
        frontier = set(rows) - found - {supervisor_id}
        found |= frontier
        if not transitive:
            break
    return found


@dataclass(frozen=True)
class DemoUser:
    username: str
    roles: tuple[str, ...]
    display_name: str
    supervisor: str | None = None


DEMO_USERS = (
    DemoUser("caseworker1", ("caseworker",), "Caseworker One", "supervisor1"),
    DemoUser("caseworker2", ("caseworker",), "Caseworker Two", "supervisor1"),
    DemoUser("supervisor1", ("supervisor", "committee_member"), "Supervisor One", "director1"),
    DemoUser("director1", ("director", "committee_member", "supervisor"), "Director One"),
    DemoUser("committee1", ("committee_member",), "Committee Member One"),
    DemoUser("committee2", ("committee_member",), "Committee Member Two"),
    DemoUser("processowner1", ("process_owner",), "Process Owner One"),
    DemoUser("crisislead1", ("crisis_team",), "Crisis Lead One"),
    DemoUser("admin", ("admin",), "Administrator"),
)
DEMO_PASSWORD = "demo"


def seed_demo_users(uow) -> int:
    """Create the demo users of CONTRACT.md that do not exist yet. Returns how many."""
    made = 0
    by_name = {}
    pw_hash = hash_password(DEMO_PASSWORD)
    for demo in DEMO_USERS:
        user = uow.session.scalar(select(User).where(User.username == demo.username))
        if user is None:
            user = User(username=demo.username, password_hash=pw_hash, display_name=demo.display_name,
                        email=f"{demo.username}@demo.invalid")
            user.role_rows = [UserRole(role=r) for r in demo.roles]
            uow.session.add(user)
            made += 1
        by_name[demo.username] = user
    uow.session.flush()
    for demo in DEMO_USERS:
        if demo.supervisor:
            set_supervisor(uow, by_name[demo.supervisor].id, by_name[demo.username].id)
    return made
