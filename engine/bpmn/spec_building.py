"""Building the specs of a bundle's processes with SpiffWorkflow's parser (step 5 of
``engine.bpmn.spec_parsing.parse_bundle``), and deciding which of them run here and which
are only drawn (view-only), with the reasons.

The parser reads a copy of each diagram with the conventions of
``engine.bpmn.other_modelers`` applied; file names, element ids and lines in problems are
those of the files as uploaded.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.bpmn import other_modelers, process_properties
from engine.bpmn.dmn_check import CANNOT_RUN, Problem, owner_id
from engine.bpmn.namespaces import NS, bpmn


@dataclass(frozen=True)
class ParsedProcess:
    process_id: str
    name: str
    spec: object = field(repr=False)  # BpmnProcessSpec
    subprocess_specs: dict = field(repr=False)
    files: dict[str, str] = field(repr=False)  # filename -> text of every file the process needs
    content_hash: str
    start_roles: tuple[str, ...] = ()  # who may start it through the API (engine.bpmn.process_properties)
    reasons: tuple[Problem, ...] = ()  # why it cannot run here (a view-only process); empty: it runs
    file: str = ""  # the BPMN file that defines it

    @property
    def runnable(self) -> bool:
        return not self.reasons


def build_processes(roots: dict, texts: dict, decisions: dict, cannot_run: list[Problem],
                 view_only: bool) -> tuple[dict, dict, list[Problem]]:
    """(runnable processes, view-only processes, refusals). Without ``view_only`` every
    problem is a refusal (``cannot_run`` is then empty: the caller raised already)."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    engine_roots = {name: other_modelers.for_the_engine(root) if name.lower().endswith(".bpmn") else root
                    for name, root in roots.items()}
    refusals: list[Problem] = []
    for name, root in engine_roots.items():  # a diagram the BPMN schema refuses is malformed: refused
        if not name.lower().endswith(".bpmn"):
            continue
        try:
            VALIDATOR.validate(root, name)
        except (SpiffWorkflowException, LookupError, AttributeError, TypeError, ValueError) as err:
            refusals.append(_from_spiff(err, name, roots))
    if refusals:
        return {}, {}, refusals
    unreadable: dict[str, Problem] = {}
    for name, root in engine_roots.items():  # the parser keys lanes by id(root): keep roots alive
        problem = None
        try:
            if name.lower().endswith(".dmn"):
                parser.add_dmn_xml(root, filename=name)  # validated against its DMN schema on the way
            else:
                parser.validator = None  # validated above: what fails now is a construct it cannot read
                parser.add_bpmn_xml(root, filename=name)
        except (SpiffWorkflowException, LookupError, AttributeError, TypeError, ValueError) as err:
            problem = _from_spiff(err, name, roots)
        finally:
            parser.validator = VALIDATOR
        if problem is not None:
            if not view_only or name.lower().endswith(".dmn"):
                refusals.append(problem)
            unreadable[name] = Problem(problem.file, problem.element_id, problem.line, problem.message, CANNOT_RUN)
    if refusals:
        return {}, {}, refusals
    reasons = _reasons_by_process(roots, cannot_run, view_only)
    built: dict[str, ParsedProcess] = {}
    for process_id, (name, element) in sorted(_processes(roots, view_only).items()):
        found = list(reasons.get(process_id, ()))
        spec = subprocess_specs = None
        try:
            if name in unreadable:
                found.append(unreadable[name])
                raise LookupError(unreadable[name].message)
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except (SpiffWorkflowException, LookupError, AttributeError, TypeError, ValueError, RecursionError) as err:
            problem = _from_spiff(err, name, roots)
            if not view_only:
                refusals.append(problem)
                continue
            if not found:
                found.append(Problem(problem.file, problem.element_id, problem.line, problem.message, CANNOT_RUN))
        needed = (_needed_files(spec, subprocess_specs or {}, texts, decisions) if spec is not None
                  else _referenced_files(name, element, texts, decisions))
        label = (spec.description if spec is not None else element.get("name")) or process_id
        built[process_id] = ParsedProcess(process_id, label, spec, subprocess_specs or {}, needed, content_hash(needed),
                                          process_properties.start_roles(roots[name], process_id), tuple(found), name)
    _calls_view_only(built)
    runnable = {pid: p for pid, p in built.items() if p.runnable}
    shown = {pid: p for pid, p in built.items() if not p.runnable}
    return runnable, shown, refusals


def _processes(roots: dict, view_only: bool) -> dict[str, tuple[str, Any]]:
    """process id -> (file, element): the executable processes, and for a view-only parse
    also those marked not executable that hold any flow element (not an empty pool)."""
    found = {}
    for name, root in roots.items():
        for process in root.iter(bpmn("process")):
            executable = process.get("isExecutable", "true") == "true"
            drawn = any(isinstance(child.tag, str) and child.tag != bpmn("laneSet") for child in process)
            if executable or (view_only and drawn):
                found[process.get("id")] = (name, process)
    return found


def _reasons_by_process(roots: dict, problems: list[Problem], view_only: bool) -> dict[str, list[Problem]]:
    """Each ``cannot_run`` problem under the process holding its element (every process of
    its file when the element belongs to none), plus 'not executable' where it applies."""
    owner: dict[tuple[str, str], str] = {}
    by_file: dict[str, list[str]] = {}
    found: dict[str, list[Problem]] = {}
    for name, root in roots.items():
        for process in root.iter(bpmn("process")):
            by_file.setdefault(name, []).append(process.get("id"))
            for element in process.iter():
                if isinstance(element.tag, str) and element.get("id"):
                    owner[(name, element.get("id"))] = process.get("id")
            if view_only and process.get("isExecutable", "true") != "true":
                found.setdefault(process.get("id"), []).append(Problem(
                    name, process.get("id"), process.sourceline,
                    'the process is marked not executable (isExecutable="false"): it is drawn, not run', CANNOT_RUN))
    for problem in problems:
        process_id = owner.get((problem.file, problem.element_id or ""))
        for pid in [process_id] if process_id else by_file.get(problem.file, []):
            found.setdefault(pid, []).append(problem)
    return found


def _calls_view_only(built: dict[str, ParsedProcess]) -> None:
    """A process that calls one that cannot run cannot run either (in place, until stable)."""
    changed = True
    while changed:
        changed = False
        for pid, process in list(built.items()):
            if not process.runnable:
                continue
            blocked = sorted(c for c in process.subprocess_specs if c in built and not built[c].runnable)
            if blocked:
                built[pid] = replace(process, reasons=(Problem(
                    process.file, pid, None, f"it calls {', '.join(blocked)}, which cannot run here",
                    CANNOT_RUN),))
                changed = True


def _referenced_files(name: str, element, texts: dict, decisions: dict) -> dict[str, str]:
    """The files a process needs, read from its XML (when SpiffWorkflow could not build it)."""
    names: set[str | None] = {name}
    for prop in element.iterfind(".//spiffworkflow:property[@name='form']", NS):
        names.add(prop.get("value"))
    for ref in element.iterfind(".//spiffworkflow:calledDecisionId", NS):
        names.add(decisions.get((ref.text or "").strip()))
    return {n: texts[n] for n in sorted(n for n in names if n is not None and n in texts)}


def _from_spiff(err: Exception, default_file: str, roots: dict) -> Problem:
    message = err.args[0] if err.args and isinstance(err.args[0], str) else f"{type(err).__name__}: {err}"
    if "maximum recursion depth" in message:  # SpiffWorkflow follows each path recursively
        message = ("the process is too long a chain of elements for the engine to read (a path of several "
                   "hundred elements): split it into called processes")
    message += "".join(f". {note}" for note in getattr(err, "notes", []))
    file = getattr(err, "file_name", None) or default_file
    element_id = getattr(err, "id", None) or None
    line = getattr(err, "line_number", None)
    line = line if isinstance(line, int) else None
    if element_id is None:
        quoted = re.findall(r"'([^']+)'|\"([^\"]+)\"", message)
        known = {el.get("id") for el in roots[file].iter() if el.get("id")} if file in roots else set()
        element_id = next((a or b for a, b in quoted if (a or b) in known), None)
    if element_id is None and file in roots:  # "Data Store with name Case files has ...": the named element
        named = sorted(((el.get("name"), el.get("id")) for el in roots[file].iter()
                        if el.get("name") and el.get("id") and el.get("name") in message), key=lambda n: -len(n[0]))
        element_id = named[0][1] if named else None
    if file in roots:
        if line is None and element_id:
            line = line_of(roots[file], element_id)
        elif element_id is None and line:
            element_id = next((owner_id(el) for el in roots[file].iter() if el.sourceline == line), None)
        if message.startswith(_UNSUPPORTED):
            message = _unsupported(roots[file], element_id, message)
    return Problem(file, element_id, line, message)


_UNSUPPORTED = "There is no support implemented for this task type"


def _unsupported(root, element_id: str | None, message: str) -> str:
    """SpiffWorkflow's "no support for this task type", naming the element's type."""
    element = next((el for el in root.iter() if element_id and el.get("id") == element_id), None)
    if element is None or not isinstance(element.tag, str):
        return message
    kind = re.sub(r"(?<!^)(?=[A-Z])", " ", etree.QName(element).localname).lower()
    named = f" ({element.get('name')!r})" if element.get("name") else ""
    advice = ("use exclusive, inclusive or parallel gateways instead" if kind.endswith("gateway")
              else "draw that step with an element type it runs (a user, script, service or business rule task)")
    return f"this is a {kind}{named}, an element type the engine does not support: {advice}"


def line_of(root, element_id: str) -> int | None:
    return next((el.sourceline for el in root.iter() if el.get("id") == element_id), None)


def _needed_files(spec, subprocess_specs: dict, texts: dict, decisions: dict) -> dict[str, str]:
    names = set()
    for one in [spec, *subprocess_specs.values()]:
        names.add(one.file)
        for task_spec in one.task_specs.values():
            extensions = getattr(task_spec, "extensions", None) or {}
            names.add(decisions.get(extensions.get("calledDecisionId")))
            names.add((extensions.get("properties") or {}).get("form"))
    return {n: texts[n] for n in sorted(n for n in names if n is not None and n in texts)}


def content_hash(files: dict[str, str]) -> str:
    """sha256 over the sorted (filename, content) pairs."""
    return hashlib.sha256(json.dumps(sorted(files.items()), ensure_ascii=False).encode("utf-8")).hexdigest()
