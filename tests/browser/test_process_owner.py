"""A process owner looks at the deployed models, uploads a broken, then a fixed, diagram,
and moves a case stranded on a broken version to its fix."""
from __future__ import annotations

import io
import re

from tests.browser.conftest import shot, sign_in

BROKEN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="home_visit_defs" targetNamespace="http://example.org/t">
  <bpmn:process id="home_visit" name="Home visit" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="plan_route" name="Plan the route">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="plan_route"/>
    <bpmn:sequenceFlow id="f2" sourceRef="plan_route" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="home_visit_diagram"><bpmndi:BPMNPlane id="home_visit_plane" bpmnElement="home_visit">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="plan_route_di" bpmnElement="plan_route"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="360" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118"/><di:waypoint x="360" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def test_process_owner_uploads_a_broken_diagram_and_sees_which_element_is_wrong(page, live_app, tmp_path):
    sign_in(page, "processowner1")
    page.get_by_role("link", name="Process models").click()
    page.get_by_role("heading", name="Deployed processes").wait_for()
    assert page.locator("table.models").get_by_text("sample_intake").is_visible()

    broken = tmp_path / "home_visit.bpmn"
    broken.write_text(BROKEN.format(script="import os"))
    page.get_by_label("Files (.bpmn, .dmn, .json forms)").set_input_files(str(broken))
    page.get_by_role("button", name="Validate and deploy").click()

    errors = page.locator("#upload-errors")
    errors.get_by_role("heading", name="The upload was refused — nothing was deployed").wait_for()
    problem = errors.locator("tr.problem").first
    assert problem.locator("td").nth(0).inner_text() == "home_visit.bpmn"
    assert problem.locator("code.element-id").inner_text() == "plan_route"
    assert "import" in problem.locator("td").nth(3).inner_text()
    # the uploaded diagram is drawn with the offending element marked
    page.locator(".diagram[data-rendered=true][data-marked='plan_route']").wait_for()
    assert page.locator("g.djs-element.highlight-error[data-element-id=plan_route]").count() == 1
    shot(page, "process_owner_broken_upload")

    fixed = tmp_path / "home_visit.bpmn"
    fixed.write_text(BROKEN.format(script='route = "planned"'))
    page.get_by_label("Files (.bpmn, .dmn, .json forms)").set_input_files(str(fixed))
    page.get_by_role("button", name="Validate and deploy").click()
    page.get_by_text("Deployed: home_visit version 1").wait_for()
    page.get_by_role("link", name="Home visit").click()
    page.locator(".diagram[data-kind=bpmn][data-rendered=true]").wait_for()
    assert page.locator("g.djs-element[data-element-id=plan_route]").count() == 1
    shot(page, "process_owner_model_version")


def test_a_decision_table_is_rendered_for_the_process_owner(page, live_app):
    sign_in(page, "processowner1")
    page.goto("/models")
    page.get_by_role("link", name="Sample intake (engine walking skeleton)").click()
    table = page.locator(".diagram.dmn[data-rendered=true]").first
    table.wait_for()
    assert "Hit policy" in table.inner_text()
    assert page.locator(".diagram[data-kind=bpmn][data-rendered=true]").count() >= 1


def test_only_process_owners_may_deploy(page, live_app):
    sign_in(page, "caseworker1")
    assert page.get_by_role("link", name="Process models").count() == 0
    response = page.goto("/models")
    assert response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()


HOME_VISIT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="visit_defs" targetNamespace="http://example.org/t">
  <bpmn:process id="home_visit" name="Home visit" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="start_roles" value="caseworker"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="visit_lanes"><bpmn:lane id="visit_lane" name="caseworker">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>visit</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>plan_route</bpmn:flowNodeRef><bpmn:flowNodeRef>report</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="visit" name="Visit the family">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="plan_route" name="Plan the route">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="report" name="Write the visit report">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="visit"/>
    <bpmn:sequenceFlow id="f2" sourceRef="visit" targetRef="plan_route"/>
    <bpmn:sequenceFlow id="f3" sourceRef="plan_route" targetRef="report"/>
    <bpmn:sequenceFlow id="f4" sourceRef="report" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="visit_diagram"><bpmndi:BPMNPlane id="visit_plane" bpmnElement="home_visit">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="visit_di" bpmnElement="visit"><dc:Bounds x="180" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="plan_route_di" bpmnElement="plan_route"><dc:Bounds x="320" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="report_di" bpmnElement="report"><dc:Bounds x="460" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="600" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="180" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="280" y="118"/><di:waypoint x="320" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3"><di:waypoint x="420" y="118"/><di:waypoint x="460" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f4_di" bpmnElement="f4"><di:waypoint x="560" y="118"/><di:waypoint x="600" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
BROKEN_ROUTE = 'route = "via " + home_adress'  # a typo no deploy can see: it fails when it runs
FIXED_ROUTE = 'route = "via " + home_address'


def test_a_case_stranded_on_a_broken_version_is_moved_to_the_fix_and_goes_on(page, live_app, tmp_path):
    """Issue 14: the version breaks a case; the process owner deploys the fix, tries the move
    on the broken version's page, moves it, and the case goes on on the fixed version."""
    owner, cw = live_app.api("processowner1"), live_app.api("caseworker1")
    upload = owner.post("/api/process-models", content_type="multipart/form-data",
                        data={"files": [(io.BytesIO(HOME_VISIT.format(script=BROKEN_ROUTE).encode()), "home_visit.bpmn")]})
    assert upload.status_code == 201, upload.get_json()
    [broken_id] = [r["model_id"] for r in upload.get_json()["deployed"] if r["process_id"] == "home_visit"]
    instance = cw.post("/api/processes/home_visit/instances", json={"data": {"home_address": "12 Elm Street"}})
    assert instance.status_code == 201, instance.get_json()
    instance_id = instance.get_json()["id"]

    def complete(task_name: str):
        [task] = [t for t in cw.get("/api/tasks?scope=claimable").get_json()["tasks"]
                  if t["instance_id"] == instance_id and t["name"] == task_name]
        return cw.post(f"/api/tasks/{task['id']}/complete", json={"data": {"done": True}})

    failed = complete("visit")  # the caseworker is told in words; the step stays for them to retry
    assert failed.status_code == 422 and "process owner has been told" in failed.get_json()["message"]

    sign_in(page, "processowner1")
    page.goto("/models")
    # the incidents page lists the failed step: its process version, element and instance
    page.get_by_role("link", name="Incidents: the steps that failed, open and resolved").click()
    incident = page.locator("#open tr.incident", has_text="plan_route")
    assert "Home visit" in incident.inner_text() and "version 1" in incident.inner_text()
    assert incident.get_by_role("link", name=f"instance {instance_id}").count() == 1
    shot(page, "process_owner_incidents")
    page.goto("/models")
    fixed = tmp_path / "home_visit.bpmn"
    fixed.write_text(HOME_VISIT.format(script=FIXED_ROUTE))
    page.get_by_label("Files (.bpmn, .dmn, .json forms)").set_input_files(str(fixed))
    page.get_by_role("button", name="Validate and deploy").click()
    page.get_by_text("Deployed: home_visit version 2").wait_for()

    page.goto(f"/models/{broken_id}")
    row = page.locator("table.instances tbody tr", has_text=f"instance {instance_id}")
    assert "running, a step failed" in row.inner_text() and "plan_route" in row.inner_text()
    target = page.get_by_label("Move to")
    assert target.input_value() == "2"  # the newest other version, not this broken one
    page.get_by_role("button", name="Dry run").click()
    result = page.locator("#migration-result")
    result.get_by_text("Dry run (nothing changed): 1 would move to version 2, 0 refused.").wait_for()
    verdict = result.locator(f"tr[data-instance='{instance_id}']")
    assert "can move" in verdict.inner_text() and "runs again" in verdict.inner_text()
    assert "visit: exists in the target" in verdict.inner_text()
    shot(page, "process_owner_migration_dry_run")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Move the instances").click()
    result.get_by_text("1 moved to version 2, 0 refused.").wait_for()
    shot(page, "process_owner_migration_moved")

    page.get_by_role("link", name=f"instance {instance_id}", exact=True).click()
    page.get_by_role("heading", name=f"Instance {instance_id}").wait_for()
    assert "version 2" in page.locator("h1").inner_text()
    assert complete("visit").status_code == 200  # the caseworker tries again: it runs on the fix
    page.reload()
    facts = page.locator("dl.facts").inner_text()
    assert re.search(r"State\s+running\s", facts) and "Write the visit report" in facts
    assert page.locator("#failure-heading").count() == 0
    page.locator(".diagram[data-kind=bpmn][data-rendered=true]").wait_for()
    shot(page, "process_owner_instance_goes_on")
    page.goto("/models/incidents")  # past the failed element: its incident is resolved
    assert page.locator("#open tr.incident").count() == 0
    assert page.locator("#resolved tr.incident", has_text="plan_route").count() == 1
