"""The cases a person may see, as a list: codes and the work on them, never a client's
name (R32). The visibility rule is the SQL twin of ``access.may_view_case``."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select

from engine.models import Case, HumanTask, TaskState
from engine.models.case_decisions import Conference
from engine.people.directory import get_user, supervisee_ids, usernames

MAX_PAGE = 500


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


def _visible(user, supervised: set[int]):
    """SQL condition: the cases ``user`` may see (the same rules as access.may_view_case)."""
    if user.has_role("director", "admin"):
        return None
    roles = sorted(user.roles) or ["-"]
    open_task = exists().where(HumanTask.case_code == Case.code, HumanTask.state == TaskState.READY,
                               or_(HumanTask.assignee_id == user.id,
                                   and_(HumanTask.assignee_id.is_(None), HumanTask.role.in_(roles))))
    conditions = [Case.caseworker_id == user.id, Case.supervisor_id == user.id, open_task,
                  and_(Case.intake_worker_id == user.id, Case.caseworker_id.is_(None))]
    if supervised:
        conditions.append(Case.caseworker_id.in_(supervised))
    if "committee_member" in user.roles:
        conditions.append(exists().where(Conference.case_id == Case.id, Conference.outcome.is_(None)))
    return or_(*conditions)


def list_cases(session, user_id: int, status: str | None = None, stage: str | None = None,
               risk_level: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[CaseRow], int]:
    """The cases this user may see, most recently changed first, and their total."""
    user = get_user(session, user_id)
    query = select(Case)
    condition = _visible(user, supervisee_ids(session, user.id))
    if condition is not None:
        query = query.where(condition)
    for column, value in ((Case.status, status), (Case.stage, stage), (Case.risk_level, risk_level)):
        if value:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(Case.updated_at.desc(), Case.id.desc())
                                .limit(max(1, min(limit, MAX_PAGE))).offset(max(offset, 0))))
    names = usernames(session, [r.caseworker_id for r in rows] + [r.supervisor_id for r in rows])
    return [CaseRow(r.code, r.status, r.stage, r.risk_level, r.in_crisis, names.get(r.caseworker_id),
                    names.get(r.supervisor_id), r.date_identified, r.date_next_contact, r.date_next_review,
                    r.updated_at) for r in rows], total


