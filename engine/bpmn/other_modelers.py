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
  labels, says its roles itself, and deploys the same way next time.
* **Forms.** A user task without a ``form`` property gets :data:`GENERIC_FORM`: "done",
  with an optional comment.
* **ISO 8601 timer text.** ``PT1H``, ``R6/P1D`` or ``2026-03-01T09:00:00Z`` written as
  they are (not as a quoted Python string) are constants: :func:`timer_constant` says so
  (with the bounds of ``engine.bpmn.durations``).
* **Empty conditions.** An empty ``conditionExpression`` on a gateway's default flow or on
  a flow leaving an activity means no condition: it is dropped.

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
    and the problems of the mapping: a role that is no role, a name no lane has."""
    problems = [Problem("lane roles", key, None, f"{role!r} is not a role (one of {', '.join(ROLES)})")
                for key, role in mapping.items() if role not in ROLES]
    used: set[str] = set()
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
        if changed:
            mapped[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    problems += [Problem("lane roles", key, None, f"no lane of the uploaded diagrams is named {key!r}")
                 for key in mapping if key not in used and mapping[key] in ROLES]
    return mapped, problems


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
