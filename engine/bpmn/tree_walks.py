"""Two of SpiffWorkflow's walks of the whole task tree, without its iterator: the ready tasks
of each pass of the engine's run (:func:`ready_in_tree_order`, for ``runtime._run_engine_tasks``)
and the waiting tasks updated after each completed task.

``Workflow.update_waiting_tasks`` runs on every completed task: it walks the tree with a
``TaskIterator`` for the tasks waiting (a timer, an event) and updates each. The iterator
costs a few calls a task, so on a short diagram this walk was a twentieth of a start. When
this module is imported (``engine.bpmn.runtime`` does) the method is replaced, once, by the
same walk: the same tasks in the same order (depth first, children in order, nothing below a
task that is only predicted, no deeper than the iterator's 1,000 levels), just as lazily —
each task's children are read when the walk reaches it, before that task is updated.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

_ITERATOR_MAX_DEPTH = 1000  # SpiffWorkflow's TaskIterator looks no deeper


def waiting_in_tree_order(root: Task) -> Iterator[Task]:
    """What ``TaskIterator(root, state=TaskState.WAITING)`` yields, in its order."""
    stack = [(root, 0)]
    while stack:
        task, depth = stack.pop()
        state = task._state
        if task._children and state >= TaskState.FUTURE and depth < _ITERATOR_MAX_DEPTH:
            stack.extend((child, depth + 1) for child in reversed(task.children))
        if state == TaskState.WAITING:
            yield task


def ready_in_tree_order(workflow) -> list[Task]:
    """``workflow.get_tasks(state=TaskState.READY)``: the ready tasks of ``workflow``'s tree and
    of the subprocesses in it, depth first, a subprocess's tree before the children of its
    task; below a task that is only predicted, nothing (a predicted task's children are)."""
    subprocesses = workflow.top_workflow.subprocesses
    found: list[Task] = []
    stack = [(workflow.task_tree, 0)]
    while stack:
        task, depth = stack.pop()
        state = task._state
        if state == TaskState.READY:
            found.append(task)
        subprocess = subprocesses.get(task.id)
        if (task._children or subprocess is not None) and (state >= TaskState.FUTURE or subprocess is not None) \
                and depth < _ITERATOR_MAX_DEPTH:
            below = ([subprocess.task_tree] if subprocess is not None else []) + task.children
            stack.extend((child, depth + 1) for child in reversed(below))
    return found


def _update_waiting_tasks(self: Workflow) -> None:
    """Update all tasks in the WAITING state (``Workflow.update_waiting_tasks``)."""
    for task in waiting_in_tree_order(self.task_tree):
        task.task_spec._update(task)


_STOCK = getattr(Workflow.update_waiting_tasks, "_stock", Workflow.update_waiting_tasks)
if not getattr(Workflow.update_waiting_tasks, "_engine_walk", False):
    _update_waiting_tasks._engine_walk = True  # type: ignore[attr-defined]
    _update_waiting_tasks._stock = _STOCK  # type: ignore[attr-defined]
    Workflow.update_waiting_tasks = _update_waiting_tasks


@contextmanager
def stock_walks() -> Iterator[None]:
    """SpiffWorkflow's own walk for the block: ``bench/engine_throughput.py`` measures raw
    SpiffWorkflow as it ships, not as this module speeds it up."""
    ours = Workflow.update_waiting_tasks
    Workflow.update_waiting_tasks = _STOCK
    try:
        yield
    finally:
        Workflow.update_waiting_tasks = ours
