"""Decision tables are complete over their inputs' domains (issue 14): declared input values,
or what the calling diagrams and forms can produce — other decisions' outputs, form enums
and booleans, literals scripts assign. A hole is refused at deploy naming the decision, the
input and an uncovered value; the check sweeps intervals, it does not sample combinations."""
from __future__ import annotations

import json

import pytest
from lxml import etree

from engine.bpmn import dmn_coverage, spec_parsing
from engine.bpmn.dmn_check import DecisionTable, TableInput, TableRule
from engine.bpmn.dmn_domains import Domain
from engine.bpmn.namespaces import DMN_NAMESPACES
from engine.errors import SpecInvalid
from engine.process import deployment
from tests.conftest import WORKFLOWS
from tests.engine.helpers import user_id
from tests.engine.spec_samples import REFERRAL, RISK, assert_problem, bundle, dmn_table, invalid, line_of, rule


def low_rule(dmn: bytes) -> str:
    """The id of the rule of risk_timeframes.dmn whose input entry is "low"."""
    return next(r.getparent().get("id") for r in etree.fromstring(dmn).iter()
                if etree.QName(r).localname == "inputEntry" and "".join(r.itertext()).strip() == '"low"')


def without_rule(dmn: bytes, rule_id: str) -> str:
    root = etree.fromstring(dmn)
    [found] = [r for r in root.iter() if etree.QName(r).localname == "rule" and r.get("id") == rule_id]
    found.getparent().remove(found)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def test_removing_the_low_rule_of_risk_timeframes_is_refused_naming_the_missing_value_R14():
    """The original incident: without its "low" rule the table deployed, and a low-risk
    assessment then failed with a NameError. risk_level can be low: the risk_level
    decision's outputs say so."""
    files = spec_parsing.load_directory(WORKFLOWS)
    files["risk_timeframes.dmn"] = without_rule(files["risk_timeframes.dmn"], low_rule(files["risk_timeframes.dmn"]))
    err = invalid(files)
    assert (err.file, err.element_id, err.status) == ("risk_timeframes.dmn", "risk_timeframes", 422)
    assert "Risk level='low'" in err.message and "an output of decision risk_level" in err.message


def test_the_refusal_reaches_a_process_owner_uploading_the_table_and_nothing_is_deployed(ctx):
    files = spec_parsing.load_directory(WORKFLOWS)
    broken = without_rule(files["risk_timeframes.dmn"], low_rule(files["risk_timeframes.dmn"])).encode()
    with ctx.uow() as uow, pytest.raises(SpecInvalid) as refused:
        deployment.deploy_upload(uow, user_id(ctx, "processowner1"), {"risk_timeframes.dmn": broken})
    assert "'low'" in refused.value.message
    with ctx.session_factory() as session:
        assert deployment.latest_model(session, "case_management").version == 1


def with_inputs(text: str, values: str) -> str:
    return text.replace("</inputExpression>", f"</inputExpression><inputValues><text>{values}</text></inputValues>")


def test_declared_input_values_are_the_domain_a_missing_one_is_named():
    strings = dmn_table(rule("a", '"red"') + rule("b", '"amber"'), inputs="""
      <input id="in_score" label="Score">
        <inputExpression id="ie_score" typeRef="string"><text>score</text></inputExpression>
      </input>""")
    err = invalid(bundle(risk_dmn=with_inputs(strings, '"red","amber","green"')))
    assert_problem(err, "risk.dmn", "risk", line_of(strings, 'id="risk_table"'), "Score='green'",
                   "declared input values")
    spec_parsing.parse_bundle(bundle(risk_dmn=with_inputs(strings, '"red", "amber"')))


def test_a_declared_interval_bounds_the_numbers_to_cover():
    text = dmn_table(rule("a", "&lt; 5") + rule("b", "? in range(6, 11)"))
    assert "Score=5" in invalid(bundle(risk_dmn=with_inputs(text, "[0..10]"))).message
    covered = dmn_table(rule("a", "&lt;= 5") + rule("b", "? in range(6, 11)"))
    spec_parsing.parse_bundle(bundle(risk_dmn=with_inputs(covered, "[0..10]")))  # nothing above 10 can come
    assert "Score=11" in invalid(bundle(risk_dmn=covered)).message  # without the declaration, 11 can


def test_declared_values_that_cannot_be_read_are_refused_naming_the_input():
    text = with_inputs(dmn_table(rule("a", "-")), "date and time(x)")
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "in_score", line_of(text, 'id="in_score"'), "not understood")


def test_a_form_field_choice_feeding_the_input_must_be_covered():
    """severity comes from the referral form's enum: 'critical' has no rule."""
    form = json.dumps({"type": "object", "properties": {
        "decision": {"type": "string"}, "severity": {"type": "string", "enum": ["low", "high", "critical"]}}})
    err = invalid(bundle(referral_json=form))
    assert_problem(err, "risk.dmn", "risk", line_of(RISK, 'id="risk_table"'), "Severity='critical'",
                   "form referral.json")
    covered = RISK.replace('<text>"high"</text></inputEntry>', '<text>? in ("high", "critical")</text></inputEntry>', 1)
    spec_parsing.parse_bundle(bundle(referral_json=form, risk_dmn=covered))


def test_a_literal_a_script_assigns_to_the_input_must_be_covered():
    scripted = REFERRAL.replace('<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="score"/>',
                                '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="pick"/>'
                                '<bpmn:scriptTask id="pick"><bpmn:script>severity = "urgent" if flagged '
                                'else "low"</bpmn:script></bpmn:scriptTask>'
                                '<bpmn:sequenceFlow id="f_pick" sourceRef="pick" targetRef="score"/>')
    err = invalid(bundle(referral_bpmn=scripted))
    assert "Severity='urgent'" in err.message and "set by a script of process referral" in err.message


def test_a_boolean_input_covers_both_values():
    flags = """
      <input id="in_score" label="Urgent">
        <inputExpression id="ie_score" typeRef="boolean"><text>urgent</text></inputExpression>
      </input>"""
    assert "Urgent=False" in invalid(bundle(risk_dmn=dmn_table(rule("a", "True"), inputs=flags))).message
    spec_parsing.parse_bundle(bundle(risk_dmn=dmn_table(rule("a", "True") + rule("b", "False"), inputs=flags)))


def test_cells_excluding_values_and_combining_tests_are_read_as_sets():
    text = dmn_table(rule("a", "? not in (1, 2) and ? &lt; 10") + rule("b", "? in (1, 2) or ? &gt;= 10"))
    spec_parsing.parse_bundle(bundle(risk_dmn=text))
    gappy = dmn_table(rule("a", "not (? &gt;= 3)") + rule("b", "? &gt; 3"))
    assert "Score=3" in invalid(bundle(risk_dmn=gappy)).message


def grid(rows: int, columns: int) -> DecisionTable:
    """rows x columns rules over an integer and a string input: complete, no overlap."""
    rules = tuple(TableRule(f"r{i}_{j}", None, (f"? in range({i * 10}, {i * 10 + 10})" if i < rows - 1
                                                else f">= {i * 10}", f'"v{j}"'), ("1",))
                  for i in range(rows) for j in range(columns))
    inputs = (TableInput("a", "A", "a_count", "integer", None, None),
              TableInput("b", "B", "b", "string", None, None))
    return DecisionTable("grid", "grid.dmn", 1, "UNIQUE", inputs, ("out",), rules)


def test_the_check_grows_with_the_rules_not_with_their_combinations():
    """A sweep per input: a table of four times the rules takes about four times the steps
    (sampling every combination of every input's values would take sixteen times)."""
    visits = []
    for rows in (10, 40):
        table = grid(rows, 10)
        search = dmn_coverage.Search(table, dmn_coverage.axes(table, {}), {}, True, True)
        search.run(0, (1 << len(table.rules)) - 1, ())
        assert search.problems == []
        visits.append(search.visits)
    assert visits[1] <= 5 * visits[0]


def test_a_gap_deep_in_a_large_table_is_found():
    table = grid(40, 10)
    holed = DecisionTable(table.id, table.file, table.line, table.hit_policy, table.inputs, table.output_names,
                          tuple(r for r in table.rules if r.id != "r17_3"))
    [gap] = dmn_coverage.analyse(holed, {1: Domain()})
    assert "A=170, B='v3'" in gap.message


def test_the_repository_tables_all_deploy():
    parsed = spec_parsing.parse_bundle(spec_parsing.load_directory(WORKFLOWS))
    assert {"risk_level", "risk_timeframes", "case_timeframes"} <= set(parsed.decisions)
    assert all(etree.QName(etree.fromstring(spec_parsing.load_directory(WORKFLOWS)[f])).namespace in DMN_NAMESPACES
               for f in parsed.decisions.values())


def slabs(per_input: int) -> DecisionTable:
    """Three whole-number inputs, each rule fixing one of them to one value (FIRST policy):
    A=B=C=per_input is matched by no rule, but finding that takes per_input**3 steps."""
    rules = []
    for axis in range(3):
        for value in range(per_input):
            cells: list[str | None] = [None, None, None]
            cells[axis] = f"? in range({value}, {value + 1})"
            rules.append(TableRule(f"s{axis}_{value}", None, tuple(cells), ("1",)))
    inputs = tuple(TableInput(x, x.upper(), f"{x}_count", "integer", None, None) for x in "abc")
    return DecisionTable("slabs", "slabs.dmn", 4, "FIRST", inputs, ("out",), tuple(rules))


def test_a_table_too_large_to_check_for_gaps_is_refused_not_passed_unchecked():
    assert dmn_coverage.MAX_VISITS < 70 ** 3
    [problem] = dmn_coverage.analyse(slabs(70), {})
    assert (problem.file, problem.element_id, problem.line) == ("slabs.dmn", "slabs", 4)
    assert "too large to be checked for gaps" in problem.message
    assert "Split it into smaller decisions" in problem.message
    [gap] = dmn_coverage.analyse(slabs(20), {})  # small enough: the hole is found
    assert "A=20, B=20, C=20" in gap.message
