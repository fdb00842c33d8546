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
3. DMN: see ``engine.bpmn.dmn_check`` (one decision per file, cells lint clean, gaps/overlaps);
4. BPMN conventions: see ``engine.bpmn.spec_validation``;
5. only if all that passed: SpiffWorkflow's own parse (XSD validation, structure) of
   every executable process.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bpmn import bundle_limits, process_properties, spec_validation
from engine.bpmn import limits as bpmn_limits
from engine.bpmn.dmn_check import Problem, check_dmn, owner_id
from engine.bpmn.namespaces import bpmn, safe_parser
from engine.errors import SpecInvalid

KINDS = {".bpmn": "bpmn", ".dmn": "dmn", ".json": "form"}
SPEC_FORMAT = f"spiff-{VERSION}-specs"
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)


@dataclass(frozen=True)
class ParsedProcess:
    process_id: str
    name: str
    spec: object = field(repr=False)  # BpmnProcessSpec
    subprocess_specs: dict = field(repr=False)
    files: dict[str, str] = field(repr=False)  # filename -> text of every file the process needs
    content_hash: str
    start_roles: tuple[str, ...] = ()  # who may start it through the API (engine.bpmn.process_properties)


@dataclass(frozen=True)
class ParsedBundle:
    processes: dict[str, ParsedProcess]
    decisions: dict[str, str]  # decision id -> DMN filename


# -- the bundle -----------------------------------------------------------------------
_BUNDLE_CACHE_SIZE = 4
_bundle_cache: OrderedDict[str, ParsedBundle] = OrderedDict()
_bundle_lock = threading.Lock()


def parse_bundle(files: dict[str, bytes | str]) -> ParsedBundle:
    """Validate every file and build the spec of every executable process.

    Parsing and the DMN checks take a second or more for a full workflows/ folder, and
    every start-up and worker deploys the same files: a valid bundle is remembered by the
    hash of its content (specs are never mutated after parsing)."""
    key = _bundle_key(files)
    with _bundle_lock:
        hit = _bundle_cache.get(key)
        if hit is not None:
            _bundle_cache.move_to_end(key)
            return hit
    bundle = _parse_bundle(files)
    with _bundle_lock:
        _bundle_cache[key] = bundle
        while len(_bundle_cache) > _BUNDLE_CACHE_SIZE:
            _bundle_cache.popitem(last=False)
    return bundle


def _bundle_key(files: dict[str, bytes | str]) -> str:
    digest = hashlib.sha256(bpmn_limits.current().deploy_key().encode() + b"\0")  # other bounds, other verdict
    for name in sorted(files):
        content = files[name]
        digest.update(name.encode() + b"\0")
        digest.update(content.encode() if isinstance(content, str) else content)
        digest.update(b"\0\0")
    return digest.hexdigest()


def _parse_bundle(files: dict[str, bytes | str]) -> ParsedBundle:
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
        _raise(problems + oversized)
    forms = {n for n in texts if n.lower().endswith(".json")}
    for name in sorted(forms):
        problems += spec_validation.check_form(name, texts[name])
    decisions: dict[str, str] = {}
    for name in sorted(n for n in roots if n.lower().endswith(".dmn")):
        ids, found = check_dmn(name, roots[name])
        problems += found
        for decision_id in ids:
            if decision_id in decisions:
                problems.append(Problem(name, decision_id, _line_of(roots[name], decision_id),
                                        f"decision {decision_id!r} is also defined in {decisions[decision_id]}"))
            decisions.setdefault(decision_id, name)
    diagrams = {n: r for n, r in sorted(roots.items()) if n.lower().endswith(".bpmn")}
    process_ids = {p.get("id") for r in diagrams.values() for p in r.iter(bpmn("process"))}
    for name, root in diagrams.items():
        problems += spec_validation.check_bpmn(name, root, decisions, forms, process_ids)
    processes: dict[str, ParsedProcess] = {}
    if not problems:
        processes, problems = _spiff_parse(roots, texts, decisions)
    if problems:
        _raise(problems)
    return ParsedBundle(processes, decisions)


def _raise(problems: list[Problem]) -> None:
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


# -- SpiffWorkflow's parse ------------------------------------------------------------
def _spiff_parse(roots: dict, texts: dict, decisions: dict) -> tuple[dict, list[Problem]]:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    problems: list[Problem] = []
    for name, root in roots.items():  # the parser keys lanes by id(root): keep roots alive
        try:
            if name.lower().endswith(".dmn"):
                parser.add_dmn_xml(root, filename=name)
            else:
                parser.add_bpmn_xml(root, filename=name)
        except (SpiffWorkflowException, LookupError, AttributeError, TypeError, ValueError) as err:
            problems.append(_from_spiff(err, name, roots))
    if problems:
        return {}, problems
    executable = {p.get("id"): n for n, r in roots.items() for p in r.iter(bpmn("process"))
                  if p.get("isExecutable", "true") == "true"}
    processes = {}
    for process_id, name in sorted(executable.items()):
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except (SpiffWorkflowException, LookupError, AttributeError, TypeError, ValueError) as err:
            problems.append(_from_spiff(err, name, roots))
            continue
        needed = _needed_files(spec, subprocess_specs, texts, decisions)
        processes[process_id] = ParsedProcess(process_id, spec.description or process_id, spec,
                                              subprocess_specs, needed, content_hash(needed),
                                              process_properties.start_roles(roots[name], process_id))
    return processes, problems


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
    if file in roots:
        if line is None and element_id:
            line = _line_of(roots[file], element_id)
        elif element_id is None and line:
            element_id = next((owner_id(el) for el in roots[file].iter() if el.sourceline == line), None)
    return Problem(file, element_id, line, message)


def _line_of(root, element_id: str) -> int | None:
    return next((el.sourceline for el in root.iter() if el.get("id") == element_id), None)


def _needed_files(spec, subprocess_specs: dict, texts: dict, decisions: dict) -> dict[str, str]:
    names = set()
    for one in [spec, *subprocess_specs.values()]:
        names.add(one.file)
        for task_spec in one.task_specs.values():
            extensions = getattr(task_spec, "extensions", None) or {}
            names.add(decisions.get(extensions.get("calledDecisionId")))
            names.add((extensions.get("properties") or {}).get("form"))
    return {n: texts[n] for n in sorted(n for n in names if n in texts)}


def content_hash(files: dict[str, str]) -> str:
    """sha256 over the sorted (filename, content) pairs."""
    return hashlib.sha256(json.dumps(sorted(files.items()), ensure_ascii=False).encode("utf-8")).hexdigest()


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
    if dct.get("format") != SPEC_FORMAT:
        raise ValueError(f"specs are in format {dct.get('format')!r}, this engine reads {SPEC_FORMAT!r}")
    return (_REGISTRY.restore(dct["spec"]),
            {name: _REGISTRY.restore(s) for name, s in dct["subprocess_specs"].items()})


def user_task_properties(task_spec) -> dict[str, str]:
    """The ``spiffworkflow:properties`` of a task spec (form, due, priority, ...)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties") or {})
