"""The client communication templates (seed 000 pre-crisis readiness: "Pre-draft
communication templates for various crisis scenarios"): process-owner data in
``workflows/templates/``, one JSON file per template, plus ``message_values.json`` with
what they fill in.

A template has a ``title``, a ``purpose`` (shown to the crisis team), optionally a ``source``
(where in the BCP it comes from: for process owners, never shown on crisis pages) and the
``kinds`` of disruption it is for (every kind when absent), and its words per channel: ``sms``, ``email_subject`` and
``email``, ``phone_script`` (what the caller says; also used for visits). Placeholders are
``$organisation``, ``$helpline``, ``$website`` (from message_values.json), ``$kind`` (the
kind of disruption, in words) and ``$resume_by`` (the resumption deadline). Substitution
is ``string.Template``'s — no expressions, attribute access or formatting run — and a
template naming any other placeholder, or an SMS longer than ``sms_max_characters``, is
refused when the folder is read, naming the file and the field. The words never carry a
client's name or case code: they go to the client.
"""
from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path

from engine.errors import Invalid

VALUES_FILE = "message_values.json"
FIELDS = ("sms", "email_subject", "email", "phone_script")
FILLED_FROM_VALUES = ("organisation", "helpline", "website")
PLACEHOLDERS = (*FILLED_FROM_VALUES, "kind", "resume_by")
MAX_TEXT = 4000


@dataclass(frozen=True)
class MessageTemplate:
    id: str  # the file's name without .json
    title: str
    purpose: str
    kinds: tuple[str, ...]  # empty: every kind
    sms: str
    email_subject: str
    email: str
    phone_script: str

    def fits(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


@dataclass(frozen=True)
class Templates:
    by_id: dict[str, MessageTemplate]
    values: dict[str, str]

    def for_kind(self, kind: str) -> list[MessageTemplate]:
        return [t for t in self.by_id.values() if t.fits(kind)]

    def get(self, template_id) -> MessageTemplate:
        found = self.by_id.get(template_id) if isinstance(template_id, str) else None
        if found is None:
            raise Invalid("no such message template", errors={"template": [f"one of {', '.join(self.by_id)}"]})
        return found

    def render(self, template: MessageTemplate, field: str, kind: str, resume_by: str) -> str:
        text = getattr(template, field)
        return string.Template(text).substitute({**self.values, "kind": kind, "resume_by": resume_by})


def _problem(file: str, field: str, message: str) -> Invalid:
    return Invalid(f"message template {file}: {field} {message}", errors={file: [f"{field}: {message}"]})


def _text(data: dict, file: str, field: str, required: bool = True) -> str:
    value = data.get(field, "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_TEXT:
        raise _problem(file, field, f"must be text of 1 to {MAX_TEXT} characters")
    for match in string.Template.pattern.finditer(value):
        name = match.group("named") or match.group("braced")
        if match.group("invalid") is not None or (name is not None and name not in PLACEHOLDERS):
            raise _problem(file, field, f"names an unknown placeholder (use ${', $'.join(PLACEHOLDERS)})")
    return value


def load_templates(folder: Path) -> Templates:
    """Every template of ``folder`` (``workflows/templates``), checked."""
    values_path = folder / VALUES_FILE
    try:
        raw_values = json.loads(values_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise _problem(VALUES_FILE, "file", f"cannot be read: {err}") from err
    values = {name: _text(raw_values, VALUES_FILE, name) for name in FILLED_FROM_VALUES}
    sms_max = raw_values.get("sms_max_characters")
    if isinstance(sms_max, bool) or not isinstance(sms_max, int) or sms_max < 1:
        raise _problem(VALUES_FILE, "sms_max_characters", "must be a positive whole number")
    found: dict[str, MessageTemplate] = {}
    for path in sorted(folder.glob("*.json")):
        if path.name == VALUES_FILE:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise _problem(path.name, "file", f"cannot be read: {err}") from err
        if not isinstance(data, dict):
            raise _problem(path.name, "file", "must hold one JSON object")
        kinds = data.get("kinds", [])
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise _problem(path.name, "kinds", "must be a list of kinds of disruption")
        template = MessageTemplate(id=path.stem, title=_text(data, path.name, "title"),
                                   purpose=_text(data, path.name, "purpose", required=False), kinds=tuple(kinds),
                                   **{field: _text(data, path.name, field) for field in FIELDS})
        longest = string.Template(template.sms).substitute(
            {**values, "kind": "x" * 20, "resume_by": "x" * 24})
        if len(longest) > sms_max:
            raise _problem(path.name, "sms", f"is longer than {sms_max} characters once filled in")
        found[template.id] = template
    if not found:
        raise _problem("templates", "folder", "holds no message template")
    return Templates(found, values)
