"""Complaints (R28): any staff member records one; the list and each complaint are seen
only by those the confidentiality rule allows, every read audited; lists name no
complainant."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.complaints import handling
from engine.models.complaints import ComplainantKind
from webui.api.bounds import PATH_ID, page_limit, page_offset
from webui.auth import current_user_id
from webui.extensions import runtime, uow
from webui.idempotency import idempotent

blp = Blueprint("complaints", __name__, url_prefix="/api/complaints",
                description="Complaints: recorded by staff, answered in writing by someone not involved")


class RecordComplaintSchema(Schema):
    complainant_kind = fields.String(required=True, validate=validate.OneOf(ComplainantKind.values()))
    complainant_name = fields.String(load_default="", validate=validate.Length(max=handling.MAX_NAME),
                                     metadata={"description": "confidential; never shown in lists"})
    complainant_contact = fields.String(load_default="", validate=validate.Length(max=handling.MAX_NAME))
    case_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    staff_member = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80),
                                 metadata={"description": "username of the staff member complained about"})
    summary = fields.String(required=True, validate=validate.Length(min=1, max=handling.MAX_SUMMARY))


class ComplaintLineSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    complainant_kind = fields.String()
    subject_kind = fields.String()
    case_code = fields.String(allow_none=True)
    staff_member = fields.String(allow_none=True)
    investigator = fields.String(allow_none=True)
    received_at = fields.DateTime()
    answer_due_at = fields.DateTime(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    escalated = fields.Boolean()


class ComplaintSchema(ComplaintLineSchema):
    complainant_name = fields.String()
    complainant_contact = fields.String()
    summary = fields.String()
    recorded_by = fields.String(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledgement = fields.String()
    findings = fields.String()
    response = fields.String()
    answered_by = fields.String(allow_none=True)
    escalation_note = fields.String()


class ComplaintListSchema(Schema):
    complaints = fields.List(fields.Nested(ComplaintLineSchema))


class ComplaintQuerySchema(Schema):
    limit = page_limit(50, handling.MAX_PAGE)
    offset = page_offset()


@blp.post("")
@idempotent("record_complaint")
@blp.arguments(RecordComplaintSchema)
@blp.response(201, ComplaintSchema)
def record(body):
    """Record a complaint from a client, a caregiver or a member of the community, about a
    case (``case_code``) or a staff member (``staff_member``): it is acknowledged,
    investigated by someone not involved and answered in writing in time."""
    user_id = current_user_id()
    with uow() as work:
        complaint = handling.record_complaint(work, runtime(), user_id, **body)
    with uow() as read:
        return handling.get_complaint(read, user_id, complaint.id)


@blp.get("")
@blp.arguments(ComplaintQuerySchema, location="query")
@blp.response(200, ComplaintListSchema)
def list_complaints(query):
    """The complaints I may see, newest first: no complainant names."""
    user_id = current_user_id()
    with uow() as work:
        return {"complaints": handling.list_complaints(work, user_id, query["limit"], query["offset"])}


@blp.get(f"/<{PATH_ID}:complaint_id>")
@blp.response(200, ComplaintSchema)
def get_complaint(complaint_id):
    """One complaint, for those who may see it (404 for everyone else)."""
    user_id = current_user_id()
    with uow() as work:
        return handling.get_complaint(work, user_id, complaint_id)

