"""Read-side queries behind the supervisor's dashboard and the task page's surroundings.

Nothing here changes a record. Lists carry case codes and staff usernames, never a
client's name (R32); every list is bounded.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select

from engine import clock
from engine.people import access
from engine.errors import Forbidden
from engine.models import RISK_LEVELS, Case, HumanTask, ProcessInstance, ProcessModelFile, Timer, User, UserRole
from engine.process.inbox import WEEK, TaskRow, ordered, status_filter, task_rows
from engine.people.accounts import get_user, supervisee_ids

UNRATED = "unrated"  # cases without a risk rating yet

# -- the supervisor's dashboard ---------------------------------------------------------

@dataclass(frozen=True)
class Caseload:
    username: str
    display_name: str
    user_id: int
    active_cases: int
    cap: int | None
    available: bool

    @property
    def over_cap(self) -> bool:
        return self.cap is not None and self.active_cases > self.cap

    @property
    def at_cap(self) -> bool:
        return self.cap is not None and self.active_cases >= self.cap


@dataclass(frozen=True)
class ReviewDue:
    case_code: str
    caseworker: str | None
    risk_level: str | None
    due_at: dt.datetime
    overdue: bool


@dataclass
class SupervisorDashboard:
    caseloads: list[Caseload]
    overdue: list[TaskRow]
    overdue_total: int
    due_this_week: list[TaskRow]
    due_this_week_total: int
    cases_by_risk: dict[str, int]
    cases_by_status: dict[str, int]
    reviews_due: list[ReviewDue]
    team: list[tuple[int, str, frozenset]] = field(default_factory=list)  # (id, username, roles)


def team_members(session, user: User) -> list[User]:
    """The people on this supervisor's (or director's) team, by username."""
    ids = supervisee_ids(session, user.id)
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)).order_by(User.username)))


def _team_case_filter(user: User, team_ids: set[int]):
    """Cases a supervisor oversees: supervised by them or carried by their team. A
    director sees every case (need-to-know: the director stands in for supervisors)."""
    if user.has_role("director"):
        return None
    return or_(Case.supervisor_id == user.id, Case.caseworker_id.in_(team_ids or {-1}))


def caseloads(session, members: list[User], active_statuses: tuple[str, ...],
              cap: int | None) -> list[Caseload]:
    """Active cases per caseworker on the team, against the caseload cap."""
    workers = [m for m in members if "caseworker" in m.roles]
    if not workers:
        return []
    counts = dict(session.execute(
        select(Case.caseworker_id, func.count(Case.id))
        .where(Case.caseworker_id.in_([w.id for w in workers]), Case.status.in_(active_statuses))
        .group_by(Case.caseworker_id)).all())
    return [Caseload(w.username, w.display_name, w.id, counts.get(w.id, 0), cap, w.available) for w in workers]


def supervisor_dashboard(session, user_id: int, active_statuses: tuple[str, ...], caseload_cap: int | None,
                         list_limit: int = 25) -> SupervisorDashboard:
    """Everything a supervisor looks at first: caseloads, late and upcoming tasks of the
    team, the team's cases by risk and status, and reviews coming due."""
    user = get_user(session, user_id)
    if not user.has_role(*access.TEAM_ROLES):
        raise Forbidden("the dashboard is for supervisors and the director")
    now = clock.now()
    members = team_members(session, user)
    team_ids = {m.id for m in members}
    task_scope = [HumanTask.state == "ready",
                  or_(HumanTask.assignee_id.in_(team_ids | {user.id}),
                      and_(HumanTask.assignee_id.is_(None),
                           HumanTask.role.in_(sorted({r for m in members for r in m.roles} | user.roles) or ["-"])))]

    def task_list(condition):
        conditions = task_scope + [condition]
        total = session.scalar(select(func.count(HumanTask.id)).where(*conditions)) or 0
        tasks = list(session.scalars(ordered(select(HumanTask).where(*conditions)).limit(list_limit)))
        return task_rows(session, tasks, now), total

    overdue, overdue_total = task_list(status_filter("overdue", now))
    upcoming, upcoming_total = task_list(status_filter("due_week", now))

    case_scope = _team_case_filter(user, team_ids)
    conditions = [case_scope] if case_scope is not None else []
    active = conditions + [Case.status.in_(active_statuses)]
    by_risk: dict[str, int] = {}
    for level, count in session.execute(select(Case.risk_level, func.count(Case.id))
                                        .where(*active).group_by(Case.risk_level)).all():
        key = level if level in RISK_LEVELS else UNRATED
        by_risk[key] = by_risk.get(key, 0) + count
    by_status = dict(session.execute(select(Case.status, func.count(Case.id))
                                     .where(*conditions).group_by(Case.status)).all())
    review_rows = session.execute(
        select(Case.code, Case.caseworker_id, Case.risk_level, Case.date_next_review)
        .where(*active, Case.date_next_review.is_not(None), Case.date_next_review < now + WEEK)
        .order_by(Case.date_next_review).limit(list_limit)).all()
    names = _usernames(session, {r.caseworker_id for r in review_rows})
    reviews = [ReviewDue(r.code, names.get(r.caseworker_id), r.risk_level, clock.as_utc(r.date_next_review),
                         clock.as_utc(r.date_next_review) < now) for r in review_rows]
    return SupervisorDashboard(
        caseloads=caseloads(session, members, active_statuses, caseload_cap),
        overdue=overdue, overdue_total=overdue_total, due_this_week=upcoming, due_this_week_total=upcoming_total,
        cases_by_risk=by_risk, cases_by_status=by_status, reviews_due=reviews,
        team=[(m.id, m.username, frozenset(m.roles)) for m in members])


def _usernames(session, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def people_with_role(session, role: str) -> list[tuple[int, str]]:
    """(id, username) of active users holding ``role``."""
    return list(session.execute(select(User.id, User.username).join(UserRole, UserRole.user_id == User.id)
                                .where(UserRole.role == role, User.active.is_(True))
                                .order_by(User.username)).all())


def running_instance_count(session, model_id: int) -> int:
    return session.scalar(select(func.count(ProcessInstance.id)).where(
        ProcessInstance.model_id == model_id, ProcessInstance.status == "running")) or 0


# -- one task's surroundings ----------------------------------------------------------

@dataclass(frozen=True)
class CaseSummary:
    """What a task page shows beside the form: the case by its code, never the client."""
    code: str
    status: str
    stage: str
    risk_level: str | None
    risk_needs_judgement: bool
    caseworker: str | None
    supervisor: str | None
    primary_concern: str
    date_registered: dt.datetime | None
    date_last_contact: dt.datetime | None
    date_next_contact: dt.datetime | None
    date_next_review: dt.datetime | None


def case_summary(session, case_code: str | None) -> CaseSummary | None:
    if not case_code:
        return None
    row = session.scalar(select(Case).where(Case.code == case_code))
    if row is None:
        return None
    names = _usernames(session, {row.caseworker_id, row.supervisor_id})
    return CaseSummary(row.code, row.status, row.stage, row.risk_level, bool(row.risk_needs_judgement),
                       names.get(row.caseworker_id), names.get(row.supervisor_id), row.primary_concern or "",
                       row.date_registered,
                       row.date_last_contact, row.date_next_contact, row.date_next_review)


def model_files(session, model_id: int, kind: str | None = None) -> list[ProcessModelFile]:
    """The source files of one model version (``kind``: bpmn, dmn or form)."""
    query = select(ProcessModelFile).where(ProcessModelFile.model_id == model_id)
    if kind:
        query = query.where(ProcessModelFile.kind == kind)
    return list(session.scalars(query.order_by(ProcessModelFile.filename)))


# -- where a case stands in its processes ------------------------------------------------

@dataclass(frozen=True)
class DiagramPosition:
    """One diagram file of an instance with the elements to mark on it."""
    filename: str
    waiting_at: list[str]  # element ids: ready user tasks and pending timers
    done: list[str]


@dataclass(frozen=True)
class InstancePosition:
    """One process instance of a case and where it stands. A call activity runs inside the
    same instance, so its waiting elements may sit in another diagram file of the model."""
    instance_id: int
    process_id: str
    model_id: int
    model_name: str
    version: int
    status: str
    waiting_titles: list[str]
    diagrams: list[DiagramPosition]


def _file_of(files, element_id: str) -> str | None:
    marker = f'id="{element_id}"'
    return next((f.filename for f in files if marker in f.content), None)


def case_positions(session, case_code: str, limit: int = 10) -> list[InstancePosition]:
    """The case's process instances (running first, newest first) and where each stands."""
    instances = list(session.scalars(
        select(ProcessInstance).where(ProcessInstance.case_code == case_code)
        .order_by((ProcessInstance.status != "running"), ProcessInstance.id.desc()).limit(limit)))
    out = []
    for inst in instances:
        tasks = session.execute(select(HumanTask.bpmn_id, HumanTask.title, HumanTask.state)
                                .where(HumanTask.instance_id == inst.id)).all()
        timers = session.execute(select(Timer.bpmn_id, Timer.state).where(Timer.instance_id == inst.id)).all()
        waiting = {t.bpmn_id for t in tasks if t.state == "ready"} | {t.bpmn_id for t in timers if t.state == "pending"}
        done = {t.bpmn_id for t in tasks if t.state == "completed"} | {t.bpmn_id for t in timers if t.state == "fired"}
        files = model_files(session, inst.model_id, "bpmn")
        by_file: dict[str, tuple[set, set]] = {}
        main = _file_of(files, inst.process_id)
        if main:
            by_file[main] = (set(), set())
        for ids, slot in ((waiting, 0), (done, 1)):
            for element in ids:
                name = _file_of(files, element)
                if name:
                    by_file.setdefault(name, (set(), set()))[slot].add(element)
        diagrams = [DiagramPosition(name, sorted(w), sorted(d)) for name, (w, d) in by_file.items()
                    if w or (name == main and not waiting)]
        out.append(InstancePosition(inst.id, inst.process_id, inst.model_id, inst.model.name, inst.model.version,
                                    inst.status, [t.title for t in tasks if t.state == "ready"], diagrams))
    return out
