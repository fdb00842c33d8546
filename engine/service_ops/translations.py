"""The words of the messages the engine sends (e-mails and their in-app copies) in each
recipient's language, without the web layer.

The catalogue is the pages' own (``webui/translations/<lang>/LC_MESSAGES/messages.mo``, built
from ``messages.po``; the README's "Languages" section), read here with plain
``babel.support.Translations``: one set of words for a person, whichever way it reaches them.
English is the catalogue's source language, so English text is the text written in the code;
an unknown or missing language is English too. Each catalogue is read once per process.
"""
from __future__ import annotations

import datetime as dt
import functools
import gettext as stdlib_gettext
from dataclasses import dataclass, field
from pathlib import Path

from babel.dates import format_datetime
from babel.support import NullTranslations, Translations

from engine import clock
from engine.people.languages import DEFAULT_LANGUAGE, known_language

CATALOGUES = Path(__file__).resolve().parents[2] / "webui" / "translations"
DOMAIN = "messages"


@dataclass(frozen=True)
class Words:
    """A message to write in each recipient's language: its English (the catalogue's msgid,
    marked with ``N_`` so it is extracted) and the values of its placeholders. A value that
    has words of its own (an ``in_language`` method: a label, a time) is written in the
    recipient's language too."""
    message: str
    values: dict = field(default_factory=dict)

    def in_language(self, language: str | None) -> str:
        return gettext(language, self.message, **{
            name: value.in_language(language) if hasattr(value, "in_language") else value
            for name, value in self.values.items()})


def words(message: str, **values: object) -> Words:
    return Words(message, dict(values))


def N_(message: str) -> str:  # the name message extractors know for "translate later"
    """Marks ``message`` for the catalogue without translating it yet (the recipient is not known)."""
    return message


@functools.cache
def translations_for(language: str | None) -> stdlib_gettext.NullTranslations:
    """The catalogue of ``language`` (English, the source, has none: its words are the code's)."""
    if not known_language(language) or language == DEFAULT_LANGUAGE:
        return NullTranslations()
    return Translations.load(str(CATALOGUES), [str(language)], DOMAIN)


def gettext(language: str | None, message: str, **values: object) -> str:
    """``message`` in ``language``, with ``%(name)s`` placeholders filled from ``values``."""
    text = translations_for(language).gettext(message)
    return text % values if values else text


def ngettext(language: str | None, singular: str, plural: str, num: int, **values: object) -> str:
    text = translations_for(language).ngettext(singular, plural, num)
    return text % {"num": num, **values}


def when(language: str | None, moment: dt.datetime) -> str:
    """A time as the pages write it in that language (UTC, like the pages)."""
    moment = clock.as_utc(moment)
    if not known_language(language) or language == DEFAULT_LANGUAGE:
        return moment.strftime("%d %b %Y %H:%M")
    return format_datetime(moment, "dd MMM y HH:mm", tzinfo=dt.UTC, locale=str(language))
