"""Diagrams drawn in other modelers (Camunda Modeler, bpmn.io, Signavio, Trisotech ...):
the conventions this engine reads them with, so a mapping fixes what a mapping can fix.

* **Lanes and roles.** A lane is offered to the role it is named after; a lane named
  otherwise ("Approver", a person's name, no name at all) names its role with a lane
  property ``role``::

      <bpmn:lane id="Lane_1" name="Approver">
        <bpmn:extensionElements><spiffworkflow:properties>
          <spiffworkflow:property name="role" value="supervisor"/>
        </spiffworkflow:properties></bpmn:extensionElements>

  :func:`map_lanes` writes those properties into uploaded files from a mapping
  ``{"lane name or id": "role"}`` sent with the upload, so the stored diagram keeps its
  labels, says its roles itself, and deploys the same way next time. The key ``"*"``
  (:data:`NO_LANE`) gives a role to the user tasks in no lane (and with no ``assign_to``):
  they are put in a lane named after that role, added to their process.
* **Forms.** A user task without a ``form`` property gets :data:`GENERIC_FORM`: "done",
  with an optional comment.
* **ISO 8601 timer text.** ``PT1H``, ``R6/P1D`` or ``2026-03-01T09:00:00Z`` written as
  they are (not as a quoted Python string) are constants: :func:`timer_constant` says so
  (with the bounds of ``engine.bpmn.durations``).
* **Empty conditions.** An empty ``conditionExpression`` on a gateway's default flow or on
  a flow leaving an activity means no condition: it is dropped.
* **What cannot be mapped** is named in words: a service task's Java class, delegate,
  external topic or Zeebe job type (:func:`foreign_implementation`), and a condition in
  Camunda's expression languages, ``${approved}`` or ``=amount > 1000``
  (:func:`foreign_expression`), which must be rewritten in Python.

:func:`for_the_engine` makes these changes on a copy of a diagram before SpiffWorkflow
parses it; the stored file stays as uploaded.
"""
from __future__ import annotations

import copy
import json
import re

from lxml import etree

from engine.bpmn import durations
from engine.bpmn.dmn_check import Problem
from engine.bpmn.namespaces import NS, SPIFF_NS, bpmn, safe_parser, spiff
from engine.models.people import ROLES

GENERIC_FORM = "done_or_comment.json"
GENERIC_FORM_TEXT = json.dumps({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Done",
    "description": "Confirm the step is done; add a comment if there is something to say.",
    "type": "object",
    "properties": {
        "done": {"type": "boolean", "title": "Done", "const": True},
        "comment": {"type": "string", "title": "Comment", "maxLength": 4000},
    },
    "required": ["done"],
    "additionalProperties": False,
}, indent=2) + "\n"
ROLE_PROPERTY = "role"
NO_LANE = "*"  # the lane mapping's key for user tasks in no lane
_PROPERTY = "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
ISO_TEXT = re.compile(r"R\d*/[\w:.,+\-/]+|P[\dYMWDTHS.,]+|\d{4}-\d\d-\d\d[\dT:.,Z+\-]*", re.IGNORECASE)
_GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "complexGateway", "eventBasedGateway", "parallelGateway")


def lane_role(lane) -> str | None:
    """The role a lane is offered to: its name when that is a role, else its ``role``
    property (None when it has neither)."""
    name = (lane.get("name") or "").strip()
    if name in ROLES:
        return name
    for prop in lane.iterfind(_PROPERTY, NS):
        if prop.get("name") == ROLE_PROPERTY:
            return (prop.get("value") or "").strip() or None
    return None


def lane_label(lane) -> str:
    return (lane.get("name") or "").strip() or lane.get("id") or "(unnamed)"


def timer_constant(text: str, kind: str) -> bool:
    """Whether timer text is an ISO 8601 literal (a constant): ``DurationError`` when it
    looks like one but is not usable as this kind of timer (or beyond the bounds)."""
    text = text.strip()
    if not ISO_TEXT.fullmatch(text):
        return False
    durations.check_text(text, kind)
    return True


# -- the lane mapping of an upload ----------------------------------------------------------
def map_lanes(files: dict[str, bytes | str], mapping: dict[str, str]) -> tuple[dict[str, bytes | str], list[Problem]]:
    """``files`` with a ``role`` property on every lane ``mapping`` names (by name or id),
    and the problems of the mapping: a role that is no role, a name no lane has. The key
    ``"*"`` gives its role to the user tasks in no lane (see :func:`_lane_for_laneless_tasks`)."""
    problems = [Problem("lane roles", key, None, f"{role!r} is not a role (one of {', '.join(ROLES)})")
                for key, role in mapping.items() if role not in ROLES]
    used: set[str] = {NO_LANE} if NO_LANE in mapping else set()
    mapped = dict(files)
    for name, content in files.items():
        if not name.lower().endswith(".bpmn") or problems:
            continue
        text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
        try:
            root = etree.fromstring(text.encode("utf-8"), safe_parser())
        except etree.XMLSyntaxError:
            continue  # the parse reports it, naming the line
        changed = False
        for lane in root.iter(bpmn("lane")):
            key = next((k for k in ((lane.get("name") or "").strip(), lane.get("id")) if k in mapping), None)
            if key is None:
                continue
            used.add(key)
            _set_role(lane, mapping[key])
            changed = True
        if NO_LANE in mapping:
            changed = _lane_for_laneless_tasks(root, mapping[NO_LANE]) or changed
        if changed:
            mapped[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    problems += [Problem("lane roles", key, None, f"no lane of the uploaded diagrams is named {key!r}")
                 for key in mapping if key not in used and mapping[key] in ROLES]
    return mapped, problems


_BEFORE_LANES = ("documentation", "extensionElements", "auditing", "monitoring", "categoryValueRef",
                 "supportedInterfaceRef", "ioSpecification", "ioBinding", "property", "laneSet")


def _lane_for_laneless_tasks(root, role: str) -> bool:
    """Put each process's user tasks that are in no lane and have no assignee in a lane
    named ``role`` (added where the BPMN schema wants a lane set); whether any was."""
    in_lanes = {(ref.text or "").strip() for ref in root.iter(bpmn("flowNodeRef"))}
    changed = False
    for process in root.iter(bpmn("process")):
        laneless = [t.get("id") for t in process.iter(bpmn("userTask")) if t.get("id") not in in_lanes
                    and not any(p.get("name") == "assign_to" for p in t.iter(spiff("property")))]
        if not laneless:
            continue
        lane_set = process.find(bpmn("laneSet"))
        if lane_set is None:
            lane_set = etree.Element(bpmn("laneSet"), id=f"{process.get('id')}_lanes")
            leading = [c for c in process if isinstance(c.tag, str) and etree.QName(c).localname in _BEFORE_LANES]
            process.insert(process.index(leading[-1]) + 1 if leading else 0, lane_set)
        lane = etree.SubElement(lane_set, bpmn("lane"), id=f"{process.get('id')}_lane_{role}", name=role)
        for task_id in laneless:
            etree.SubElement(lane, bpmn("flowNodeRef")).text = task_id
        changed = True
    return changed


def _set_role(lane, role: str) -> None:
    for prop in lane.iterfind(_PROPERTY, NS):
        if prop.get("name") == ROLE_PROPERTY:
            prop.set("value", role)
            return
    extensions = lane.find(bpmn("extensionElements"))
    if extensions is None:
        extensions = etree.Element(bpmn("extensionElements"))
        lane.insert(0, extensions)
    properties = extensions.find(spiff("properties"))
    if properties is None:
        properties = etree.SubElement(extensions, spiff("properties"), nsmap={"spiffworkflow": SPIFF_NS})
    etree.SubElement(properties, spiff("property"), name=ROLE_PROPERTY, value=role)


# -- the copy SpiffWorkflow parses ----------------------------------------------------------
def for_the_engine(root):
    """A copy of a diagram with the conventions above applied for SpiffWorkflow."""
    root = copy.deepcopy(root)
    for lane in root.iter(bpmn("lane")):
        role = lane_role(lane)
        if role:
            lane.set("name", role)
    for task in root.iter(bpmn("userTask")):
        if not any(p.get("name") == "form" for p in task.iterfind(".//" + spiff("property"))):
            _add_form(task)
    for kind in ("timeDuration", "timeDate", "timeCycle"):
        for element in root.iter(bpmn(kind)):
            try:
                if timer_constant(element.text or "", kind):
                    element.text = json.dumps((element.text or "").strip())
            except durations.DurationError:
                continue  # refused by the checks before the engine parses
    for flow in root.iter(bpmn("sequenceFlow")):
        condition = flow.find(bpmn("conditionExpression"))
        if condition is not None and not (condition.text or "").strip() and empty_condition_means_none(root, flow):
            flow.remove(condition)
    return root


def empty_condition_means_none(root, flow) -> bool:
    """An empty condition on a gateway's default flow or on a flow leaving an activity."""
    source = next((el for el in root.iter() if el.get("id") == flow.get("sourceRef")), None)
    if source is None or etree.QName(source).localname not in _GATEWAYS:
        return True
    return source.get("default") == flow.get("id")


def _add_form(task) -> None:
    extensions = task.find(bpmn("extensionElements"))
    if extensions is None:
        extensions = etree.Element(bpmn("extensionElements"))
        task.insert(0, extensions)
    properties = extensions.find(spiff("properties"))
    if properties is None:
        properties = etree.SubElement(extensions, spiff("properties"), nsmap={"spiffworkflow": SPIFF_NS})
    etree.SubElement(properties, spiff("property"), name="form", value=GENERIC_FORM)


# -- what cannot be mapped, in words ---------------------------------------------------------
_JUEL = re.compile(r"^\s*[$#]\{.*\}\s*$", re.DOTALL)
_FEEL = re.compile(r"^\s*=(?!=)")


def foreign_implementation(task) -> str | None:
    """What a service task from Camunda names instead of an operation, in words."""
    attributes = {etree.QName(k).localname: v for k, v in task.attrib.items() if "camunda" in k}
    if "class" in attributes:
        return f"the Java class {attributes['class']!r}"
    if "delegateExpression" in attributes:
        return f"the Java delegate {attributes['delegateExpression']!r}"
    if "expression" in attributes:
        return f"the Camunda expression {attributes['expression']!r}"
    if "topic" in attributes:
        return f"the Camunda external task topic {attributes['topic']!r}"
    job = next((el for el in task.iter() if isinstance(el.tag, str) and etree.QName(el).localname == "taskDefinition"
                and "zeebe" in (etree.QName(el).namespace or "")), None)
    if job is not None and job.get("type"):
        return f"the Camunda 8 (Zeebe) job type {job.get('type')!r}"
    return None


def foreign_expression(text: str) -> str | None:
    """The expression language ``text`` is written in, when it is Camunda's and not Python."""
    if _JUEL.match(text):
        return "Camunda 7's expression language (JUEL)"
    if _FEEL.match(text):
        return "Camunda 8's expression language (FEEL)"
    return None
