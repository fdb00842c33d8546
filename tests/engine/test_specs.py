"""engine.specs / engine.dmn_check: bundle validation (every 422 path names file, element
and line), content hashes, and spec (de)serialization that runs like the parsed spec."""
from __future__ import annotations

import json

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import scripting, specs
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
        specs.parse_bundle(files)
    return info.value


def assert_problem(err: SpecInvalid, file: str, element_id: str | None, line: int | None, *words):
    assert (err.file, err.element_id, err.line) == (file, element_id, line), err.errors
    for word in words:
        assert word in err.message, err.message
    assert err.status == 422 and file in err.errors
    assert err.to_dict()["file"] == file


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


# -- a valid bundle ----------------------------------------------------------------------
def test_valid_bundle_parses():
    parsed = specs.parse_bundle(bundle())
    assert sorted(parsed.processes) == ["notify", "referral"]
    assert parsed.decisions == {"risk": "risk.dmn"}
    referral = parsed.processes["referral"]
    assert referral.name == "Referral"
    assert sorted(referral.files) == ["notify.bpmn", "referral.bpmn", "referral.json", "risk.dmn"]
    assert referral.files["notify.bpmn"] == NOTIFY  # bytes come back as text
    assert sorted(referral.subprocess_specs) == ["notify"]
    assert sorted(parsed.processes["notify"].files) == ["notify.bpmn"]
    review = referral.spec.task_specs["review"]
    assert review.lane == "caseworker"
    assert specs.user_task_properties(review) == {
        "form": "referral.json", "due": "PT24H", "priority": "risk", "assign_to": "assignee",
        "title": "Review the referral"}
    assert specs.user_task_properties(referral.spec.task_specs["start"]) == {}


def _run(spec, subprocess_specs, count: int, severity: str) -> dict:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=scripting.make_script_engine())
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(prior_reports_count=count, severity=severity, hours_left=4)
    workflow.do_engine_steps()
    visited = []
    while not workflow.is_completed():
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert len(ready) == 1, [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)]
        visited.append((ready[0].task_spec.bpmn_id, ready[0].task_spec.lane))
        ready[0].data["decision"] = "ok"
        ready[0].run()
        workflow.do_engine_steps()
    data = dict(workflow.data)
    data.update(workflow.get_tasks(state=TaskState.COMPLETED)[-1].data)
    return {"visited": visited, "risk_level": data.get("risk_level"), "closed": data.get("closed"),
            "notified": data.get("notified"), "summary": data.get("summary")}


@pytest.mark.parametrize("count, severity, expected", [
    (0, "low", "low"), (1, "high", "medium"), (5, "low", "high")])
def test_restored_specs_run_like_the_parsed_ones(count, severity, expected):
    parsed = specs.parse_bundle(bundle()).processes["referral"]
    text = specs.serialize_specs(parsed.spec, parsed.subprocess_specs)
    assert "r_medium" in text and "prior_reports_count" in text  # the DMN table travels with the spec
    spec, subprocess_specs = specs.restore_specs(text)
    assert sorted(subprocess_specs) == ["notify"]
    assert specs.restore_specs(specs.serialize_specs(spec, subprocess_specs))[0].name == "referral"
    assert specs.user_task_properties(spec.task_specs["review"]) == \
        specs.user_task_properties(parsed.spec.task_specs["review"])
    fresh = _run(parsed.spec, parsed.subprocess_specs, count, severity)
    restored = _run(spec, subprocess_specs, count, severity)
    assert fresh == restored
    assert fresh["risk_level"] == expected
    if expected == "high":
        assert fresh["visited"] == [("review", "caseworker"), ("escalate", "supervisor")]
        assert fresh["notified"] is True
    else:
        assert fresh["visited"] == [("review", "caseworker")]
        assert fresh["closed"] is True and fresh["summary"] == f"closed at {expected}"


def test_restore_refuses_another_format():
    with pytest.raises(ValueError):
        specs.restore_specs(json.dumps({"format": "other", "spec": {}, "subprocess_specs": {}}))


# -- content hashes ----------------------------------------------------------------------
def test_same_content_same_hash_and_a_changed_dmn_changes_it():
    first = specs.parse_bundle(bundle()).processes
    again = specs.parse_bundle(bundle(referral_bpmn=REFERRAL.encode())).processes
    assert first["referral"].content_hash == again["referral"].content_hash
    changed = specs.parse_bundle(bundle(risk_dmn=RISK.replace('"medium"', '"moderate"'))).processes
    assert changed["referral"].content_hash != first["referral"].content_hash
    assert changed["notify"].content_hash == first["notify"].content_hash  # it calls no DMN
    unrelated = specs.parse_bundle(bundle(extra_json='{"type": "string"}')).processes
    assert unrelated["referral"].content_hash == first["referral"].content_hash


# -- 422: files and XML --------------------------------------------------------------------
def test_malformed_xml_names_the_line():
    broken = REFERRAL.replace('<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end">')
    err = invalid(bundle(referral_bpmn=broken))
    assert err.file == "referral.bpmn" and "malformed XML" in err.message
    assert err.line == line_of(broken, "</bpmn:process>")


@pytest.mark.parametrize("old, new", [
    ('value="Review the referral"', 'value="&x;"'),
    ("notified = True", "notified = '&x;'"),
])
def test_xxe_is_rejected_and_does_not_leak(old, new):
    doctype = '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    payload = NOTIFY.replace('<?xml version="1.0" encoding="UTF-8"?>', doctype).replace(old, new)
    referral = REFERRAL.replace('<?xml version="1.0" encoding="UTF-8"?>', doctype).replace(old, new)
    for name, text in (("notify.bpmn", payload), ("referral.bpmn", referral)):
        err = invalid(bundle(**{name: text}))
        assert err.file == name and ("DOCTYPE" in err.message or "entity" in err.message), err.message
        assert "root:" not in json.dumps(err.to_dict())


def test_undecodable_and_unknown_files():
    err = invalid(bundle(referral_json=b"\xff\xfe{}"))
    assert err.file == "referral.json" and "UTF-8" in err.message
    err = invalid(bundle(**{"notes.txt": "hello"}))
    assert err.file == "notes.txt"


# -- 422: BPMN ----------------------------------------------------------------------------
def test_flow_to_a_missing_element():
    broken = REFERRAL.replace('sourceRef="gw" targetRef="close"', 'sourceRef="gw" targetRef="nowhere"')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "f_low", line_of(broken, 'id="f_low"'), "nowhere")


def test_unknown_decision_id():
    broken = REFERRAL.replace(">risk</spiffworkflow:calledDecisionId>", ">riks</spiffworkflow:calledDecisionId>")
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "score", line_of(broken, 'id="score"'), "riks", "risk")


def test_script_syntax_error_names_the_script_line():
    broken = REFERRAL.replace('summary = "closed at " + risk_level', 'summary = ("closed at " + risk_level')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "close", line_of(broken, 'summary = ("closed'), "syntax error")


@pytest.mark.parametrize("script, word", [
    ("import os", "import"),
    ("data = open('/etc/passwd').read()", "open"),
    ("x = ().__class__.__bases__", "not allowed"),
    ("x = __builtins__", "__builtins__"),
])
def test_sandbox_violations_are_found_at_deploy(script, word):
    broken = REFERRAL.replace("<bpmn:script>closed = True", f"<bpmn:script>{script}\nclosed = True")
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "close", line_of(broken, script), word)


def test_bad_condition_expression():
    broken = REFERRAL.replace('risk_level == "high"', 'risk_level = "high"')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "f_high", line_of(broken, 'risk_level = "high"'), "conditionExpression")


def test_condition_with_a_dunder_is_refused():
    broken = REFERRAL.replace('risk_level == "high"', 'risk_level.__class__ is str')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "f_high", line_of(broken, "risk_level.__class__"), "__class__")


@pytest.mark.parametrize("timer, word", [
    ("2026-03-02T09:00:00", "quote"), ("PT1H", "quote"), ("in 7 days", "syntax error")])
def test_unquoted_or_unparsable_timer(timer, word):
    broken = REFERRAL.replace('<bpmn:timeDuration>"P7D"', f"<bpmn:timeDuration>{timer}")
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "review_timer", line_of(broken, "<bpmn:timeDuration>"), word)


def test_pre_and_post_scripts_are_linted():
    broken = REFERRAL.replace('<bpmn:businessRuleTask id="score" name="Score risk">\n      <bpmn:extensionElements>',
                              '<bpmn:businessRuleTask id="score" name="Score risk">\n      <bpmn:extensionElements>\n'
                              '        <spiffworkflow:preScript>import os</spiffworkflow:preScript>')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "score", line_of(broken, "<spiffworkflow:preScript>"), "preScript", "import")


def test_unknown_lane_role():
    broken = REFERRAL.replace('name="supervisor"', 'name="manager"')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "lane_sup", line_of(broken, 'id="lane_sup"'), "manager")


def test_user_task_without_form():
    broken = REFERRAL.replace('<spiffworkflow:property name="form" value="referral.json"/>\n'
                              '          <spiffworkflow:property name="due" value="hours_left * 2"/>',
                              '<spiffworkflow:property name="due" value="hours_left * 2"/>')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "escalate", line_of(broken, 'id="escalate"'), "form")


def test_form_file_missing_from_the_bundle():
    err = invalid(bundle(referral_json=None))
    assert_problem(err, "referral.bpmn", "review", line_of(REFERRAL, 'value="referral.json"'), "referral.json")
    assert len(err.errors["referral.bpmn"]) == 2  # both tasks name it


@pytest.mark.parametrize("form, element_id, line, word", [
    ('{"type": "object", "properties": {"age": {"type": "years"}}}', "properties/age/type", None, "JSON Schema"),
    ('{"type": "object",\n "properties": }', None, 2, "not JSON"),
])
def test_invalid_form_file(form, element_id, line, word):
    err = invalid(bundle(referral_json=form))
    assert_problem(err, "referral.json", element_id, line, word)


@pytest.mark.parametrize("due, word", [
    ("P1X", "ISO 8601"), ("PT", "ISO 8601"), ("pending_hours", "parentheses"),
    ("hours_left *", "syntax error"), ("__import__('os')", "__import__"), ("", "empty")])
def test_bad_due(due, word):
    broken = REFERRAL.replace('name="due" value="PT24H"', f'name="due" value="{due}"')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "review", line_of(broken, 'name="due"'), word)


@pytest.mark.parametrize("due", ["P7D", "PT24H", "p2w", "P1DT12H", "48", "(pending_hours)", '"P3D"',
                                 "hours_left * 2 if hours_left else 'P1D'"])
def test_good_due(due):
    value = due.replace('"', "&quot;")
    specs.parse_bundle(bundle(referral_bpmn=REFERRAL.replace('value="PT24H"', f'value="{value}"')))


@pytest.mark.parametrize("old, new, word", [
    ('name="priority" value="risk"', 'name="priority" value="urgent"', "priority"),
    ('name="assign_to" value="assignee"', 'name="assign_to" value="the assignee"', "assign_to"),
    ('name="title" value="Review the referral"', 'name="colour" value="red"', "colour"),
])
def test_bad_task_properties(old, new, word):
    broken = REFERRAL.replace(old, new)
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "review", line_of(broken, new), word)


def test_call_activity_to_an_unknown_process():
    err = invalid(bundle(notify_bpmn=None))
    assert_problem(err, "referral.bpmn", "tell_family", line_of(REFERRAL, 'id="tell_family"'), "notify")


def test_spiff_structural_errors_carry_file_element_and_line():
    broken = NOTIFY.replace('<bpmn:startEvent id="n_start"/>', "").replace(
        '<bpmn:sequenceFlow id="n_f1" sourceRef="n_start" targetRef="n_note"/>', "")
    err = invalid(bundle(notify_bpmn=broken))
    assert_problem(err, "notify.bpmn", "notify", line_of(broken, 'id="notify"'), "start event")


def test_every_problem_is_collected_by_file():
    err = invalid(bundle(referral_bpmn=REFERRAL.replace('name="supervisor"', 'name="boss"')
                         .replace("closed = True", "import os"),
                         risk_dmn=RISK.replace('"medium"', '"medium'),
                         referral_json="[1"))
    assert sorted(err.errors) == ["referral.bpmn", "referral.json", "risk.dmn"]
    assert len(err.errors["referral.bpmn"]) == 2
    assert err.file == "referral.json"  # forms are checked first
    assert len(err.problems) == 4


# -- 422: DMN ----------------------------------------------------------------------------
def test_two_decisions_in_one_dmn_file():
    second = RISK_DECISION.format(policy="").replace('id="', 'id="b_').replace('name="Risk level"', 'name="B"')
    text = DMN_HEAD + RISK_DECISION.format(policy="") + second + "</definitions>\n"
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "b_risk", line_of(text, 'id="b_risk"'), "one decision")


def test_decision_defined_twice():
    err = invalid(bundle(other_dmn=RISK))
    assert err.file == "risk.dmn" and err.element_id == "risk" and "other.dmn" in err.message


def test_dmn_gap_names_the_decision_and_a_sample():
    text = RISK.replace("<text>&gt;= 2</text>", "<text>&gt; 2</text>")
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "risk", line_of(text, 'id="risk_table"'), "gap", "Prior reports=2")


def test_dmn_gap_with_ranges_and_negative_counts():
    text = dmn_table("\n".join([rule("a", "? in range(0, 3)"), rule("b", "&gt;= 4")]))
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "risk", line_of(text, 'id="risk_table"'), "gap", "Score=3")
    counts = dmn_table(rule("a", "&lt; 1") + rule("b", "&gt;= 1"))  # never negative: no gap below 0
    specs.parse_bundle(bundle(risk_dmn=counts))
    signed = dmn_table(rule("a", "&gt;= -5") + rule("b", "&lt; -5"))
    specs.parse_bundle(bundle(risk_dmn=signed))
    signed = dmn_table(rule("a", "&gt;= -5") + rule("b", "&lt; -6"))
    assert "Score=-6" in invalid(bundle(risk_dmn=signed)).message


def test_unique_table_with_an_overlap():
    text = RISK.replace("<text>&gt;= 2</text>", "<text>&gt;= 1</text>")
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "r_high", line_of(text, 'id="r_high"'), "r_medium", "r_high", "UNIQUE",
                   "Prior reports=1")


def test_first_hit_policy_allows_overlaps_and_collect_allows_gaps():
    overlapping = DMN_HEAD + RISK_DECISION.format(policy=' hitPolicy="FIRST"').replace(
        "<text>&gt;= 2</text>", "<text>&gt;= 1</text>") + "</definitions>\n"
    specs.parse_bundle(bundle(risk_dmn=overlapping))
    gappy = dmn_table(rule("a", "&lt; 1") + rule("b", "&gt; 5"), policy=' hitPolicy="COLLECT"')
    specs.parse_bundle(bundle(risk_dmn=gappy))
    err = invalid(bundle(risk_dmn=gappy.replace("COLLECT", "FIRST")))
    assert "gap" in err.message


def test_real_valued_inputs_are_sampled_between_constants():
    text = dmn_table(rule("a", "&lt;= 2") + rule("b", "&gt;= 3")).replace('typeRef="integer"', 'typeRef="double"')
    err = invalid(bundle(risk_dmn=text))
    assert "gap" in err.message and "Score=2.5" in err.message
    specs.parse_bundle(bundle(risk_dmn=text.replace('typeRef="double"', 'typeRef="integer"')))
    specs.parse_bundle(bundle(risk_dmn=text.replace('typeRef="double"', 'typeRef="number"')))  # all ints


def test_inputs_with_only_dashes_need_no_samples():
    two = """
      <input id="in_score" label="Score">
        <inputExpression id="ie_score" typeRef="integer"><text>score</text></inputExpression>
      </input>
      <input id="in_note" label="Note">
        <inputExpression id="ie_note" typeRef="string"><text>note</text></inputExpression>
      </input>"""
    specs.parse_bundle(bundle(risk_dmn=dmn_table(rule("a", "&lt; 3", "-") + rule("b", "&gt;= 3", "-"), inputs=two)))
    text = dmn_table(rule("a", "&lt; 3", "-") + rule("b", "&gt;= 3", "-") + rule("c", "5", "-"), inputs=two)
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "c", line_of(text, '<rule id="c"'), "rules b and c", "Score=5")


def test_too_complex_tables_skip_the_gap_check():
    text = dmn_table(rule("a", "? &gt; threshold") + rule("b", "? &lt; len(limits)"))
    specs.parse_bundle(bundle(risk_dmn=text))


def test_dmn_cell_glued_onto_the_input_is_an_error():
    text = dmn_table(rule("a", "in (1, 2)") + rule("b", "not in (1, 2)"))
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "a", line_of(text, 'id="a"'), "'?'", "scorein")
    specs.parse_bundle(bundle(risk_dmn=text.replace("<text>in", "<text>? in")
                              .replace("<text>not in", "<text>? not in")))


@pytest.mark.parametrize("cell, word", [
    ("'a', 'b'", "tuple"), (" ", "blank"), ("&gt;= ", "syntax error"),
    ("__import__('os').system('id')", "__import__")])
def test_bad_dmn_input_entries(cell, word):
    text = dmn_table(rule("a", cell) + rule("b", "-"), policy=' hitPolicy="FIRST"')
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "a", line_of(text, 'id="a"'), word)


def test_bad_dmn_output_entry_and_input_expression():
    text = RISK.replace('<text>"medium"</text>', "<text>open('x')</text>")
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "r_medium", line_of(text, "open('x')"), "output entry", "open")
    text = RISK.replace("<text>severity</text>", "<text>severity.__class__</text>")
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "in_severity", line_of(text, "severity.__class__"), "__class__")


def test_malformed_dmn_names_the_line():
    text = RISK.replace('<rule id="r_medium">', '<rule id="r_medium">\n<oops>')
    err = invalid(bundle(risk_dmn=text))
    assert err.file == "risk.dmn" and err.line is not None and "malformed XML" in err.message


# -- files on disk ------------------------------------------------------------------------
def test_load_directory(tmp_path):
    (tmp_path / "bpmn" / "sub").mkdir(parents=True)
    (tmp_path / "dmn").mkdir()
    (tmp_path / "forms").mkdir()
    (tmp_path / "bpmn" / "referral.bpmn").write_text(REFERRAL)
    (tmp_path / "bpmn" / "sub" / "notify.bpmn").write_text(NOTIFY)
    (tmp_path / "dmn" / "risk.dmn").write_text(RISK)
    (tmp_path / "forms" / "referral.json").write_text(FORM)
    (tmp_path / "forms" / "README.md").write_text("ignored")
    files = specs.load_directory(tmp_path)
    assert sorted(files) == ["notify.bpmn", "referral.bpmn", "referral.json", "risk.dmn"]
    assert files["risk.dmn"] == RISK.encode()
    assert sorted(specs.parse_bundle(files).processes) == ["notify", "referral"]
    (tmp_path / "dmn" / "referral.bpmn").write_text(REFERRAL)
    with pytest.raises(SpecInvalid) as info:
        specs.load_directory(tmp_path)
    assert info.value.file == "referral.bpmn"
