"""What changed between two versions (issue 14): elements matched by id, as instance
migration matches them; a property change is spelled out; moving shapes is no change."""
from __future__ import annotations

import json

from engine.process.version_compare import compare_file, compare_form, compare_xml
from tests.conftest import WORKFLOWS

SAMPLE = (WORKFLOWS / "bpmn" / "sample_intake.bpmn").read_text()


def test_a_changed_due_and_a_renamed_task_are_spelled_out_by_element():
    changed = SAMPLE.replace('name="due" value="PT24H"', 'name="due" value="PT36H"').replace(
        'name="Record specific needs"', 'name="Record the needs"')
    [change] = compare_xml(SAMPLE, changed)
    assert (change.element_id, change.kind, change.change) == ("record_needs", "user task", "changed")
    assert change.name == "Record the needs"
    assert change.details == ["name: Record specific needs → Record the needs", "due: PT24H → PT36H"]


def test_moving_shapes_changes_nothing_and_says_so():
    moved = SAMPLE.replace('<dc:Bounds x="192" y="142"', '<dc:Bounds x="212" y="162"')
    assert moved != SAMPLE
    assert compare_xml(SAMPLE, moved) == []
    assert compare_file("sample_intake.bpmn", SAMPLE, moved).note == "the layout only: no element changed"


def test_a_removed_task_is_listed_as_removed_and_unreadable_text_is_said_so():
    without = SAMPLE.replace('<bpmn:userTask id="record_needs"', '<bpmn:userTask id="record_needs_v2"')
    changes = {(c.element_id, c.change) for c in compare_xml(SAMPLE, without)}
    assert {("record_needs_v2", "added"), ("record_needs", "removed")} <= changes
    broken = compare_file("sample_intake.bpmn", SAMPLE, "<bpmn:definitions")
    assert broken.change == "changed" and broken.note.startswith("cannot be compared element by element")
    assert compare_file("new.dmn", None, "<x/>").change == "added"


def test_a_forms_fields_added_removed_and_changed():
    form = json.loads((WORKFLOWS / "forms" / "sample_needs.json").read_text())
    newer = json.loads(json.dumps(form))
    newer["properties"]["summary"]["maxLength"] = 2000
    newer["properties"]["family_view"] = {"type": "string", "title": "What the family says"}
    changes = {(c.element_id, c.change) for c in compare_form(json.dumps(form), json.dumps(newer))}
    assert changes == {("summary", "changed"), ("family_view", "added")}
    [summary] = [c for c in compare_form(json.dumps(form), json.dumps(newer)) if c.change == "changed"]
    assert summary.details == ["maxLength: 4000 → 2000"]
