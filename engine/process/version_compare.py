"""What changed between two versions of a process model: per file, added, removed or
changed; in a diagram or table, per element (by id) what was added, removed or changed —
its name, its extension properties (form, due, priority, ...), a condition, a cell's text.

Elements are matched by id, as instance migration matches waiting tasks and timers
(``engine.process.migration``), so the comparison also says which waiting points keep
existing. The layout (BPMN DI: shapes, edges, bounds) is not compared: moving a shape
changes nothing a case sees. Reads only.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from lxml import etree

from engine.bpmn.namespaces import local_name, parse_xml
from engine.errors import Invalid
from engine.process import deployment

DI_NAMESPACES = ("http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
                 "http://www.omg.org/spec/DD/20100524/DI", "https://www.omg.org/spec/DMN/20191111/DMNDI/",
                 "http://www.omg.org/spec/DMN/20180521/DMNDI/")
MAX_SHOWN_VALUE = 120
MAX_ELEMENTS = 500  # element changes listed per file; more is summed up


@dataclass(frozen=True)
class ElementChange:
    element_id: str
    kind: str  # "user task", "output entry", ...
    name: str
    change: str  # added | removed | changed
    details: list[str] = field(default_factory=list)  # "due: PT24H → PT12H"


@dataclass(frozen=True)
class FileChange:
    filename: str
    change: str  # added | removed | changed | unchanged
    elements: list[ElementChange] = field(default_factory=list)
    more: int = 0  # element changes beyond MAX_ELEMENTS
    note: str = ""  # e.g. "cannot be read: ..." or "layout only"


@dataclass(frozen=True)
class VersionComparison:
    process_id: str
    older: int  # version numbers
    newer: int
    older_id: int
    newer_id: int
    files: list[FileChange]

    @property
    def changed(self) -> list[FileChange]:
        return [f for f in self.files if f.change != "unchanged"]


def _kind(tag: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", local_name(tag)).lower()


def _short(value: str) -> str:
    value = re.sub(r"\s+", " ", value).strip()
    return value if len(value) <= MAX_SHOWN_VALUE else value[:MAX_SHOWN_VALUE - 1] + "…"


def _facts(element: etree._Element) -> dict[str, str]:
    """What an element says, apart from its id and its children that have ids of their
    own: its attributes, and the text and attributes of its id-less descendants (a
    SpiffWorkflow property appears under its name: ``due``)."""
    facts = {f"@{etree.QName(k).localname}": v for k, v in element.attrib.items() if k != "id"}
    found: dict[str, list[str]] = {}

    def walk(node: etree._Element, path: str) -> None:
        for child in node:
            if not isinstance(child.tag, str) or child.get("id") is not None:
                continue
            name = local_name(child.tag)
            if name == "property" and child.get("name"):
                key = child.get("name") or ""
                found.setdefault(key, []).append(child.get("value") or (child.text or ""))
                continue
            key = f"{path}{name}"
            text = (child.text or "").strip()
            attrs = " ".join(f"{etree.QName(k).localname}={v}" for k, v in sorted(child.attrib.items()))
            if text or attrs:
                found.setdefault(key, []).append(" ".join(p for p in (attrs, text) if p))
            walk(child, f"{key}/")

    walk(element, "")
    facts.update({key: "; ".join(sorted(values)) for key, values in found.items()})
    return facts


def _elements(text: str) -> dict[str, etree._Element]:
    root = parse_xml(text)
    return {el.get("id"): el for el in root.iter()
            if isinstance(el.tag, str) and el.get("id") and etree.QName(el.tag).namespace not in DI_NAMESPACES}


def _label(element: etree._Element) -> str:
    return _short(element.get("name") or element.get("label") or "")


def compare_xml(old: str, new: str) -> list[ElementChange]:
    """The element changes from ``old`` to ``new`` (diagram or table text), in document
    order of the newer file, removed elements last. ``etree.XMLSyntaxError`` if unreadable."""
    before, after = _elements(old), _elements(new)
    changes = []
    for element_id, element in after.items():
        if element_id not in before:
            changes.append(ElementChange(element_id, _kind(element.tag), _label(element), "added"))
            continue
        was, now = _facts(before[element_id]), _facts(element)
        details = [f"{key.lstrip('@')}: {_short(was.get(key, '')) or '(none)'} → {_short(now.get(key, '')) or '(none)'}"
                   for key in sorted(set(was) | set(now)) if was.get(key) != now.get(key)]
        if before[element_id].tag != element.tag:
            details.insert(0, f"was a {_kind(before[element_id].tag)}")
        if details:
            changes.append(ElementChange(element_id, _kind(element.tag), _label(element), "changed", details))
    changes += [ElementChange(element_id, _kind(element.tag), _label(element), "removed")
                for element_id, element in before.items() if element_id not in after]
    return changes


def _field_details(was: dict, now: dict) -> list[str]:
    def shown(value: object) -> str:
        return "(none)" if value is None else _short(json.dumps(value, sort_keys=True, ensure_ascii=False))
    return [f"{key}: {shown(was.get(key))} → {shown(now.get(key))}"
            for key in sorted(set(was) | set(now)) if was.get(key) != now.get(key)]


def compare_form(old: str, new: str) -> list[ElementChange]:
    """A form's fields (its schema's top-level properties) added, removed or changed."""
    before, after = (json.loads(text).get("properties") or {} for text in (old, new))
    changes = [ElementChange(name, "field", _short(str(spec.get("title") or "")), "added")
               for name, spec in after.items() if name not in before]
    changes += [ElementChange(name, "field", _short(str(spec.get("title") or "")), "changed",
                              _field_details(before[name], spec))
                for name, spec in after.items() if name in before and before[name] != spec]
    changes += [ElementChange(name, "field", _short(str(spec.get("title") or "")), "removed")
                for name, spec in before.items() if name not in after]
    return changes


def compare_file(filename: str, old: str | None, new: str | None) -> FileChange:
    if old is None or new is None:
        return FileChange(filename, "added" if old is None else "removed")
    if old == new:
        return FileChange(filename, "unchanged")
    try:
        elements = compare_form(old, new) if filename.endswith(".json") else compare_xml(old, new)
    except (etree.XMLSyntaxError, ValueError, AttributeError) as err:
        return FileChange(filename, "changed", note=f"cannot be compared element by element: {err}")
    return FileChange(filename, "changed", elements[:MAX_ELEMENTS], max(0, len(elements) - MAX_ELEMENTS),
                      "" if elements else "the layout only: no element changed")


def compare_versions(session, model_id: int, other_id: int) -> VersionComparison:
    """What changed from the older of two versions of one process to the newer."""
    first, second = deployment.model_version(session, model_id), deployment.model_version(session, other_id)
    if first.process_id != second.process_id:
        raise Invalid(f"version {other_id} is of {second.process_id}, not {first.process_id}: only versions of one "
                      "process compare", errors={"other": ["another process"]})
    older, newer = sorted((first, second), key=lambda m: m.version)
    old_files = {f.filename: f.content for f in deployment.model_files(session, older.id)}
    new_files = {f.filename: f.content for f in deployment.model_files(session, newer.id)}
    files = [compare_file(name, old_files.get(name), new_files.get(name))
             for name in sorted(set(old_files) | set(new_files))]
    return VersionComparison(older.process_id, older.version, newer.version, older.id, newer.id, files)
