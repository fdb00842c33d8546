"""Parse and validate a bundle of BPMN/DMN/form files; (de)serialize process specs.

``parse_bundle`` runs, in order, and raises one ``SpecInvalid`` listing every problem
(``.errors``: filename -> messages; ``.file``/``.element_id``/``.line`` describe the first;
``.problems``: every problem as a ``dmn_check.Problem``):

1. every file: known kind (.bpmn, .dmn, .json), UTF-8, well-formed XML parsed with entity
   resolution and network access off, and no DOCTYPE (so no entities at all);
2. forms: JSON and a valid JSON Schema (draft 2020-12);
3. DMN: see ``engine.dmn_check`` (one decision per file, cells lint clean, gaps/overlaps);
4. BPMN conventions: lanes named after roles; user/manual task properties (``form``
   required on user tasks and present in the bundle, ``due``, ``priority``,
   ``assign_to``, ``title``; nothing else); business rule tasks call a known decision;
   call activities call a known process; sequence flows join elements of their process;
   scripts, pre/post scripts, conditions, loop expressions and timers lint clean with
   ``engine.scripting.lint`` (timers are expressions: an ISO literal must be quoted);
5. only if all that passed: SpiffWorkflow's own parse (XSD validation, structure) of
   every executable process.
"""
from __future__ import annotations

import hashlib
import json
import keyword
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bpmn.dmn_check import Problem, check_dmn, lint, owner_id
from engine.bpmn import operations
from engine.errors import SpecInvalid
from engine.models.people import ROLES

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
KINDS = {".bpmn": "bpmn", ".dmn": "dmn", ".json": "form"}
TASK_PROPERTIES = ("form", "due", "priority", "assign_to", "title")
PRIORITIES = ("risk", "high", "medium", "low")
SPEC_FORMAT = f"spiff-{VERSION}-specs"
_ISO_DURATION = re.compile(r"P(?:\d+W|(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)",
                           re.IGNORECASE)
_ISO_LOOKALIKE = re.compile(r"(R\d*/)?P[\dYMWDTHS.,]+|\d{4}-\d\d[-\dT:.Z+]*", re.IGNORECASE)
_EXPRESSIONS = ("conditionExpression", "completionCondition", "loopCardinality", "loopCondition", "condition")
_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)


@dataclass(frozen=True)
class ParsedProcess:
    process_id: str
    name: str
    spec: object = field(repr=False)  # BpmnProcessSpec
    subprocess_specs: dict = field(repr=False)
    files: dict[str, str] = field(repr=False)  # filename -> text of every file the process needs
    content_hash: str


@dataclass(frozen=True)
class ParsedBundle:
    processes: dict[str, ParsedProcess]
    decisions: dict[str, str]  # decision id -> DMN filename


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _s(tag: str) -> str:
    return f"{{{SPIFF_NS}}}{tag}"


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
    digest = hashlib.sha256()
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
    forms = {n for n in texts if n.lower().endswith(".json")}
    for name in sorted(forms):
        problems += _check_form(name, texts[name])
    decisions: dict[str, str] = {}
    for name in sorted(n for n in roots if n.lower().endswith(".dmn")):
        ids, found = check_dmn(name, roots[name])
        problems += found
        for decision_id in ids:
            if decision_id in decisions:
                problems.append(Problem(name, decision_id, _line_of(roots[name], decision_id),
                                        f"decision {decision_id!r} is also defined in {decisions[decision_id]}"))
            decisions.setdefault(decision_id, name)
    bpmn = {n: r for n, r in sorted(roots.items()) if n.lower().endswith(".bpmn")}
    process_ids = {p.get("id") for r in bpmn.values() for p in r.iter(_q("process"))}
    for name, root in bpmn.items():
        problems += _check_bpmn(name, root, decisions, forms, process_ids)
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
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, encoding="utf-8")
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as err:
        return None, [Problem(name, None, err.lineno, f"malformed XML: {err.msg}")]
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD is not None:
        return None, [Problem(name, None, 1, "DOCTYPE declarations (and so entities) are not allowed")]
    return root, []


def _check_form(name: str, text: str) -> list[Problem]:
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as err:
        return [Problem(name, None, err.lineno, f"not JSON: {err.msg}")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(p) for p in err.absolute_path) or None
        return [Problem(name, where, None, f"not a valid JSON Schema (draft 2020-12): {err.message}")]
    return []


# -- BPMN conventions -----------------------------------------------------------------
def _check_bpmn(name: str, root, decisions: dict, forms: set, processes: set) -> list[Problem]:
    if root.tag != _q("definitions"):
        return [Problem(name, root.get("id"), root.sourceline, "not a BPMN 2.0 document (root must be "
                        "<definitions> in the BPMN 2.0 model namespace)")]
    problems = []
    for lane in root.iter(_q("lane")):
        if lane.get("name") not in ROLES:
            problems.append(Problem(name, lane.get("id"), lane.sourceline,
                                    f"lane {lane.get('name')!r} is not a role (one of {', '.join(ROLES)})"))
    for container in root.iter(*map(_q, _CONTAINERS)):
        members = {child.get("id") for child in container if child.get("id")}
        for flow in container.findall(_q("sequenceFlow")):
            for attr in ("sourceRef", "targetRef"):
                if flow.get(attr) not in members:
                    problems.append(Problem(name, flow.get("id"), flow.sourceline,
                                            f"sequence flow {attr} {flow.get(attr)!r} is no element of "
                                            f"{container.get('id')}"))
    for task in root.iter(_q("userTask"), _q("manualTask")):
        problems += _check_properties(name, task, forms)
    for task in root.iter(_q("scriptTask")):
        scripts = [c for c in task if isinstance(c.tag, str) and c.tag.endswith("script")]
        if not scripts or not (scripts[-1].text or "").strip():
            problems.append(Problem(name, task.get("id"), task.sourceline, "script task has no script"))
        else:
            problems += lint(scripts[-1].text, "exec", name, scripts[-1], "script", task.get("id"))
    for tag in ("preScript", "postScript"):
        for script in root.iter(_s(tag)):
            problems += lint(script.text or "", "exec", name, script, tag)
    for element in root.iter(*map(_q, _EXPRESSIONS)):
        text, kind = (element.text or "").strip(), etree.QName(element).localname
        if text:
            problems += lint(element.text, "eval", name, element, kind)
        elif kind == "conditionExpression":
            problems.append(Problem(name, owner_id(element), element.sourceline, "conditionExpression is empty"))
    for timer in root.iter(_q("timerEventDefinition")):
        for child in timer.iterchildren(_q("timeDuration"), _q("timeDate"), _q("timeCycle")):
            problems += _check_timer(name, child)
    for task in root.iter(_q("businessRuleTask")):
        ref = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
        ref = (ref.text or "").strip() if ref is not None else ""
        if ref not in decisions:
            problems.append(Problem(name, task.get("id"), task.sourceline,
                                    f"business rule task calls decision {ref!r}, which no DMN file of the "
                                    f"bundle defines (known: {', '.join(sorted(decisions)) or 'none'})"))
    problems += _check_service_tasks(name, root)
    problems += _check_lane_membership(name, root)
    for call in root.iter(_q("callActivity")):
        if call.get("calledElement") not in processes:
            problems.append(Problem(name, call.get("id"), call.sourceline, f"call activity calls process "
                                    f"{call.get('calledElement')!r}, which no BPMN file of the bundle defines"))
    return problems


def _check_service_tasks(name: str, root) -> list[Problem]:
    """A service task names a registered operation; its parameters are expressions."""
    problems, known = [], operations.known_operations()
    for task in root.iter(_q("serviceTask")):
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        if operator is None or operator.get("id") not in known:
            problems.append(Problem(name, task.get("id"), task.sourceline,
                                    f"service task calls operation {operator.get('id') if operator is not None else None!r}, "
                                    f"which the engine does not provide (known: {', '.join(sorted(known)) or 'none'})"))
            continue
        for param in operator.iter(_s("parameter")):
            problems += lint(param.get("value") or "", "eval", name, param, "parameter", task.get("id"))
    return problems


def _check_lane_membership(name: str, root) -> list[Problem]:
    """A user task outside every lane, with no assignee, would be offered to nobody."""
    in_lanes = {(ref.text or "").strip() for ref in root.iter(_q("flowNodeRef"))}
    problems = []
    for task in root.iter(_q("userTask")):
        props = {p.get("name") for p in task.iter(_s("property"))}
        if task.get("id") not in in_lanes and "assign_to" not in props:
            problems.append(Problem(name, task.get("id"), task.sourceline,
                                    "user task is in no lane and has no assign_to property: nobody would get it"))
    return problems


def _check_properties(name: str, task, forms: set) -> list[Problem]:
    task_id, problems, seen = task.get("id"), [], set()
    for prop in task.iterfind("bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property", NS):
        key, value, line = prop.get("name"), prop.get("value"), prop.sourceline
        if key not in TASK_PROPERTIES or value is None:
            problems.append(Problem(name, task_id, line, f"task property {key!r} is not one of "
                                    f"{', '.join(TASK_PROPERTIES)} or has no value"))
            continue
        if key in seen:
            problems.append(Problem(name, task_id, line, f"task property {key!r} is given twice"))
        seen.add(key)
        if key == "form" and value not in forms:
            problems.append(Problem(name, task_id, line, f"form {value!r} is not a .json file of the bundle"))
        elif key == "due":
            problems += _check_due(name, task_id, prop, value)
        elif key == "priority" and value not in PRIORITIES:
            problems.append(Problem(name, task_id, line, f"priority {value!r} is not one of {', '.join(PRIORITIES)}"))
        elif key == "assign_to" and (not value.isidentifier() or keyword.iskeyword(value)):
            problems.append(Problem(name, task_id, line, f"assign_to {value!r} is not a variable name"))
    if "form" not in seen and task.tag == _q("userTask"):
        problems.append(Problem(name, task_id, task.sourceline, "user task has no 'form' property"))
    return problems


def _check_due(name: str, task_id: str, prop, value: str) -> list[Problem]:
    text = value.strip()
    if text.upper().startswith("P"):  # read as an ISO duration at run time (tasks_sync)
        if _ISO_DURATION.fullmatch(text):
            return []
        return [Problem(name, task_id, prop.sourceline, f"due {value!r} is not an ISO 8601 duration (like "
                        f"PT24H or P7D); an expression starting with 'p' must be put in parentheses")]
    if not text:
        return [Problem(name, task_id, prop.sourceline, "due is empty")]
    return lint(text, "eval", name, prop, f"due {value!r}", task_id)


def _check_timer(name: str, element) -> list[Problem]:
    text, kind = (element.text or "").strip(), etree.QName(element).localname
    if _ISO_LOOKALIKE.fullmatch(text):
        return [Problem(name, owner_id(element), element.sourceline, f"{kind} {text!r} is a Python expression: "
                        f"quote a literal ISO 8601 value ('{text}')")]
    return lint(element.text or "", "eval", name, element, kind)  # evaluated as written


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
    executable = {p.get("id"): n for n, r in roots.items() for p in r.iter(_q("process"))
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
                                              subprocess_specs, needed, content_hash(needed))
    return processes, problems


def _from_spiff(err: Exception, default_file: str, roots: dict) -> Problem:
    message = err.args[0] if err.args and isinstance(err.args[0], str) else f"{type(err).__name__}: {err}"
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
