"""The team's cases counted as they change (``case_count_deltas``, migration 0021): read
by group, folded, checked and rebuilt.

Triggers on ``cases`` append signed rows; a group's count (supervisor, caseworker, status,
risk level) is the sum of its rows. :func:`fold`, run by the periodic sweep, collapses each
group's rows into one, in one short transaction that deletes exactly the rows it saw
(``DELETE … RETURNING``) and inserts their sums: a case written meanwhile appends rows the
fold neither sees nor waits on, nor makes wait, and they are folded the next time.

What the triggers cannot see leaves the counts wrong: ``TRUNCATE cases`` (no row triggers
fire), a restore or a copy that skipped ``case_count_deltas``, cases written with the
triggers disabled, or a SQLite migration that rebuilt ``cases`` and lost them.
:func:`differences` compares the kept counts with a count of the cases; :func:`recount`
makes the kept counts a count of the cases again and puts back missing count triggers
(``python -m webui.cli case-counts``); :func:`mend`, the daily ``check_case_counts`` job, does
both when it finds the counts wrong or a trigger missing.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, inspect, literal, select, text, union_all

from engine.case import count_triggers
from engine.models import Case
from engine.models.case_counts import CaseCountDelta

log = logging.getLogger(__name__)

D = CaseCountDelta
KEYS = (D.supervisor_id, D.caseworker_id, D.status, D.risk_level)
CASE_KEYS = (Case.supervisor_id, Case.caseworker_id, Case.status, Case.risk_level)  # the same columns of a case
Group = tuple[int | None, int | None, str, str | None]  # supervisor, caseworker, status, risk level


def _insert_groups(session, totals: Mapping[Group, int]) -> int:
    """One row per group whose total is not 0; how many were written."""
    rows = [dict(zip((c.key for c in KEYS), group, strict=True), delta=total) for group, total in totals.items()
            if total]
    if rows:
        session.execute(insert(D), rows)
    return len(rows)


def counts(session, *conditions) -> list[tuple[str, str | None, int | None, int]]:
    """(status, risk level, caseworker, cases) of every non-empty group of the cases the
    ``conditions`` (on :class:`CaseCountDelta`'s columns) choose."""
    total = func.sum(D.delta)
    return [(status, level, worker, int(count)) for status, level, worker, count in session.execute(
        select(D.status, D.risk_level, D.caseworker_id, total).where(*conditions)
        .group_by(D.status, D.risk_level, D.caseworker_id).having(total != 0)).all()]


def total(session, status: str | None = None, risk_level: str | None = None) -> int:
    """How many cases there are (of this status, of this risk level), from the kept counts."""
    conditions = [column == value for column, value in ((D.status, status), (D.risk_level, risk_level)) if value]
    return int(session.scalar(select(func.coalesce(func.sum(D.delta), 0)).where(*conditions)) or 0)


def fold(session) -> int:
    """One row per group instead of many (none for a group whose sum is 0); how many rows
    went. When every group has one row already nothing is written."""
    groups = select(*KEYS).group_by(*KEYS).subquery()
    rows, distinct = session.execute(select(select(func.count()).select_from(D).scalar_subquery(),
                                            select(func.count()).select_from(groups).scalar_subquery())).one()
    if rows <= distinct:
        return 0
    sums: Counter[Group] = Counter()
    gone = 0
    for supervisor, caseworker, status, level, change in session.execute(delete(D).returning(*KEYS, D.delta)).all():
        sums[supervisor, caseworker, status, level] += change
        gone += 1
    folded = _insert_groups(session, sums)
    log.info("case counts: %d row(s) folded into %d", gone, folded)
    return gone


def fold_and_commit(uow) -> int:
    """The periodic sweep's use case: :func:`fold`, committed."""
    gone = fold(uow.session)
    uow.commit()
    return gone



@dataclass(frozen=True)
class Difference:
    """A group whose kept count is not the number of its cases."""
    group: Group
    kept: int
    cases: int


def _counted(session) -> dict[Group, int]:
    return {(s, w, st, r): int(n) for s, w, st, r, n in session.execute(
        select(*CASE_KEYS, func.count()).group_by(*CASE_KEYS)).all()}


def differences(session) -> list[Difference]:
    """Every group whose kept count differs from a count of its cases (none: the dashboard's
    counts are true). One statement, so both sides are read from one snapshot of the database
    however many cases change meanwhile."""
    kept = select(*KEYS, D.delta.label("kept"), literal(0).label("cases"))
    cases = select(*CASE_KEYS, literal(0).label("kept"), literal(1).label("cases"))
    both = union_all(kept, cases).subquery()
    keys = (both.c.supervisor_id, both.c.caseworker_id, both.c.status, both.c.risk_level)
    rows = session.execute(select(*keys, func.sum(both.c.kept), func.sum(both.c.cases)).group_by(*keys)
                           .having(func.sum(both.c.kept) != func.sum(both.c.cases))).all()
    return sorted((Difference((s, w, st, r), int(k), int(n)) for s, w, st, r, k, n in rows), key=repr)


def recount(uow, by: str = "operator", differing: int | None = None) -> int:
    """Use case: the kept counts become a count of the cases, one row per group, and the count
    triggers missing on ``cases`` are put back first (``engine.case.count_triggers``). While it
    runs (one aggregate of the cases: well under a second at 100,000) changes of cases wait — on
    PostgreSQL by a lock that lets readers through, on SQLite by its one writer — so none falls
    between the count and its rows. Audited (``by``: who asked, ``differing``: how many groups
    a check found wrong). Commits; returns how many groups were written."""
    session = uow.session
    if session.get_bind().dialect.name == "postgresql":  # writes of cases wait; reads go on
        session.execute(text("LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE"))
    session.execute(delete(D))  # on SQLite the first write: the database's one writer from here on
    restored = count_triggers.restore(session)
    groups = _insert_groups(session, _counted(session))
    detail: dict = {"groups": groups, "by": by}
    if differing is not None:
        detail["differing"] = differing
    if restored:
        detail["triggers_restored"] = restored
        log.warning("case counts: count trigger(s) %s were missing on cases and are back", ", ".join(restored))
    uow.audit(None, "case_counts_rebuilt", "case_count_deltas", "all", **detail)
    uow.commit()
    log.info("case counts rebuilt from the cases: %d group(s)", groups)
    return groups


def problems(session) -> list[str]:
    """What is wrong with the kept counts, in words, for an operator (none: they are a count
    of the cases and every count trigger is there); ``restore --verify`` asks it of a restored
    copy. A copy from before the counts were kept (migration 0021) has none to check: that
    migration makes them when the copy is brought up to date."""
    if not inspect(session.get_bind()).has_table(D.__tablename__):
        return []
    found, gone = differences(session), count_triggers.missing(session)
    rebuild = "python -m webui.cli case-counts rebuild after the restore makes them agree"
    said = [f"the dashboard's case counts differ from the cases in {len(found)} group(s) ({rebuild})"] if found else []
    if gone:
        said.append(f"count trigger(s) missing on cases: {', '.join(gone)} (case changes would go uncounted; "
                    "case-counts rebuild puts them back)")
    return said


@dataclass(frozen=True)
class CountCheck:
    """What the daily check found and did: the groups whose kept count was wrong, the count
    triggers that were missing, and the groups written by the rebuild (None: none was needed)."""
    differing: int
    triggers_missing: list[str]
    rebuilt: int | None


def mend(uow) -> CountCheck:
    """Use case of the daily check (the ``check_case_counts`` job): the kept counts compared
    with a count of the cases, and the count triggers looked for; when a group differs or a
    trigger is missing, the counts are rebuilt and the triggers put back (:func:`recount`,
    audited, a warning logged). When all is well nothing is written."""
    session = uow.session
    found = differences(session)
    gone = count_triggers.missing(session)
    if not found and not gone:
        log.info("case counts agree with the cases")
        return CountCheck(0, [], None)
    log.warning("case counts: %d group(s) differ from the cases%s; rebuilding", len(found),
                f", count trigger(s) missing: {', '.join(gone)}" if gone else "")
    session.rollback()  # the check's snapshot ends: the rebuild locks and counts afresh
    return CountCheck(len(found), gone, recount(uow, by="daily check", differing=len(found)))
