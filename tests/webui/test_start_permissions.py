"""Who may start which process through ``POST /api/processes/<id>/instances``: only the
roles a diagram names in its ``start_roles`` property; the processes the engine starts for
itself (with the case or crisis they belong to) never, whoever asks. Starting one with
someone else's ids used to overwrite the official crisis check of their case."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from engine.models import HumanTask, ProcessInstance
from engine.models.crisis import CrisisCaseNote
from tests.engine.crisis_support import add_case

DEMO_USERS = ("caseworker1", "caseworker2", "supervisor1", "director1", "committee1", "committee2", "processowner1",
              "crisislead1", "admin")
# what workflows/ deploys, and who its diagrams let start each process
STOCK_PROCESSES = ("bcp_cbf5", "bcp_crisis_check", "bcp_readiness_activity", "bcp_readiness_plan", "case_closure",
                   "case_conference", "case_follow_up", "case_inactive", "case_management", "case_planning",
                   "case_reassessment", "case_referral", "case_review", "case_risk_rating", "sample_intake",
                   # issue 12 procedures, started by the engine for their use cases (never through this API)
                   "case_handover", "case_handover_file", "complaint", "supervision_duty", "supervision_file_audit",
                   "supervision_plan",
                   "case_first_action", "case_aged_out",  # monitoring from the rating, ageing out (issue 12)
                   "bcp_function_resumption",  # a sub-function added to an active disruption (issue 17)
                   "case_file_release",  # a client sees their own file: POST /api/cases/<code>/file-requests (R51)
                   "case_consultation")  # an urgent consultation: the case file page's form, its caseworker (R49)
STARTERS = {"sample_intake": {"caseworker1", "caseworker2", "supervisor1", "director1", "processowner1"}}


def instance_count(app) -> int:
    with app.extensions["engine_ctx"].session_factory() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance))


def test_every_stock_process_starts_only_for_the_roles_its_diagram_names(app, client, token_for):
    models = client.get("/api/process-models", headers=token_for("processowner1")).get_json()["models"]
    assert sorted({m["process_id"] for m in models}) == sorted(STOCK_PROCESSES)
    outcomes = {}
    for process_id in STOCK_PROCESSES:
        for username in DEMO_USERS:
            resp = client.post(f"/api/processes/{process_id}/instances", json={"data": {}},
                               headers=token_for(username))
            outcomes[process_id, username] = resp.status_code
            if resp.status_code == 403:
                assert resp.get_json()["error"] == "forbidden"
    expected = {(p, u): 201 if u in STARTERS.get(p, ()) else 403 for p in STOCK_PROCESSES for u in DEMO_USERS}
    assert outcomes == expected
    assert instance_count(app) == len(STARTERS["sample_intake"])  # nothing else was started


def test_a_process_the_engine_starts_says_so_when_someone_tries(client, token_for):
    resp = client.post("/api/processes/case_follow_up/instances", json={"data": {"case_code": "CM-AAAA-BBBB"}},
                       headers=token_for("director1"))
    assert resp.status_code == 403
    assert "started by the engine" in resp.get_json()["message"]


def test_the_listing_shows_who_may_start_each_process(client, token_for):
    models = client.get("/api/process-models", headers=token_for("processowner1")).get_json()["models"]
    roles = {m["process_id"]: m["start_roles"] for m in models if m["latest"]}
    assert roles["sample_intake"] == ["caseworker", "supervisor", "director", "process_owner"]
    assert roles["bcp_crisis_check"] == [] and roles["case_management"] == []


def test_a_caseworker_cannot_start_a_crisis_check_on_another_caseworkers_case(app, client, token_for):
    """The original attack: caseworker2 starts bcp_crisis_check with caseworker1's case and
    themself as assignee. Refused, like the crisis API refuses them; nothing is written."""
    ctx = app.extensions["engine_ctx"]
    add_case(ctx, "CM-VICT-IM01", caseworker="caseworker1")
    before = instance_count(app)
    resp = client.post("/api/processes/bcp_crisis_check/instances", headers=token_for("caseworker2"), json={
        "data": {"crisis_id": 1, "case_code": "CM-VICT-IM01", "check_assignee": "caseworker2"}})
    assert resp.status_code == 403
    assert client.post("/api/crises", headers=token_for("caseworker2"), json={
        "kind": "it_failure", "description": "x", "affected_functions": ["5.1"]}).status_code == 403
    assert instance_count(app) == before
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(HumanTask)
                              .where(HumanTask.case_code == "CM-VICT-IM01")) == 0
        assert session.scalar(select(func.count()).select_from(CrisisCaseNote)) == 0


def test_a_caseworker_cannot_schedule_readiness_activities_through_the_back_door(app, client, token_for):
    cw = token_for("caseworker1")
    assert client.post("/api/crises/readiness", headers=cw).status_code == 403
    before = instance_count(app)
    for process_id in ("bcp_readiness_plan", "bcp_readiness_activity"):
        resp = client.post(f"/api/processes/{process_id}/instances", headers=cw,
                           json={"data": {"activity": "bcp_review", "every_days": 1}})
        assert resp.status_code == 403
    assert instance_count(app) == before


DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="owners_note" name="A note" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="start_roles" value="{roles}"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def upload(client, headers, text: str):
    data = {"files": [(io.BytesIO(text.encode()), "owners_note.bpmn")]}
    return client.post("/api/process-models", data=data, headers=headers, content_type="multipart/form-data")


def test_an_uploaded_diagram_is_startable_by_the_roles_it_names_and_a_change_is_a_new_version(client, token_for):
    owner = token_for("processowner1")
    assert upload(client, owner, DIAGRAM.format(roles="committee_member")).status_code == 201
    assert client.post("/api/processes/owners_note/instances", json={}, headers=token_for("committee1")) \
        .status_code == 201
    assert client.post("/api/processes/owners_note/instances", json={}, headers=token_for("caseworker1")) \
        .status_code == 403
    deployed = upload(client, owner, DIAGRAM.format(roles="caseworker, committee_member")).get_json()["deployed"]
    [result] = [r for r in deployed if r["process_id"] == "owners_note"]
    assert (result["version"], result["created"]) == (2, True)
    assert client.post("/api/processes/owners_note/instances", json={}, headers=token_for("caseworker1")) \
        .status_code == 201


@pytest.mark.parametrize("roles, complaint", [("caseworker social_worker", "'social_worker', which is not a role"),
                                              ("", "start_roles is empty")])
def test_start_roles_that_are_not_roles_are_refused_at_deploy_naming_file_element_and_line(client, token_for, roles,
                                                                                          complaint):
    resp = upload(client, token_for("processowner1"), DIAGRAM.format(roles=roles))
    assert resp.status_code == 422
    body = resp.get_json()
    [message] = body["errors"]["owners_note.bpmn"]
    assert complaint in message and "element owners_note" in message and "line 6" in message
