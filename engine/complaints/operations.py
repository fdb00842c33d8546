"""``complaint.*`` operations of the ``complaint`` diagram (R28).

Each works on the complaint whose process this instance is (``complaints.instance_id``),
never one named in the task data, and refuses a person not entitled: the acknowledgement
and the answer are the investigator's (or a supervisor above them, or a director standing
in), never anyone involved; the late answer's follow-up is a director's. Every change is
audited; the texts move out of the workflow data into the complaint's row.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.complaints import parties
from engine.errors import Forbidden, Invalid, NotFound, message
from engine.models import HumanTask, TaskState
from engine.models.complaints import ACKNOWLEDGEMENT_METHODS, Complaint, ComplaintStatus
from engine.people.directory import get_user

UPHELD = ("upheld", "partly_upheld", "not_upheld")
ANSWER_TASKS = ("acknowledge", "investigate")  # the diagram's tasks of the investigator


def _complaint(ctx: OperationContext) -> Complaint:
    complaint = ctx.uow.session.scalar(select(Complaint).where(Complaint.instance_id == ctx.instance.id))
    if complaint is None:
        raise NotFound(f"process instance {ctx.instance.id} carries no complaint (complaints are recorded through "
                       "POST /api/complaints)")
    return complaint


def _investigating(ctx: OperationContext, complaint: Complaint) -> None:
    if ctx.actor_id is None:
        return
    if not parties.may_investigate(ctx.uow.session, get_user(ctx.uow.session, ctx.actor_id), complaint):
        raise Forbidden("this complaint is investigated by someone not involved in it: not by you")


def _take(data: dict, name: str, most: int = 8000) -> str:
    value = data.pop(name, None)
    return value.strip()[:most] if isinstance(value, str) else ""


@operation("complaint.record_acknowledgement")
def record_acknowledgement(ctx: OperationContext, data: dict, answer_within_days: int) -> dict:
    """The complainant was told the complaint is received. Publishes ``answer_due_hours``:
    the hours left until the written answer is due (counted from receipt)."""
    complaint = _complaint(ctx)
    _investigating(ctx, complaint)
    how = data.get("acknowledged_how")
    if how not in ACKNOWLEDGEMENT_METHODS:
        raise Invalid(message("%(value)s is no way of acknowledging", value=repr(how)),
                      errors={"acknowledged_how": list(ACKNOWLEDGEMENT_METHODS)})
    now = clock.now()
    complaint.acknowledged_at, complaint.acknowledged_by = now, ctx.actor_id
    complaint.acknowledgement = f"{how}: {_take(data, 'acknowledgement_note', 2000)}".rstrip(": ")
    complaint.status = ComplaintStatus.ACKNOWLEDGED
    if complaint.answer_due_at is None:
        complaint.answer_due_at = complaint.received_at + dt.timedelta(days=int(answer_within_days))
    ctx.uow.audit(ctx.actor_id, "complaint_acknowledged", "complaint", complaint.id, how=how)
    data["answer_due_hours"] = round(max((complaint.answer_due_at - now).total_seconds() / 3600, 0.0), 4)
    return {"acknowledged": True}


@operation("complaint.record_answer")
def record_answer(ctx: OperationContext, data: dict) -> dict:
    """The written answer, with what the investigation found."""
    complaint = _complaint(ctx)
    _investigating(ctx, complaint)
    findings, response = _take(data, "findings"), _take(data, "response")
    upheld = data.get("upheld")
    if not findings or not response or upheld not in UPHELD:
        raise Invalid("a complaint is answered in writing, with the findings", errors={
            "response": ["the written answer is required"], "findings": ["required"], "upheld": list(UPHELD)})
    complaint.findings, complaint.response = findings, response
    complaint.answered_at, complaint.answered_by = clock.now(), ctx.actor_id
    complaint.status = ComplaintStatus.ANSWERED
    late = complaint.answer_due_at is not None and complaint.answered_at > complaint.answer_due_at
    ctx.uow.audit(ctx.actor_id, "complaint_answered", "complaint", complaint.id, upheld=upheld, late=late)
    return {"answered": True, "late": late}


@operation("complaint.escalate")
def escalate(ctx: OperationContext, data: dict) -> dict:
    """The answer is late: the director is told (the diagram's timer; a person only if a
    director)."""
    complaint = _complaint(ctx)
    if ctx.actor_id is not None and "director" not in get_user(ctx.uow.session, ctx.actor_id).roles:
        raise Forbidden("only the project director takes over a late complaint")
    if complaint.status != ComplaintStatus.ANSWERED and complaint.escalated_at is None:
        complaint.escalated_at = clock.now()
        ctx.uow.audit(ctx.actor_id, "complaint_escalated", "complaint", complaint.id,
                      answer_due_at=complaint.answer_due_at)
    return {"escalated": complaint.escalated_at is not None}


@operation("complaint.record_escalation")
def record_escalation(ctx: OperationContext, data: dict) -> dict:
    """What the director decided about the late answer."""
    complaint = _complaint(ctx)
    actor = get_user(ctx.uow.session, ctx.actor_id) if ctx.actor_id is not None else None
    if actor is None or "director" not in actor.roles or actor.id in parties.involved_ids(complaint):
        raise Forbidden("the project director (not involved in the complaint) deals with a late answer")
    action = data.get("escalation_action")
    complaint.escalation_note = f"{action}: {_take(data, 'escalation_note', 2000)}".rstrip(": ")
    if action == "director_answers":  # the open answer task moves to the director
        complaint.investigator_id = actor.id
        data["investigator"] = actor.username
        ctx.uow.session.execute(update(HumanTask).where(
            HumanTask.instance_id == ctx.instance.id, HumanTask.state == TaskState.READY,
            HumanTask.bpmn_id.in_(ANSWER_TASKS)).values(assignee_id=actor.id)
            .execution_options(synchronize_session="fetch"))
    ctx.uow.audit(actor.id, "complaint_escalation_handled", "complaint", complaint.id, decided=action)
    return {"action": action}
