"""Moving instances from one version of a process to another: one, a chosen set, every
instance of one version, or all — with a dry run that says, per instance, whether its
waiting tasks and timers exist in the target version and what will happen.

Each instance moves in a transaction of its own through the engine-step path
(``engine.bpmn.migrating_step.migrate``): its tasks keep their ids, states, data and due
times (``engine.bpmn.spec_migration`` says when that cannot be, and the instance is
refused with the reason); an instance stopped at a failed timer resumes by running that
step again on the target's diagram — if it fails again, it is refused and stays as it
was. A failed instance may also be "moved" onto its own version: that is running its
failed step again (after a failure that was not the diagram's, e.g. the step's time
limit under load). Every move is audited, and so is the request (dry runs too).

"Every instance of a version" (or of the process) has no upper limit: the selection is
read in pages of ``MAX_PER_CALL`` by instance id (keyset, so an instance moved off the
version does not shift the next page), each page ending its own transaction. The answer
counts them all; its per-instance listing stops at ``MAX_PER_CALL`` and says how many more.
A list of ids is still at most ``MAX_PER_CALL`` long.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from engine.bpmn import engine_step, migrating_step, spec_migration, step_failures
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from engine.models import InstanceStatus, ProcessInstance, ProcessModel
from engine.people.directory import get_user
from engine.process.deployment import DEPLOY_ROLES, version_of

log = logging.getLogger(__name__)

MAX_PER_CALL = 1000
MOVABLE = (InstanceStatus.RUNNING, InstanceStatus.ERROR)


@dataclass(frozen=True)
class InstanceVerdict:
    """What happens (or would) to one instance."""
    instance_id: int
    case_code: str | None
    from_version: int
    status: str
    failed_element: str | None
    movable: bool
    reason: str | None  # why it is refused
    will: str  # what happens, in words
    waiting: list[spec_migration.WaitingItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class MigrationResult:
    process_id: str
    to_version: int
    dry_run: bool
    migrated: list[int] = field(default_factory=list)  # in a dry run: those that would move
    refused: list[dict] = field(default_factory=list)  # {"instance_id", "reason"}
    instances: list[InstanceVerdict] = field(default_factory=list)  # the first MAX_PER_CALL
    total: int = 0  # the instances chosen (listed or not)
    unlisted: int = 0  # chosen but not in ``instances``

    def add(self, verdict: InstanceVerdict) -> None:
        self.total += 1
        if len(self.instances) < MAX_PER_CALL:
            self.instances.append(verdict)
        else:
            self.unlisted += 1
        if verdict.movable:
            self.migrated.append(verdict.instance_id)
        else:
            self.refused.append({"instance_id": verdict.instance_id, "reason": verdict.reason})


def migrate_instances(uow, runtime: ProcessRuntime, user_id: int, process_id: str, to_version: int,
                      from_version: int | None = None, instance_ids: list[int] | None = None,
                      dry_run: bool = False) -> MigrationResult:
    """Process owners and admins move the running and failed instances of ``process_id``
    (those on ``from_version``, or the ones listed, or all) onto ``to_version``. Commits
    (each instance's move, then the audit of the request)."""
    session = uow.session
    user = get_user(session, user_id)
    if not user.has_role(*DEPLOY_ROLES):
        raise Forbidden("only process owners and admins move instances between versions")
    target = version_of(session, process_id, to_version)
    if not target.runnable:
        raise Invalid(f"{process_id} version {to_version} cannot run here, so no instance can move onto it",
                      errors={"to_version": ["a version that can run"]})
    if from_version is not None:
        version_of(session, process_id, from_version)
    result = MigrationResult(process_id, to_version, dry_run)
    target_id, actor = target.id, user.id
    if instance_ids is not None:
        chosen, missing = _listed(session, process_id, from_version, instance_ids)
        pages: Iterator[list[int]] = iter([chosen])
        for instance_id in missing:
            result.refused.append({"instance_id": instance_id,
                                   "reason": f"no running or failed instance {instance_id} of {process_id}"})
    else:
        pages = _pages(session, process_id, from_version)
    for page in pages:
        for instance_id in page:
            verdict = _verdict(session, runtime, instance_id, target_id)
            if verdict.movable and not dry_run:
                verdict = _move(uow, runtime, instance_id, target_id, actor, verdict)
            result.add(verdict)
        session.rollback()  # the page's reads end here (each move has committed on its own)
    uow.audit(actor, "migration_dry_run" if dry_run else "instances_migrated", "process_model", target_id,
              process_id=process_id, to_version=to_version, from_version=from_version,
              migrated=result.migrated, refused=[r["instance_id"] for r in result.refused])
    uow.commit()
    return result


def _movable(process_id: str, from_version: int | None):
    query = select(ProcessInstance.id).join(ProcessModel, ProcessModel.id == ProcessInstance.model_id).where(
        ProcessInstance.process_id == process_id, ProcessInstance.status.in_(MOVABLE))
    if from_version is not None:
        query = query.where(ProcessModel.version == from_version)
    return query


def _listed(session, process_id: str, from_version: int | None,
            instance_ids: list[int]) -> tuple[list[int], list[int]]:
    """(ids of the listed running or failed instances, ids asked for that are none)."""
    if len(instance_ids) > MAX_PER_CALL:
        raise Invalid(f"at most {MAX_PER_CALL} instances can be listed in one call; to move more, choose "
                      "none and move every instance of the version",
                      errors={"instance_ids": [f"at most {MAX_PER_CALL}"]})
    query = _movable(process_id, from_version).where(ProcessInstance.id.in_(sorted(set(instance_ids))))
    found = list(session.scalars(query.order_by(ProcessInstance.id)))
    known = set(found)
    return found, [i for i in dict.fromkeys(instance_ids) if i not in known]


def _pages(session, process_id: str, from_version: int | None) -> Iterator[list[int]]:
    """Every running or failed instance (of ``from_version``), MAX_PER_CALL ids at a time."""
    after = 0
    while True:
        page = list(session.scalars(_movable(process_id, from_version).where(ProcessInstance.id > after)
                                    .order_by(ProcessInstance.id).limit(MAX_PER_CALL)))
        if not page:
            return
        yield page
        after = page[-1]


def _verdict(session, runtime: ProcessRuntime, instance_id: int, target_id: int) -> InstanceVerdict:
    instance = engine_step.load_instance(session, instance_id)
    target = session.get(ProcessModel, target_id)
    assert target is not None

    def verdict(reason: str | None, will: str, plan: spec_migration.Plan | None = None) -> InstanceVerdict:
        return InstanceVerdict(instance.id, instance.case_code, instance.model.version, instance.status,
                               instance.failed_element, reason is None, reason, will,
                               plan.waiting if plan else [], plan.notes if plan else [])

    if instance.model_id == target.id and instance.status != InstanceStatus.ERROR:
        return verdict(f"it is on version {target.version} already", "nothing: it is on that version already")
    plan = migrating_step.migration_plan(runtime, instance, target)
    if not plan.possible:
        return verdict("; ".join(plan.reasons), "nothing: it stays", plan)
    return verdict(None, _what_happens(instance, target), plan)


def _what_happens(instance: ProcessInstance, target: ProcessModel) -> str:
    onto = (f"stays on version {target.version}" if instance.model_id == target.id
            else f"moves to version {target.version}")
    if instance.status == InstanceStatus.ERROR:
        return (f"{onto} and resumes: the step that failed at {instance.failed_element or 'a timer'} runs again "
                f"at once, on version {target.version}'s diagram")
    if instance.failed_element:
        return (f"{onto}; the step that failed at {instance.failed_element} runs again on version "
                f"{target.version}'s diagram when its task is completed")
    return f"{onto}; its waiting tasks and timers keep their state and due times"


def _move(uow, runtime: ProcessRuntime, instance_id: int, target_id: int, actor_id: int,
          verdict: InstanceVerdict) -> InstanceVerdict:
    """Move one instance in a transaction of its own; a failure refuses it, changing nothing."""
    session = uow.session
    try:
        instance = engine_step.load_instance(session, instance_id)
        target = session.get(ProcessModel, target_id)
        if target is None:
            raise NotFound(f"no process model version {target_id}")
        migrating_step.migrate(uow, runtime, instance, target, actor_id)
        uow.commit()
    except Conflict as err:
        session.rollback()
        return _refused(verdict, f"it changed meanwhile ({err.message}): try again")
    except DomainError as err:
        session.rollback()
        log.info("instance %s not moved: its failed step fails again: %s", instance_id, err.message)
        return _refused(verdict, f"the failed step fails again on the target version: {step_failures.in_words(err)}")
    return verdict


def _refused(verdict: InstanceVerdict, reason: str) -> InstanceVerdict:
    return InstanceVerdict(verdict.instance_id, verdict.case_code, verdict.from_version, verdict.status,
                           verdict.failed_element, False, reason, "nothing: it stays", verdict.waiting, verdict.notes)
