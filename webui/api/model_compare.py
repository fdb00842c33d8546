"""What changed between two versions of a process model (issue 14): per file, and in each
diagram, table or form per element — added, removed, or changed and how. Read by process
owners; process definitions hold no case data, so anyone signed in may read them (as
``GET /api/process-models``)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from engine.process import version_compare
from webui.auth import current_user_id
from webui.extensions import uow

blp = Blueprint("process_model_versions", __name__, url_prefix="/api/process-models",
                description="Comparing versions of a process model")


class ElementChangeSchema(Schema):
    element_id = fields.String()
    kind = fields.String(metadata={"description": "user task, exclusive gateway, output entry, field, ..."})
    name = fields.String()
    change = fields.String(metadata={"description": "added | removed | changed"})
    details = fields.List(fields.String(), metadata={"description": "what changed: \"due: PT24H → PT12H\""})


class FileChangeSchema(Schema):
    filename = fields.String()
    change = fields.String(metadata={"description": "added | removed | changed | unchanged"})
    elements = fields.List(fields.Nested(ElementChangeSchema))
    more = fields.Integer(metadata={"description": "element changes left out of the list"})
    note = fields.String()


class ComparisonSchema(Schema):
    process_id = fields.String()
    older = fields.Integer(metadata={"description": "the older version number"})
    newer = fields.Integer()
    older_id = fields.Integer()
    newer_id = fields.Integer()
    files = fields.List(fields.Nested(FileChangeSchema))


@blp.get("/<id:model_id>/compare/<id:other_id>")
@blp.response(200, ComparisonSchema)
def compare(model_id: int, other_id: int):
    """What changed from the older of two versions of one process (model ids) to the newer;
    the layout is not compared. 404: no such version; 422: versions of two processes."""
    current_user_id()
    with uow() as work:
        return version_compare.compare_versions(work.session, model_id, other_id)
