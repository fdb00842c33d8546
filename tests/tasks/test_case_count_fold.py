"""The periodic sweep folds the case counts kept as cases change (``case_count_deltas``):
one row a group afterwards, the same sums; the daily check rebuilds them when they drifted."""
from __future__ import annotations

import time

from dramatiq import Message
from dramatiq.common import dq_name
from sqlalchemy import func, select, text

from engine import clock
from engine.models.case_counts import CaseCountDelta
from tasks.actors import QUEUE_NAME


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


def test_the_daily_check_rebuilds_counts_that_drifted_and_sends_the_next_check_a_day_later(ctx, make_queue,
                                                                                            queue_settings):
    """The worker checks the dashboard's kept counts once a day on its own (embedded: when it
    starts, then every EMBEDDED_COUNTS_CHECK_SECONDS): counts the triggers could not see are
    rebuilt from the cases and the rebuild is in the audit trail."""
    queue = make_queue(queue_settings, start=False)
    with ctx.uow() as uow:
        for n in range(3):
            uow.session.execute(text(
                "INSERT INTO cases (code, status, stage, risk_needs_judgement, in_crisis, primary_concern, "
                "referral_source, confidential_notes, reopen_count, created_at, updated_at) "
                "VALUES (:code, 'O', 'screening', false, false, '', '', '', 0, :now, :now)"),
                {"code": f"CM-D-{n}", "now": clock.now()})
        uow.session.execute(text("DELETE FROM case_count_deltas"))  # as a restore that skipped them
        uow.commit()
    assert _sums(ctx) == (0, {})
    sent_at = time.time()
    queue.actors["check_case_counts"].fn(True)
    done_at = time.time()
    assert _sums(ctx) == (1, {"O": 3})
    with ctx.session_factory() as session:
        assert session.scalar(text("SELECT count(*) FROM audit_events WHERE action = 'case_counts_rebuilt'")) == 1
    [next_check] = [m for m in (Message.decode(raw) for raw in queue.broker.queues[dq_name(QUEUE_NAME)].queue)
                    if m.actor_name == "check_case_counts"]
    assert next_check.args == (True,)
    day = queue_settings.embedded_counts_check_seconds  # the next check is due a day after this one was sent
    assert sent_at + day - 0.001 <= next_check.options["eta"] / 1000 <= done_at + day


def test_an_embedded_worker_checks_the_counts_when_it_starts(ctx, make_queue, queue_settings):
    with ctx.uow() as uow:
        uow.session.execute(text(
            "INSERT INTO cases (code, status, stage, risk_needs_judgement, in_crisis, primary_concern, "
            "referral_source, confidential_notes, reopen_count, created_at, updated_at) "
            "VALUES ('CM-S-1', 'O', 'screening', false, false, '', '', '', 0, :now, :now)"), {"now": clock.now()})
        uow.session.execute(text("DELETE FROM case_count_deltas"))
        uow.commit()
    queue = make_queue(queue_settings, periodic=True)
    assert queue.wait_for(lambda: _sums(ctx) == (1, {"O": 1}), timeout_s=20)
