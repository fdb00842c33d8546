"""Instance state <-> JSON, with the process spec kept out.

Spiff's serializer writes the whole spec (and every subprocess spec) into each instance.
Specs are immutable per process-model version, so we store them once on the model row and
hand the already-built spec objects back in when an instance is restored: the instance
JSON then holds only the task tree and its (small) data.
"""
from __future__ import annotations

import json
from types import ModuleType
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bpmn import state_formats

STATE_FORMAT = f"spiff-{VERSION}-specless"


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Like Spiff's converter for the top workflow, minus ``spec``/``subprocess_specs``."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ValueError("restoring an instance needs its process spec")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


def _build_registry():
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    return BpmnWorkflowSerializer.configure(config)


_registry = _build_registry()
_encoder = create_encoder(_registry)


def dump_state(workflow: BpmnWorkflow) -> str:
    """The instance's state as JSON text, without its spec."""
    _registry._encoder_mode = True
    try:
        dct = _registry.convert(workflow)
    finally:
        _registry._encoder_mode = False
    dct["format"] = STATE_FORMAT
    return encode(dct)


def load_state(text: str, spec, subprocess_specs: dict, script_engine=None) -> BpmnWorkflow:
    """Rebuild a workflow from :func:`dump_state` output and its (cached) specs."""
    dct = decode(text)
    if dct.get("format") != STATE_FORMAT:  # saved by an older engine: converted (or UnknownFormat, a ValueError)
        state_formats.upgrade_state(dct, state_formats.typenames(spec, subprocess_specs))
    dct.pop("format", None)
    workflow = _registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    if script_engine is not None:
        workflow.script_engine = script_engine
    return workflow


# -- JSON text: orjson, with the standard library deciding what orjson does not take --------------
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _default(obj: Any) -> Any:
    """What Spiff's JSON encoder does with a value JSON has no type for (``create_encoder``):
    its registered types (datetime, timedelta, UUID) as tagged dicts, callables and modules
    as null, a set as a list; anything else cannot be saved."""
    typename = _registry.typenames.get(type(obj))
    if typename is not None:
        return _registry.convert_to_dict[typename](obj)
    if callable(obj) or isinstance(obj, ModuleType):
        return None
    if isinstance(obj, set):
        return list(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def encode(value: Any) -> str:
    """Compact JSON text of ``value`` (state or task data), by orjson — several times faster
    than the standard library on an instance's state. What orjson refuses but the standard
    library takes (an integer beyond 64 bits, a key that is not a string) is written by the
    standard library as before, and what neither takes raises its ``TypeError``/``ValueError``.
    One difference: a float NaN or infinity is saved as null (standard JSON has no NaN)."""
    try:
        return orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError included
        return json.dumps(value, cls=_encoder, separators=(",", ":"))


def decode(text: str) -> Any:
    """:func:`encode`'s inverse; reads older states holding NaN (the standard library's) too."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def round_trip_data(data: dict) -> dict:
    """``data`` as restoring it from a saved state gives it back (tuples as lists, sets as
    lists, callables gone, keys as strings...): what a workflow kept in memory between two
    steps must hold, so that a step never depends on whether its instance was still in memory."""
    return _registry.restore(decode(encode(_registry.clean(data))))


def unsaveable_value(workflow: BpmnWorkflow):
    """``(task, variable, error)`` of the first task data value that cannot be saved as
    JSON (a generator, a range, bytes...), or None. Slow; for explaining a failed dump."""
    workflows = [workflow, *workflow.subprocesses.values()]
    holders = [(None, wf.data) for wf in workflows] + [(t, t.data) for wf in workflows for t in wf.get_tasks()]
    for task, data in holders:
        for key, value in data.items():
            try:
                json.dumps(_registry.convert(value), cls=_encoder, separators=(",", ":"))
            except (TypeError, ValueError, OverflowError, RecursionError) as err:
                return task, key, err
    return None
