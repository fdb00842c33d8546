"""Inbox queries: the ready tasks a person can act on, paged, filtered and counted — the
one query engine behind the inbox pages (:func:`inbox_page`) and ``GET /api/tasks``
(:func:`task_list`).

Lists carry case codes and staff usernames, never a client's name (R32). Every filter maps
onto an index of ``human_tasks`` (assignee/role + state + due) so the inbox stays fast with
many thousands of tasks.

While a disruption is active its crisis checks come first (R37: each caseworker reaches
their affected clients before anything else), then the tasks of an urgent case (a first
action or follow-up was missed, R46), then a drill's crisis checks (a drill never displaces
live urgent work), then the rest — each tier in the usual order among itself: each scope
is read in index-ordered parts, one per tier, and merged. With no disruption or drill
active there are two tiers, as before.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select

from engine import clock
from engine.errors import Forbidden, Invalid
from engine.models import Case, HumanTask, ProcessModel, TaskState, User
from engine.models.crisis import Crisis, CrisisCaseCheck
from engine.people import access
from engine.people.directory import get_user, name_of, supervisee_ids, usernames

INBOX_STATUSES = ("all", "overdue", "due_today", "due_week", "no_due")
# "This week" on the inbox and the dashboard: a presentation window, not a domain deadline.
WEEK = dt.timedelta(days=7)
MAX_PAGE_SIZE = 200
API_SCOPES = ("mine", "claimable", "team", "open")


@dataclass(frozen=True)
class InboxQuery:
    scope: str = "open"  # open (mine + claimable) | mine | claimable | team
    case_code: str | None = None
    process_id: str | None = None
    status: str = "all"  # one of INBOX_STATUSES
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class TaskRow:
    """One line of an inbox or dashboard list: codes and usernames only."""
    id: str
    case_code: str | None
    process_id: str
    bpmn_id: str
    title: str
    role: str | None
    assignee: str | None
    due_at: dt.datetime | None
    priority: int
    risk_level: str | None
    overdue: bool
    due_today: bool
    instance_id: int
    created_at: dt.datetime
    state: str = TaskState.READY
    urgent: bool = False  # its case is urgent (R46): ranked first
    crisis_check: bool = False  # a crisis check of the active disruption: ranked before everything

    @property
    def name(self) -> str:
        return self.bpmn_id


@dataclass(frozen=True)
class InboxPage:
    rows: list[TaskRow]
    total: int
    page: int
    pages: int
    query: InboxQuery


def day_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Start and end of the current UTC day."""
    start = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


def scopes_for(user: User) -> tuple[str, ...]:
    """The inbox scopes this user has: everyone has 'open' (what I can act on: mine and
    claimable together), 'mine' and 'claimable'; supervisors and the director 'team'."""
    base = ("open", "mine", "claimable")
    return base + ("team",) if user.has_role(*access.TEAM_ROLES) else base


def scope_filter(session, user: User, scope: str):
    if scope == "open":
        return or_(HumanTask.assignee_id == user.id,
                   and_(HumanTask.assignee_id.is_(None), HumanTask.role.in_(sorted(user.roles) or ["-"])))
    if scope == "mine":
        return HumanTask.assignee_id == user.id
    if scope == "claimable":
        return and_(HumanTask.assignee_id.is_(None), HumanTask.role.in_(sorted(user.roles) or ["-"]))
    if scope == "team":
        if not user.has_role(*access.TEAM_ROLES):
            raise Forbidden("only supervisors and directors have a team inbox")
        return HumanTask.assignee_id.in_(supervisee_ids(session, user.id) or {-1})
    raise Invalid(f"unknown scope {scope!r}", errors={"scope": ["one of open, mine, claimable, team"]})


def status_filter(status: str, now: dt.datetime):
    _, end_of_day = day_bounds(now)
    if status == "all":
        return None
    if status == "overdue":
        return and_(HumanTask.due_at.is_not(None), HumanTask.due_at < now)
    if status == "due_today":
        return and_(HumanTask.due_at >= now, HumanTask.due_at < end_of_day)
    if status == "due_week":
        return and_(HumanTask.due_at >= now, HumanTask.due_at < now + WEEK)
    if status == "no_due":
        return HumanTask.due_at.is_(None)
    raise Invalid(f"unknown status {status!r}", errors={"status": [f"one of {', '.join(INBOX_STATUSES)}"]})


def urgent_case_codes():
    """SQL: the codes of the cases that are urgent now (R46)."""
    return select(Case.code).where(Case.urgent_since.is_not(None))


def crisis_check_instances(drill: bool):
    """SQL: the instances carrying a crisis check of the active disruption (``drill``: of
    the active drill)."""
    return (select(CrisisCaseCheck.instance_id).join(Crisis, Crisis.id == CrisisCaseCheck.crisis_id)
            .where(Crisis.active_slot.is_not(None), Crisis.drill.is_(drill), CrisisCaseCheck.instance_id.is_not(None)))


def task_rows(session, tasks: list[HumanTask], now: dt.datetime, urgent: set[str] | None = None,
              crisis_checks: set[str] | frozenset[str] = frozenset()) -> list[TaskRow]:
    names = usernames(session, (t.assignee_id for t in tasks))
    _, end_of_day = day_bounds(now)
    if urgent is None:
        codes = {t.case_code for t in tasks if t.case_code}
        urgent = set(session.scalars(urgent_case_codes().where(Case.code.in_(codes)))) if codes else set()
    return [TaskRow(id=t.id, case_code=t.case_code, process_id=t.process_id, bpmn_id=t.bpmn_id, title=t.title,
                    role=t.role, assignee=name_of(names, t.assignee_id), due_at=t.due_at, priority=t.priority,
                    risk_level=t.risk_level, overdue=bool(t.due_at and t.due_at < now),
                    due_today=bool(t.due_at and now <= t.due_at < end_of_day), instance_id=t.instance_id,
                    created_at=t.created_at, state=t.state, urgent=t.case_code in urgent,
                    crisis_check=t.id in crisis_checks)
            for t in tasks]


def ordered(query):
    """Due first (no due date last), then the highest priority, then the oldest. NULLS LAST
    is the natural order of the (assignee/role, state, due_at) indexes, so the database
    reads a page straight off the index."""
    return query.order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.priority.desc(), HumanTask.created_at,
                          HumanTask.id)


def sort_key(task: HumanTask, tier: int):
    return (tier, task.due_at is None, task.due_at or dt.datetime.min.replace(tzinfo=dt.UTC), -task.priority,
            task.created_at, task.id)


def _tiers(session) -> list[tuple[str, ColumnElement[bool]]]:
    """Disjoint conditions, in inbox order: the active disruption's crisis checks, urgent
    cases' tasks, the active drill's crisis checks, the rest (the crisis tiers only while
    a disruption or drill is active)."""
    active = set(session.scalars(select(Crisis.drill).where(Crisis.active_slot.is_not(None))))
    urgent = HumanTask.case_code.in_(urgent_case_codes())
    not_urgent = or_(HumanTask.case_code.is_(None), HumanTask.case_code.not_in(urgent_case_codes()))
    tiers: list[tuple[str, ColumnElement[bool]]] = []
    outside: list[ColumnElement[bool]] = []
    if False in active:
        real = crisis_check_instances(False)
        tiers.append(("crisis", HumanTask.instance_id.in_(real)))
        outside.append(HumanTask.instance_id.not_in(real))
    tiers.append(("urgent", and_(urgent, *outside)))
    outside.append(not_urgent)
    if True in active:
        drill = crisis_check_instances(True)
        tiers.append(("drill", and_(HumanTask.instance_id.in_(drill), *outside)))
        outside.append(HumanTask.instance_id.not_in(drill))
    tiers.append(("rest", and_(*outside)))
    return tiers


def _parts(session, user: User, scope: str) -> list:
    """Disjoint pieces of a scope that each map onto one index: 'open' is what I hold plus
    what is offered to my roles (an OR across both would defeat either index)."""
    if scope == "open":
        return [scope_filter(session, user, "mine"), scope_filter(session, user, "claimable")]
    return [scope_filter(session, user, scope)]


def _conditions(query: InboxQuery, now: dt.datetime) -> list:
    conditions = [HumanTask.state == TaskState.READY]
    status = status_filter(query.status, now)
    if status is not None:
        conditions.append(status)
    if query.case_code:
        conditions.append(HumanTask.case_code == query.case_code)
    if query.process_id:
        conditions.append(HumanTask.process_id == query.process_id)
    return conditions


def _count(session, conditions: list, parts: list) -> int:
    return sum(session.scalar(select(func.count()).select_from(HumanTask).where(*conditions, part)) or 0
               for part in parts)


@dataclass(frozen=True)
class _Fetched:
    tasks: list[HumanTask]
    urgent: set[str]  # case codes of urgent cases among them
    crisis_checks: set[str]  # ids of the active disruption's crisis checks among them
    every_row: int | None  # how many rows the scope holds when fewer than the window's end were read: all of them


def _fetch(session, conditions: list, parts: list, offset: int, limit: int) -> _Fetched:
    """Rows ``offset`` to ``offset + limit`` of the scope in inbox order (see the module
    docstring): each disjoint part is read tier by tier in index order up to the end of
    the window, then merged."""
    upto = offset + limit
    tier_of: dict[str, int] = {}
    tasks: list[HumanTask] = []
    urgent: set[str] = set()
    checks: set[str] = set()
    tiers = _tiers(session)  # one read of the active crises for every part
    for part in parts:
        for tier, (name, condition) in enumerate(tiers):
            found = list(session.scalars(ordered(select(HumanTask).where(*conditions, part, condition)).limit(upto)))
            for task in found:
                tier_of[task.id] = tier
            if name == "urgent":
                urgent |= {t.case_code for t in found if t.case_code}
            elif name == "crisis":
                checks |= {t.id for t in found}
            tasks += found
    window = sorted(tasks, key=lambda t: sort_key(t, tier_of[t.id]))[offset:upto]
    # each tier is read from its first row: fewer than ``upto`` in all means every row was read
    return _Fetched(window, urgent, checks, len(tasks) if len(tasks) < upto else None)


def _rows(session, fetched: _Fetched, now: dt.datetime) -> list[TaskRow]:
    # a crisis check of an urgent case is in the crisis tier: look its urgency up then
    urgent = None if fetched.crisis_checks else fetched.urgent
    return task_rows(session, fetched.tasks, now, urgent, fetched.crisis_checks)


def inbox_page(session, user_id: int, query: InboxQuery, known_counts: dict[str, int] | None = None) -> InboxPage:
    """One page of ready tasks in one inbox scope, filtered by case, process and status
    (a page past the last shows the last).

    ``known_counts`` (from :func:`inbox_counts`, already computed for the navigation)
    spares counting the unfiltered scope twice."""
    user = get_user(session, user_id)
    now = clock.now()
    page_size = min(max(query.page_size, 1), MAX_PAGE_SIZE)
    conditions = _conditions(query, now)
    parts = _parts(session, user, query.scope)
    unfiltered = len(conditions) == 1
    asked = max(query.page, 1)
    fetched = None
    if unfiltered and known_counts and query.scope in known_counts:
        total = known_counts[query.scope]
    else:  # the page asked for first: a scope shorter than its end is its own count (task_list)
        fetched = _fetch(session, conditions, parts, (asked - 1) * page_size, page_size)
        total = fetched.every_row if fetched.every_row is not None else _count(session, conditions, parts)
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(asked, pages)
    if fetched is None or page != asked:  # not read yet, or asked past the last page
        fetched = _fetch(session, conditions, parts, (page - 1) * page_size, page_size)
    return InboxPage(_rows(session, fetched, now), total, page, pages, query)


def task_list(session, user_id: int, scope: str = "mine", overdue: bool = False, case_code: str | None = None,
              process_id: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[TaskRow], int]:
    """``GET /api/tasks``: ready tasks in one scope, urgent cases' first, then due first
    and highest priority, from ``offset``; and the total."""
    user = get_user(session, user_id)
    now = clock.now()
    query = InboxQuery(scope=scope, case_code=case_code, process_id=process_id,
                       status="overdue" if overdue else "all")
    conditions = _conditions(query, now)
    parts = _parts(session, user, scope)
    fetched = _fetch(session, conditions, parts, max(offset, 0), min(max(limit, 1), MAX_PAGE_SIZE * 5))
    # a list shorter than its window's end was read whole: it is its own count (most lists are)
    total = fetched.every_row if fetched.every_row is not None else _count(session, conditions, parts)
    return _rows(session, fetched, now), total


def inbox_counts(session, user_id: int) -> dict[str, int]:
    """How many ready tasks each of the user's scopes holds, how many of mine are overdue and,
    for a supervisor or the director, how many of the team's (``team_overdue``: held by the
    people they supervise)."""
    user = get_user(session, user_id)

    def ready(*conditions):
        return select(func.count()).select_from(HumanTask).where(HumanTask.state == TaskState.READY,
                                                                 *conditions).scalar_subquery()

    scopes = {scope: scope_filter(session, user, scope) for scope in scopes_for(user) if scope != "open"}
    late = (HumanTask.due_at.is_not(None), HumanTask.due_at < clock.now())
    extra = {"overdue": ready(HumanTask.assignee_id == user.id, *late)}
    if "team" in scopes:
        extra["team_overdue"] = ready(scopes["team"], *late)
    # every count in one statement (each its own read off its index): the navigation asks on every page
    found = session.execute(select(*(ready(condition) for condition in scopes.values()), *extra.values())).one()
    counts = {name: found[i] or 0 for i, name in enumerate([*scopes, *extra])}
    counts["open"] = counts["mine"] + counts["claimable"]  # disjoint: held by me / held by nobody
    return counts


def inbox_processes(session) -> list[str]:
    """Process ids someone can filter the inbox by (every deployed process)."""
    return list(session.scalars(select(ProcessModel.process_id).distinct().order_by(ProcessModel.process_id)))


def newly_ready_for(session, user_id: int, instance_id: int, exclude_task_id: str) -> list[HumanTask]:
    """Ready tasks of one instance this user holds or may claim (after completing one)."""
    user = get_user(session, user_id)
    return list(session.scalars(ordered(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.state == TaskState.READY, HumanTask.id != exclude_task_id,
        scope_filter(session, user, "open")))))
