"""Decision-table cells read the way SpiffWorkflow's ``DMNEngine`` evaluates them at run
time, and the set of input values each one matches.

* ``-`` (exactly) or no text at all means "any value";
* a cell with a ``?`` outside quotes is evaluated with ``?`` bound to the input's value
  (``1 < ? < 3``, ``? in ('a', 'b')``);
* a cell that is an expression on its own (``"high"``, ``3``) is compared with
  ``(input) == (cell)``;
* anything else (``>= 3``, `` in (1, 2)``) is appended to the input expression *as is*,
  with no space and no parentheses: ``status`` + ``in (1, 2)`` becomes
  ``statusin (1, 2)``. A cell that reads differently glued on is an error here.

:func:`matched_values` turns a cell into a :class:`~engine.bpmn.value_sets.ValueSet`:
comparisons of the input with constants (chained ones too), ``in``/``not in`` a literal
tuple, list or set or ``range()`` of int constants, ``is (not) None``, and ``and``/``or``/
``not`` of those. Anything else (a cell reading another variable, calling a function,
comparing strings by order) raises :class:`TooComplex`: the coverage check then skips
the table rather than guess.
"""
from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from engine.bpmn.value_sets import INF, Interval, NumberSet, ValueSet, is_flag

MAX_RANGE = 10_000
QMARK = re.compile(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)')  # as DMNEngine.evaluate
_VAR = "dmninputexpr"
_INPUT = "v"


class TooComplex(Exception):
    """A cell the coverage check cannot read as a set of values."""


@dataclass(frozen=True)
class CellReading:
    """What the engine evaluates for one cell, and the same with the input as ``v``."""
    engine_text: str
    predicate: str


def parses(text: str) -> bool:
    try:
        ast.parse(text.lstrip(" \t"), mode="eval")  # as the sandbox's validate()
    except (SyntaxError, ValueError):
        return False
    return True


def reading(input_expr: str, cell: str) -> CellReading:
    if QMARK.search(cell):
        return CellReading(QMARK.sub(_VAR, cell), QMARK.sub(_INPUT, cell))
    if parses(cell):
        return CellReading(f"({input_expr}) == ({cell})", f"({_INPUT}) == ({cell})")
    return CellReading(input_expr + cell, f"({_INPUT}) {cell}")


def glue_problem(input_expr: str, cell: str) -> str | None:
    """Why the engine would read ``cell`` otherwise than written, or None."""
    engine_text = reading(input_expr, cell).engine_text
    if not QMARK.search(cell) and not parses(cell):
        grouped = f"({input_expr}) {cell}"
        if not parses(grouped) or ast.dump(ast.parse(engine_text.lstrip(" \t"), mode="eval")) != \
                ast.dump(ast.parse(grouped.lstrip(" \t"), mode="eval")):
            return (f"the engine appends the cell to the input expression as is, which reads {engine_text!r}; "
                    f"write it with '?' (e.g. '? in (...)')")
    elif not QMARK.search(cell) and isinstance(ast.parse(cell.lstrip(" \t"), mode="eval").body, ast.Tuple):
        return f"a comma list is compared with == as a tuple; write '? in ({cell.strip()})' to match any of them"
    return None


# -- cells as sets of values ---------------------------------------------------------------
def matched_values(input_expr: str, cell: str | None, integral: bool) -> ValueSet:
    """The values of the input the cell matches (``None``: any value). ``integral``: the
    input only takes whole numbers (so ``range()`` is an interval)."""
    if cell is None:
        return ValueSet.everything()
    tree = ast.parse(reading(input_expr, cell).predicate.lstrip(" \t"), mode="eval")
    return _node(tree.body, integral)


def constants(input_expr: str, cell: str | None) -> list[object]:
    """The constants a cell compares its input with (for the input's default range)."""
    if cell is None:
        return []
    found: list[object] = []
    for node in ast.walk(ast.parse(reading(input_expr, cell).predicate.lstrip(" \t"), mode="eval")):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                found += _literals(side)
    return found


def _literals(node) -> list[object]:
    value = _constant(node)
    if value is not _NOT_CONSTANT:
        return [value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [v for item in node.elts for v in _literals(item)]
    bounds = _range_bounds(node)
    if bounds is not None:
        members = range(*bounds)
        return [members[0], members[-1]] if members else []
    return []


_NOT_CONSTANT = object()
_ORDER: dict[type, Callable[[float], Interval]] = {
    ast.Lt: lambda c: Interval(-INF, c, False, False),
    ast.LtE: lambda c: Interval(-INF, c, False, True),
    ast.Gt: lambda c: Interval(c, INF, False, False),
    ast.GtE: lambda c: Interval(c, INF, True, False),
}
_MIRROR = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq,
           ast.NotEq: ast.NotEq, ast.Is: ast.Is, ast.IsNot: ast.IsNot}
_TRUTH = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
          ast.Gt: operator.gt, ast.GtE: operator.ge}


def _node(node, integral: bool) -> ValueSet:
    if isinstance(node, ast.BoolOp):
        parts = [_node(v, integral) for v in node.values]
        result = parts[0]
        for part in parts[1:]:
            result = result.intersect(part) if isinstance(node.op, ast.And) else result.union(part)
        return result
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _node(node.operand, integral).complement()
    if isinstance(node, ast.Compare):
        result = ValueSet.everything()
        sides = [node.left, *node.comparators]
        for left, op, right in zip(sides, node.ops, sides[1:], strict=False):
            result = result.intersect(_comparison(left, op, right, integral))
        return result
    value = _constant(node)
    if isinstance(value, bool):
        return ValueSet.everything() if value else ValueSet()
    raise TooComplex(f"a cell uses {ast.unparse(node)!r}")


def _is_input(node) -> bool:
    return isinstance(node, ast.Name) and node.id == _INPUT


def _comparison(left, op, right, integral: bool) -> ValueSet:
    if not _is_input(left) and _is_input(right) and type(op) in _MIRROR:
        left, op, right = right, _MIRROR[type(op)](), left
    if not _is_input(left):
        first, second = _constant(left), _constant(right)
        if first is _NOT_CONSTANT or second is _NOT_CONSTANT or type(op) not in _TRUTH:
            raise TooComplex(f"a cell compares {ast.unparse(left)!r} with {ast.unparse(right)!r}")
        try:
            holds = bool(_TRUTH[type(op)](cast(Any, first), cast(Any, second)))
        except TypeError as err:
            raise TooComplex(f"a cell compares {first!r} with {second!r}") from err
        return ValueSet.everything() if holds else ValueSet()
    if isinstance(op, (ast.In, ast.NotIn)):
        members = _members(right, integral)
        return members.complement() if isinstance(op, ast.NotIn) else members
    value = _constant(right)
    if value is _NOT_CONSTANT:
        raise TooComplex(f"a cell compares the input with {ast.unparse(right)!r}")
    if isinstance(op, (ast.Eq, ast.Is)):
        if isinstance(op, ast.Is) and value is not None:
            raise TooComplex("a cell uses 'is' with something other than None")
        return ValueSet.equal_to(value)
    if isinstance(op, (ast.NotEq, ast.IsNot)):
        return ValueSet.equal_to(value).complement()
    if type(op) in _ORDER and isinstance(value, (int, float)) and not is_flag(value):
        return ValueSet(numbers=NumberSet.of([_ORDER[type(op)](value)]))
    raise TooComplex(f"a cell compares the input with {value!r} by order")


def _members(node, integral: bool) -> ValueSet:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        result = ValueSet()
        for item in node.elts:
            value = _constant(item)
            if value is _NOT_CONSTANT:
                raise TooComplex(f"a cell lists {ast.unparse(item)!r}")
            result = result.union(ValueSet.equal_to(value))
        return result
    bounds = _range_bounds(node)
    if bounds is None:
        raise TooComplex(f"a cell tests membership in {ast.unparse(node)!r}")
    members = range(*bounds)
    if not members:
        return ValueSet()
    if integral and abs(members.step) == 1:
        return ValueSet(numbers=NumberSet.of([Interval(min(members), max(members))]))
    if len(members) > MAX_RANGE:
        raise TooComplex(f"range in {ast.unparse(node)!r} is too long")
    return ValueSet(numbers=NumberSet.of(Interval(m, m) for m in members))


def _constant(node) -> object:
    """The value of a literal (a negative number included), else ``_NOT_CONSTANT``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _constant(node.operand)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
        return _NOT_CONSTANT
    if isinstance(node, ast.Constant) and (is_flag(node.value) or isinstance(node.value, (int, float, str))):
        return node.value
    return _NOT_CONSTANT


def _range_bounds(node) -> list[int] | None:
    """The arguments of ``range(...)`` with 1 to 3 integer constants, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
            and not node.keywords and 1 <= len(node.args) <= 3):
        return None
    bounds = [_constant(a) for a in node.args]
    if all(type(b) is int for b in bounds):
        return [b for b in bounds if isinstance(b, int)]
    return None
