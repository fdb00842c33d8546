"""Words for people: every stored value is shown by its vocabulary's label, on every page,
through one Jinja filter.

    {{ conference.kind|label("conference_kind") }}      → "Case review"
    {{ needs|map("label", "specific_need")|join(", ") }}
    {{ process_label(task.process_id) }}                 → "Case management"

The vocabularies are the ``Vocabulary`` enums of ``engine.models`` (named in snake case). Each
label is shown in the page's language (the catalogue holds every label: webui.i18n_catalogue
extracts them from the enums). A value no vocabulary member has (free text an API client sent, a value from an older
version) is shown as words, never as ``a_stored_value``.
"""
from __future__ import annotations

from flask import Blueprint, g

import engine.models  # noqa: F401 - every vocabulary registers when its model module is imported
from engine.models.base import vocabulary
from engine.process import workflow_catalogues
from engine.process.human_tasks import process_names
from webui.extensions import uow
from webui.i18n import catalogue, current_locale

bp = Blueprint("labels", __name__)


def as_words(value: object) -> str:
    """``"some_stored_value"`` as ``"Some stored value"``."""
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@bp.app_template_filter("label")
def label(value: object, vocabulary_name: str, default: str = "—") -> str:
    """The label of ``value`` in the vocabulary ``vocabulary_name``."""
    labels = _labels(vocabulary(vocabulary_name))  # an unknown vocabulary is a mistake in a template: it fails loudly
    if value is None or value == "":
        return default
    text = labels.get(value) if isinstance(value, str) else None
    if text is None:
        text = labels.get(str(value).replace(" ", "_"))  # "community member" written for the value
    # the request's catalogue, as flask_babel.gettext reads it (a page looks up a thousand labels)
    return catalogue().ugettext(text) if text is not None else as_words(value)


_LABELS: dict[type, dict[str, str]] = {}


def _labels(words: type) -> dict[str, str]:
    """Each member's label by its value (the first member of a value, as a loop over them finds)."""
    found = _LABELS.get(words)
    if found is None:
        found = {}
        for member in words:  # type: ignore[attr-defined]
            found.setdefault(member.value, member.label)
        _LABELS[words] = found
    return found


def process_label(process_id: str | None) -> str:
    """The name of a deployed process (read once per request)."""
    if not process_id:
        return "—"
    if "process_names" not in g:
        with uow() as work:
            g.process_names = process_names(work.session)
    name = g.process_names.get(process_id)
    return workflow_catalogues.translate(name, current_locale()) if name else as_words(process_id)


@bp.app_context_processor
def _label_helpers() -> dict:
    return {"process_label": process_label}
