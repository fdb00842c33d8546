"""Building the pages' catalogues: ``python -m webui.i18n_catalogue`` (from the repository root)
extracts every marked string into ``webui/translations/messages.pot`` (pybabel extract with
``webui/translations/babel.cfg``), merges it into each language's ``messages.po`` (pybabel update)
and compiles each ``messages.mo`` (pybabel compile). Translators then fill in the ``.po`` file and
run it again; ``tests/webui/test_translations.py`` fails while any entry is untranslated or fuzzy,
or a compiled ``.mo`` is older than its ``.po``.

Besides the calls to ``_``/``gettext``/``ngettext``/``lazy_gettext`` (and the engine's ``N_`` and
``t(language, …)``, and the label of each ``Fact`` in ``engine.case.decision_context``), the
labels of every ``Vocabulary`` in ``engine.models`` are extracted (``extract_vocabularies``):
the pages show those labels (webui.pages.labels), so they are words to translate too, and so
are the titles and purposes of the crisis message templates (``extract_message_templates``).
"""
from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages import frontend

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "webui" / "translations"
POT = TRANSLATIONS / "messages.pot"
KEYWORDS = ("_", "gettext", "ngettext:1,2", "pgettext:1c,2", "lazy_gettext", "_l", "N_", "t:2", "Fact")


def extract_vocabularies(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method: the label of each member of a ``Vocabulary`` class
    (``MEMBER = "value", "Label"``) in a Python source."""
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef) or not any(_named(base, "Vocabulary") for base in node.bases):
            continue
        for statement in node.body:
            if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Tuple)
                    and len(statement.value.elts) == 2
                    and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in statement.value.elts)):
                label = statement.value.elts[1].value
                yield statement.lineno, "_", label, [f"{node.name}: label of {statement.value.elts[0].value!r}"]


def extract_message_templates(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method: the title and purpose of a crisis message template
    (``workflows/templates/*.json``), which the crisis dashboard lists for the crisis team."""
    data = json.loads(fileobj.read())
    if not isinstance(data, dict):
        return
    for key in ("title", "purpose"):
        if isinstance(data.get(key), str) and data[key]:
            yield 1, "_", data[key], [f"message template: its {key}"]


def _named(base: ast.expr, name: str) -> bool:
    return (isinstance(base, ast.Name) and base.id == name) or (isinstance(base, ast.Attribute) and base.attr == name)


def languages() -> list[str]:
    return sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES" / "messages.po").exists())


def _pybabel(argv: list[str]) -> None:
    status = frontend.CommandLineInterface().run(argv)
    if status:
        raise SystemExit(status)


def main(argv: list[str]) -> int:
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    _pybabel(["pybabel", "extract", "-F", str(TRANSLATIONS / "babel.cfg"), "--no-default-keywords", *keywords,
                   "--sort-by-file", "--no-wrap", "--project", "casework", "-o", str(POT), "."])
    for language in argv or languages():
        po = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        _pybabel(["pybabel", command, "-i", str(POT), "-d", str(TRANSLATIONS), "-l", language,
                       *(["--no-wrap", "--ignore-obsolete"] if command == "update" else ["--no-wrap"])])
    _pybabel(["pybabel", "compile", "-d", str(TRANSLATIONS), "--statistics"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
