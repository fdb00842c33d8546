"""What each person chooses for themselves: the language of their pages, messages and e-mails.

``set_language`` is the person's own change ("My account"); administrators change it through
``administration.change_person`` (``PATCH /api/users``), which applies the same rule here.
Either way it is audited like the other account changes. ``None`` means "no choice": pages
follow the browser's language, e-mails are in English.
"""
from __future__ import annotations

from engine.errors import Invalid
from engine.models import User
from engine.people import directory
from engine.people.languages import LANGUAGES, known_language


def clean_language(value: object) -> str | None:
    """A language code people may choose, or None (no choice); ``Invalid`` (422) otherwise."""
    if value is None or value == "":
        return None
    if not known_language(value):
        raise Invalid("this language is not offered",
                      errors={"locale": ["choose one of: " + ", ".join(LANGUAGES)]})
    return str(value)


def apply_language(uow, actor_id: int | None, user: User, value: object) -> bool:
    """Set ``user``'s language (audited when it changes); True if it changed. Never commits."""
    language = clean_language(value)
    if language == user.locale:
        return False
    before, user.locale = user.locale, language
    uow.audit(actor_id, "user_language_changed", "user", user.id, before=before, after=language)
    return True


def set_language(uow, user_id: int, value: object) -> str | None:
    """The signed-in person chooses their own language. Audited; commits."""
    user = directory.get_user(uow.session, user_id)
    apply_language(uow, user_id, user, value)
    uow.commit()
    return user.locale


def language_of(uow, user_id: int) -> str | None:
    return directory.get_user(uow.session, user_id).locale
