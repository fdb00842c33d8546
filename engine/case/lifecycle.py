"""Whether a case is open: closure only once authorised (R22, R25), ending without case
management (R01, R10), reopening (R24).

These are the guarded state changes of a case. The diagrams reach them through the
``case.*`` operations; people reach ``reopen_case`` directly. Each refuses with a clear
error and changes nothing when a rule is broken.
"""
from __future__ import annotations

from sqlalchemy import select

from engine import clock
from engine.bpmn.runtime import ProcessRuntime
from engine.case import processes as case_processes
from engine.case.records import load_case, set_stage, set_status
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import Case, CaseStage, CaseStatus, User
from engine.models.case_decisions import ClosureRequest
from engine.people.directory import get_user, supervisee_ids
from engine.service_ops.translations import N_

CLOSING_STATUSES = ("requested", "authorised")


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
    if case.status == CaseStatus.CLOSED:
        raise Conflict(N_("case %(code)s is already closed") % {"code": case.code})
    closure = pending_closure(session, case)
    if closure is None or closure.status != "authorised":
        raise Forbidden(N_("case %(code)s cannot be closed: a closure must be reviewed and authorised by the "
                           "case committee first") % {"code": case.code})
    if closure.reason == "transfer" and (closure.transfer_consent != "given" or not closure.handover_plan):
        raise Forbidden(N_("case %(code)s cannot be transferred: the file is handed over only after the "
                           "child/family consents, with a handover plan") % {"code": case.code})
    now = clock.now()
    closure.status, closure.closed_at = "closed", now
    case.closure_reason = closure.reason
    case.date_closed = now
    case.in_crisis = False
    case.date_next_contact = case.date_next_review = None
    if closure.reason == "transfer":
        case.date_transferred = now
    set_status(uow, case, actor_id, CaseStatus.CLOSED, f"closed ({closure.reason.replace('_', ' ')})")
    set_stage(uow, case, actor_id, CaseStage.CLOSED)
    case_processes.cancel_case_processes(uow, case.code, actor_id, "case closed", keep_ids=keep_instance_ids)
    return case


def end_without_case_management(uow, case: Case, actor_id: int | None, reason: str, keep_instance_ids=()) -> None:
    """"No action required" (R01), or low risk after the initial assessment (R10): the case
    ends without a closure conference because case management never started. Whatever
    else runs for it (the wait for the 18th birthday) ends too."""
    case_processes.cancel_case_processes(uow, case.code, actor_id, "no case management", keep_ids=keep_instance_ids)
    now = clock.now()
    case.closure_reason = reason
    case.date_closed = now
    case.in_crisis = False
    set_status(uow, case, actor_id, CaseStatus.CLOSED, f"no case management ({reason.replace('_', ' ')})")
    set_stage(uow, case, actor_id, CaseStage.NO_ACTION)


# -- reopening -------------------------------------------------------------------------------
def may_reopen(user: User, case: Case, supervised: set[int]) -> bool:
    return ("director" in user.roles or case.supervisor_id == user.id or case.caseworker_id == user.id
            or case.caseworker_id in supervised)


def reopen(uow, runtime: ProcessRuntime, case: Case, actor_id: int | None, why: str,
           keep_instance_ids=(), parent_instance_id: int | None = None):
    """Reopen a closed case (R24): its other processes end, a new main process starts with
    a reassessment."""
    if case.status != CaseStatus.CLOSED:
        raise Conflict(N_("case %(code)s is not closed") % {"code": case.code})
    case_processes.cancel_case_processes(uow, case.code, actor_id, "case reopened", keep_ids=keep_instance_ids)
    now = clock.now()
    case.date_reopened = now
    case.reopen_count += 1
    case.closure_reason = None
    case.date_closed = None
    set_status(uow, case, actor_id, CaseStatus.OPEN, f"reopened: {why}")
    set_stage(uow, case, actor_id, CaseStage.ASSESSMENT)
    return case_processes.start_case_process(uow, runtime, case_processes.MAIN_PROCESS, case, actor_id,
                                             {"reopened": True}, parent_instance_id)


def reopen_case(uow, runtime: ProcessRuntime, actor_id: int, case_code: str, reason: str) -> Case:
    """A person reopens a closed case because new information emerged (R24). Commits."""
    session = uow.session
    actor = get_user(session, actor_id)
    case = load_case(session, case_code)
    if not may_reopen(actor, case, supervisee_ids(session, actor.id)):
        raise Forbidden("only the case's caseworker, its supervisor or the director may reopen it")
    if not (reason or "").strip():
        raise Invalid("say why the case is reopened", errors={"reason": ["is required"]})
    reopen(uow, runtime, case, actor.id, reason)
    uow.commit()
    return case
