"""Crisis declarations and the BCP workflow for CBF-5 (R35-R42).

Declaring is for crisis-team members; the crisis record, dashboard and log are for the
crisis team, supervisors, directors and admins; lists naming affected cases are for the
crisis team, directors and admins, and a case's crisis notes for the people on the case too.
The disruption log and the case notes are append-only: there is no way to change or
delete an entry.
"""
from __future__ import annotations

from flask_smorest import Blueprint

from engine.case import record_locks
from engine.crisis import availability as crisis_availability
from engine.crisis import client_contact, disruption_report, sensitive_records
from engine.crisis import declaration as crisis_service
from engine.crisis import fanout as crisis_fanout
from engine.crisis import readiness as crisis_readiness
from engine.crisis import records as crisis_records
from engine.crisis import reports as crisis_reports
from engine.crisis import scope as crisis_scope
from engine.crisis.labels import function_label, kind_label
from engine.crisis.message_templates import load_templates
from engine.errors import NotFound
from engine.people.directory import usernames
from webui.api.bounds import CASE_CODE
from webui.api.crisis_schemas import (
    CaseNoteInSchema,
    CaseNoteListSchema,
    CaseNoteSchema,
    CheckListSchema,
    CheckQuerySchema,
    ContactInSchema,
    ContactOutSchema,
    ContactSummarySchema,
    CrisisAbsenceListSchema,
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
    MessageInSchema,
    MessageOutSchema,
    PageSchema,
    PreviewQuerySchema,
    PreviewSchema,
    ReadinessListSchema,
    ScopeChangeSchema,
    SensitiveLocksSchema,
    StaffChangeSchema,
    StaffInSchema,
    TemplateListSchema,
    UnlockInSchema,
    UnlockOutSchema,
)
from webui.auth import current_user_id
from webui.extensions import engine_ctx, runtime, uow
from webui.idempotency import idempotent

blp = Blueprint("crises", __name__, url_prefix="/api/crises", description="Crisis declarations and the BCP workflow")


def crisis_dict(session, crisis, names: dict | None = None) -> dict:
    names = names if names is not None else usernames(session, [crisis.declared_by, crisis.communication_lead_id])
    return {"id": crisis.id, "kind": crisis.kind, "kind_label": kind_label(crisis.kind),
            "description": crisis.description, "affected_functions": crisis.functions,
            "affected_function_labels": [function_label(f) for f in crisis.functions], "drill": bool(crisis.drill),
            "staff_instructions": crisis_service.staff_instructions(crisis), "scope_version": crisis.scope_version,
            "status": crisis.status, "active": crisis.active,
            "declared_by": names.get(crisis.declared_by), "declared_at": crisis.declared_at,
            "resumption_due_at": crisis.resumption_due_at, "resumption_confirmed_at": crisis.resumption_confirmed_at,
            "escalated_at": crisis.escalated_at, "communication_lead": names.get(crisis.communication_lead_id),
            "affected_cases": crisis.affected_cases, "process_instance_id": crisis.instance_id,
            "closed_at": crisis.closed_at}


def templates_dir():
    return engine_ctx().settings.workflows_dir / "templates"


def _note_dict(note, author) -> dict:
    return {"id": note.id, "case_code": note.case_code, "at": note.at, "author": author, "kind": note.kind,
            "alternative_methods": [m for m in note.alternative_methods.split(",") if m], "text": note.text}


@blp.post("")
@idempotent("declare_crisis")
@blp.arguments(DeclareSchema)
@blp.response(201, CrisisSchema)
def declare(body):
    """A crisis-team member declares a disruption (``"drill": true``: a drill of one);
    starts the BCP workflow. 403 for anyone else, 422 for an unknown kind or sub-function,
    409 while another crisis (another drill) is active — a drill never blocks a real one."""
    user_id = current_user_id()
    with uow() as work:
        crisis = crisis_service.declare_crisis(work, runtime(), user_id, body["kind"], body["description"],
                                               body["affected_functions"], drill=body["drill"],
                                               staff_instructions=body["staff_instructions"])
        return crisis_dict(work.session, crisis)


@blp.get("/preview")
@blp.arguments(PreviewQuerySchema, location="query")
@blp.response(200, PreviewSchema)
def preview(query):
    """Before declaring (crisis team): how many open cases the sub-functions reach now, by
    risk level and stage, with the stages each covers. Counts only, no names."""
    user_id = current_user_id()
    functions = [f.strip() for f in query["functions"].split(",") if f.strip()]
    with uow() as work:
        return crisis_scope.preview(work.session, user_id, functions)


@blp.get("/message-templates")
@blp.response(200, TemplateListSchema)
def message_templates():
    """The client message templates (workflows/templates), for the crisis team."""
    user_id = current_user_id()
    with uow() as work:
        crisis_service.require_role(work.session, user_id, crisis_service.VIEW_ROLES, "see the message templates")
    return {"templates": [{"id": t.id, "title": t.title, "purpose": t.purpose}
                          for t in load_templates(templates_dir()).by_id.values()]}


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


@blp.patch("/<id:crisis_id>")
@idempotent("change_crisis_scope")
@blp.arguments(ScopeChangeSchema)
@blp.response(200, CrisisSchema)
def change_scope(body, crisis_id):
    """Widen or narrow an active disruption's sub-functions (crisis team): each newly
    covered case gets its check exactly once; the log records the change with the note."""
    user_id = current_user_id()
    with uow() as work:
        crisis = crisis_scope.change_scope(work, runtime(), user_id, crisis_id, body["affected_functions"],
                                           body["note"])
        return crisis_dict(work.session, crisis)


@blp.get("/<id:crisis_id>/dashboard")
@blp.response(200, DashboardSchema)
def dashboard(crisis_id):
    """Time left to T+24 h, checks by risk level, time to reach cases, follow-ups reassigned,
    sub-function status."""
    user_id = current_user_id()
    with uow() as work:
        board = crisis_reports.dashboard(work.session, user_id, crisis_id)
        reach = disruption_report.reach_times(work.session, board["crisis"])
        return {**board, "reach": reach, "crisis": crisis_dict(work.session, board["crisis"])}


@blp.get("/<id:crisis_id>/staff")
@blp.response(200, CrisisAbsenceListSchema)
def staff(crisis_id):
    """Staff marked unavailable during the disruption, and how much of their work moved."""
    user_id = current_user_id()
    with uow() as work:
        crisis_service.view_crisis(work.session, user_id, crisis_id)
        return {"staff": crisis_availability.list_absences(work.session, crisis_id)}


@blp.post("/<id:crisis_id>/staff/unavailable")
@idempotent("mark_crisis_staff_unavailable")
@blp.arguments(StaffInSchema)
@blp.response(200, StaffChangeSchema)
def mark_unavailable(body, crisis_id):
    """The crisis team (or the person) marks someone unavailable: their open tasks and
    crisis checks go to backups by the bcp_backup_staffing rule."""
    with uow() as work:
        return crisis_availability.mark_unavailable(work, current_user_id(), crisis_id, body["username"],
                                                    body["note"])


@blp.post("/<id:crisis_id>/staff/available")
@idempotent("mark_crisis_staff_available")
@blp.arguments(StaffInSchema)
@blp.response(200, StaffChangeSchema)
def mark_available(body, crisis_id):
    """Someone marked unavailable is back: their tasks still with backups return to them."""
    with uow() as work:
        return crisis_availability.mark_available(work, current_user_id(), crisis_id, body["username"])


@blp.post("/<id:crisis_id>/client-messages")
@idempotent("send_crisis_client_messages")
@blp.arguments(MessageInSchema)
@blp.response(202, MessageOutSchema)
def send_client_messages(body, crisis_id):
    """Send a message template to every affected case's client (e-mail or SMS where they
    consented; otherwise a call or visit is needed). A drill sends nothing."""
    with uow() as work:
        return client_contact.send_template(work, current_user_id(), crisis_id, body["template"], templates_dir())


@blp.get("/<id:crisis_id>/contacts")
@blp.response(200, ContactSummarySchema)
def contacts(crisis_id):
    """Contacts with clients by channel and outcome (counts)."""
    with uow() as work:
        return client_contact.contact_summary(work.session, current_user_id(), crisis_id)


@blp.post(f"/<id:crisis_id>/cases/<{CASE_CODE}:case_code>/contacts")
@idempotent("record_crisis_client_contact")
@blp.arguments(ContactInSchema)
@blp.response(201, ContactOutSchema)
def record_contact(body, crisis_id, case_code):
    """A call, visit or message made or tried to this case's client (the people on the case)."""
    with uow() as work:
        return client_contact.record_contact_attempt(work, current_user_id(), crisis_id, case_code, body["channel"],
                                                     body["made"], body["note"])


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


@blp.get("/<id:crisis_id>/sensitive-records")
@blp.response(200, SensitiveLocksSchema)
def sensitive_record_locks(crisis_id):
    """The most sensitive records the system keeps locked since the crisis team locked them
    (R50), until a director unlocks them."""
    with uow() as work:
        crisis_service.view_crisis(work.session, current_user_id(), crisis_id)
        return {"locked": sensitive_records.locks(work.session)}


@blp.post("/<id:crisis_id>/sensitive-records/unlock")
@idempotent("unlock_sensitive_records")
@blp.arguments(UnlockInSchema)
@blp.response(200, UnlockOutSchema)
def unlock_sensitive_records(body, crisis_id):
    """A director lifts the locks this crisis set on the most sensitive records (all, or the
    ``records`` named), after the crisis: 403 for anyone else, 409 when nothing is locked."""
    with uow() as work:
        return record_locks.unlock(work, current_user_id(), crisis_id, body["records"])


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
