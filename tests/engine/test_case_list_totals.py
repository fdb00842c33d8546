"""The case list's total is the number of cases the person may see with those filters, however
it is found: a list that ends inside its window is its own count (no count of the cases runs),
the director's is the sum of the counts kept as cases change, anything else is counted."""
from __future__ import annotations

import functools
import itertools

from sqlalchemy import event, func, select, text

from engine.case import case_lists
from engine.models import Case
from tests.workflows.case_driver import CaseDriver


def _counts_run(ctx, action) -> tuple[object, int]:
    """``action()``'s result and how many statements counted the cases."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "count(" in statement.lower() and "FROM cases" in statement:
            seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        return action(), len(seen)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)


def test_every_window_and_filter_gives_the_true_total_and_a_short_list_is_not_counted_again(ctx):
    driver = CaseDriver(ctx)
    codes = [driver.refer() for _ in range(5)]
    driver.to_registered(codes[0])
    with ctx.uow() as uow:  # other statuses and risk levels (the kept counts follow by their triggers)
        for code, status, risk in ((codes[1], "C", "high"), (codes[2], "O", "high"), (codes[3], "C", "low")):
            uow.session.execute(text("UPDATE cases SET status = :s, risk_level = :r WHERE code = :c"),
                                {"s": status, "r": risk, "c": code})
        uow.commit()
    director, caseworker = driver.uid("director1"), driver.uid("caseworker1")
    with ctx.session_factory() as session:
        statuses = set(session.scalars(select(Case.status)))
        risks = set(session.scalars(select(Case.risk_level)))
    assert len(statuses) > 1  # the filters choose different cases
    for user_id, status, risk, (limit, offset) in itertools.product(
            (director, caseworker), (None, *statuses), (None, *(r for r in risks if r)),
            ((100, 0), (1, 0), (2, 1), (1, 3), (2, 10))):
        with ctx.session_factory() as session:
            (rows, total), counted = _counts_run(ctx, functools.partial(
                case_lists.list_cases, session, user_id, status=status, risk_level=risk, limit=limit, offset=offset))
            everyone, _ = case_lists.list_cases(session, user_id, status=status, risk_level=risk, limit=500)
            truth = session.scalar(select(func.count()).select_from(Case).where(
                *(c == v for c, v in ((Case.status, status), (Case.risk_level, risk)) if v)))
        where = (user_id, status, risk, limit, offset)
        assert total == len(everyone), where
        if user_id == director:
            assert total == truth, where  # the director sees every case
            assert counted == 0, where  # never a count of the cases: the list itself or the kept counts
        assert [r.code for r in rows] == [r.code for r in everyone][offset:offset + limit], where
        if len(rows) < limit and offset == 0:
            assert counted == 0, where  # the list ended inside its window: it is its own count
