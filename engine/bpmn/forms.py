"""Validate submitted task data against the task's JSON Schema (draft 2020-12).

Forms are uploaded by process owners, so their regular expressions are untrusted: with
Python's backtracking engine ``"pattern": "^(a+)+$"`` took 4.9 s for 27 characters. Every
regex a form holds is evaluated with RE2 here (time linear in the input): the ``pattern``
and ``patternProperties`` keywords, the pattern side of ``additionalProperties``, and the
``regex`` format. Deploy refuses patterns RE2 cannot compile (``engine.bpmn.bundle_limits``);
a form stored before that rule whose pattern RE2 cannot read refuses every value, with a
message saying so, rather than fall back to the backtracking engine.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
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


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


FormValidator = validators.extend(Draft202012Validator, {
    "pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties})

_FORMATS = FormatChecker()


@_FORMATS.checks("regex", raises=re2.error)
def _is_regex(instance: object) -> bool:
    return not isinstance(instance, str) or re2.compile(instance, options=re2_options()) is not None


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Any:
    return FormValidator(json.loads(schema_text), format_checker=_FORMATS)


def field_errors(schema: dict[str, Any], data: object) -> dict[str, list[str]]:
    """{field path: [messages]} for every way ``data`` breaks ``schema``; empty if valid."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors: dict[str, list[str]] = {}
    for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = [str(p) for p in err.absolute_path]
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            path = path + [missing]
            message = "is required"
        elif err.validator == "additionalProperties":
            for name in _extras(err.instance, err.schema):
                errors.setdefault(".".join(path + [name]) or name, []).append("is not a field of this form")
            continue
        else:
            message = err.message
        errors.setdefault(".".join(path) or "data", []).append(message)
    return errors


def validate(schema: dict[str, Any] | None, data: object) -> None:
    """Raise ``Invalid`` (422) with per-field errors if ``data`` does not fit."""
    if not isinstance(data, dict):
        raise Invalid("the submitted data must be a JSON object", errors={"data": ["must be an object"]})
    if schema is None:
        return
    errors = field_errors(schema, data)
    if errors:
        raise Invalid("the form has errors", errors=errors)
