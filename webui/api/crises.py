"""Crisis declarations and the BCP workflow for CBF-5 (R35-R42).

Declaring is for crisis-team members; the crisis record, dashboard and log are for the
crisis team, supervisors, directors and admins; lists naming affected cases are for the
crisis team, directors and admins, and a case's crisis notes for the people on the case too.
The disruption log and the case notes are append-only: there is no way to change or
delete an entry.
"""
from __future__ import annotations

from flask_smorest import Blueprint

from engine.crisis import declaration as crisis_service
from engine.crisis import fanout as crisis_fanout
from engine.crisis import readiness as crisis_readiness
from engine.crisis import records as crisis_records
from engine.crisis import reports as crisis_reports
from engine.errors import NotFound
from engine.people.directory import usernames
from webui.api.bounds import CASE_CODE
from webui.api.crisis_schemas import (
    CaseNoteInSchema,
    CaseNoteListSchema,
    CaseNoteSchema,
    CheckListSchema,
    CheckQuerySchema,
    CrisisListSchema,
    CrisisQuerySchema,
    CrisisSchema,
    DashboardSchema,
    DataValidationSchema,
    DeclareSchema,
    FollowUpListSchema,
    LogEntryInSchema,
    LogEntrySchema,
    LogSchema,
    PageSchema,
    ReadinessListSchema,
)
from webui.auth import current_user_id
from webui.extensions import runtime, uow
from webui.idempotency import idempotent

blp = Blueprint("crises", __name__, url_prefix="/api/crises", description="Crisis declarations and the BCP workflow")


def crisis_dict(session, crisis, names: dict | None = None) -> dict:
    names = names if names is not None else usernames(session, [crisis.declared_by, crisis.communication_lead_id])
    return {"id": crisis.id, "kind": crisis.kind, "description": crisis.description,
            "affected_functions": crisis.functions, "status": crisis.status, "active": crisis.active,
            "declared_by": names.get(crisis.declared_by), "declared_at": crisis.declared_at,
            "resumption_due_at": crisis.resumption_due_at, "resumption_confirmed_at": crisis.resumption_confirmed_at,
            "escalated_at": crisis.escalated_at, "communication_lead": names.get(crisis.communication_lead_id),
            "affected_cases": crisis.affected_cases, "process_instance_id": crisis.instance_id,
            "closed_at": crisis.closed_at}


def _note_dict(note, author) -> dict:
    return {"id": note.id, "case_code": note.case_code, "at": note.at, "author": author, "kind": note.kind,
            "alternative_methods": [m for m in note.alternative_methods.split(",") if m], "text": note.text}


@blp.post("")
@idempotent("declare_crisis")
@blp.arguments(DeclareSchema)
@blp.response(201, CrisisSchema)
def declare(body):
    """A crisis-team member declares a disruption; starts the BCP workflow. 403 for anyone
    else, 422 for an unknown kind or sub-function, 409 while another crisis is active."""
    user_id = current_user_id()
    with uow() as work:
        crisis = crisis_service.declare_crisis(work, runtime(), user_id, body["kind"], body["description"],
                                               body["affected_functions"])
        return crisis_dict(work.session, crisis)


@blp.get("")
@blp.arguments(CrisisQuerySchema, location="query")
@blp.response(200, CrisisListSchema)
def list_crises(query):
    """Crises, newest first (crisis team, directors)."""
    user_id = current_user_id()
    with uow() as work:
        rows, total = crisis_service.list_crises(work.session, user_id, **query)
        names = usernames(work.session, [i for c in rows for i in (c.declared_by, c.communication_lead_id)])
        return {"crises": [crisis_dict(work.session, c, names) for c in rows], "total": total}


@blp.get("/active")
@blp.response(200, CrisisSchema)
def active():
    """The active crisis (404 when there is none)."""
    user_id = current_user_id()
    with uow() as work:
        crisis_service.require_role(work.session, user_id, crisis_service.VIEW_ROLES, "see crisis records")
        crisis = crisis_service.active_crisis(work.session)
        if crisis is None:
            raise NotFound("no crisis is active")
        return crisis_dict(work.session, crisis)


@blp.get("/<id:crisis_id>")
@blp.response(200, CrisisSchema)
def get_crisis(crisis_id):
    user_id = current_user_id()
    with uow() as work:
        return crisis_dict(work.session, crisis_service.view_crisis(work.session, user_id, crisis_id))


@blp.get("/<id:crisis_id>/dashboard")
@blp.response(200, DashboardSchema)
def dashboard(crisis_id):
    """Time left to T+24 h, checks by risk level, follow-ups reassigned, sub-function status."""
    user_id = current_user_id()
    with uow() as work:
        board = crisis_reports.dashboard(work.session, user_id, crisis_id)
        return {**board, "crisis": crisis_dict(work.session, board["crisis"])}


@blp.get("/<id:crisis_id>/log")
@blp.arguments(PageSchema, location="query")
@blp.response(200, LogSchema)
def read_log(query, crisis_id):
    """The disruption log, oldest first."""
    user_id = current_user_id()
    with uow() as work:
        rows, total = crisis_records.list_log(work.session, user_id, crisis_id, **query)
        return {"entries": [{"id": e.id, "at": e.at, "author": author, "kind": e.kind, "text": e.text}
                            for e, author in rows], "total": total}


@blp.post("/<id:crisis_id>/log")
@idempotent("add_crisis_log_entry")
@blp.arguments(LogEntryInSchema)
@blp.response(201, LogEntrySchema)
def add_log_entry(body, crisis_id):
    """Add a timestamped entry (crisis team). Entries can never be changed or deleted."""
    user_id = current_user_id()
    with uow() as work:
        entry = crisis_records.add_log_entry(work, user_id, crisis_id, body["kind"], body["text"])
        return {"id": entry.id, "at": entry.at, "author": usernames(work.session, [user_id]).get(user_id),
                "kind": entry.kind, "text": entry.text}


@blp.get("/<id:crisis_id>/checks")
@blp.arguments(CheckQuerySchema, location="query")
@blp.response(200, CheckListSchema)
def checks(query, crisis_id):
    """The crisis checks in priority order (case codes only)."""
    user_id = current_user_id()
    with uow() as work:
        rows, total = crisis_reports.list_checks(work.session, user_id, crisis_id, **query)
        return {"checks": rows, "total": total}


@blp.post("/<id:crisis_id>/checks/fan-out")
@idempotent("rerun_crisis_fan_out")
@blp.response(202, CrisisSchema)
def rerun_fan_out(crisis_id):
    """Run the crisis-check fan-out again (crisis team): safe at any time, it never gives a
    case a second check; it only sends the checks not started yet."""
    user_id = current_user_id()
    with uow() as work:
        crisis_fanout.request_fan_out(work, user_id, crisis_id)
        return crisis_dict(work.session, crisis_service.load_crisis(work.session, crisis_id))


@blp.get("/<id:crisis_id>/follow-ups")
@blp.arguments(PageSchema, location="query")
@blp.response(200, FollowUpListSchema)
def follow_ups(query, crisis_id):
    """Follow-ups found due or missed during the disruption, and what happened to each."""
    user_id = current_user_id()
    with uow() as work:
        rows, total = crisis_reports.list_follow_ups(work.session, user_id, crisis_id, **query)
        return {"follow_ups": rows, "total": total}


@blp.get("/<id:crisis_id>/case-notes")
@blp.arguments(PageSchema, location="query")
@blp.response(200, CaseNoteListSchema)
def all_case_notes(query, crisis_id):
    """Every affected case's crisis notes (crisis team, directors); reads are audited."""
    user_id = current_user_id()
    with uow() as work:
        rows, total = crisis_records.list_case_notes(work, user_id, crisis_id, None, **query)
        return {"notes": [_note_dict(n, a) for n, a in rows], "total": total}


@blp.get(f"/<id:crisis_id>/cases/<{CASE_CODE}:case_code>/notes")
@blp.arguments(PageSchema, location="query")
@blp.response(200, CaseNoteListSchema)
def case_notes(query, crisis_id, case_code):
    """One case's crisis notes: delays, adjustments, alternative methods, follow-up actions."""
    user_id = current_user_id()
    with uow() as work:
        rows, total = crisis_records.list_case_notes(work, user_id, crisis_id, case_code, **query)
        return {"notes": [_note_dict(n, a) for n, a in rows], "total": total}


@blp.post(f"/<id:crisis_id>/cases/<{CASE_CODE}:case_code>/notes")
@idempotent("add_crisis_case_note")
@blp.arguments(CaseNoteInSchema)
@blp.response(201, CaseNoteSchema)
def add_case_note(body, crisis_id, case_code):
    """Document how the disruption affected this case (its caseworker, supervisor,
    backup staff, the crisis team). Notes can never be changed or deleted."""
    user_id = current_user_id()
    with uow() as work:
        note = crisis_records.add_case_note(work, user_id, crisis_id, case_code, body["kind"], body["text"],
                                            body["alternative_methods"])
        return _note_dict(note, usernames(work.session, [user_id]).get(user_id))


@blp.get("/<id:crisis_id>/data-validation")
@blp.arguments(PageSchema, location="query")
@blp.response(200, DataValidationSchema)
def data_validation(query, crisis_id):
    """Every record created or changed during the disruption, from the audit trail (R40)."""
    user_id = current_user_id()
    with uow() as work:
        return crisis_reports.data_validation_report(work, user_id, crisis_id, **query)


@blp.get("/readiness")
@blp.response(200, ReadinessListSchema)
def readiness():
    """The pre-crisis readiness activities, their interval and next occurrence (R41)."""
    user_id = current_user_id()
    with uow() as work:
        return {"activities": crisis_readiness.list_activities(work.session, user_id)}


@blp.post("/readiness")
@idempotent("schedule_readiness")
@blp.response(200, ReadinessListSchema)
def schedule_readiness():
    """Schedule every readiness activity that has no waiting occurrence (crisis team,
    process owners); activities already scheduled are left as they are."""
    user_id = current_user_id()
    with uow() as work:
        crisis_readiness.schedule_readiness(work, runtime(), user_id)
        return {"activities": crisis_readiness.list_activities(work.session, user_id)}
