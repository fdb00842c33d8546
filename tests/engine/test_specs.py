"""engine.bpmn.spec_parsing and spec_validation: bundle validation (every 422 path names
file, element and line), content hashes, and spec (de)serialization that runs like the
parsed spec."""
from __future__ import annotations

import json
import time

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import script_engine, spec_parsing
from engine.errors import SpecInvalid
from tests.conftest import fixture_path
from tests.engine.spec_samples import FORM, NOTIFY, REFERRAL, RISK, assert_problem, bundle, invalid, line_of


# -- a valid bundle ----------------------------------------------------------------------
def test_valid_bundle_parses():
    parsed = spec_parsing.parse_bundle(bundle())
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
    assert spec_parsing.user_task_properties(review) == {
        "form": "referral.json", "due": "PT24H", "priority": "risk", "assign_to": "assignee",
        "title": "Review the referral"}
    assert spec_parsing.user_task_properties(referral.spec.task_specs["start"]) == {}


def _run(spec, subprocess_specs, count: int, severity: str) -> dict:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine.make_script_engine())
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
    parsed = spec_parsing.parse_bundle(bundle()).processes["referral"]
    text = spec_parsing.serialize_specs(parsed.spec, parsed.subprocess_specs)
    assert "r_medium" in text and "prior_reports_count" in text  # the DMN table travels with the spec
    spec, subprocess_specs = spec_parsing.restore_specs(text)
    assert sorted(subprocess_specs) == ["notify"]
    assert spec_parsing.restore_specs(spec_parsing.serialize_specs(spec, subprocess_specs))[0].name == "referral"
    assert spec_parsing.user_task_properties(spec.task_specs["review"]) == \
        spec_parsing.user_task_properties(parsed.spec.task_specs["review"])
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
        spec_parsing.restore_specs(json.dumps({"format": "other", "spec": {}, "subprocess_specs": {}}))


# -- content hashes ----------------------------------------------------------------------
def test_same_content_same_hash_and_a_changed_dmn_changes_it():
    first = spec_parsing.parse_bundle(bundle()).processes
    again = spec_parsing.parse_bundle(bundle(referral_bpmn=REFERRAL.encode())).processes
    assert first["referral"].content_hash == again["referral"].content_hash
    changed = spec_parsing.parse_bundle(bundle(risk_dmn=RISK.replace('"medium"', '"moderate"'))).processes
    assert changed["referral"].content_hash != first["referral"].content_hash
    assert changed["notify"].content_hash == first["notify"].content_hash  # it calls no DMN
    unrelated = spec_parsing.parse_bundle(bundle(extra_json='{"type": "string"}')).processes
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
        assert "root:" not in json.dumps({"message": err.message, "errors": err.errors, **err.details})


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


def test_a_constant_too_big_to_compute_is_refused_at_deploy_without_computing_it():
    """``3**(2*10**7)`` froze the whole process for seconds when it ran; it is refused at
    deploy, by its operands, before anything computes it."""
    script = "r = 3**(2*10**7)"
    broken = REFERRAL.replace("<bpmn:script>closed = True", f"<bpmn:script>{script}\nclosed = True")
    started = time.monotonic()
    err = invalid(bundle(referral_bpmn=broken))
    assert time.monotonic() - started < 2
    assert_problem(err, "referral.bpmn", "close", line_of(broken, script),
                   "exponents and shifts above 10000 are not allowed")


def test_bad_condition_expression():
    broken = REFERRAL.replace('risk_level == "high"', 'risk_level = "high"')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "f_high", line_of(broken, 'risk_level = "high"'), "conditionExpression")


def test_condition_with_a_dunder_is_refused():
    broken = REFERRAL.replace('risk_level == "high"', 'risk_level.__class__ is str')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "f_high", line_of(broken, "risk_level.__class__"), "__class__")


@pytest.mark.parametrize("timer, word", [
    ("2026-03-02T09:00:00", "not an ISO 8601 duration"), ("P999999999Y", "maximum"), ("in 7 days", "syntax error")])
def test_unparsable_timer(timer, word):
    broken = REFERRAL.replace('<bpmn:timeDuration>"P7D"', f"<bpmn:timeDuration>{timer}")
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "review_timer", line_of(broken, "<bpmn:timeDuration>"), word)


@pytest.mark.parametrize("timer", ["PT1H", '"PT1H"'])
def test_an_iso_timer_is_a_constant_quoted_or_not(timer):
    """Other modelers write ISO 8601 timer text as it is (issue 14): it waits an hour either way."""
    parsed = spec_parsing.parse_bundle(bundle(referral_bpmn=REFERRAL.replace('"P7D"', timer)))
    timer_spec = parsed.processes["referral"].spec.task_specs["review_timeout"]
    assert timer_spec.event_definition.expression == '"PT1H"'


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


def test_a_user_task_without_form_gets_the_generic_done_or_comment_form():
    formless = REFERRAL.replace('<spiffworkflow:property name="form" value="referral.json"/>\n'
                                '          <spiffworkflow:property name="due" value="hours_left * 2"/>',
                                '<spiffworkflow:property name="due" value="hours_left * 2"/>')
    referral = spec_parsing.parse_bundle(bundle(referral_bpmn=formless)).processes["referral"]
    assert spec_parsing.user_task_properties(referral.spec.task_specs["escalate"])["form"] == "done_or_comment.json"
    assert "done_or_comment.json" in referral.files


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
    spec_parsing.parse_bundle(bundle(referral_bpmn=REFERRAL.replace('value="PT24H"', f'value="{value}"')))


@pytest.mark.parametrize("old, new, word", [
    ('name="priority" value="risk"', 'name="priority" value="urgent"', "priority"),
    ('name="assign_to" value="assignee"', 'name="assign_to" value="the assignee"', "assign_to"),
    ('name="title" value="Review the referral"', 'name="colour" value="red"', "colour"),
])
def test_bad_task_properties(old, new, word):
    broken = REFERRAL.replace(old, new)
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "review", line_of(broken, new), word)


def test_an_announce_value_that_is_not_task_or_summary_is_refused_at_deploy_naming_file_element_and_line():
    broken = REFERRAL.replace('<spiffworkflow:property name="title" value="Review the referral"/>',
                              '<spiffworkflow:property name="title" value="Review the referral"/>\n'
                              '        <spiffworkflow:property name="announce" value="digest"/>')
    assert broken != REFERRAL
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "review", line_of(broken, 'name="announce"'), "announce", "'digest'",
                   "task", "summary")


@pytest.mark.parametrize("value", ["task", "summary"])
def test_an_announce_property_of_task_or_summary_deploys_and_reaches_the_task_spec(value):
    marked = REFERRAL.replace('<spiffworkflow:property name="title" value="Review the referral"/>',
                              '<spiffworkflow:property name="title" value="Review the referral"/>\n'
                              f'        <spiffworkflow:property name="announce" value="{value}"/>')
    assert marked != REFERRAL
    parsed = spec_parsing.parse_bundle(bundle(referral_bpmn=marked))
    review = parsed.processes["referral"].spec.task_specs["review"]
    assert spec_parsing.user_task_properties(review)["announce"] == value


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
    files = spec_parsing.load_directory(tmp_path)
    assert sorted(files) == ["notify.bpmn", "referral.bpmn", "referral.json", "risk.dmn"]
    assert files["risk.dmn"] == RISK.encode()
    assert sorted(spec_parsing.parse_bundle(files).processes) == ["notify", "referral"]
    (tmp_path / "dmn" / "referral.bpmn").write_text(REFERRAL)
    with pytest.raises(SpecInvalid) as info:
        spec_parsing.load_directory(tmp_path)
    assert info.value.file == "referral.bpmn"


def test_a_well_formed_iso_due_beyond_the_maximum_gets_no_hint_about_parentheses():
    """The hint about expressions starting with 'p' is for text that is no ISO duration."""
    broken = REFERRAL.replace('name="due" value="PT24H"', 'name="due" value="P99999Y"')
    err = invalid(bundle(referral_bpmn=broken))
    assert_problem(err, "referral.bpmn", "review", line_of(broken, 'name="due"'), "longer than the maximum")
    assert "parentheses" not in err.message


@pytest.mark.parametrize("fixture, element_id, words", [
    ("camunda7_java_service_task.bpmn", "print_letter",
     ["service task names no operation of this engine", "the Java class 'org.example.PrintLetterDelegate'"]),
    ("camunda8_order_payment.bpmn", "charge_card", ["names no operation", "job type 'payment-service'"]),
    ("camunda8_order_payment.bpmn", "Flow_big", ["'=amount > 1000'", "Camunda 8's expression language (FEEL), "
                                                 "not in Python", "rewrite it as a Python expression"]),
    ("camunda7_invoice_approval.bpmn", "Flow_yes", ["'${approved}'", "Camunda 7's expression language (JUEL)",
                                                    "rewrite it as a Python expression"]),
    ("spiff_refuses_complex_gateway.bpmn", "enough",
     ["this is a complex gateway ('Enough approvals?')", "does not support", "parallel gateways instead"]),
])
def test_what_another_modeler_wrote_that_cannot_run_is_said_in_words(fixture, element_id, words):
    """No "operation None", no Python syntax error for Camunda's languages, no SpiffWorkflow
    internals: the process owner reads what the element is and what to do."""
    files = {fixture: (fixture_path("fixtures", "other_modelers") / fixture).read_bytes()}
    [process] = spec_parsing.parse_bundle(files, view_only=True).view_only.values()
    [reason] = [r for r in process.reasons if r.element_id == element_id]
    for word in words:
        assert word in reason.message, reason.message
    for internal in ("None", "syntax error", "There is no support implemented"):
        assert internal not in reason.message
