"""The workflows in each person's language: forms, task titles and process names.

``workflows/translations/workflows.pot`` lists every text of the forms and diagrams people
read (``engine.bpmn.workflow_texts``), each with the file it comes from;
``workflows/translations/<lang>/LC_MESSAGES/workflows.po`` gives one language's words for
them. ``python -m webui.cli workflow-texts extract`` rewrites the template and adds its new
texts, untranslated, to every catalogue (README, "Adding or changing a workflow").

The catalogues are read as ``.po`` text at run time (``babel.messages.pofile.read_po``),
kept in memory per file until the file changes (the ``deploy`` of a new ``workflows/``
folder): no compiled ``.mo`` beside them that could fall behind its source, and the checks
a deploy runs read the same file the pages do.

English is the words of the files themselves. A text a catalogue does not have, leaves
empty, marks fuzzy, or translates with other ``{placeholders}`` than the English one is
shown in English: a missing translation is never an error on a page. A deploy, though,
refuses a catalogue whose entry changes the placeholders (:func:`check_catalogues`), naming
the file, the entry and its line, as it refuses a broken diagram.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po, write_po
from lxml import etree

from engine.bpmn import spec_parsing, workflow_texts
from engine.bpmn.dmn_check import Problem
from engine.bpmn.namespaces import safe_parser
from engine.bpmn.task_titles import MAX_TITLE
from engine.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

ENGLISH = "en"
FOLDER = "translations"
DOMAIN = "workflows"
TEMPLATE = f"{FOLDER}/{DOMAIN}.pot"
MAX_TITLE_PLACEHOLDERS = 8  # a title template with more is never matched (task_titles has five fields)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
_FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # the template's header does not change on every run

_workflows_dir: Path = PROJECT_ROOT / "workflows"


def configure(workflows_dir: Path) -> None:
    """Where ``workflows/`` is (the composition root sets it from the settings)."""
    global _workflows_dir
    _workflows_dir = Path(workflows_dir)


def catalogue_path(language: str, workflows_dir: Path | None = None) -> Path:
    return (workflows_dir or _workflows_dir) / FOLDER / language / "LC_MESSAGES" / f"{DOMAIN}.po"


# -- reading a language's words -------------------------------------------------------------
@dataclass(frozen=True)
class Words:
    """One language's usable translations, and its titles with placeholders, to be matched."""
    texts: dict[str, str]
    titles: tuple[tuple[tuple[tuple[str, str | None], ...], str], ...]  # (English parts, translation)


_EMPTY = Words({}, ())
_cache: dict[Path, tuple[tuple[int, int], Words]] = {}
_lock = threading.Lock()


def words(language: str) -> Words:
    """The usable entries of ``language``'s catalogue (read again only when the file changed)."""
    if language == ENGLISH or not _LANGUAGE.match(language or ""):
        return _EMPTY
    path = catalogue_path(language)
    try:
        stat = path.stat()
    except OSError:
        return _EMPTY
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        known = _cache.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    loaded = _read_words(path, language)
    with _lock:
        _cache[path] = (stamp, loaded)
    return loaded


def _usable(catalog: Catalog) -> Words:
    texts: dict[str, str] = {}
    for message in catalog:
        english, translated = message.id, message.string
        if not english or not isinstance(english, str) or not isinstance(translated, str):
            continue  # the header, or a plural form (workflows have none)
        if translated.strip() and not message.fuzzy and workflow_texts.placeholder_problem(english, translated) is None:
            texts[english] = translated
    titles = []
    for english, translated in texts.items():
        if "{" in english and workflow_texts.plain_placeholders(english):
            parts = tuple(workflow_texts.title_parts(english))
            if sum(1 for _, name in parts if name is not None) <= MAX_TITLE_PLACEHOLDERS:
                titles.append((parts, translated))
    return Words(texts, tuple(titles))


def translate(text: str, language: str) -> str:
    """``text`` in ``language``; the English text itself when there is no translation."""
    if not isinstance(text, str) or language == ENGLISH:
        return text
    return words(language).texts.get(text, text)


def translate_form(schema: Any, language: str) -> Any:
    """A copy of a form's JSON Schema with its texts in ``language`` (field names and values
    as they are; a text without a translation in English). ``None`` stays ``None``."""
    if schema is None:
        return None
    table = words(language).texts
    return workflow_texts.map_form_texts(schema, lambda _path, text: table.get(text, text))


def task_title(title: str, language: str) -> str:
    """A task's title (as the inbox row keeps it, in English with its placeholders filled)
    in ``language``: the translation of the title, or of the title template it was filled
    from, filled with the same values (translated when they are words of the catalogue:
    a conference's kind, a closure reason). Otherwise the English title."""
    if not isinstance(title, str) or language == ENGLISH:
        return title
    known = words(language)
    exact = known.texts.get(title)
    if exact is not None:
        return exact
    for parts, translated in known.titles:
        values = _filled_from(parts, title)
        if values is None or "".join(lit + (values[n] if n else "") for lit, n in parts) != title:
            continue
        shown = {name: known.texts.get(value, value) for name, value in values.items()}
        try:
            return translated.format_map(shown)[:MAX_TITLE]
        except (KeyError, ValueError, IndexError):
            return title
    return title


def _filled_from(parts: tuple[tuple[str, str | None], ...], title: str) -> dict[str, str] | None:
    """The placeholders' values when ``title`` is the template of ``parts`` filled in, else
    None. Each literal is looked for once (the first at the start, the last at the end, one
    between two placeholders at its last place: a provider's name may hold " ("): linear in
    the title, no backtracking. When that guess does not give the title back, or two
    placeholders stand side by side, the template is not matched (the title stays English)."""
    values: dict[str, str] = {}
    position, pending = 0, None
    for index, (literal, name) in enumerate(parts):
        last = index == len(parts) - 1
        if pending is None:
            if not title.startswith(literal, position):
                return None
            end = position + len(literal)
        else:
            if not literal:
                return None
            if last and name is None:
                found = len(title) - len(literal) if title.endswith(literal) else -1
            else:
                found = title.rfind(literal, position + 1)
            if found <= position or not _keep(values, pending, title[position:found]):
                return None
            end = found + len(literal)
        position, pending = end, name
    if pending is not None:
        if not _keep(values, pending, title[position:]):
            return None
        position = len(title)
    return values if position == len(title) else None


def _keep(values: dict[str, str], name: str, value: str) -> bool:
    """Record a placeholder's value; False when empty or unlike the same placeholder's before."""
    return bool(value) and values.setdefault(name, value) == value


def clear_cache() -> None:
    with _lock:
        _cache.clear()


# -- the template ------------------------------------------------------------------------------
def extract(workflows_dir: Path | None = None) -> Catalog:
    """Every text people read in ``workflows/``: forms, diagrams, and the words titles are
    filled with; each entry names the files it comes from (as a deploy names them)."""
    root = workflows_dir or _workflows_dir
    catalog = Catalog(project="Casework workflows", domain=DOMAIN, creation_date=_FIXED_DATE,
                      header_comment="# The texts of workflows/ that people read (forms, task titles, process names).\n"
                                     "# Made by `python -m webui.cli workflow-texts extract`: do not edit by hand.",
                      charset="utf-8", fuzzy=False)
    texts: list[workflow_texts.Text] = []
    files = spec_parsing.load_directory(root)  # the files a deploy reads, by the names it gives them
    for name in sorted(n for n in files if n.lower().endswith(".json")):
        texts += workflow_texts.form_texts(name, json.loads(files[name].decode("utf-8-sig")))
    for name in sorted(n for n in files if n.lower().endswith(".bpmn")):
        texts += workflow_texts.diagram_texts(name, etree.fromstring(files[name], safe_parser()))
    texts += workflow_texts.title_field_words()
    for text in texts:
        flags = ["python-brace-format"] if workflow_texts.placeholder_tokens(text.text) else []
        where = (text.file, text.line or 0)  # written without the line (po_text)
        existing = catalog.get(text.text)
        if existing is None:
            catalog.add(text.text, locations=[where], flags=flags, auto_comments=[text.note])
        else:
            if where not in existing.locations:
                existing.locations.append(where)
            if text.note not in existing.auto_comments and len(existing.auto_comments) < 3:
                existing.auto_comments.append(text.note)
    return catalog


def po_text(catalog: Catalog) -> bytes:
    """A catalogue as .po text: locations are file names (a line number would change the
    template whenever a diagram is edited above it)."""
    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=False, include_lineno=False)
    return out.getvalue()


def write_template(workflows_dir: Path | None = None) -> tuple[Path, list[Path]]:
    """Rewrite the template and bring every language's catalogue up to it (new texts added
    untranslated, texts no longer used kept as obsolete entries). (template, catalogues)."""
    root = workflows_dir or _workflows_dir
    template = extract(root)
    pot = root / TEMPLATE
    pot.parent.mkdir(parents=True, exist_ok=True)
    pot.write_bytes(po_text(template))
    updated = []
    for path in sorted((root / FOLDER).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=path.parts[-3], domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        path.write_bytes(po_text(catalog))
        updated.append(path)
    clear_cache()
    return pot, updated


# -- the deploy's check, and how complete each language is ------------------------------------
def check_catalogues(workflows_dir: Path | None = None) -> list[Problem]:
    """Every catalogue under ``workflows/translations`` reads as a .po file, and no entry's
    translation changes the English text's placeholders (a title would lose what it names,
    or fail to be filled). A missing or fuzzy translation is no problem: it shows in English."""
    root = workflows_dir or _workflows_dir
    problems: list[Problem] = []
    for path in sorted((root / FOLDER).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        name = path.relative_to(root).as_posix()
        try:
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=path.parts[-3], domain=DOMAIN, abort_invalid=True)
        except PoFileError as err:
            problems.append(Problem(name, None, err.lineno + 1, f"not a readable catalogue: {err}"))
            continue
        except (OSError, ValueError) as err:
            problems.append(Problem(name, None, None, f"not a readable catalogue: {err}"))
            continue
        for message in catalog:
            english, translated = message.id, message.string
            if not english or not isinstance(english, str) or not isinstance(translated, str) or not translated:
                continue
            why = workflow_texts.placeholder_problem(english, translated)
            if why is not None:
                problems.append(Problem(name, _entry(english), message.lineno,
                                        f"the translation of {_entry(english)!r} cannot be used: {why}"))
    return problems


def _entry(english: str) -> str:
    return english if len(english) <= 80 else english[:79] + "…"


@dataclass(frozen=True)
class Completeness:
    language: str
    translated: int
    total: int

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.translated / self.total)


def completeness(workflows_dir: Path | None = None) -> list[Completeness]:
    """For each language with a catalogue: how many of the template's texts it translates
    (usably: not empty, not fuzzy, the same placeholders)."""
    root = workflows_dir or _workflows_dir
    try:
        with (root / TEMPLATE).open("rb") as fh:
            wanted = [m.id for m in read_po(fh, domain=DOMAIN) if m.id and isinstance(m.id, str)]
    except (OSError, ValueError, PoFileError):
        return []
    shown = []
    for path in sorted((root / FOLDER).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = path.parts[-3]
        texts = words(language).texts if root == _workflows_dir else _read_words(path, language).texts
        shown.append(Completeness(language, sum(1 for english in wanted if english in texts), len(wanted)))
    return shown


def _read_words(path: Path, language: str) -> Words:
    try:
        with path.open("rb") as fh:
            return _usable(read_po(fh, locale=language, domain=DOMAIN, abort_invalid=True))
    except (OSError, ValueError, PoFileError) as err:
        log.warning("the %s catalogue %s cannot be read (%s): its texts are shown in English", language, path, err)
        return _EMPTY
