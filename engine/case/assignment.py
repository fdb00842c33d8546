"""Who works on a case: assignment within the caseload cap (R06, R31) and handing a case
over to another caseworker (R29).

The diagrams reach these through the ``case.*`` operations; supervisors reach
``hand_over_case`` directly. Each refuses with a clear error and changes nothing when a
rule is broken.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update

from engine import clock
from engine.case.records import active_caseload, load_case, record_event
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import Case, CaseStatus, HumanTask, TaskState, User
from engine.people import access
from engine.people.directory import get_user, supervisee_ids, supervisor_of, user_named, username
from engine.service_ops.translations import N_


@dataclass(frozen=True)
class CaseloadRule:
    """The caps of DMN ``caseload_limits`` (R06: active cases; R31: new cases per period)."""
    max_active_cases: int
    max_new_cases: int
    new_cases_period_days: int


def new_cases_in_period(session, caseworker_id: int, days: int) -> int:
    since = clock.now() - dt.timedelta(days=days)
    return session.scalar(select(func.count()).select_from(Case).where(
        Case.caseworker_id == caseworker_id, Case.date_registered >= since)) or 0


def has_capacity(session, user: User, rule: CaseloadRule) -> tuple[bool, int]:
    """(within both caps, active caseload)."""
    active = active_caseload(session, user.id)
    fresh = new_cases_in_period(session, user.id, rule.new_cases_period_days)
    return active < rule.max_active_cases and fresh < rule.max_new_cases, active


def caseworkers(session) -> list[User]:
    users = session.scalars(select(User).where(User.active, User.available).order_by(User.username))
    return [u for u in users if "caseworker" in u.roles]


def choose_caseworker(session, rule: CaseloadRule, prefer_ids=()) -> User | None:
    """The preferred caseworker (continuity: the intake worker, or the previous one) if
    within the caps, else the one with the smallest caseload within them; None if nobody."""
    candidates = caseworkers(session)
    loads = {u.id: has_capacity(session, u, rule) for u in candidates}
    fits = [u for u in candidates if loads[u.id][0]]
    for preferred in prefer_ids:
        for user in fits:
            if user.id == preferred:
                return user
    return min(fits, key=lambda u: (loads[u.id][1], u.username), default=None)


def assign(uow, case: Case, caseworker: User, actor_id: int | None, why: str, **detail) -> None:
    before = case.caseworker_id
    case.caseworker_id = caseworker.id
    case.supervisor_id = supervisor_of(uow.session, caseworker.id)
    record_event(uow, case, actor_id, "assignment",
                 f"caseworker {caseworker.username} assigned ({why}); supervisor "
                 f"{username(uow.session, case.supervisor_id) or 'none'}",
                 before=username(uow.session, before), after=caseworker.username, **detail)


def assign_chosen(uow, case: Case, chosen: str | None, rule: CaseloadRule, actor_id: int | None,
                  override_reason: str | None) -> User:
    """A supervisor's choice (R06): an active caseworker within the cap, or over it with a
    reason kept on the record."""
    user = user_named(uow.session, chosen)
    if user is None or "caseworker" not in user.roles:
        raise Invalid(N_("%(name)s is not an active caseworker") % {"name": repr(chosen)},
                      errors={"new_caseworker": ["choose the username of an active caseworker"]})
    within, active = has_capacity(uow.session, user, rule)
    if not within and not (override_reason or "").strip():
        raise Invalid(N_("%(username)s has %(active)s active cases (cap %(cap)s) or too many new cases this period; "
                         "give a reason to assign over the cap")
                      % {"username": user.username, "active": active, "cap": rule.max_active_cases},
                      errors={"cap_override_reason": ["required to assign above the caseload cap"]})
    assign(uow, case, user, actor_id, "chosen by a supervisor" + ("" if within else ", above the cap"),
           active_cases=active, cap=rule.max_active_cases, override_reason=override_reason if not within else None)
    return user


def hand_over_case(uow, actor_id: int, case_code: str, new_caseworker: str, reason: str) -> Case:
    """A supervisor or the director hands a case to another caseworker (R29 handover).
    Commits."""
    case = reassign_case(uow, actor_id, case_code, new_caseworker, reason)
    uow.commit()
    return case


def reassign_case(uow, actor_id: int, case_code: str, new_caseworker: str, reason: str) -> Case:
    """Hand a case to another caseworker: the open tasks of the leaving caseworker on this
    case move with it. A building block (the escalation operation calls it inside a step);
    the calling use case commits."""
    session = uow.session
    actor = get_user(session, actor_id)
    case = load_case(session, case_code)
    if case.status == CaseStatus.CLOSED:
        raise Conflict(N_("case %(code)s is closed") % {"code": case.code})
    if not access.may_hand_over(actor, case, supervisee_ids(session, actor.id)):
        raise Forbidden("only the case's supervisor or the director may reassign it")
    if not (reason or "").strip():
        raise Invalid("say why the case changes hands", errors={"reason": ["is required"]})
    user = user_named(session, new_caseworker)
    if user is None or "caseworker" not in user.roles:
        raise Invalid(N_("%(name)s is not an active caseworker") % {"name": repr(new_caseworker)},
                      errors={"new_caseworker": ["choose the username of an active caseworker"]})
    previous = case.caseworker_id
    assign(uow, case, user, actor.id, f"reassigned: {reason}")
    if previous is not None:
        session.execute(update(HumanTask).where(HumanTask.case_code == case.code, HumanTask.state == TaskState.READY,
                                                HumanTask.assignee_id == previous)
                        .values(assignee_id=user.id).execution_options(synchronize_session="fetch"))
    return case


