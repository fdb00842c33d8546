"""A form's labelled choices (``oneOf`` of ``{"const": …, "title": …}``) are checked by comparing
the answer with each value offered, not by validating it against every choice: the answers
people get are the same as jsonschema's own ``oneOf`` gives, for every form the workflows hold."""
from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator, validators

from engine.bpmn import forms
from engine.settings import PROJECT_ROOT

FORMS = sorted((PROJECT_ROOT / "workflows" / "forms").glob("*.json"))


def _choices(schema: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], list[Any]]]:
    """(property path, offered values) of every labelled-choice list in ``schema``."""
    found = []
    if isinstance(schema, dict):
        branches = schema.get("oneOf")
        if isinstance(branches, list) and branches and all(isinstance(b, dict) and "const" in b for b in branches):
            found.append((path, [b["const"] for b in branches]))
        for name, sub in (schema.get("properties") or {}).items():
            found += _choices(sub, (*path, name))
        if isinstance(schema.get("items"), dict):
            found += _choices(schema["items"], (*path, "[]"))
    return found


def _without_enums(schema: Any) -> Any:
    """``schema`` with the ``enum`` beside each labelled-choice list dropped (the forms carry
    both, for the form renderer; a process owner may deploy the choices alone)."""
    if isinstance(schema, dict):
        return {k: _without_enums(v) for k, v in schema.items() if not (k == "enum" and "oneOf" in schema)}
    if isinstance(schema, list):
        return [_without_enums(v) for v in schema]
    return schema


def _answer(path: tuple[str, ...], value: Any) -> dict:
    """The smallest form data putting ``value`` at ``path`` (a list where the path says so)."""
    data: Any = value
    for step in reversed(path):
        data = [data] if step == "[]" else {step: data}
    return data


STOCK = validators.extend(Draft202012Validator, {  # the form validator with jsonschema's own oneOf
    **{k: v for k, v in forms.FormValidator.VALIDATORS.items() if k != "oneOf"},
    "oneOf": Draft202012Validator.VALIDATORS["oneOf"]})

CASES = [(form, path, offered) for form in FORMS
         for path, offered in _choices(json.loads(form.read_text(encoding="utf-8")))]


def test_the_forms_offer_labelled_choices_at_all():
    assert len(CASES) >= 10  # otherwise this file checks nothing


@pytest.mark.parametrize(("form", "path", "offered"), CASES,
                         ids=[f"{f.stem}:{'.'.join(p)}" for f, p, _ in CASES])
@pytest.mark.parametrize("enums", ["kept", "dropped"])
def test_an_answer_to_a_labelled_choice_gets_the_same_words_as_jsonschema_would_give(form, path, offered, enums):
    schema = json.loads(form.read_text(encoding="utf-8"))
    schema = schema if enums == "kept" else _without_enums(schema)
    stock = STOCK(json.loads(json.dumps(schema, sort_keys=True)), format_checker=forms._FORMATS)  # as forms keeps it
    answers = [offered[0], offered[-1], "not one of the answers", 7, True, None, {"x": 1}]
    for value in answers:
        data = _answer(path, value)
        assert forms.field_errors(schema, data) == forms._errors(stock, data), (form.name, path, value)
    field = ".".join("0" if step == "[]" else step for step in path)
    refused = forms.field_errors(schema, _answer(path, "not one of the answers"))
    assert "Choose one of the answers offered." in refused[field]  # in words, at the field
