"""Instances outlive a SpiffWorkflow upgrade: state and specs saved in an older serializer
format are converted when loaded (engine.bpmn.state_formats), restore and run on; a format
no converter reads is refused, naming it.

The fixture (tests/fixtures/state_formats/make_fixture.py) is a committee vote saved in
serializer format 1.3 — SpiffWorkflow 2.x — with one of three members having voted."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import serialization, spec_parsing, state_formats
from engine.bpmn.runtime import ProcessRuntime
from engine.bpmn.state_formats import UnknownFormat
from engine.errors import ScriptError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "state_formats" / "committee_vote_v1_3.json"


def old_instance(**changes) -> SimpleNamespace:
    saved = json.loads(FIXTURE.read_text())
    model = SimpleNamespace(process_id=saved["process_id"], content_hash=f"fixture-{id(saved)}",
                            spec_json=saved["spec_json"])
    return SimpleNamespace(model=model, state_json=changes.get("state_json", saved["state_json"]))


def vote_all(runtime: ProcessRuntime, workflow) -> None:
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        runtime.complete(workflow, str(task.id), {"ballot": {"vote": "approve", "member": task.data["member"]}})
        runtime.advance(workflow)


def test_the_formats_written_are_the_ones_the_converters_aim_at():
    assert serialization.STATE_FORMAT == state_formats.STATE_FORMAT
    assert spec_parsing.SPEC_FORMAT == state_formats.SPEC_FORMAT
    assert json.loads(old_instance().state_json)["format"] == "spiff-1.3-specless"


def test_a_vote_saved_by_spiffworkflow_2_restores_and_the_committee_finishes_it():
    runtime = ProcessRuntime()
    workflow = runtime.restore(old_instance())
    vote = next(t for t in workflow.get_tasks() if t.task_spec.name == "vote")
    assert vote.state == TaskState.STARTED  # 1.3 had it WAITING: converted
    still_to_vote = sorted(t.data["member"] for t in workflow.get_tasks(state=TaskState.READY, manual=True))
    assert still_to_vote == ["committee2", "director1"]
    vote_all(runtime, workflow)
    assert workflow.is_completed()
    assert workflow.data["approvals"] == 3  # the ballot cast before the upgrade counts too
    saved = json.loads(runtime.dump(workflow))
    assert saved["format"] == state_formats.STATE_FORMAT


def test_specs_of_an_older_format_are_converted_on_load():
    specs = json.loads(old_instance().model.spec_json)
    assert specs["format"] == "spiff-1.3-specs"
    spec, _ = spec_parsing.restore_specs(json.dumps(specs))
    assert "vote" in spec.task_specs


def test_an_event_gateways_children_lose_their_own_events_from_1_4_on():
    specs = {"format": "spiff-1.4-specs", "subprocess_specs": {}, "spec": {"task_specs": {
        "gateway": {"typename": "EventBasedGateway", "outputs": ["message_in", "timeout"]},
        "message_in": {"typename": "IntermediateCatchEvent",
                       "event_definition": {"typename": "MessageEventDefinition"}},
        "timeout": {"typename": "IntermediateCatchEvent", "event_definition": {"typename": "TimerEventDefinition"}},
        "other": {"typename": "IntermediateCatchEvent", "event_definition": {"typename": "TimerEventDefinition"}}}}}
    assert state_formats.upgrade_specs(specs)
    task_specs = specs["spec"]["task_specs"]
    assert {task_specs[n]["event_definition"]["typename"] for n in ("message_in", "timeout")} == {"NoneEventDefinition"}
    assert task_specs["other"]["event_definition"]["typename"] == "TimerEventDefinition"
    assert specs["format"] == state_formats.SPEC_FORMAT
    assert not state_formats.upgrade_specs(specs)  # current: nothing to do


@pytest.mark.parametrize("fmt", ["spiff-1.0-specless", None, "spiff-9.9-specless"])
def test_a_state_no_converter_reads_is_refused_naming_its_format(fmt):
    state = json.loads(old_instance().state_json)
    state["format"] = fmt
    with pytest.raises(UnknownFormat, match=repr(fmt).replace("[", r"\[")):
        ProcessRuntime().restore(old_instance(state_json=json.dumps(state)))


def test_without_its_conversion_the_old_vote_would_fail_when_the_last_member_votes():
    state = json.loads(old_instance().state_json)
    state["format"] = "spiff-1.4-specless"  # claims to be past the 1.3 -> 1.4 step it needs
    runtime = ProcessRuntime()
    workflow = runtime.restore(old_instance(state_json=json.dumps(state)))
    with pytest.raises(ScriptError, match="vote"):
        vote_all(runtime, workflow)
