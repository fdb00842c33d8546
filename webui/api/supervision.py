"""Supervision (R30, R49): schedule the recurring duties, see them, and say who is absent
(their tasks then go to the one standing in for them)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.supervision import absence, duties, schedule
from webui.auth import current_user_id
from webui.extensions import runtime, uow
from webui.idempotency import idempotent

blp = Blueprint("supervision", __name__, url_prefix="/api/supervision",
                description="Supervision cadence and absences")


class ScheduledSchema(Schema):
    scheduled = fields.List(fields.String())
    kept = fields.List(fields.String())
    cancelled = fields.List(fields.String())


class DutySchema(Schema):
    duty = fields.String()
    duty_label = fields.String()
    supervisor = fields.String(allow_none=True)
    caseworker = fields.String(allow_none=True)
    every_days = fields.Integer()
    next_due_at = fields.DateTime(allow_none=True)
    last_done_at = fields.DateTime(allow_none=True)


class RecordSchema(Schema):
    id = fields.Integer()
    duty = fields.String()
    duty_label = fields.String()
    supervisor = fields.String(allow_none=True)
    caseworker = fields.String(allow_none=True)
    period = fields.String()
    due_at = fields.DateTime(allow_none=True)
    done_at = fields.DateTime(allow_none=True)
    outcome = fields.String()
    files = fields.List(fields.String(), metadata={"description": "case codes drawn for a file audit"})
    task_ids = fields.List(fields.String())


class OverviewSchema(Schema):
    duties = fields.List(fields.Nested(DutySchema))
    occurrences = fields.List(fields.Nested(RecordSchema))


class AbsenceSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    available = fields.Boolean(required=True, metadata={"description": "false: absent, tasks go to the stand-in"})


class AbsenceResultSchema(Schema):
    username = fields.String()
    available = fields.Boolean()
    stand_in = fields.String(allow_none=True)
    tasks_moved = fields.Integer()


@blp.post("/schedule")
@idempotent("schedule_supervision")
@blp.response(200, ScheduledSchema)
def run_schedule():
    """Give every supervisor's recurring duties their next occurrence (supervisors, the
    director, administrators); running it again changes nothing already scheduled."""
    user_id = current_user_id()
    with uow() as work:
        return schedule.schedule_supervision(work, runtime(), user_id)


@blp.get("/duties")
@blp.response(200, OverviewSchema)
def overview():
    """My supervision schedule and latest occurrences (a director: the whole line)."""
    user_id = current_user_id()
    with uow() as work:
        rows, records = duties.supervision_overview(work, user_id)
        return {"duties": rows, "occurrences": records}


@blp.post("/absences")
@idempotent("set_availability")
@blp.arguments(AbsenceSchema)
@blp.response(200, AbsenceResultSchema)
def set_absence(body):
    """Say someone is absent (or back): their tasks go to their own supervisor meanwhile."""
    user_id = current_user_id()
    with uow() as work:
        return absence.set_availability(work, user_id, body["username"], body["available"])
