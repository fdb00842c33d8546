"""The BCP decision tables and diagrams as data, evaluated with plain SpiffWorkflow;
expected values come from DOMAIN.md §4 and seed 000, not from the tables. The rules they
encode are shown by the path tests that drive the deployed BCP (``test_bcp_path.py``,
``test_bcp_resumption.py``, ``test_bcp_timing_paths.py``), which name the rule ids."""
from __future__ import annotations

import ast
import itertools
import re
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.models.case import CASE_STAGES
from engine.models.crisis import CRISIS_KINDS, SUB_FUNCTIONS

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
OPEN_STAGES = set(CASE_STAGES) - {"closed", "no_action"}
BPMN = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


@cache
def _table(decision_id: str):
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_file(str(WORKFLOWS / "dmn" / f"{decision_id}.dmn"))
    dmn = parser.dmn_parsers[decision_id]
    dmn.parse()
    return dmn.decision.decisionTables[0]


def decide(decision_id: str, **data) -> tuple[list[str], dict]:
    """(ids of every matching rule, the outputs of the first)."""
    task = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=PythonScriptEngine()))
    table = _table(decision_id)
    engine = DMNEngine(table)
    policy, table.hit_policy = table.hit_policy, "COLLECT"
    try:
        matched = engine.decide(task)
    finally:
        table.hit_policy = policy
    return [r.id for r in matched], (matched[0].output_as_dict(task) if matched else {})


PROFILES = [{"risk_level": r, "in_crisis": c, "pending_review": p}
            for r, c, p in itertools.product(("high", "medium", "low", "unrated"), (True, False), (True, False))]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: "-".join(str(v) for v in p.values()))
def test_check_priority_puts_high_risk_then_in_crisis_then_pending_first(profile):
    """Seed 000 RESUMPTION §2: high-risk clients, then clients in crisis, then cases
    pending or under review; each profile matches exactly one rule."""
    rules, out = decide("bcp_check_priority", profile=profile)
    assert len(rules) == 1
    if profile["risk_level"] == "high":
        expected = 1
    elif profile["in_crisis"]:
        expected = 2
    elif profile["pending_review"]:
        expected = 3
    else:
        expected = 4 if profile["risk_level"] == "medium" else 5
    assert out["check_result"]["check_order"] == expected


def test_check_deadlines_follow_the_order_and_fall_within_resumption():
    hours = {}
    for profile in PROFILES:
        out = decide("bcp_check_priority", profile=profile)[1]["check_result"]
        hours.setdefault(out["check_order"], set()).add(out["check_within_hours"])
    assert all(len(h) == 1 for h in hours.values())
    ordered = [hours[order].pop() for order in sorted(hours)]
    assert ordered == sorted(ordered) and len(set(ordered[:3])) == 3
    for kind in CRISIS_KINDS:
        assert max(ordered) <= decide("bcp_parameters", kind=kind)[1]["resumption_within_hours"]


@pytest.mark.parametrize("kind", CRISIS_KINDS)
def test_resumption_is_due_24_hours_after_the_declaration(kind):
    """DOMAIN §4: RESUMPTION within T+24 hours; backup staff within the caseload cap of 25."""
    rules, out = decide("bcp_parameters", kind=kind)
    assert len(rules) == 1
    assert out["resumption_within_hours"] == 24 and out["backup_caseload_cap"] == 25
    assert out["reschedule_within_hours"] > 0 and out["reassess_within_hours"] > 0


def test_every_sub_function_serves_open_case_stages_and_5_5_serves_them_all():
    scopes = {}
    for code in SUB_FUNCTIONS:
        rules, out = decide("bcp_function_scope", function=code)
        assert len(rules) == 1, code
        scopes[code] = set(out["function_scope"]["stages"].split(","))
        assert scopes[code] <= OPEN_STAGES, code
    assert scopes["5.5"] == OPEN_STAGES
    assert set().union(*(s for c, s in scopes.items() if c != "5.5")) == OPEN_STAGES
    assert {"screening", "admission"} <= scopes["5.1"] and "review" in scopes["5.4"]


def _plan_activities() -> list[str]:
    root = etree.parse(str(WORKFLOWS / "bpmn" / "bcp_readiness_plan.bpmn")).getroot()
    script = root.find(".//bpmn:scriptTask[@id='list_activities']/bpmn:script", BPMN).text
    assignment = next(n for n in ast.parse(script).body if isinstance(n, ast.Assign))
    return ast.literal_eval(assignment.value)


def test_every_readiness_activity_has_an_interval_and_a_task():
    """Seed 000 pre-crisis §1-§6: BCP review, drills, backup restore tests and the
    contact list recur; each listed activity has an interval and its own task."""
    activities = _plan_activities()
    assert {"bcp_review", "crisis_drill", "backup_restore_test", "contact_list_review"} <= set(activities)
    root = etree.parse(str(WORKFLOWS / "bpmn" / "bcp_readiness_activity.bpmn")).getroot()
    task_ids = {t.get("id") for t in root.iterfind(".//bpmn:userTask", BPMN)}
    for activity in activities:
        rules, out = decide("bcp_readiness_schedule", activity=activity)
        assert len(rules) == 1 and out["readiness_interval"]["every_days"] > 0, activity
        assert f"do_{activity}" in task_ids, activity
    assert decide("bcp_readiness_schedule", activity="backup_restore_test")[1]["readiness_interval"]["every_days"] \
        < decide("bcp_readiness_schedule", activity="risk_assessment")[1]["readiness_interval"]["every_days"]


def test_the_bcp_diagram_has_a_resumption_task_per_sub_function_and_a_timer_at_the_deadline():
    root = etree.parse(str(WORKFLOWS / "bpmn" / "bcp_cbf5.bpmn")).getroot()
    resume = {t.get("id") for t in root.iterfind(".//bpmn:userTask", BPMN) if t.get("id").startswith("resume_")}
    assert resume == {"resume_" + code.replace(".", "_") for code in SUB_FUNCTIONS}
    boundary = root.find(".//bpmn:boundaryEvent[@id='resumption_deadline']", BPMN)
    assert boundary.get("attachedToRef") == "resumption" and boundary.get("cancelActivity") == "false"
    assert re.fullmatch(r'resumption\["due_at"\]', boundary.findtext(".//bpmn:timeDate", namespaces=BPMN))


LEVELS = ("low", "medium", "high")


@pytest.mark.parametrize(("likelihood", "impact"), list(itertools.product(LEVELS, LEVELS)))
def test_risk_severity_answers_once_for_every_likelihood_and_impact(likelihood, impact):
    """Seed 000 pre-crisis §1: each risk's severity from its likelihood and impact; the
    default matrix (written out here) multiplies low 1, medium 2, high 3."""
    rules, out = decide("bcp_risk_severity", risk={"likelihood": likelihood, "impact": impact})
    score = (LEVELS.index(likelihood) + 1) * (LEVELS.index(impact) + 1)
    assert len(rules) == 1
    assert out["rated"]["severity"] == ("high" if score >= 6 else "medium" if score >= 3 else "low")
