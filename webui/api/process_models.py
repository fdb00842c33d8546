"""Process models: list deployed versions, deploy new BPMN/DMN/forms (multipart)."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from engine.errors import BadRequest
from engine.process import deployment as model_service
from webui.auth import current_user_id
from webui.extensions import uow

blp = Blueprint("process_models", __name__, url_prefix="/api/process-models",
                description="Deployed BPMN/DMN process models and their versions")

ALLOWED_SUFFIXES = (".bpmn", ".dmn", ".json")


class ModelFileSchema(Schema):
    filename = fields.String()
    kind = fields.String()


class ProcessModelSchema(Schema):
    id = fields.Integer()
    process_id = fields.String()
    name = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    deployed_at = fields.DateTime()
    running_instances = fields.Integer()
    latest = fields.Boolean()
    start_roles = fields.List(fields.String(), metadata={
        "description": "roles that may start it through the API; empty: only the engine starts it"})
    files = fields.List(fields.Nested(ModelFileSchema))


class ModelListSchema(Schema):
    models = fields.List(fields.Nested(ProcessModelSchema))


class DeployResultSchema(Schema):
    process_id = fields.String()
    version = fields.Integer()
    model_id = fields.Integer()
    created = fields.Boolean()


class DeployResponseSchema(Schema):
    deployed = fields.List(fields.Nested(DeployResultSchema))


def model_dict(model, running: int, latest: bool) -> dict:
    return {"id": model.id, "process_id": model.process_id, "name": model.name, "version": model.version,
            "content_hash": model.content_hash, "deployed_at": model.deployed_at,
            "running_instances": running, "latest": latest, "start_roles": model.start_roles.split(),
            "files": [{"filename": f.filename, "kind": f.kind} for f in model.files]}


@blp.get("")
@blp.response(200, ModelListSchema)
def list_models():
    """Every deployed version of every process, newest first, with running instance counts."""
    current_user_id()
    with uow() as work:
        seen: set[str] = set()
        out = []
        for model, running in model_service.models_with_counts(work.session):
            out.append(model_dict(model, running, model.process_id not in seen))
            seen.add(model.process_id)
        return {"models": out}


@blp.post("")
@blp.response(201, DeployResponseSchema)
@blp.alt_response(422, description="a file does not validate: names the file, element id and line")
def deploy():
    """Deploy BPMN/DMN/form files (multipart, any field name). A process gets a new
    version only when its content changed; running instances keep theirs."""
    user_id = current_user_id()
    uploads = request.files.getlist("files") or list(request.files.values())
    if not uploads:
        raise BadRequest("send the files as multipart/form-data", errors={"files": ["no file sent"]})
    files: dict[str, bytes] = {}
    for upload in uploads:
        name = (upload.filename or "").rsplit("/", 1)[-1]
        if not name.lower().endswith(ALLOWED_SUFFIXES):
            raise BadRequest(f"{name or 'a file'} is not a .bpmn, .dmn or .json file",
                             errors={name or "files": ["unsupported file type"]})
        files[name] = upload.read()
    with uow() as work:
        results = model_service.deploy_upload(work, user_id, files)
        return {"deployed": [r.__dict__ for r in results]}
