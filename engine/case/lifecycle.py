"""Who works on a case and whether it is open: assignment within the caseload cap (R06,
R31), reassignment (R29), closure only once authorised (R22, R25), reopening (R24).

These are the guarded state changes of a case. The diagrams reach them through the
``case.*`` operations; people reach ``reassign_case`` and ``reopen_case`` directly. Each
refuses with a clear error and changes nothing when a rule is broken.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update

from engine import clock
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import Case, HumanTask, Supervision, User
from engine.models.case_decisions import ClosureRequest
from engine.bpmn.runtime import ProcessRuntime
from engine.case import processes as case_processes
from engine.case.records import active_caseload, load_case, record_event, set_stage, set_status, user_named, username
from engine.people.accounts import get_user, supervisee_ids

CLOSING_STATUSES = ("requested", "authorised")


# -- assignment -------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseloadRule:
    """The caps of DMN ``caseload_limits`` (R06: active cases; R31: new cases per period)."""
    max_active_cases: int
    max_new_cases: int
    new_cases_period_days: int


def supervisor_of(session, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    return session.scalar(select(Supervision.supervisor_id).where(Supervision.supervisee_id == user_id)
                          .order_by(Supervision.supervisor_id).limit(1))


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
        raise Invalid(f"{chosen!r} is not an active caseworker",
                      errors={"new_caseworker": ["choose the username of an active caseworker"]})
    within, active = has_capacity(uow.session, user, rule)
    if not within and not (override_reason or "").strip():
        raise Invalid(f"{user.username} has {active} active cases (cap {rule.max_active_cases}) or too many "
                      f"new cases this period; give a reason to assign over the cap (R06)",
                      errors={"cap_override_reason": ["required to assign above the caseload cap"]})
    assign(uow, case, user, actor_id, "chosen by a supervisor" + ("" if within else ", above the cap"),
           active_cases=active, cap=rule.max_active_cases, override_reason=override_reason if not within else None)
    return user


def reassign_case(uow, actor_id: int, case_code: str, new_caseworker: str, reason: str) -> Case:
    """A supervisor or the director hands a case to another caseworker (R29 handover): the
    open tasks of the leaving caseworker on this case move with it."""
    session = uow.session
    actor = get_user(session, actor_id)
    case = load_case(session, case_code)
    if case.status == "C":
        raise Conflict(f"case {case.code} is closed")
    supervised = supervisee_ids(session, actor.id)
    if not ("director" in actor.roles or case.supervisor_id == actor.id or case.caseworker_id in supervised):
        raise Forbidden("only the case's supervisor or the director may reassign it")
    if not (reason or "").strip():
        raise Invalid("say why the case changes hands", errors={"reason": ["is required"]})
    user = user_named(session, new_caseworker)
    if user is None or "caseworker" not in user.roles:
        raise Invalid(f"{new_caseworker!r} is not an active caseworker",
                      errors={"new_caseworker": ["choose the username of an active caseworker"]})
    previous = case.caseworker_id
    assign(uow, case, user, actor.id, f"reassigned: {reason}")
    if previous is not None:
        session.execute(update(HumanTask).where(HumanTask.case_code == case.code, HumanTask.state == "ready",
                                                HumanTask.assignee_id == previous)
                        .values(assignee_id=user.id).execution_options(synchronize_session="fetch"))
    return case


# -- closure ------------------------------------------------------------------------------
def pending_closure(session, case: Case) -> ClosureRequest | None:
    return session.scalar(select(ClosureRequest).where(ClosureRequest.case_id == case.id,
                                                       ClosureRequest.status.in_(CLOSING_STATUSES))
                          .order_by(ClosureRequest.id.desc()).limit(1))


def close_case(uow, runtime: ProcessRuntime, actor_id: int | None, case_code: str,
               keep_instance_ids=()) -> Case:
    """Close a case through its authorised closure request (R22), a transfer only with the
    family's consent (R25). Ends the case's other processes (follow-ups, reviews,
    referral trackers, a waiting main process)."""
    session = uow.session
    case = load_case(session, case_code)
    if case.status == "C":
        raise Conflict(f"case {case.code} is already closed")
    closure = pending_closure(session, case)
    if closure is None or closure.status != "authorised":
        raise Forbidden(f"case {case.code} cannot be closed: a closure must be reviewed and authorised by the "
                        "case committee first (R22)")
    if closure.reason == "transfer" and (closure.transfer_consent != "given" or not closure.handover_plan):
        raise Forbidden(f"case {case.code} cannot be transferred: the file is handed over only after the "
                        "child/family consents, with a handover plan (R25)")
    now = clock.now()
    closure.status, closure.closed_at = "closed", now
    case.closure_reason = closure.reason
    case.date_closed = now
    case.in_crisis = False
    case.date_next_contact = case.date_next_review = None
    if closure.reason == "transfer":
        case.date_transferred = now
    set_status(uow, case, actor_id, "C", f"closed ({closure.reason.replace('_', ' ')})")
    set_stage(uow, case, actor_id, "closed")
    case_processes.cancel_case_processes(uow, case.code, actor_id, "case closed", keep_ids=keep_instance_ids)
    return case


def end_without_case_management(uow, case: Case, actor_id: int | None, reason: str) -> None:
    """"No action required" (R01), or low risk after the initial assessment (R10): the case
    ends without a closure conference because case management never started."""
    now = clock.now()
    case.closure_reason = reason
    case.date_closed = now
    case.in_crisis = False
    set_status(uow, case, actor_id, "C", f"no case management ({reason.replace('_', ' ')})")
    set_stage(uow, case, actor_id, "no_action")


# -- reopening -------------------------------------------------------------------------------
def may_reopen(user: User, case: Case, supervised: set[int]) -> bool:
    return ("director" in user.roles or case.supervisor_id == user.id or case.caseworker_id == user.id
            or case.caseworker_id in supervised)


def reopen(uow, runtime: ProcessRuntime, case: Case, actor_id: int | None, why: str,
           keep_instance_ids=(), parent_instance_id: int | None = None):
    """Reopen a closed case (R24): its other processes end, a new main process starts with
    a reassessment."""
    if case.status != "C":
        raise Conflict(f"case {case.code} is not closed")
    case_processes.cancel_case_processes(uow, case.code, actor_id, "case reopened", keep_ids=keep_instance_ids)
    now = clock.now()
    case.date_reopened = now
    case.reopen_count += 1
    case.closure_reason = None
    case.date_closed = None
    set_status(uow, case, actor_id, "O", f"reopened: {why}")
    set_stage(uow, case, actor_id, "assessment")
    return case_processes.start_case_process(uow, runtime, case_processes.MAIN_PROCESS, case, actor_id,
                                             {"reopened": True}, parent_instance_id)


def reopen_case(uow, runtime: ProcessRuntime, actor_id: int, case_code: str, reason: str) -> Case:
    """A person reopens a closed case because new information emerged (R24)."""
    session = uow.session
    actor = get_user(session, actor_id)
    case = load_case(session, case_code)
    if not may_reopen(actor, case, supervisee_ids(session, actor.id)):
        raise Forbidden("only the case's caseworker, its supervisor or the director may reopen it")
    if not (reason or "").strip():
        raise Invalid("say why the case is reopened", errors={"reason": ["is required"]})
    reopen(uow, runtime, case, actor.id, reason)
    return case
