"""Keep ``human_tasks`` and ``timers`` rows in step with one instance's task tree.

Called by every service that changes an instance, inside the same transaction, so the
tables people query can never disagree with the saved engine state. The diagram decides
form, due time, priority and assignee through user-task properties:

- ``form``      JSON Schema file of the model version
- ``due``       ISO 8601 duration (``PT24H``) or an expression over task data giving hours
                or a duration (``intervene_within_hours``)
- ``priority``  ``risk`` (follows the data's ``risk_level``) or ``high``/``medium``/``low``
- ``assign_to`` a data variable holding the username of the assignee; otherwise the task
                is offered to the lane's role
- ``title``     shown in inboxes instead of the element's name
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from uuid import UUID

from sqlalchemy import select
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.bpmn import spec_parsing as specs
from engine.errors import ScriptError
from engine.models import PRIORITY_BY_RISK, HumanTask, ProcessInstance, Timer, User
from engine.bpmn.runtime import ProcessRuntime

log = logging.getLogger(__name__)
_ISO_DURATION = re.compile(r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


def due_from_property(runtime: ProcessRuntime, task, value: str | None,
                      start: dt.datetime) -> dt.datetime | None:
    """The due instant a ``due`` property gives, counted from ``start``."""
    if not value:
        return None
    value = value.strip()
    if _ISO_DURATION.fullmatch(value):
        return start + _duration(value, start)
    result = runtime.evaluate(task, value)
    if isinstance(result, bool) or result is None:
        raise ScriptError(f"due expression {value!r} gave {result!r}, not hours or a duration",
                          element_id=task.task_spec.bpmn_id)
    if isinstance(result, (int, float)):
        return start + dt.timedelta(hours=result)
    if isinstance(result, str) and _ISO_DURATION.fullmatch(result):
        return start + _duration(result, start)
    raise ScriptError(f"due expression {value!r} gave {result!r}, not hours or a duration",
                      element_id=task.task_spec.bpmn_id)


def _duration(text: str, start: dt.datetime) -> dt.timedelta:
    try:
        parsed = TimerEventDefinition.parse_iso_duration(text)
    except Exception as err:  # noqa: BLE001 - Spiff raises a bare Exception for a bad duration
        raise ScriptError(f"{text!r} is not an ISO 8601 duration") from err
    return TimerEventDefinition.get_timedelta_from_start(parsed, start)


def priority_from_property(value: str | None, data: dict) -> tuple[int, str | None]:
    risk = data.get("risk_level") if isinstance(data.get("risk_level"), str) else None
    if value == "risk":
        return PRIORITY_BY_RISK.get(risk or "", 1), risk
    if value in PRIORITY_BY_RISK:
        return PRIORITY_BY_RISK[value], risk
    return PRIORITY_BY_RISK.get(risk or "", 1), risk


def sync_instance(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow,
                  completed_by: int | None = None) -> list[HumanTask]:
    """Rewrite this instance's human-task and timer rows from ``workflow``.

    Returns the human tasks that became ready in this call (for notifications)."""
    session = uow.session
    now = clock.now()
    ready = {str(t.id): t for t in runtime.ready_human_tasks(workflow)}
    rows = {r.id: r for r in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "ready"))}
    created = []
    for task_id, row in rows.items():
        if task_id in ready:
            continue
        finished = _finished(workflow, task_id)
        row.state = "completed" if finished else "cancelled"
        row.completed_at = now
        if finished:
            row.completed_by = completed_by
    for task_id, task in ready.items():
        if task_id in rows:
            continue
        row = _new_human_task(session, runtime, instance, task, now)
        session.add(row)
        created.append(row)
    _sync_timers(uow, runtime, instance, workflow)
    return created


def _new_human_task(session, runtime, instance, task, now) -> HumanTask:
    props = specs.user_task_properties(task.task_spec)
    priority, risk = priority_from_property(props.get("priority"), task.data)
    assignee_id = None
    variable = props.get("assign_to")
    if variable:
        username = task.data.get(variable)
        if isinstance(username, str):
            assignee_id = session.scalar(select(User.id).where(User.username == username, User.active))
        if assignee_id is None:
            log.warning("task %s: assign_to %s=%r names no active user; offered to role %s",
                        task.task_spec.bpmn_id, variable, username, task.task_spec.lane)
    spec = task.task_spec
    return HumanTask(
        id=str(task.id), instance_id=instance.id, case_code=instance.case_code,
        process_id=instance.process_id, bpmn_id=spec.bpmn_id,
        name=spec.bpmn_id, title=props.get("title") or spec.bpmn_name or spec.bpmn_id,
        role=spec.lane, assignee_id=assignee_id, state="ready", created_at=now,
        due_at=due_from_property(runtime, task, props.get("due"), now),
        priority=priority, risk_level=risk, form=props.get("form"),
    )


def _sync_timers(uow, runtime, instance, workflow) -> None:
    session = uow.session
    pending = {t.task_id: t for t in runtime.pending_timers(workflow)}
    rows = {r.task_id: r for r in session.scalars(select(Timer).where(Timer.instance_id == instance.id))}
    for task_id, row in rows.items():
        if row.state == "pending" and task_id not in pending:
            row.state = "fired" if _finished(workflow, task_id) else "cancelled"
            row.fired_at = row.fired_at or clock.now()
    for task_id, timer in pending.items():
        row = rows.get(task_id)
        if row is None:
            row = Timer(instance_id=instance.id, task_id=task_id, bpmn_id=timer.bpmn_id,
                        due_at=timer.due_at, state="pending")
            session.add(row)
            session.flush()  # the message carries the timer's id
            uow.enqueue("fire_timer", row.id, eta=timer.due_at)
        elif row.state == "pending" and row.due_at != timer.due_at:
            row.due_at = timer.due_at  # a cycle timer moved on to its next instant
            uow.enqueue("fire_timer", row.id, eta=timer.due_at)


def _finished(workflow, task_id: str) -> bool:
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return False
    return task.has_state(TaskState.COMPLETED)
