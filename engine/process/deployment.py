"""Deploying process models: validate, version on content change, list and read them.

``deploy_upload`` (a process owner's upload) and ``deploy_workflows`` (the operator's
``deploy`` command) are use cases and commit; ``deploy_files`` and ``deploy_directory``
are their building blocks (start-up deploys through them inside its own transaction)."""
from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from engine import clock
from engine.bpmn import spec_parsing
from engine.errors import Forbidden, NotFound
from engine.models import InstanceStatus, ProcessInstance, ProcessModel, ProcessModelFile
from engine.people.directory import get_user

log = logging.getLogger(__name__)

DEPLOY_ROLES = ("process_owner", "admin")
VIEW_ROLES = ("process_owner", "admin", "director")


@dataclass(frozen=True)
class DeployResult:
    process_id: str
    version: int
    model_id: int
    created: bool


def latest_models(session) -> list[ProcessModel]:
    newest = (select(ProcessModel.process_id, func.max(ProcessModel.version).label("v"))
              .group_by(ProcessModel.process_id).subquery())
    return list(session.scalars(
        select(ProcessModel).join(newest, (ProcessModel.process_id == newest.c.process_id)
                                  & (ProcessModel.version == newest.c.v))
        .order_by(ProcessModel.process_id)))


def latest_model(session, process_id: str) -> ProcessModel:
    model = session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id)
                           .order_by(ProcessModel.version.desc()).limit(1))
    if model is None:
        raise NotFound(f"no process model {process_id!r} is deployed")
    return model


def deployed_files(session) -> dict[str, str]:
    """Every file of the newest version of every model, by filename."""
    files: dict[str, str] = {}
    for model in latest_models(session):
        for f in model.files:
            files.setdefault(f.filename, f.content)
    return files


def deploy_files(uow, files: Mapping[str, bytes | str], actor_id: int | None = None,
                 merge_with_deployed: bool = True) -> list[DeployResult]:
    """Validate ``files`` (over the deployed ones, so an upload may replace just one DMN)
    and store a new version of every process whose content changed, with the roles its
    diagram lets start it through the API (``start_roles``; none: only the engine does)."""
    bundle_files: dict[str, bytes | str] = dict(deployed_files(uow.session)) if merge_with_deployed else {}
    bundle_files.update(files)
    bundle = spec_parsing.parse_bundle(bundle_files)
    results = []
    for process_id, parsed in sorted(bundle.processes.items()):
        current = uow.session.scalar(select(ProcessModel).where(ProcessModel.process_id == process_id)
                                     .order_by(ProcessModel.version.desc()).limit(1))
        start_roles = " ".join(parsed.start_roles)
        if current is not None and current.content_hash == parsed.content_hash:
            if current.start_roles != start_roles:
                # the same content deployed before start_roles was read (the property is part of
                # the file, so it cannot differ otherwise): the version keeps its diagram's word
                current.start_roles = start_roles
            results.append(DeployResult(process_id, current.version, current.id, False))
            continue
        model = ProcessModel(process_id=process_id, name=parsed.name,
                             version=(current.version + 1) if current else 1,
                             content_hash=parsed.content_hash, start_roles=start_roles,
                             spec_json=spec_parsing.serialize_specs(parsed.spec, parsed.subprocess_specs),
                             deployed_at=clock.now(), deployed_by=actor_id)
        model.files = [ProcessModelFile(filename=name, kind=_kind(name), content=text)
                       for name, text in sorted(parsed.files.items())]
        uow.session.add(model)
        uow.session.flush()
        uow.audit(actor_id, "model_deployed", "process_model", model.id,
                  process_id=process_id, version=model.version, files=sorted(parsed.files))
        log.info("deployed %s version %s", process_id, model.version)
        results.append(DeployResult(process_id, model.version, model.id, True))
    return results


def deploy_directory(uow, path: Path, actor_id: int | None = None) -> list[DeployResult]:
    """Deploy every file under a ``workflows/`` folder (start-up and the deploy command)."""
    return deploy_files(uow, spec_parsing.load_directory(path), actor_id, merge_with_deployed=False)


def deploy_upload(uow, user_id: int, files: dict[str, bytes]) -> list[DeployResult]:
    """A process owner (or admin) deploys uploaded files over the deployed ones. Commits."""
    user = get_user(uow.session, user_id)
    if not user.has_role(*DEPLOY_ROLES):
        raise Forbidden("only process owners deploy process models")
    results = deploy_files(uow, files, actor_id=user.id)
    uow.commit()
    return results


def deploy_workflows(uow, path: Path) -> list[DeployResult]:
    """The operator deploys a ``workflows/`` folder. Commits."""
    results = deploy_directory(uow, path)
    uow.commit()
    return results


def model_version(session, model_id: int) -> ProcessModel:
    model = session.get(ProcessModel, model_id)
    if model is None:
        raise NotFound(f"no process model version {model_id}")
    return model


def _kind(filename: str) -> str:
    return {"bpmn": "bpmn", "dmn": "dmn", "json": "form"}.get(filename.rsplit(".", 1)[-1].lower(), "other")


def models_with_counts(session) -> list[tuple[ProcessModel, int]]:
    """Every model version with how many instances still run on it."""
    counts = dict(session.execute(
        select(ProcessInstance.model_id, func.count()).where(ProcessInstance.status == InstanceStatus.RUNNING)
        .group_by(ProcessInstance.model_id)).all())
    models = session.scalars(select(ProcessModel).order_by(ProcessModel.process_id,
                                                           ProcessModel.version.desc()))
    return [(m, counts.get(m.id, 0)) for m in models]


_form_cache: dict[tuple[str, str], dict] = {}


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


def model_files(session, model_id: int, kind: str | None = None) -> list[ProcessModelFile]:
    """The source files of one model version (``kind``: bpmn, dmn or form)."""
    query = select(ProcessModelFile).where(ProcessModelFile.model_id == model_id)
    if kind:
        query = query.where(ProcessModelFile.kind == kind)
    return list(session.scalars(query.order_by(ProcessModelFile.filename)))


def running_instance_count(session, model_id: int) -> int:
    return session.scalar(select(func.count(ProcessInstance.id)).where(
        ProcessInstance.model_id == model_id, ProcessInstance.status == InstanceStatus.RUNNING)) or 0


# -- one task's surroundings ----------------------------------------------------------
