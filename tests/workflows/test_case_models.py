"""The case-management diagrams and forms as data: CONTRACT field names, the R33 header on
every form, deadlines from DMN outputs (never literals), lanes and assignees."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from engine.bpmn import namespaces, spec_parsing
from engine.models.case import CLOSURE_REASONS

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
CASE_DIAGRAMS = sorted((WORKFLOWS / "bpmn").glob("case_*.bpmn"))
CASE_FORMS = sorted([*(WORKFLOWS / "forms").glob("case_*.json"), *(WORKFLOWS / "forms").glob("committee_*.json")])
NS = namespaces.NS
HEADER = ("form_date", "case_code", "case_status", "caseworker", "supervisor")
WAITS_WITHOUT_DEADLINE = {"request_closure"}  # waits for the plan's goals, not for a date


def form(name: str) -> dict:
    return json.loads((WORKFLOWS / "forms" / name).read_text())


def user_tasks():
    for path in CASE_DIAGRAMS:
        root = etree.parse(str(path)).getroot()
        lanes = {ref.text.strip(): lane.get("name") for lane in root.iter(f"{{{namespaces.BPMN_NS}}}lane")
                 for ref in lane.iter(f"{{{namespaces.BPMN_NS}}}flowNodeRef")}
        for task in root.iter(f"{{{namespaces.BPMN_NS}}}userTask"):
            props = {p.get("name"): p.get("value") for p in task.iter(f"{{{namespaces.SPIFF_NS}}}property")}
            yield path.name, task.get("id"), lanes.get(task.get("id")), props


def test_the_case_diagrams_validate_with_the_rest_of_the_workflows():
    bundle = spec_parsing.parse_bundle(spec_parsing.load_directory(WORKFLOWS))
    assert {"case_management", "case_risk_rating", "case_planning", "case_conference", "case_closure", "case_follow_up",
            "case_review", "case_reassessment", "case_inactive", "case_referral"} <= set(bundle.processes)


@pytest.mark.parametrize(("file", "task_id", "lane", "props"), list(user_tasks()), ids=lambda v: str(v)[:40])
def test_every_user_task_has_a_lane_a_form_a_priority_and_a_deadline_from_dmn(file, task_id, lane, props):
    """Who does it (lane and usually assign_to), on which form, how urgent, by when: every
    deadline is an expression over DMN outputs, never an ISO literal in the diagram."""
    assert lane in ("caseworker", "supervisor", "committee_member", "director"), task_id
    assert (WORKFLOWS / "forms" / props["form"]).is_file()
    assert props.get("priority") in ("risk", "high", "medium")
    if task_id in WAITS_WITHOUT_DEADLINE:
        assert "due" not in props
    else:
        assert props["due"] and not props["due"].upper().startswith("P"), (task_id, props["due"])
    if lane == "caseworker" and task_id != "screening":
        assert props.get("assign_to") in ("caseworker", "intake_worker"), task_id


@pytest.mark.parametrize("path", CASE_FORMS, ids=lambda p: p.name)
def test_every_case_form_carries_the_r33_header_read_only(path):
    """R33: date, case code, status, caseworker and supervisor on every case form, filled
    by the system (readOnly) and never required from the person filling it in."""
    schema = json.loads(path.read_text())
    if path.name.startswith("committee_"):
        assert not set(HEADER) & set(schema["properties"])  # votes name the member, not the case's staff
        return
    for name in HEADER:
        assert schema["properties"][name]["readOnly"] is True, name
    assert not set(HEADER) & set(schema["required"])


def test_contract_field_names_on_the_case_forms():
    """CONTRACT "Field names the checks fill in"."""
    screening = form("case_screening.json")
    assert {"eligible", "immediate_danger"} <= set(screening["required"])
    assert {screening["properties"][f]["type"] for f in ("eligible", "immediate_danger")} == {"boolean"}
    needs = form("case_initial_assessment.json")
    for field in ("red_needs", "yellow_needs"):
        assert needs["properties"][field]["type"] == "array" and field in needs["required"]
        assert needs["properties"][field]["items"]["type"] == "string"
    for name in ("committee_vote.json", "committee_director_decision.json", "case_plan_approval.json",
                 "case_closure_review.json"):
        assert form(name)["properties"]["vote"]["enum"] == ["approve", "reject"] and "vote" in form(name)["required"]
    closure = form("case_closure_request.json")["properties"]["closure_reason"]
    assert closure["type"] == "string" and tuple(closure["enum"]) == CLOSURE_REASONS  # R21: every DOMAIN reason


def test_forms_default_to_the_way_forward():
    """A check fills required fields it does not know with a valid value: each form's
    defaults (or first choice) continue the case rather than end it."""
    assert form("case_consent.json")["properties"]["consent"]["default"] == "given"
    assert form("case_transfer_consent.json")["properties"]["transfer_consent"]["default"] == "given"
    assert form("case_follow_up.json")["properties"]["contact"]["default"] == "made"
    assert form("case_review.json")["properties"]["review_outcome"]["default"] == "continue"
    assert form("case_post_closure_visit.json")["properties"]["situation"]["default"] == "stable"
    assert form("case_trace.json")["properties"]["trace_outcome"]["default"] == "contact_resumed"
