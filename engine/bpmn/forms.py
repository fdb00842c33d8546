"""Validate submitted task data against the task's JSON Schema (draft 2020-12)."""
from __future__ import annotations

import json
from functools import lru_cache

from jsonschema import Draft202012Validator, FormatChecker

from engine.errors import Invalid


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_text), format_checker=FormatChecker())


def field_errors(schema: dict, data) -> dict[str, list[str]]:
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
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for name in extra:
                errors.setdefault(".".join(path + [name]) or name, []).append("is not a field of this form")
            continue
        else:
            message = err.message
        errors.setdefault(".".join(path) or "data", []).append(message)
    return errors


def validate(schema: dict | None, data) -> None:
    """Raise ``Invalid`` (422) with per-field errors if ``data`` does not fit."""
    if not isinstance(data, dict):
        raise Invalid("the submitted data must be a JSON object", errors={"data": ["must be an object"]})
    if schema is None:
        return
    errors = field_errors(schema, data)
    if errors:
        raise Invalid("the form has errors", errors=errors)
