"""Cases: referrals, case lists (codes only) and case files (need-to-know, R32)."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.case import assignment, case_lists, file_release, intake, lifecycle, notes, service_referrals
from engine.case import files as case_files
from engine.models.case import CASE_STAGES, CASE_STATUSES, RISK_LEVELS, ContactMethod, ContactType
from engine.service_ops import idempotency
from webui.api.bounds import CASE_CODE, page_limit, page_offset
from webui.auth import current_user_id
from webui.extensions import runtime, uow
from webui.idempotency import idempotent

blp = Blueprint("cases", __name__, url_prefix="/api/cases", description="Cases: referrals, case files (need-to-know)")


class ReferralPartSchema(Schema):
    source = fields.String(required=True,
                           metadata={"description": "who referred: government, NGO, community member, self…"})
    primary_concern = fields.String(required=True)
    referred_by = fields.String(load_default=None, allow_none=True)


class ClientPartSchema(Schema):
    name = fields.String(required=True, metadata={"description": "kept apart from the case, linked to its code (R05)"})
    date_of_birth = fields.Date(load_default=None, allow_none=True)
    sex = fields.String(load_default=None, allow_none=True)


class ReferralSchema(Schema):
    referral = fields.Nested(ReferralPartSchema, required=True)
    client = fields.Nested(ClientPartSchema, required=True)


class CreatedSchema(Schema):
    case_code = fields.String()
    status = fields.String()
    process_instance_id = fields.Integer()


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReassignSchema(ReasonSchema):
    caseworker = fields.String(required=True, metadata={"description": "username of the new caseworker"})


class NewReferralSchema(Schema):
    provider = fields.String(required=True, validate=validate.Length(min=1, max=200))
    service = fields.String(required=True, validate=validate.Length(min=1, max=200))
    consent_to_share = fields.Boolean(required=True, metadata={"description": "must be true (R18)"})


class CaseQuerySchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(CASE_STATUSES))
    stage = fields.String(load_default=None, validate=validate.OneOf(CASE_STAGES))
    risk_level = fields.String(load_default=None, validate=validate.OneOf(RISK_LEVELS))
    limit = page_limit(100, case_lists.MAX_PAGE)
    offset = page_offset()


class CaseRowSchema(Schema):
    case_code = fields.String(attribute="code")
    status = fields.String()
    stage = fields.String()
    risk_level = fields.String(allow_none=True)
    in_crisis = fields.Boolean()
    caseworker = fields.String(allow_none=True)
    supervisor = fields.String(allow_none=True)
    date_identified = fields.DateTime(allow_none=True)
    date_next_contact = fields.DateTime(allow_none=True)
    date_next_review = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class CaseListSchema(Schema):
    cases = fields.List(fields.Nested(CaseRowSchema))
    total = fields.Integer()


class TaskLineSchema(Schema):
    id = fields.String()
    name = fields.String()
    title = fields.String()
    process_id = fields.String()
    role = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    state = fields.String()
    due_at = fields.DateTime(allow_none=True)
    priority = fields.Integer()
    risk_level = fields.String(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)


class TimelineSchema(Schema):
    at = fields.DateTime()
    kind = fields.String()
    summary = fields.String()
    form = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    case_status = fields.String()
    caseworker = fields.String(allow_none=True)
    supervisor = fields.String(allow_none=True)


class ClientSchema(Schema):
    name = fields.String()
    date_of_birth = fields.Date(allow_none=True)
    sex = fields.String(allow_none=True)


class ReferralRowSchema(Schema):
    id = fields.Integer()
    provider = fields.String()
    service = fields.String()
    consent_to_share = fields.Boolean()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    referred_at = fields.DateTime()
    outcome_at = fields.DateTime(allow_none=True)


class VoteSchema(Schema):
    conference = fields.String()
    member = fields.String(allow_none=True)
    vote = fields.String()
    comment = fields.String()
    at = fields.DateTime()


class NoteInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(notes.WRITABLE_KINDS),
                         metadata={"description": "contact (direct or indirect) or note"})
    text = fields.String(required=True, validate=validate.Length(max=notes.NOTE_MAX * 2),
                         metadata={"description": f"at most {notes.NOTE_MAX} characters, kept exactly as written"})
    contact_type = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ContactType.values()),
                                 metadata={"description": "for a contact: direct or indirect"})
    contact_method = fields.String(load_default=None, allow_none=True,
                                   validate=validate.OneOf(ContactMethod.values()),
                                   metadata={"description": "for a contact: how it was made"})
    contact_at = fields.DateTime(load_default=None, allow_none=True,
                                 metadata={"description": "for a contact: when it happened (not in the future)"})
    confidential = fields.Boolean(load_default=False, metadata={
        "description": "into the strictly confidential section (only those who may read it may write it)"})


class NoteSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    contact_type = fields.String(allow_none=True)
    contact_method = fields.String(allow_none=True)
    contact_at = fields.DateTime(allow_none=True)
    text = fields.String()
    confidential = fields.Boolean()
    author = fields.String(allow_none=True)
    date = fields.DateTime(attribute="at", metadata={"description": "when it was written (R33)"})
    case_code = fields.String()
    case_status = fields.String(metadata={"description": "the case's status when it was written (R33)"})
    caseworker = fields.String(allow_none=True, metadata={"description": "the caseworker then (R33)"})
    supervisor = fields.String(allow_none=True, metadata={"description": "the supervisor then (R33)"})


TRACKING_DATES = ("date_identified", "date_intake", "date_registered", "date_initial_assessment",
                  "date_comprehensive_started", "date_comprehensive_completed", "date_plan_approved",
                  "date_last_contact", "date_next_contact", "date_last_review", "date_next_review", "date_closed",
                  "date_transferred", "date_aged_out", "date_inactive", "date_reopened")


class CaseFileSchema(Schema):
    case_code = fields.String()
    status = fields.String()
    stage = fields.String()
    risk_level = fields.String(allow_none=True)
    risk_suggested = fields.String(allow_none=True)
    risk_needs_judgement = fields.Boolean()
    in_crisis = fields.Boolean()
    caseworker = fields.String(allow_none=True)
    supervisor = fields.String(allow_none=True)
    primary_concern = fields.String()
    referral_source = fields.String()
    referred_by = fields.String(allow_none=True)
    closure_reason = fields.String(allow_none=True)
    tracking = fields.Dict(keys=fields.String(), values=fields.DateTime(allow_none=True))
    client = fields.Nested(ClientSchema, allow_none=True,
                           metadata={"description": "null unless you may see the name (need-to-know, R32)"})
    open_tasks = fields.List(fields.Nested(TaskLineSchema))
    done_tasks = fields.List(fields.Nested(TaskLineSchema))
    timeline = fields.List(fields.Nested(TimelineSchema))
    referrals = fields.List(fields.Nested(ReferralRowSchema))
    votes = fields.List(fields.Nested(VoteSchema))
    notes = fields.List(fields.Nested(NoteSchema), metadata={
        "description": "contacts and notes; the confidential ones only for those who may read that section"})
    locked = fields.List(fields.String(), metadata={
        "description": "what the crisis team has locked during an emergency and is not shown (R50), in words"})


def case_file_dict(file: case_files.CaseFile) -> dict:
    case = file.case
    return {
        "case_code": case.code, "status": case.status, "stage": case.stage, "risk_level": case.risk_level,
        "risk_suggested": case.risk_suggested, "risk_needs_judgement": case.risk_needs_judgement,
        "in_crisis": case.in_crisis, "caseworker": file.caseworker, "supervisor": file.supervisor,
        "primary_concern": case.primary_concern, "referral_source": case.referral_source,
        "referred_by": case.referred_by, "closure_reason": case.closure_reason,
        "tracking": {name: getattr(case, name) for name in TRACKING_DATES},
        "client": file.client, "open_tasks": file.open_tasks, "done_tasks": file.done_tasks,
        "timeline": file.timeline, "referrals": file.referrals, "votes": file.votes, "notes": file.notes,
        "locked": file.locked,
    }


@blp.post("")
@idempotent(intake.REFERRAL_OPERATION, stored_by_use_case=True)
@blp.arguments(ReferralSchema)
@blp.response(201, CreatedSchema)
def create(body):
    """A referral: registers the client apart from the case and starts the case-management process.
    With an ``Idempotency-Key`` header, the same key from the same user within 24 h gives the
    first answer again and creates nothing."""
    user_id = current_user_id()
    key = request.headers.get(idempotency.HEADER)
    with uow() as work:
        client = dict(body["client"])
        case = intake.create_referral(work, runtime(), user_id, body["referral"], client, idempotency_key=key)
        return {"case_code": case.code, "status": case.status, "process_instance_id": case.main_instance_id}


@blp.get("")
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, CaseListSchema)
def list_cases(query):
    """The cases I may see (need-to-know): codes, never names."""
    user_id = current_user_id()
    with uow() as work:
        rows, total = case_lists.list_cases(work.session, user_id, **query)
        return {"cases": rows, "total": total}


@blp.get(f"/<{CASE_CODE}:case_code>")
@blp.response(200, CaseFileSchema)
def get_case(case_code):
    """One case file: status, risk level, caseworker, tracking dates, open tasks, timeline."""
    user_id = current_user_id()
    with uow() as work:
        return case_file_dict(case_files.get_case_file(work, user_id, case_code))


def _file_after(user_id: int, case_code: str) -> dict:
    """The case file as it is after a change (read in a fresh unit of work, audited)."""
    with uow() as read:
        return case_file_dict(case_files.get_case_file(read, user_id, case_code))


class FileRequestSchema(Schema):
    requested_by = fields.String(required=True, validate=validate.OneOf(file_release.REQUESTERS),
                                 metadata={"description": "who asks to see the file: the client or their caregiver"})


class FileRequestStartedSchema(Schema):
    case_code = fields.String()
    process_instance_id = fields.Integer()


@blp.post(f"/<{CASE_CODE}:case_code>/file-requests")
@idempotent("request_case_file")
@blp.arguments(FileRequestSchema)
@blp.response(201, FileRequestStartedSchema)
def request_file(body, case_code):
    """The client (or their caregiver) asks to see their own case file (R51): its caseworker,
    a supervisor or the director records it; a supervisor screens the file before it is shared."""
    user_id = current_user_id()
    with uow() as work:
        instance = file_release.request_file_release(work, runtime(), user_id, case_code, body["requested_by"])
        return {"case_code": case_code, "process_instance_id": instance.id}


@blp.post(f"/<{CASE_CODE}:case_code>/reopen")
@idempotent("reopen_case")
@blp.arguments(ReasonSchema)
@blp.response(200, CaseFileSchema)
def reopen(body, case_code):
    """Reopen a closed case (R24): a new case-management process starts with a reassessment."""
    user_id = current_user_id()
    with uow() as work:
        lifecycle.reopen_case(work, runtime(), user_id, case_code, body["reason"])
    return _file_after(user_id, case_code)


@blp.post(f"/<{CASE_CODE}:case_code>/reassign")
@idempotent("reassign_case")
@blp.arguments(ReassignSchema)
@blp.response(200, CaseFileSchema)
def reassign(body, case_code):
    """Hand the case to another caseworker (R29): its open tasks move with it."""
    user_id = current_user_id()
    with uow() as work:
        assignment.hand_over_case(work, user_id, case_code, body["caseworker"], body["reason"])
    return _file_after(user_id, case_code)


@blp.post(f"/<{CASE_CODE}:case_code>/referrals")
@idempotent("refer_case")
@blp.arguments(NewReferralSchema)
@blp.response(201, ReferralRowSchema)
def refer(body, case_code):
    """Refer the client to another provider (R18): only with consent to share; the outcome is tracked."""
    user_id = current_user_id()
    with uow() as work:
        return service_referrals.refer_case(work, runtime(), user_id, case_code, body["provider"], body["service"],
                                            body["consent_to_share"])


@blp.post(f"/<{CASE_CODE}:case_code>/notes")
@idempotent("add_case_note")
@blp.arguments(NoteInSchema)
@blp.response(201, NoteSchema)
def add_note(body, case_code):
    """Add a contact (direct or indirect, when, how) or a note to the case file, at any time;
    the answer carries the R33 header (date, case code, status, caseworker, supervisor).
    Those who work on the case write notes; a confidential one only those who may read
    the strictly confidential section."""
    user_id = current_user_id()
    with uow() as work:
        return notes.add_case_note(work, user_id, case_code, kind=body["kind"], text=body["text"],
                                   contact_type=body["contact_type"], contact_method=body["contact_method"],
                                   contact_at=body["contact_at"], confidential=body["confidential"])
