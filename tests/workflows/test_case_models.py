"""The case-management diagrams and forms as data: CONTRACT field names, the R33 header on
every form, deadlines from DMN outputs (never literals), lanes and assignees."""
from __future__ import annotations

import json
import re
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
            "case_review", "case_reassessment", "case_inactive", "case_referral", "case_first_action",
            "case_aged_out"} <= set(bundle.processes)


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


# Answers a person must give: consent, assent, agreement, safety, reports and outcomes.
NOT_PREFILLED = {
    "case_consent.json": ("consent", "consent_by", "child_assent"),
    "case_legal_mandate.json": ("legal_mandate",),
    "case_transfer_consent.json": ("transfer_consent", "consent_by"),
    "case_plan.json": ("agreed_with_client",),
    "case_keep_open.json": ("agreed_with",),
    "case_transition_plan.json": ("young_person_agreed",),
    "case_closure_request.json": ("safety_confirmed",),
    "case_closure_review.json": ("safety_confirmed",),
    "case_death_report.json": ("reported_to_authority",),
    "case_death_investigation.json": ("other_children_at_risk",),
    "case_safeguard_children.json": ("actions_taken",),
    "case_follow_up.json": ("contact", "imminent_risks_mitigated"),
    "case_first_action.json": ("first_action",),
    "case_review.json": ("review_outcome",),
    "case_trace.json": ("trace_outcome",),
    "case_post_closure_visit.json": ("situation",),
}


@pytest.mark.parametrize(("name", "fields"), NOT_PREFILLED.items(), ids=list(NOT_PREFILLED))
def test_no_form_prefills_consent_agreement_safety_or_an_outcome(name, fields):
    """R04, R48: nothing a person must answer — consent, the child's assent, agreement with
    the client, the child's safety, a report, an outcome — is filled in for them."""
    properties = form(name)["properties"]
    assert {field: properties[field]["default"] for field in fields if "default" in properties[field]} == {}


def test_a_check_choosing_the_first_answer_continues_the_case():
    """A check fills required fields it does not know with a valid value (the first
    choice): each such first choice continues the case rather than end it."""
    assert form("case_consent.json")["properties"]["consent"]["enum"][0] == "given"
    assert form("case_consent.json")["properties"]["child_assent"]["enum"][0] == "given"
    assert form("case_transfer_consent.json")["properties"]["transfer_consent"]["enum"][0] == "given"
    assert form("case_follow_up.json")["properties"]["contact"]["enum"][0] == "made"
    assert form("case_review.json")["properties"]["review_outcome"]["enum"][0] == "continue"
    assert form("case_post_closure_visit.json")["properties"]["situation"]["enum"][0] == "stable"
    assert form("case_trace.json")["properties"]["trace_outcome"]["enum"][0] == "contact_resumed"
    assert form("case_legal_mandate.json")["properties"]["legal_mandate"]["enum"][0] == "recorded"
    assert form("case_death_report.json")["properties"]["reported_to_authority"]["const"] is True


RULE_OR_SOURCE = re.compile(r"\bR\d\d\b|§")
OTHERS_FORMS = ("case_handover", "complaint", "supervision", "committee_")  # kept by their own owners


def _words_for_people():
    for path in CASE_FORMS:
        if not path.name.startswith(OTHERS_FORMS):
            schema = json.loads(path.read_text())
            yield path.name, schema.get("title", ""), schema.get("description", "")
            for name, field in schema["properties"].items():
                yield f"{path.name}:{name}", field.get("title", ""), field.get("description", "")
    for file, task_id, _, props in user_tasks():
        if file != "case_conference.bpmn":
            yield f"{file}:{task_id}", props.get("title", ""), ""


def test_case_forms_and_task_titles_speak_plain_words():
    """Words caseworkers and supervisors read — form titles and descriptions, task titles —
    carry no rule ids or source references (those are for tests and process owners)."""
    assert [where for where, *texts in _words_for_people() if any(RULE_OR_SOURCE.search(t) for t in texts)] == []
