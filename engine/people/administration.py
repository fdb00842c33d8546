"""Managing the people who use the service: accounts, roles, supervision, teams, leave.

The use cases administrators call (the admin pages and ``/api/users``) and the operator's
``python -m webui.cli user …`` commands. Each commits its own unit of work and is audited.
``actor_id`` is the signed-in administrator; ``None`` is the operator at the command line,
who holds the database itself (the web layer always passes the signed-in user's id).

What is promised:

- Only administrators manage people (403 otherwise).
- A password has at least ``accounts.MIN_PASSWORD_LENGTH`` characters; setting one ends
  every session and token of that person.
- The service always keeps an active administrator, and an administrator cannot take the
  administrator role from themselves or deactivate themselves (they would lock themselves out).
- A supervisor holds the supervisor or director role, is active, and is not someone the
  person supervises (no loops of supervision).
- Deactivating someone ends every session and token of theirs at once and hands their claimed
  tasks back to the roles they were offered to; so does marking them unavailable (on leave):
  their work is then offered to whoever else holds the role, and new work passes them by
  (caseworker assignment and the crisis workflow's backup staffing read the same flag).
- A change is all or nothing: any refused part leaves everything as it was.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import func, select

from engine.errors import Forbidden, Invalid, NotFound
from engine.models import HumanTask, TaskState, User, UserRole
from engine.models.people import ROLES, Role, Team
from engine.people import accounts, directory, preferences, sessions, sso_links

ADMIN = Role.ADMIN.value
SUPERVISING_ROLES = (Role.SUPERVISOR.value, Role.DIRECTOR.value)
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,79}")
MAX_DISPLAY_NAME = 200
MAX_TEAM_NAME = 120
MAX_EMAIL = 254


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # a field of ``PersonChanges`` left as it is


@dataclass(frozen=True)
class PersonChanges:
    """What to change about a person; every field left at ``KEEP`` stays as it is."""
    display_name: str | _Keep = KEEP
    email: str | None | _Keep = KEEP
    roles: Sequence[str] | _Keep = KEEP
    supervisor: str | None | _Keep = KEEP  # a username; None: no supervisor
    team: str | None | _Keep = KEEP  # a team's name; None: no team
    available: bool | _Keep = KEEP
    active: bool | _Keep = KEEP
    password: str | _Keep = KEEP
    locale: str | None | _Keep = KEEP  # a language code (engine.people.languages); None: the browser's
    single_sign_on: bool | _Keep = KEEP  # False: unlinked from its identity at the provider (engine.people.sso_links)


@dataclass(frozen=True)
class Person:
    """One account as administrators see it."""
    id: int
    username: str
    display_name: str
    email: str | None
    roles: tuple[str, ...]  # in the order of ``ROLES``
    supervisor: str | None
    team: str | None
    available: bool
    active: bool
    single_sign_on: bool = False  # linked to an account at the OpenID Connect provider
    locale: str | None = None  # the language they chose (None: their browser's)

    @property
    def role_labels(self) -> list[str]:
        return [Role.label_of(role) for role in self.roles]


@dataclass(frozen=True)
class Outcome:
    """A person after a change, and what the change ended or handed back."""
    person: Person
    sessions_ended: int = 0
    tasks_handed_back: int = 0


# -- reading -------------------------------------------------------------------------------
def list_people(uow, actor_id: int | None, *, active: bool | None = None, limit: int = 500,
                offset: int = 0) -> tuple[list[Person], int]:
    """Everyone (or only the active or inactive), by username, and how many there are. Commits."""
    session = uow.session
    _require_admin(session, actor_id)
    query = select(User)
    if active is not None:
        query = query.where(User.active.is_(active))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = list(session.scalars(query.order_by(User.username).limit(limit).offset(offset)))
    people = _people(session, users)
    uow.commit()
    return people, total


def get_person(uow, actor_id: int | None, username: str) -> Person:
    """One account, active or not (404 for an unknown username). Commits."""
    session = uow.session
    _require_admin(session, actor_id)
    person = _people(session, [_account(session, username)])[0]
    uow.commit()
    return person


def list_teams(uow, actor_id: int | None) -> list[tuple[str, int]]:
    """Every team's name and how many active people are on it, by name. Commits."""
    session = uow.session
    _require_admin(session, actor_id)
    members = (select(User.team_id, func.count().label("n")).where(User.active.is_(True))
               .group_by(User.team_id).subquery())
    rows = session.execute(select(Team.name, func.coalesce(members.c.n, 0))
                           .outerjoin(members, members.c.team_id == Team.id).order_by(Team.name)).all()
    uow.commit()
    return [(name, count) for name, count in rows]


# -- changing ------------------------------------------------------------------------------
def add_team(uow, actor_id: int | None, name: str) -> str:
    """A new team (422 if the name is empty, too long or taken). Audited; commits."""
    session = uow.session
    _require_admin(session, actor_id)
    name = _clean_text(name, MAX_TEAM_NAME, "name", required=True)
    if directory.team_named(session, name) is not None:
        raise Invalid(f"a team named {name} exists", errors={"name": ["already taken"]})
    team = Team(name=name)
    session.add(team)
    uow.flush()
    uow.audit(actor_id, "team_created", "team", team.id, name=name)
    uow.commit()
    return name


def add_person(uow, actor_id: int | None, username: str, password: str, roles: Sequence[str], *,
               display_name: str = "", supervisor: str | None = None, team: str | None = None,
               email: str | None = None, locale: str | None = None) -> Person:
    """A new account with these roles (and supervisor, team, language). 422 naming each field
    that cannot be used. Audited; commits."""
    session = uow.session
    _require_admin(session, actor_id)
    username = username.strip() if isinstance(username, str) else ""
    problems: dict[str, list[str]] = {}
    if not USERNAME.fullmatch(username):
        problems["username"] = ["use 1 to 80 letters, digits and . _ @ -, starting with a letter or digit"]
    elif directory.account_named(session, username) is not None:
        problems["username"] = ["already taken"]
    if accounts.password_problems(password):
        problems["password"] = accounts.password_problems(password)
    if problems:
        raise Invalid("this person cannot be added", errors=problems)
    language = preferences.clean_language(locale)
    roles = _valid_roles(roles)
    user = accounts.create_user(uow, username, password, list(roles),
                                display_name=_clean_text(display_name, MAX_DISPLAY_NAME, "display_name"),
                                email=_clean_email(email))
    user.locale = language
    uow.audit(actor_id, "user_created", "user", user.id, roles=list(roles))
    if supervisor is not None:
        _set_supervisor(uow, actor_id, user, supervisor)
    if team is not None:
        _set_team(uow, actor_id, user, team)
    person = _people(session, [user])[0]
    uow.commit()
    return person


def change_person(uow, actor_id: int | None, username: str, changes: PersonChanges) -> Outcome:
    """Apply ``changes`` to one account, all or nothing. Audited; commits."""
    session = uow.session
    _require_admin(session, actor_id)
    user = _account(session, username)
    was_admin = bool(user.active) and ADMIN in user.roles
    ended = handed_back = 0
    if changes.display_name is not KEEP:
        name = _clean_text(changes.display_name, MAX_DISPLAY_NAME, "display_name") or user.username
        if name != user.display_name:
            user.display_name = name
            uow.audit(actor_id, "user_details_changed", "user", user.id, field="display_name")
    if changes.email is not KEEP:
        email = _clean_email(changes.email)
        if email != user.email:
            user.email = email
            uow.audit(actor_id, "user_details_changed", "user", user.id, field="email")
    if changes.roles is not KEEP:
        handed_back += _set_roles(uow, actor_id, user, changes.roles)
    if changes.supervisor is not KEEP:
        _set_supervisor(uow, actor_id, user, changes.supervisor)
    if changes.team is not KEEP:
        _set_team(uow, actor_id, user, changes.team)
    if changes.available is not KEEP and changes.available != user.available:
        user.available = changes.available
        uow.audit(actor_id, "user_availability_changed", "user", user.id, available=changes.available)
        if not changes.available:
            handed_back += _hand_back_claimed_tasks(uow, actor_id, user, "unavailable")
    if changes.locale is not KEEP:
        preferences.apply_language(uow, actor_id, user, changes.locale)
    if changes.password is not KEEP:
        ended += _set_password(uow, actor_id, user, changes.password)
    if changes.single_sign_on is not KEEP and changes.single_sign_on != (user.sso_subject is not None):
        if changes.single_sign_on:
            raise Invalid("an account is linked to single sign-on only by signing in through the provider",
                          errors={"single_sign_on": ["the person signs in through the provider to link it"]})
        ended += sso_links.unlink(uow, actor_id, user)
    if changes.active is not KEEP and changes.active != user.active:
        if changes.active:
            user.active = True
            uow.audit(actor_id, "user_reactivated", "user", user.id)
        else:
            if user.id == actor_id:
                raise Invalid("you cannot deactivate your own account", errors={"active": ["ask another admin"]})
            ended += accounts.deactivate(uow, user, actor_id)
            handed_back += _hand_back_claimed_tasks(uow, actor_id, user, "deactivated")
    if was_admin:
        _keep_an_admin(uow)
    person = _people(session, [user])[0]
    uow.commit()
    return Outcome(person, ended, handed_back)


# -- building blocks (never commit) -------------------------------------------------------
def _require_admin(session, actor_id: int | None) -> None:
    if actor_id is None:
        return  # the operator at the command line
    if ADMIN not in directory.get_user(session, actor_id).roles:
        raise Forbidden("only an administrator manages people and teams")


def _account(session, username: str) -> User:
    user = directory.account_named(session, username) if isinstance(username, str) else None
    if user is None:
        raise NotFound(f"nobody has the username {username!r}")
    return user


def _valid_roles(roles: Sequence[str] | object) -> tuple[str, ...]:
    if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
        raise Invalid("roles must be a list of role names", errors={"roles": ["give a list of roles"]})
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise Invalid(f"unknown roles: {', '.join(unknown)}",
                      errors={"roles": [f"not a role: {role}" for role in unknown]})
    if not roles:
        raise Invalid("a person needs at least one role", errors={"roles": ["choose at least one role"]})
    return tuple(role for role in ROLES if role in roles)


def _set_roles(uow, actor_id: int | None, user: User, roles: Sequence[str]) -> int:
    """Give ``user`` exactly these roles; tasks they hold for a role they lose go back to
    that role. Returns how many went back."""
    wanted = _valid_roles(roles)
    if user.id == actor_id and ADMIN in user.roles and ADMIN not in wanted:
        raise Invalid("you cannot take the administrator role from yourself",
                      errors={"roles": ["ask another admin to do it"]})
    return replace_roles(uow, actor_id, user, wanted)


def replace_roles(uow, actor_id: int | None, user: User, roles: Iterable[str], **detail) -> int:
    """Building block: ``user`` holds exactly ``roles`` (known role names; none at all is
    allowed here); tasks they hold for a role they lose go back to that role. Audited with
    ``detail``. Returns how many tasks went back. The callers check who may do it."""
    wanted = tuple(role for role in ROLES if role in set(roles))
    before = tuple(role for role in ROLES if role in user.roles)
    if wanted == before:
        return 0
    kept = [row for row in user.role_rows if row.role in wanted]
    user.role_rows = kept + [UserRole(role=role) for role in wanted if role not in before]
    uow.flush()
    uow.audit(actor_id, "user_roles_changed", "user", user.id, before=list(before), after=list(wanted), **detail)
    lost = set(before) - set(wanted)
    return _hand_back_claimed_tasks(uow, actor_id, user, "role_removed", only_roles=lost) if lost else 0


def _set_supervisor(uow, actor_id: int | None, user: User, supervisor: str | None) -> None:
    session = uow.session
    name = supervisor.strip() if isinstance(supervisor, str) else ""
    supervisor_id = None
    if name:
        boss = directory.user_named(session, name)
        if boss is None:
            raise Invalid(f"no active user {name!r} to supervise {user.username}",
                          errors={"supervisor": ["choose an active supervisor or director"]})
        if boss.id == user.id or boss.id in directory.supervisee_ids(session, user.id):
            raise Invalid(f"{boss.username} cannot supervise {user.username}",
                          errors={"supervisor": ["choose someone this person does not supervise"]})
        if not boss.has_role(*SUPERVISING_ROLES):
            raise Invalid(f"{boss.username} is not a supervisor or director",
                          errors={"supervisor": ["choose someone with the supervisor or director role"]})
        supervisor_id = boss.id
    before = directory.supervisor_of(session, user.id)
    directory.replace_supervisor(uow, user.id, supervisor_id)
    if before != supervisor_id:
        uow.audit(actor_id, "user_supervisor_changed", "user", user.id, before=before, after=supervisor_id)


def _set_team(uow, actor_id: int | None, user: User, team: str | None) -> None:
    name = team.strip() if isinstance(team, str) else ""
    team_id = None
    if name:
        found = directory.team_named(uow.session, name)
        if found is None:
            raise Invalid(f"no team named {name!r}", errors={"team": ["choose a team that exists"]})
        team_id = found.id
    if user.team_id != team_id:
        uow.audit(actor_id, "user_team_changed", "user", user.id, before=user.team_id, after=team_id)
        user.team_id = team_id


def _set_password(uow, actor_id: int | None, user: User, password: str) -> int:
    problems = accounts.password_problems(password) if isinstance(password, str) else ["give a password"]
    if problems:
        raise Invalid("the password cannot be used", errors={"password": problems})
    user.password_hash = accounts.hash_password(password)
    user.failed_logins = 0
    user.last_failed_login_at = None
    uow.audit(actor_id, "password_set", "user", user.id)
    return sessions.end_all(uow, user.id, sessions.EndReason.PASSWORD_CHANGED, actor_id=actor_id)


def _hand_back_claimed_tasks(uow, actor_id: int | None, user: User, reason: str,
                             only_roles: set[str] | None = None) -> int:
    """Open tasks ``user`` holds go back to the role they were offered to, for anyone else
    holding it to claim. A task offered to no role stays where it is (a supervisor reassigns
    it). Returns how many went back."""
    query = select(HumanTask).where(HumanTask.assignee_id == user.id, HumanTask.state == TaskState.READY,
                                    HumanTask.role.is_not(None))
    if only_roles is not None:
        query = query.where(HumanTask.role.in_(sorted(only_roles)))
    tasks = list(uow.session.scalars(query))
    for task in tasks:
        task.assignee_id = None
        uow.audit(actor_id, "task_handed_back", "human_task", task.id, task.case_code, previous_assignee_id=user.id,
                  reason=reason)
    return len(tasks)


def _keep_an_admin(uow) -> None:
    """Refuse a change to an administrator that leaves the service without an active one."""
    uow.flush()
    if not directory.ids_with_roles(uow.session, [ADMIN]):
        raise Invalid("the service needs at least one active administrator",
                      errors={"roles": ["keep at least one active admin"]})


def _clean_text(value: object, most: int, field: str, required: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise Invalid(f"{field.replace('_', ' ')} is empty", errors={field: ["fill this in"]})
    if len(text) > most or not text.isprintable():
        raise Invalid(f"{field.replace('_', ' ')} cannot be used",
                      errors={field: [f"use at most {most} characters, without line breaks or control characters"]})
    return text


def _clean_email(value: object) -> str | None:
    text = _clean_text(value, MAX_EMAIL, "email") if value is not None else ""
    if text and (text.count("@") != 1 or " " in text or text.startswith("@") or text.endswith("@")):
        raise Invalid("the e-mail address cannot be used", errors={"email": ["give an address like name@example.org"]})
    return text or None


def _people(session, users: list[User]) -> list[Person]:
    supervisors = directory.direct_supervisors(session, [u.id for u in users])
    team_ids = {u.team_id for u in users if u.team_id is not None}
    teams = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all()) if team_ids else {}
    return [Person(id=u.id, username=u.username, display_name=u.display_name, email=u.email,
                   roles=tuple(role for role in ROLES if role in u.roles), supervisor=supervisors.get(u.id),
                   team=teams.get(u.team_id) if u.team_id is not None else None,
                   available=bool(u.available), active=bool(u.active),
                   single_sign_on=u.sso_subject is not None, locale=u.locale) for u in users]
