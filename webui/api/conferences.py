"""Case conferences on open cases (R47): a case review conference, or an emergency
conference after an incident, called by the case's supervisor or caseworker."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.committee import review_conferences
from webui.api.bounds import CASE_CODE
from webui.auth import current_user_id
from webui.extensions import runtime, uow
from webui.idempotency import idempotent

blp = Blueprint("conferences", __name__, url_prefix="/api/cases",
                description="Case review and emergency conferences of the case committee on open cases")


class CallConferenceSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(review_conferences.OPEN_CASE_KINDS),
                         metadata={"description": "case_review, or emergency_review after an incident"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=review_conferences.MAX_REASON),
                           metadata={"description": "why it is called; for an emergency, the incident (codes only)"})


class ConferenceSchema(Schema):
    conference_id = fields.Integer()
    case_code = fields.String()
    kind = fields.String()
    members = fields.Integer(metadata={"description": "committee members asked to vote"})
    opened_at = fields.DateTime()
    process_instance_id = fields.Integer(allow_none=True)


@blp.post(f"/<{CASE_CODE}:case_code>/conferences")
@idempotent("call_conference")
@blp.arguments(CallConferenceSchema)
@blp.response(201, ConferenceSchema)
def call_conference(body, case_code):
    """Call a case review or emergency conference: every committee member gets a vote task;
    the outcome changes the plan or the risk rating. 403 for anyone not on the case, 409 for
    a case that is not open or a conference already under way."""
    user_id = current_user_id()
    with uow() as work:
        conference = review_conferences.call_conference(work, runtime(), user_id, case_code, body["kind"],
                                                        body["reason"])
        return {"conference_id": conference.id, "case_code": case_code, "kind": conference.kind,
                "members": len(review_conferences.members_of(conference)), "opened_at": conference.opened_at,
                "process_instance_id": conference.instance_id}
