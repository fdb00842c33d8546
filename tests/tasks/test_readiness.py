"""What /healthz says about background work (issue 18): "degraded", naming the reason, when
no worker has beaten recently, the periodic sweep fell silent, or a job waits too long."""
from __future__ import annotations

import datetime as dt

from engine import clock
from engine.models.ops import WorkerHeartbeat
from engine.models.work import OutboxMessage
from tasks.readiness import background_work
from tasks.settings import QueueSettings

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SETTINGS = QueueSettings(worker_stale_seconds=10, sweeper_silent_seconds=150, outbox_backlog_seconds=300)


def add(ctx, *rows) -> None:
    with ctx.session_factory() as s:
        s.add_all(rows)
        s.commit()


def worker(worker_id: str, beat: dt.datetime, started: dt.datetime | None = None, kind: str = "worker"):
    return WorkerHeartbeat(worker_id=worker_id, kind=kind, hostname="host", pid=1, parent_pid=1,
                           started_at=started or beat, beat_at=beat)


def reasons(ctx) -> list[str]:
    with ctx.session_factory() as s:
        return background_work(s, SETTINGS).reasons


def test_ok_while_a_worker_beats_the_sweep_runs_and_jobs_are_done(ctx):
    clock.freeze(T0)
    add(ctx, worker("w1", T0 - dt.timedelta(seconds=2)), worker("periodic-sweep", T0 - dt.timedelta(seconds=40),
                                                                 kind="sweeper"),
        OutboxMessage(actor="fire_timer", args_json="[1]", created_at=T0 - dt.timedelta(seconds=5),
                      sent_at=T0 - dt.timedelta(seconds=5)),
        OutboxMessage(actor="fire_timer", args_json="[2]", created_at=T0 - dt.timedelta(days=2),
                      eta=T0 + dt.timedelta(days=3)))  # a timer due later is no backlog
    with ctx.session_factory() as s:
        work = background_work(s, SETTINGS)
    assert work.reasons == [] and work.workers_alive == 1 and work.jobs_waiting == 1


def test_degraded_with_every_worker_dead_naming_the_reason(ctx):
    clock.freeze(T0)
    add(ctx, worker("w1", T0 - dt.timedelta(seconds=11)), worker("w2", T0 - dt.timedelta(minutes=5)))
    [reason] = reasons(ctx)
    assert reason.startswith("no worker heartbeat") and "11 s ago" in reason


def test_degraded_when_the_periodic_sweep_is_silent(ctx):
    clock.freeze(T0)
    add(ctx, worker("w1", T0, started=T0 - dt.timedelta(minutes=10)))
    assert [r.split(":")[0] for r in reasons(ctx)] == ["sweeper silent"]  # never ran in 10 minutes
    add(ctx, worker("periodic-sweep", T0 - dt.timedelta(seconds=30), kind="sweeper"))
    assert reasons(ctx) == []
    clock.freeze(T0 + dt.timedelta(seconds=200))
    add(ctx, worker("w2", T0 + dt.timedelta(seconds=200)))
    assert [r.split(":")[0] for r in reasons(ctx)] == ["sweeper silent"]


def test_a_worker_that_just_started_is_no_silent_sweeper(ctx):
    clock.freeze(T0)
    add(ctx, worker("w1", T0, started=T0 - dt.timedelta(seconds=20)))
    assert reasons(ctx) == []


def test_degraded_when_a_job_due_long_ago_is_still_not_done(ctx):
    clock.freeze(T0)
    add(ctx, worker("w1", T0), worker("periodic-sweep", T0, kind="sweeper"),
        OutboxMessage(actor="crisis_start_checks", args_json="[1, [2]]", created_at=T0 - dt.timedelta(seconds=301),
                      sent_at=T0 - dt.timedelta(seconds=301)),
        OutboxMessage(actor="crisis_start_checks", args_json="[1, [3]]", created_at=T0 - dt.timedelta(seconds=10)))
    [reason] = reasons(ctx)
    assert reason == "outbox backlog growing: 2 job(s) waiting, the oldest due 301 s ago"
