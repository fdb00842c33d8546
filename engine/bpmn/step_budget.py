"""The budget of one engine step: wall-clock time, engine tasks run, task-tree size and depth.

``engine.bpmn.engine_step`` opens one budget around each step (:func:`running`); a step
started inside another (a service-task operation that starts an instance) shares the
outer one, so the bounds hold per request. What reads it:

* ``engine.bpmn.script_engine``: every script, condition, timer expression and DMN cell
  checks the time left when it starts, and its loop ticks stop at the step's deadline;
* ``engine.bpmn.runtime``: SpiffWorkflow calls :meth:`StepBudget.before_task` and
  :meth:`StepBudget.after_task` around every engine task it runs, which check the time,
  count the tasks (at most ``max_engine_tasks``) and bound the task tree (``max_tasks``
  tasks, ``max_task_depth`` deep; see ``engine.bpmn.limits``).

Every bound is a ``WorkflowTaskException`` on the task at hand, so the step fails as a
``ScriptError`` naming the element, like any other diagram failure.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import monotonic
from uuid import UUID

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.task import Task

from engine.bpmn import limits as bpmn_limits
from engine.bpmn.sandbox_guards import SandboxLimitExceeded


class StepBudget:
    """What is left of one step's bounds."""

    def __init__(self, limits: bpmn_limits.Limits | None = None) -> None:
        self.limits = limits or bpmn_limits.current()
        self.deadline = monotonic() + self.limits.step_time_limit
        self.tasks_run = 0
        self._depths: dict[UUID, int] = {}

    # -- time ------------------------------------------------------------------------------
    def time_is_up(self) -> bool:
        return monotonic() > self.deadline

    def time_up_message(self) -> str:
        return (f"the engine step's time limit of {self.limits.step_time_limit:g} s is used up "
                f"(STEP_TIME_LIMIT)")

    def check_time(self) -> None:
        """For sandboxed code about to run: ``SandboxLimitExceeded`` when the time is up."""
        if self.time_is_up():
            raise SandboxLimitExceeded(self.time_up_message())

    # -- SpiffWorkflow's callbacks -----------------------------------------------------------
    def before_task(self, task: Task) -> None:
        if self.time_is_up():
            raise WorkflowTaskException(self.time_up_message(), task=task)
        self.tasks_run += 1
        if self.tasks_run > self.limits.max_engine_tasks:
            raise WorkflowTaskException(
                f"more than {self.limits.max_engine_tasks} engine tasks ran in one step (MAX_ENGINE_TASKS): "
                f"does the diagram loop without waiting?", task=task)

    def after_task(self, task: Task) -> None:
        depth = self._depth(task) + 1  # its children
        if depth >= self.limits.max_task_depth:
            raise WorkflowTaskException(
                f"the task tree is more than {self.limits.max_task_depth} tasks deep (MAX_TASK_DEPTH): a loop "
                f"this long cannot run reliably; end the instance and start a new one instead", task=task)
        self.check_tree_size(task)

    def check_tree_size(self, task: Task) -> None:
        top = task.workflow.top_workflow
        size = len(top.tasks) + sum(len(sub.tasks) for sub in top.subprocesses.values())
        if size > self.limits.max_tasks:
            raise WorkflowTaskException(f"the instance has more than {self.limits.max_tasks} tasks (MAX_TASKS)",
                                        task=task)

    def _depth(self, task: Task) -> int:
        """The task's depth in its workflow's tree (remembered: engine tasks run parent
        first, so this is one step up per call, not a walk to the root)."""
        walked: list[Task] = []
        node: Task | None = task
        depth = -1
        while node is not None:
            known = self._depths.get(node.id)
            if known is not None:
                depth = known
                break
            walked.append(node)
            node = node.parent
        for one in reversed(walked):
            depth += 1
            self._depths[one.id] = depth
        return depth


_active: ContextVar[StepBudget | None] = ContextVar("engine_step_budget", default=None)


def active() -> StepBudget | None:
    """The budget of the step running now, if any."""
    return _active.get()


@contextmanager
def running(limits: bpmn_limits.Limits | None = None) -> Iterator[StepBudget]:
    """A budget for the step run in the block; inside another step's block, that one."""
    outer = _active.get()
    if outer is not None:
        yield outer
        return
    budget = StepBudget(limits)
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)
