"""Path tests process owners write (issue 14): every stock scenario of workflows/tests/
passes (so they run in ``make test``), a scenario that no longer holds says which step and
why, and a draft is tested before it is deployed."""
from __future__ import annotations

import json

import pytest

from engine.bpmn import spec_parsing
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import Forbidden, Invalid
from engine.process import scenarios
from tests.conftest import WORKFLOWS
from tests.engine.helpers import user_id
from tests.engine.test_dmn_domains import low_rule

STOCK = scenarios.read_scenarios(scenarios.scenario_files(WORKFLOWS))


@pytest.fixture(scope="module")
def stock_bundle():
    return spec_parsing.parse_bundle(spec_parsing.load_directory(WORKFLOWS))


def run(bundle, *found: scenarios.Scenario) -> list[scenarios.ScenarioResult]:
    return scenarios.run_scenarios(ProcessRuntime(), bundle, list(found))


# Processes only ever run through a call activity of another process (no person and no
# part of the engine starts them on their own): a path test reaches them through a caller's
# scenario, as case_management.json reaches case_risk_rating, case_planning and case_closure.
# case_conference is called too, but the engine also starts it on its own (a review or
# emergency conference on an open case), so it needs scenarios of its own.
CALLED_ONLY = {
    "case_risk_rating": "the assessment and risk rating of case_management and case_reassessment",
    "case_planning": "the case plan of case_management and case_reassessment",
    "case_closure": "the closure of case_management and of case_inactive (an untraceable client)",
}


def test_the_stock_workflows_ship_scenarios_for_their_main_routes(stock_bundle):
    """Every process of the deployed bundle that people or the engine start has a stock
    scenario; one that is only called is covered through a caller that has one."""
    deployed = {**stock_bundle.view_only, **stock_bundle.processes}
    tested = {s.process for s in STOCK}
    assert tested <= set(deployed), f"scenarios of processes not deployed: {sorted(tested - set(deployed))}"
    untested = set(deployed) - set(CALLED_ONLY) - tested
    assert not untested, f"no scenario starts {sorted(untested)}: add one in workflows/tests/"
    for process, why in CALLED_ONLY.items():
        callers = {p for p, parsed in deployed.items() if process in parsed.subprocess_specs and p != process}
        assert callers, f"{process} ({why}) is no longer called: it needs a scenario of its own"
        assert callers & tested, f"{process} ({why}) is reached by no scenario of its callers {sorted(callers)}"
    processes = tested
    assert {"case_management", "bcp_cbf5", "sample_intake"} <= processes
    names = " ".join(s.name for s in STOCK)
    for route in ("low risk", "high risk", "medium risk", "closed", "resumed within T+24 hours", "escalates"):
        assert route in names, route


@pytest.mark.parametrize("scenario", STOCK, ids=[s.name for s in STOCK])
def test_every_stock_scenario_passes(stock_bundle, scenario):
    [result] = run(stock_bundle, scenario)
    assert result.passed, f"{result.file} step {result.failed_step}: {result.why}"


def sample(*steps: dict, **extra) -> scenarios.Scenario:
    [found] = scenarios.read_scenarios({"mine.json": json.dumps({"name": "mine", "process": "sample_intake",
                                                                 "steps": list(steps), **extra})})
    return found


def test_a_scenario_that_no_longer_holds_names_the_step_and_why(stock_bundle):
    [result] = run(stock_bundle, sample(
        {"complete": "record_needs", "data": {"red_needs": [], "yellow_needs": ["disability"]}},
        {"expect": {"decisions": {"rate_risk": {"risk_level": "high"}}}}))
    assert (result.passed, result.failed_step) == (False, 2)
    assert result.why == "decision at rate_risk: risk_level is 'medium', expected 'high'"
    [result] = run(stock_bundle, sample({"complete": "approve_plan", "data": {"vote": "approve"}}))
    assert result.failed_step == 1 and "no task approve_plan is ready (ready: record_needs)" in result.why
    [result] = run(stock_bundle, sample({"expect": {"due": {"record_needs": "PT48H"}}}))
    assert "record_needs is due after 1 day (P1D), expected 2 days (P2D)" in result.why


def test_a_draft_is_tested_before_it_is_deployed(stock_bundle):
    """The sample's low-risk route expects two weeks to act: a draft table that leaves
    low risk uncovered fails at deploy, one that changes the number fails the scenario."""
    files = spec_parsing.load_directory(WORKFLOWS)
    text = files["risk_timeframes.dmn"].decode()
    rule_id = low_rule(files["risk_timeframes.dmn"])
    low = text[text.index(f'id="{rule_id}"'):]
    draft = text.replace(low, low.replace(">336<", ">240<", 1), 1)
    assert draft != text
    bundle = spec_parsing.parse_bundle({**files, "risk_timeframes.dmn": draft})
    [low_route] = [s for s in STOCK if s.process == "sample_intake" and "low risk" in s.name]
    [result] = run(bundle, low_route)
    assert (result.passed, result.failed_step) == (False, 2) and "approve_plan is due after 10 days" in result.why


def test_service_tasks_answer_what_the_scenario_says_and_a_failing_diagram_is_said_in_words(stock_bundle):
    [result] = run(stock_bundle, scenarios.read_scenarios({"cm.json": json.dumps({
        "name": "no context", "process": "case_management", "start": {"reopened": False},
        "steps": [{"expect": {"tasks": ["screening"]}}]})})[0])
    assert result.failed_step == 0 and "the start failed" in result.why and "NameError" not in result.why


@pytest.mark.parametrize("content, word", [
    ("[1", "not a JSON scenario file"), ('{"steps": []}', "'process'"),
    ('{"process": "p", "steps": [{"complete": "a", "fire": "b"}]}', "step 1"),
    ('{"process": "p", "steps": [{"expect": {"colour": 1}}]}', "colour")])
def test_a_scenario_file_that_is_not_one_is_refused_naming_it(content, word):
    with pytest.raises(Invalid) as refused:
        scenarios.read_scenarios({"bad.json": content})
    assert "bad.json" in refused.value.message and word in refused.value.message


def test_only_process_owners_run_path_tests_and_a_named_one_runs_alone(ctx):
    with ctx.uow() as uow, pytest.raises(Forbidden):
        scenarios.run_for_owner(uow, ctx.runtime, user_id(ctx, "caseworker1"), {}, {}, stock=WORKFLOWS)
    with ctx.uow() as uow:
        [result] = scenarios.run_for_owner(uow, ctx.runtime, user_id(ctx, "processowner1"), {}, {},
                                           only=STOCK[0].name, stock=WORKFLOWS)
    assert result.passed and result.name == STOCK[0].name
