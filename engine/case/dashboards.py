"""Read-side queries behind the supervisor's dashboard and the task page's surroundings.

Nothing here changes a record. Lists carry case codes and staff usernames, never a
client's name (R32); every list is bounded.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, union_all

from engine import clock
from engine.case import case_counts
from engine.errors import Forbidden
from engine.models import RISK_LEVELS, UNRATED, Case, HumanTask, TaskState, User
from engine.models.case_counts import CaseCountDelta
from engine.people import access
from engine.people.directory import get_user, team_members, usernames
from engine.process.inbox import WEEK, TaskRow, ordered, sort_key, status_filter, task_rows, urgent_case_codes

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


@dataclass(frozen=True)
class UrgentCase:
    """A case whose first action or follow-up was missed (R46): ranked first."""
    case_code: str
    caseworker: str | None
    risk_level: str | None
    since: dt.datetime
    reason: str


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
    urgent_cases: list[UrgentCase] = field(default_factory=list)


def _team_case_filter(user: User, team_ids: set[int], columns=Case):
    """Cases a supervisor oversees: supervised by them or carried by their team. A
    director sees every case (need-to-know: the director stands in for supervisors).
    ``columns``: of ``cases``, or of the counts kept of them (``CaseCountDelta``)."""
    if user.has_role("director"):
        return None
    return or_(columns.supervisor_id == user.id, columns.caseworker_id.in_(team_ids or {-1}))


def caseloads(members: list[User], active_per_caseworker: dict[int | None, int], cap: int | None) -> list[Caseload]:
    """Active cases per caseworker on the team, against the caseload cap."""
    return [Caseload(w.username, w.display_name, w.id, active_per_caseworker.get(w.id, 0), cap, w.available)
            for w in members if "caseworker" in w.roles]


@dataclass
class _CaseCounts:
    by_status: dict[str, int] = field(default_factory=dict)
    by_risk: dict[str, int] = field(default_factory=dict)  # active cases
    per_caseworker: dict[int | None, int] = field(default_factory=dict)  # active cases


def _case_counts(session, user: User, team_ids: set[int], active_statuses: tuple[str, ...]) -> _CaseCounts:
    """The team's cases by status, and the active ones by risk level and by caseworker, from
    the counts kept as cases change (``engine.case.case_counts``: a few rows a group, not a
    read of every case; the team's caseworkers' cases are all among the team's cases)."""
    counts = _CaseCounts()
    scope = _team_case_filter(user, team_ids, CaseCountDelta)
    for status, level, worker, count in case_counts.counts(session, *([scope] if scope is not None else [])):
        counts.by_status[status] = counts.by_status.get(status, 0) + count
        if status in active_statuses:
            key = level if level in RISK_LEVELS else UNRATED
            counts.by_risk[key] = counts.by_risk.get(key, 0) + count
            counts.per_caseworker[worker] = counts.per_caseworker.get(worker, 0) + count
    return counts


def _team_tasks(session, parts: list, lists: dict, limit: int) -> tuple[list[int], dict]:
    """How many ready tasks of ``parts`` each of ``lists`` (name → condition) holds, in one
    statement; and the first ``limit`` of each, of urgent cases (tier 0) and the rest (tier 1),
    in inbox order, in one more: each part of each tier of each list is its own ``ORDER BY …
    LIMIT`` read off its index (an OR of the parts would read and sort every row of both),
    put together with ``UNION ALL``."""
    ready = HumanTask.state == TaskState.READY
    totals = session.execute(select(*(
        select(func.count()).select_from(HumanTask).where(ready, part, condition).scalar_subquery()
        for condition in lists.values() for part in parts))).one()
    tiers = (HumanTask.case_code.in_(urgent_case_codes()),
             or_(HumanTask.case_code.is_(None), HumanTask.case_code.not_in(urgent_case_codes())))
    # rows of the task's columns (what task_rows reads), not ORM objects: half the cost
    reads = [ordered(select(*HumanTask.__table__.c, literal(f"{name}:{tier}").label("tier"))
                     .where(ready, part, condition, tiers[tier])).limit(limit)
             for name, condition in lists.items() for tier in (0, 1) for part in parts]
    found: dict[tuple[str, int], list[Any]] = {(name, tier): [] for name in lists for tier in (0, 1)}
    # each read a subquery of its own: SQLite takes no "(SELECT … LIMIT n) UNION ALL …"
    for task in session.execute(union_all(*(select(read.subquery()) for read in reads))).all():
        name, tier = task.tier.split(":")
        found[name, int(tier)].append(task)
    for key, tasks in found.items():
        found[key] = sorted(tasks, key=lambda t: sort_key(t, 0))[:limit]
    return [sum(totals[i:i + len(parts)]) for i in range(0, len(totals), len(parts))], found


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
    roles = sorted({r for m in members for r in m.roles} | user.roles) or ["-"]
    # held by the team (or me), and offered to the team's roles with nobody holding them: disjoint,
    # each read off its own index (an OR of the two would read and sort every row of both)
    parts = [HumanTask.assignee_id.in_(team_ids | {user.id}),
             and_(HumanTask.assignee_id.is_(None), HumanTask.role.in_(roles))]

    lists = {"overdue": status_filter("overdue", now), "week": status_filter("due_week", now)}
    totals, found = _team_tasks(session, parts, lists, list_limit)
    # the tasks of urgent cases first (R46), then the rest, each in inbox order
    chosen = {name: (found[name, 0] + found[name, 1])[:list_limit] for name in lists}
    rows = {row.id: row for row in task_rows(session, [t for ts in chosen.values() for t in ts], now,
                                             {t.case_code for name in lists for t in found[name, 0] if t.case_code})}
    overdue, upcoming = ([rows[t.id] for t in chosen[name]] for name in lists)
    overdue_total, upcoming_total = totals

    case_scope = _team_case_filter(user, team_ids)
    conditions = [case_scope] if case_scope is not None else []
    active = conditions + [Case.status.in_(active_statuses)]
    counts = _case_counts(session, user, team_ids, active_statuses)
    review_rows = session.execute(
        select(Case.code, Case.caseworker_id, Case.risk_level, Case.date_next_review)
        .where(*active, Case.date_next_review.is_not(None), Case.date_next_review < now + WEEK)
        .order_by(Case.date_next_review).limit(list_limit)).all()
    urgent_rows = session.execute(
        select(Case.code, Case.caseworker_id, Case.risk_level, Case.urgent_since, Case.urgent_reason)
        .where(*active, Case.urgent_since.is_not(None)).order_by(Case.urgent_since).limit(list_limit)).all()
    names = usernames(session, {r.caseworker_id for r in review_rows} | {r.caseworker_id for r in urgent_rows})
    urgent_cases = [UrgentCase(r.code, names.get(r.caseworker_id), r.risk_level, clock.as_utc(r.urgent_since),
                               r.urgent_reason or "") for r in urgent_rows]
    reviews = [ReviewDue(r.code, names.get(r.caseworker_id), r.risk_level, clock.as_utc(r.date_next_review),
                         clock.as_utc(r.date_next_review) < now) for r in review_rows]
    return SupervisorDashboard(
        caseloads=caseloads(members, counts.per_caseworker, caseload_cap),
        overdue=overdue, overdue_total=overdue_total, due_this_week=upcoming, due_this_week_total=upcoming_total,
        cases_by_risk=counts.by_risk, cases_by_status=counts.by_status, reviews_due=reviews,
        team=[(m.id, m.username, frozenset(m.roles)) for m in members], urgent_cases=urgent_cases)


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


SUMMARY_COLUMNS = (Case.code, Case.status, Case.stage, Case.risk_level, Case.risk_needs_judgement,
                   Case.caseworker_id, Case.supervisor_id, Case.primary_concern, Case.date_registered,
                   Case.date_last_contact, Case.date_next_contact, Case.date_next_review)


def case_summary(session, case_code: str | None) -> CaseSummary | None:
    return case_summaries(session, [case_code]).get(case_code or "")


def case_summaries(session, case_codes) -> dict[str, CaseSummary]:
    """:func:`case_summary` of each of ``case_codes`` (those that name a case), in two queries
    however many there are."""
    wanted = {code for code in case_codes if code}
    if not wanted:
        return {}
    rows = session.execute(select(*SUMMARY_COLUMNS).where(Case.code.in_(sorted(wanted)))).all()
    names = usernames(session, {r.caseworker_id for r in rows} | {r.supervisor_id for r in rows})
    return {row.code: CaseSummary(row.code, row.status, row.stage, row.risk_level, bool(row.risk_needs_judgement),
                                  names.get(row.caseworker_id), names.get(row.supervisor_id), row.primary_concern or "",
                                  row.date_registered, row.date_last_contact, row.date_next_contact,
                                  row.date_next_review)
            for row in rows}


