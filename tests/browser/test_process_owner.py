"""A process owner looks at the deployed models and uploads a broken, then a fixed, diagram."""
from __future__ import annotations

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
