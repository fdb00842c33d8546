"""Build, restore, advance and wake one BpmnWorkflow; nothing here touches the database.

Every workflow runs with the sandboxed script engine (``engine.bpmn.script_engine``).
Specs are restored once per process-model version and cached. Timers are computed by
``engine.bpmn.timers`` (our bounded parser, our clock), so a frozen clock in tests and the
database sweeper agree with the engine on when a timer is due.

The database side of a step (load, save, rows, audit) is ``engine.bpmn.engine_step``: use
that, not this, to move an instance.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import multi_instance, spec_migration, spec_parsing, step_budget, timers, tree_walks
from engine.bpmn.runtime_hot import HotInstances
from engine.bpmn.sandbox_guards import SandboxError
from engine.bpmn.script_engine import make_script_engine
from engine.bpmn.serialization import dump_state, load_state
from engine.errors import ScriptError
from engine.models import InstanceStatus

log = logging.getLogger(__name__)

_PATCHES = (timers, multi_instance, tree_walks)  # imported for what they change in SpiffWorkflow
# What running untrusted diagrams can raise outside SpiffWorkflow's own error handling: a
# guard refusing from a callback, data nested too deep to copy, an allocation the address
# space limit refused. Each is the diagram's failure, never a crash of the service.
_RESOURCE_ERRORS = (SandboxError, RecursionError, MemoryError)


@dataclass(frozen=True)
class PendingTimer:
    task_id: str
    bpmn_id: str
    due_at: dt.datetime


class SpecCache:
    """Restored specs per process model content (process id + content hash: a version's
    specs never change, and the key stays right even if row ids are reused)."""

    def __init__(self, size: int = 64):
        self._size = size
        self._items: OrderedDict[tuple[str, str], tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model) -> tuple:
        key = (model.process_id, model.content_hash)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        restored = spec_parsing.restore_specs(model.spec_json)
        with self._lock:
            self._items[key] = restored
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return restored


NewTaskListener = Callable[..., object]  # (uow, [HumanTask]) -> anything
FailureListener = Callable[..., object]  # (uow, engine.bpmn.step_failures.StepFailure) -> anything
RecoveryListener = Callable[..., object]  # (uow, instance_id: int) -> anything


@dataclass
class ProcessRuntime:
    """The SpiffWorkflow side of every step. The engine-step path calls the listeners
    (the composition root adds them): ``new_task_listeners`` with the human-task rows a step
    created (the 'task assigned' notification), ``failure_listeners`` with each step the
    diagram failed (in the transaction that records the failure: the incident), and
    ``recovery_listeners`` with an instance whose failed route got past its failed element
    (the incident resolves)."""
    script_time_limit: float = 2.0
    spec_cache: SpecCache = field(default_factory=SpecCache)
    hot: HotInstances = field(default_factory=HotInstances)  # workflows kept between steps (runtime_hot)
    new_task_listeners: list[NewTaskListener] = field(default_factory=list)
    failure_listeners: list[FailureListener] = field(default_factory=list)
    recovery_listeners: list[RecoveryListener] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.script_engine = make_script_engine(time_limit=self.script_time_limit)

    # -- building -----------------------------------------------------------------
    def new_workflow(self, model, data: dict | None = None) -> BpmnWorkflow:
        """A workflow of ``model`` holding ``data``, not yet advanced."""
        spec, subprocess_specs = self.spec_cache.get(model)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.data.update(data or {})
        for task in tasks_in_state(workflow, TaskState.READY):  # the task maps, not a walk of the tree
            task.data.update(data or {})
        return workflow

    def restore(self, instance) -> BpmnWorkflow:
        spec, subprocess_specs = self.spec_cache.get(instance.model)
        return load_state(instance.state_json, spec, subprocess_specs, self.script_engine)

    def checkout(self, instance) -> BpmnWorkflow:
        """The workflow of ``instance`` for a step to move: the hot one when this process
        saved the row's version last (``engine.bpmn.runtime_hot``), else restored."""
        hot = self.hot.take(instance)
        return hot if hot is not None else self.restore(instance)

    @staticmethod
    def dump(workflow: BpmnWorkflow) -> str:
        return dump_state(workflow)

    def specs_of(self, model) -> tuple:
        """(spec, subprocess specs) of a model version."""
        return self.spec_cache.get(model)

    def moved(self, workflow: BpmnWorkflow, target_model) -> BpmnWorkflow:
        """``workflow`` on the specs of ``target_model``: every task keeps its id, state and
        data (``engine.bpmn.spec_migration``: check its plan first), the predicted routes are
        predicted again from the target. ``workflow`` itself is spent."""
        spec_migration.drop_predictions(workflow)
        spec, subprocess_specs = self.spec_cache.get(target_model)
        moved = load_state(dump_state(workflow), spec, subprocess_specs, self.script_engine)
        spec_migration.predict_again(moved)
        return moved

    # -- moving ---------------------------------------------------------------------
    def advance(self, workflow: BpmnWorkflow) -> None:
        """Run every engine step that needs no person and no timer, within the step's
        budget (``engine.bpmn.step_budget``: time, tasks run, tree size and depth)."""
        with _diagram_failures(workflow):
            _run_engine_tasks(workflow)

    def complete(self, workflow: BpmnWorkflow, task_id: str, data: dict) -> None:
        task = self.find_ready_human_task(workflow, task_id)
        if task is None:
            raise LookupError(task_id)
        task.data.update(data)
        with _diagram_failures(workflow, task):
            task.run()
            _budget().after_task(task)
        self.advance(workflow)

    def fire_timer(self, workflow: BpmnWorkflow, task_id: str) -> bool:
        """Mark one waiting timer as fired and move the instance on. False if the timer
        is no longer waiting (fired or cancelled already)."""
        for task in workflow.get_tasks(state=TaskState.WAITING):
            if str(task.id) == task_id:
                task.internal_data["event_fired"] = True
                break
        else:
            return False
        with _diagram_failures(workflow):
            workflow.refresh_timers()
            _run_engine_tasks(workflow)
        return True

    # -- reading --------------------------------------------------------------------
    @staticmethod
    def ready_human_tasks(workflow: BpmnWorkflow) -> list:
        return [task for task in tasks_in_state(workflow, TaskState.READY) if task.task_spec.manual]

    @staticmethod
    def find_ready_human_task(workflow: BpmnWorkflow, task_id: str):
        """The ready human task with this id (looked up by id, not by walking the tree), or None."""
        try:
            uid = UUID(task_id)
        except (ValueError, TypeError, AttributeError):
            return None
        task = workflow.tasks.get(uid)
        for subprocess in () if task is not None else workflow.subprocesses.values():
            task = subprocess.tasks.get(uid)
            if task is not None:
                break
        if task is None:  # not where the ids are kept: the walk, as before
            return next((t for t in ProcessRuntime.ready_human_tasks(workflow) if str(t.id) == task_id), None)
        return task if task.state == TaskState.READY and task.task_spec.manual else None

    @staticmethod
    def pending_timers(workflow: BpmnWorkflow) -> list[PendingTimer]:
        found = []
        for task in tasks_in_state(workflow, TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            due_at = timers.due_instant(task.internal_data.get("event_value"))
            if due_at is not None:
                found.append(PendingTimer(str(task.id), task.task_spec.bpmn_id, due_at))
        return found

    @staticmethod
    def status(workflow: BpmnWorkflow) -> InstanceStatus:
        return InstanceStatus.COMPLETE if workflow.is_completed() else InstanceStatus.RUNNING

    def evaluate(self, task, expression: str):
        with _diagram_failures(task.workflow, task):
            return self.script_engine.evaluate(task, expression)


def tasks_in_state(workflow: BpmnWorkflow, state: TaskState) -> list:
    """The tasks of ``workflow`` and its subprocesses in ``state``, in the order they were made:
    read off the workflows' task maps, not by walking the tree (SpiffWorkflow's walk costs a
    step about a hundred calls per look, and a step looks several times)."""
    return [task for wf in (workflow, *getattr(workflow, "subprocesses", {}).values())
            for task in wf.tasks.values() if task.state == state]


def _budget() -> step_budget.StepBudget:
    """The running step's budget; outside a step (direct use), a fresh one."""
    return step_budget.active() or step_budget.StepBudget()


def _run_engine_tasks(workflow: BpmnWorkflow) -> None:
    """``workflow.do_engine_steps`` with the step's budget, the same loop over the same tasks
    in the same order, but each pass's ready tasks found by ``tree_walks.ready_in_tree_order``
    (SpiffWorkflow's iterator costs a start of a short diagram a fifth of its engine time)."""
    budget = _budget()

    def run_ready(wf) -> int:
        count = 0
        for task in tree_walks.ready_in_tree_order(wf):
            if not task.task_spec.manual:
                budget.before_task(task)
                task.run()
                count += 1
                budget.after_task(task)
        return count

    while True:
        active = workflow.get_active_subprocesses()
        for subprocess in sorted(active, key=lambda v: v.depth, reverse=True):
            while run_ready(subprocess) > 0:
                pass
            if subprocess.parent_task_id is not None:
                task = workflow.get_task_from_id(subprocess.parent_task_id)
                task.task_spec._update(task)
        if run_ready(workflow) == 0 and len(workflow.get_active_subprocesses()) <= len(active):
            break
    workflow.refresh_timers()


@contextmanager
def _diagram_failures(workflow: BpmnWorkflow, task=None) -> Iterator[None]:
    """A failure of the diagram in the block as a ``ScriptError`` naming its element."""
    try:
        yield
    except SpiffWorkflowException as err:
        raise _script_error(err) from err
    except _RESOURCE_ERRORS as err:
        at = task or workflow.last_task
        name = (at.task_spec.bpmn_name or at.task_spec.bpmn_id) if at is not None else "an element"
        element = at.task_spec.bpmn_id if at is not None else None
        what = str(err) if isinstance(err, SandboxError) else f"{type(err).__name__}: {err}"
        log.warning("diagram failure at %s: %s", element, what)
        raise ScriptError(f"the diagram failed at {name}: {what}", element_id=element) from err


def _script_error(err: SpiffWorkflowException) -> ScriptError:
    task = getattr(err, "task", None)
    element = task.task_spec.bpmn_id if task is not None else None
    name = task.task_spec.bpmn_name if task is not None else None
    message = f"the diagram failed at {name or element or 'an element'}: {err}"
    log.warning("script failure at %s: %s", element, err)
    return ScriptError(message, element_id=element)
