"""Forms are untrusted too: their regular expressions run in RE2 (linear time) when a task is
completed, and deploy refuses patterns RE2 cannot read, forms nested too deep and forms too
large, each with a 422 naming the form file and the JSON path."""
from __future__ import annotations

import json
import time

import pytest

from engine.bpmn import forms, limits, spec_parsing
from engine.errors import Invalid
from tests.engine.spec_samples import assert_problem, bundle, invalid

EVIL = "^(a+)+$"  # exponential in a backtracking engine: 27 characters took 4.9 s


def schema_with(**code) -> dict:
    return {"type": "object", "properties": {"code": {"type": "string", **code}}, "additionalProperties": False}


def test_a_backtracking_pattern_is_checked_in_linear_time():
    started = time.monotonic()
    errors = forms.field_errors(schema_with(pattern=EVIL), {"code": "a" * 5000 + "!"})
    assert time.monotonic() - started < 2  # 27 characters took 4.9 s
    assert list(errors) == ["code"] and "does not match" in errors["code"][0]
    assert forms.field_errors(schema_with(pattern=EVIL), {"code": "aaaa"}) == {}


def test_pattern_properties_and_additional_properties_match_with_re2():
    schema = {"type": "object", "patternProperties": {EVIL: {"type": "integer"}}, "additionalProperties": False}
    started = time.monotonic()
    errors = forms.field_errors(schema, {"a" * 5000 + "!": 1, "aaa": "not a number"})
    assert time.monotonic() - started < 2
    assert errors == {"a" * 5000 + "!": ["is not a field of this form"], "aaa": ["Give a whole number."]}
    assert forms.field_errors(schema, {"aa": 3}) == {}


def test_property_names_and_the_regex_format_use_re2_too():
    names = {"type": "object", "propertyNames": {"pattern": EVIL}}
    assert forms.field_errors(names, {"a" * 5000 + "!": 1})  # refused, quickly
    regex = {"type": "object", "properties": {"rule": {"type": "string", "format": "regex"}}}
    assert forms.field_errors(regex, {"rule": "(a)\\1"}) == {"rule": ["This is not a pattern the form can check."]}
    assert forms.field_errors(regex, {"rule": "^[a-z]+$"}) == {}


def test_a_stored_form_whose_pattern_re2_cannot_read_refuses_the_value_instead_of_backtracking():
    with pytest.raises(Invalid) as caught:
        forms.validate(schema_with(pattern="^(a)\\1$"), {"code": "aa"})
    assert "cannot be checked" in caught.value.errors["code"][0]


# -- deploy -------------------------------------------------------------------------------
def _form(schema) -> str:
    return json.dumps(schema, indent=2)


@pytest.mark.parametrize("pattern, why", [("^(a)\\1$", "backreference"), ("^(?=a)", "lookahead"),
                                          ("(?<!a)b", "lookbehind")])
def test_a_pattern_re2_cannot_compile_is_refused_at_deploy_naming_the_form_and_its_path(pattern, why):
    err = invalid(bundle(referral_json=_form(schema_with(pattern=pattern))))
    assert_problem(err, "referral.json", "properties/code/pattern", None, "is not supported", "RE2")


def test_a_pattern_properties_key_re2_cannot_compile_is_refused_at_deploy():
    schema = {"type": "object", "properties": {"nested": {"type": "object",
                                                          "patternProperties": {"^(x)\\1": {"type": "string"}}}}}
    err = invalid(bundle(referral_json=_form(schema)))
    assert_problem(err, "referral.json", "properties/nested/patternProperties/^(x)\\1", None, "not supported")


def test_unevaluated_properties_beside_pattern_properties_is_refused_at_deploy():
    schema = {"type": "object", "patternProperties": {"^a": {}}, "unevaluatedProperties": False}
    err = invalid(bundle(referral_json=_form(schema)))
    assert_problem(err, "referral.json", "unevaluatedProperties", None, "beside patternProperties")


def test_a_form_nested_deeper_than_the_maximum_is_refused_at_deploy_naming_where():
    schema: dict = {"type": "string"}
    for _ in range(20):
        schema = {"type": "object", "properties": {"x": schema}}  # 40 levels of JSON
    err = invalid(bundle(referral_json=_form(schema)))
    assert_problem(err, "referral.json", "/".join(["properties", "x"] * 16), None, "deeper than the maximum of 32",
                   "MAX_FORM_DEPTH")


def test_a_form_nested_thousands_deep_is_refused_not_a_crash():
    text = '{"a": ' * 100_000 + "1" + "}" * 100_000
    with limits.overridden(max_form_kb=2048):
        err = invalid(bundle(referral_json=text))
    assert err.file == "referral.json" and err.status == 422


def test_a_form_larger_than_the_maximum_is_refused_at_deploy():
    schema = schema_with(description="x" * 300 * 1024)
    err = invalid(bundle(referral_json=_form(schema)))
    assert_problem(err, "referral.json", None, None, "larger than the maximum of 256 KB", "MAX_FORM_KB")
    with limits.overridden(max_form_kb=512):  # a setting
        assert "referral" in spec_parsing.parse_bundle(bundle(referral_json=_form(schema))).processes
