"""Starting a process directly (process owners, tests, the sample) and reading an instance."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from engine.process import instances
from webui.api.bounds import PROCESS_ID
from webui.auth import current_user_id
from webui.extensions import runtime, uow
from webui.idempotency import idempotent

blp = Blueprint("processes", __name__, url_prefix="/api/processes", description="Process instances")

class StartSchema(Schema):
    data = fields.Dict(load_default=dict, metadata={"description": "initial data: ids and flags only"})


class InstanceSchema(Schema):
    id = fields.Integer()
    process_id = fields.String()
    version = fields.Integer(attribute="model.version")
    status = fields.String()
    case_code = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


@blp.post(f"/<{PROCESS_ID}:process_id>/instances")
@idempotent("start_instance")
@blp.arguments(StartSchema)
@blp.response(201, InstanceSchema)
def start(body, process_id):
    """Start the newest version of a process and run it to its first wait state."""
    user_id = current_user_id()
    with uow() as work:
        return instances.start_by_request(work, runtime(), user_id, process_id, body["data"])


@blp.get("/instances/<id:instance_id>")
@blp.response(200, InstanceSchema)
def get_instance(instance_id):
    """One instance's status (not its data)."""
    user_id = current_user_id()
    with uow() as work:
        return instances.view_instance(work.session, user_id, instance_id)
