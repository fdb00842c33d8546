"""Marshmallow schemas of the crisis API (webui/api/crises.py)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.case import record_locks
from engine.crisis import records as crisis_records
from engine.crisis import reports as crisis_reports
from engine.models.crisis import ALTERNATIVE_METHODS, CRISIS_KINDS, LOG_ENTRY_KINDS, SUB_FUNCTIONS, ContactChannel
from webui.api.bounds import page_limit, page_offset


class DeclareSchema(Schema):
    kind = fields.Raw(load_default=None, metadata={"description": f"one of {', '.join(CRISIS_KINDS)}"})
    description = fields.Raw(load_default=None, metadata={"description": "what happened (no client names)"})
    # a list of strings (the names are checked by the declaration, with the other fields)
    affected_functions = fields.List(fields.String(), load_default=None, metadata={
        "description": f"affected sub-functions of CBF-5, among {', '.join(SUB_FUNCTIONS)}"})
    # checked by the declaration with the other fields (a 422 naming them)
    drill = fields.Raw(load_default=False, metadata={"description": "true: a drill (R41, R54) — same workflow, every "
                                                                    "task marked drill, no client contacted"})
    staff_instructions = fields.Raw(load_default=None, metadata={"description": "what staff are to do (the banner)"})


class PreviewQuerySchema(Schema):
    functions = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "comma-separated sub-functions, e.g. 5.1,5.4"})


class AffectedSchema(Schema):
    total = fields.Integer()
    by_risk = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_stage = fields.Dict(keys=fields.String(), values=fields.Integer())


class FunctionScopeSchema(Schema):
    code = fields.String()
    label = fields.String()
    stages = fields.List(fields.String())
    stages_text = fields.String(metadata={"description": "the stages it covers, in words"})
    cases = fields.Integer()


class PreviewSchema(Schema):
    functions = fields.List(fields.String())
    affected = fields.Nested(AffectedSchema)
    scope = fields.List(fields.Nested(FunctionScopeSchema))


class ScopeChangeSchema(Schema):
    affected_functions = fields.Raw(required=True, metadata={"description": "the new sub-functions (5.1-5.6)"})
    note = fields.String(load_default=None, validate=validate.Length(max=2000), metadata={"description": "why"})


class StaffInSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class StaffChangeSchema(Schema):
    username = fields.String()
    tasks_moved = fields.Integer()
    tasks_returned = fields.Integer()
    to = fields.List(fields.Integer())


class CrisisAbsenceSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    marked_at = fields.DateTime()
    note = fields.String()
    restored_at = fields.DateTime(allow_none=True)
    tasks_moved = fields.Integer()


class CrisisAbsenceListSchema(Schema):
    staff = fields.List(fields.Nested(CrisisAbsenceSchema))


class MessageInSchema(Schema):
    template = fields.String(required=True, validate=validate.Length(min=1, max=60))


class MessageOutSchema(Schema):
    template = fields.String()
    cases = fields.Integer()
    email = fields.Integer()
    sms = fields.Integer()
    personal = fields.Integer(metadata={"description": "cases needing a call or visit (no consented address)"})
    drill = fields.Boolean()


class ContactInSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(ContactChannel.values()))
    made = fields.Boolean(required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=1000))


class ContactOutSchema(Schema):
    case_code = fields.String()
    channel = fields.String()
    state = fields.String()


class ContactSummarySchema(Schema):
    by_channel = fields.Dict()
    cases_attempted = fields.Integer()
    cases_reached = fields.Integer()


class TemplateSchema(Schema):
    id = fields.String()
    title = fields.String()
    purpose = fields.String()


class TemplateListSchema(Schema):
    templates = fields.List(fields.Nested(TemplateSchema))


class CrisisSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    description = fields.String()
    affected_functions = fields.List(fields.String())
    affected_function_labels = fields.List(fields.String())
    drill = fields.Boolean()
    staff_instructions = fields.String(metadata={"description": "what staff are to do"})
    scope_version = fields.Integer(metadata={"description": "1, then one more per change of scope"})
    status = fields.String(metadata={"description": "resumption | recovery | closed"})
    active = fields.Boolean()
    declared_by = fields.String()
    declared_at = fields.DateTime()
    resumption_due_at = fields.DateTime(allow_none=True, metadata={"description": "T+24 h"})
    resumption_confirmed_at = fields.DateTime(allow_none=True)
    escalated_at = fields.DateTime(allow_none=True)
    communication_lead = fields.String(allow_none=True)
    affected_cases = fields.Integer(allow_none=True)
    process_instance_id = fields.Integer(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class CrisisListSchema(Schema):
    crises = fields.List(fields.Nested(CrisisSchema))
    total = fields.Integer()


class PageSchema(Schema):
    limit = page_limit(100, 500)
    offset = page_offset()


class CrisisQuerySchema(PageSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(("active", "resumption", "recovery", "closed")))


class CheckQuerySchema(PageSchema):
    risk_level = fields.String(load_default=None, validate=validate.OneOf(crisis_reports.RISK_LEVELS))
    remaining = fields.Boolean(load_default=False, metadata={"description": "only checks not done yet"})


class LogEntryInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(LOG_ENTRY_KINDS))
    text = fields.String(required=True, validate=validate.Length(min=1, max=crisis_records.TEXT_MAX))


class LogEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    author = fields.String(allow_none=True, metadata={"description": "null: written by the workflow"})
    kind = fields.String()
    text = fields.String()


class LogSchema(Schema):
    entries = fields.List(fields.Nested(LogEntrySchema))
    total = fields.Integer()


class CaseNoteInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(crisis_records.WRITABLE_NOTE_KINDS))
    text = fields.String(load_default="", validate=validate.Length(max=crisis_records.TEXT_MAX))
    alternative_methods = fields.List(fields.String(validate=validate.OneOf(ALTERNATIVE_METHODS)), load_default=list)


class CaseNoteSchema(Schema):
    id = fields.Integer()
    case_code = fields.String()
    at = fields.DateTime()
    author = fields.String(allow_none=True)
    kind = fields.String()
    alternative_methods = fields.List(fields.String())
    text = fields.String()


class CaseNoteListSchema(Schema):
    notes = fields.List(fields.Nested(CaseNoteSchema))
    total = fields.Integer()


class CheckSchema(Schema):
    case_code = fields.String()
    rank = fields.Integer()
    check_order = fields.Integer()
    risk_level = fields.String(allow_none=True)
    in_crisis = fields.Boolean()
    pending_review = fields.Boolean()
    assignee = fields.String(allow_none=True)
    backup = fields.Boolean(metadata={"description": "backup staff stand in for the unavailable caseworker"})
    state = fields.String(metadata={"description": "planned | started (its task exists)"})
    due_at = fields.DateTime(allow_none=True)
    checked_at = fields.DateTime(allow_none=True)
    client_reached = fields.Boolean(allow_none=True)
    client_safe = fields.Boolean(allow_none=True)
    reassessment_needed = fields.Boolean(allow_none=True)


class CheckListSchema(Schema):
    checks = fields.List(fields.Nested(CheckSchema))
    total = fields.Integer()


class FollowUpSchema(Schema):
    task_id = fields.String()
    case_code = fields.String()
    title = fields.String()
    task_state = fields.String()
    action = fields.String(metadata={"description": "kept | reassigned | released"})
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    original_due_at = fields.DateTime(allow_none=True)
    rescheduled_due_at = fields.DateTime(allow_none=True)
    found_at = fields.DateTime()


class FollowUpListSchema(Schema):
    follow_ups = fields.List(fields.Nested(FollowUpSchema))
    total = fields.Integer()


class FunctionStatusSchema(Schema):
    code = fields.String()
    name = fields.String()
    label = fields.String()
    affected = fields.Boolean()
    status = fields.String(metadata={"description": "not_affected | pending | in_progress | resumed | "
                                                    "no_longer_affected"})


class OpenTaskSchema(Schema):
    id = fields.String()
    title = fields.String()
    role = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    bpmn_id = fields.String()


class DashboardSchema(Schema):
    crisis = fields.Nested(CrisisSchema)
    reach = fields.Dict(metadata={"description": "hours to reach each case against T+24 h (R54)"})
    now = fields.DateTime()
    seconds_to_resumption_deadline = fields.Float(allow_none=True)
    resumption_overdue = fields.Boolean()
    checks = fields.Dict(metadata={"description": "affected cases checked / remaining, in total and by_risk"})
    follow_ups = fields.Dict(metadata={"description": "found, kept, reassigned, released, rescheduled"})
    functions = fields.List(fields.Nested(FunctionStatusSchema))
    open_tasks = fields.List(fields.Nested(OpenTaskSchema))
    log_entries = fields.Integer()


class AuditRecordSchema(Schema):
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    case_code = fields.String(allow_none=True)


class DataValidationSchema(Schema):
    crisis_id = fields.Integer()
    from_ = fields.DateTime(data_key="from", attribute="from")
    until = fields.DateTime()
    total = fields.Integer()
    cases_touched = fields.Integer()
    by_kind = fields.List(fields.Dict())
    records = fields.List(fields.Nested(AuditRecordSchema))


class ReadinessSchema(Schema):
    activity = fields.String()
    every_days = fields.Integer()
    next_due_at = fields.DateTime(allow_none=True)
    task_open = fields.Boolean()
    task_due_at = fields.DateTime(allow_none=True)
    last_completed_at = fields.DateTime(allow_none=True)
    last_outcome = fields.String()


class ReadinessListSchema(Schema):
    activities = fields.List(fields.Nested(ReadinessSchema))


class SensitiveLockSchema(Schema):
    record = fields.String(metadata={"description": "confidential_section, confidential_notes or name_code_list"})
    label = fields.String()
    crisis_id = fields.Integer()
    locked_at = fields.DateTime()
    locked_by = fields.String(allow_none=True)


class SensitiveLocksSchema(Schema):
    locked = fields.List(fields.Nested(SensitiveLockSchema), metadata={
        "description": "the sensitive records the system keeps locked until a director unlocks them (R50)"})


class UnlockInSchema(Schema):
    records = fields.List(fields.String(validate=validate.OneOf(record_locks.LOCKABLE)), load_default=None,
                          validate=validate.Length(min=1, max=len(record_locks.LOCKABLE)),
                          metadata={"description": "the kinds to unlock; all this crisis locked when left out"})


class UnlockOutSchema(Schema):
    unlocked = fields.List(fields.String())
    locked = fields.List(fields.String(), metadata={"description": "the kinds still locked (by any crisis)"})
