"""The languages people may choose for their pages, messages and e-mails (``users.locale``)."""
from __future__ import annotations

from engine.models.base import Vocabulary


class Language(Vocabulary):
    """Each language is labelled in its own words, so whoever reads it finds their own."""
    ENGLISH = "en", "English"
    ARABIC = "ar", "العربية"


LANGUAGES: tuple[str, ...] = Language.values()
DEFAULT_LANGUAGE = Language.ENGLISH.value
RIGHT_TO_LEFT = frozenset({Language.ARABIC.value})


def known_language(value: object) -> bool:
    return isinstance(value, str) and value in LANGUAGES


def text_direction(language: str | None) -> str:
    """``"rtl"`` for a language written right to left, else ``"ltr"``."""
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"
