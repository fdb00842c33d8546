"""Deploying process models: validate, version on content change, choose the version new
instances start on, list and read them.

``deploy_upload`` (a process owner's upload), ``validate_upload`` (the same checks, nothing
stored), ``set_start_version`` (roll back, or forward again) and ``deploy_workflows`` (the
operator's ``deploy`` command) are use cases and commit (validating writes nothing);
``deploy_files`` and ``deploy_directory`` are their building blocks (start-up deploys
through them inside its own transaction).

An upload may hold diagrams that cannot run here (``engine.bpmn.spec_parsing``, view-only):
a process that never ran deploys view-only — drawn, testable, not startable, with the
reasons — so a mapping or a fix can follow; a process that has a runnable version is never
replaced by one that cannot run (the upload is refused with the reasons). The operator's
``workflows/`` folder must run as it is.
"""
from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, func, select, update

from engine import clock
from engine.bpmn import other_modelers, spec_parsing
from engine.bpmn.dmn_check import Problem
from engine.errors import Forbidden, Invalid, NotFound, SpecInvalid
from engine.models import InstanceStatus, ProcessInstance, ProcessModel, ProcessModelFile
from engine.people.directory import get_user
from engine.process import workflow_catalogues

log = logging.getLogger(__name__)

DEPLOY_ROLES = ("process_owner", "admin")
VIEW_ROLES = ("process_owner", "admin", "director")


@dataclass(frozen=True)
class DeployResult:
    process_id: str
    version: int
    model_id: int
    created: bool
    runnable: bool = True
    reasons: tuple[Problem, ...] = field(default=())


def problem_dict(problem: Problem) -> dict:
    return {"file": problem.file, "element_id": problem.element_id, "line": problem.line, "message": problem.message}


def view_only_reasons(model: ProcessModel) -> list[dict]:
    return json.loads(model.view_only_reasons or "[]")


# -- reading ---------------------------------------------------------------------------
def latest_models(session) -> list[ProcessModel]:
    """The newest version of every process (runnable or not)."""
    newest = (select(ProcessModel.process_id, func.max(ProcessModel.version).label("v"))
              .group_by(ProcessModel.process_id).subquery())
    return list(session.scalars(
        select(ProcessModel).join(newest, (ProcessModel.process_id == newest.c.process_id)
                                  & (ProcessModel.version == newest.c.v))
        .order_by(ProcessModel.process_id)))


_STARTING_VERSION = (select(ProcessModel)  # the marked runnable version, else the newest runnable one
                     .where(ProcessModel.process_id == bindparam("process_id"), ProcessModel.runnable)
                     .order_by(ProcessModel.starts_new_instances.desc(), ProcessModel.version.desc()).limit(1))


def latest_model(session, process_id: str) -> ProcessModel:
    """The version new instances of ``process_id`` start on: the one marked
    ``starts_new_instances`` (the newest deployed runnable one, unless a process owner chose
    another), else the newest runnable one. ``Invalid`` when the process is view-only."""
    chosen = session.scalars(_STARTING_VERSION, {"process_id": process_id}).first()
    if chosen is not None:  # one row read, however many versions there are
        return chosen
    newest = session.scalars(select(ProcessModel).where(ProcessModel.process_id == process_id)
                             .order_by(ProcessModel.version.desc()).limit(1)).first()
    if newest is None:
        raise NotFound(f"no process model {process_id!r} is deployed")
    why = "; ".join(r["message"] for r in view_only_reasons(newest)[:3])
    raise Invalid(f"{process_id} can be viewed and tested here but not started: {why}")


def deployed_files(session) -> dict[str, str]:
    """Every file of the newest version of every model, by filename."""
    files: dict[str, str] = {}
    for model in latest_models(session):
        for f in model.files:
            files.setdefault(f.filename, f.content)
    return files


def model_version(session, model_id: int) -> ProcessModel:
    model = session.get(ProcessModel, model_id)
    if model is None:
        raise NotFound(f"no process model version {model_id}")
    return model


def version_of(session, process_id: str, version: int) -> ProcessModel:
    model = session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id,
                                                      ProcessModel.version == version))
    if model is None:
        raise NotFound(f"{process_id} has no version {version}")
    return model


# -- deploying --------------------------------------------------------------------------
def deploy_files(uow, files: Mapping[str, bytes | str], actor_id: int | None = None,
                 merge_with_deployed: bool = True, view_only: bool = False) -> list[DeployResult]:
    """Validate ``files`` (over the deployed ones, so an upload may replace just one DMN)
    and store a new version of every process whose content changed, with the roles its
    diagram lets start it through the API (``start_roles``; none: only the engine does).
    ``view_only``: processes that cannot run may deploy view-only (module docstring)."""
    bundle_files: dict[str, bytes | str] = dict(deployed_files(uow.session)) if merge_with_deployed else {}
    bundle_files.update(files)
    bundle = spec_parsing.parse_bundle(bundle_files, view_only=view_only)
    _refuse_breaking_a_runnable_process(uow.session, bundle, set(files))
    results = []
    for process_id, parsed in sorted({**bundle.processes, **bundle.view_only}.items()):
        current = uow.session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id)
                                     .order_by(ProcessModel.version.desc()).limit(1))
        if current is not None and not parsed.runnable and current.runnable:
            continue  # deployed, runnable, and not in this upload: it stays as it is
        start_roles = " ".join(parsed.start_roles)
        if current is not None and current.content_hash == parsed.content_hash and current.runnable == parsed.runnable:
            if current.start_roles != start_roles:
                # the same content deployed before start_roles was read (the property is part of
                # the file, so it cannot differ otherwise): the version keeps its diagram's word
                current.start_roles = start_roles
            results.append(DeployResult(process_id, current.version, current.id, False, current.runnable,
                                        parsed.reasons))
            continue
        results.append(_store_version(uow, parsed, current, start_roles, actor_id))
    return results


def _refuse_breaking_a_runnable_process(session, bundle: spec_parsing.ParsedBundle, uploaded: set[str]) -> None:
    """A process that has a runnable version, uploaded again in a form that cannot run,
    refuses the upload (naming why): a working procedure is never swapped for a drawing."""
    reasons: list[Problem] = []
    for process_id, parsed in sorted(bundle.view_only.items()):
        if not set(parsed.files) & uploaded:
            continue
        if session.scalar(select(func.count()).where(ProcessModel.process_id == process_id, ProcessModel.runnable)):
            reasons += parsed.reasons
    if reasons:
        spec_parsing.raise_problems(reasons)


def _store_version(uow, parsed, current: ProcessModel | None, start_roles: str, actor_id: int | None) -> DeployResult:
    session = uow.session
    spec_json = spec_parsing.serialize_specs(parsed.spec, parsed.subprocess_specs) if parsed.spec is not None else ""
    model = ProcessModel(process_id=parsed.process_id, name=parsed.name,
                         version=(current.version + 1) if current else 1,
                         content_hash=parsed.content_hash, start_roles=start_roles, spec_json=spec_json,
                         deployed_at=clock.now(), deployed_by=actor_id, runnable=parsed.runnable,
                         view_only_reasons=json.dumps([problem_dict(p) for p in parsed.reasons]) if parsed.reasons
                         else None, starts_new_instances=parsed.runnable)
    model.files = [ProcessModelFile(filename=name, kind=_kind(name), content=text)
                   for name, text in sorted(parsed.files.items())]
    if parsed.runnable:  # a new runnable version is where new instances start
        session.execute(update(ProcessModel).where(ProcessModel.process_id == parsed.process_id)
                        .values(starts_new_instances=False))
    session.add(model)
    session.flush()
    uow.audit(actor_id, "model_deployed", "process_model", model.id, process_id=parsed.process_id,
              version=model.version, files=sorted(parsed.files), runnable=parsed.runnable)
    log.info("deployed %s version %s%s", parsed.process_id, model.version, "" if parsed.runnable else " (view-only)")
    return DeployResult(parsed.process_id, model.version, model.id, True, parsed.runnable, parsed.reasons)


def deploy_directory(uow, path: Path, actor_id: int | None = None) -> list[DeployResult]:
    """Deploy every file under a ``workflows/`` folder (start-up and the deploy command):
    everything in it must run, and its language catalogues must keep every placeholder
    (``engine.process.workflow_catalogues``)."""
    problems = workflow_catalogues.check_catalogues(Path(path))
    if problems:
        spec_parsing.raise_problems(problems)
    return deploy_files(uow, spec_parsing.load_directory(path), actor_id, merge_with_deployed=False)


def _owner(session, user_id: int, what: str):
    user = get_user(session, user_id)
    if not user.has_role(*DEPLOY_ROLES):
        raise Forbidden(f"only process owners {what}")
    return user


def _with_lanes(files: dict[str, bytes], lane_roles: Mapping[str, str] | None) -> dict[str, bytes | str]:
    if not lane_roles:
        return dict(files)
    mapped, problems = other_modelers.map_lanes(dict(files), dict(lane_roles))
    if problems:
        spec_parsing.raise_problems(problems)
    return mapped


def deploy_upload(uow, user_id: int, files: dict[str, bytes],
                  lane_roles: Mapping[str, str] | None = None) -> list[DeployResult]:
    """A process owner (or admin) deploys uploaded files over the deployed ones, lanes
    mapped to roles by ``lane_roles`` (``{"lane name or id": "role"}``). Commits."""
    user = _owner(uow.session, user_id, "deploy process models")
    results = deploy_files(uow, _with_lanes(files, lane_roles), actor_id=user.id, view_only=True)
    uow.commit()
    return results


@dataclass(frozen=True)
class Validation:
    problems: list[Problem]
    processes: list[dict]  # {process_id, name, runnable, reasons, deployed_version, changed}


def validate_upload(uow, user_id: int, files: dict[str, bytes],
                    lane_roles: Mapping[str, str] | None = None) -> Validation:
    """The checks of :func:`deploy_upload` with nothing stored (the editors call it as
    the owner edits): every problem (refusals and why a process could not run), and what
    would be deployed."""
    session = uow.session
    _owner(session, user_id, "validate process models")
    try:
        bundle_files: dict[str, bytes | str] = dict(deployed_files(session))
        bundle_files.update(_with_lanes(files, lane_roles))
        bundle = spec_parsing.parse_bundle(bundle_files, view_only=True)
        _refuse_breaking_a_runnable_process(session, bundle, set(files))
    except SpecInvalid as err:
        return Validation(list(getattr(err, "problems", None) or [Problem(err.file or "", err.element_id, err.line,
                                                                           err.message)]), [])
    processes: list[dict] = []
    problems: list[Problem] = []
    for process_id, parsed in sorted({**bundle.processes, **bundle.view_only}.items()):
        if not set(parsed.files) & set(files):
            continue
        current = session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id)
                                 .order_by(ProcessModel.version.desc()).limit(1))
        problems += parsed.reasons
        processes.append({"process_id": process_id, "name": parsed.name, "runnable": parsed.runnable,
                          "reasons": [problem_dict(p) for p in parsed.reasons],
                          "deployed_version": current.version if current else None,
                          "changed": current is None or current.content_hash != parsed.content_hash})
    return Validation(problems, processes)


def deploy_workflows(uow, path: Path) -> list[DeployResult]:
    """The operator deploys a ``workflows/`` folder. Commits."""
    results = deploy_directory(uow, path)
    uow.commit()
    return results


def set_start_version(uow, user_id: int, process_id: str, version: int) -> ProcessModel:
    """A process owner chooses the version new instances of ``process_id`` start on (a
    rollback to an older one, or forward again); running instances keep theirs. Commits."""
    user = _owner(uow.session, user_id, "choose the version new instances start on")
    model = version_of(uow.session, process_id, version)
    if not model.runnable:
        raise Invalid(f"{process_id} version {version} cannot run here, so nothing can start on it",
                      errors={"version": ["a version that can run"]})
    uow.session.execute(update(ProcessModel).where(ProcessModel.process_id == process_id)
                        .values(starts_new_instances=False))
    model.starts_new_instances = True
    uow.audit(user.id, "start_version_set", "process_model", model.id, process_id=process_id, version=version)
    uow.commit()
    return model


def _kind(filename: str) -> str:
    return {"bpmn": "bpmn", "dmn": "dmn", "json": "form"}.get(filename.rsplit(".", 1)[-1].lower(), "other")


# -- versions and their instances ----------------------------------------------------------
@dataclass(frozen=True)
class VersionCounts:
    running: int
    failed: int  # stopped at a failed step, or running with a failed step to try again


def instance_counts(session) -> dict[int, VersionCounts]:
    """Per model version id: its running and its failed instances."""
    running = dict(session.execute(
        select(ProcessInstance.model_id, func.count()).where(ProcessInstance.status == InstanceStatus.RUNNING)
        .group_by(ProcessInstance.model_id)).all())
    failed = dict(session.execute(
        select(ProcessInstance.model_id, func.count())
        .where((ProcessInstance.status == InstanceStatus.ERROR)
               | ((ProcessInstance.status == InstanceStatus.RUNNING) & ProcessInstance.failed_element.is_not(None)))
        .group_by(ProcessInstance.model_id)).all())
    return {mid: VersionCounts(running.get(mid, 0), failed.get(mid, 0)) for mid in set(running) | set(failed)}


def models_with_counts(session) -> list[tuple[ProcessModel, int]]:
    """Every model version with how many instances still run on it."""
    counts = instance_counts(session)
    models = session.scalars(select(ProcessModel).order_by(ProcessModel.process_id, ProcessModel.version.desc()))
    return [(m, counts.get(m.id, VersionCounts(0, 0)).running) for m in models]


def instances_of_version(session, model_id: int, limit: int = 200) -> list[ProcessInstance]:
    """The running and failed instances of one version, failed first, newest first."""
    rows = session.scalars(select(ProcessInstance).where(
        ProcessInstance.model_id == model_id,
        ProcessInstance.status.in_((InstanceStatus.RUNNING, InstanceStatus.ERROR)))
        .order_by(ProcessInstance.updated_at.desc()).limit(limit))
    return sorted(rows, key=lambda i: i.status != InstanceStatus.ERROR and i.failed_element is None)


def failed_instances(session, limit: int = 200) -> list[ProcessInstance]:
    """Instances marked failed at a step (stopped, or running with a step to try again),
    newest first: what process owners are told about."""
    return list(session.scalars(select(ProcessInstance).where(
        ProcessInstance.status.in_((InstanceStatus.RUNNING, InstanceStatus.ERROR)),
        (ProcessInstance.status == InstanceStatus.ERROR) | ProcessInstance.failed_element.is_not(None))
        .order_by(ProcessInstance.updated_at.desc()).limit(limit)))


_form_cache: dict[tuple[str, str], dict] = {}
_form_text_cache: dict[tuple[str, str], str] = {}


def form_schema(session, model: ProcessModel, filename: str | None) -> dict | None:
    """The JSON Schema of a task form, from the model version the instance runs on
    (cached by content hash: a model version's files never change)."""
    if not filename:
        return None
    model_id = model.id
    key = (model.content_hash, filename)
    schema = _form_cache.get(key)
    if schema is None:
        text = session.scalar(select(ProcessModelFile.content).where(ProcessModelFile.model_id == model_id,
                                                                     ProcessModelFile.filename == filename))
        if text is None:
            raise NotFound(f"form {filename} is not part of this process model version")
        schema = _form_cache.setdefault(key, json.loads(text))
    return copy.deepcopy(schema)


def form_schema_text(session, model: ProcessModel, filename: str | None) -> str | None:
    """:func:`form_schema` as canonical JSON text (keys sorted: ``forms.validate_text``), cached
    the same way and never copied."""
    if not filename:
        return None
    key = (model.content_hash, filename)
    text = _form_text_cache.get(key)
    if text is None:
        text = _form_text_cache.setdefault(key, json.dumps(form_schema(session, model, filename), sort_keys=True))
    return text


def model_files(session, model_id: int, kind: str | None = None) -> list[ProcessModelFile]:
    """The source files of one model version (``kind``: bpmn, dmn or form)."""
    query = select(ProcessModelFile).where(ProcessModelFile.model_id == model_id)
    if kind:
        query = query.where(ProcessModelFile.kind == kind)
    return list(session.scalars(query.order_by(ProcessModelFile.filename)))


def running_instance_count(session, model_id: int) -> int:
    return session.scalar(select(func.count(ProcessInstance.id)).where(
        ProcessInstance.model_id == model_id, ProcessInstance.status == InstanceStatus.RUNNING)) or 0
