"""Process owners: the deployed models and their versions, each diagram and decision table
rendered (bpmn-js / dmn-js), and the upload of a new version with its validation errors
shown on the page, down to the element and the line.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.bpmn.dmn_check import Problem
from engine.errors import NotFound, SpecInvalid
from engine.models import ProcessModel
from engine.process import deployment as model_service
from webui.extensions import uow
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

    @property
    def running(self) -> int:
        return sum(count for _, count in self.versions)


def _grouped(session) -> list[ProcessVersions]:
    groups: dict[str, list[tuple[ProcessModel, int]]] = {}
    for model, running in model_service.models_with_counts(session):
        groups.setdefault(model.process_id, []).append((model, running))
    return [ProcessVersions(pid, versions[0][0].name, versions[0][0], versions)
            for pid, versions in sorted(groups.items())]


def _render_list(problems=None, uploaded: dict | None = None, status: int = 200):
    with uow() as work:
        processes = _grouped(work.session)
        decisions = sorted({f.filename for p in processes for f in p.latest.files if f.kind == "dmn"})
    return render_template("models.html", processes=processes, decisions=decisions, problems=problems or [],
                           uploaded=uploaded or {}, may_deploy=current_user.has_role(*DEPLOY_ROLES)), status


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
        flash("Deployed: " + ", ".join(f"{r.process_id} version {r.version}" for r in changed)
              + ". Running instances keep their version; new ones start on the new one.", "info")
    else:
        flash("Nothing changed: every process in these files is already deployed as it is.", "info")
    return redirect(url_for("pages_models.model_list"))


@bp.get("/models/<id:model_id>")
@require_roles(*VIEW_ROLES)
def model_version(model_id: int):
    with uow() as work:
        model = model_service.model_version(work.session, model_id)
        versions = [(m, n) for m, n in model_service.models_with_counts(work.session)
                    if m.process_id == model.process_id]
        files = model_service.model_files(work.session, model.id)
        running = model_service.running_instance_count(work.session, model.id)
    return render_template("model_version.html", model=model, versions=versions, files=files, running=running)


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
