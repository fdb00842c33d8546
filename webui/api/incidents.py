"""Failed background jobs an admin can see and retry (admins only; 403 otherwise)."""
from __future__ import annotations

import json

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.models.ops import INCIDENT_STATES
from engine.service_ops import incidents
from webui.api.bounds import page_limit, page_offset
from webui.auth import current_user_id
from webui.extensions import uow
from webui.idempotency import idempotent

blp = Blueprint("incidents", __name__, url_prefix="/api/incidents",
                description="Failed background jobs an admin can retry")


class IncidentQuerySchema(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(INCIDENT_STATES))
    limit = page_limit(100, 500)
    offset = page_offset()


class IncidentSchema(Schema):
    id = fields.Integer()
    actor = fields.String(metadata={"description": "the background job that failed"})
    args = fields.Function(lambda i: json.loads(i.args_json), metadata={"description": "its arguments (ids)"})
    error = fields.String(metadata={"description": "the last error"})
    attempts = fields.Integer(metadata={"description": "failed attempts so far, retries included"})
    state = fields.String(metadata={"description": "open | retried | resolved"})
    first_seen_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    retries = fields.Integer(metadata={"description": "how many times an admin asked for a retry"})
    retried_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)


class IncidentListSchema(Schema):
    incidents = fields.List(fields.Nested(IncidentSchema))
    total = fields.Integer()


@blp.get("")
@blp.arguments(IncidentQuerySchema, location="query")
@blp.response(200, IncidentListSchema)
def list_incidents(query):
    """Incidents, most recently failed first (`?state=open` for the ones needing action)."""
    user_id = current_user_id()
    with uow() as work:
        rows, total = incidents.list_incidents(work.session, user_id, **query)
        return {"incidents": rows, "total": total}


@blp.get("/<id:incident_id>")
@blp.response(200, IncidentSchema)
def get_incident(incident_id):
    """One incident."""
    user_id = current_user_id()
    with uow() as work:
        return incidents.get_incident(work.session, user_id, incident_id)


@blp.post("/<id:incident_id>/retry")
@idempotent("retry_incident")
@blp.response(200, IncidentSchema)
def retry(incident_id):
    """Queue the failed job again; the incident is resolved when it succeeds, reopened
    when it fails again (409 unless the incident is open)."""
    user_id = current_user_id()
    with uow() as work:
        return incidents.retry_incident(work, user_id, incident_id)


@blp.post("/<id:incident_id>/resolve")
@idempotent("resolve_incident")
@blp.response(200, IncidentSchema)
def resolve(incident_id):
    """Close an incident without retrying it (409 if resolved already)."""
    user_id = current_user_id()
    with uow() as work:
        return incidents.resolve_incident(work, user_id, incident_id)
