"""A need counts once, and the level the rating form suggests while the caseworker ticks
needs comes from the deployed ``risk_level`` table (R08-R10): through
``POST /api/decisions/risk_level/suggest`` and through the rating task itself."""
from __future__ import annotations

import pytest

from engine.errors import Invalid
from engine.models import ProcessInstance
from engine.process import deployment
from engine.settings import PROJECT_ROOT
from tests.workflows.case_driver import SQLITE_ONLY, CaseDriver

SUGGEST = "/api/decisions/risk_level/suggest"


def suggest(client, headers, red, yellow):
    return client.post(SUGGEST, json={"red_needs": red, "yellow_needs": yellow}, headers=headers)


def test_the_suggested_level_is_the_deployed_tables_R08_R09_R10(client, token_for):
    """R08: one red need, or more than three yellow → high; R09: one to three yellow →
    medium, exactly three flagged for judgement; R10: none → low."""
    headers = token_for("caseworker1")
    cases = [(["child_labour"], [], "high", False),
             ([], ["disability", "child_labour", "woman_at_risk", "separated_child"], "high", False),
             ([], ["disability", "child_labour", "woman_at_risk"], "medium", True),
             ([], ["disability"], "medium", False),
             ([], [], "low", False)]
    for red, yellow, level, judgement in cases:
        resp = suggest(client, headers, red, yellow)
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json() == {"risk_level": level, "needs_judgement": judgement}, (red, yellow)


def test_a_need_given_as_red_and_as_yellow_is_refused_R08(client, token_for):
    """A need counts once: given in both lists it is refused (422) naming both fields."""
    resp = suggest(client, token_for("caseworker1"), ["disability"], ["disability", "child_labour"])
    assert resp.status_code == 422
    body = resp.get_json()
    assert {"red_needs", "yellow_needs"} <= set(body["errors"]) and "disability" in body["message"]


@SQLITE_ONLY
def test_the_suggestion_refuses_bad_input_and_strangers(client, token_for):
    assert client.post(SUGGEST, json={"red_needs": [], "yellow_needs": []}).status_code == 401
    headers = token_for("caseworker1")
    for body in ({"red_needs": "child_labour", "yellow_needs": []}, {"red_needs": []},
                 {"red_needs": ["x" * 500], "yellow_needs": []}, {"red_needs": ["a"] * 1000, "yellow_needs": []}):
        assert client.post(SUGGEST, json=body, headers=headers).status_code == 422, body


@SQLITE_ONLY
def test_the_suggestion_follows_a_redeployed_table_R09(client, token_for, app):
    """R09 as data: a process owner makes exactly three yellow needs high; the suggestion
    follows the newly deployed table."""
    text = (PROJECT_ROOT / "workflows" / "dmn" / "risk_level.dmn").read_text()
    old = '<dmn:outputEntry id="rule_r09_three_out1"><dmn:text>"medium"</dmn:text></dmn:outputEntry>'
    assert old in text
    ctx = app.extensions["engine_ctx"]
    with ctx.uow() as uow:
        deployment.deploy_files(uow, {"risk_level.dmn": text.replace(old, old.replace('"medium"', '"high"'))})
        uow.commit()
    resp = suggest(client, token_for("caseworker1"), [], ["disability", "child_labour", "woman_at_risk"])
    assert resp.get_json()["risk_level"] == "high"


def test_the_rating_task_refuses_a_need_counted_twice_and_changes_nothing_R08(ctx):
    """R08: the initial assessment with a need both red and yellow is refused (422); the
    task stays open, the instance and the case are as before."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    task = d.task(code, "initial_assessment")
    with ctx.session_factory() as s:
        version = s.get(ProcessInstance, task.instance_id).version
    with pytest.raises(Invalid) as refused:
        d.complete("caseworker1", task, {"red_needs": ["child_labour"], "yellow_needs": ["child_labour"]})
    assert {"red_needs", "yellow_needs"} <= set(refused.value.errors)
    with ctx.session_factory() as s:
        assert s.get(ProcessInstance, task.instance_id).version == version
    assert d.case(code).risk_level is None and d.task(code, "initial_assessment").id == task.id
