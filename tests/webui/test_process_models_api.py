"""Deploying process models through the API: validation (422 names file, element, line),
versioning, and the sandbox seen from a process owner's upload; what process owners do with
versions (issue 14): view-only deploys, lane mappings, validation without deploying, the
start version, moving instances, path tests, incidents of failed steps, and diagrams from
other modelers."""
from __future__ import annotations

import io
import json

import pytest

from engine.process import deployment, instances
from tests.conftest import WORKFLOWS, fixture_path
from tests.webui.test_pages_support import sign_in

SAMPLE = (WORKFLOWS / "bpmn" / "sample_intake.bpmn").read_text()
COUNT_SCRIPT = "red_count = len(red_needs)\nyellow_count = len(yellow_needs)"

SCRIPT_FAILS_AT_RUN_TIME = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:collaboration id="c"><bpmn:participant id="p" processRef="divide_process"/></bpmn:collaboration>
  <bpmn:process id="divide_process" name="Divide" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="start_roles" value="caseworker"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="caseworker">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>ask</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>divide</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
    <bpmn:userTask id="ask" name="Ask">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="form" value="sample_follow_up.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="divide"/>
    <bpmn:scriptTask id="divide" name="Divide"><bpmn:script>ratio = 1 / 0</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="divide" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def upload(client, headers, files: dict[str, str], lane_roles: dict | str | None = None,
           path: str = "/api/process-models"):
    data: dict = {"files": [(io.BytesIO(text.encode()), name) for name, text in files.items()]}
    if lane_roles is not None:
        data["lane_roles"] = lane_roles if isinstance(lane_roles, str) else json.dumps(lane_roles)
    return client.post(path, data=data, headers=headers, content_type="multipart/form-data")


def deployed(resp, process_id: str) -> dict:
    [result] = [r for r in resp.get_json()["deployed"] if r["process_id"] == process_id]
    return result


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_unchanged_upload_makes_no_new_version(client, token_for):
    resp = upload(client, token_for("processowner1"), {"sample_intake.bpmn": SAMPLE})
    assert resp.status_code == 201
    [result] = [r for r in resp.get_json()["deployed"] if r["process_id"] == "sample_intake"]
    assert (result["version"], result["created"]) == (1, False)


def test_changed_upload_is_a_new_version_and_running_instances_keep_theirs(client, token_for):
    owner, cw = token_for("processowner1"), token_for("caseworker1")
    old = client.post("/api/processes/sample_intake/instances", json={}, headers=cw).get_json()
    changed = SAMPLE.replace("Record the specific needs (risk rating form)", "Record needs (v2)")
    resp = upload(client, owner, {"sample_intake.bpmn": changed})
    assert resp.status_code == 201
    [result] = [r for r in resp.get_json()["deployed"] if r["process_id"] == "sample_intake"]
    assert (result["version"], result["created"]) == (2, True)

    new = client.post("/api/processes/sample_intake/instances", json={}, headers=cw).get_json()
    assert (old["version"], new["version"]) == (1, 2)
    titles = {t["instance_id"]: t["title"] for t in
              client.get("/api/tasks?scope=claimable", headers=cw).get_json()["tasks"]}
    assert titles[old["id"]] == "Record the specific needs (risk rating form)"
    assert titles[new["id"]] == "Record needs (v2)"
    models = client.get("/api/process-models", headers=owner).get_json()["models"]
    versions = {(m["version"], m["running_instances"]) for m in models if m["process_id"] == "sample_intake"}
    assert versions == {(1, 1), (2, 1)}


def test_malformed_xml_is_422_with_file_and_line(client, token_for):
    broken = SAMPLE.replace("<bpmn:startEvent id=\"start\"", "<bpmn:startEvent id=\"start\" <", 1)
    resp = upload(client, token_for("processowner1"), {"sample_intake.bpmn": broken})
    body = resp.get_json()
    assert resp.status_code == 422 and body["error"] == "invalid_model"
    assert body["file"] == "sample_intake.bpmn" and body["line"] == line_of(broken, 'id="start" <')


def test_flow_to_missing_element_names_the_flow(client, token_for):
    broken = SAMPLE.replace('targetRef="record_needs"', 'targetRef="nowhere"', 1)
    body = upload(client, token_for("processowner1"), {"sample_intake.bpmn": broken}).get_json()
    assert body["file"] == "sample_intake.bpmn" and body["element_id"] == "flow_start_record"
    assert body["line"] == line_of(broken, 'targetRef="nowhere"')


def test_unknown_decision_is_422_naming_the_task(client, token_for):
    broken = SAMPLE.replace("<spiffworkflow:calledDecisionId>risk_level<", "<spiffworkflow:calledDecisionId>no_such<")
    resp = upload(client, token_for("processowner1"), {"sample_intake.bpmn": broken})
    assert resp.status_code == 422 and resp.get_json()["element_id"] == "rate_risk"


def test_script_syntax_error_is_422_at_its_line(client, token_for):
    broken = SAMPLE.replace(COUNT_SCRIPT, "red_count = len(red_needs\nyellow_count = 1")
    body = upload(client, token_for("processowner1"), {"sample_intake.bpmn": broken}).get_json()
    assert body["element_id"] == "count_needs" and body["file"] == "sample_intake.bpmn"
    assert body["line"] in (line_of(broken, "red_count = len(red_needs"), line_of(broken, "yellow_count = 1"))


def test_diagram_reading_a_file_is_refused_at_deploy_and_never_runs(client, token_for):
    owner = token_for("processowner1")
    for attack in ("secret = open('/etc/passwd').read()",
                   "os = __import__('os')",
                   "k = ().__class__.__bases__[0].__subclasses__()",
                   "s = '{0.__class__}'.format(1)",
                   "import os"):
        resp = upload(client, owner, {"sample_intake.bpmn": SAMPLE.replace(COUNT_SCRIPT, attack)})
        body = resp.get_json()
        assert resp.status_code == 422, attack
        assert body["element_id"] == "count_needs", (attack, body)
        assert "root:" not in resp.get_data(as_text=True)
    models = client.get("/api/process-models", headers=owner).get_json()["models"]
    assert [m["version"] for m in models if m["process_id"] == "sample_intake"] == [1]


def test_a_failing_step_tells_the_person_in_words_and_the_process_owner_through_an_incident(client, token_for):
    """Issue 14: no Python reaches the caseworker; the instance is marked failed at the
    element, and process owners (and admins) see the incident: element and what went wrong."""
    owner, cw, admin = token_for("processowner1"), token_for("caseworker1"), token_for("admin")
    assert upload(client, owner, {"divide.bpmn": SCRIPT_FAILS_AT_RUN_TIME}).status_code == 201
    instance = client.post("/api/processes/divide_process/instances", json={}, headers=cw).get_json()
    [task] = [t for t in client.get("/api/tasks?scope=claimable", headers=cw).get_json()["tasks"]
              if t["instance_id"] == instance["id"]]
    resp = client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"contact_made": True}}, headers=cw)
    body = resp.get_json()
    assert resp.status_code == 422 and body["error"] == "script_error"
    assert "could not be completed" in body["message"] and "process owner has been told" in body["message"]
    said = resp.get_data(as_text=True)
    assert not any(python in said for python in ("ZeroDivisionError", "Traceback", "divide", "element"))
    still = client.get(f"/api/tasks/{task['id']}", headers=cw)
    assert still.status_code == 200 and still.get_json()["state"] == "ready"  # they may try again
    status = client.get(f"/api/processes/instances/{instance['id']}", headers=cw).get_json()
    assert "divides by zero" in status["error"] and "ZeroDivisionError" not in status["error"]

    for who in (owner, admin):
        [incident] = [i for i in client.get("/api/incidents", headers=who).get_json()["incidents"]
                      if i["actor"] == "diagram_failure"]
        assert incident["args"]["instance_id"] == instance["id"] and incident["args"]["element_id"] == "divide"
        assert incident["error"] == "Divide (divide): it divides by zero" and incident["state"] == "open"
    assert client.get("/api/incidents", headers=cw).status_code == 403
    assert client.post(f"/api/incidents/{incident['id']}/retry", headers=admin).status_code == 409
    models = client.get("/api/process-models", headers=owner).get_json()["models"]
    [divide] = [m for m in models if m["process_id"] == "divide_process"]
    assert (divide["running_instances"], divide["failed_instances"]) == (1, 1)
    told = client.get("/api/notifications", headers=owner).get_json()["notifications"]
    assert any(n["kind"] == "step_failed" for n in told)


def test_a_user_task_nobody_would_get_deploys_view_only_and_cannot_be_started(client, token_for):
    owner, cw = token_for("processowner1"), token_for("caseworker1")
    laneless = SCRIPT_FAILS_AT_RUN_TIME.replace('<bpmn:flowNodeRef>ask</bpmn:flowNodeRef>', '')
    resp = upload(client, owner, {"divide.bpmn": laneless})
    assert resp.status_code == 201
    [result] = [r for r in resp.get_json()["deployed"] if r["process_id"] == "divide_process"]
    assert result["runnable"] is False
    assert [(r["element_id"], r["line"]) for r in result["reasons"]] == [("ask", line_of(laneless, 'id="ask"'))]
    [listed] = [m for m in client.get("/api/process-models", headers=owner).get_json()["models"]
                if m["process_id"] == "divide_process"]
    assert (listed["runnable"], listed["starts_new_instances"]) == (False, False)
    refused = client.post("/api/processes/divide_process/instances", json={}, headers=cw)
    assert refused.status_code == 422 and "not started" in refused.get_json()["message"]


def test_a_runnable_process_is_never_replaced_by_a_version_that_cannot_run(client, token_for):
    owner = token_for("processowner1")
    renamed = SAMPLE.replace('name="caseworker"', 'name="Intake worker"', 1)
    resp = upload(client, owner, {"sample_intake.bpmn": renamed})
    assert resp.status_code == 422 and "Intake worker" in resp.get_json()["message"]
    models = client.get("/api/process-models", headers=owner).get_json()["models"]
    assert [m["version"] for m in models if m["process_id"] == "sample_intake"] == [1]


def test_lanes_mapped_at_upload_make_another_modelers_diagram_runnable(client, token_for):
    owner, cw = token_for("processowner1"), token_for("caseworker1")
    approver = SCRIPT_FAILS_AT_RUN_TIME.replace('name="caseworker"', 'name="Approver"')
    assert deployed(upload(client, owner, {"divide.bpmn": approver}), "divide_process")["runnable"] is False
    resp = upload(client, owner, {"divide.bpmn": approver}, lane_roles={"Approver": "caseworker"})
    result = deployed(resp, "divide_process")
    assert (resp.status_code, result["runnable"], result["version"]) == (201, True, 2)
    started = client.post("/api/processes/divide_process/instances", json={}, headers=cw)
    assert started.status_code == 201 and started.get_json()["version"] == 2
    with client.application.extensions["engine_ctx"].session_factory() as session:
        [stored] = [f.content for f in deployment.model_files(session, result["model_id"])
                    if f.filename == "divide.bpmn"]
    assert 'name="Approver"' in stored and 'name="role" value="caseworker"' in stored  # the diagram says it
    bad = upload(client, owner, {"divide.bpmn": approver}, lane_roles={"Approver": "boss", "Nobody": "caseworker"})
    assert bad.status_code == 422 and "'boss' is not a role" in bad.get_json()["message"]
    malformed = upload(client, owner, {"divide.bpmn": approver}, lane_roles="[1, 2]")
    assert malformed.status_code == 400 and "lane_roles" in malformed.get_json()["errors"]


def test_a_default_role_mapped_at_upload_gives_the_tasks_in_no_lane_to_that_role(client, token_for):
    """Camunda's one-task diagram has no lanes: ``"*"`` offers its task to caseworkers."""
    owner, cw = token_for("processowner1"), token_for("caseworker1")
    text = fixture_path("fixtures", "other_modelers", "camunda7_simple_user_task.bpmn").read_text()
    assert deployed(upload(client, owner, {"simple.bpmn": text}), "simple_review")["runnable"] is False
    result = deployed(upload(client, owner, {"simple.bpmn": text}, lane_roles={"*": "caseworker"}), "simple_review")
    assert (result["runnable"], result["reasons"]) == (True, [])
    ctx = client.application.extensions["engine_ctx"]
    with ctx.uow() as work:
        instances.start_process(work, ctx.runtime, "simple_review", None, {})
        work.commit()
    offered = client.get("/api/tasks?scope=claimable", headers=cw).get_json()["tasks"]
    assert "review_it" in {t["name"] for t in offered}
    assert "review_it" not in {t["name"] for t in client.get("/api/tasks?scope=claimable",
                                                             headers=token_for("supervisor1")).get_json()["tasks"]}


def test_validate_reports_every_problem_without_deploying(client, token_for):
    owner = token_for("processowner1")
    broken = SAMPLE.replace(COUNT_SCRIPT, "red_count = len(red_needs\nyellow_count = 1")
    resp = upload(client, owner, {"sample_intake.bpmn": broken}, path="/api/process-models/validate")
    body = resp.get_json()
    assert resp.status_code == 200 and body["processes"] == []
    [problem] = body["problems"]
    assert (problem["file"], problem["element_id"]) == ("sample_intake.bpmn", "count_needs")
    changed = SAMPLE.replace("Record the specific needs (risk rating form)", "Record needs (v2)")
    body = upload(client, owner, {"sample_intake.bpmn": changed}, path="/api/process-models/validate").get_json()
    assert body["problems"] == [] and [(p["process_id"], p["runnable"], p["changed"], p["deployed_version"])
                                       for p in body["processes"]] == [("sample_intake", True, True, 1)]
    models = client.get("/api/process-models", headers=owner).get_json()["models"]
    assert [m["version"] for m in models if m["process_id"] == "sample_intake"] == [1]  # nothing deployed
    assert upload(client, token_for("caseworker1"), {"sample_intake.bpmn": SAMPLE},
                  path="/api/process-models/validate").status_code == 403


def test_new_instances_start_on_the_chosen_version(client, token_for):
    owner, cw = token_for("processowner1"), token_for("caseworker1")
    upload(client, owner, {"sample_intake.bpmn": SAMPLE.replace("Record the specific needs", "Record (v2)")})
    rolled = client.put("/api/process-models/sample_intake/start-version", json={"version": 1}, headers=owner)
    assert rolled.status_code == 200 and rolled.get_json()["starts_new_instances"] is True
    assert client.post("/api/processes/sample_intake/instances", json={}, headers=cw).get_json()["version"] == 1
    assert client.put("/api/process-models/sample_intake/start-version", json={"version": 1},
                      headers=cw).status_code == 403
    assert client.put("/api/process-models/sample_intake/start-version", json={"version": 9},
                      headers=owner).status_code == 404
    assert client.put("/api/process-models/sample_intake/start-version", json={"version": "one"},
                      headers=owner).status_code == 422


def test_migrations_move_instances_and_a_dry_run_changes_nothing(client, token_for):
    """CONTRACT: POST /api/process-models/<process_id>/migrations."""
    owner, cw = token_for("processowner1"), token_for("caseworker1")
    first = client.post("/api/processes/sample_intake/instances", json={}, headers=cw).get_json()
    upload(client, owner, {"sample_intake.bpmn": SAMPLE.replace("Record the specific needs", "Record (v2)")})
    url = "/api/process-models/sample_intake/migrations"
    dry = client.post(url, json={"to_version": 2, "dry_run": True}, headers=owner)
    body = dry.get_json()
    assert dry.status_code == 200 and (body["migrated"], body["refused"]) == ([first["id"]], [])
    [verdict] = body["instances"]
    assert verdict["waiting"] == [{"element_id": "record_needs", "name": "Record specific needs", "kind": "task",
                                   "in_target": True, "note": "changes in the target: title"}]
    assert client.get(f"/api/processes/instances/{first['id']}", headers=owner).get_json()["version"] == 1
    moved = client.post(url, json={"to_version": 2, "from_version": 1, "instance_ids": [first["id"], 12345],
                                   "dry_run": False}, headers=owner).get_json()
    assert moved["migrated"] == [first["id"]] and moved["refused"][0]["instance_id"] == 12345
    assert client.get(f"/api/processes/instances/{first['id']}", headers=owner).get_json()["version"] == 2
    [task] = [t for t in client.get("/api/tasks?scope=claimable", headers=cw).get_json()["tasks"]
              if t["instance_id"] == first["id"]]
    assert task["title"] == "Record (v2) (risk rating form)"
    assert client.post(url, json={"to_version": 2, "dry_run": False}, headers=cw).status_code == 403
    assert client.post(url, json={"dry_run": True}, headers=owner).status_code == 422
    assert client.post("/api/process-models/nothing_here/migrations", json={"to_version": 1, "dry_run": True},
                       headers=owner).status_code == 404


def test_path_tests_run_against_the_deployed_set_or_a_draft(client, token_for):
    owner = token_for("processowner1")
    stock = client.post("/api/process-models/scenarios", data={}, headers=owner,
                        content_type="multipart/form-data").get_json()
    assert stock["passed"] is True and len(stock["results"]) >= 7
    draft = SAMPLE.replace('value="PT24H"', 'value="PT12H"', 1)
    one = "sample intake: high risk, approved, followed up after an hour"
    data = {"files": [(io.BytesIO(draft.encode()), "sample_intake.bpmn")], "scenario": one}
    body = client.post("/api/process-models/scenarios", data=data, headers=owner,
                       content_type="multipart/form-data").get_json()
    [result] = body["results"]
    assert body["passed"] is False and (result["name"], result["failed_step"]) == (one, 1)
    assert "record_needs is due after 12 hours (PT12H), expected 1 day (P1D)" in result["why"]
    mine = json.dumps({"name": "mine", "process": "sample_intake", "steps": [{"expect": {"tasks": ["record_needs"]}}]})
    data = {"scenarios": [(io.BytesIO(mine.encode()), "mine.json")]}
    body = client.post("/api/process-models/scenarios", data=data, headers=owner,
                       content_type="multipart/form-data").get_json()
    assert [(r["name"], r["passed"]) for r in body["results"]] == [("mine", True)]


OTHER_MODELERS = fixture_path("fixtures", "other_modelers")
EXPECTED = json.loads((OTHER_MODELERS / "expected.json").read_text())["uploads"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_diagrams_from_other_modelers_deploy_runnable_or_view_only_or_are_refused_by_name(client, token_for):
    """Issue 14: never a 5xx; a refusal names the file, element and line."""
    owner, counts = token_for("processowner1"), {"runnable": 0, "view_only": 0, "refused": 0}
    for case in EXPECTED:
        name = case["file"]
        resp = upload(client, owner, {name: (OTHER_MODELERS / name).read_text()}, lane_roles=case.get("lanes"))
        body, said = resp.get_json(), resp.get_data(as_text=True)
        assert resp.status_code < 500, (name, said)
        counts[case["outcome"]] += 1
        if case["outcome"] == "refused":
            assert resp.status_code == 422 and body["file"] == name, (name, body)
            assert (body.get("element_id"), body.get("line")) == (case["element_id"], case["line"]), (name, body)
            words = body["message"]
        else:
            assert resp.status_code == 201, (name, body)
            mine = [r for r in body["deployed"] if r["created"] and name in
                    {f["filename"] for m in client.get("/api/process-models", headers=owner).get_json()["models"]
                     if m["id"] == r["model_id"] for f in m["files"]}]
            assert mine and all(r["runnable"] is (case["outcome"] == "runnable") for r in mine), (name, body)
            assert all(reason["file"] == name and reason["line"] for r in mine for reason in r["reasons"]), mine
            words = " ".join(reason["message"] for r in mine for reason in r["reasons"])
        for word in case.get("why", []):
            assert word in words, (name, word, words)
    assert counts == {"runnable": 10, "view_only": 14, "refused": 6}  # 30 uploads of 24 files


def test_only_process_owners_deploy(client, token_for):
    resp = upload(client, token_for("caseworker1"), {"sample_intake.bpmn": SAMPLE})
    assert resp.status_code == 403


def test_wrong_file_type_is_400(client, token_for):
    resp = upload(client, token_for("processowner1"), {"notes.txt": "hello"})
    assert resp.status_code == 400 and "notes.txt" in resp.get_json()["errors"]
    resp = client.post("/api/process-models", headers=token_for("processowner1"))
    assert resp.status_code == 400


def test_the_models_page_shows_failed_steps_and_view_only_versions(app, client, token_for):
    owner, cw = token_for("processowner1"), token_for("caseworker1")
    upload(client, owner, {"divide.bpmn": SCRIPT_FAILS_AT_RUN_TIME})
    upload(client, owner, {"sketch.bpmn": (OTHER_MODELERS / "bpmnio_not_executable.bpmn").read_text()})
    instance = client.post("/api/processes/divide_process/instances", json={}, headers=cw).get_json()
    [task] = [t for t in client.get("/api/tasks?scope=claimable", headers=cw).get_json()["tasks"]
              if t["instance_id"] == instance["id"]]
    client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"contact_made": True}}, headers=cw)
    page = sign_in(app, "processowner1")
    html = page.get("/models").get_data(as_text=True)
    failed = html.split('id="failed"')[1].split("</section>")[0]
    assert 'class="element-id">divide<' in failed and "Divide (divide): it divides by zero" in failed
    assert "view-only" in html and "marked not executable" in html
    [divide] = [m for m in client.get("/api/process-models", headers=owner).get_json()["models"]
                if m["process_id"] == "divide_process"]
    version = page.get(f"/models/{divide['id']}").get_data(as_text=True)
    assert "running, a step failed" in version and "it divides by zero" in version
