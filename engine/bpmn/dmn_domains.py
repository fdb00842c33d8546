"""The values each input of a decision table can take: its *domain*, which the coverage
check (``engine.bpmn.dmn_coverage``) must cover completely.

A domain comes from, in this order:

1. the table itself: ``<inputValues>`` on the input (closed: exactly these values). Read
   as a comma list of quoted strings, numbers, ``true``/``false``/``null`` and intervals
   ``[a..b]`` / ``(a..b)`` / ``]a..b[`` / ``>= a`` (FEEL's unary tests, as DMN modelers
   write them); anything else is refused, naming the input;
2. the bundle: for an input expression that is a plain variable name, what the processes
   calling the decision (and those they call or are called from) can put in that variable:
   the outputs of other decisions of that name (``risk_level`` is high / medium / low),
   the enum, const or boolean type of form fields of that name, and literals a script
   assigns to it (``conference = "admission"``). These values are *added* to the ones the
   cells list: whatever else the engine's operations or a caller's data may bring is not
   known here, so nothing is assumed about it;
3. the input's type: ``boolean`` is ``True`` / ``False``.

A value the domain adds is remembered with where it comes from, so a gap can say why the
value matters ("'low' is an output of decision risk_level").
"""
from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.bpmn.dmn_check import DecisionTable, Problem, TableInput
from engine.bpmn.namespaces import NS, bpmn, spiff
from engine.bpmn.value_sets import INF, Interval, NumberSet, ValueSet

_INTERVAL = re.compile(r"([\[\]()])\s*(-?[\d.]+|-inf)\s*\.\.\s*(-?[\d.]+|inf)\s*([\[\]()])")
_COMPARISON = re.compile(r"(<=|>=|<|>)\s*(-?[\d.]+)")
_WORDS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


@dataclass
class Domain:
    """What an input can take. ``closed``: declared, exactly ``values``; else ``values``
    are added to what the cells list. ``sources``: value -> where it comes from."""
    values: ValueSet = field(default_factory=ValueSet)
    closed: bool = False
    integral: bool | None = None
    sources: dict[object, str] = field(default_factory=dict)

    def add(self, value: object, source: str) -> None:
        self.values = self.values.union(ValueSet.equal_to(value))
        self.sources.setdefault(value, source)


@dataclass
class _Process:
    id: str
    element: object
    calls: set[str] = field(default_factory=set)
    decisions: set[str] = field(default_factory=set)
    forms: set[str] = field(default_factory=set)
    scripts: list[str] = field(default_factory=list)


def input_domains(tables: dict[str, DecisionTable], diagrams: dict[str, Any],
                  forms: dict[str, str]) -> tuple[dict[tuple[str, int], Domain], list[Problem]]:
    """Per (decision id, input index): its domain. ``diagrams``: BPMN filename -> root;
    ``forms``: form filename -> text. Problems: declared values that cannot be read."""
    processes = _processes(diagrams)
    schemas = _schemas(forms)
    domains: dict[tuple[str, int], Domain] = {}
    problems: list[Problem] = []
    for decision_id, table in tables.items():
        component = _component(processes, decision_id)
        for index, inp in enumerate(table.inputs):
            if inp.declared_values is not None and inp.declared_values.strip() not in ("", "-"):
                try:
                    domains[(decision_id, index)] = declared(inp.declared_values)
                except ValueError as err:
                    problems.append(Problem(table.file, inp.id or decision_id, inp.line,
                                            f"decision {decision_id}: the input values of {inp.label!r} "
                                            f"({inp.declared_values.strip()!r}) are not understood: {err}"))
                continue
            domains[(decision_id, index)] = _inferred(inp, decision_id, component, tables, schemas)
    return domains, problems


# -- declared values ---------------------------------------------------------------------
def declared(text: str) -> Domain:
    """The closed domain ``<inputValues>`` text declares (ValueError if unreadable)."""
    domain = Domain(closed=True)
    for item in _items(text):
        interval, comparison = _INTERVAL.fullmatch(item), _COMPARISON.fullmatch(item)
        if item[:1] in "\"'":
            try:
                value = ast.literal_eval(item)
            except (ValueError, SyntaxError):
                raise ValueError(f"{item} is not a closed quoted string") from None
            domain.add(value, "declared")
        elif item in _WORDS:
            domain.add(_WORDS[item], "declared")
        elif interval:
            low, high = float(interval.group(2)), float(interval.group(3))
            domain.values = domain.values.union(ValueSet(numbers=NumberSet.of([Interval(
                low, high, interval.group(1) == "[", interval.group(4) == "]")])))
        elif comparison:
            bound, op = float(comparison.group(2)), comparison.group(1)
            piece = Interval(bound, INF, op == ">=", False) if op.startswith(">") else \
                Interval(-INF, bound, False, op == "<=")
            domain.values = domain.values.union(ValueSet(numbers=NumberSet.of([piece])))
        else:
            try:
                number: float = float(item) if any(c in item for c in ".eE") else int(item)
            except ValueError:
                raise ValueError(f"{item!r} is neither a quoted string, a number nor an interval like [0..10]") \
                    from None
            domain.add(number, "declared")
    return domain


def _items(text: str) -> list[str]:
    """``text`` split at the commas outside quotes and brackets."""
    items: list[str] = []
    current: list[str] = []
    quote, depth = "", 0
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])" and depth:
            depth -= 1
        elif char == "," and not depth:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    if any(not item for item in items):
        raise ValueError("an empty item in the list")
    return items


# -- what the calling diagrams and forms produce ------------------------------------------
def _inferred(inp: TableInput, decision_id: str, component: list[_Process], tables: dict[str, DecisionTable],
              schemas: dict[str, dict]) -> Domain:
    domain = Domain()
    if inp.type_ref.lower() == "boolean":
        domain.add(True, "a boolean input")
        domain.add(False, "a boolean input")
    variable = inp.expression.strip()
    if not variable.isidentifier():
        return domain
    for process in component:
        for other_id in sorted(process.decisions):
            other = tables.get(other_id)
            if other is None or other_id == decision_id or variable not in other.output_names:
                continue
            column = other.output_names.index(variable)
            for rule in other.rules:
                value = _literal(rule.outputs[column])
                if value is not _UNKNOWN:
                    domain.add(value, f"an output of decision {other_id}")
        for form in sorted(process.forms):
            for value in _form_values(schemas.get(form), variable):
                domain.add(value, f"a choice of field {variable} in form {form}")
        for script in process.scripts:
            for value in _assigned(script, variable):
                domain.add(value, f"set by a script of process {process.id}")
    return domain


_UNKNOWN = object()


def _literal(text: str) -> object:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _UNKNOWN
    return value if value is None or isinstance(value, (bool, int, float, str)) else _UNKNOWN


def _form_values(schema: dict | None, variable: str) -> list[object]:
    prop = ((schema or {}).get("properties") or {}).get(variable)
    if not isinstance(prop, dict):
        return []
    values: list[object] = []
    if isinstance(prop.get("enum"), list):
        values += prop["enum"]
    if "const" in prop:
        values.append(prop["const"])
    for key in ("oneOf", "anyOf"):
        for option in prop.get(key) or []:
            if isinstance(option, dict) and "const" in option:
                values.append(option["const"])
    if prop.get("type") == "boolean":
        values += [True, False]
    return [v for v in values if v is None or isinstance(v, (bool, int, float, str))]


def _assigned(script: str, variable: str) -> Iterable[object]:
    try:
        tree = ast.parse(script)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    found: list[object] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            options = [node.value.body, node.value.orelse] if isinstance(node.value, ast.IfExp) else [node.value]
            for option in options:
                value = _literal(ast.unparse(option))
                if value is not _UNKNOWN:
                    found.append(value)
    return found


def _schemas(forms: dict[str, str]) -> dict[str, dict]:
    schemas = {}
    for name, text in forms.items():
        try:
            schema = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(schema, dict):
            schemas[name] = schema
    return schemas


def _processes(diagrams: dict[str, Any]) -> dict[str, _Process]:
    found: dict[str, _Process] = {}
    for root in diagrams.values():
        for element in root.iter(bpmn("process")):
            process = found.setdefault(element.get("id"), _Process(element.get("id"), element))
            for call in element.iter(bpmn("callActivity")):
                if call.get("calledElement"):
                    process.calls.add(call.get("calledElement"))
            for ref in element.iterfind(".//bpmn:businessRuleTask/bpmn:extensionElements/"
                                        "spiffworkflow:calledDecisionId", NS):
                process.decisions.add((ref.text or "").strip())
            for prop in element.iterfind(".//bpmn:userTask//spiffworkflow:property[@name='form']", NS):
                process.forms.add(prop.get("value") or "")
            for script in element.iter(bpmn("script"), spiff("preScript"), spiff("postScript")):
                process.scripts.append(script.text or "")
    return found


def _component(processes: dict[str, _Process], decision_id: str) -> list[_Process]:
    """The processes calling the decision, with every process connected to them by call
    activities (either way), in id order."""
    linked: dict[str, set[str]] = {pid: set(p.calls) for pid, p in processes.items()}
    for pid, process in processes.items():
        for called in process.calls:
            linked.setdefault(called, set()).add(pid)
    todo = [pid for pid, p in processes.items() if decision_id in p.decisions]
    seen = set(todo)
    while todo:
        for other in linked.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return [processes[pid] for pid in sorted(seen) if pid in processes]
