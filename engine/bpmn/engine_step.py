"""The one path of every engine step.

Every change to a workflow instance — starting it, completing one of its human tasks,
firing one of its timers, the crisis fan-out starting hundreds at once — goes through
this module, which does, in this order:

1. take the instance row with its version (the version is checked when it is saved: a
   concurrent writer that saved first makes this step a 409);
2. restore the workflow from its saved state — or take it from memory when this process
   saved that very version (``engine.bpmn.runtime_hot``; kept again only after the commit) —
   or build a new one;
3. bind the service-task operations to this unit of work, instance and actor;
4. let the caller move it (:meth:`EngineStep.complete`, :meth:`EngineStep.fire_timer`,
   or just run to the first wait state when starting), within one budget
   (``engine.bpmn.step_budget``: ``STEP_TIME_LIMIT`` seconds, ``MAX_ENGINE_TASKS`` engine
   tasks, a task tree of at most ``MAX_TASKS`` tasks and ``MAX_TASK_DEPTH`` levels);
5. dump the state, checked (``engine.bpmn.saved_state``): task data JSON cannot hold, or
   a state beyond ``MAX_STATE_KB``, is a failure of the diagram like any other;
6. on a diagram failure (a ``ScriptError``: a script, a sandbox or step bound, the state
   check, a due time the data makes unusable): roll back, mark the instance failed at
   that element (``failed_element``, ``error`` in words for process owners, ``failed_step``:
   what the step was doing), tell the runtime's failure listeners (the incident), commit
   that record (``step_failures.record_failure``: the one commit of this path) and raise.
   A person's step leaves the instance running: nothing of it was saved, and what they
   entered may be what the step could not use, so they may try again; they are told in
   words that the step could not be completed and that the process owner knows
   (``engine.bpmn.step_failures``). A timer's step stops the instance (status ``error``:
   nobody is there to try again) until a migration resumes it;
7. save: the state, the status and the version in one UPDATE that checks the version read
   (``engine.bpmn.instance_rows``; a row another writer saved since is a 409), sync the
   human-task and timer rows (a diff in memory against what waited before the step; for
   instances just started, the rows of a whole batch at once), tell the runtime's
   listeners about new tasks, clear the failure mark once the failed route got past its
   element (and tell the recovery listeners), audit what happened.

:func:`engine.bpmn.migrating_step.migrate` is the same path for moving an instance onto
another version of its process (``engine.bpmn.spec_migration``), resuming one stopped at a
failed timer.

The caller's use case commits. Nothing else in the engine restores or saves a workflow
(``tests/engine/test_layering.py`` checks the source for it); ``instance_rows`` writes the
row, and holds the one other write of a saved state, for ``engine.bpmn.format_upgrade``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine import clock
from engine.bpmn import (
    instance_rows,
    operations,
    row_diff,
    step_budget,
    step_failures,
    task_sync,
)
from engine.bpmn.instance_ids import reserve_instance_ids
from engine.bpmn.runtime import ProcessRuntime
from engine.bpmn.runtime_hot import RowKey, normalise
from engine.bpmn.saved_state import checked_state
from engine.errors import Conflict, DomainError, NotFound, ScriptError
from engine.models import HumanTask, InstanceStatus, ProcessInstance, ProcessModel

log = logging.getLogger(__name__)

TaskData = dict[str, Any]  # a workflow's (JSON-able) task data
_Audit = tuple[str, str, str | int, str | None, dict[str, object]]  # action, subject type and id, case, detail


class StepUnitOfWork(Protocol):
    """What a step needs of the unit of work (``engine.infra.unit_of_work.UnitOfWork``)."""

    @property
    def session(self) -> Session: ...

    def audit(self, actor_id: int | None, action: str, subject_type: str, subject_id: object,
              case_code: str | None = None, **detail: object) -> None: ...

    def flush(self) -> None: ...

    def commit(self) -> None: ...

    def enqueue(self, actor: str, *args: object, eta: dt.datetime | None = None) -> None: ...


@dataclass(frozen=True)
class Start:
    """One instance for :func:`start_many` to start."""
    data: TaskData
    case_code: str | None = None
    parent_instance_id: int | None = None


@dataclass
class EngineStep:
    """One instance being moved by one step; made by :func:`advancing` or :func:`start`."""
    uow: StepUnitOfWork
    runtime: ProcessRuntime
    instance: ProcessInstance
    workflow: BpmnWorkflow
    actor_id: int | None
    created_tasks: list[HumanTask] = field(default_factory=list)
    _moved: bool = False
    _completed_by: int | None = None
    _audits: list[_Audit] = field(default_factory=list)
    trigger: dict[str, object] = field(default_factory=dict)  # what this step does (kept if it fails)
    before: row_diff.Waiting | None = None  # what waited when the step began (its rows)
    began: float = field(default_factory=time.time)  # tasks changed since then are this step's
    _unsaved: dict[str, Any] | None = None  # the row's new values, for instance_rows.save_state

    # -- what a caller does inside ``advancing`` ------------------------------------------
    def has_ready_task(self, task_id: str) -> bool:
        return self.runtime.find_ready_human_task(self.workflow, task_id) is not None

    def complete(self, task_id: str, data: TaskData, *, case_code: str | None = None,
                 element: str | None = None) -> None:
        """Complete one ready human task with ``data`` and run on to the next wait state."""
        if not self.has_ready_task(task_id):
            raise Conflict("this task is no longer waiting for input")
        self.trigger = {"trigger": "task", "task_id": task_id, "element": element}
        self.runtime.complete(self.workflow, task_id, data)
        self._moved, self._completed_by = True, self.actor_id
        self._audits.append(("task_completed", "human_task", task_id, case_code,
                             {"element": element, "fields": sorted(data)}))

    def fire_timer(self, task_id: str, *, element: str, due_at: dt.datetime) -> bool:
        """Fire one waiting timer; False when it is no longer waiting."""
        self.trigger = {"trigger": "timer", "task_id": task_id, "element": element, "due_at": due_at.isoformat()}
        fired = self.runtime.fire_timer(self.workflow, task_id)
        if fired:
            self._moved = True
            self._audits.append(("timer_fired", "process_instance", self.instance.id, self.instance.case_code,
                                 {"element": element, "due_at": due_at.isoformat()}))
        return fired

    def save_moved(self, before_sync: Callable[[], None]) -> None:
        """Save a workflow moved onto another version (``engine.bpmn.migrating_step``) by the
        path every step saves by: its state, then ``before_sync`` (the rows that follow the new
        version), then the row with its version checked, the task and timer rows and the audit."""
        self._store_state()
        before_sync()
        self._flush_and_sync()

    @property
    def last_data(self) -> TaskData:
        """The data of the task that ran last (what the step's final script left)."""
        last = self.workflow.last_task
        return dict(last.data) if last is not None else {}

    # -- saving (this module only) ------------------------------------------------------------
    def _run_to_wait(self) -> None:
        with bound_operations(self):
            self.runtime.advance(self.workflow)
        self._moved = True
        self._audits.append(("instance_started", "process_instance", self.instance.id, self.instance.case_code,
                             {"process_id": self.instance.process_id, "version": self.instance.model.version}))

    def _store_state(self) -> None:
        values = {"state_json": checked_state(self.runtime.dump, self.workflow),
                  "status": self.runtime.status(self.workflow), "updated_at": clock.now()}
        instance = self.instance
        if inspect(instance).persistent:  # written by instance_rows.save_state, not by an ORM flush
            for name, value in values.items():
                set_committed_value(instance, name, value)
            self._unsaved = values
            return
        for name, value in values.items():
            setattr(instance, name, value)

    def _sync_and_audit(self, ready_tasks: list[Any] | None = None) -> None:
        """The rows of an instance that has some (not one just started: :func:`_sync_started`)."""
        self.created_tasks = task_sync.sync_instance(self.uow, self.runtime, self.instance, self.workflow,
                                                     self._completed_by, before=self.before, ready_tasks=ready_tasks)
        for listener in self.runtime.new_task_listeners:
            listener(self.uow, self.created_tasks)
        task_sync.insert_new_rows(self.uow.session, self.created_tasks)
        self._clear_failure_once_past()
        self._write_audits()

    def _write_audits(self) -> None:
        uow = self.uow
        for action, subject_type, subject_id, case_code, detail in self._audits:
            uow.audit(self.actor_id, action, subject_type, subject_id, case_code, **detail)
        if self.instance.status == InstanceStatus.COMPLETE:
            uow.audit(self.actor_id, "instance_completed", "process_instance", self.instance.id,
                      self.instance.case_code)
        self._audits.clear()

    def _clear_failure_once_past(self) -> None:
        """The failure mark goes once the task that failed is no longer waiting (its route
        got past the failed element, or the instance left it another way)."""
        instance = self.instance
        if instance.failed_element is None and instance.failed_step is None:
            return
        failed = json.loads(instance.failed_step or "{}").get("task_id")
        waiting = {str(t.id) for t in self.runtime.ready_human_tasks(self.workflow)}
        waiting |= {t.task_id for t in self.runtime.pending_timers(self.workflow)}
        if failed in waiting and instance.status != InstanceStatus.COMPLETE:
            return
        self._audits.append(("failure_cleared", "process_instance", instance.id, instance.case_code,
                             {"element": instance.failed_element}))
        instance.failed_element = instance.failed_step = instance.error = None
        for listener in self.runtime.recovery_listeners:
            listener(self.uow, instance.id)

    def _flush_and_sync(self) -> None:
        ready = None
        if self.before is not None:  # the completed task's row: one UPDATE with its assignee
            ready = self.runtime.ready_human_tasks(self.workflow)  # one walk for both
            row_diff.end_held_task_rows(self.uow.session, self.runtime, self.workflow, self.before,
                                         self._completed_by, ready)
        self._flush()
        self._sync_and_audit(ready)

    def _flush(self) -> None:
        """Write what the session holds, then the instance's row (the version check), before any
        row that depends on it is touched."""
        self.uow.flush()
        if self._unsaved is not None:
            instance_rows.save_state(self.uow.session, self.instance, **self._unsaved)
            self._unsaved = None

    def _keep_hot(self) -> None:
        """Once the unit of work commits, keep the workflow in memory under the version this
        step saved (``engine.bpmn.runtime_hot``); a rollback forgets it."""
        on_commit = getattr(self.uow, "on_commit", None)
        if on_commit is None or self.runtime.hot.size <= 0:
            return
        normalise(self.workflow, self.began)
        on_commit(partial(self.runtime.hot.keep, RowKey.of(self.instance), self.workflow))


def _sync_started(steps: Sequence[EngineStep]) -> None:
    """The rows of instances just started and flushed (one, or a batch of :func:`start_many`),
    one statement per table for all (``task_sync.sync_started``); the new-task listeners once
    with every new row; the audit."""
    uow, runtime = steps[0].uow, steps[0].runtime
    created = task_sync.sync_started(uow, runtime, [(s.instance, s.workflow) for s in steps])
    for step, rows in zip(steps, created, strict=True):
        step.created_tasks = rows
    new_rows = [row for rows in created for row in rows]
    for listener in runtime.new_task_listeners:
        listener(uow, new_rows)
    task_sync.insert_new_rows(uow.session, new_rows)
    for step in steps:
        step._write_audits()


def bound_operations(step: EngineStep) -> AbstractContextManager[operations.OperationContext]:
    return operations.bound(operations.OperationContext(step.uow, step.instance, step.actor_id, step.runtime))


# -- moving an existing instance -------------------------------------------------------------
def load_instance(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"no process instance {instance_id}")
    return instance


def ensure_running(instance: ProcessInstance) -> None:
    if instance.status == InstanceStatus.ERROR:
        raise Conflict("this cannot be done now: the procedure stopped at a step that failed, and the process owner "
                       "has been told")
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(f"process instance {instance.id} is {instance.status}")


@contextmanager
def advancing(uow: StepUnitOfWork, runtime: ProcessRuntime, instance: ProcessInstance | int, actor_id: int | None, *,
              stop_on_failure: bool = False) -> Iterator[EngineStep]:
    """Restore ``instance``, let the block move it, then save it (see the module docstring).

    A ``ScriptError`` (a broken diagram) is recorded on the instance; with
    ``stop_on_failure`` (nobody is there to be told: a timer) every ``DomainError`` is, and
    the instance stops with status ``error`` so it is not retried forever. A person is told
    in words (``step_failures.for_the_person``). A block that moved nothing (a timer no
    longer waiting) saves nothing."""
    if isinstance(instance, int):
        instance = load_instance(uow.session, instance)
    ensure_running(instance)
    began = time.time()
    workflow = runtime.checkout(instance)
    step = EngineStep(uow, runtime, instance, workflow, actor_id,
                      before=row_diff.Waiting.of(runtime, workflow), began=began)
    where = step_failures.Whereabouts.of(instance)
    with step_budget.running():
        try:
            with bound_operations(step):
                yield step
            if step._moved:
                step._store_state()  # data that cannot be saved is the diagram's failure
        except DomainError as err:
            if isinstance(err, ScriptError) or stop_on_failure:
                step_failures.record_failure(uow, runtime, where, err, actor_id, stop=stop_on_failure,
                                             trigger=step.trigger)
                if isinstance(err, ScriptError) and actor_id is not None and not stop_on_failure:
                    raise step_failures.for_the_person(err) from err
            raise
        if step._moved:
            try:
                step._flush_and_sync()  # a version conflict here is no failure of the diagram
            except ScriptError as err:  # a due time the data makes unusable
                step_failures.record_failure(uow, runtime, where, err, actor_id, stop=stop_on_failure,
                                             trigger=step.trigger)
                if actor_id is not None and not stop_on_failure:
                    raise step_failures.for_the_person(err) from err
                raise
            step._keep_hot()


# -- starting ------------------------------------------------------------------------------
def start(uow: StepUnitOfWork, runtime: ProcessRuntime, model: ProcessModel, actor_id: int | None,
          data: TaskData | None = None, case_code: str | None = None,
          parent_instance_id: int | None = None) -> EngineStep:
    """Start one instance of ``model`` and run it to its first wait state. A diagram
    failure raises (there is no instance yet to record it on; nothing is written); the
    person who started it (not a step starting it on the way) is told in words.

    The instance's id is reserved without writing, and its row waits in the session: it is
    inserted when the step is saved, or just before the first row an operation writes on
    the way (the models order such inserts after their instance). So a start whose
    diagram only computes writes nothing until it is done — and on SQLite holds no write
    lock while the engine runs."""
    now, began = clock.now(), time.time()
    workflow = runtime.new_workflow(model, data)  # before the instance is pending: loading a spec would flush it
    [instance_id] = reserve_instance_ids(uow.session, 1)
    instance = ProcessInstance(id=instance_id, model_id=model.id, model=model, process_id=model.process_id,
                               case_code=case_code, parent_instance_id=parent_instance_id, state_json="{}",
                               started_by=actor_id, created_at=now, updated_at=now)
    uow.session.add(instance)
    step = EngineStep(uow, runtime, instance, workflow, actor_id, began=began)
    by_a_person = actor_id is not None and step_budget.active() is None
    with step_budget.running():
        try:
            step._run_to_wait()
            step._store_state()
            if inspect(instance).pending:  # no operation on the way wrote the new row: one INSERT, no ORM flush
                uow.session.expunge(instance)
                instance_rows.insert_started(uow.session, [instance])
            step._flush()  # what operations on the way added, after the instance they may refer to
            _sync_started([step])
            step._keep_hot()
        except ScriptError as err:
            if by_a_person:
                raise step_failures.for_the_person(err) from err
            raise
    return step


def start_many(uow: StepUnitOfWork, runtime: ProcessRuntime, model: ProcessModel, starts: Sequence[Start],
               actor_id: int | None = None) -> list[EngineStep]:
    """Start many instances of one model in one transaction, with one multi-row INSERT of
    the instances, one per table of their rows, and no reads of rows they cannot have yet
    (the crisis fan-out)."""
    session = uow.session
    now = clock.now()
    steps: list[EngineStep] = []
    for item, instance_id in zip(starts, reserve_instance_ids(session, len(starts)), strict=True):
        instance = ProcessInstance(id=instance_id, model_id=model.id, model=model, process_id=model.process_id,
                                   case_code=item.case_code, parent_instance_id=item.parent_instance_id,
                                   started_by=actor_id, created_at=now, updated_at=now)
        step = EngineStep(uow, runtime, instance, runtime.new_workflow(model, item.data), actor_id)
        with session.no_autoflush, step_budget.running():  # each start is a step with its own budget
            step._run_to_wait()
            step._store_state()
        steps.append(step)
    if not steps:
        return steps
    instance_rows.insert_started(session, [s.instance for s in steps])  # one INSERT, no ORM flush
    uow.flush()  # what operations on the way added, after the instances they may refer to
    _sync_started(steps)
    return steps
