"""The demo users of CONTRACT.md (embedded and demo mode only; never in production)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.models import User, UserRole
from engine.people.accounts import hash_password
from engine.people.directory import set_supervisor


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


def create_demo_users(uow) -> int:
    """The operator asks for the demo users (``seed-demo``). Commits."""
    made = seed_demo_users(uow)
    uow.commit()
    return made
