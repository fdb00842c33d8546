"""The periodic sweep folds the case counts kept as cases change (``case_count_deltas``):
one row a group afterwards, the same sums."""
from __future__ import annotations

from sqlalchemy import func, select, text

from engine import clock
from engine.models.case_counts import CaseCountDelta


def _sums(ctx) -> tuple[int, dict]:
    with ctx.session_factory() as session:
        rows = session.scalar(select(func.count()).select_from(CaseCountDelta))
        sums = dict(session.execute(select(CaseCountDelta.status, func.sum(CaseCountDelta.delta))
                                    .group_by(CaseCountDelta.status)).all())
    return rows, {status: total for status, total in sums.items() if total}


def test_the_sweep_folds_the_case_counts(ctx, make_queue, queue_settings):
    queue = make_queue(queue_settings, start=False)
    with ctx.uow() as uow:
        for n in range(4):  # one statement a case: a row a case
            uow.session.execute(text(
                "INSERT INTO cases (code, status, stage, risk_needs_judgement, in_crisis, primary_concern, "
                "referral_source, confidential_notes, reopen_count, created_at, updated_at) "
                "VALUES (:code, 'O', 'screening', false, false, '', '', '', 0, :now, :now)"),
                {"code": f"CM-F-{n}", "now": clock.now()})
        uow.session.execute(text("UPDATE cases SET status = 'C' WHERE code = 'CM-F-0'"))
        uow.commit()
    assert _sums(ctx) == (6, {"O": 3, "C": 1})
    queue.actors["sweep_timers"].fn()
    assert _sums(ctx) == (2, {"O": 3, "C": 1})
