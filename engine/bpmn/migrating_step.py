"""The engine step that moves an instance onto another version of its process: the path of
``engine.bpmn.engine_step`` (one budget, the state saved with its version checked, the rows
synced, the audit), with the workflow restored and moved (``engine.bpmn.spec_migration``) and
its task and timer rows following it (``engine.bpmn.moved_rows``). ``engine.process.migration``
is the use case: the plan, the checks of who may move what, the commit.
"""
from __future__ import annotations

import datetime as dt
import json

from engine.bpmn import moved_rows, spec_migration, step_budget
from engine.bpmn.engine_step import EngineStep, StepUnitOfWork, bound_operations
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import Conflict
from engine.models import InstanceStatus, ProcessInstance, ProcessModel


def migration_plan(runtime: ProcessRuntime, instance: ProcessInstance, target: ProcessModel) -> spec_migration.Plan:
    """What moving ``instance`` onto ``target`` would do (reads only)."""
    spec, subprocess_specs = runtime.specs_of(target)
    return spec_migration.plan(runtime.restore(instance), spec, subprocess_specs, target.version)


def migrate(uow: StepUnitOfWork, runtime: ProcessRuntime, instance: ProcessInstance, target: ProcessModel,
            actor_id: int | None) -> EngineStep:
    """Move a running or stopped instance onto ``target`` (same process; a version whose
    plan is possible): tasks keep their ids, states, data and due times; the rows of its
    waiting tasks take the target's title, form and lane. An instance stopped at a failed
    timer fires that timer again, on the target's diagram. A diagram failure raises and
    records nothing (the caller refuses the move); the caller commits."""
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.ERROR):
        raise Conflict(f"process instance {instance.id} is {instance.status}: only running or failed ones move")
    stopped, before = instance.status == InstanceStatus.ERROR, instance.model.version
    workflow = runtime.moved(runtime.restore(instance), target)
    instance.model, instance.model_id = target, target.id
    step = EngineStep(uow, runtime, instance, workflow, None)  # a timer it fires again fires as timers do
    trigger = json.loads(instance.failed_step or "{}")
    with step_budget.running():
        moved_rows.wake_timers(uow, runtime, instance, workflow)
        if stopped and trigger.get("trigger") == "timer":
            with bound_operations(step):
                step.fire_timer(str(trigger["task_id"]), element=str(trigger.get("element")),
                                due_at=dt.datetime.fromisoformat(str(trigger["due_at"])))
        uow.audit(actor_id, "instance_migrated", "process_instance", instance.id, instance.case_code,
                  from_version=before, to_version=target.version, resumed=stopped)
        step.save_moved(before_sync=lambda: moved_rows.refresh_task_rows(uow, runtime, instance, workflow))
    return step
