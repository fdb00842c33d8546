"""Deploy-time checks of the conventions a BPMN bundle must keep to run here (step 4 of
``engine.bpmn.spec_parsing.parse_bundle``), and of its forms (step 2).

BPMN conventions: lanes offered to roles (named after one, or with a ``role`` property:
``engine.bpmn.other_modelers``); user/manual task properties (``form``, a file of the
bundle — a user task without one gets the generic done/comment form —, ``due``,
``priority``, ``assign_to``, ``title``, ``announce``: ``task`` or ``summary``; nothing
else); business rule tasks call a known decision; call activities call a known process;
service tasks call a registered operation; sequence flows join elements of their process;
scripts, pre/post scripts,
conditions, loop expressions and timers lint clean with the sandbox
(``engine.bpmn.sandbox.lint``); ``due`` values and constant timer values parse with
``engine.bpmn.durations`` within its bounds (a timer's text is an ISO 8601 literal as it
is, ``PT1H``, or a Python expression, ``"PT1H"`` or ``f"PT{hours}H"``).

Each problem is a refusal (``invalid``: malformed, unsafe, beyond a bound) or says the
process cannot run here (``cannot_run``: a lane that is no role, an unknown operation,
decision, process or form, a syntax error that may be another modeler's expression
language); ``engine.bpmn.spec_parsing`` decides what the second kind means.
"""
from __future__ import annotations

import ast
import hashlib
import json
import keyword
import threading

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree

from engine.bpmn import bundle_limits, durations, operations, process_properties
from engine.bpmn import limits as bpmn_limits
from engine.bpmn.dmn_check import CANNOT_RUN, Problem, lint, owner_id
from engine.bpmn.namespaces import NS, bpmn, spiff
from engine.bpmn.other_modelers import (
    empty_condition_means_none,
    foreign_expression,
    foreign_implementation,
    lane_label,
    lane_role,
    timer_constant,
)
from engine.models.case import RISK_LEVELS
from engine.models.people import ROLES
from engine.models.work import Announcement

TASK_PROPERTIES = ("form", "due", "priority", "assign_to", "title", "announce")
PRIORITIES = ("risk", *RISK_LEVELS)
ANNOUNCEMENTS = Announcement.values()
PYTHON = ("python", "py", "python3", "text/x-python", "application/x-python")
_EXPRESSIONS = ("conditionExpression", "completionCondition", "loopCardinality", "loopCondition", "condition")
_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")


def check_form(name: str, text: str) -> list[Problem]:
    """JSON, within the size and depth bounds, a valid JSON Schema, patterns RE2 reads
    (``engine.bpmn.bundle_limits``). Checking a schema against the meta-schema is most of
    the time an upload takes, and every upload re-checks the deployed forms: a verdict is
    remembered by the form's name, content and the bounds."""
    key = (name, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
           bpmn_limits.current().deploy_key())
    with _verdicts_lock:
        known = _form_verdicts.get(key)
    if known is not None:
        return list(known)
    problems = _check_form(name, text)
    with _verdicts_lock:
        _form_verdicts[key] = tuple(problems)
        while len(_form_verdicts) > _FORM_VERDICTS:
            _form_verdicts.pop(next(iter(_form_verdicts)))
    return problems


_FORM_VERDICTS = 1024
_form_verdicts: dict[tuple[str, str, str], tuple[Problem, ...]] = {}
_verdicts_lock = threading.Lock()


def _check_form(name: str, text: str) -> list[Problem]:
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
        if lane_role(lane) not in ROLES:
            problems.append(Problem(name, lane.get("id"), lane.sourceline,
                                    f"lane {lane_label(lane)!r} is not a role (one of {', '.join(ROLES)}): map it "
                                    f"to one when uploading, or give it a 'role' property", CANNOT_RUN))
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
        language = (task.get("scriptFormat") or "python").strip().lower()
        if language not in PYTHON:
            problems.append(Problem(name, task.get("id"), task.sourceline, f"the script is written in {language}: "
                                    f"this engine runs Python scripts", CANNOT_RUN))
        elif not scripts or not (scripts[-1].text or "").strip():
            problems.append(Problem(name, task.get("id"), task.sourceline, "script task has no script", CANNOT_RUN))
        else:
            problems += lint(scripts[-1].text, "exec", name, scripts[-1], "script", task.get("id"))
    for tag in ("preScript", "postScript"):
        for script in root.iter(spiff(tag)):
            problems += lint(script.text or "", "exec", name, script, tag)
    for element in root.iter(*map(bpmn, _EXPRESSIONS)):
        text, kind = (element.text or "").strip(), etree.QName(element).localname
        language = foreign_expression(text) if text else None
        if language:
            problems.append(Problem(name, owner_id(element), element.sourceline, f"{kind}: {text!r} is written in "
                                    f"{language}, not in Python, which this engine evaluates: rewrite it as a "
                                    f"Python expression over the process data (such as 'approved' or "
                                    f"'not approved', 'amount > 1000')", CANNOT_RUN))
        elif text:
            problems += lint(element.text, "eval", name, element, kind)
        elif kind == "conditionExpression" and not empty_condition_means_none(root, element.getparent()):
            problems.append(Problem(name, owner_id(element), element.sourceline, "the condition of this flow "
                                    "leaving a gateway is empty: write one, or make it the gateway's default flow",
                                    CANNOT_RUN))
    for timer in root.iter(bpmn("timerEventDefinition")):
        for child in timer.iterchildren(bpmn("timeDuration"), bpmn("timeDate"), bpmn("timeCycle")):
            problems += _check_timer(name, child)
    for task in root.iter(bpmn("businessRuleTask")):
        ref = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
        ref = (ref.text or "").strip() if ref is not None else ""
        if ref not in decisions:
            problems.append(Problem(name, task.get("id"), task.sourceline,
                                    f"business rule task calls decision {ref!r}, which no DMN file of the "
                                    f"bundle defines (known: {', '.join(sorted(decisions)) or 'none'})", CANNOT_RUN))
    problems += process_properties.check_bpmn(name, root)
    problems += _check_service_tasks(name, root)
    problems += _check_lane_membership(name, root)
    for call in root.iter(bpmn("callActivity")):
        if call.get("calledElement") not in processes:
            problems.append(Problem(name, call.get("id"), call.sourceline, f"call activity calls process "
                                    f"{call.get('calledElement')!r}, which no BPMN file of the bundle defines",
                                    CANNOT_RUN))
    return problems


def _check_service_tasks(name: str, root) -> list[Problem]:
    """A service task names a registered operation; its parameters are expressions."""
    problems, known = [], operations.known_operations()
    for task in root.iter(bpmn("serviceTask")):
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        choices = f"(known: {', '.join(sorted(known)) or 'none'})"
        if operator is None or not operator.get("id"):
            instead = foreign_implementation(task)
            problems.append(Problem(name, task.get("id"), task.sourceline, "service task names no operation of "
                                    "this engine" + (f": it names {instead} instead, which cannot run here" if instead
                                                     else "") + f"; choose one of its operations {choices}",
                                    CANNOT_RUN))
            continue
        if operator.get("id") not in known:
            problems.append(Problem(name, task.get("id"), task.sourceline,
                                    f"service task calls operation {operator.get('id')!r}, which the engine does "
                                    f"not provide {choices}", CANNOT_RUN))
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
                                    "user task is in no lane and has no assign_to property: nobody would get it",
                                    CANNOT_RUN))
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
            problems.append(Problem(name, task_id, line, f"form {value!r} is not a .json file of the bundle",
                                    CANNOT_RUN))
        elif key == "due":
            problems += _check_due(name, task_id, prop, value)
        elif key == "priority" and value not in PRIORITIES:
            problems.append(Problem(name, task_id, line, f"priority {value!r} is not one of {', '.join(PRIORITIES)}"))
        elif key == "assign_to" and (not value.isidentifier() or keyword.iskeyword(value)):
            problems.append(Problem(name, task_id, line, f"assign_to {value!r} is not a variable name"))
        elif key == "announce" and value not in ANNOUNCEMENTS:
            problems.append(Problem(name, task_id, line, f"announce {value!r} is not one of "
                                    f"{', '.join(ANNOUNCEMENTS)} (task: a notification and an e-mail per task; "
                                    f"summary: the work is announced in one summary)"))
    return problems


def _check_due(name: str, task_id: str, prop, value: str) -> list[Problem]:
    text = value.strip()
    if not text:
        return [Problem(name, task_id, prop.sourceline, "due is empty")]
    if durations.is_duration(text):  # read as an ISO duration at run time (engine.bpmn.task_sync)
        try:
            durations.parse_duration(text)
        except durations.DurationError as err:
            hint = ("" if durations.is_iso_duration(text) else "; if it is meant as an expression starting "
                    "with 'p' (such as priority_hours), put it in parentheses")
            return [Problem(name, task_id, prop.sourceline, f"due: {err}{hint}")]
        return []
    return lint(text, "eval", name, prop, f"due {value!r}", task_id)


def _check_timer(name: str, element) -> list[Problem]:
    """A timer's text is an ISO 8601 literal or an expression; a constant is checked here
    with the parser the engine runs it with (bounded: refused beyond the maximum)."""
    text, kind = (element.text or "").strip(), etree.QName(element).localname
    try:
        if timer_constant(text, kind):
            return []
    except durations.DurationError as err:
        return [Problem(name, owner_id(element), element.sourceline, f"{kind}: {err}")]
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
