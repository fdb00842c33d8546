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
import re

from flask_babel import gettext as _

from webui.i18n import format_number
from webui.stored_words import stored

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
        options.setdefault("placeholder_option_text", _("— choose —"))
    elif kind == "boolean":
        if required:
            options["enum_titles"] = [_("Yes"), _("No")]  # the page's words; the form's own: workflow_catalogues
            options.setdefault("has_placeholder_option", True)
            options.setdefault("placeholder_option_text", _("— choose —"))
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


def field_label(schema: dict | None, path: str) -> str:
    """Words for a field of ``schema`` at a dotted ``path`` of the errors:
    ``referrals.0.consent_to_share`` → "Referral 1: Consent to share information"; a path
    that names no question ("data", "form") → "The form"."""
    node: object = schema or {}
    words: list[str] = []
    for part in path.split("."):
        if not isinstance(node, dict):
            return ": ".join(words) or "The form"
        if part.isdigit() and node.get("type") == "array":
            item = node.get("items") if isinstance(node.get("items"), dict) else {}
            whole = words.pop() if words else "Item"
            words.append(f"{(item or {}).get('title') or whole} {int(part) + 1}")
            node = item
            continue
        sub = (node.get("properties") or {}).get(part)
        if not isinstance(sub, dict):
            return ": ".join(words) or "The form"
        words.append(str(sub.get("title") or part.replace("_", " ").capitalize()))
        node = sub
    return ": ".join(words) or "The form"


def ordered_errors(schema: dict | None, errors: dict[str, list[str]]) -> list[tuple[str, str, list[str]]]:
    """(path, label, messages) for each field with errors, in the order the form asks them."""
    order = {name: index for index, name in enumerate(((schema or {}).get("properties") or {}).keys())}

    def key(path: str) -> tuple:
        parts = path.split(".")
        return (order.get(parts[0], len(order)),) + tuple(int(p) if p.isdigit() else 0 for p in parts[1:2]) + (path,)

    return [(path, field_label(schema, path), [as_sentence(stored(m)) for m in messages])
            for path, messages in sorted(errors.items(), key=lambda item: key(item[0]))]


def as_sentence(message: str) -> str:
    """"required when the risk level changes" → "Required when the risk level changes."."""
    text = str(message).strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


_ENGINE_WORDS = (  # the engine's short messages on a page's fields, in words for people
    (re.compile(r"^must be text$"), lambda m: _("Write this as text.")),
    (re.compile(r"^is longer than (\d+) characters$"),
     lambda m: _("Keep this to %(count)s characters at most.", count=format_number(int(m.group(1))))),
    (re.compile(r"^must be a date.*$"), lambda m: _("Give a date (day, month and year).")),
    (re.compile(r"^is in the future$"), lambda m: _("This date cannot be in the future.")),
)


def errors_in_words(errors: dict[str, list[str]], fields: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """A page form's errors (the engine's ``{"referral.source": ["is required"]}``) in words:
    ``fields`` gives each field's label and what to do when it is missing ("Choose where
    the referral came from."). Summary labels: :func:`error_titles`."""
    shown: dict[str, list[str]] = {}
    for path, messages in errors.items():
        missing = fields.get(path, ("", _("Fill this in.")))[1]
        for message in messages:
            text = str(message).strip()
            if text == "is required":
                words = missing
            else:
                words = next((say(m) for pattern, say in _ENGINE_WORDS if (m := pattern.match(text))),
                             as_sentence(stored(text)))
            if words not in shown.setdefault(path, []):
                shown[path].append(words)
    return shown


def error_titles(fields: dict[str, tuple[str, str]]) -> dict[str, str]:
    """{field path: its label} for the error summary of a page form."""
    return {path: label for path, (label, _) in fields.items()}
