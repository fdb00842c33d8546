"""Deploy-time checks of the conventions a BPMN bundle must keep to run here (step 4 of
``engine.bpmn.spec_parsing.parse_bundle``), and of its forms (step 2).

BPMN conventions: lanes named after roles; user/manual task properties (``form`` required
on user tasks and present in the bundle, ``due``, ``priority``, ``assign_to``, ``title``;
nothing else); business rule tasks call a known decision; call activities call a known
process; service tasks call a registered operation; sequence flows join elements of their
process; scripts, pre/post scripts, conditions, loop expressions and timers lint clean with
the sandbox (``engine.bpmn.sandbox.lint``); ``due`` values and constant timer values parse
with ``engine.bpmn.durations`` within its bounds (timers are expressions: an ISO literal
must be quoted).
"""
from __future__ import annotations

import ast
import json
import keyword
import re

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree

from engine.bpmn import bundle_limits, durations, operations, process_properties
from engine.bpmn.dmn_check import Problem, lint, owner_id
from engine.bpmn.namespaces import NS, bpmn, spiff
from engine.models.people import ROLES

TASK_PROPERTIES = ("form", "due", "priority", "assign_to", "title")
PRIORITIES = ("risk", "high", "medium", "low")
_ISO_LOOKALIKE = re.compile(r"(R\d*/)?P[\dYMWDTHS.,]+|\d{4}-\d\d[-\dT:.Z+]*", re.IGNORECASE)
_EXPRESSIONS = ("conditionExpression", "completionCondition", "loopCardinality", "loopCondition", "condition")
_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")


def check_form(name: str, text: str) -> list[Problem]:
    """JSON, within the size and depth bounds, a valid JSON Schema, patterns RE2 reads
    (``engine.bpmn.bundle_limits``)."""
    problems = bundle_limits.check_form_size(name, text)
    if problems:
        return problems
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as err:
        return [Problem(name, None, err.lineno, f"not JSON: {err.msg}")]
    except RecursionError:
        return [Problem(name, None, None, "the form nests too deeply")]
    problems = bundle_limits.check_form_schema(name, schema)
    if problems:
        return problems
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(p) for p in err.absolute_path) or None
        return [Problem(name, where, None, f"not a valid JSON Schema (draft 2020-12): {err.message}")]
    return []


def check_bpmn(name: str, root, decisions: dict, forms: set, processes: set) -> list[Problem]:
    if root.tag != bpmn("definitions"):
        return [Problem(name, root.get("id"), root.sourceline, "not a BPMN 2.0 document (root must be "
                        "<definitions> in the BPMN 2.0 model namespace)")]
    problems = []
    for lane in root.iter(bpmn("lane")):
        if lane.get("name") not in ROLES:
            problems.append(Problem(name, lane.get("id"), lane.sourceline,
                                    f"lane {lane.get('name')!r} is not a role (one of {', '.join(ROLES)})"))
    for container in root.iter(*map(bpmn, _CONTAINERS)):
        members = {child.get("id") for child in container if child.get("id")}
        for flow in container.findall(bpmn("sequenceFlow")):
            for attr in ("sourceRef", "targetRef"):
                if flow.get(attr) not in members:
                    problems.append(Problem(name, flow.get("id"), flow.sourceline,
                                            f"sequence flow {attr} {flow.get(attr)!r} is no element of "
                                            f"{container.get('id')}"))
    for task in root.iter(bpmn("userTask"), bpmn("manualTask")):
        problems += _check_properties(name, task, forms)
    for task in root.iter(bpmn("scriptTask")):
        scripts = [c for c in task if isinstance(c.tag, str) and c.tag.endswith("script")]
        if not scripts or not (scripts[-1].text or "").strip():
            problems.append(Problem(name, task.get("id"), task.sourceline, "script task has no script"))
        else:
            problems += lint(scripts[-1].text, "exec", name, scripts[-1], "script", task.get("id"))
    for tag in ("preScript", "postScript"):
        for script in root.iter(spiff(tag)):
            problems += lint(script.text or "", "exec", name, script, tag)
    for element in root.iter(*map(bpmn, _EXPRESSIONS)):
        text, kind = (element.text or "").strip(), etree.QName(element).localname
        if text:
            problems += lint(element.text, "eval", name, element, kind)
        elif kind == "conditionExpression":
            problems.append(Problem(name, owner_id(element), element.sourceline, "conditionExpression is empty"))
    for timer in root.iter(bpmn("timerEventDefinition")):
        for child in timer.iterchildren(bpmn("timeDuration"), bpmn("timeDate"), bpmn("timeCycle")):
            problems += _check_timer(name, child)
    for task in root.iter(bpmn("businessRuleTask")):
        ref = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
        ref = (ref.text or "").strip() if ref is not None else ""
        if ref not in decisions:
            problems.append(Problem(name, task.get("id"), task.sourceline,
                                    f"business rule task calls decision {ref!r}, which no DMN file of the "
                                    f"bundle defines (known: {', '.join(sorted(decisions)) or 'none'})"))
    problems += process_properties.check_bpmn(name, root)
    problems += _check_service_tasks(name, root)
    problems += _check_lane_membership(name, root)
    for call in root.iter(bpmn("callActivity")):
        if call.get("calledElement") not in processes:
            problems.append(Problem(name, call.get("id"), call.sourceline, f"call activity calls process "
                                    f"{call.get('calledElement')!r}, which no BPMN file of the bundle defines"))
    return problems


def _check_service_tasks(name: str, root) -> list[Problem]:
    """A service task names a registered operation; its parameters are expressions."""
    problems, known = [], operations.known_operations()
    for task in root.iter(bpmn("serviceTask")):
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        if operator is None or operator.get("id") not in known:
            called = operator.get("id") if operator is not None else None
            problems.append(Problem(name, task.get("id"), task.sourceline,
                                    f"service task calls operation {called!r}, which the engine does not provide "
                                    f"(known: {', '.join(sorted(known)) or 'none'})"))
            continue
        for param in operator.iter(spiff("parameter")):
            problems += lint(param.get("value") or "", "eval", name, param, "parameter", task.get("id"))
    return problems


def _check_lane_membership(name: str, root) -> list[Problem]:
    """A user task outside every lane, with no assignee, would be offered to nobody."""
    in_lanes = {(ref.text or "").strip() for ref in root.iter(bpmn("flowNodeRef"))}
    problems = []
    for task in root.iter(bpmn("userTask")):
        props = {p.get("name") for p in task.iter(spiff("property"))}
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
    if "form" not in seen and task.tag == bpmn("userTask"):
        problems.append(Problem(name, task_id, task.sourceline, "user task has no 'form' property"))
    return problems


def _check_due(name: str, task_id: str, prop, value: str) -> list[Problem]:
    text = value.strip()
    if not text:
        return [Problem(name, task_id, prop.sourceline, "due is empty")]
    if durations.is_duration(text):  # read as an ISO duration at run time (engine.bpmn.task_sync)
        try:
            durations.parse_duration(text)
        except durations.DurationError as err:
            return [Problem(name, task_id, prop.sourceline, f"due: {err}; an expression starting with "
                            f"'p' must be put in parentheses")]
        return []
    return lint(text, "eval", name, prop, f"due {value!r}", task_id)


def _check_timer(name: str, element) -> list[Problem]:
    """A timer's text is an expression; when it is a constant its value is checked here
    with the parser the engine runs it with (bounded: refused beyond the maximum)."""
    text, kind = (element.text or "").strip(), etree.QName(element).localname
    if _ISO_LOOKALIKE.fullmatch(text):
        return [Problem(name, owner_id(element), element.sourceline, f"{kind} {text!r} is a Python expression: "
                        f"quote a literal ISO 8601 value ('{text}')")]
    problems = lint(element.text or "", "eval", name, element, kind)  # evaluated as written
    if problems:
        return problems
    try:
        constant = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return []  # computed from data: checked when it runs
    try:
        durations.check_text(constant, kind)
    except durations.DurationError as err:
        return [Problem(name, owner_id(element), element.sourceline, f"{kind}: {err}")]
    return []
