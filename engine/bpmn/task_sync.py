"""Keep ``human_tasks`` and ``timers`` rows in step with one instance's task tree.

Called by the engine-step path (``engine.bpmn.engine_step``) inside the transaction that
saves the instance, so the tables people query can never disagree with the saved engine
state. The diagram decides form, due time, priority and assignee through user-task
properties:

- ``form``      JSON Schema file of the model version
- ``due``       ISO 8601 duration (``PT24H``) or an expression over task data giving hours
                or a duration (``intervene_within_hours``), bounded by
                ``engine.bpmn.durations`` (the parser deploy checks with too)
- ``priority``  ``risk`` (follows the data's ``risk_level``) or ``high``/``medium``/``low``
- ``assign_to`` a data variable holding the username of the assignee; otherwise the task
                is offered to the lane's role
- ``title``     shown in inboxes instead of the element's name
"""
from __future__ import annotations

import datetime as dt
import logging
from uuid import UUID

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState as SpiffTaskState
from sqlalchemy import select

from engine import clock
from engine.bpmn import durations, spec_parsing
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import ScriptError
from engine.models import PRIORITY_BY_RISK, HumanTask, ProcessInstance, TaskState, Timer, TimerState, User

log = logging.getLogger(__name__)


def due_from_property(runtime: ProcessRuntime, task, value: str | None,
                      start: dt.datetime) -> dt.datetime | None:
    """The due instant a ``due`` property gives, counted from ``start``."""
    if not value:
        return None
    text = value.strip()
    try:
        if durations.is_duration(text):
            return durations.parse_duration(text).after(start)
        result = runtime.evaluate(task, text)
        if isinstance(result, str):
            return durations.due_after(result, start)
        return durations.hours_after(result, start)
    except durations.DurationError as err:
        raise ScriptError(f"the due time of {task.task_spec.bpmn_name or task.task_spec.bpmn_id} "
                          f"({text!r}) is not usable: {err}", element_id=task.task_spec.bpmn_id) from err


def priority_from_property(value: str | None, data: dict) -> tuple[int, str | None]:
    risk = data.get("risk_level") if isinstance(data.get("risk_level"), str) else None
    if value == "risk":
        return PRIORITY_BY_RISK.get(risk or "", 1), risk
    if value in PRIORITY_BY_RISK:
        return PRIORITY_BY_RISK[value], risk
    return PRIORITY_BY_RISK.get(risk or "", 1), risk


class UserLookup:
    """Active users' ids by username, asked once per name (a batch of starts shares one)."""

    def __init__(self, session, known: dict[str, int] | None = None):
        self._session = session
        self._ids: dict[str, int | None] = dict(known or {})

    def id_of(self, username) -> int | None:
        if not isinstance(username, str):
            return None
        if username not in self._ids:
            self._ids[username] = self._session.scalar(select(User.id).where(User.username == username, User.active))
        return self._ids[username]


def sync_instance(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow, completed_by: int | None = None,
                  *, new: bool = False, users: UserLookup | None = None) -> list[HumanTask]:
    """Rewrite this instance's human-task and timer rows from ``workflow``. ``new``: the
    instance was just started, so it has no rows yet (nothing to read).

    Returns the human tasks that became ready in this call (for notifications)."""
    session = uow.session
    users = users or UserLookup(session)
    now = clock.now()
    ready = {str(t.id): t for t in runtime.ready_human_tasks(workflow)}
    rows = {} if new else {r.id: r for r in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == TaskState.READY))}
    for task_id, row in rows.items():
        if task_id in ready:
            continue
        finished = _finished(workflow, task_id)
        row.state = TaskState.COMPLETED if finished else TaskState.CANCELLED
        row.completed_at = now
        if finished:
            row.completed_by = completed_by
    created = [new_human_task(runtime, instance, task, now, users) for task_id, task in ready.items()
               if task_id not in rows]
    session.add_all(created)
    _sync_timers(uow, runtime, instance, workflow, new)
    return created


def new_human_task(runtime: ProcessRuntime, instance: ProcessInstance, task, now: dt.datetime,
                   users: UserLookup) -> HumanTask:
    """The row of one ready user task, from the properties of its diagram element."""
    props = spec_parsing.user_task_properties(task.task_spec)
    priority, risk = priority_from_property(props.get("priority"), task.data)
    spec = task.task_spec
    assignee_id = None
    variable = props.get("assign_to")
    if variable:
        assignee_id = users.id_of(task.data.get(variable))
        if assignee_id is None:
            log.warning("task %s: assign_to %s=%r names no active user; offered to role %s",
                        spec.bpmn_id, variable, task.data.get(variable), spec.lane)
    return HumanTask(
        id=str(task.id), instance_id=instance.id, case_code=instance.case_code, process_id=instance.process_id,
        bpmn_id=spec.bpmn_id, name=spec.bpmn_id, title=props.get("title") or spec.bpmn_name or spec.bpmn_id,
        role=spec.lane, assignee_id=assignee_id, state=TaskState.READY, created_at=now,
        due_at=due_from_property(runtime, task, props.get("due"), now),
        priority=priority, risk_level=risk, form=props.get("form"),
    )


def _sync_timers(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow, new: bool) -> None:
    session = uow.session
    pending = {t.task_id: t for t in runtime.pending_timers(workflow)}
    if new and not pending:
        return
    rows = {} if new else {r.task_id: r for r in session.scalars(select(Timer).where(Timer.instance_id == instance.id))}
    for task_id, row in rows.items():
        if row.state == TimerState.PENDING and task_id not in pending:
            row.state = TimerState.FIRED if _finished(workflow, task_id) else TimerState.CANCELLED
            row.fired_at = row.fired_at or clock.now()
    for task_id, timer in pending.items():
        row = rows.get(task_id)
        if row is None:
            row = Timer(instance_id=instance.id, task_id=task_id, bpmn_id=timer.bpmn_id,
                        due_at=timer.due_at, state=TimerState.PENDING)
            session.add(row)
            session.flush()  # the message carries the timer's id
            uow.enqueue("fire_timer", row.id, eta=timer.due_at)
        elif row.state == TimerState.PENDING and row.due_at != timer.due_at:
            row.due_at = timer.due_at  # a cycle timer moved on to its next instant
            uow.enqueue("fire_timer", row.id, eta=timer.due_at)


def _finished(workflow, task_id: str) -> bool:
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return False
    return task.has_state(SpiffTaskState.COMPLETED)
