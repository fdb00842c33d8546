"""Starting instances, saving them, and waking their timers."""
from __future__ import annotations

import logging

from sqlalchemy import select, update

from engine import clock
from engine.bpmn import operations, task_sync as tasks_sync
from engine.errors import Conflict, DomainError, NotFound
from engine.models import HumanTask, ProcessInstance, Timer
from engine.bpmn.runtime import ProcessRuntime
from engine.process.deployment import latest_model
from engine.service_ops import notifications

log = logging.getLogger(__name__)


def start_process(uow, runtime: ProcessRuntime, process_id: str, actor_id: int | None,
                  data: dict | None = None, case_code: str | None = None,
                  parent_instance_id: int | None = None) -> ProcessInstance:
    """Start the newest version of ``process_id`` and run it to its first wait state."""
    model = latest_model(uow.session, process_id)
    instance = ProcessInstance(model_id=model.id, model=model, process_id=process_id,
                               case_code=case_code, parent_instance_id=parent_instance_id,
                               state_json="{}", started_by=actor_id, created_at=clock.now())
    uow.session.add(instance)
    uow.session.flush()
    with operations_bound(uow, runtime, instance, actor_id):
        workflow = runtime.start(model, data)
    save(uow, runtime, instance, workflow)
    uow.audit(actor_id, "instance_started", "process_instance", instance.id, case_code,
              process_id=process_id, version=model.version)
    return instance


def save(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow,
         completed_by: int | None = None) -> list[HumanTask]:
    """Write the engine state (bumping the instance version: a stale one is a 409) and
    bring the human-task and timer rows in step with it."""
    instance.state_json = runtime.dump(workflow)
    instance.status = runtime.status(workflow)
    instance.updated_at = clock.now()
    uow.flush()  # the version check happens here, before any dependent row is touched
    created = tasks_sync.sync_instance(uow, runtime, instance, workflow, completed_by)
    notifications.notify_new_tasks(uow, created)
    if instance.status == "complete":
        uow.audit(completed_by, "instance_completed", "process_instance", instance.id, instance.case_code)
    return created


def operations_bound(uow, runtime: ProcessRuntime, instance: ProcessInstance, actor_id: int | None):
    """Service tasks reached while the block advances ``instance`` write through ``uow``."""
    return operations.bound(operations.OperationContext(uow, instance, actor_id, runtime))


def load_instance(session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"no process instance {instance_id}")
    return instance


def record_failure(uow, instance_id: int, error: DomainError, actor_id: int | None,
                   mark_error: bool) -> None:
    """After a rolled-back attempt, note the diagram failure on the instance (and stop it
    when ``mark_error``: a worker cannot retry a broken script forever)."""
    uow.session.rollback()
    values = {"error": error.message}
    if mark_error:
        values["status"] = "error"
    uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(**values))
    uow.audit(actor_id, "script_failed", "process_instance", instance_id,
              element=error.details.get("element_id"), message=error.message)
    uow.commit()


def fire_timer(uow, runtime: ProcessRuntime, timer_id: int) -> bool:
    """Fire one timer exactly once. False when it was fired or cancelled already (a
    repeated message, or the sweeper and the delayed message racing)."""
    timer = uow.session.get(Timer, timer_id)
    if timer is None or timer.state != "pending":
        return False
    if timer.due_at > clock.now():
        return False  # an early message: the delayed one or the sweeper comes back later
    claimed = uow.session.execute(
        update(Timer).where(Timer.id == timer_id, Timer.state == "pending")
        .values(state="fired", fired_at=clock.now())).rowcount
    if claimed != 1:
        return False
    instance = load_instance(uow.session, timer.instance_id)
    if instance.status != "running":
        # the instance ended or failed meanwhile: the timer will never fire, stop re-sending it
        uow.session.execute(update(Timer).where(Timer.id == timer_id).values(state="cancelled"))
        uow.commit()
        return False
    workflow = runtime.restore(instance)
    try:
        with operations_bound(uow, runtime, instance, None):
            fired = runtime.fire_timer(workflow, timer.task_id)
    except DomainError as err:  # a broken script, or an operation refusing: stop, don't re-fire forever
        record_failure(uow, instance.id, err, None, mark_error=True)
        raise
    if not fired:
        uow.commit()
        return False
    save(uow, runtime, instance, workflow)
    uow.audit(None, "timer_fired", "process_instance", instance.id, instance.case_code,
              element=timer.bpmn_id, due_at=timer.due_at.isoformat())
    uow.commit()
    return True


def due_timer_ids(session, limit: int = 500) -> list[int]:
    """Pending timers whose time has come (the sweeper re-sends these)."""
    return list(session.scalars(select(Timer.id).where(Timer.state == "pending", Timer.due_at <= clock.now())
                                .order_by(Timer.due_at).limit(limit)))


def ensure_running(instance: ProcessInstance) -> None:
    if instance.status != "running":
        raise Conflict(f"process instance {instance.id} is {instance.status}")
