"""The workflows' own words (forms, task titles, process names) in the reader's language.

Pages use the page's language (``webui.i18n.current_locale``: the user's choice, else the
browser's). The JSON API answers in English, as it always has, unless the signed-in user
chose a language for themselves (``users.locale``): a program's Accept-Language header
never changes what it reads. Either way only texts change: field names, stored values,
ids and the schema's rules stay exactly as the form file has them
(``engine.process.workflow_catalogues``).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from flask import g
from flask_babel import gettext
from sqlalchemy import select

from engine.bpmn.diagram_outline import Outline
from engine.crisis.drills import DRILL_PREFIX
from engine.models import User
from engine.people.languages import DEFAULT_LANGUAGE, known_language
from engine.process import stored_texts, workflow_catalogues
from webui.i18n import current_locale


def page_language() -> str:
    return current_locale()


def api_language(session, user_id: int) -> str:
    """The language the API answers this user in: their own choice, else English (read with
    the request's sign-in when it was a bearer token: ``webui.auth.current_user_id``)."""
    if g.get("user_id") == user_id and "user_locale" in g:
        locale = g.user_locale
    else:
        locale = session.scalar(select(User.locale).where(User.id == user_id))
    return str(locale) if known_language(locale) else DEFAULT_LANGUAGE


def title(text: str, language: str | None = None) -> str:
    language = language or page_language()
    if isinstance(text, str) and text.startswith(DRILL_PREFIX):  # "Drill — " before a drill's own tasks
        return stored_texts.in_language(text, language)
    return workflow_catalogues.task_title(text, language)


def text(words: str, language: str | None = None) -> str:
    return workflow_catalogues.translate(words, language or page_language())


def form(schema: Any, language: str | None = None) -> Any:
    return workflow_catalogues.translate_form(schema, language or page_language())


def rows(task_rows: Iterable[Any], language: str | None = None) -> list[Any]:
    """Inbox rows (frozen ``TaskRow``s) with their titles in ``language``."""
    language = language or page_language()
    return [dataclasses.replace(row, title=title(row.title, language)) for row in task_rows]


TIMER = " (timer)"  # what engine.bpmn.diagram_outline adds to a timer's name


def outline(shown: Outline | None, language: str | None = None) -> Outline | None:
    """The task page's "what happens next" with the diagram's names in ``language`` (a
    condition with no name is code, and stays as it is)."""
    if shown is None:
        return None
    language = language or page_language()

    def words(name: str | None) -> str | None:
        return workflow_catalogues.translate(name, language) if name else name

    def escalation(name: str) -> str:
        if name.endswith(TIMER):
            timer = gettext("timer")  # outside the f-string, where the extractor finds it
            return f"{words(name[:-len(TIMER)])} ({timer})"
        return words(name) or name

    branches = [dataclasses.replace(b, condition=words(b.condition), automatic=[words(a) or a for a in b.automatic],
                                    stop_name=words(b.stop_name)) for b in shown.branches]
    return Outline(branches, [escalation(e) for e in shown.escalations])


class ShownTask:
    """A task row as a page shows it: its title in the page's language, everything else the
    row's own. Never the row itself, so the translated title is never written back."""

    def __init__(self, task: Any, language: str | None = None) -> None:
        self._task = task
        self.title = title(task.title, language)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)
