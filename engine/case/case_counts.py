"""The team's cases counted as they change (``case_count_deltas``, migration 0021): read
by group, and folded.

Triggers on ``cases`` append signed rows; a group's count (supervisor, caseworker, status,
risk level) is the sum of its rows. :func:`fold`, run by the periodic sweep, collapses each
group's rows into one, in one short transaction that deletes exactly the rows it saw
(``DELETE … RETURNING``) and inserts their sums: a case written meanwhile appends rows the
fold neither sees nor waits on, nor makes wait, and they are folded the next time.
"""
from __future__ import annotations

import logging
from collections import Counter

from sqlalchemy import delete, func, insert, select

from engine.models.case_counts import CaseCountDelta

log = logging.getLogger(__name__)

D = CaseCountDelta
KEYS = (D.supervisor_id, D.caseworker_id, D.status, D.risk_level)


def counts(session, *conditions) -> list[tuple[str, str | None, int | None, int]]:
    """(status, risk level, caseworker, cases) of every non-empty group of the cases the
    ``conditions`` (on :class:`CaseCountDelta`'s columns) choose."""
    total = func.sum(D.delta)
    return [(status, level, worker, int(count)) for status, level, worker, count in session.execute(
        select(D.status, D.risk_level, D.caseworker_id, total).where(*conditions)
        .group_by(D.status, D.risk_level, D.caseworker_id).having(total != 0)).all()]


def fold(session) -> int:
    """One row per group instead of many (none for a group whose sum is 0); how many rows
    went. When every group has one row already nothing is written."""
    groups = select(*KEYS).group_by(*KEYS).subquery()
    rows, distinct = session.execute(select(select(func.count()).select_from(D).scalar_subquery(),
                                            select(func.count()).select_from(groups).scalar_subquery())).one()
    if rows <= distinct:
        return 0
    sums: Counter[tuple] = Counter()
    gone = 0
    for *key, change in session.execute(delete(D).returning(*KEYS, D.delta)).all():
        sums[tuple(key)] += change
        gone += 1
    folded = [dict(zip(("supervisor_id", "caseworker_id", "status", "risk_level"), key, strict=True), delta=total)
              for key, total in sums.items() if total]
    if folded:
        session.execute(insert(D), folded)
    log.info("case counts: %d row(s) folded into %d", gone, len(folded))
    return gone


def fold_and_commit(uow) -> int:
    """The periodic sweep's use case: :func:`fold`, committed."""
    gone = fold(uow.session)
    uow.commit()
    return gone
