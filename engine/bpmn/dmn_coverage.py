"""Gaps and overlaps of a decision table, found by sweeping each input's domain.

Each cell is read as the set of values it matches (``engine.bpmn.dmn_cells``); each input
has a domain (``engine.bpmn.dmn_domains``). Per input, the domain is cut at every bound a
cell names into *pieces* — a value, or an open stretch of numbers between two bounds —
inside which every cell of that input either always or never matches; each piece carries
the bitmask of the rules whose cell matches it (one sweep over the sorted bounds, so
building the pieces is O(r log r) for r rules). The search then walks the inputs in order,
narrowing the set of rules still matching (a bitmask AND per piece) and never visiting the
same (input, rules left) pair twice:

* a piece no remaining rule matches is a **gap** (not checked for COLLECT): the example
  given is that piece's value with the values chosen for the inputs before it;
* for hit policy UNIQUE, two rules still matching after the last input is an **overlap**.

Assumptions, kept simple and said here:

* a numeric input is integral if its typeRef is integer/long, or if every number in its
  cells is an int and the typeRef is not double/float/decimal;
* a numeric input is never negative if its expression ends with ``_count`` or its cells
  only compare with non-negative numbers, unless its declared values say otherwise;
* without declared values, strings take the values the cells list plus those the domain
  adds, flags (``True``/``False``/``None``) likewise: nothing else is assumed;
* inputs are independent of each other.

A table the check cannot finish is refused, never passed unchecked (a table that deploys
with a hole is the failure the check exists to prevent): one whose cells the reader cannot
turn into sets (a cell calling a function, reading another variable, ordering strings),
one that compares an input with numbers and strings, and one whose search goes beyond
``MAX_VISITS`` steps. The refusal says why and how to change the table so it can be checked.

Building the pieces is one pass over the rules per input: a map from each named string or
flag to the rules naming it, so many distinct values cost O(r) and not O(r) per value.
"""
from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from engine.bpmn.dmn_cells import TooComplex, constants, matched_values
from engine.bpmn.dmn_check import DecisionTable, Problem, TableInput, TableRule
from engine.bpmn.dmn_domains import Domain
from engine.bpmn.value_sets import INF, Discrete, Interval, NumberSet, ValueSet, is_flag

log = logging.getLogger(__name__)

MAX_VISITS = 200_000
_INTEGRAL_TYPES = ("integer", "long", "int")
_REAL_TYPES = ("double", "float", "decimal")
ANY = object()  # the one piece of an input no cell constrains


@dataclass(frozen=True)
class Piece:
    value: object  # a representative value (ANY: the input is not constrained)
    rules: int  # bitmask of the rules matching it


def analyse(table: DecisionTable, domains: dict[int, Domain]) -> list[Problem]:
    """The first gap (not for COLLECT) and, for UNIQUE, the first overlap of ``table``;
    a refusal if the table is too complex to read or too large to search; [] if none."""
    check_gap, check_overlap = table.hit_policy != "COLLECT", table.hit_policy == "UNIQUE"
    if not (check_gap or check_overlap) or not table.rules:
        return [] if table.rules or not check_gap else [
            Problem(table.file, table.id, table.line, f"decision {table.id}: the table has no rules")]
    try:
        pieces = axes(table, domains)
    except TooComplex as why:
        log.info("decision %s: gap check impossible (%s)", table.id, why)
        rule = why.rule if isinstance(why, _Unreadable) else None
        return [Problem(table.file, rule.id if rule else table.id, rule.line if rule else table.line,
                        f"decision {table.id}: the table is too complex to be checked for gaps: {why}. "
                        "Write each cell as a comparison of the input with fixed values (such as "
                        "'>= 3', '\"high\"', '? in range(0, 5)' or '-'), or move that test into "
                        "the diagram before the decision, and deploy again")]
    search = Search(table, pieces, domains, check_gap, check_overlap)
    try:
        search.run(0, (1 << len(table.rules)) - 1, ())
    except _Budget:
        log.info("decision %s: gap check stopped after %d steps", table.id, MAX_VISITS)
        return search.problems or [Problem(
            table.file, table.id, table.line,
            f"decision {table.id}: the table is too large to be checked for gaps: the combinations "
            f"of its {len(table.inputs)} inputs take more than {MAX_VISITS:,} steps to check. Split it into "
            "smaller decisions (for example one table per value of its first input, chosen in "
            "the diagram), or merge rules that give the same result, and deploy again")]
    return search.problems


def axes(table: DecisionTable, domains: dict[int, Domain]) -> list[list[Piece]]:
    """Per input, its pieces (``TooComplex`` when a cell cannot be read as a set)."""
    return [_pieces(table, i, inp, domains.get(i) or Domain()) for i, inp in enumerate(table.inputs)]


class _Unreadable(TooComplex):
    """A cell of one rule that cannot be read as a set of values."""

    def __init__(self, rule: TableRule, inp: TableInput, why: TooComplex):
        super().__init__(f"in rule {rule.id}, the {inp.label} cell: {why}")
        self.rule = rule


class _Budget(Exception):
    pass


class _Found(Exception):
    pass


class Search:
    """The walk over the inputs' pieces; ``visits`` counts its steps."""

    def __init__(self, table: DecisionTable, axes: list[list[Piece]], domains: dict[int, Domain],
                 check_gap: bool, check_overlap: bool):
        self.table, self.axes, self.domains = table, axes, domains
        self.check_gap, self.check_overlap = check_gap, check_overlap
        self.seen: set[tuple[int, int]] = set()
        self.visits = 0
        self.problems: list[Problem] = []

    def run(self, dim: int, rules: int, path: tuple[object, ...]) -> None:
        try:
            self._visit(dim, rules, path)
        except _Found:
            pass

    def _visit(self, dim: int, rules: int, path: tuple[object, ...]) -> None:
        if (dim, rules) in self.seen:
            return
        self.seen.add((dim, rules))
        if dim == len(self.axes):
            if self.check_overlap and rules & (rules - 1):
                self._overlap(rules, path)
            return
        for piece in self.axes[dim]:
            self.visits += 1
            if self.visits > MAX_VISITS:
                raise _Budget
            left = rules & piece.rules
            if not left:
                if self.check_gap:
                    self._gap((*path, piece.value))
                continue
            self._visit(dim + 1, left, (*path, piece.value))

    def _gap(self, path: tuple[object, ...]) -> None:
        self.check_gap = False
        t = self.table
        self.problems.append(Problem(t.file, t.id, t.line, f"decision {t.id}: no rule matches "
                                     f"{self._where(path)} (a gap in the table){self._why(path)}"))
        self._stop_if_done()

    def _overlap(self, rules: int, path: tuple[object, ...]) -> None:
        self.check_overlap = False
        first, second = [r for i, r in enumerate(self.table.rules) if rules >> i & 1][:2]
        self.problems.append(Problem(self.table.file, second.id, second.line,
                                     f"decision {self.table.id}: rules {first.id} and {second.id} both match "
                                     f"{self._where(path)} but the hit policy is UNIQUE"))
        self._stop_if_done()

    def _stop_if_done(self) -> None:
        if not (self.check_gap or self.check_overlap):
            raise _Found

    def _where(self, path: tuple[object, ...]) -> str:
        shown = [f"{inp.label}={_shown(value)}" for inp, value in zip(self.table.inputs, path, strict=False)
                 if value is not ANY]
        return ", ".join(shown) or "any input"

    def _why(self, path: tuple[object, ...]) -> str:
        for i, value in enumerate(path):
            source = (self.domains.get(i) or Domain()).sources.get(value) if value is not ANY else None
            if source and source != "declared":
                return f": {self.table.inputs[i].label} can be {_shown(value)} ({source})"
            if source == "declared":
                return f": {_shown(value)} is one of the declared input values of {self.table.inputs[i].label}"
        return ""


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


# -- the pieces of one input ----------------------------------------------------------------
def _pieces(table: DecisionTable, index: int, inp: TableInput, domain: Domain) -> list[Piece]:
    cells = [rule.cells[index] for rule in table.rules]
    if all(c is None for c in cells) and not domain.closed and domain.values == ValueSet():
        return [Piece(ANY, (1 << len(cells)) - 1)]
    found = [v for c in cells for v in constants(inp.expression, c)]
    numbers = [v for v in found if isinstance(v, (int, float)) and not is_flag(v)]
    integral = _integral(inp, numbers, domain)
    sets = []
    for rule, cell in zip(table.rules, cells, strict=True):
        try:
            sets.append(matched_values(inp.expression, cell, integral))
        except TooComplex as why:
            raise _Unreadable(rule, inp, why) from why
    axis = _axis(inp, domain, sets, numbers, found)
    if not axis.numbers.empty and axis.strings.values:
        raise TooComplex(f"input {inp.label!r} is compared with numbers and strings")
    string_mask = _masks([one.strings for one in sets])
    flag_mask = _masks([one.flags for one in sets])
    pieces = [Piece(s, string_mask(s)) for s in sorted(axis.strings.values)]
    pieces += _number_pieces(axis.numbers, sets, integral)
    pieces += [Piece(f, flag_mask(f)) for f in sorted(axis.flags.values, key=repr)]
    return pieces


def _integral(inp: TableInput, numbers: list, domain: Domain) -> bool:
    type_ref = inp.type_ref.lower()
    if type_ref in _INTEGRAL_TYPES:
        return True
    if type_ref in _REAL_TYPES or domain.integral is False:
        return False
    return all(isinstance(n, int) for n in numbers)


def _axis(inp: TableInput, domain: Domain, sets: list[ValueSet], numbers: list, found: list) -> ValueSet:
    """The values to cover: the declared domain, or what the cells and the domain name."""
    if domain.closed:
        return domain.values
    strings = {v for v in found if isinstance(v, str)} | set(domain.values.strings.values)
    flags = {v for v in found if is_flag(v)} | set(domain.values.flags.values)
    for one in sets:  # the values a cell excludes (!= "x") are listed too
        strings |= one.strings.values
        flags |= one.flags.values
    if flags & {True, False}:
        flags |= {True, False}
    axis = ValueSet(strings=Discrete(frozenset(strings)), flags=Discrete(frozenset(flags)))
    if numbers or inp.type_ref.lower() in _INTEGRAL_TYPES + _REAL_TYPES + ("number",):
        never_negative = inp.expression.strip().endswith("_count") or (numbers and min(numbers) >= 0)
        span = NumberSet.of([Interval(0, INF, True, False)]) if never_negative else NumberSet.everything()
        axis = ValueSet(span.union(domain.values.numbers), axis.strings, axis.flags)
    return axis


def _masks(cells: list[Discrete]) -> Callable[[object], int]:
    """value -> bitmask of the rules whose cell matches it, from one pass over the cells:
    a cell matches the values it names, or (a complement, ``!= "x"``) all but those."""
    named: dict[object, int] = {}
    everything_but = 0  # the complement cells
    for r, one in enumerate(cells):
        bit = 1 << r
        if one.complement:
            everything_but |= bit
        for value in one.values:
            named[value] = named.get(value, 0) | bit
    return lambda value: (named.get(value, 0) & ~everything_but) | (everything_but & ~named.get(value, 0))


def _number_pieces(axis: NumberSet, sets: list[ValueSet], integral: bool) -> list[Piece]:
    """The axis cut at every bound of every cell, each piece with the rules matching it:
    one sweep over the bounds (a rule's interval toggles its bit on and off)."""
    if axis.empty:
        return []
    bounds = sorted(axis.endpoints() | {e for one in sets for e in one.numbers.endpoints()})
    # piece k: 2i+1 is the point bounds[i]; 2i is the open stretch just below it; 2n above the last
    toggles = [0] * (2 * len(bounds) + 2)
    for r, one in enumerate(sets):
        for interval in one.numbers.intervals:
            toggles[_first_piece(bounds, interval)] ^= 1 << r
            toggles[_last_piece(bounds, interval) + 1] ^= 1 << r
    pieces: list[Piece] = []
    mask = 0
    for k in range(2 * len(bounds) + 1):
        mask ^= toggles[k]
        value = _representative(bounds, k, integral)
        if value is None or not axis.contains(value):
            continue
        if pieces and pieces[-1].rules == mask and k % 2 == 0:
            continue  # the same rules as the point just below: nothing new to check
        pieces.append(Piece(value, mask))
    return pieces


def _first_piece(bounds: list[float], interval: Interval) -> int:
    if interval.low == -INF:
        return 0
    i = bisect.bisect_left(bounds, interval.low)
    return 2 * i + 1 if interval.low_closed else 2 * i + 2


def _last_piece(bounds: list[float], interval: Interval) -> int:
    if interval.high == INF:
        return 2 * len(bounds)
    i = bisect.bisect_left(bounds, interval.high)
    return 2 * i + 1 if interval.high_closed else 2 * i


def _representative(bounds: list[float], k: int, integral: bool) -> float | None:
    """A value inside piece ``k`` (None when an integral input has none there)."""
    if k % 2 == 1:
        point = bounds[k // 2]
        return point if not integral or float(point).is_integer() else None
    i = k // 2
    low = bounds[i - 1] if i > 0 else -INF
    high = bounds[i] if i < len(bounds) else INF
    if integral:
        candidate = math.floor(low) + 1 if low != -INF else math.ceil(high) - 1
        return candidate if low < candidate < high else None
    if low == -INF:
        return high - 1
    if high == INF:
        return low + 1
    return (low + high) / 2
