"""engine.bpmn.dmn_check through engine.bpmn.spec_parsing: one decision per file, cells that lint clean,
and decision tables checked for gaps and overlaps."""
from __future__ import annotations

import pytest

from engine.bpmn import spec_parsing
from tests.engine.spec_samples import (
    DMN_HEAD,
    RISK,
    RISK_DECISION,
    assert_problem,
    bundle,
    dmn_table,
    invalid,
    line_of,
    rule,
)


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
    spec_parsing.parse_bundle(bundle(risk_dmn=counts))
    signed = dmn_table(rule("a", "&gt;= -5") + rule("b", "&lt; -5"))
    spec_parsing.parse_bundle(bundle(risk_dmn=signed))
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
    spec_parsing.parse_bundle(bundle(risk_dmn=overlapping))
    gappy = dmn_table(rule("a", "&lt; 1") + rule("b", "&gt; 5"), policy=' hitPolicy="COLLECT"')
    spec_parsing.parse_bundle(bundle(risk_dmn=gappy))
    err = invalid(bundle(risk_dmn=gappy.replace("COLLECT", "FIRST")))
    assert "gap" in err.message


def test_real_valued_inputs_are_sampled_between_constants():
    text = dmn_table(rule("a", "&lt;= 2") + rule("b", "&gt;= 3")).replace('typeRef="integer"', 'typeRef="double"')
    err = invalid(bundle(risk_dmn=text))
    assert "gap" in err.message and "Score=2.5" in err.message
    spec_parsing.parse_bundle(bundle(risk_dmn=text.replace('typeRef="double"', 'typeRef="integer"')))
    spec_parsing.parse_bundle(bundle(risk_dmn=text.replace('typeRef="double"', 'typeRef="number"')))  # all ints


def test_inputs_with_only_dashes_need_no_samples():
    two = """
      <input id="in_score" label="Score">
        <inputExpression id="ie_score" typeRef="integer"><text>score</text></inputExpression>
      </input>
      <input id="in_note" label="Note">
        <inputExpression id="ie_note" typeRef="string"><text>note</text></inputExpression>
      </input>"""
    complete = dmn_table(rule("a", "&lt; 3", "-") + rule("b", "&gt;= 3", "-"), inputs=two)
    spec_parsing.parse_bundle(bundle(risk_dmn=complete))
    text = dmn_table(rule("a", "&lt; 3", "-") + rule("b", "&gt;= 3", "-") + rule("c", "5", "-"), inputs=two)
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "c", line_of(text, '<rule id="c"'), "rules b and c", "Score=5")


def test_a_table_too_complex_to_check_for_gaps_is_refused_saying_which_cell_and_how_to_fix_it():
    """A table that cannot be checked must not deploy as if it had been: it might have a hole."""
    text = dmn_table(rule("a", "? &gt; threshold") + rule("b", "? &lt; len(limits)"))
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "a", line_of(text, '<rule id="a"'), "too complex to be checked for gaps",
                   "'threshold'", "comparison of the input with fixed values")


def test_dmn_cell_glued_onto_the_input_is_an_error():
    text = dmn_table(rule("a", "in (1, 2)") + rule("b", "not in (1, 2)"))
    err = invalid(bundle(risk_dmn=text))
    assert_problem(err, "risk.dmn", "a", line_of(text, 'id="a"'), "'?'", "scorein")
    spec_parsing.parse_bundle(bundle(risk_dmn=text.replace("<text>in", "<text>? in")
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
