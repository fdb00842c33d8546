"""The formats stored instance state and process specs are kept in, and the converters that
bring an older one up to this engine's (what upgrading SpiffWorkflow needs).

Every stored text names its format in its ``format`` key: ``spiff-<serializer version>-
specless`` for an instance's state (``engine.bpmn.serialization``), ``spiff-<version>-
specs`` for a model version's specs (``engine.bpmn.spec_parsing``). A text in an older
format is converted step by step on load, each step one small function keyed by the format
it reads (the pattern of SpiffWorkflow's own ``serializer/migration/version_migration``);
``python -m webui.cli upgrade-state`` rewrites every stored row once, so loads stop paying
for it.

The steps follow SpiffWorkflow's own migrations, re-done for our split of state and specs
(Spiff's functions expect one document holding both, and its 1.3 and 1.4 steps fail on any
workflow with a subprocess: they read an undefined ``sp``):

- ``1.3 → 1.4``: multi-instance and loop tasks that had started wait no more on their
  children but listen for them: WAITING (8) becomes STARTED (32). State only.
- ``1.4 → 1.5``: the children of an event-based gateway lost their own event definitions
  (the gateway handles the events). Specs only.

An older format than 1.3 (SpiffWorkflow before 2.0) is refused, naming it: those
conversions rebuilt the task tree, beyond what can be checked here.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import VERSION

STATE_FORMAT = f"spiff-{VERSION}-specless"
SPEC_FORMAT = f"spiff-{VERSION}-specs"

WAITING, STARTED = 8, 32
LOOPING_TASKS = {"StandardLoopTask", "SequentialMultiInstanceTask", "ParallelMultiInstanceTask"}

# a task spec's typename in the workflow spec of that name (None: the top process)
TypenameOf = Callable[[str | None, str], str | None]
StateStep = Callable[[dict, TypenameOf], None]
SpecStep = Callable[[dict], None]


class UnknownFormat(ValueError):
    """A stored text in a format no converter reads."""


# -- instance state -------------------------------------------------------------------------
def _started_loops(state: dict, typename_of: TypenameOf) -> None:
    for spec_name, tasks in _task_lists(state):
        for task in tasks:
            if task.get("state") == WAITING and typename_of(spec_name, task["task_spec"]) in LOOPING_TASKS:
                task["state"] = STARTED


def _unchanged_state(state: dict, typename_of: TypenameOf) -> None:
    """A format whose instance part did not change."""


def _task_lists(state: dict):
    yield None, state.get("tasks", {}).values()
    for sub in state.get("subprocesses", {}).values():
        yield sub.get("spec"), sub.get("tasks", {}).values()


STATE_STEPS: dict[str, tuple[str, StateStep]] = {
    "spiff-1.3-specless": ("spiff-1.4-specless", _started_loops),
    "spiff-1.4-specless": ("spiff-1.5-specless", _unchanged_state),
}


def upgrade_state(state: dict, typename_of: TypenameOf) -> bool:
    """Convert ``state`` (parsed, ``format`` key included) in place to ``STATE_FORMAT``;
    returns whether anything had to be done. ``UnknownFormat`` when no step reads it."""
    return _upgrade(state, STATE_FORMAT, STATE_STEPS, "instance state", lambda step: step(state, typename_of))


# -- specs --------------------------------------------------------------------------------------
def _gateway_children_without_events(specs: dict) -> None:
    for spec in [specs.get("spec", {}), *specs.get("subprocess_specs", {}).values()]:
        task_specs = spec.get("task_specs", {})
        for task_spec in task_specs.values():
            if task_spec.get("typename") != "EventBasedGateway":
                continue
            for name in task_spec.get("outputs", []):
                child = task_specs.get(name)
                if child is not None:
                    child["event_definition"] = {"description": "Default", "name": None,
                                                 "typename": "NoneEventDefinition"}


def _unchanged_specs(specs: dict) -> None:
    """A format whose spec part did not change."""


SPEC_STEPS: dict[str, tuple[str, SpecStep]] = {
    "spiff-1.3-specs": ("spiff-1.4-specs", _unchanged_specs),
    "spiff-1.4-specs": ("spiff-1.5-specs", _gateway_children_without_events),
}


def upgrade_specs(specs: dict) -> bool:
    """Convert ``specs`` (parsed) in place to ``SPEC_FORMAT``; returns whether it had to."""
    return _upgrade(specs, SPEC_FORMAT, SPEC_STEPS, "process specs", lambda step: step(specs))


def _upgrade(document: dict, target: str, steps: dict[str, tuple[str, Any]], what: str, apply) -> bool:
    fmt = document.get("format")
    if fmt == target:
        return False
    seen = set()
    while fmt != target:
        if fmt not in steps or fmt in seen:
            readable = ", ".join(sorted({*steps, target}))
            raise UnknownFormat(f"{what} is in format {fmt!r}, which this engine cannot convert (it reads {readable})")
        seen.add(fmt)
        following, step = steps[fmt]
        apply(step)
        document["format"] = fmt = following
    return True


def typenames(spec, subprocess_specs: dict) -> TypenameOf:
    """A :data:`TypenameOf` over built spec objects (the serializer names a task spec by its class)."""
    def typename_of(spec_name: str | None, task_spec_name: str) -> str | None:
        workflow_spec = spec if spec_name is None else subprocess_specs.get(spec_name)
        task_spec = workflow_spec.task_specs.get(task_spec_name) if workflow_spec is not None else None
        return type(task_spec).__name__ if task_spec is not None else None
    return typename_of


def spec_typenames(specs: dict) -> TypenameOf:
    """A :data:`TypenameOf` over serialized specs (a model row's ``spec_json``, parsed)."""
    def typename_of(spec_name: str | None, task_spec_name: str) -> str | None:
        workflow_spec = specs.get("spec") if spec_name is None else specs.get("subprocess_specs", {}).get(spec_name)
        task_spec = (workflow_spec or {}).get("task_specs", {}).get(task_spec_name)
        return task_spec.get("typename") if task_spec else None
    return typename_of
