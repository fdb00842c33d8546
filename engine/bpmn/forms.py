"""Validate submitted task data against the task's JSON Schema (draft 2020-12).

Forms are uploaded by process owners, so their regular expressions are untrusted: with
Python's backtracking engine ``"pattern": "^(a+)+$"`` took 4.9 s for 27 characters. Every
regex a form holds is evaluated with RE2 here (time linear in the input): the ``pattern``
and ``patternProperties`` keywords, the pattern side of ``additionalProperties``, and the
``regex`` format. Deploy refuses patterns RE2 cannot compile (``engine.bpmn.bundle_limits``);
a form stored before that rule whose pattern RE2 cannot read refuses every value, with a
message saying so, rather than fall back to the backtracking engine.

The errors are for the person filling in the form: each field's messages say in words what
to do ("Choose one of the answers.", "Keep this to 4,000 characters at most: it has 6,360.").
A form author may word them for a field with ``errorMessage`` (a text, or one per keyword:
``{"required": "Choose where the referral came from"}``).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema._utils import equal  # the equality of const and enum (1 is not True)
from jsonschema.exceptions import ValidationError

from engine.bpmn.bundle_limits import re2_options
from engine.errors import Invalid


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    """RE2's compiled pattern, or None when RE2 cannot read it."""
    try:
        return re2.compile(pattern, options=re2_options())
    except re2.error:
        return None


def _unreadable(pattern: str) -> ValidationError:
    return ValidationError(f"cannot be checked: the form's pattern {pattern!r} is not supported")


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    regex = _compiled(pattern)
    if regex is None:
        yield _unreadable(pattern)
    elif not regex.search(instance):
        yield ValidationError(f"{_shown(instance)} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any,
                        schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        regex = _compiled(pattern)
        if regex is None:
            yield _unreadable(pattern)
            continue
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, allowed: Any, instance: Any,
                           schema: dict[str, Any]) -> Iterator[ValidationError]:
    """As jsonschema's, with the patternProperties matched by RE2."""
    if not validator.is_type(instance, "object"):
        return
    extras = _extras(instance, schema)
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        if "patternProperties" in schema:
            patterns = ", ".join(repr(p) for p in sorted(schema["patternProperties"]))
            yield ValidationError(f"{', '.join(map(repr, extras))} do not match any of the regexes: {patterns}")
        else:
            yield ValidationError(f"Additional properties are not allowed ({', '.join(map(repr, extras))} "
                                  f"{'was' if len(extras) == 1 else 'were'} unexpected)")


def _extras(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """The keys of ``instance`` neither ``properties`` nor ``patternProperties`` name."""
    properties = schema.get("properties", {})
    regexes = [_compiled(p) for p in schema.get("patternProperties", {})]
    return sorted((key for key in instance if key not in properties
                   and not any(r is not None and r.search(key) for r in regexes)), key=str)


# what a labelled choice may hold beside its ``const`` (annotations, and the author's words)
_ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default", "deprecated", "readOnly",
                          "writeOnly", "errorMessage"})
_ONE_OF = Draft202012Validator.VALIDATORS["oneOf"]


def _one_of(validator: Any, branches: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    """As jsonschema's, but a list of labelled choices (``{"const": …, "title": …}`` each, the
    way forms offer answers) is checked by comparing the answer with each value, instead of
    validating it against every branch and building an error for each that does not match
    (most of a completion's form check). The same errors either way: none, or one ``oneOf``."""
    if not isinstance(branches, list) or not all(
            isinstance(b, dict) and "const" in b and b.keys() - _ANNOTATIONS == {"const"} for b in branches):
        yield from _ONE_OF(validator, branches, instance, schema)
        return
    matched = sum(1 for branch in branches if equal(instance, branch["const"]))
    if matched == 0:
        yield ValidationError(f"{instance!r} is not valid under any of the given schemas")
    elif matched > 1:
        yield ValidationError(f"{instance!r} is valid under more than one of the given schemas")


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


FormValidator = validators.extend(Draft202012Validator, {
    "pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties,
    "oneOf": _one_of})

_FORMATS = FormatChecker()


@_FORMATS.checks("regex", raises=re2.error)
def _is_regex(instance: object) -> bool:
    return not isinstance(instance, str) or re2.compile(instance, options=re2_options()) is not None


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Any:
    return FormValidator(json.loads(schema_text), format_checker=_FORMATS)


def field_errors(schema: dict[str, Any], data: object) -> dict[str, list[str]]:
    """{field path: [messages in words]} for every way ``data`` breaks ``schema``; empty if
    valid. Paths are dotted (``referrals.0.provider``); each field's messages are distinct."""
    return _errors(_validator(json.dumps(schema, sort_keys=True)), data)


def _errors(validator: Any, data: object) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(path: list[str], message: str) -> None:
        messages = errors.setdefault(".".join(path) or "data", [])
        if message not in messages:
            messages.append(message)

    for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = [str(p) for p in err.absolute_path]
        if err.validator == "required":
            for missing in _missing(err):
                field = (err.schema.get("properties") or {}).get(missing)
                add(path + [missing], _authored(field, "required") or _required_message(field))
        elif err.validator == "additionalProperties":
            for name in _extras(err.instance, err.schema):
                add(path + [name], "is not a field of this form")
        else:
            add(path, _authored(err.schema, str(err.validator)) or _message(err))
    return errors


def _missing(err: ValidationError) -> list[str]:
    """The required properties missing where ``err`` points (jsonschema reports each on its
    own; the same message for a field is kept once)."""
    present = err.instance if isinstance(err.instance, dict) else {}
    return [name for name in (err.validator_value or []) if isinstance(name, str) and name not in present]


def _authored(schema: object, keyword: str) -> str | None:
    """The form author's words for this field and keyword (``errorMessage``), if any."""
    if not isinstance(schema, dict):
        return None
    words = schema.get("errorMessage")
    if isinstance(words, dict):
        words = words.get(keyword)
    return words if isinstance(words, str) and words.strip() else None


def _is_choice(schema: dict) -> bool:
    return bool(schema.get("enum") or schema.get("oneOf") or schema.get("anyOf") or "const" in schema)


def _required_message(schema: object) -> str:
    if not isinstance(schema, dict):
        return "Answer this question."
    if schema.get("type") == "boolean":
        return "Choose yes or no."
    if _is_choice(schema):
        return "Choose one of the answers."
    if schema.get("type") == "array":
        return "Add at least one."
    return "Fill this in."


TYPE_WORDS = {"boolean": "Choose yes or no.", "integer": "Give a whole number.", "number": "Give a number.",
              "string": "Write this as text.", "array": "Choose from the list.", "object": "Fill in this part."}


def _message(err: ValidationError) -> str:
    keyword, limit, value = str(err.validator), err.validator_value, err.instance
    if keyword == "maxLength" and isinstance(value, str):
        return f"Keep this to {limit:,} characters at most: it has {len(value):,}."
    if keyword == "minLength":
        return "Fill this in." if limit == 1 else f"Write at least {limit:,} characters."
    if keyword == "type":
        expected = limit if isinstance(limit, str) else (limit or ["string"])[0]
        return TYPE_WORDS.get(expected, "This answer is not of the right kind.")
    if keyword in ("enum", "const", "oneOf", "anyOf"):
        return "Choose one of the answers offered."
    if keyword in ("minimum", "exclusiveMinimum"):
        return f"Give a number of at least {limit}." if keyword == "minimum" else f"Give a number above {limit}."
    if keyword in ("maximum", "exclusiveMaximum"):
        return f"Give a number of at most {limit}." if keyword == "maximum" else f"Give a number below {limit}."
    if keyword == "minItems":
        return "Choose at least one." if limit == 1 else f"Choose at least {limit}."
    if keyword == "maxItems":
        return f"Choose at most {limit}."
    if keyword == "uniqueItems":
        return "Give each answer only once."
    if keyword == "format":
        return {"date": "Give a date (year-month-day).", "date-time": "Give a date and a time.",
                "email": "Give an email address.", "regex": "This is not a pattern the form can check."
                }.get(str(limit), "This is not in the expected form.")
    if keyword == "pattern":
        return err.message if err.message.startswith("cannot be checked") else "This does not match the form " \
            "the answer must have."
    return "This answer is not accepted."


def validate(schema: dict[str, Any] | None, data: object) -> None:
    """Raise ``Invalid`` (422) with per-field errors if ``data`` does not fit."""
    if not isinstance(data, dict):
        raise Invalid("the submitted data must be a JSON object", errors={"data": ["must be an object"]})
    if schema is None:
        return
    errors = field_errors(schema, data)
    if errors:
        raise Invalid("the form has errors", errors=errors)


def validate_text(schema_text: str | None, data: object) -> None:
    """:func:`validate` with the schema as canonical JSON text (keys sorted, as
    ``deployment.form_schema_text`` gives it): no copy of the schema, no dump of it (a completion)."""
    if not isinstance(data, dict):
        raise Invalid("the submitted data must be a JSON object", errors={"data": ["must be an object"]})
    if schema_text is None:
        return
    errors = _errors(_validator(schema_text), data)
    if errors:
        raise Invalid("the form has errors", errors=errors)
