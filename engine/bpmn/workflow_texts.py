"""The words of the workflows that people read, found and replaced: what a form asks and
offers, what a task and a process are called.

A form's texts are the ``title``, ``description`` and ``errorMessage`` (a text, or one per
keyword) of the schema and of every subschema (``properties``, ``items``, ``oneOf`` labels
of a choice, ``$defs`` …), and the form renderer's ``options.enum_titles`` and
``options.infoText``. Field names (the keys of ``properties``, ``required``) and stored
values (``const``, ``enum``, ``default``, ``examples``) are never texts: they are what the
data holds, and translating them would change what is saved.

A diagram's texts are its processes' names, its user and manual tasks' names and their
``title`` properties (``engine.bpmn.task_titles``; their ``{placeholders}`` are kept), and
the names of its other steps, events, gateways and flows (never a condition: that is code).

:func:`map_form_texts` walks a schema once, copying it, and gives every text to a function
that may replace it; it never follows a schema deeper than :data:`MAX_WALK_DEPTH` levels
(deployed forms are at most ``MAX_FORM_DEPTH`` deep, far less), so an untrusted schema
cannot make it recurse without end.
"""
from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from engine.bpmn import task_titles
from engine.bpmn.namespaces import NS, bpmn

MAX_WALK_DEPTH = 64  # JSON levels; the deploy bound (MAX_FORM_DEPTH, 32 by default) is below it
TEXT_KEYS = ("title", "description")
OPTION_TEXTS = ("infoText",)
OPTION_LISTS = ("enum_titles",)
SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
             "additionalItems", "unevaluatedItems", "unevaluatedProperties")
SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SUBSCHEMA_LISTS = ("oneOf", "anyOf", "allOf", "prefixItems", "items")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")

Path = tuple[str, ...]
Replace = Callable[[Path, str], str]


@dataclass(frozen=True)
class Text:
    """One text people read: where it is (file, line when known, and a note for the
    translator saying what it is) and the English words."""
    file: str
    line: int | None
    note: str
    text: str


# -- forms ------------------------------------------------------------------------------
def map_form_texts(schema: Any, replace: Replace) -> Any:
    """A copy of ``schema`` with each of its texts replaced by ``replace(path, text)``;
    everything else (names, values, keywords) copied as it is."""
    return _schema(schema, (), replace, 0)


def _schema(node: Any, path: Path, replace: Replace, depth: int) -> Any:
    if not isinstance(node, dict):
        return _copy(node, depth)
    if depth > MAX_WALK_DEPTH:
        return node  # never reached by a deployed form: shared, not walked
    out: dict[str, Any] = {}
    for key, value in node.items():
        here = (*path, key)
        if key in TEXT_KEYS and isinstance(value, str):
            out[key] = replace(here, value)
        elif key == "errorMessage":
            out[key] = _error_message(value, here, replace, depth)
        elif key == "options" and isinstance(value, dict):
            out[key] = _options(value, here, replace, depth)
        elif key in SUBSCHEMA and isinstance(value, dict):
            out[key] = _schema(value, here, replace, depth + 1)
        elif key in SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [_schema(sub, (*here, str(i)), replace, depth + 2) for i, sub in enumerate(value)]
        elif key in SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _schema(sub, (*here, str(name)), replace, depth + 2) for name, sub in value.items()}
        else:
            out[key] = _copy(value, depth + 1)
    return out


def _error_message(value: Any, path: Path, replace: Replace, depth: int) -> Any:
    if isinstance(value, str):
        return replace(path, value)
    if isinstance(value, dict):
        return {k: replace((*path, str(k)), v) if isinstance(v, str) else _copy(v, depth + 2)
                for k, v in value.items()}
    return _copy(value, depth + 1)


def _options(options: dict, path: Path, replace: Replace, depth: int) -> dict:
    out: dict[str, Any] = {}
    for key, value in options.items():
        here = (*path, key)
        if key in OPTION_TEXTS and isinstance(value, str):
            out[key] = replace(here, value)
        elif key in OPTION_LISTS and isinstance(value, list):
            out[key] = [replace((*here, str(i)), v) if isinstance(v, str) else _copy(v, depth + 3)
                        for i, v in enumerate(value)]
        else:
            out[key] = _copy(value, depth + 2)
    return out


def _copy(value: Any, depth: int) -> Any:
    """A deep copy of plain JSON, to the walk's bound."""
    if depth > MAX_WALK_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: _copy(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v, depth + 1) for v in value]
    return value


def form_texts(file: str, schema: Any) -> list[Text]:
    """Every text of one form, in the order it asks them."""
    found: list[Text] = []

    def collect(path: Path, text: str) -> str:
        if text.strip():
            found.append(Text(file, None, _note(path), text))
        return text

    map_form_texts(schema, collect)
    return found


def _note(path: Path) -> str:
    """What a text is, for the translator: ``properties.vote.oneOf.0.title``."""
    return ".".join(path) or "(the form)"


# -- diagrams ---------------------------------------------------------------------------
NAMED_ELEMENTS = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
                  "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "serviceTask",
                  "scriptTask", "businessRuleTask", "sendTask", "receiveTask", "task", "subProcess", "transaction",
                  "callActivity", "sequenceFlow")


def diagram_texts(file: str, root: Any) -> list[Text]:
    """The process names, user and manual task names and ``title`` properties of a parsed
    BPMN document, and the names of its other elements and flows (the task page's "what
    happens next" tells them)."""
    found: list[Text] = []
    for process in root.iter(bpmn("process")):
        if (process.get("name") or "").strip():
            found.append(Text(file, process.sourceline, f"name of process {process.get('id')}", process.get("name")))
        for element in process.iter(*map(bpmn, NAMED_ELEMENTS)):
            if (element.get("name") or "").strip():
                kind = "flow" if element.tag == bpmn("sequenceFlow") else "step"
                found.append(Text(file, element.sourceline, f"name of {kind} {element.get('id')}", element.get("name")))
    for task in root.iter(bpmn("userTask"), bpmn("manualTask")):
        if (task.get("name") or "").strip():
            found.append(Text(file, task.sourceline, f"name of task {task.get('id')}", task.get("name")))
        for prop in task.iterfind("bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property", NS):
            if prop.get("name") == "title" and (prop.get("value") or "").strip():
                note = f"title of task {task.get('id')}" + (" ({placeholders} filled from the case)"
                                                          if task_titles.placeholders(prop.get("value")) else "")
                found.append(Text(file, prop.sourceline, note, prop.get("value")))
    return found


def title_field_words(file: str = "engine/bpmn/task_titles.py") -> list[Text]:
    """The words a title's placeholder may be filled with (a conference's kind, a closure
    reason, a review's kind): translated too, so a title reads in one language."""
    found: list[Text] = []
    for name, field in task_titles.TITLE_FIELDS.items():
        if isinstance(field, task_titles.FlagField):
            words = [field.when_true, field.when_false]
        elif field.vocabulary is not None:
            words = [field.vocabulary.label_of(value) for value in field.vocabulary.values()]
        else:
            continue  # a record's own words (a provider's name) stay as they were written
        found += [Text(file, None, f"fills {{{name}}} in a task title", word) for word in words]
    return found


# -- placeholders -----------------------------------------------------------------------
def placeholder_tokens(text: str) -> list[str]:
    """The ``{…}`` of a text, sorted: a translation must keep exactly these."""
    return sorted(_PLACEHOLDER.findall(text))


def formattable(text: str) -> bool:
    """Whether ``str.format`` can read ``text`` (no stray brace)."""
    try:
        list(string.Formatter().parse(text))
    except ValueError:
        return False
    return True


def placeholder_problem(english: str, translated: str) -> str | None:
    """Why ``translated`` cannot stand for ``english`` (its placeholders differ, or its
    braces do not read), or None."""
    want, got = placeholder_tokens(english), placeholder_tokens(translated)
    if want != got:
        return (f"its placeholders {', '.join(got) or 'none'} differ from the English text's "
                f"{', '.join(want) or 'none'}")
    if formattable(english) and not formattable(translated):
        return "it has a brace that is not part of a placeholder"
    return None


def title_parts(template: str) -> Iterator[tuple[str, str | None]]:
    """(literal text, placeholder name or None) pairs of a title template."""
    for literal, name, _, _ in string.Formatter().parse(template):
        yield literal, name


def plain_placeholders(template: str) -> bool:
    """Whether every placeholder of ``template`` is a bare ``{name}`` (no format spec, no
    conversion, no index or attribute): only such a title is ever filled in again."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
                  if name is not None]
    except ValueError:
        return False
    return bool(fields) and all(name.isidentifier() and not spec and conversion is None
                                for name, spec, conversion in fields)
