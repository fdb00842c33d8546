"""The words people read for a disruption's kind, its sub-functions and its phase (the
vocabularies of ``engine.models.crisis``), so every page, notification and log line says
"IT failure" and "5.4 Monitoring & Follow-up", never ``it_failure``."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from engine.models.crisis import CrisisKind, SubFunction
from engine.people.languages import DEFAULT_LANGUAGE, known_language
from engine.service_ops import translations
from engine.service_ops.translations import Words, words


def kind_label(kind: str | None) -> str:
    return CrisisKind.label_of(kind)


def function_label(code: str) -> str:
    """``5.4 Monitoring & Follow-up``."""
    return f"{code} {SubFunction.label_of(code)}"


def functions_text(codes: Iterable[str]) -> str:
    """The sub-functions in words, joined for a sentence."""
    labels = [function_label(code) for code in codes]
    return ", ".join(labels[:-1]) + (" and " if len(labels) > 1 else "") + labels[-1] if labels else "none"


def what_it_is(drill: bool) -> str:
    """How a disruption is named in a sentence: a drill says so."""
    return "Drill" if drill else "Disruption"


def when_text(moment: dt.datetime | None) -> str:
    """A time in a sentence: ``2 Dec 2026, 11:48 UTC``."""
    if moment is None:
        return "—"
    return moment.astimezone(dt.UTC).strftime("%-d %b %Y, %H:%M UTC")


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``1 open case``, ``2 open cases``."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _english(language: str | None) -> bool:
    return not known_language(language) or language == DEFAULT_LANGUAGE


def kind_words(kind: str | None) -> Words:
    """A kind's label, written in each recipient's language (the labels are in the catalogue)."""
    return words(kind_label(kind))


@dataclass(frozen=True)
class FunctionsWords:
    """``functions_text`` in each recipient's language: each sub-function by its code and label."""
    codes: tuple[str, ...]

    def in_language(self, language: str | None) -> str:
        if _english(language) or not self.codes:
            return translations.gettext(language, functions_text(self.codes))
        shown = [f"{code} {translations.gettext(language, SubFunction.label_of(code))}" for code in self.codes]
        if len(shown) == 1:
            return shown[0]
        return translations.gettext(language, "%(first)s and %(last)s",
                                    first=translations.gettext(language, ", ").join(shown[:-1]), last=shown[-1])


@dataclass(frozen=True)
class MomentWords:
    """``when_text`` in each recipient's language (UTC, as the pages write a time)."""
    moment: dt.datetime | None

    def in_language(self, language: str | None) -> str:
        if _english(language) or self.moment is None:
            return when_text(self.moment)
        return translations.gettext(language, "%(when)s UTC", when=translations.when(language, self.moment))
