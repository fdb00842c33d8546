"""Dress a task form's JSON Schema for the form renderer (@json-editor/json-editor).

The schema the server validates against is never changed; the browser gets a copy with
display hints the renderer understands:

- a string whose ``oneOf`` lists ``const`` + ``title`` pairs becomes a select with those
  titles and an empty "choose" option, so nobody submits the first option by accident;
- an array of such strings becomes a list of checkboxes;
- a required yes/no question becomes a Yes/No select with no answer preselected (a
  safety question such as "immediate danger?" must be answered, not defaulted); an
  optional one a checkbox;
- long texts become text areas;
- read-only fields (the R33 header the system fills in: date, case code, status,
  caseworker, supervisor) are left out of the form and shown beside it instead.
"""
from __future__ import annotations

import copy

CHOOSE = "— choose —"
TEXTAREA_FROM_LENGTH = 200


def _titled_choices(schema: dict) -> tuple[list, list[str]] | None:
    options = schema.get("oneOf") or schema.get("anyOf")
    if not isinstance(options, list) or not options:
        return None
    if not all(isinstance(o, dict) and "const" in o for o in options):
        return None
    return [o["const"] for o in options], [str(o.get("title", o["const"])) for o in options]


def _dress(schema: dict, required: bool) -> dict:
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    options = dict(out.get("options") or {})
    kind = out.get("type")
    choices = _titled_choices(out)
    if choices and kind in ("string", "integer", "number"):
        values, titles = choices
        out.pop("oneOf", None)
        out.pop("anyOf", None)
        out["enum"] = values
        options["enum_titles"] = titles
    if out.get("enum") and kind in ("string", "integer", "number"):
        options.setdefault("has_placeholder_option", True)
        options.setdefault("placeholder_option_text", CHOOSE)
    elif kind == "boolean":
        if required:
            options["enum_titles"] = ["Yes", "No"]
            options.setdefault("has_placeholder_option", True)
            options.setdefault("placeholder_option_text", CHOOSE)
        else:
            out["format"] = "checkbox"
    elif kind == "array" and isinstance(out.get("items"), dict):
        items = _dress(out["items"], required=False)
        items.get("options", {}).pop("has_placeholder_option", None)
        out["items"] = items
        if items.get("enum"):
            out["uniqueItems"] = True
            out["format"] = "checkbox"
    elif kind == "string" and not out.get("enum") and not out.get("format"):
        if (out.get("maxLength") or 0) > TEXTAREA_FROM_LENGTH:
            out["format"] = "textarea"
    elif kind == "object" and isinstance(out.get("properties"), dict):
        needed = set(out.get("required") or [])
        out["properties"] = {name: _dress(sub, name in needed) for name, sub in out["properties"].items()
                             if not _read_only(sub)}
        if out.get("required"):
            out["required"] = [name for name in out["required"] if name in out["properties"]]
        for order, sub in enumerate(out["properties"].values(), start=1):
            if isinstance(sub, dict):  # keep the form author's order of questions
                sub["propertyOrder"] = order
        options.setdefault("disable_properties", True)
    if options:
        out["options"] = options
    return out


def _read_only(schema) -> bool:
    return isinstance(schema, dict) and bool(schema.get("readOnly") or schema.get("readonly"))


def read_only_fields(schema: dict | None) -> list[tuple[str, str]]:
    """(name, title) of the top-level fields the system fills in."""
    properties = (schema or {}).get("properties") or {}
    return [(name, sub.get("title") or name) for name, sub in properties.items() if _read_only(sub)]


def editor_schema(schema: dict | None) -> dict:
    """A display copy of ``schema`` for the browser's form renderer."""
    if not schema:
        return {"type": "object", "properties": {}}
    display = _dress(copy.deepcopy(schema), required=True)
    for shown_by_the_page in ("$schema", "$id", "title", "description"):
        display.pop(shown_by_the_page, None)
    return display
