"""The rows of an instance moved onto another version (``engine.bpmn.migrating_step.migrate``):
its timers that were cancelled while it stood stopped wait again, and its open human tasks
show what the target version says of them."""
from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import select

from engine.bpmn import spec_parsing
from engine.bpmn.runtime import ProcessRuntime
from engine.models import HumanTask, ProcessInstance, TaskState, Timer, TimerState


def wake_timers(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
    """Timers of a stopped instance were cancelled when they came due: those still waiting
    in the workflow wait again (and are sent when due)."""
    waiting = {t.task_id: t for t in runtime.pending_timers(workflow)}
    for row in uow.session.scalars(select(Timer).where(Timer.instance_id == instance.id,
                                                       Timer.state == TimerState.CANCELLED)):
        if row.task_id in waiting:
            row.state, row.fired_at, row.due_at = TimerState.PENDING, None, waiting[row.task_id].due_at
            uow.enqueue("fire_timer", row.id, eta=row.due_at)


def refresh_task_rows(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
    """The open human tasks show what the target version says of them (title, form, lane);
    their due dates, priorities and assignees stay."""
    ready = {str(t.id): t for t in runtime.ready_human_tasks(workflow)}
    for row in uow.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                           HumanTask.state == TaskState.READY)):
        task = ready.get(row.id)
        if task is None:
            continue
        spec, props = task.task_spec, spec_parsing.user_task_properties(task.task_spec)
        row.title = props.get("title") or spec.bpmn_name or spec.bpmn_id
        row.form, row.role, row.process_id = props.get("form"), spec.lane, instance.process_id
