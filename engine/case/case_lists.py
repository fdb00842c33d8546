"""The cases a person may see, as a list: codes and the work on them, never a client's
name (R32). The visibility rule is the SQL twin of ``access.may_view_case``; the facts that
rule needs beyond the case row (a team's referral, a handover's shadowing) are decided here
for both, so the list and the file never disagree."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from engine import clock
from engine.case import case_counts
from engine.models import Case, HumanTask, TaskState, User, UserRole
from engine.models.case import ACTIVE_STATUSES
from engine.models.case_decisions import Conference
from engine.models.handovers import Handover, HandoverCase, HandoverStatus
from engine.people import access
from engine.people.directory import get_user, supervisee_ids, usernames

MAX_PAGE = 500
MAX_HANDOVER_CHOICES = 500  # cases offered in one "hand a case over" list
# what a list shows of a case: never its notes (confidential or not) nor any other long text
LIST_COLUMNS = (Case.code, Case.status, Case.stage, Case.risk_level, Case.in_crisis, Case.caseworker_id,
                Case.supervisor_id, Case.date_identified, Case.date_next_contact, Case.date_next_review,
                Case.updated_at)


@dataclass(frozen=True)
class CaseRow:
    """One line of a case list: the code and the work on it, no name (R32)."""
    code: str
    status: str
    stage: str
    risk_level: str | None
    in_crisis: bool
    caseworker: str | None
    supervisor: str | None
    date_identified: dt.datetime | None
    date_next_contact: dt.datetime | None
    date_next_review: dt.datetime | None
    updated_at: dt.datetime


# -- the facts beyond the case row ------------------------------------------------------------
def team_roles(session, supervised: set[int]) -> set[str]:
    """The roles held by the people a supervisor supervises (the tasks their team is offered)."""
    if not supervised:
        return set()
    return set(session.scalars(select(UserRole.role).where(UserRole.user_id.in_(supervised)).distinct()))


def _open_task_of_case(held_by: set[int], offered_to: set[str] | list[str]):
    """SQL: the case has a ready task held by one of ``held_by`` or, unheld, offered to one of
    ``offered_to``. Each is an uncorrelated set of case codes read once off a ready-task index
    (hashed by the database), not a subquery run for every case."""
    held = Case.code.in_(select(HumanTask.case_code).where(
        HumanTask.state == TaskState.READY, HumanTask.assignee_id.in_(sorted(held_by)),
        HumanTask.case_code.is_not(None)))
    if not offered_to:
        return held
    return or_(held, Case.code.in_(select(HumanTask.case_code).where(
        HumanTask.state == TaskState.READY, HumanTask.assignee_id.is_(None), HumanTask.role.in_(sorted(offered_to)),
        HumanTask.case_code.is_not(None))))


def _team_task(supervised: set[int], roles: set[str]):
    """SQL: an open task of the case held by, or offered to, someone the user supervises."""
    return _open_task_of_case(supervised, roles)


def team_referral_condition(supervised: set[int], roles: set[str]):
    """SQL: a referral without a caseworker that the team screened or works on (what a
    supervisor's caseworkers see of it, the supervisor sees too)."""
    if not supervised:
        return None
    return and_(Case.caseworker_id.is_(None),
                or_(Case.intake_worker_id.in_(supervised), _team_task(supervised, roles)))


def is_team_referral(user: User, case: Case, supervised: set[int], roles: set[str],
                     open_tasks: list[HumanTask]) -> bool:
    """The Python twin of :func:`team_referral_condition`, over the case's open tasks."""
    if not supervised or case.caseworker_id is not None or not user.has_role(*access.TEAM_ROLES):
        return False
    if case.intake_worker_id in supervised:
        return True
    return any(t.assignee_id in supervised or (t.assignee_id is None and t.role in roles) for t in open_tasks)


def _shadowing(user_id: int, now: dt.datetime):
    """SQL: the case is in a handover by this user whose shadowing period runs (R29)."""
    return Case.id.in_(select(HandoverCase.case_id).join(Handover, HandoverCase.handover_id == Handover.id).where(
        Handover.from_caseworker_id == user_id, Handover.status == HandoverStatus.SHADOWING,
        Handover.shadow_until.is_not(None), Handover.shadow_until > now))


def shadowing_handover(session, user_id: int, case_id: int) -> int | None:
    """The handover through which this user still sees the case (its shadowing period runs),
    or None. Ends with the period: at ``shadow_until``, or when the handover completes."""
    return session.scalar(select(Handover.id).join(HandoverCase, HandoverCase.handover_id == Handover.id).where(
        HandoverCase.case_id == case_id, Handover.from_caseworker_id == user_id,
        Handover.status == HandoverStatus.SHADOWING, Handover.shadow_until.is_not(None),
        Handover.shadow_until > clock.now()).order_by(Handover.id.desc()).limit(1))


# -- the list -----------------------------------------------------------------------------------
def _visible(session, user, supervised: set[int]):
    """SQL condition: the cases ``user`` may see (the same rules as access.may_view_case)."""
    if user.has_role("director", "admin"):
        return None
    open_task = _open_task_of_case({user.id}, user.roles)
    conditions = [Case.caseworker_id == user.id, Case.supervisor_id == user.id, open_task,
                  and_(Case.intake_worker_id == user.id, Case.caseworker_id.is_(None)),
                  _shadowing(user.id, clock.now())]
    if supervised:
        conditions.append(Case.caseworker_id.in_(supervised))
        if user.has_role(*access.TEAM_ROLES):
            conditions.append(team_referral_condition(supervised, team_roles(session, supervised)))
    if "committee_member" in user.roles:
        conditions.append(Case.id.in_(select(Conference.case_id).where(Conference.outcome.is_(None))))
    return or_(*conditions)


def list_cases(session, user_id: int, status: str | None = None, stage: str | None = None,
               risk_level: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[CaseRow], int]:
    """The cases this user may see, most recently changed first, and their total.

    The total costs a read of every case counted, so it is read only when needed: a list that
    ends inside the window asked for is its own count (a caseworker's few dozen cases); the
    director's (every case), by status and risk level, is the sum of the counts kept as cases
    change (``case_counts``, a dozen rows instead of 100,000); anything else is counted."""
    user = get_user(session, user_id)
    condition = _visible(session, user, supervisee_ids(session, user.id))
    conditions = [] if condition is None else [condition]
    for column, value in ((Case.status, status), (Case.stage, stage), (Case.risk_level, risk_level)):
        if value:
            conditions.append(column == value)
    window, start = max(1, min(limit, MAX_PAGE)), max(offset, 0)
    rows = session.execute(select(*LIST_COLUMNS).where(*conditions).order_by(Case.updated_at.desc(), Case.id.desc())
                           .limit(window).offset(start)).all()
    if len(rows) < window and (rows or start == 0):
        total = start + len(rows)  # the list ended inside the window
    elif condition is None and not stage:
        total = case_counts.total(session, status=status, risk_level=risk_level)
    else:
        total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    names = usernames(session, [r.caseworker_id for r in rows] + [r.supervisor_id for r in rows])
    return [CaseRow(r.code, r.status, r.stage, r.risk_level, r.in_crisis, names.get(r.caseworker_id),
                    names.get(r.supervisor_id), r.date_identified, r.date_next_contact, r.date_next_review,
                    r.updated_at) for r in rows], total


@dataclass(frozen=True)
class HandoverChoice:
    """A case a supervisor may hand to another caseworker, as the list offers it."""
    code: str
    caseworker: str | None


def handover_choices(session, user_id: int) -> list[HandoverChoice]:
    """The active cases this supervisor (or the director) may hand over (``access.may_hand_over``),
    by caseworker then code, so that a case is chosen from a list, not typed."""
    user = get_user(session, user_id)
    if not user.has_role(*access.TEAM_ROLES):
        return []
    query = select(Case.code, Case.caseworker_id).where(Case.status.in_(ACTIVE_STATUSES))
    if "director" not in user.roles:
        supervised = supervisee_ids(session, user.id)
        query = query.where(or_(Case.supervisor_id == user.id, Case.caseworker_id.in_(supervised or {-1})))
    rows = session.execute(query.order_by(Case.caseworker_id, Case.code).limit(MAX_HANDOVER_CHOICES)).all()
    names = usernames(session, [r.caseworker_id for r in rows])
    choices = [HandoverChoice(r.code, names.get(r.caseworker_id)) for r in rows]
    return sorted(choices, key=lambda c: (c.caseworker is None, c.caseworker or "", c.code))
