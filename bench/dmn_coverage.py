"""dmn_coverage: what the deploy-time gap and overlap check of a decision table costs.

Times ``engine.bpmn.dmn_coverage.analyse`` on two generated UNIQUE tables, each at 1,000 and
10,000 rules, and prints their ratio (near 10 if the check grows with the rules, 100 if it
were quadratic):

* grid: a whole-number input cut in slabs of ten times a string input of ten values (the
  shape of the stock timeframe tables, only larger);
* strings: one string value per rule (many distinct values on one input, the case that was
  quadratic before the value -> rules map was built in one pass).

One line:

    dmn_coverage: grid 1k 0.07 s 10k 0.90 s (x12.0); strings 1k 0.03 s 10k 0.42 s (x12.1)

No database.
"""
from __future__ import annotations

import logging
import time

from _support import sqlite_url  # noqa: F401 - puts the project on the path

from engine.bpmn import dmn_coverage
from engine.bpmn.dmn_check import DecisionTable, TableInput, TableRule

COLUMNS = 10


def grid(rules: int) -> DecisionTable:
    rows = rules // COLUMNS
    body = tuple(TableRule(f"r{i}_{j}", None, (f"? in range({i * 10}, {i * 10 + 10})" if i < rows - 1
                                               else f">= {i * 10}", f'"v{j}"'), ("1",))
                 for i in range(rows) for j in range(COLUMNS))
    inputs = (TableInput("a", "A", "a_count", "integer", None, None),
              TableInput("b", "B", "b", "string", None, None))
    return DecisionTable("grid", "grid.dmn", 1, "UNIQUE", inputs, ("out",), body)


def strings(rules: int) -> DecisionTable:
    body = tuple(TableRule(f"r{i}", None, (f'"v{i}"',), ("1",)) for i in range(rules))
    inputs = (TableInput("b", "B", "b", "string", None, None),)
    return DecisionTable("strings", "strings.dmn", 1, "UNIQUE", inputs, ("out",), body)


def _seconds(table: DecisionTable) -> float:
    """The best of three runs (the least disturbed by others on a shared machine)."""
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        problems = dmn_coverage.analyse(table, {})
        samples.append(time.perf_counter() - started)
        if problems:
            raise SystemExit(f"dmn_coverage: {table.id} should be complete: {problems[0].message}")
    return min(samples)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parts = []
    for name, build in (("grid", grid), ("strings", strings)):
        small, large = _seconds(build(1_000)), _seconds(build(10_000))
        parts.append(f"{name} 1k {small:.2f} s 10k {large:.2f} s (x{large / small:.1f})")
    print("dmn_coverage: " + "; ".join(parts))


if __name__ == "__main__":
    main()
