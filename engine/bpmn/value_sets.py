"""Sets of input values, for reasoning about decision-table cells without sampling.

A cell of a DMN table (``>= 3``, ``"high"``, ``? in range(0, 5)``, ``!= "low"``) matches a
set of values of its input; the completeness check (``engine.bpmn.dmn_coverage``) sweeps
over those sets. A :class:`ValueSet` keeps one component per kind of value, each closed
under union, intersection and complement:

* numbers: a union of disjoint intervals with open or closed ends (``-inf``/``inf`` for
  unbounded), :class:`NumberSet`;
* strings: a finite set, or everything *except* a finite set (``!= "low"``);
* flags (``True``, ``False``, ``None``): likewise.

Kinds never mix: ``"3" == 3`` is false in Python, and an ordering comparison of a string
with a number raises at run time (so it matches nothing here). Booleans are kept apart
from numbers although Python counts ``True == 1``: an input is either flags or numbers.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

INF = math.inf


@dataclass(frozen=True, order=True)
class Interval:
    low: float
    high: float
    low_closed: bool = True
    high_closed: bool = True

    @property
    def empty(self) -> bool:
        if self.low > self.high:
            return True
        return self.low == self.high and not (self.low_closed and self.high_closed)

    def contains(self, value: float) -> bool:
        above = value > self.low or (value == self.low and self.low_closed)
        below = value < self.high or (value == self.high and self.high_closed)
        return above and below


@dataclass(frozen=True)
class NumberSet:
    """Disjoint intervals, sorted (build with :meth:`of`)."""
    intervals: tuple[Interval, ...] = ()

    @classmethod
    def of(cls, intervals: Iterable[Interval]) -> NumberSet:
        ordered = sorted((i for i in intervals if not i.empty), key=lambda i: (i.low, not i.low_closed))
        merged: list[Interval] = []
        for one in ordered:
            if merged and _touch(merged[-1], one):
                last = merged[-1]
                if (one.high, one.high_closed) > (last.high, last.high_closed):
                    merged[-1] = Interval(last.low, one.high, last.low_closed, one.high_closed)
            else:
                merged.append(one)
        return cls(tuple(merged))

    @classmethod
    def everything(cls) -> NumberSet:
        return cls((Interval(-INF, INF, False, False),))

    @classmethod
    def point(cls, value: float) -> NumberSet:
        return cls((Interval(value, value),))

    def union(self, other: NumberSet) -> NumberSet:
        return NumberSet.of(self.intervals + other.intervals)

    def complement(self) -> NumberSet:
        pieces, low, low_closed = [], -INF, False
        for one in self.intervals:
            pieces.append(Interval(low, one.low, low_closed, not one.low_closed))
            low, low_closed = one.high, not one.high_closed
        pieces.append(Interval(low, INF, low_closed, False))
        return NumberSet.of(pieces)

    def intersect(self, other: NumberSet) -> NumberSet:
        return self.complement().union(other.complement()).complement()

    def contains(self, value: float) -> bool:
        return any(one.contains(value) for one in self.intervals)

    def endpoints(self) -> set[float]:
        return {e for one in self.intervals for e in (one.low, one.high) if math.isfinite(e)}

    @property
    def empty(self) -> bool:
        return not self.intervals


def _touch(first: Interval, second: Interval) -> bool:
    """Whether ``second`` (starting no earlier) overlaps or adjoins ``first``."""
    if second.low < first.high:
        return True
    return second.low == first.high and (first.high_closed or second.low_closed)


@dataclass(frozen=True)
class Discrete:
    """A finite set of values, or (``complement``) everything except them."""
    values: frozenset = frozenset()
    complement: bool = False

    def union(self, other: Discrete) -> Discrete:
        if self.complement and other.complement:
            return Discrete(self.values & other.values, True)
        if self.complement:
            return Discrete(self.values - other.values, True)
        if other.complement:
            return Discrete(other.values - self.values, True)
        return Discrete(self.values | other.values)

    def inverted(self) -> Discrete:
        return Discrete(self.values, not self.complement)

    def intersect(self, other: Discrete) -> Discrete:
        return self.inverted().union(other.inverted()).inverted()

    def contains(self, value: object) -> bool:
        return (value in self.values) != self.complement


@dataclass(frozen=True)
class ValueSet:
    """The values one cell matches (or an input can take), by kind."""
    numbers: NumberSet = NumberSet()
    strings: Discrete = Discrete()
    flags: Discrete = Discrete()

    @classmethod
    def everything(cls) -> ValueSet:
        return cls(NumberSet.everything(), Discrete(complement=True), Discrete(complement=True))

    @classmethod
    def equal_to(cls, value: object) -> ValueSet:
        if is_flag(value):
            return cls(flags=Discrete(frozenset([value])))
        if isinstance(value, (int, float)):
            return cls(numbers=NumberSet.point(value))
        if isinstance(value, str):
            return cls(strings=Discrete(frozenset([value])))
        raise TypeError(f"no value set for {value!r}")

    def union(self, other: ValueSet) -> ValueSet:
        return ValueSet(self.numbers.union(other.numbers), self.strings.union(other.strings),
                        self.flags.union(other.flags))

    def intersect(self, other: ValueSet) -> ValueSet:
        return ValueSet(self.numbers.intersect(other.numbers), self.strings.intersect(other.strings),
                        self.flags.intersect(other.flags))

    def complement(self) -> ValueSet:
        return ValueSet(self.numbers.complement(), self.strings.inverted(), self.flags.inverted())

    def contains(self, value: object) -> bool:
        if is_flag(value):
            return self.flags.contains(value)
        if isinstance(value, (int, float)):
            return self.numbers.contains(value)
        return isinstance(value, str) and self.strings.contains(value)


def is_flag(value: object) -> bool:
    return value is None or isinstance(value, bool)
