"""Handovers between caseworkers (R29): a supervisor hands over a caseload (or some cases)
to a caseworker they choose; the handover document, briefings, file reviews and the
shadowing period follow."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.case import handover as handovers
from webui.api.bounds import CASE_CODE, PATH_ID
from webui.api.cases import CaseFileSchema, TaskLineSchema, case_file_dict
from webui.auth import current_user_id
from webui.extensions import runtime, uow
from webui.idempotency import idempotent

blp = Blueprint("handovers", __name__, url_prefix="/api/handovers",
                description="Handovers between caseworkers, with the shadowing period")


class StartHandoverSchema(Schema):
    from_caseworker = fields.String(required=True, validate=validate.Length(min=1, max=80))
    to_caseworker = fields.String(required=True, validate=validate.Length(min=1, max=80),
                                  metadata={"description": "the caseworker the supervisor chose"})
    case_codes = fields.List(fields.String(validate=validate.Length(min=1, max=40)), load_default=None,
                             validate=validate.Length(min=1, max=handovers.MAX_CASES),
                             metadata={"description": "leave out to hand over the whole active caseload"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=handovers.MAX_REASON))


class HandoverSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    from_caseworker = fields.String(allow_none=True)
    to_caseworker = fields.String(allow_none=True)
    requested_by = fields.String(allow_none=True)
    case_codes = fields.List(fields.String())
    created_at = fields.DateTime()
    shadow_until = fields.DateTime(allow_none=True)
    shadowing = fields.Boolean()
    shadow_tasks = fields.List(fields.Nested(TaskLineSchema),
                               metadata={"description": "the new caseworker's open tasks on these cases"})


def _task_line(task) -> dict:
    return {"id": task.id, "name": task.bpmn_id, "title": task.title, "process_id": task.process_id,
            "role": task.role, "assignee": None, "state": task.state, "due_at": task.due_at, "priority": task.priority,
            "risk_level": task.risk_level, "created_at": task.created_at, "completed_at": task.completed_at,
            "completed_by": None}


def _view_dict(view: handovers.HandoverView) -> dict:
    h = view.handover
    return {"id": h.id, "kind": h.kind, "status": h.status, "from_caseworker": view.from_caseworker,
            "to_caseworker": view.to_caseworker, "requested_by": view.requested_by, "case_codes": view.case_codes,
            "created_at": h.created_at, "shadow_until": h.shadow_until, "shadowing": view.shadowing,
            "shadow_tasks": [{**_task_line(t), "assignee": view.to_caseworker} for t in view.shadow_tasks]}


@blp.post("")
@idempotent("start_handover")
@blp.arguments(StartHandoverSchema)
@blp.response(201, HandoverSchema)
def start(body):
    """Hand over a caseworker's cases (all active ones without ``case_codes``): a
    supervisor of that caseworker, or the director."""
    user_id = current_user_id()
    with uow() as work:
        handover = handovers.start_handover(work, runtime(), user_id, body["from_caseworker"], body["to_caseworker"],
                                            body["reason"], body["case_codes"])
    with uow() as read:
        return _view_dict(handovers.view_handover(read, user_id, handover.id))


@blp.get(f"/<{PATH_ID}:handover_id>")
@blp.response(200, HandoverSchema)
def get(handover_id):
    """One handover; while shadowing, the caseworker who handed over sees the new
    caseworker's open tasks on those cases."""
    user_id = current_user_id()
    with uow() as work:
        return _view_dict(handovers.view_handover(work, user_id, handover_id))


@blp.get(f"/<{PATH_ID}:handover_id>/cases/<{CASE_CODE}:case_code>")
@blp.response(200, CaseFileSchema)
def shadow_case(handover_id, case_code):
    """A case file of the handover, for the caseworker who handed it over while the
    shadowing period runs (403 afterwards)."""
    user_id = current_user_id()
    with uow() as work:
        return case_file_dict(handovers.shadow_case_file(work, user_id, handover_id, case_code))
