"""Deploy-time bounds on the size of what a bundle may hold (see ``engine.bpmn.limits``).

A deployable 10,000-element diagram took 620 s to start, a 4,000-rule decision table 23 s
to check at upload, and a form pattern such as ``^(a+)+$`` made Python's backtracking
regex engine take seconds for 27 characters. Refused here, each with a problem naming the
file, the element (or JSON path) and the line:

* a process (its subprocesses included) with more than ``max_flow_elements`` flow
  elements (``MAX_FLOW_ELEMENTS``);
* a form file of more than ``max_form_kb`` KB (``MAX_FORM_KB``) or JSON nested more than
  ``max_form_depth`` levels (``MAX_FORM_DEPTH``);
* a form ``pattern`` or ``patternProperties`` key RE2 cannot compile (backreferences,
  lookaround): the server evaluates every pattern with RE2 (``engine.bpmn.forms``), in
  time linear in the input, so a pattern it cannot read would not mean what it says;
* ``unevaluatedProperties`` beside ``patternProperties`` (jsonschema would match those
  patterns with Python's backtracking engine).

* a decision table of more than ``max_dmn_rules`` rules (``MAX_DMN_RULES``), so the gap
  check of ``engine.bpmn.dmn_check`` only ever sees tables it checks quickly.

The size bounds (:func:`check_sizes`) run first, over the whole bundle, and a bundle
breaking one is refused at once: an oversized upload costs milliseconds, not the other
checks of every deployed file.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import re2
from lxml import etree

from engine.bpmn import limits as bpmn_limits
from engine.bpmn.dmn_check import Problem
from engine.bpmn.namespaces import bpmn

CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
# children of a process or subprocess that are not flow elements
_NOT_FLOW = frozenset({"laneSet", "documentation", "extensionElements", "ioSpecification", "property",
                       "textAnnotation", "association", "group", "multiInstanceLoopCharacteristics",
                       "standardLoopCharacteristics", "incoming", "outgoing", "dataInputAssociation",
                       "dataOutputAssociation", "ioBinding", "auditing", "monitoring", "supportedInterfaceRef"})
# keywords whose value is a schema, a list of schemas or a map of schemas (draft 2020-12)
_SCHEMA = ("additionalProperties", "unevaluatedProperties", "items", "contains", "propertyNames", "if", "then",
           "else", "not", "unevaluatedItems", "additionalItems")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def re2_options() -> Any:
    """RE2's options for form patterns (errors are ours to report, not RE2's to log)."""
    return _RE2_OPTIONS


# -- BPMN -------------------------------------------------------------------------------
def flow_element_count(process: Any) -> int:
    """Flow elements of ``process``, nested subprocesses' included (iteratively)."""
    count, todo = 0, [process]
    while todo:
        container = todo.pop()
        for child in container:
            if not isinstance(child.tag, str) or etree.QName(child).localname in _NOT_FLOW:
                continue
            count += 1
            if etree.QName(child).localname in CONTAINERS:
                todo.append(child)
    return count


def check_bpmn_size(name: str, root: Any) -> list[Problem]:
    maximum = bpmn_limits.current().max_flow_elements
    problems = []
    for process in root.iter(bpmn("process")):
        count = flow_element_count(process)
        if count > maximum:
            problems.append(Problem(name, process.get("id"), process.sourceline,
                                    f"process {process.get('id')!r} has {count} flow elements, more than the "
                                    f"maximum of {maximum} (MAX_FLOW_ELEMENTS): split it into called processes"))
    return problems


# -- DMN ----------------------------------------------------------------------------------
def check_dmn_size(name: str, root: Any) -> list[Problem]:
    maximum = bpmn_limits.current().max_dmn_rules
    problems = []
    for table in root.iter():
        if not isinstance(table.tag, str) or etree.QName(table).localname != "decisionTable":
            continue
        count = sum(1 for child in table if isinstance(child.tag, str) and etree.QName(child).localname == "rule")
        if count > maximum:
            decision = table.getparent()
            where = decision.get("id") if decision is not None else table.get("id")
            problems.append(Problem(name, where, table.sourceline, f"decision {where} has {count} rules, more than "
                                    f"the maximum of {maximum} (MAX_DMN_RULES)"))
    return problems


def check_sizes(texts: dict[str, str], roots: dict[str, Any]) -> list[Problem]:
    """Every size bound of a bundle, cheap, before any check whose cost grows with the
    content (the DMN gap check, the diagram walks, SpiffWorkflow's parse)."""
    problems = []
    for name in sorted(texts):
        kind = name.lower().rsplit(".", 1)[-1]
        if kind == "json":
            problems += check_form_size(name, texts[name])
        elif kind == "dmn" and name in roots:
            problems += check_dmn_size(name, roots[name])
        elif kind == "bpmn" and name in roots:
            problems += check_bpmn_size(name, roots[name])
    return problems


# -- forms ----------------------------------------------------------------------------------
def check_form_size(name: str, text: str) -> list[Problem]:
    maximum = bpmn_limits.current().max_form_kb
    if len(text.encode("utf-8")) > maximum * 1024:
        return [Problem(name, None, None, f"the form is larger than the maximum of {maximum} KB (MAX_FORM_KB)")]
    return []


def check_form_schema(name: str, schema: Any) -> list[Problem]:
    """Depth, patterns and keyword combinations of a parsed form (a valid JSON document)."""
    too_deep = _too_deep(schema, bpmn_limits.current().max_form_depth)
    if too_deep is not None:
        return [Problem(name, _path(too_deep), None, f"the form nests deeper than the maximum of "
                        f"{bpmn_limits.current().max_form_depth} levels (MAX_FORM_DEPTH)")]
    problems = []
    for path, node in _schemas(schema):
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            problems += _check_pattern(name, [*path, "pattern"], pattern)
        keys = node.get("patternProperties")
        if isinstance(keys, dict):
            for key in keys:
                problems += _check_pattern(name, [*path, "patternProperties", key], key)
            if "unevaluatedProperties" in node:
                problems.append(Problem(name, _path([*path, "unevaluatedProperties"]), None,
                                        "unevaluatedProperties beside patternProperties is not supported"))
    return problems


def _check_pattern(name: str, path: list[str], pattern: str) -> list[Problem]:
    try:
        re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as err:
        why = err.args[0].decode("utf-8", "replace") if err.args and isinstance(err.args[0], bytes) else str(err)
        return [Problem(name, _path(path), None, f"pattern {pattern!r} is not supported: {why} (patterns are "
                        f"evaluated with RE2: no backreferences or lookaround)")]
    return []


def _too_deep(document: Any, maximum: int) -> list[str] | None:
    """The path of the first node nested deeper than ``maximum`` containers, or None."""
    todo: list[tuple[Any, list[str]]] = [(document, [])]
    while todo:
        node, path = todo.pop()
        if isinstance(node, (dict, list)):
            if len(path) >= maximum:
                return path
            items = node.items() if isinstance(node, dict) else enumerate(node)
            todo.extend((value, [*path, str(key)]) for key, value in items)
    return None


def _schemas(schema: Any) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """Every (sub)schema object of ``schema`` with its JSON path."""
    todo: list[tuple[list[str], Any]] = [([], schema)]
    while todo:
        path, node = todo.pop()
        if not isinstance(node, dict):
            continue
        yield path, node
        for keyword in _SCHEMA:
            value = node.get(keyword)
            if isinstance(value, list):  # "items" as a list (before draft 2020-12)
                todo.extend(([*path, keyword, str(i)], sub) for i, sub in enumerate(value))
            elif value is not None:
                todo.append(([*path, keyword], value))
        for keyword in _SCHEMA_LISTS:
            if isinstance(node.get(keyword), list):
                todo.extend(([*path, keyword, str(i)], sub) for i, sub in enumerate(node[keyword]))
        for keyword in _SCHEMA_MAPS:
            if isinstance(node.get(keyword), dict):
                todo.extend(([*path, keyword, key], sub) for key, sub in node[keyword].items())


def _path(parts: list[str]) -> str:
    return "/".join(parts) or "(the whole form)"
