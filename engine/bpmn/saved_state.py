"""The saved state of an instance, checked before it is stored.

Scripts can leave values in task data that JSON cannot hold (a generator, a ``range``,
``dict.keys()``, bytes, a complex number, a list that contains itself) or data so large
that every later step drags it along. Dumping such a state used to crash the save with a
bare ``TypeError`` (a 500). :func:`checked_state` dumps once and turns each of these into
a ``ScriptError`` naming the element whose data is at fault, so the engine step fails
cleanly (and is recorded on the instance, see ``engine.bpmn.engine_step``):

* a value that cannot be saved as JSON;
* a state of more than ``max_state_kb`` (``MAX_STATE_KB``, see ``engine.bpmn.limits``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.bpmn import limits as bpmn_limits
from engine.bpmn.serialization import unsaveable_value
from engine.errors import ScriptError

_DUMP_ERRORS = (TypeError, ValueError, OverflowError, RecursionError)


def checked_state(dump: Callable[[Any], str], workflow: Any) -> str:
    """``dump(workflow)``, or a ``ScriptError`` saying why it cannot be saved."""
    try:
        text = dump(workflow)
    except _DUMP_ERRORS as err:
        raise _unsaveable(workflow, err) from err
    maximum = bpmn_limits.current().max_state_kb
    if len(text) > maximum * 1024:
        task = _largest_data(workflow)
        raise ScriptError(f"the instance's data grew to {len(text) // 1024} KB, more than the maximum of "
                          f"{maximum} KB (MAX_STATE_KB){_at(task)}", element_id=_element(task))
    return text


def _unsaveable(workflow: Any, err: Exception) -> ScriptError:
    found = unsaveable_value(workflow)
    if found is None:
        return ScriptError(f"the instance's data cannot be saved: {err}")
    task, variable, cause = found
    return ScriptError(f"the diagram left a value in task data that cannot be saved{_at(task)}: "
                       f"{variable!r} holds {_kind(cause)}", element_id=_element(task))


def _kind(cause: Exception) -> str:
    text = str(cause)
    if text.startswith("Object of type ") and text.endswith(" is not JSON serializable"):
        return f"a {text.removeprefix('Object of type ').removesuffix(' is not JSON serializable')}"
    return f"a value JSON cannot hold ({text})"


def _largest_data(workflow: Any) -> Any:
    tasks = [t for wf in [workflow, *workflow.subprocesses.values()] for t in wf.get_tasks()]
    return max(tasks, key=lambda t: len(repr(t.data)), default=None)


def _at(task: Any) -> str:
    if task is None:
        return ""
    return f" at {task.task_spec.bpmn_name or task.task_spec.bpmn_id}"


def _element(task: Any) -> str | None:
    return task.task_spec.bpmn_id if task is not None else None
