"""Small BPMN/DMN/form samples and helpers shared by the spec and DMN-check tests."""
from __future__ import annotations

import json

import pytest

from engine.bpmn import spec_parsing
from engine.errors import SpecInvalid

REFERRAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_referral" targetNamespace="http://example.org/bpmn">
  <bpmn:process id="referral" name="Referral" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_cw" name="caseworker"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_sup" name="supervisor"><bpmn:flowNodeRef>escalate</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="score"/>
    <bpmn:businessRuleTask id="score" name="Score risk">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>risk</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f_score" sourceRef="score" targetRef="review"/>
    <bpmn:userTask id="review" name="Review referral">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form" value="referral.json"/>
          <spiffworkflow:property name="due" value="PT24H"/>
          <spiffworkflow:property name="priority" value="risk"/>
          <spiffworkflow:property name="assign_to" value="assignee"/>
          <spiffworkflow:property name="title" value="Review the referral"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="review_timeout" attachedToRef="review">
      <bpmn:timerEventDefinition id="review_timer">
        <bpmn:timeDuration>"P7D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_timeout" sourceRef="review_timeout" targetRef="timed_out"/>
    <bpmn:endEvent id="timed_out"/>
    <bpmn:sequenceFlow id="f_review" sourceRef="review" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw" default="f_low"/>
    <bpmn:sequenceFlow id="f_high" sourceRef="gw" targetRef="escalate">
      <bpmn:conditionExpression>risk_level == "high"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_low" sourceRef="gw" targetRef="close"/>
    <bpmn:userTask id="escalate" name="Escalate">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form" value="referral.json"/>
          <spiffworkflow:property name="due" value="hours_left * 2"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f_escalate" sourceRef="escalate" targetRef="tell_family"/>
    <bpmn:callActivity id="tell_family" calledElement="notify"/>
    <bpmn:sequenceFlow id="f_told" sourceRef="tell_family" targetRef="end"/>
    <bpmn:scriptTask id="close">
      <bpmn:script>closed = True
summary = "closed at " + risk_level</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f_close" sourceRef="close" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

NOTIFY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_notify" targetNamespace="http://example.org/bpmn">
  <bpmn:process id="notify" name="Notify family" isExecutable="true">
    <bpmn:startEvent id="n_start"/>
    <bpmn:sequenceFlow id="n_f1" sourceRef="n_start" targetRef="n_note"/>
    <bpmn:scriptTask id="n_note"><bpmn:script>notified = True</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="n_f2" sourceRef="n_note" targetRef="n_end"/>
    <bpmn:endEvent id="n_end"/>
  </bpmn:process>
</bpmn:definitions>
"""

DMN_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_risk" name="Risk"
    namespace="http://example.org/dmn">
"""
RISK_DECISION = """  <decision id="risk" name="Risk level">
    <decisionTable id="risk_table"{policy}>
      <input id="in_count" label="Prior reports">
        <inputExpression id="ie_count" typeRef="integer"><text>prior_reports_count</text></inputExpression>
      </input>
      <input id="in_severity" label="Severity">
        <inputExpression id="ie_severity" typeRef="string"><text>severity</text></inputExpression>
      </input>
      <output id="out_level" name="risk_level" typeRef="string"/>
      <rule id="r_low">
        <inputEntry id="r_low_c"><text>&lt; 2</text></inputEntry>
        <inputEntry id="r_low_s"><text>"low"</text></inputEntry>
        <outputEntry id="r_low_o"><text>"low"</text></outputEntry>
      </rule>
      <rule id="r_medium">
        <inputEntry id="r_medium_c"><text>&lt; 2</text></inputEntry>
        <inputEntry id="r_medium_s"><text>"high"</text></inputEntry>
        <outputEntry id="r_medium_o"><text>"medium"</text></outputEntry>
      </rule>
      <rule id="r_high">
        <inputEntry id="r_high_c"><text>&gt;= 2</text></inputEntry>
        <inputEntry id="r_high_s"><text>-</text></inputEntry>
        <outputEntry id="r_high_o"><text>"high"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
"""
RISK = DMN_HEAD + RISK_DECISION.format(policy="") + "</definitions>\n"

FORM = json.dumps({"type": "object", "properties": {"decision": {"type": "string"}},
                   "required": ["decision"]}, indent=2)


def bundle(**changes) -> dict:
    files = {"referral.bpmn": REFERRAL, "notify.bpmn": NOTIFY.encode(), "risk.dmn": RISK,
             "referral.json": FORM}
    for name, text in changes.items():
        name = name.replace("_bpmn", ".bpmn").replace("_dmn", ".dmn").replace("_json", ".json")
        if text is None:
            files.pop(name)
        else:
            files[name] = text
    return files


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) >= 1, needle
    return text[:text.index(needle)].count("\n") + 1


def invalid(files) -> SpecInvalid:
    with pytest.raises(SpecInvalid) as info:
        spec_parsing.parse_bundle(files)
    return info.value


def assert_problem(err: SpecInvalid, file: str, element_id: str | None, line: int | None, *words):
    assert (err.file, err.element_id, err.line) == (file, element_id, line), err.errors
    for word in words:
        assert word in err.message, err.message
    assert err.status == 422 and file in err.errors
    assert err.details["file"] == file


def dmn_table(rules: str, policy: str = "", inputs: str | None = None) -> str:
    inputs = inputs or """
      <input id="in_score" label="Score">
        <inputExpression id="ie_score" typeRef="integer"><text>score</text></inputExpression>
      </input>"""
    return DMN_HEAD + f"""  <decision id="risk" name="Risk level">
    <decisionTable id="risk_table"{policy}>{inputs}
      <output id="out_level" name="risk_level" typeRef="string"/>
{rules}
    </decisionTable>
  </decision>
</definitions>
"""


def rule(rule_id: str, *cells: str, out: str = '"x"') -> str:
    entries = "".join(f'<inputEntry id="{rule_id}_{i}"><text>{c}</text></inputEntry>' for i, c in enumerate(cells))
    return f'      <rule id="{rule_id}">{entries}<outputEntry id="{rule_id}_o"><text>{out}</text></outputEntry></rule>'
