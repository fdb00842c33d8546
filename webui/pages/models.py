"""Process owners: the deployed models and their versions, each diagram and decision table
rendered (bpmn-js / dmn-js), and the upload of a new version with its validation errors
shown on the page, down to the element and the line; which versions can run (and why not),
which one new instances start on, and the steps that failed: case code, element, what
went wrong in words.

A version's page opens on its main diagram (the one holding the process), lists its running
and failed instances, each linked to its own page, with the controls that move them to
another version (a dry run first) and choose the version new instances start on; both call
the API (``webui/static/model_versions.js``). The editor (``/models/edit/<file>``) edits one
file of the deployed set as the owner's draft: the BPMN modeler with the properties panel,
the DMN table editor, or a form's JSON Schema with the task page's renderer as its preview
(``webui/static/process_editor.js``, ``process_editor_views.js``). A version's page also says
what changed from the version before (or ``?compare=<version>``), element by element
(``engine.process.version_compare``).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.bpmn.diagram_outline import element_names
from engine.bpmn.dmn_check import Problem
from engine.errors import NotFound, SpecInvalid
from engine.models import ProcessModel
from engine.models.ops import Incident, IncidentState
from engine.people.languages import Language
from engine.process import deployment as model_service
from engine.process import drafts, instances, positions, version_compare, workflow_catalogues
from engine.service_ops import incidents
from webui import workflow_words
from webui.extensions import engine_ctx, uow
from webui.pages import form_display
from webui.pages.common import page_blueprint, require_roles

log = logging.getLogger(__name__)
bp = page_blueprint("pages_models", __name__)

VIEW_ROLES, DEPLOY_ROLES = model_service.VIEW_ROLES, model_service.DEPLOY_ROLES
UPLOAD_SUFFIXES = (".bpmn", ".dmn", ".json")
CONTENT_TYPES = {"bpmn": "application/xml", "dmn": "application/xml", "form": "application/json"}
SHOWN_UPLOAD_LIMIT = 2 * 1024 * 1024


@dataclass(frozen=True)
class ProcessVersions:
    process_id: str
    name: str
    latest: ProcessModel
    versions: list[tuple[ProcessModel, int]]  # newest first, with running instances
    failed: int = 0

    @property
    def running(self) -> int:
        return sum(count for _, count in self.versions)

    @property
    def start_version(self) -> ProcessModel | None:
        runnable = [m for m, _ in self.versions if m.runnable]
        return next((m for m in runnable if m.starts_new_instances), runnable[0] if runnable else None)


def _grouped(session) -> list[ProcessVersions]:
    counts = model_service.instance_counts(session)
    groups: dict[str, list[tuple[ProcessModel, int]]] = {}
    for model, running in model_service.models_with_counts(session):
        groups.setdefault(model.process_id, []).append((model, running))
    return [ProcessVersions(pid, versions[0][0].name, versions[0][0], versions,
                            sum(counts[m.id].failed for m, _ in versions if m.id in counts))
            for pid, versions in sorted(groups.items())]


def _render_list(problems=None, uploaded: dict | None = None, status: int = 200):
    with uow() as work:
        processes = _grouped(work.session)
        decisions = sorted({f.filename for p in processes for f in p.latest.files if f.kind == "dmn"})
        failed = model_service.failed_instances(work.session)
        may_deploy = current_user.has_role(*DEPLOY_ROLES)
        own_drafts = drafts.list_drafts(work, current_user.id) if may_deploy else []
    return render_template("models.html", processes=processes, decisions=decisions, problems=problems or [],
                           uploaded=uploaded or {}, may_deploy=may_deploy, drafts=own_drafts,
                           failed=failed, reasons_of=model_service.view_only_reasons,
                           languages=[(Language.label_of(c.language), c) for c in workflow_catalogues.completeness()]
                           ), status


@bp.get("/models")
@require_roles(*VIEW_ROLES)
def model_list():
    return _render_list()


@bp.post("/models")
@require_roles(*DEPLOY_ROLES)
def upload():
    """Deploy uploaded files; a broken one is shown with the element it trips on."""
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        return _render_list([Problem("", None, None, "choose at least one .bpmn, .dmn or .json file")], status=400)
    files: dict[str, bytes] = {}
    for upload in uploads:
        name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            return _render_list([Problem(name, None, None, "not a .bpmn, .dmn or .json file")], status=400)
        files[name] = upload.read()
    with uow() as work:
        try:
            results = model_service.deploy_upload(work, current_user.id, files)
        except SpecInvalid as err:
            problems = list(getattr(err, "problems", None) or [err])
            shown = {name: content.decode("utf-8", "replace") for name, content in files.items()
                     if name.lower().endswith((".bpmn", ".dmn")) and len(content) <= SHOWN_UPLOAD_LIMIT}
            log.info("upload by %s refused: %s", current_user.username, err.message)
            return _render_list(problems, shown, 422)
    changed = [r for r in results if r.created]
    if changed:
        flash(_("Deployed: %(what)s. Running instances keep their version; new ones start on the new one.",
                what=", ".join(_("%(process)s version %(version)s", process=r.process_id, version=r.version)
                               + ("" if r.runnable else " " + _("(view-only: it cannot run here yet)"))
                               for r in changed)), "info")
    else:
        flash(_("Nothing changed: every process in these files is already deployed as it is."), "info")
    return redirect(url_for("pages_models.model_list"))


def main_diagram_first(files, process_id: str) -> list:
    """The BPMN files of a version, the one that holds the process itself first."""
    holds = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?process\b[^>]*\bid=\"" + re.escape(process_id) + "\"")
    bpmn = [f for f in files if f.kind == "bpmn"]
    return sorted(bpmn, key=lambda f: (not holds.search(f.content), f.filename))


@bp.get("/models/<id:model_id>")
@require_roles(*VIEW_ROLES)
def model_version(model_id: int):
    with uow() as work:
        model = model_service.model_version(work.session, model_id)
        versions = [(m, n) for m, n in model_service.models_with_counts(work.session)
                    if m.process_id == model.process_id]
        files = model_service.model_files(work.session, model.id)
        diagrams = main_diagram_first(files, model.process_id)
        running = model_service.running_instance_count(work.session, model.id)
        on_version = model_service.instances_of_version(work.session, model.id)
        other = _compared_with(model, [m for m, _ in versions])
        comparison = version_compare.compare_versions(work.session, model.id, other.id) if other else None
    return render_template("model_version.html", model=model, versions=versions, files=files, diagrams=diagrams,
                           running=running, instances=on_version, reasons=model_service.view_only_reasons(model),
                           may_deploy=current_user.has_role(*DEPLOY_ROLES), comparison=comparison,
                           compared_with=other)


def _compared_with(model: ProcessModel, versions: list[ProcessModel]) -> ProcessModel | None:
    """The version ``?compare=<version>`` names, else the one before ``model``."""
    others = {m.version: m for m in versions if m.id != model.id}
    asked = request.args.get("compare", "")
    if asked.isdigit() and len(asked) < 10 and int(asked) in others:
        return others[int(asked)]
    older = [v for v in others if v < model.version]
    return others[max(older)] if older else None


@bp.get("/models/instances/<id:instance_id>")
@require_roles(*VIEW_ROLES)
def model_instance(instance_id: int):
    """One instance for process owners: where it waits, what failed, and moving it."""
    with uow() as work:
        instance = instances.view_instance(work.session, current_user.id, instance_id)
        position = positions.instance_position(work.session, instance)
        versions = [m for m, _ in model_service.models_with_counts(work.session)
                    if m.process_id == instance.process_id]
    return render_template("model_instance.html", instance=instance, position=position, versions=versions,
                           may_deploy=current_user.has_role(*DEPLOY_ROLES))


@dataclass(frozen=True)
class IncidentRow:
    """One incident as the incidents page shows it: a failed step of a diagram (its case,
    process version, element and instance), or, for admins, a background job that gave up."""
    incident: Incident
    case_code: str | None = None
    process_id: str | None = None
    version: int | None = None
    model_id: int | None = None
    element_id: str | None = None
    element_name: str | None = None
    instance_id: int | None = None
    process_name: str | None = None

    @property
    def is_step(self) -> bool:
        return self.incident.actor == incidents.DIAGRAM_FAILURE


RESOLVED_SHOWN = 50


def _incident_row(session, incident: Incident, names: dict) -> IncidentRow:
    if incident.actor != incidents.DIAGRAM_FAILURE:
        return IncidentRow(incident)
    try:
        args = json.loads(incident.args_json or "{}")
    except ValueError:
        args = {}
    if not isinstance(args, dict):
        args = {}
    model_id, element_id = args.get("model_id"), args.get("element_id")
    model = session.get(ProcessModel, model_id) if isinstance(model_id, int) else None
    if model is not None and model.id not in names:
        names[model.id] = {}
        for f in model_service.model_files(session, model.id):
            if f.kind == "bpmn":
                names[model.id].update(element_names(f.content))
    name = names.get(model.id, {}).get(element_id) if model is not None and isinstance(element_id, str) else None
    return IncidentRow(incident, args.get("case_code"), args.get("process_id"), args.get("version"),
                       model.id if model is not None else None, element_id,
                       workflow_words.text(name) if name else None, args.get("instance_id"),
                       workflow_words.text(model.name) if model is not None and model.name else None)


@bp.get("/models/incidents")
@require_roles(*DEPLOY_ROLES)
def incident_list():
    """Open and recent incidents: the steps diagrams failed (process owners and admins) and,
    for admins, the background jobs that gave up; resolved ones apart, the latest first."""
    with uow() as work:
        names: dict[int, dict[str, str]] = {}
        unresolved = [r for state in (IncidentState.OPEN, IncidentState.RETRIED)
                      for r in incidents.list_incidents(work.session, current_user.id, state=state, limit=200)[0]]
        unresolved.sort(key=lambda i: (i.last_seen_at, i.id), reverse=True)
        resolved, resolved_total = incidents.list_incidents(work.session, current_user.id,
                                                            state=IncidentState.RESOLVED, limit=RESOLVED_SHOWN)
        open_rows = [_incident_row(work.session, i, names) for i in unresolved]
        resolved_rows = [_incident_row(work.session, i, names) for i in resolved]
    return render_template("model_incidents.html", open_rows=open_rows, resolved_rows=resolved_rows,
                           resolved_total=resolved_total)


@bp.get("/models/edit/<path:filename>")
@require_roles(*DEPLOY_ROLES)
def edit_file(filename: str):
    """Edit one file as the owner's draft: their draft if they have one, else the deployed
    file, else a new one. ``?process=`` names the process whose path tests the page runs."""
    process_id = (request.args.get("process") or "")[:200] or None
    with uow() as work:
        opened = drafts.editable_file(work, current_user.id, filename)
        choices = drafts.editor_choices(work, current_user.id)
        others = {name: text for name, text in drafts.draft_contents(work, current_user.id).items()
                  if name != filename}
        if process_id is None and opened.kind == "bpmn":
            process_id = next(iter(_process_ids(opened.content)), None)
        tests = (drafts.editable_file(work, current_user.id, f"{drafts.SCENARIO_FOLDER}{process_id}.json",
                                      engine_ctx().settings.workflows_dir)
                 if process_id and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,120}", process_id) else None)
    config = {"filename": opened.filename, "kind": opened.kind, "content": opened.content, "source": opened.source,
              "base_hash": opened.base_hash,
              "process_id": process_id, "other_drafts": others,
              "scenario": tests and {"filename": tests.filename, "content": tests.content, "source": tests.source},
              "vocabulary": {"forms": choices.forms, "decisions": choices.decisions,
                             "operations": choices.operations, "roles": choices.roles},
              "urls": {"drafts": url_for("process_models.list_drafts"),
                       "validate": url_for("process_models.validate_files"),
                       "scenarios": url_for("process_models.run_scenarios"),
                       "deploy": url_for("process_models.deploy_drafts"),
                       "models": url_for("pages_models.model_list")}}
    return render_template("model_editor.html", opened=opened, process_id=process_id, config=config,
                           other_names=sorted(n for n in others if not n.startswith(drafts.SCENARIO_FOLDER)))


@bp.post("/models/form-preview")
@require_roles(*DEPLOY_ROLES)
def form_preview():
    """The editor's live preview: a form's JSON Schema dressed for the renderer exactly as
    the task page dresses it (webui.pages.form_display). Changes nothing."""
    body = request.get_json(silent=True)
    schema = body.get("schema") if isinstance(body, dict) else None
    if not isinstance(schema, dict):
        return jsonify(error="bad_request", message="send {\"schema\": {...}}: a JSON Schema object"), 400
    try:
        shown, read_only = form_display.editor_schema(schema), form_display.read_only_fields(schema)
    except (TypeError, ValueError, AttributeError) as err:  # a schema the deploy check would refuse
        return jsonify(error="invalid", message=f"this schema cannot be shown yet: {err}"), 422
    return jsonify(schema=shown, read_only=read_only)


def _process_ids(bpmn_text: str) -> list[str]:
    return re.findall(r"<(?:[A-Za-z_][\w.-]*:)?process\b[^>]*?\bid=\"([^\"]+)\"", bpmn_text)


@bp.get("/models/<id:model_id>/files/<path:filename>")
@login_required
def model_file(model_id: int, filename: str):
    """The source of one file of one model version, for the diagram and table viewers.
    Process definitions hold no case data; anyone signed in may read them."""
    with uow() as work:
        match = [f for f in model_service.model_files(work.session, model_id) if f.filename == filename]
        if not match:
            raise NotFound(f"no file {filename} in process model version {model_id}")
        content, kind = match[0].content, match[0].kind
    response = Response(content, mimetype=CONTENT_TYPES.get(kind, "text/plain"))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
