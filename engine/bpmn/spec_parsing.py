"""Parse a bundle of BPMN/DMN/form files into process specs; (de)serialize specs.

``parse_bundle`` runs, in order, and raises one ``SpecInvalid`` listing every problem
(``.errors``: filename -> messages; ``.file``/``.element_id``/``.line`` describe the first;
``.problems``: every problem as a ``dmn_check.Problem``):

1. every file: known kind (.bpmn, .dmn, .json), UTF-8, well-formed XML parsed with entity
   resolution and network access off, and no DOCTYPE (so no entities at all);
   then the size bounds of ``engine.bpmn.bundle_limits`` (flow elements per process, rules
   per decision table, form size), which refuse an oversized bundle before anything else;
2. forms: JSON, nested at most ``MAX_FORM_DEPTH`` deep, a valid JSON Schema (draft
   2020-12) whose patterns RE2 reads (``spec_validation.check_form``);
3. DMN: see ``engine.bpmn.dmn_check`` (one decision per file, cells lint clean), then
   every table against its inputs' domains (``engine.bpmn.dmn_domains``: declared values,
   or what the calling diagrams and forms produce) for gaps and overlaps
   (``engine.bpmn.dmn_coverage``);
4. BPMN conventions: see ``engine.bpmn.spec_validation``;
5. SpiffWorkflow's own parse (XSD validation, structure) of every executable process, on
   a copy read with the conventions of ``engine.bpmn.other_modelers`` (lane roles, the
   generic form, ISO timer literals, empty default conditions).

With ``view_only=True`` (a process owner's upload) a problem that only keeps a process from
running here (``cannot_run``: a lane that is no role, an unknown operation, a construct
SpiffWorkflow refuses, a process marked not executable ...) does not refuse the bundle: that
process is returned in ``ParsedBundle.view_only`` with the reasons, to be drawn and tested
but not started. A malformed, unsafe or oversized file, or a broken table or form, is
always refused.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bpmn import (
    bundle_limits,
    dmn_coverage,
    dmn_domains,
    other_modelers,
    spec_building,
    spec_validation,
    state_formats,
)
from engine.bpmn import limits as bpmn_limits
from engine.bpmn.dmn_check import REFUSED, DecisionTable, Problem, read_dmn
from engine.bpmn.namespaces import bpmn, safe_parser
from engine.bpmn.spec_building import ParsedProcess
from engine.errors import SpecInvalid

KINDS = {".bpmn": "bpmn", ".dmn": "dmn", ".json": "form"}
SPEC_FORMAT = f"spiff-{VERSION}-specs"
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)


@dataclass(frozen=True)
class ParsedBundle:
    processes: dict[str, ParsedProcess]  # the ones that run
    decisions: dict[str, str]  # decision id -> DMN filename
    view_only: dict[str, ParsedProcess] = field(default_factory=dict)  # drawn and testable, never started


# -- the bundle -----------------------------------------------------------------------
_BUNDLE_CACHE_SIZE = 4
_bundle_cache: OrderedDict[str, ParsedBundle] = OrderedDict()
_bundle_lock = threading.Lock()


def parse_bundle(files: dict[str, bytes | str], view_only: bool = False) -> ParsedBundle:
    """Validate every file and build the spec of every executable process (see the module
    docstring for ``view_only``).

    Parsing and the DMN checks take a second or more for a full workflows/ folder, and
    every start-up and worker deploys the same files: a valid bundle is remembered by the
    hash of its content (specs are never mutated after parsing)."""
    key = _bundle_key(files, view_only)
    with _bundle_lock:
        hit = _bundle_cache.get(key)
        if hit is not None:
            _bundle_cache.move_to_end(key)
            return hit
    bundle = _parse_bundle(files, view_only)
    with _bundle_lock:
        _bundle_cache[key] = bundle
        while len(_bundle_cache) > _BUNDLE_CACHE_SIZE:
            _bundle_cache.popitem(last=False)
    return bundle


def _bundle_key(files: dict[str, bytes | str], view_only: bool) -> str:
    digest = hashlib.sha256(bpmn_limits.current().deploy_key().encode() + f"\0{view_only}\0".encode())
    for name in sorted(files):
        content = files[name]
        digest.update(name.encode() + b"\0")
        digest.update(content.encode() if isinstance(content, str) else content)
        digest.update(b"\0\0")
    return digest.hexdigest()


def _parse_bundle(files: dict[str, bytes | str], view_only: bool) -> ParsedBundle:
    problems: list[Problem] = []
    texts, roots = {}, {}
    for name in sorted(files):
        text, found = _decode(name, files[name])
        problems += found
        if text is None:
            continue
        texts[name] = text
        if name.lower().endswith((".bpmn", ".dmn")):
            root, found = _parse_xml(name, text)
            problems += found
            if root is not None:
                roots[name] = root
    oversized = bundle_limits.check_sizes(texts, roots)
    if oversized:  # refused at once: the checks below grow with the content
        raise_problems(problems + oversized)
    forms = {n for n in texts if n.lower().endswith(".json")}
    for name in sorted(forms):
        problems += spec_validation.check_form(name, texts[name])
    diagrams = {n: r for n, r in sorted(roots.items()) if n.lower().endswith(".bpmn")}
    decisions, found = _check_decisions(roots, diagrams, {n: texts[n] for n in forms})
    problems += found
    process_ids = {p.get("id") for r in diagrams.values() for p in r.iter(bpmn("process"))}
    for name, root in diagrams.items():
        problems += spec_validation.check_bpmn(name, root, decisions, forms | {other_modelers.GENERIC_FORM},
                                               process_ids)
    refusals = [p for p in problems if p.kind == REFUSED]
    if refusals or (problems and not view_only):
        raise_problems(refusals if view_only else problems)  # what would only keep a process from running waits
    texts.setdefault(other_modelers.GENERIC_FORM, other_modelers.GENERIC_FORM_TEXT)
    processes, shown, refusals = spec_building.build_processes(roots, texts, decisions, problems, view_only)
    if refusals:
        raise_problems(refusals)
    return ParsedBundle(processes, decisions, shown)


def _check_decisions(roots: dict, diagrams: dict, forms: dict[str, str]) -> tuple[dict[str, str], list[Problem]]:
    """Each DMN file's table, then every table against its inputs' domains."""
    problems: list[Problem] = []
    decisions: dict[str, str] = {}
    tables: dict[str, DecisionTable] = {}
    for name in sorted(n for n in roots if n.lower().endswith(".dmn")):
        decision_id, table, found = read_dmn(name, roots[name])
        problems += found
        if decision_id is None:
            continue
        if decision_id in decisions:
            problems.append(Problem(name, decision_id, spec_building.line_of(roots[name], decision_id),
                                    f"decision {decision_id!r} is also defined in {decisions[decision_id]}"))
            continue
        decisions[decision_id] = name
        if table is not None:
            tables[decision_id] = table
    if problems:
        return decisions, problems
    domains, problems = dmn_domains.input_domains(tables, diagrams, forms)
    if problems:
        return decisions, problems
    for decision_id, table in tables.items():
        problems += dmn_coverage.analyse(table, {i: domains[(decision_id, i)] for i in range(len(table.inputs))})
    return decisions, problems


def raise_problems(problems: list[Problem]) -> None:
    """Raise one ``SpecInvalid`` listing ``problems`` (by file, then line)."""
    by_file: dict[str, list[Problem]] = {}
    for problem in problems:
        by_file.setdefault(problem.file, []).append(problem)
    ordered = [p for f in by_file for p in sorted(by_file[f], key=lambda p: p.line or 0)]
    first = ordered[0]
    exc = SpecInvalid(first.message, file=first.file, element_id=first.element_id, line=first.line)
    exc.errors = {}
    for p in ordered:
        one = SpecInvalid(p.message, file=p.file, element_id=p.element_id, line=p.line)
        for file, messages in one.errors.items():
            exc.errors.setdefault(file, []).extend(messages)
    exc.problems = ordered
    raise exc


def _decode(name: str, content: bytes | str) -> tuple[str | None, list[Problem]]:
    if Path(name).name != name or name.startswith(".") or Path(name).suffix.lower() not in KINDS:
        return None, [Problem(name, None, None, "not a bare .bpmn, .dmn or .json file name")]
    if isinstance(content, str):
        return content.lstrip("\ufeff"), []
    try:
        return content.decode("utf-8-sig"), []
    except UnicodeDecodeError as err:
        return None, [Problem(name, None, None, f"not UTF-8 text: {err.reason} at byte {err.start}")]


def _parse_xml(name: str, text: str):
    # Entities off, no network, no DTD loading; the text is parsed as the UTF-8 we hold.
    try:
        root = etree.fromstring(text.encode("utf-8"), safe_parser())
    except etree.XMLSyntaxError as err:
        return None, [Problem(name, None, err.lineno, f"malformed XML: {err.msg}")]
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD is not None:
        return None, [Problem(name, None, 1, "DOCTYPE declarations (and so entities) are not allowed")]
    return root, []


# -- files on disk --------------------------------------------------------------------
def load_directory(path) -> dict[str, bytes]:
    """Every .bpmn/.dmn under ``path/bpmn`` and ``path/dmn`` and .json under ``path/forms``,
    keyed by bare filename (which must be unique)."""
    root = Path(path)
    found: dict[str, bytes] = {}
    origin: dict[str, Path] = {}
    for folder, suffixes in (("bpmn", (".bpmn", ".dmn")), ("dmn", (".bpmn", ".dmn")), ("forms", (".json",))):
        for file in sorted((root / folder).rglob("*")):
            if not file.is_file() or file.suffix.lower() not in suffixes:
                continue
            if file.name in found:
                raise SpecInvalid(f"{file.name} exists twice: {origin[file.name]} and {file}", file=file.name)
            found[file.name], origin[file.name] = file.read_bytes(), file
    return found


# -- specs <-> JSON ---------------------------------------------------------------------
def serialize_specs(spec, subprocess_specs: dict) -> str:
    """A process spec and its subprocess specs as JSON text (DMN tables included)."""
    return json.dumps({
        "format": SPEC_FORMAT,
        "spec": _REGISTRY.convert(spec),
        "subprocess_specs": {name: _REGISTRY.convert(s) for name, s in sorted(subprocess_specs.items())},
    }, sort_keys=True, separators=(",", ":"))


def restore_specs(text: str) -> tuple[object, dict]:
    """The inverse of :func:`serialize_specs`: ``(spec, subprocess_specs)``."""
    dct = json.loads(text)
    state_formats.upgrade_specs(dct)  # saved by an older engine: converted (or UnknownFormat, a ValueError)
    return (_REGISTRY.restore(dct["spec"]),
            {name: _REGISTRY.restore(s) for name, s in dct["subprocess_specs"].items()})


def user_task_properties(task_spec) -> dict[str, str]:
    """The ``spiffworkflow:properties`` of a task spec (form, due, priority, ...)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties") or {})
