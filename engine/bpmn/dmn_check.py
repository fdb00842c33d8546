"""Deploy-time checks of DMN decision tables: structure, cell linting, gaps and overlaps.

Cells are read the way SpiffWorkflow's ``DMNEngine`` evaluates them at run time:

* ``-`` (exactly) or no text at all means "any value";
* a cell with a ``?`` outside quotes is evaluated with ``?`` bound to the input's value
  (``1 < ? < 3``, ``? in ('a', 'b')``);
* a cell that is an expression on its own (``"high"``, ``3``) is compared with
  ``(input) == (cell)``;
* anything else (``>= 3``, `` in (1, 2)``) is appended to the input expression *as is*,
  with no space and no parentheses: ``status`` + ``in (1, 2)`` becomes
  ``statusin (1, 2)``. A cell that reads differently glued on is an error here.

Gap/overlap check (per table, after the cells lint clean): the constants of each input's
cells give sample values (each constant, constant +/- 1, midpoints between constants
unless the input is integral, each string, both booleans); every rule is evaluated on
each sample and every combination of samples (at most ``MAX_COMBINATIONS``) must match a
rule (a *gap* otherwise; not checked for COLLECT) and, for hit policy UNIQUE, only one
(an *overlap*: Spiff would silently take the first). Assumptions, kept simple:

* an input is integral if its typeRef is integer/long, or if every number in its cells
  is an int and the typeRef is not double/float/decimal;
* a numeric input is never negative if its expression ends with ``_count`` or its cells
  only compare with non-negative numbers;
* strings take only the values the cells list (nothing else is sampled);
* inputs are independent of each other.

A table whose cells use anything but comparisons, ``and``/``or``/``not``, literals,
literal tuples/lists/sets and ``range()`` of small int constants, or that mixes numbers
and strings in one input, is too complex to sample: its gap check is skipped.
"""
from __future__ import annotations

import ast
import itertools
import logging
import math
import re
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS

from engine.bpmn import sandbox

log = logging.getLogger(__name__)

MAX_COMBINATIONS = 20_000
MAX_RANGE = 10_000
HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT")
_QMARK = re.compile(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)')  # as DMNEngine.evaluate
_VAR = "dmninputexpr"
_INTEGRAL_TYPES = ("integer", "long", "int")
_REAL_TYPES = ("double", "float", "decimal")
_SAMPLE_NODES = (ast.Expression, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.Constant, ast.Name,
                 ast.Tuple, ast.List, ast.Set, ast.expr_context, ast.boolop, ast.cmpop,
                 ast.Not, ast.USub, ast.UAdd)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file of a bundle."""
    file: str
    element_id: str | None
    line: int | None
    message: str


@dataclass(frozen=True)
class _Input:
    label: str
    expression: str
    type_ref: str


@dataclass(frozen=True)
class _Rule:
    id: str
    line: int | None
    cells: tuple[str | None, ...]  # None: any value


class _Unsampleable(Exception):
    """The table's cells are too complex for the gap/overlap check."""


def owner_id(element) -> str | None:
    """The id of ``element`` or of its nearest ancestor that has one."""
    while element is not None:
        if element.get("id"):
            return element.get("id")
        element = element.getparent()
    return None


def lint(source: str, mode: str, file: str, element, what: str,
         element_id: str | None = None) -> list[Problem]:
    """``sandbox.lint`` findings as problems at ``element``'s line (plus the finding's)."""
    start = element.sourceline
    return [Problem(file, element_id or owner_id(element),
                    start + issue.line - 1 if start else None, f"{what}: {issue.message}")
            for issue in sandbox.lint(source, mode)]


def check_dmn(file: str, root) -> tuple[list[str], list[Problem]]:
    """(ids of the decision this DMN document defines, problems found in it)."""
    ns = etree.QName(root).namespace
    if etree.QName(root).localname != "definitions" or ns not in SCHEMAS:
        return [], [Problem(file, root.get("id"), root.sourceline,
                            "not a DMN document (root must be <definitions> in a DMN 1.1-1.3 namespace)")]
    if ns not in (root.nsmap.get(None), root.nsmap.get("dmn")):
        return [], [Problem(file, root.get("id"), root.sourceline,
                            "the DMN namespace must be the default namespace or use the prefix 'dmn'")]
    decisions = list(root.iter(f"{{{ns}}}decision"))
    if not decisions:
        return [], [Problem(file, root.get("id"), root.sourceline, "no decision in this DMN file")]
    problems = [Problem(file, extra.get("id"), extra.sourceline,
                        f"a DMN file holds one decision; {decisions[0].get('id')!r} is already here")
                for extra in decisions[1:]]
    decision = decisions[0]
    if not decision.get("id"):
        return [], problems + [Problem(file, None, decision.sourceline, "decision has no id")]
    problems += _check_decision(file, decision, ns)
    return [decision.get("id")], problems


def _text(element, ns: str) -> str | None:
    child = element.find(f"{{{ns}}}text")
    return None if child is None else (child.text or "")


def _check_decision(file: str, decision, ns: str) -> list[Problem]:
    def q(tag: str) -> str:
        return f"{{{ns}}}{tag}"

    decision_id = decision.get("id")
    tables = decision.findall(q("decisionTable"))
    if len(tables) != 1:
        return [Problem(file, decision_id, decision.sourceline,
                        f"a decision needs exactly one decisionTable, found {len(tables)}")]
    table = tables[0]
    problems: list[Problem] = []
    hit_policy = table.get("hitPolicy", "UNIQUE").upper()
    if hit_policy not in HIT_POLICIES:
        problems.append(Problem(file, decision_id, table.sourceline,
                                f"hit policy {hit_policy} is not supported (use one of {', '.join(HIT_POLICIES)})"))
    if table.get("aggregation"):
        problems.append(Problem(file, decision_id, table.sourceline,
                                "COLLECT aggregation is not supported (the engine returns lists)"))
    inputs = []
    for element in table.findall(q("input")):
        expression = element.find(q("inputExpression"))
        text = _text(expression, ns) if expression is not None else None
        label = element.get("label") or element.get("name") or text or element.get("id")
        if not text or not text.strip():
            problems.append(Problem(file, element.get("id"), element.sourceline,
                                    f"input {label!r} has no input expression"))
            continue
        problems += lint(text, "eval", file, expression, f"input expression {text!r}",
                         element.get("id"))
        inputs.append(_Input(label, text, expression.get("typeRef", "") or ""))
    if problems:
        return problems
    n_outputs = len(table.findall(q("output")))
    rules = []
    for rule in table.findall(q("rule")):
        entries, outputs = rule.findall(q("inputEntry")), rule.findall(q("outputEntry"))
        if len(entries) != len(inputs) or len(outputs) != n_outputs:
            problems.append(Problem(file, rule.get("id"), rule.sourceline,
                                    f"rule has {len(entries)} input and {len(outputs)} output entries; "
                                    f"the table has {len(inputs)} inputs and {n_outputs} outputs"))
            continue
        cells = []
        for inp, entry in zip(inputs, entries, strict=True):
            text = _text(entry, ns)
            if entry.find(q("text")) is None:
                problems.append(Problem(file, rule.get("id"), entry.sourceline,
                                        f"input entry for {inp.label!r} has no <text>"))
            cell = None if text in ("", "-") else text
            cells.append(cell)
            if cell is not None:
                problems += _check_cell(file, rule.get("id"), entry, inp, cell)
        for entry in outputs:
            text = _text(entry, ns)
            if text and text.strip():
                problems += lint(text, "eval", file, entry, f"output entry {text!r}", rule.get("id"))
        rules.append(_Rule(rule.get("id"), rule.sourceline, tuple(cells)))
    if problems:
        return problems
    return analyse(file, decision_id, table.sourceline, hit_policy, inputs, rules)


def _parses(text: str) -> bool:
    try:
        ast.parse(text.lstrip(" \t"), mode="eval")  # as the sandbox's validate()
    except (SyntaxError, ValueError):
        return False
    return True


def _spiff_expression(input_expr: str, cell: str) -> tuple[str, str]:
    """(what DMNEngine evaluates, the same with the input value as a name ``v``)."""
    if _QMARK.search(cell):
        return _QMARK.sub(_VAR, cell), _QMARK.sub("v", cell)
    if _parses(cell):
        return f"({input_expr}) == ({cell})", f"(v) == ({cell})"
    return input_expr + cell, f"(v) {cell}"


def _check_cell(file: str, rule_id: str, entry, inp: _Input, cell: str) -> list[Problem]:
    what = f"input entry {cell!r} for {inp.label!r}"
    if cell.strip() in ("", "-"):
        return [Problem(file, rule_id, entry.sourceline,
                        f"{what}: a blank cell does not mean 'any value': write exactly '-'")]
    spiff, _ = _spiff_expression(inp.expression, cell)
    problems = lint(spiff, "eval", file, entry, what, rule_id)
    if problems:
        return problems
    if not _QMARK.search(cell) and not _parses(cell):
        grouped = f"({inp.expression}) {cell}"
        if not _parses(grouped) or ast.dump(ast.parse(spiff.lstrip(" \t"), mode="eval")) != \
                ast.dump(ast.parse(grouped.lstrip(" \t"), mode="eval")):
            return [Problem(file, rule_id, entry.sourceline,
                            f"{what}: the engine appends the cell to the input expression as is, "
                            f"which reads {spiff!r}; write it with '?' (e.g. '? in (...)')")]
    elif not _QMARK.search(cell) and isinstance(ast.parse(cell.lstrip(" \t"), mode="eval").body, ast.Tuple):
        return [Problem(file, rule_id, entry.sourceline,
                        f"{what}: a comma list is compared with == as a tuple; "
                        f"write '? in ({cell.strip()})' to match any of them")]
    return []


# -- gaps and overlaps ------------------------------------------------------------------
def analyse(file: str, decision_id: str, line: int | None, hit_policy: str,
            inputs: list[_Input], rules: list[_Rule]) -> list[Problem]:
    """A gap (no rule matches; not for COLLECT) and, for UNIQUE, an overlap (two rules
    match), each found by sampling; [] if none or if the table is too complex."""
    try:
        samples, masks = _sample_masks(inputs, rules)
    except _Unsampleable as why:
        log.info("decision %s: gap check skipped (%s)", decision_id, why)
        return []
    if math.prod(len(s) for s in samples) > MAX_COMBINATIONS:
        log.info("decision %s: gap check skipped (more than %d combinations)", decision_id, MAX_COMBINATIONS)
        return []
    everything = (1 << len(rules)) - 1
    check_gap, check_overlap = hit_policy != "COLLECT", hit_policy == "UNIQUE"
    problems = []
    for combo in itertools.product(*(range(len(s)) for s in samples)):
        matched = everything
        for i, s in enumerate(combo):
            matched &= masks[i][s]
        if check_gap and not matched:
            check_gap = False
            problems.append(Problem(file, decision_id, line,
                                    f"decision {decision_id}: no rule matches {_where(inputs, samples, combo)} "
                                    f"(a gap in the table)"))
        elif check_overlap and matched & (matched - 1):
            check_overlap = False
            first, second = [rules[r] for r in range(len(rules)) if matched >> r & 1][:2]
            problems.append(Problem(file, second.id, second.line,
                                    f"decision {decision_id}: rules {first.id} and {second.id} both match "
                                    f"{_where(inputs, samples, combo)} but the hit policy is UNIQUE"))
        if not (check_gap or check_overlap):
            break
    return problems


def _where(inputs: list[_Input], samples: list[list], combo: tuple) -> str:
    shown = [f"{inputs[i].label}={samples[i][s]!r}" for i, s in enumerate(combo) if samples[i] != [None]]
    return ", ".join(shown) or "any input"


def _sample_masks(inputs: list[_Input], rules: list[_Rule]) -> tuple[list[list], list[list[int]]]:
    """Per input: its sample values, and per sample a bitmask of the rules it satisfies."""
    samples, masks = [], []
    for i, inp in enumerate(inputs):
        predicates = {}
        for r, rule in enumerate(rules):
            cell = rule.cells[i]
            if cell is not None:
                predicates[r] = _predicate(_spiff_expression(inp.expression, cell)[1])
        values = _values(inp, [tree for tree, _ in predicates.values()]) if predicates else [None]
        if not values:
            raise _Unsampleable(f"no constants to sample input {inp.label!r} with")
        row = []
        for value in values:
            mask = 0
            for r in range(len(rules)):
                if r not in predicates or _holds(predicates[r][1], value):
                    mask |= 1 << r
            row.append(mask)
        samples.append(values)
        masks.append(row)
    return samples, masks


def _predicate(expression: str):
    tree = ast.parse(expression.lstrip(" \t"), mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            bounds = _range_bounds(node)
            if bounds is None:
                raise _Unsampleable(f"cell {expression!r} calls a function")
            if len(range(*bounds)) > MAX_RANGE:
                raise _Unsampleable(f"range in {expression!r} is too long")
        elif isinstance(node, ast.Name):
            if node.id not in ("v", "range"):
                raise _Unsampleable(f"cell {expression!r} reads {node.id!r}")
        elif not isinstance(node, _SAMPLE_NODES):
            raise _Unsampleable(f"cell {expression!r} uses {type(node).__name__}")
    return tree, compile(tree, "<dmn cell>", "eval")


def _range_bounds(call: ast.Call) -> list[int] | None:
    """The arguments of ``range(...)`` with 1 to 3 integer constants, else None."""
    if not (isinstance(call.func, ast.Name) and call.func.id == "range" and not call.keywords
            and 1 <= len(call.args) <= 3):
        return None
    bounds = [_int_constant(a) for a in call.args]
    ints = [b for b in bounds if b is not None]
    return ints if len(ints) == len(bounds) else None


def _int_constant(node) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _int_constant(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _holds(code, value) -> bool:
    try:
        return bool(eval(code, {"__builtins__": {}, "range": range}, {"v": value}))
    except (TypeError, ValueError, ArithmeticError) as err:
        raise _Unsampleable(f"cell fails on sample {value!r}: {err}") from err


def _constants(tree) -> list:
    found: list[object] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
                and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
            found.append(-node.operand.value)
        elif isinstance(node, ast.Constant):
            found.append(node.value)
        elif isinstance(node, ast.Call):  # range(a, b): its first and last members
            bounds = _range_bounds(node)
            if bounds is None:  # _predicate lets no other call through
                raise _Unsampleable("a cell calls a function")
            members = range(*bounds)
            found += [members[0], members[-1]] if members else []
    return found


def _values(inp: _Input, trees: list) -> list:
    numbers: set[int | float] = set()
    strings: set[str] = set()
    flags: set[bool | None] = set()
    for value in itertools.chain.from_iterable(_constants(t) for t in trees):
        if value is None or isinstance(value, bool):
            flags.update((True, False) if isinstance(value, bool) else (None,))
        elif isinstance(value, (int, float)):
            numbers.add(value)
        elif isinstance(value, str):
            strings.add(value)
        else:
            raise _Unsampleable(f"constant {value!r} of input {inp.label!r}")
    if numbers and strings:
        raise _Unsampleable(f"input {inp.label!r} is compared with numbers and strings")
    values: list[str | float] = [*sorted(strings)]
    if numbers:
        ordered = sorted(numbers)
        type_ref = inp.type_ref.lower()
        integral = type_ref in _INTEGRAL_TYPES or (
            type_ref not in _REAL_TYPES and all(isinstance(n, int) for n in ordered))
        points = set(ordered) | {n - 1 for n in ordered} | {n + 1 for n in ordered}
        if not integral:
            points |= {(a + b) / 2 for a, b in zip(ordered, ordered[1:], strict=False)}
        if inp.expression.strip().endswith("_count") or ordered[0] >= 0:
            points = {p for p in points if p >= 0}
        values = [*sorted(points)]
    return values + sorted(flags, key=repr)
