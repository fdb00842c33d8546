"""Template filters for what the engine stored in English, shown in the page's language.

``stored``: a stored text (a timeline summary, a notification written before its reader chose
a language, a disruption-log entry, a process name or task title) through
``engine.process.stored_texts``. ``form_word``: the word the timeline shows for the form an
event came from (``case_plan_approval`` → "Plan approval"), from ``FORM_WORDS``.
"""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext

from engine.process import stored_texts
from engine.service_ops.translations import N_
from webui import audit_words
from webui.i18n import current_locale

# The words the timeline shows for the forms its events come from (the form's name without
# "case_", in words); extracted here so each has its translation.
FORM_WORDS = (
    N_("Assessment start"), N_("Closure request"), N_("Closure review"), N_("Comprehensive assessment"),
    N_("Consent"), N_("Death report"), N_("Emergency response"), N_("Escalation"), N_("First action"),
    N_("Follow up"), N_("Handover client briefing"), N_("Handover file review"), N_("Handover plan"),
    N_("Inform refer"), N_("Initial assessment"), N_("Interim plan"), N_("Keep open"), N_("Legal mandate"),
    N_("Missed work"), N_("Plan"), N_("Plan approval"), N_("Post closure visit"), N_("Reassign"),
    N_("Referral outcome"), N_("Review"), N_("Risk judgement"), N_("Screening"), N_("Trace"),
    N_("Transfer consent"), N_("Transition plan"), N_("Committee director decision"),
    N_("Committee review conclusions"), N_("Committee vote"), N_("Conference request"), N_("Handover"),
    N_("Incident report"), N_("Referral"), N_("Supervision file audit"), N_("Consultation request"),
    N_("Consultation answer"),
)


def stored(text: str | None) -> str:
    return stored_texts.in_language(text, current_locale())


def form_word(form: str | None) -> str:
    """``case_plan_approval`` → "Plan approval", in the page's language."""
    word = (form or "").removeprefix("case_").replace("_", " ").capitalize()
    return gettext(word) if word in FORM_WORDS else word


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(stored=stored, form_word=form_word)
    audit_words.init_app(app)
