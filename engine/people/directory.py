"""Who is who: users by id and name, their roles, who supervises whom.

The one place the engine looks people up; every other module asks here. Lookups that
name people return usernames (staff), never clients.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, joinedload

from engine.errors import Unauthorized
from engine.models import Supervision, User, UserRole
from engine.models.people import Team
from engine.people.read_memo import remembered


class HasSession(Protocol):
    """What this module needs of a unit of work."""

    @property
    def session(self) -> Session: ...


_USER_AND_ROLES = (select(User).options(joinedload(User.role_rows))  # built once: most requests run it
                   .where(User.id == bindparam("user_id")))


def get_user(session: Session, user_id: int) -> User:
    """The active user with this id, or ``Unauthorized`` (a disabled account acts no more).
    The user and their roles come in one query, once per transaction (``read_memo``)."""
    user = remembered(session, ("user", user_id), lambda: session.execute(
        _USER_AND_ROLES, {"user_id": user_id}).unique().scalar_one_or_none())
    if user is None or not user.active:
        raise Unauthorized("this account does not exist or is disabled")
    return user


_USERNAME = select(User.username).where(User.id == bindparam("user_id"))


def username(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(_USERNAME, {"user_id": user_id})


def usernames(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Usernames by id for every id given (None and 0 skipped), in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def name_of(names: Mapping[int, str], user_id: int | None) -> str | None:
    """The username of ``user_id`` in ``names`` (from :func:`usernames`); None for no id."""
    return None if user_id is None else names.get(user_id)


def user_named(session: Session, name: str | None) -> User | None:
    """The active user with this username."""
    if not isinstance(name, str) or not name.strip():
        return None
    return session.scalar(select(User).where(User.username == name.strip(), User.active))


def account_named(session: Session, name: str) -> User | None:
    """The user with this username, active or not (administrators manage both)."""
    return session.scalar(select(User).where(User.username == name))


def team_named(session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name))


def direct_supervisors(session: Session, supervisee_ids: Iterable[int]) -> dict[int, str]:
    """The username of the (first) direct supervisor of each of ``supervisee_ids`` that has one."""
    wanted = set(supervisee_ids)
    if not wanted:
        return {}
    rows = session.execute(select(Supervision.supervisee_id, User.username)
                           .join(User, User.id == Supervision.supervisor_id)
                           .where(Supervision.supervisee_id.in_(wanted))
                           .order_by(Supervision.supervisee_id, Supervision.supervisor_id.desc())).all()
    return dict(rows)  # the lowest supervisor id comes last per supervisee, so it wins


def ids_with_roles(session: Session, roles: Iterable[str]) -> list[int]:
    """Ids of the active users holding any of ``roles``."""
    return list(session.scalars(select(User.id).join(UserRole, UserRole.user_id == User.id)
                                .where(UserRole.role.in_(tuple(roles)), User.active).distinct()))


def people_with_role(session: Session, role: str) -> list[tuple[int, str]]:
    """(id, username) of active users holding ``role``, by username."""
    return list(session.execute(select(User.id, User.username).join(UserRole, UserRole.user_id == User.id)
                                .where(UserRole.role == role, User.active.is_(True))
                                .order_by(User.username)).all())


def users_with_role(session: Session, role: str) -> list[User]:
    """Active users holding ``role``, by username."""
    return list(session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                                .where(UserRole.role == role, User.active).order_by(User.username)))


def supervisee_ids(session: Session, supervisor_id: int, transitive: bool = True) -> set[int]:
    """The people this user supervises (and, transitively, theirs: a director sees the
    supervisors' teams too). Read once per transaction (``read_memo``)."""
    return set(remembered(session, ("supervisees", supervisor_id, transitive),
                          lambda: frozenset(_supervisee_ids(session, supervisor_id, transitive))))


def _supervisee_ids(session: Session, supervisor_id: int, transitive: bool) -> set[int]:
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


def supervisor_of(session: Session, user_id: int | None) -> int | None:
    """The (first) direct supervisor of ``user_id``."""
    if user_id is None:
        return None
    return session.scalar(select(Supervision.supervisor_id).where(Supervision.supervisee_id == user_id)
                          .order_by(Supervision.supervisor_id).limit(1))


def team_members(session: Session, user: User) -> list[User]:
    """The active people on this supervisor's (or director's) team, by username (read once per
    transaction: ``read_memo``)."""
    return list(remembered(session, ("team", user.id), lambda: tuple(_team_members(session, user.id))))


def _team_members(session: Session, user_id: int) -> list[User]:
    ids = supervisee_ids(session, user_id)
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)).order_by(User.username)))


def set_supervisor(uow: HasSession, supervisor_id: int, supervisee_id: int) -> None:
    if uow.session.get(Supervision, (supervisor_id, supervisee_id)) is None:
        uow.session.add(Supervision(supervisor_id=supervisor_id, supervisee_id=supervisee_id))


def replace_supervisor(uow: HasSession, supervisee_id: int, supervisor_id: int | None) -> None:
    """``supervisor_id`` becomes the one direct supervisor of ``supervisee_id`` (None: nobody).
    Building block: does not commit."""
    uow.session.execute(delete(Supervision).where(Supervision.supervisee_id == supervisee_id,
                                                  Supervision.supervisor_id != (supervisor_id or 0))
                        .execution_options(synchronize_session=False))
    if supervisor_id is not None:
        set_supervisor(uow, supervisor_id, supervisee_id)
