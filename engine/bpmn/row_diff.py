"""The rows of one instance's tasks and timers, changed by a diff in memory (``engine.bpmn.task_sync``).

A step knows what waited when it began (:class:`Waiting`: the ready human tasks and pending
timers of the state it restored, exactly the rows the last save wrote), so after the step the
rows that ended and the ones to make follow from comparing it with the workflow now, without
reading the rows back: one statement per table and outcome, and a row the session already holds
(the task being completed, the timer being fired) changes in the session, in its one UPDATE.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast
from uuid import UUID

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState as SpiffTaskState
from sqlalchemy import Table, bindparam, func, inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from engine import clock
from engine.bpmn.runtime import ProcessRuntime
from engine.models import HumanTask, ProcessInstance, TaskState, Timer, TimerState


@dataclass(frozen=True)
class Waiting:
    """What of an instance waits, as its rows say while its state is saved: the ids of its
    ready human tasks (rows ``ready``) and the due instants of its waiting timers (rows
    ``pending``), by task id. Taken before a step, it lets the sync after the step diff in
    memory instead of reading the rows back."""
    tasks: frozenset[str]
    timers: dict[str, dt.datetime]

    @classmethod
    def of(cls, runtime: ProcessRuntime, workflow) -> Waiting:
        return cls(frozenset(str(t.id) for t in runtime.ready_human_tasks(workflow)),
                   {t.task_id: t.due_at for t in runtime.pending_timers(workflow)})


def ended(finished: bool, completed_by: int | None, now: dt.datetime) -> dict[str, object]:
    """What changes on the row of a task no longer ready: completed (by whom) or cancelled."""
    values: dict[str, object] = {"state": TaskState.COMPLETED if finished else TaskState.CANCELLED,
                                 "completed_at": now}
    if finished:
        values["completed_by"] = completed_by
    return values


def end_task_row(row: HumanTask, finished: bool, completed_by: int | None, now: dt.datetime) -> None:
    for name, value in ended(finished, completed_by, now).items():
        setattr(row, name, value)


def end_held_task_rows(session, runtime: ProcessRuntime, workflow, before: Waiting, completed_by: int | None,
                       ready_tasks: list | None = None) -> None:
    """Before the save: the rows the session holds (the task being completed) of the tasks the
    step ended are written now, each by one prebuilt UPDATE (:data:`_END_HELD_TASK`, no ORM
    flush) that also gives a task nobody had claimed to the one who completed it, and the
    session's copy takes the same values. ``ready_tasks``: the ready human tasks now, when the
    caller has them."""
    if ready_tasks is None:
        ready_tasks = runtime.ready_human_tasks(workflow)
    ready = {str(t.id) for t in ready_tasks}
    now = clock.now()
    for task_id in before.tasks - ready:
        row = session.identity_map.get(identity_key(HumanTask, task_id))
        if row is None or row.state != TaskState.READY:
            continue
        finished = is_finished(workflow, task_id)
        values = {"completed_by": row.completed_by, **ended(finished, completed_by, now)}
        session.connection().execute(_END_HELD_TASK, {**values, "row_id": task_id,
                                                      "finisher": completed_by if finished else None})
        if finished and row.assignee_id is None:
            values["assignee_id"] = completed_by
        for name, value in values.items():
            set_committed_value(row, name, value)


_TASKS = cast(Table, HumanTask.__table__)
_END_HELD_TASK = (update(_TASKS).where(_TASKS.c.id == bindparam("row_id"), _TASKS.c.state == TaskState.READY)
                  .values(state=bindparam("state"), completed_at=bindparam("completed_at"),
                          completed_by=bindparam("completed_by"),
                          assignee_id=func.coalesce(_TASKS.c.assignee_id, bindparam("finisher"))))


def end_task_rows(session, workflow, task_ids: list[str], completed_by: int | None, now: dt.datetime) -> None:
    """The rows of tasks no longer ready end: completed, or cancelled (a boundary event, a
    gateway taking another path). A row the session holds (the task being completed) changes
    there, in the one UPDATE of that row; the others by one statement per outcome."""
    by_outcome: dict[bool, list[str]] = {True: [], False: []}
    for task_id in task_ids:
        finished = is_finished(workflow, task_id)
        row = session.identity_map.get(identity_key(HumanTask, task_id))
        if row is None:
            by_outcome[finished].append(task_id)
        elif row.state == TaskState.READY:
            end_task_row(row, finished, completed_by, now)
    for finished, ids in by_outcome.items():
        if ids:
            session.execute(update(HumanTask).where(HumanTask.id.in_(ids), HumanTask.state == TaskState.READY)
                            .values(**ended(finished, completed_by, now)).execution_options(synchronize_session=False))


def sync_timers(uow, runtime: ProcessRuntime, instance: ProcessInstance, workflow, before: Waiting) -> None:
    """``task_sync``'s timer sync from what waited before the step, without reading the rows: the
    timers that ended are marked by one statement per outcome (a row the session holds — the
    timer being fired, claimed already — changes there), a moved cycle timer by one, the new
    ones are inserted by one (their ids come back for the delayed messages)."""
    session = uow.session
    pending = {t.task_id: t for t in runtime.pending_timers(workflow)}
    gone = [task_id for task_id in before.timers if task_id not in pending]
    held = _held_timers(session, instance.id) if gone else {}
    ended: dict[bool, list[str]] = {True: [], False: []}
    for task_id in gone:
        finished = is_finished(workflow, task_id)
        row = held.get(task_id)
        if row is None:
            ended[finished].append(task_id)
        elif row.state == TimerState.PENDING:
            row.state = TimerState.FIRED if finished else TimerState.CANCELLED
            row.fired_at = row.fired_at or clock.now()
    for finished, ids in ended.items():
        if ids:
            session.execute(update(Timer).where(Timer.instance_id == instance.id, Timer.task_id.in_(ids),
                                                Timer.state == TimerState.PENDING)
                            .values(state=TimerState.FIRED if finished else TimerState.CANCELLED,
                                    fired_at=func.coalesce(Timer.fired_at, clock.now()))
                            .execution_options(synchronize_session=False))
    for task_id, timer in pending.items():
        due_before = before.timers.get(task_id)
        if due_before is not None and due_before != timer.due_at:  # a cycle timer moved on to its next instant
            moved = session.execute(update(Timer).where(Timer.instance_id == instance.id, Timer.task_id == task_id,
                                                        Timer.state == TimerState.PENDING)
                                    .values(due_at=timer.due_at).returning(Timer.id)
                                    .execution_options(synchronize_session=False)).scalars().all()
            for timer_id in moved:
                uow.enqueue("fire_timer", timer_id, eta=timer.due_at)
    created = [Timer(instance_id=instance.id, task_id=task_id, bpmn_id=timer.bpmn_id, due_at=timer.due_at,
                     state=TimerState.PENDING) for task_id, timer in pending.items() if task_id not in before.timers]
    if created:
        session.add_all(created)
        session.flush()  # the messages carry the timers' ids
        for row in created:
            uow.enqueue("fire_timer", row.id, eta=row.due_at)


def _held_timers(session, instance_id: int) -> dict[str, Timer]:
    """The timer rows of this instance the session holds, by task id (read without loading)."""
    held = {}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Timer):
            loaded = inspect(obj).dict
            if loaded.get("instance_id") == instance_id and "task_id" in loaded:
                held[loaded["task_id"]] = obj
    return held


def is_finished(workflow, task_id: str) -> bool:
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return False
    return task.has_state(SpiffTaskState.COMPLETED)
