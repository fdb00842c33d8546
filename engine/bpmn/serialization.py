"""Instance state <-> JSON, with the process spec kept out.

Spiff's serializer writes the whole spec (and every subprocess spec) into each instance.
Specs are immutable per process-model version, so we store them once on the model row and
hand the already-built spec objects back in when an instance is restored: the instance
JSON then holds only the task tree and its (small) data.
"""
from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

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
    return json.dumps(dct, cls=_encoder, separators=(",", ":"))


def load_state(text: str, spec, subprocess_specs: dict, script_engine=None) -> BpmnWorkflow:
    """Rebuild a workflow from :func:`dump_state` output and its (cached) specs."""
    dct = json.loads(text)
    fmt = dct.pop("format", None)
    if fmt != STATE_FORMAT:
        raise ValueError(f"instance state is in format {fmt!r}, this engine reads {STATE_FORMAT!r}")
    workflow = _registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    if script_engine is not None:
        workflow.script_engine = script_engine
    return workflow


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
