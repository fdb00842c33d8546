"""Deploying process models through the API: validation (422 names file, element, line),
versioning, and the sandbox seen from a process owner's upload."""
from __future__ import annotations

import io

from tests.conftest import WORKFLOWS

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


def upload(client, headers, files: dict[str, str]):
    data = {"files": [(io.BytesIO(text.encode()), name) for name, text in files.items()]}
    return client.post("/api/process-models", data=data, headers=headers, content_type="multipart/form-data")


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


def test_script_failing_at_run_time_fails_its_step_cleanly(client, token_for):
    owner, cw = token_for("processowner1"), token_for("caseworker1")
    assert upload(client, owner, {"divide.bpmn": SCRIPT_FAILS_AT_RUN_TIME}).status_code == 201
    instance = client.post("/api/processes/divide_process/instances", json={}, headers=cw).get_json()
    [task] = [t for t in client.get("/api/tasks?scope=claimable", headers=cw).get_json()["tasks"]
              if t["instance_id"] == instance["id"]]
    resp = client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"contact_made": True}}, headers=cw)
    assert resp.status_code == 422 and resp.get_json()["error"] == "script_error"
    assert "divide" in resp.get_json()["message"].lower()
    still = client.get(f"/api/tasks/{task['id']}", headers=cw)
    assert still.status_code == 200 and still.get_json()["state"] == "ready"
    status = client.get(f"/api/processes/instances/{instance['id']}", headers=cw).get_json()
    assert "ZeroDivisionError" in status["error"]


def test_user_task_nobody_would_get_is_refused(client, token_for):
    laneless = SCRIPT_FAILS_AT_RUN_TIME.replace('<bpmn:flowNodeRef>ask</bpmn:flowNodeRef>', '')
    resp = upload(client, token_for("processowner1"), {"divide.bpmn": laneless})
    assert resp.status_code == 422 and resp.get_json()["element_id"] == "ask"


def test_only_process_owners_deploy(client, token_for):
    resp = upload(client, token_for("caseworker1"), {"sample_intake.bpmn": SAMPLE})
    assert resp.status_code == 403


def test_wrong_file_type_is_400(client, token_for):
    resp = upload(client, token_for("processowner1"), {"notes.txt": "hello"})
    assert resp.status_code == 400 and "notes.txt" in resp.get_json()["errors"]
    resp = client.post("/api/process-models", headers=token_for("processowner1"))
    assert resp.status_code == 400
