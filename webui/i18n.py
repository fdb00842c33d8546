"""The language of every page: English or Arabic, chosen by each user.

Which language a request gets (``select_locale``): the signed-in user's own choice
(``users.locale``, set on the "My account" page or through ``PATCH /api/users``), else the
best match of the browser's ``Accept-Language`` among the languages offered, else English.
An unknown value anywhere falls back to English, never to an error.

Catalogues live in ``webui/translations/<lang>/LC_MESSAGES/messages.po`` (Flask-Babel's default
place), compiled beside it to ``messages.mo``; the README's "Languages" section says how to add
a language and update them. The e-mails the engine sends use the same catalogue without Flask
(``engine.service_ops.translations``). The timezone stays the app's (UTC).

Templates get ``_``/``ngettext`` (Flask-Babel), ``html_lang`` and ``html_dir`` (``rtl`` for
Arabic), ``arrow`` (the way "then" points: → or ←), and the ``date``/``datetime``/``number``
filters formatted for the page's language.
"""
from __future__ import annotations

import datetime as dt

import flask_babel
from babel.support import NullTranslations
from flask import Flask, g, has_app_context, has_request_context, request
from flask_babel import Babel
from flask_login import current_user

from engine.people.languages import DEFAULT_LANGUAGE, LANGUAGES, known_language, text_direction

__all__ = ["LANGUAGES", "browser_locale", "current_locale", "direction", "init_app", "select_locale", "text_direction"]

babel = Babel()


def select_locale() -> str:
    """The language of this request: the user's choice, else the browser's, else English."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = getattr(current_user, "locale", None) if current_user else None
    if known_language(chosen):
        return str(chosen)
    return browser_locale()


def browser_locale() -> str:
    """The best match of the browser's ``Accept-Language`` among the languages offered, else English."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    # in the browser's order of preference, by the language's primary subtag: "ar-SY;q=0.8" beats
    # "en;q=0.5" (werkzeug's best_match would prefer any exact match, however little wanted)
    for value, quality in request.accept_languages:
        language = value.replace("_", "-").split("-")[0].lower()
        if quality > 0 and known_language(language):
            return language
    return DEFAULT_LANGUAGE


def current_locale() -> str:
    """``"en"`` or ``"ar"``: the language this request is answered in (English outside one)."""
    try:
        locale = flask_babel.get_locale()
    except RuntimeError:  # outside an app context
        return DEFAULT_LANGUAGE
    language = locale.language if locale is not None else DEFAULT_LANGUAGE
    return language if known_language(language) else DEFAULT_LANGUAGE


def direction() -> str:
    """``"rtl"`` or ``"ltr"``: the direction of this request's language."""
    return text_direction(current_locale())


_CATALOGUE = "_i18n_catalogue"


def catalogue() -> NullTranslations:
    """This request's catalogue: what ``flask_babel.get_translations()`` answers, looked up once
    per request and locale instead of once per string (a page translates a thousand; Flask-Babel
    resolves domain, locale and cache key on each). Flask-Babel keeps the request's locale in
    ``g._flask_babel.babel_locale`` (set on first use, swapped by ``force_locale`` and put back
    after it): the remembered catalogue serves only while that very locale object is in place."""
    if not has_app_context():
        return flask_babel.get_translations()
    store = g._get_current_object()  # once: each attribute read through the proxy looks it up again
    cached = getattr(store, _CATALOGUE, None)
    if cached is not None and cached[0] is getattr(getattr(store, "_flask_babel", None), "babel_locale", None):
        return cached[1]
    translations = flask_babel.get_translations()
    locale = getattr(getattr(store, "_flask_babel", None), "babel_locale", None)
    if locale is not None:
        setattr(store, _CATALOGUE, (locale, translations))
    return translations


# English keeps the formats the pages had before there were languages (outside checks read them)
_EN_DATETIME, _EN_DATE = "%d %b %Y %H:%M", "%d %b %Y"
_CLDR_DATETIME, _CLDR_DATE = "dd MMM y HH:mm", "dd MMM y"


def format_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    if current_locale() == DEFAULT_LANGUAGE:
        return value.strftime(_EN_DATETIME)
    return flask_babel.format_datetime(value, _CLDR_DATETIME, rebase=False)


def format_date(value: dt.date | None) -> str:
    if value is None:
        return "—"
    if current_locale() == DEFAULT_LANGUAGE:
        return value.strftime(_EN_DATE)
    return flask_babel.format_date(value, _CLDR_DATE)


def as_day(value: object) -> dt.date | None:
    """A day the system wrote into a form as ISO text ("2026-12-01") as a date, so the page
    shows it as it shows every day ("01 Dec 2026"); None for anything else."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def format_number(value: int | float | None) -> str:
    if value is None:
        return "—"
    if current_locale() == DEFAULT_LANGUAGE:
        return f"{value:,}"
    return flask_babel.format_decimal(value)


def init_app(app: Flask) -> None:
    """Flask-Babel on ``app`` with the locale selector, and the template helpers."""
    babel.init_app(app, default_locale=DEFAULT_LANGUAGE, locale_selector=select_locale)
    # Flask-Babel's own callables, each reading the request's catalogue through ``catalogue()``
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n))
    app.jinja_env.filters.update(datetime=format_datetime, date=format_date, number=format_number, as_day=as_day)

    @app.context_processor
    def _language() -> dict:
        rtl = direction() == "rtl"
        return {"html_lang": current_locale(), "html_dir": direction(), "arrow": "←" if rtl else "→"}
