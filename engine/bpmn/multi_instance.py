"""A bound on SpiffWorkflow's multi-instance elements: how many instances one may make.

SpiffWorkflow 3.2 expands a parallel multi-instance element into all its children at once
(``ParallelMultiInstanceTask.create_children``) and a sequential one one child at a time
(``SequentialMultiInstanceTask.add_next_child``, after its ``_update_hook`` has read the
count), with no bound: a cardinality of 5,000 from workflow data ran for 39 s inside one
step, holding the write lock. When this module is imported (``engine.bpmn.runtime`` does)
both are wrapped, once, to check the count before the (first) child is made:

* from ``loopCardinality``: the expression must give a whole number (not a bool);
* from ``loopDataInputRef``: the collection must have a size (a list, dict...);

and a count above ``max_multi_instance`` (``MAX_MULTI_INSTANCE``, see
``engine.bpmn.limits``) is refused as a ``WorkflowTaskException`` on the element, so the
step fails as a ``ScriptError`` naming it, before any child exists. A parallel element's
cardinality expression is evaluated once more by SpiffWorkflow itself (sandboxed code, no
side effects).
"""
from __future__ import annotations

from collections.abc import Callable, Sized
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.task import Task

from engine.bpmn import limits as bpmn_limits


def instance_count(spec: MultiInstanceTask, my_task: Task) -> int | None:
    """How many instances a parallel ``spec`` is about to make, refused beyond the bound;
    None when its input is missing (SpiffWorkflow then reports that itself)."""
    if spec.data_input is not None:
        if not spec.data_input.exists(my_task):
            return None
        items = spec.data_input.get(my_task)
        if not isinstance(items, Sized):
            raise WorkflowTaskException(f"the multi-instance input of {_name(spec, my_task)} is a "
                                        f"{type(items).__name__}, not a list or a dict", task=my_task)
        return _checked_count(spec, my_task, len(items))
    return _checked_count(spec, my_task, my_task.workflow.script_engine.evaluate(my_task, spec.cardinality))


def _checked_count(spec: MultiInstanceTask, my_task: Task, count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise WorkflowTaskException(f"the loop cardinality of {_name(spec, my_task)} gave {_shown(count)}, not a "
                                    f"whole number", task=my_task)
    maximum = bpmn_limits.current().max_multi_instance
    if count > maximum:
        raise WorkflowTaskException(f"{_name(spec, my_task)} would make {count} instances, more than the maximum "
                                    f"of {maximum} (MAX_MULTI_INSTANCE)", task=my_task)
    return count


def _name(spec: MultiInstanceTask, my_task: Task) -> str:
    child = my_task.workflow.spec.task_specs.get(spec.task_spec)  # the element's own spec carries its name
    return str(spec.bpmn_name or getattr(child, "bpmn_name", None) or spec.bpmn_id)


def _parallel(original: Callable[[Any, Task], Any]) -> Callable[[Any, Task], Any]:
    def create_children(self: MultiInstanceTask, my_task: Task) -> Any:
        instance_count(self, my_task)
        return original(self, my_task)
    create_children.__wrapped__ = original  # type: ignore[attr-defined]
    return create_children


def _sequential(original: Callable[[Any, Task], Any]) -> Callable[[Any, Task], Any]:
    def add_next_child(self: MultiInstanceTask, my_task: Task) -> Any:
        if not my_task.internal_data.get("merged"):  # the first child: the count is known now
            internal = my_task.internal_data
            count = len(internal.get("remaining") or []) if self.data_input is not None else internal.get("cardinality")
            _checked_count(self, my_task, count)
        return original(self, my_task)
    add_next_child.__wrapped__ = original  # type: ignore[attr-defined]
    return add_next_child


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


if not hasattr(ParallelMultiInstanceTask.create_children, "__wrapped__"):  # once, even if reloaded
    ParallelMultiInstanceTask.create_children = _parallel(ParallelMultiInstanceTask.create_children)
    SequentialMultiInstanceTask.add_next_child = _sequential(SequentialMultiInstanceTask.add_next_child)
