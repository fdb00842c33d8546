"""The pages' catalogues: every language offered has a complete, checked translation of every
text the templates, pages and messages mark, and its compiled ``.mo`` is the one its ``.po``
gives. A new English string without its Arabic fails here (run ``python -m webui.i18n_catalogue``,
translate what it adds to ``webui/translations/ar/LC_MESSAGES/messages.po``, run it again)."""
from __future__ import annotations

import io
import os

import pytest
from babel.messages import checkers
from babel.messages.catalog import TranslationError
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from engine.people.languages import DEFAULT_LANGUAGE, LANGUAGES
from webui.i18n_catalogue import KEYWORDS, ROOT, TRANSLATIONS

OTHER_LANGUAGES = [language for language in LANGUAGES if language != DEFAULT_LANGUAGE]


def _catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


def _keywords() -> dict:
    """pybabel's keyword specs (``ngettext:1,2``, ``pgettext:1c,2``) as extract_from_dir takes them."""
    return parse_keywords(list(KEYWORDS))


def _marked_in_sources() -> set:
    """Every msgid marked in the sources babel.cfg names, extracted now (not from messages.pot)."""
    with open(TRANSLATIONS / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        for _, _, message, _, context in extract_from_dir(".", method_map, options_map, keywords=_keywords()):
            found.add((context, _key(message)))
    finally:
        os.chdir(cwd)
    return found


def test_arabic_is_offered():
    assert "ar" in OTHER_LANGUAGES


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_entry_of_the_catalogue_is_translated_and_none_is_fuzzy(language):
    catalogue = _catalogue(language)
    untranslated = [m.id for m in catalogue if m.id and (not m.string or (isinstance(m.string, tuple)
                                                                           and not all(m.string)))]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert not untranslated, f"{len(untranslated)} without a translation, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_text_marked_in_templates_pages_and_messages_is_in_the_catalogue(language):
    catalogue = _catalogue(language)
    known = {(m.context, _key(m.id)) for m in catalogue if m.id}
    missing = sorted(str(message) for _, message in _marked_in_sources() - known)
    assert not missing, (f"{len(missing)} texts have no {language} translation yet (python -m webui.i18n_catalogue, "
                         f"then translate): {missing[:10]}")


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_translations_keep_every_placeholder(language):
    """Each translation fills the same ``%(name)s`` placeholders its English does (the check
    pybabel compile makes), so no page fails on a KeyError or shows a raw placeholder."""
    catalogue = _catalogue(language)
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        try:
            checkers.python_format(catalogue, message)
        except TranslationError as err:  # collected, to show them all
            problems.append((message.id, str(err)))
    assert not problems, problems[:5]


def _entries(catalogue) -> dict:
    return {_key(m.id): _key(m.string) for m in catalogue if m.id}


def _key(value):
    return value if isinstance(value, str) else tuple(value)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_the_compiled_catalogue_is_the_one_the_po_file_gives(language):
    directory = TRANSLATIONS / language / "LC_MESSAGES"
    expected = io.BytesIO()
    write_mo(expected, _catalogue(language))
    expected.seek(0)
    with open(directory / "messages.mo", "rb") as compiled:
        shipped = read_mo(compiled)
    wanted = read_mo(expected)
    assert _entries(shipped) == _entries(wanted), (
        "messages.mo is out of date: run python -m webui.i18n_catalogue")
