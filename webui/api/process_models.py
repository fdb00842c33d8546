"""Process models: list deployed versions, validate and deploy BPMN/DMN/forms (multipart),
choose the version new instances start on, move instances between versions, run path tests;
process owners' drafts (kept per owner, deployed when asked)."""
from __future__ import annotations

import json

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.errors import BadRequest
from engine.process import deployment as model_service
from engine.process import drafts, migration, scenarios
from webui.api.bounds import DRAFT_NAME, ID_MAX, PROCESS_ID, DraftNameConverter, draft_name_schema
from webui.auth import current_user_id
from webui.extensions import engine_ctx, runtime, smorest_api, uow
from webui.idempotency import idempotent

blp = Blueprint("process_models", __name__, url_prefix="/api/process-models",
                description="Deployed BPMN/DMN process models, their versions and their instances")

smorest_api.register_converter(DraftNameConverter, draft_name_schema)  # documented with its maxLength

ALLOWED_SUFFIXES = (".bpmn", ".dmn", ".json")
LANE_ROLES_FIELD = "lane_roles"
SCENARIOS_FIELD = "scenarios"
MAX_LANES = 200


class ModelFileSchema(Schema):
    filename = fields.String()
    kind = fields.String()


class ProblemSchema(Schema):
    file = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    message = fields.String()


class ProcessModelSchema(Schema):
    id = fields.Integer()
    process_id = fields.String()
    name = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    deployed_at = fields.DateTime()
    running_instances = fields.Integer()
    failed_instances = fields.Integer(metadata={"description": "stopped at a failed step, or with one to try again"})
    latest = fields.Boolean()
    runnable = fields.Boolean(metadata={"description": "false: drawn and testable, never started (view-only)"})
    view_only_reasons = fields.List(fields.Nested(ProblemSchema))
    starts_new_instances = fields.Boolean(metadata={"description": "the version new instances start on"})
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
    runnable = fields.Boolean()
    reasons = fields.List(fields.Nested(ProblemSchema), metadata={"description": "why it cannot run (view-only)"})


class DeployResponseSchema(Schema):
    deployed = fields.List(fields.Nested(DeployResultSchema))


class ValidatedProcessSchema(Schema):
    process_id = fields.String()
    name = fields.String()
    runnable = fields.Boolean()
    reasons = fields.List(fields.Nested(ProblemSchema))
    deployed_version = fields.Integer(allow_none=True)
    changed = fields.Boolean()


class ValidationSchema(Schema):
    problems = fields.List(fields.Nested(ProblemSchema))
    processes = fields.List(fields.Nested(ValidatedProcessSchema))


class StartVersionSchema(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1, max=ID_MAX))


class MigrationRequestSchema(Schema):
    to_version = fields.Integer(required=True, validate=validate.Range(min=1, max=ID_MAX))
    from_version = fields.Integer(load_default=None, validate=validate.Range(min=1, max=ID_MAX))
    instance_ids = fields.List(fields.Integer(validate=validate.Range(min=0, max=ID_MAX)), load_default=None,
                               validate=validate.Length(max=migration.MAX_PER_CALL))
    dry_run = fields.Boolean(required=True)


class WaitingSchema(Schema):
    element_id = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "task | timer | other"})
    in_target = fields.Boolean(metadata={"description": "an element of this id exists in the target version"})
    note = fields.String()


class VerdictSchema(Schema):
    instance_id = fields.Integer()
    case_code = fields.String(allow_none=True)
    from_version = fields.Integer()
    status = fields.String()
    failed_element = fields.String(allow_none=True)
    movable = fields.Boolean()
    reason = fields.String(allow_none=True)
    will = fields.String(metadata={"description": "what happens to it, in words"})
    waiting = fields.List(fields.Nested(WaitingSchema))
    notes = fields.List(fields.String())


class RefusedSchema(Schema):
    instance_id = fields.Integer()
    reason = fields.String()


class MigrationResultSchema(Schema):
    process_id = fields.String()
    to_version = fields.Integer()
    dry_run = fields.Boolean()
    migrated = fields.List(fields.Integer(), metadata={"description": "moved (in a dry run: would move)"})
    refused = fields.List(fields.Nested(RefusedSchema))
    instances = fields.List(fields.Nested(VerdictSchema), metadata={"description": "the first 1000 chosen"})
    total = fields.Integer(metadata={"description": "the instances chosen, listed or not"})
    unlisted = fields.Integer(metadata={"description": "chosen but left out of instances"})


class ScenarioResultSchema(Schema):
    name = fields.String()
    file = fields.String()
    process = fields.String()
    passed = fields.Boolean()
    failed_step = fields.Integer(allow_none=True, metadata={"description": "1-based; 0: the start"})
    why = fields.String(allow_none=True)
    steps = fields.Integer()


class ScenarioResultsSchema(Schema):
    passed = fields.Boolean()
    results = fields.List(fields.Nested(ScenarioResultSchema))


class DraftSchema(Schema):
    filename = fields.String(metadata={"description": "the deployed file's name, or tests/<name>.json (a path test)"})
    kind = fields.String(metadata={"description": "bpmn | dmn | form | scenario"})
    updated_at = fields.DateTime()
    size = fields.Integer()


class DraftListSchema(Schema):
    drafts = fields.List(fields.Nested(DraftSchema))


class DraftContentSchema(Schema):
    filename = fields.String()
    kind = fields.String()
    content = fields.String()
    updated_at = fields.DateTime()


class DraftSaveSchema(Schema):
    content = fields.String(required=True, validate=validate.Length(
        max=drafts.MAX_DRAFT_BYTES, error=f"a draft holds at most {drafts.MAX_DRAFT_BYTES // 1024} KiB"))
    base_hash = fields.String(load_default=None, validate=validate.Regexp(drafts.BASE_HASH), metadata={
        "description": "SHA-256 (hex) of the deployed file the editor opened; kept by a new draft so that a deploy "
                       "over a file deployed again since is refused (409). Not sent: the file deployed now"})


class DraftDeploySchema(Schema):
    filenames = fields.List(fields.String(validate=validate.Length(min=1, max=130)), load_default=None,
                            validate=validate.Length(min=1, max=drafts.MAX_DRAFTS),
                            metadata={"description": "the drafts to deploy; none given: every draft but path tests"})
    overwrite = fields.Boolean(load_default=False, metadata={
        "description": "deploy even over files deployed again since the drafts were started (else 409)"})


def model_dict(model, counts: model_service.VersionCounts, latest: bool) -> dict:
    return {"id": model.id, "process_id": model.process_id, "name": model.name, "version": model.version,
            "content_hash": model.content_hash, "deployed_at": model.deployed_at,
            "running_instances": counts.running, "failed_instances": counts.failed, "latest": latest,
            "runnable": model.runnable, "view_only_reasons": model_service.view_only_reasons(model),
            "starts_new_instances": model.starts_new_instances, "start_roles": model.start_roles.split(),
            "files": [{"filename": f.filename, "kind": f.kind} for f in model.files]}


def _result_dict(result: model_service.DeployResult) -> dict:
    return {"process_id": result.process_id, "version": result.version, "model_id": result.model_id,
            "created": result.created, "runnable": result.runnable,
            "reasons": [model_service.problem_dict(p) for p in result.reasons]}


# -- multipart parts ---------------------------------------------------------------------
def _model_files(required: bool = True) -> dict[str, bytes]:
    """The .bpmn/.dmn/.json files of the upload (any field but the lane mapping and scenarios)."""
    uploads = [(key, f) for key, f in request.files.items(multi=True) if key not in (LANE_ROLES_FIELD, SCENARIOS_FIELD)]
    if not uploads and required:
        raise BadRequest("send the files as multipart/form-data", errors={"files": ["no file sent"]})
    files: dict[str, bytes] = {}
    for _key, upload in uploads:
        name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        if not name.lower().endswith(ALLOWED_SUFFIXES):
            raise BadRequest(f"{name or 'a file'} is not a .bpmn, .dmn or .json file",
                             errors={name or "files": ["unsupported file type"]})
        files[name] = upload.read()
    return files


def _lane_roles() -> dict[str, str] | None:
    """The lane -> role mapping sent with an upload: a ``lane_roles`` part (a form field or
    a file) holding ``{"lane name or id": "role"}``."""
    part = request.files.get(LANE_ROLES_FIELD)
    text = part.read().decode("utf-8", "replace") if part is not None else request.form.get(LANE_ROLES_FIELD)
    if not text:
        return None
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or len(mapping) > MAX_LANES or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 200 and len(v) <= 40 for k, v in mapping.items()):
        raise BadRequest("lane_roles is a JSON object {\"lane name\": \"role\"}",
                         errors={LANE_ROLES_FIELD: [f"a JSON object of at most {MAX_LANES} lane names to roles"]})
    return mapping


# -- routes ------------------------------------------------------------------------------
@blp.get("")
@blp.response(200, ModelListSchema)
def list_models():
    """Every deployed version of every process, newest first, with its running and failed
    instances, whether it can run (and why not) and whether new instances start on it."""
    current_user_id()
    with uow() as work:
        counts = model_service.instance_counts(work.session)
        seen: set[str] = set()
        out = []
        for model, _running in model_service.models_with_counts(work.session):
            out.append(model_dict(model, counts.get(model.id, model_service.VersionCounts(0, 0)),
                                  model.process_id not in seen))
            seen.add(model.process_id)
        return {"models": out}


@blp.post("")
@idempotent("deploy_process_models")
@blp.response(201, DeployResponseSchema)
@blp.alt_response(422, description="a file does not validate: names the file, element id and line")
def deploy():
    """Deploy BPMN/DMN/form files (multipart, any field name; a ``lane_roles`` part maps
    lanes that are not roles to roles). A process gets a new version only when its content
    changed; running instances keep theirs. A new process that cannot run here deploys
    view-only (``runnable`` false, with the reasons)."""
    user_id = current_user_id()
    files, lanes = _model_files(), _lane_roles()
    with uow() as work:
        results = model_service.deploy_upload(work, user_id, files, lanes)
        return {"deployed": [_result_dict(r) for r in results]}


@blp.post("/validate")
@idempotent("validate_process_models")
@blp.response(200, ValidationSchema)
def validate_files():
    """The checks of a deploy, with nothing deployed: every problem (file, element, line)
    and what each process would be (runnable or view-only and why)."""
    user_id = current_user_id()
    files, lanes = _model_files(), _lane_roles()
    with uow() as work:
        checked = model_service.validate_upload(work, user_id, files, lanes)
        return {"problems": [model_service.problem_dict(p) for p in checked.problems],
                "processes": checked.processes}


@blp.post("/scenarios")
@idempotent("run_path_tests")
@blp.response(200, ScenarioResultsSchema)
def run_scenarios():
    """Run path tests against a draft (model files sent, over the deployed set) or the
    deployed set (none sent), with the scenario files sent as ``scenarios`` parts or,
    none sent, the stock ones; ``scenario`` (a form field) runs one by name."""
    user_id = current_user_id()
    files = _model_files(required=False)
    sent = {}
    for upload in request.files.getlist(SCENARIOS_FIELD):
        name = (upload.filename or "scenario.json").replace("\\", "/").rsplit("/", 1)[-1]
        sent[name] = upload.read()
    only = request.form.get("scenario") or None
    with uow() as work:
        results = scenarios.run_for_owner(work, runtime(), user_id, files, sent, only,
                                          stock=engine_ctx().settings.workflows_dir)
        return {"passed": all(r.passed for r in results), "results": results}


# -- drafts ------------------------------------------------------------------------------
@blp.get("/drafts")
@blp.response(200, DraftListSchema)
def list_drafts():
    """The signed-in process owner's drafts (their own only)."""
    user_id = current_user_id()
    with uow() as work:
        return {"drafts": drafts.list_drafts(work, user_id)}


@blp.get(f"/drafts/<{DRAFT_NAME}:filename>")
@blp.response(200, DraftContentSchema)
def read_draft(filename):
    """One of the owner's drafts with its content; 404 when they have none of that name."""
    user_id = current_user_id()
    with uow() as work:
        draft = drafts.read_draft(work, user_id, filename)
        return {"filename": draft.filename, "kind": drafts.kind_of(draft.filename), "content": draft.content,
                "updated_at": draft.updated_at}


@blp.put(f"/drafts/<{DRAFT_NAME}:filename>")
@idempotent("save_draft")
@blp.arguments(DraftSaveSchema)
@blp.response(200, DraftSchema)
def save_draft(body, filename):
    """Keep an edit of a diagram (.bpmn), decision table (.dmn), form (.json) or path test
    (tests/<name>.json) as the owner's draft; nothing is deployed. A draft may be broken:
    POST /validate with it says why."""
    user_id = current_user_id()
    with uow() as work:
        return drafts.save_draft(work, user_id, filename, body["content"], body.get("base_hash"))


@blp.delete(f"/drafts/<{DRAFT_NAME}:filename>")
@idempotent("discard_draft")
@blp.response(204)
def discard_draft(filename):
    """Throw one of the owner's drafts away."""
    user_id = current_user_id()
    with uow() as work:
        drafts.discard_draft(work, user_id, filename)


@blp.post("/drafts/deploy")
@idempotent("deploy_drafts")
@blp.arguments(DraftDeploySchema)
@blp.response(201, DeployResponseSchema)
@blp.alt_response(422, description="a draft does not validate: names the file, element id and line")
@blp.alt_response(409, description="a drafted file was deployed again since its draft was started (overwrite: true)")
def deploy_drafts(body):
    """Deploy the owner's drafts (those named, or all but path tests) over the deployed files,
    as an upload would be; the deployed drafts are discarded. Refused: nothing changes."""
    user_id = current_user_id()
    with uow() as work:
        return {"deployed": [_result_dict(r) for r in drafts.deploy_drafts(work, user_id, body.get("filenames"),
                                                                             body["overwrite"])]}


@blp.put(f"/<{PROCESS_ID}:process_id>/start-version")
@idempotent("set_start_version")
@blp.arguments(StartVersionSchema)
@blp.response(200, ProcessModelSchema)
def set_start_version(body, process_id):
    """Choose the version new instances start on (roll back to an older one, or forward);
    running instances keep theirs. Process owners and admins."""
    user_id = current_user_id()
    with uow() as work:
        model = model_service.set_start_version(work, user_id, process_id, body["version"])
        counts = model_service.instance_counts(work.session).get(model.id, model_service.VersionCounts(0, 0))
        return model_dict(model, counts, False)


@blp.post(f"/<{PROCESS_ID}:process_id>/migrations")
@idempotent("migrate_instances")
@blp.arguments(MigrationRequestSchema)
@blp.response(200, MigrationResultSchema)
def migrate(body, process_id):
    """Move running and failed instances to another version — ``instance_ids`` (at most
    1000), those on ``from_version``, or all (any number, taken 1000 at a time) — or, with
    ``dry_run``, say per instance what would happen (whether its waiting tasks and timers
    exist in the target) and change nothing."""
    user_id = current_user_id()
    with uow() as work:
        return migration.migrate_instances(work, runtime(), user_id, process_id, body["to_version"],
                                           body.get("from_version"), body.get("instance_ids"), body["dry_run"])
