"""Read a deployed BPMN diagram to tell a person what happens after their task.

From a user task, follow the sequence flows through automatic steps (scripts, decisions,
service tasks, gateways) to the next place a person, a timer or the end takes over; a
gateway splits the story into labelled branches ("if approve …"). Boundary events on the
task (an escalation timer) are told too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from engine.bpmn.namespaces import bpmn, local_name, parse_xml

WAITS = {"userTask": "task", "manualTask": "task", "receiveTask": "wait", "callActivity": "subprocess",
         "subProcess": "subprocess", "endEvent": "end", "intermediateCatchEvent": "wait"}
MAX_STEPS = 15
MAX_BRANCHES = 8


@dataclass
class Branch:
    condition: str | None
    automatic: list[str] = field(default_factory=list)
    stop_kind: str | None = None  # task | wait | subprocess | end | loop
    stop_name: str | None = None
    stop_role: str | None = None


@dataclass
class Outline:
    branches: list[Branch]
    escalations: list[str]


@dataclass(frozen=True)
class _Element:
    id: str
    kind: str
    name: str
    role: str | None
    attached_to: str | None
    timer: bool


@dataclass(frozen=True)
class _Flow:
    target: str
    name: str
    condition: str


@dataclass(frozen=True)
class _Process:
    elements: dict
    outgoing: dict


@lru_cache(maxsize=32)
def _parse(xml_text: str, process_id: str) -> _Process | None:
    try:
        root = parse_xml(xml_text)
    except etree.XMLSyntaxError:
        return None
    process = next((p for p in root.iter(bpmn("process")) if p.get("id") == process_id), None)
    if process is None:
        return None
    lanes = {}
    for lane in process.iter(bpmn("lane")):
        for ref in lane.findall(bpmn("flowNodeRef")):
            lanes[(ref.text or "").strip()] = lane.get("name")
    elements: dict[str, _Element] = {}
    outgoing: dict[str | None, list[_Flow]] = {}  # by sourceRef
    for node in process.iter():
        kind = local_name(node.tag)
        node_id = node.get("id")
        if not node_id:
            continue
        if kind == "sequenceFlow":
            condition = node.find(bpmn("conditionExpression"))
            outgoing.setdefault(node.get("sourceRef"), []).append(
                _Flow(node.get("targetRef"), node.get("name") or "",
                      (condition.text or "").strip() if condition is not None else ""))
        elif kind not in ("lane", "laneSet", "flowNodeRef", "incoming", "outgoing"):
            timer = node.find(bpmn("timerEventDefinition")) is not None
            elements[node_id] = _Element(node_id, kind, node.get("name") or node_id, lanes.get(node_id),
                                         node.get("attachedToRef"), timer)
    return _Process(elements, outgoing)


def _walk(proc: _Process, start: str, condition: str | None, seen: frozenset, depth: int = 0) -> list[Branch]:
    branch = Branch(condition)
    current = start
    visited = set(seen)
    for _ in range(MAX_STEPS):
        flows = proc.outgoing.get(current, [])
        if not flows:
            branch.stop_kind = branch.stop_kind or "end"
            return [branch]
        if len(flows) > 1:
            if depth > 1:
                branch.stop_kind, branch.stop_name = "choice", proc.elements.get(current, _Element(
                    current, "", current, None, None, False)).name
                return [branch]
            out = []
            for flow in flows[:MAX_BRANCHES]:
                label = flow.name or flow.condition or None
                for sub in _continue(proc, flow.target, label, frozenset(visited), depth + 1):
                    sub.automatic = branch.automatic + sub.automatic
                    out.append(sub)
            return out
        target = flows[0].target
        if target in visited:
            branch.stop_kind = "loop"
            branch.stop_name = proc.elements[target].name if target in proc.elements else target
            return [branch]
        visited.add(target)
        element = proc.elements.get(target)
        if element is None:
            branch.stop_kind = "end"
            return [branch]
        stop = WAITS.get(element.kind)
        if stop:
            branch.stop_kind = "timer" if element.timer else stop
            branch.stop_name, branch.stop_role = element.name, element.role
            return [branch]
        if not element.kind.endswith("Gateway"):
            branch.automatic.append(element.name)
        current = target
    return [branch]


def _continue(proc: _Process, target: str, condition: str | None, seen: frozenset, depth: int) -> list[Branch]:
    """Enter ``target`` (reached through a labelled flow) and walk on from it."""
    element = proc.elements.get(target)
    if element is None:
        return [Branch(condition, stop_kind="end")]
    stop = WAITS.get(element.kind)
    if stop:
        return [Branch(condition, stop_kind="timer" if element.timer else stop,
                       stop_name=element.name, stop_role=element.role)]
    branches = _walk(proc, target, condition, seen | {target}, depth)
    if not element.kind.endswith("Gateway"):
        for b in branches:
            b.automatic.insert(0, element.name)
    return branches


def outline_after(bpmn_files: list[str], process_id: str, element_id: str) -> Outline | None:
    """What follows ``element_id`` in ``process_id``; None if the diagram is not found."""
    for text in bpmn_files:
        proc = _parse(text, process_id)
        if proc is None or element_id not in proc.elements:
            continue
        escalations = [e.name + (" (timer)" if e.timer else "") for e in proc.elements.values()
                       if e.attached_to == element_id]
        return Outline(_walk(proc, element_id, None, frozenset({element_id})), escalations)
    return None


@lru_cache(maxsize=32)
def element_names(xml_text: str) -> dict[str, str]:
    """Each named element of a diagram (every process in it) by its id: the words a process
    owner's page puts beside an element id. A diagram that does not parse names nothing."""
    try:
        root = parse_xml(xml_text)
    except etree.XMLSyntaxError:
        return {}
    return {node.get("id"): " ".join(node.get("name").split()) for node in root.iter()
            if isinstance(node.tag, str) and node.get("id") and node.get("name")}
