"""The process owners' scripts write only words their page hands them, in the page's language
(webui/pages/templates/_script_words.html; webui/static/page.js: ``scriptWords``): the
editor and the version and instance pages rendered for an Arabic reader carry every word
the scripts use, in Arabic, and no English sentence is left in the scripts themselves."""
from __future__ import annotations

import json
import re

import pytest

from engine.settings import PROJECT_ROOT
from tests.webui.test_pages_support import sign_in

STATIC = PROJECT_ROOT / "webui" / "static"
SCRIPTS = ("diagrams.js", "model_versions.js", "process_editor.js", "process_editor_views.js", "task_form.js")
ARABIC = re.compile(r"[\u0600-\u06FF]")
LITERAL = re.compile(r"'((?:[^'\\\n]|\\.)*)'")


def _code(name: str) -> str:
    """A script without its comments (a comment's English is for its readers)."""
    text = (STATIC / name).read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(?<![:'\"\\])//[^\n]*", "", text)


def _keys_used(code: str) -> set[str]:
    """The word keys a script asks for: w('key' …), failed(node, 'key' …), the column
    headings it maps through w, and a key it composes with a suffix."""
    keys = set()
    for call in re.finditer(r"\bw\(([^,()]*(?:\([^()]*\)[^,()]*)*)", code):
        keys |= set(LITERAL.findall(re.sub(r"[=!]==\s*'[^']*'", "", call.group(1))))  # not what it compares
    keys |= set(re.findall(r"\bfailed\([a-zA-Z]+, '([a-z_]+)'", code))
    keys |= set(re.findall(r"'(column_[a-z_]+)'", code))
    composed = re.findall(r"\('([a-z_]+)' : '([a-z_]+)'\) \+ \([^)]*\? '(_[a-z]+)'", code)
    for first, second, suffix in composed:
        keys |= {first + suffix, second + suffix}
    return keys


def _words(html: str) -> dict[str, str]:
    words: dict[str, str] = {}
    for block in re.findall(r'<script type="application/json" class="script-words">(.*?)</script>', html, re.S):
        words.update(json.loads(block))
    return words


def _pages(app, client, token_for) -> dict[str, tuple[dict, dict]]:
    """Each page's script words in English and in Arabic."""
    owner = token_for("processowner1")
    models = client.get("/api/process-models", headers=owner).get_json()["models"]
    [case] = [m for m in models if m["process_id"] == "case_management"]
    page = sign_in(app, "processowner1")
    paths = {"version": f"/models/{case['id']}", "editor": "/models/edit/case_management.bpmn?process=case_management",
             "form editor": "/models/edit/sample_intake.json", "table editor": "/models/edit/risk_level.dmn"}
    shown = {}
    for what, path in paths.items():
        english, arabic = (page.get(path, headers={"Accept-Language": lang}) for lang in ("en", "ar"))
        assert english.status_code == arabic.status_code == 200, (path, arabic.status_code)
        shown[what] = (_words(english.get_data(as_text=True)), _words(arabic.get_data(as_text=True)))
    return shown


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_editor_and_version_pages_hand_their_scripts_every_word_in_arabic(app, client, token_for):
    shown = _pages(app, client, token_for)
    needs = {"version": ("diagrams.js", "model_versions.js"),
             "editor": ("diagrams.js", "process_editor.js", "process_editor_views.js"),
             "form editor": ("process_editor.js", "process_editor_views.js"),
             "table editor": ("process_editor.js", "process_editor_views.js")}
    for what, scripts in needs.items():
        english, arabic = shown[what]
        used = set().union(*(_keys_used(_code(name)) for name in scripts))
        assert used and used <= set(arabic), f"{what}: no words for {sorted(used - set(arabic))}"
        for key in used:
            assert ARABIC.search(arabic[key]) and arabic[key] != english[key], (what, key, arabic[key])
            placeholders = set(re.findall(r"\{(\w+)\}", english[key]))
            assert placeholders == set(re.findall(r"\{(\w+)\}", arabic[key])), (what, key)
    assert shown["editor"][0]["no_problems"] == "No problems: this draft would deploy."  # English as it was


def _english_sentences(code: str) -> list[str]:
    """String literals that read as English words: two words in a row, a capitalised word,
    or a word with a sentence's punctuation. Markup, selectors, XML, type names (bpmn:Lane)
    and class lists are not words."""
    found = []
    for literal in LITERAL.findall(code):
        class_list = re.fullmatch(r"[a-z]+(-[a-z]+)+( [a-z]+(-[a-z]+)+)*", literal)
        selectors = "," in literal and all(re.fullmatch(r"[\w.#-]+", part.strip()) for part in literal.split(","))
        if (re.search(r"[<>\[=]", literal) or literal == "use strict" or class_list or selectors
                or re.fullmatch(r"\w+:\w+", literal)):
            continue
        if (re.search(r"[A-Za-z]{2,}[ ,;:]+[A-Za-z]{2,}", literal) or re.fullmatch(r"\W*[A-Z][a-z]+\W*", literal)
                or (" " in literal and re.search(r"[a-z]{2,}[.:!?]\s*$|^\s+[a-z]{2,}", literal))):
            found.append(literal)
    return found


def test_no_english_sentence_is_left_in_the_process_owners_scripts():
    for name in SCRIPTS:
        assert _english_sentences(_code(name)) == [], name
    # the check finds what it is for
    assert _english_sentences("say(x, 'Not saved: ' + m, 'is-bad'); el('th', '', 'Verdict'); t + ' refused.'") == \
        ["Not saved: ", "Verdict", " refused."]
    assert _english_sentences("fetch(u, { credentials: 'same-origin' }); q('[data-zoom=\"in\"]'); 'is-ok'; "
                              "q('input, select, textarea'); 'root.'") == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_task_forms_script_has_its_words_in_arabic(app):
    """task_form.js (the task page, loaded only with a form to fill): the words task.html hands it."""
    macros = app.jinja_env.get_template("_script_words.html")
    shown = {}
    for language in ("en", "ar"):
        with app.test_request_context("/", headers={"Accept-Language": language}):
            shown[language] = _words(str(macros.make_module({}).task_form()))
    used = _keys_used(_code("task_form.js"))
    assert used and used <= set(shown["ar"]), sorted(used - set(shown["ar"]))
    assert all(ARABIC.search(shown["ar"][key]) and shown["ar"][key] != shown["en"][key] for key in used)
