"""The DMN decision tables, the sample process and its forms, run with plain SpiffWorkflow.

Each expected value is computed here from DOMAIN.md / CONTRACT.md, independently of the
tables, so a table edited against the rulebook fails here. These are tests of the tables
as data (every input answered once, the CONTRACT defaults); the rules themselves are shown
by the path tests that drive the real diagrams (``test_case_*_paths.py``), which name the
rule ids.
"""
from __future__ import annotations

import ast
import copy
import datetime as dt
import json
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
DMN_DIR = WORKFLOWS / "dmn"
BPMN_DIR = WORKFLOWS / "bpmn"
FORMS_DIR = WORKFLOWS / "forms"
DMN_NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}

LEVELS = ("high", "medium", "low")


# --------------------------------------------------------------------------- helpers

def _parser() -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_files(sorted(str(p) for p in DMN_DIR.glob("*.dmn")))
    return parser


@cache
def _decision_table(decision_id: str):
    parser = _parser()
    dmn_parser = parser.dmn_parsers[decision_id]
    dmn_parser.parse()
    return dmn_parser.decision.decisionTables[0]


def _task_with(data: dict):
    """The least a DMN engine needs of a task: its data and a script engine."""
    return SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=PythonScriptEngine()))


def matching_rules(decision_id: str, **inputs) -> list[str]:
    """Ids of *every* rule that matches ``inputs`` (hit policy forced to COLLECT)."""
    table = copy.copy(_decision_table(decision_id))
    table.hit_policy = "COLLECT"
    return [rule.id for rule in DMNEngine(table).decide(_task_with(inputs))]


_RULE_TASK_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="call_{d}_definitions" targetNamespace="http://cbf5.example.org/test">
  <bpmn:process id="call_{d}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>{d}</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@cache
def _rule_task_spec(decision_id: str):
    parser = _parser()
    parser.add_bpmn_str(_RULE_TASK_BPMN.format(d=decision_id).encode(), filename=f"call_{decision_id}.bpmn")
    return parser.get_spec(f"call_{decision_id}")


def decide(decision_id: str, **inputs) -> dict:
    """Run ``decision_id`` from a business rule task, as a diagram would; the data after it."""
    workflow = BpmnWorkflow(_rule_task_spec(decision_id))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(inputs)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    return workflow.last_task.data


def expected_risk(red: int, yellow: int) -> str:
    """DOMAIN §2 step 5 / SOP 004 §6.2, written out independently of the table."""
    if red >= 1 or yellow > 3:
        return "high"
    if yellow >= 1:
        return "medium"
    return "low"


# --------------------------------------------------------------------------- risk_level

RISK_GRID = [(red, yellow) for red in range(6) for yellow in range(11)]


@pytest.mark.parametrize(("red", "yellow"), RISK_GRID)
def test_risk_level_follows_the_sop_table(red, yellow):
    """High if >= 1 red need or > 3 yellow needs; medium for 1-3 yellow and no red; low with
    no specific need. Checked over red 0..5 x yellow 0..10."""
    out = decide("risk_level", red_count=red, yellow_count=yellow)
    assert out["risk_level"] == expected_risk(red, yellow)
    assert out["needs_judgement"] is (red == 0 and yellow == 3)


@pytest.mark.parametrize(("red", "yellow"), RISK_GRID)
def test_risk_level_has_no_gaps_and_no_overlaps(red, yellow):
    """Every input combination matches exactly one rule (UNIQUE, no hole)."""
    assert len(matching_rules("risk_level", red_count=red, yellow_count=yellow)) == 1


def test_three_yellow_needs_are_medium_and_flagged_for_judgement():
    """Exactly three yellow needs (not covered by SOP 004) -> medium, flagged."""
    out = decide("risk_level", red_count=0, yellow_count=3)
    assert (out["risk_level"], out["needs_judgement"]) == ("medium", True)
    for red, yellow in [(0, 2), (0, 4), (1, 3), (0, 0)]:
        assert decide("risk_level", red_count=red, yellow_count=yellow)["needs_judgement"] is False


def test_risk_level_answers_for_large_counts():
    """Many needs stay high; the table has no upper bound."""
    assert decide("risk_level", red_count=40, yellow_count=99)["risk_level"] == "high"
    assert decide("risk_level", red_count=0, yellow_count=99)["risk_level"] == "high"


# --------------------------------------------------------------------------- risk_timeframes

CONTRACT_TIMEFRAMES = {  # CONTRACT.md "DMN decisions": level -> (intervene h, follow-up days)
    "high": (48, 3),
    "medium": (168, 7),
    "low": (336, 14),
}


@pytest.mark.parametrize("level", LEVELS)
def test_risk_timeframes_follow_the_contract(level):
    """CONTRACT.md defaults: high -> 48 h, twice a week (3 d); medium -> 7 days (168 h),
    weekly; low -> information within 2 weeks (336 h), every 14 days."""
    out = decide("risk_timeframes", risk_level=level)
    assert (out["intervene_within_hours"], out["follow_up_every_days"]) == CONTRACT_TIMEFRAMES[level]
    assert isinstance(out["intervene_within_hours"], int)
    assert isinstance(out["follow_up_every_days"], int)
    assert len(matching_rules("risk_timeframes", risk_level=level)) == 1


# --------------------------------------------------------------------------- case_timeframes

CASE_DEFAULTS = {
    "initial_assessment_hours": 24,           # R07, 001 §3.2
    "initial_assessment_escalate_hours": 48,  # R07, 001 §3.2
    "comprehensive_start_days": 7,            # R15, 001 §3.2
    "comprehensive_complete_days": 30,        # R15, 001 §3.2
    "case_plan_days": 14,                     # R17, 001 §3.3
    "post_closure_visit_days": 90,            # R23, 001 §3.6
    "aged_out_close_days": 183,               # R27, 003 §5.5 (6 months)
    "age_of_majority_years": 18,              # R27, 003 §5.5
    "complaint_answer_days": 15,              # R28, 003 §5.6.3
}


@pytest.mark.parametrize("level", LEVELS)
def test_case_timeframes_defaults(level):
    """The DOMAIN defaults: initial assessment 24 h, escalated at 48 h; comprehensive
    assessment started within 7 days, completed within 30; case plan within 14 days;
    post-closure visit within 90 days; aged out at 18, closed after 6 months (183 days);
    complaints within 15 days."""
    out = decide("case_timeframes", risk_level=level)
    assert {k: out[k] for k in CASE_DEFAULTS} == CASE_DEFAULTS
    assert all(isinstance(out[k], int) for k in CASE_DEFAULTS)
    assert len(matching_rules("case_timeframes", risk_level=level)) == 1


def test_review_at_least_every_three_months_and_sooner_for_high_risk():
    """A review at least every 3 months, more often for high risk (DOMAIN §2 step 10)."""
    review = {level: decide("case_timeframes", risk_level=level)["review_every_days"] for level in LEVELS}
    assert review["medium"] == 90 and review["low"] == 90
    assert 0 < review["high"] < 90


# --------------------------------------------------------------------------- staff_timeframes

@pytest.mark.parametrize(("duty", "days"), [
    ("supervision", 7), ("case_management_meeting", 30), ("caseload_review", 14),
    ("file_audit", 90), ("handover_shadow", 90),
])
def test_staff_timeframes(duty, days):
    """DOMAIN defaults: handover shadowing at least 3 months; caseloads reviewed every 2
    weeks, files audited every 3 months; supervision weekly, case-management meetings monthly."""
    assert decide("staff_timeframes", duty=duty)["every_days"] == days
    assert len(matching_rules("staff_timeframes", duty=duty)) == 1


# --------------------------------------------------------------------------- table hygiene

def _dmn_files():
    return sorted(DMN_DIR.glob("*.dmn"))


@pytest.mark.parametrize("path", _dmn_files(), ids=lambda p: p.name)
def test_one_documented_decision_per_file(path):
    """Each DMN file holds one decision, named after the file, documented with its sources,
    hit policy UNIQUE, and every rule names the rule id or section it comes from."""
    root = etree.parse(str(path)).getroot()
    decisions = root.findall("dmn:decision", DMN_NS)
    assert [d.get("id") for d in decisions] == [path.stem]
    description = decisions[0].findtext("dmn:description", namespaces=DMN_NS) or ""
    assert "§" in description
    tables = decisions[0].findall("dmn:decisionTable", DMN_NS)
    assert len(tables) == 1 and tables[0].get("hitPolicy") == "UNIQUE"
    for rule in tables[0].findall("dmn:rule", DMN_NS):
        text = rule.findtext("dmn:description", namespaces=DMN_NS) or ""
        assert "§" in text, f"rule {rule.get('id')} names no source"


_ALLOWED_CELL_NAMES = {"True", "False", "None"}


@pytest.mark.parametrize("path", _dmn_files(), ids=lambda p: p.name)
def test_cells_are_plain_python_for_the_sandbox(path):
    """Cells are Python (not FEEL): comparisons and literals only, no names, no imports
    (``?`` stands for the input's value)."""
    table = _decision_table(path.stem)
    for rule in table.rules:
        for entry in rule.inputEntries:
            for text in entry.lhs:
                if text is None:
                    continue
                text = text.replace("?", "v")
                tree = ast.parse(f"v {text}" if text.lstrip()[:1] in "<>=!" else text, mode="eval")
                names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - {"v"}
                assert names <= _ALLOWED_CELL_NAMES, (rule.id, text)
        for entry in rule.outputEntries:
            tree = ast.parse(entry.text, mode="eval")
            assert isinstance(tree.body, ast.Constant), (rule.id, entry.text)


# --------------------------------------------------------------------------- forms

def _form_files():
    return sorted(FORMS_DIR.glob("*.json"))


@pytest.mark.parametrize("path", _form_files(), ids=lambda p: p.name)
def test_forms_are_labelled_closed_json_schemas(path):
    """Forms are JSON Schema 2020-12 with titles and descriptions on every field."""
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema.get("title") and set(schema["required"]) <= set(schema["properties"])
    for name, field in schema["properties"].items():
        assert field.get("title") and field.get("description"), name
        for sub in (field, field.get("items", {})):
            if "enum" in sub and "oneOf" in sub:  # labelled enum: both lists must agree
                assert [o["const"] for o in sub["oneOf"]] == sub["enum"], name


def test_need_codes_form_accepts_the_contract_fields():
    """CONTRACT: red_needs / yellow_needs are arrays of need codes (strings)."""
    schema = json.loads((FORMS_DIR / "sample_needs.json").read_text())
    validator = Draft202012Validator(schema)
    codes = schema["properties"]["red_needs"]["items"]["enum"]
    assert codes == schema["properties"]["yellow_needs"]["items"]["enum"]
    assert validator.is_valid({"red_needs": [], "yellow_needs": codes[:3], "summary": "x"})
    assert not validator.is_valid({"red_needs": ["no_such_need"], "yellow_needs": []})
    assert not validator.is_valid({"red_needs": [], "yellow_needs": [], "name": "not allowed"})
    approval = Draft202012Validator(json.loads((FORMS_DIR / "sample_approval.json").read_text()))
    assert approval.is_valid({"vote": "approve"}) and approval.is_valid({"vote": "reject", "comment": ""})
    assert not approval.is_valid({"vote": "maybe"})


# --------------------------------------------------------------------------- sample process

@cache
def _sample_specs():
    parser = _parser()
    parser.add_bpmn_file(str(BPMN_DIR / "sample_intake.bpmn"))
    return parser.get_spec("sample_intake"), parser.get_subprocess_specs("sample_intake")


def _start_sample() -> BpmnWorkflow:
    spec, subprocess_specs = _sample_specs()
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.do_engine_steps()
    return workflow


def _only_ready_human_task(workflow):
    tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert len(tasks) == 1, [t.task_spec.bpmn_id for t in tasks]
    return tasks[0]


def _complete(workflow, task, **data):
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def test_sample_process_user_tasks_name_existing_forms():
    spec, _ = _sample_specs()
    user_tasks = {name: ts for name, ts in spec.task_specs.items()
                  if getattr(ts, "manual", False)}
    assert set(user_tasks) == {"record_needs", "approve_plan", "follow_up"}
    for ts in user_tasks.values():
        props = ts.extensions["properties"]
        assert (FORMS_DIR / props["form"]).is_file(), props["form"]
    assert spec.task_specs["approve_plan"].extensions["properties"]["due"] == "intervene_within_hours"


def _record_and_rate(red, yellow):
    workflow = _start_sample()
    record = _only_ready_human_task(workflow)
    assert (record.task_spec.bpmn_id, record.task_spec.lane) == ("record_needs", "caseworker")
    _complete(workflow, record, red_needs=red, yellow_needs=yellow, summary="sample")
    approve = _only_ready_human_task(workflow)
    assert (approve.task_spec.bpmn_id, approve.task_spec.lane) == ("approve_plan", "supervisor")
    return workflow, approve


def test_sample_process_approve_path_waits_on_the_timer_then_follows_up():
    """The sample: one red need -> high; intervene within 48 h; approve -> 1 h timer -> follow-up."""
    workflow, approve = _record_and_rate(["separated_child"], ["disability"])
    assert approve.data["risk_level"] == "high"
    assert approve.data["intervene_within_hours"] == 48
    assert (approve.data["red_count"], approve.data["yellow_count"]) == (1, 1)

    before = dt.datetime.now(dt.UTC)
    _complete(workflow, approve, vote="approve", comment="ok")
    waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING)
               if t.task_spec.bpmn_id == "wait_before_follow_up"]
    assert len(waiting) == 1
    due = dt.datetime.fromisoformat(waiting[0].internal_data["event_value"])
    assert due.utcoffset() is not None
    assert dt.timedelta(minutes=59) < due - before < dt.timedelta(minutes=61)
    assert workflow.get_tasks(state=TaskState.READY, manual=True) == []

    # Wake the timer as if the hour had passed.
    waiting[0].internal_data["event_value"] = (before - dt.timedelta(seconds=1)).isoformat()
    workflow.refresh_timers()
    workflow.do_engine_steps()
    follow_up = _only_ready_human_task(workflow)
    assert (follow_up.task_spec.bpmn_id, follow_up.task_spec.lane) == ("follow_up", "caseworker")
    _complete(workflow, follow_up, contact_made=True, notes="reached")
    assert workflow.is_completed()
    ended = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)]
    assert "done" in ended and "rejected" not in ended


def test_sample_process_reject_path_ends_rejected():
    """The sample: three yellow needs -> medium, flagged, 168 h; reject ends the process."""
    workflow, approve = _record_and_rate([], ["disability", "woman_at_risk", "child_labour"])
    assert (approve.data["risk_level"], approve.data["needs_judgement"]) == ("medium", True)
    assert approve.data["intervene_within_hours"] == 168
    _complete(workflow, approve, vote="reject", comment="needs more information")
    assert workflow.is_completed()
    ended = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)]
    assert "rejected" in ended and "done" not in ended
    assert not [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "wait_before_follow_up"
                and t.state == TaskState.WAITING]


def test_sample_process_low_risk_without_needs():
    """The sample: no specific need -> low, information within 2 weeks (336 h)."""
    _, approve = _record_and_rate([], [])
    assert approve.data["risk_level"] == "low"
    assert approve.data["intervene_within_hours"] == 336
