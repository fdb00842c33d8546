"""A workflow run in memory for a path test (``engine.process.scenarios``): never an
instance, never saved, no database.

It runs with the same runtime as real steps — the sandbox, the step budget, our timers,
diagram failures as ``ScriptError`` — with one difference: service tasks do not call the
engine's operations (they would change case records); each answers what the scenario says
it answers (``services``: by element id or operation name, ``{"data": {...}, "result":
{...}}``: ``data`` is merged into the task data as an operation publishes it, ``result``
lands in the task's result variable), or nothing.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.bpmn import spec_parsing, step_budget, task_sync, timers
from engine.bpmn.runtime import ProcessRuntime
from engine.bpmn.sandbox import DEFAULT_TIME_LIMIT
from engine.bpmn.script_engine import SandboxedScriptEngine
from engine.errors import DomainError


class RehearsalFailed(DomainError):
    """The scenario asked for something the workflow cannot do now."""
    code = "scenario_failed"
    status = 422


class _AnsweringScriptEngine(SandboxedScriptEngine):
    def __init__(self, services: Mapping[str, Mapping], time_limit: float = DEFAULT_TIME_LIMIT):
        super().__init__(time_limit=time_limit)
        self.services = services
        self.called: list[str] = []

    def call_service(self, task, **kwargs):
        name = kwargs["operation_name"]
        answer = self.services.get(task.task_spec.bpmn_id) or self.services.get(name) or {}
        self.called.append(task.task_spec.bpmn_id)
        task.data.update(dict(answer.get("data") or {}))
        return json.dumps(answer.get("result") or {})


class Rehearsal:
    """One process run from its start by a scenario's actions."""

    def __init__(self, runtime: ProcessRuntime, spec, subprocess_specs: dict, data: dict,
                 services: Mapping[str, Mapping]):
        self.runtime = runtime
        self.script_engine = _AnsweringScriptEngine(services, runtime.script_time_limit)
        self.workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        self.workflow.task_tree.data.update(data)
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        self._since: dict[str, dt.datetime] = {}  # task id -> when it became ready or began waiting
        self._moved(lambda: self.runtime.advance(self.workflow))

    # -- actions -------------------------------------------------------------------------
    def complete(self, element: str, data: dict) -> None:
        task = self._ready(element)
        self._moved(lambda: self.runtime.complete(self.workflow, str(task.id), data))

    def fire(self, element: str) -> None:
        waiting = [t for t in self.workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == element]
        if not waiting:
            raise self._no_timer(element)
        self._moved(lambda: self.runtime.fire_timer(self.workflow, str(waiting[0].id)))

    def _moved(self, action) -> None:
        with step_budget.running():
            action()
        now = clock.now()
        for task in [*self.runtime.ready_human_tasks(self.workflow), *self.workflow.get_tasks(state=TaskState.WAITING)]:
            self._since.setdefault(str(task.id), now)

    # -- what follows ----------------------------------------------------------------------
    def ready_tasks(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in self.runtime.ready_human_tasks(self.workflow))

    def waiting_timers(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.runtime.pending_timers(self.workflow))

    def due_after(self, element: str) -> dt.timedelta | None:
        """How long after it became ready a ready task is due (None: no due time)."""
        task = self._ready(element)
        start = self._since[str(task.id)]
        props = spec_parsing.user_task_properties(task.task_spec)
        with step_budget.running():
            due = task_sync.due_from_property(self.runtime, task, props.get("due"), start)
        return None if due is None else due - start

    def timer_after(self, element: str) -> dt.timedelta:
        """How long after it began waiting a timer is due."""
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            if task.task_spec.bpmn_id == element:
                due = timers.due_instant(task.internal_data.get("event_value"))
                if due is not None:
                    return due - self._since[str(task.id)]
        raise self._no_timer(element)

    def _no_timer(self, element: str) -> RehearsalFailed:
        return RehearsalFailed(f"no timer {element} is waiting (waiting: {', '.join(self.waiting_timers()) or 'none'})")

    def outputs_of(self, element: str) -> dict:
        """The data a completed element (a business rule task: its decision's outputs) left."""
        done = [t for t in self.workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == element]
        if not done:
            raise RehearsalFailed(f"{element} has not run")
        return dict(done[-1].data)

    @property
    def data(self) -> dict:
        last = self.workflow.last_task
        return dict(last.data) if last is not None else dict(self.workflow.data)

    @property
    def finished(self) -> bool:
        return self.workflow.is_completed()

    def ended_at(self, element: str) -> bool:
        return any(t.task_spec.bpmn_id == element for t in self.workflow.get_tasks(state=TaskState.COMPLETED))

    def _ready(self, element: str):
        for task in self.runtime.ready_human_tasks(self.workflow):
            if task.task_spec.bpmn_id == element:
                return task
        raise RehearsalFailed(f"no task {element} is ready (ready: {', '.join(self.ready_tasks()) or 'none'})")
