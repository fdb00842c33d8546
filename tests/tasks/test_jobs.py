"""The database is the source of truth for every job (issue 18): an outbox row stays
enqueued until its actor finished and committed, a job the broker lost is sent again after
its visibility timeout, a job whose worker died at once, and a repeated message changes
nothing. A probe actor (declared on the test's queue) counts its runs."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading

import dramatiq
import pytest
from dramatiq import Retry
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from engine import clock
from engine.models import AuditEvent
from engine.models.ops import Incident, WorkerHeartbeat
from engine.models.work import OutboxMessage
from engine.process import instances
from tasks.outbox import JOB_OPTION, WorkerIdentity, finishing_job
from tests.tasks.conftest import WAIT_S


class Probe:
    """An actor ``probe(n)`` that records each run; ``fail_first`` runs raise, ``hold``
    keeps a run waiting until released, ``commit_work`` makes it write an audit row in its
    last unit of work (so the "done" mark joins that transaction)."""

    def __init__(self, ctx, queue, fail_first: int = 0, commit_work: bool = False, name: str = "probe"):
        self.ctx, self.queue, self.name = ctx, queue, name
        self.runs: list[int] = []
        self.fail_first, self.commit_work = fail_first, commit_work
        self.hold = threading.Event()
        self.hold.set()
        self.started = threading.Event()

        def probe(n: int) -> None:
            self.started.set()
            self.hold.wait(WAIT_S)
            self.runs.append(n)
            if len(self.runs) <= self.fail_first:
                raise Retry(f"probe {n}: failing on purpose")
            if self.commit_work:
                with finishing_job(ctx) as uow:
                    uow.audit(None, "probe_ran", "probe", n)
                    uow.commit()

        queue.actors[name] = dramatiq.actor(probe, broker=queue.broker, actor_name=name, queue_name="engine",
                                            max_retries=3, min_backoff=10, max_backoff=50)

    def enqueue(self, n: int = 1) -> int:
        with self.ctx.uow() as uow:
            uow.enqueue(self.name, n)
            uow.commit()  # the after-commit relay sends it at once
        with self.ctx.session_factory() as s:
            return s.scalar(select(func.max(OutboxMessage.id)).where(OutboxMessage.actor == self.name))


def job(ctx, job_id: int) -> OutboxMessage:
    with ctx.session_factory() as s:
        return s.get(OutboxMessage, job_id)


def beat(ctx, worker_id: str, seconds_ago: float, stopped: bool = False) -> None:
    at = clock.now() - dt.timedelta(seconds=seconds_ago)
    with ctx.session_factory() as s:
        s.add(WorkerHeartbeat(worker_id=worker_id, kind="worker", hostname="elsewhere", pid=1, parent_pid=1,
                              started_at=at, beat_at=at, stopped_at=at if stopped else None))
        s.commit()


@pytest.fixture
def fast(queue_settings):
    return dataclasses.replace(queue_settings, job_visibility_seconds=0.5, worker_stale_seconds=2.0,
                               heartbeat_seconds=0.2, job_sweep_seconds=3600)


def test_a_job_stays_enqueued_until_its_actor_committed_then_is_done_with_its_work(ctx, make_queue, fast):
    queue = make_queue(fast)
    probe = Probe(ctx, queue, commit_work=True)
    probe.hold.clear()
    job_id = probe.enqueue(7)
    assert probe.started.wait(WAIT_S)
    running = job(ctx, job_id)
    assert running.sent_at is not None and running.done_at is None  # enqueued, not done, while it runs
    assert running.claimed_by == queue.heartbeat.worker.worker_id
    probe.hold.set()
    assert queue.wait_for(lambda: job(ctx, job_id).done_at is not None, WAIT_S)
    done = job(ctx, job_id)
    assert (done.outcome, done.claimed_by, probe.runs) == ("done", queue.heartbeat.worker.worker_id, [7])
    with ctx.session_factory() as s:  # the work and the "done" mark committed together
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "probe_ran",
                                                                           AuditEvent.subject_id == "7")) == 1


def test_a_job_the_broker_lost_is_sent_again_after_its_visibility_timeout_and_runs_once(ctx, make_queue, fast):
    queue = make_queue(fast, start=False)
    probe = Probe(ctx, queue)
    job_id = probe.enqueue(1)
    queue.broker.flush_all()  # what a flushed Redis does to the queued message
    assert queue.relay.redeliver() == 0  # not yet: it may still be on its way
    assert queue.wait_for(lambda: queue.relay.redeliver() == 1, 5)
    assert job(ctx, job_id).attempts == 2
    assert queue.relay.redeliver() == 0  # sent again: it waits twice as long before the next time
    queue.start_worker(periodic=False)
    assert queue.wait_for(lambda: job(ctx, job_id).done_at is not None, WAIT_S)
    queue.join(WAIT_S * 1000)
    assert probe.runs == [1]


def test_a_message_for_a_job_that_is_done_is_dropped_before_the_actor_runs(ctx, make_queue, fast):
    queue = make_queue(fast)
    probe = Probe(ctx, queue)
    job_id = probe.enqueue(3)
    assert queue.wait_for(lambda: job(ctx, job_id).done_at is not None, WAIT_S)
    for _ in range(3):  # a duplicate relay, Redis's own recovery, a redelivery racing the first run
        queue.actors["probe"].send_with_options(args=(3,), **{JOB_OPTION: job_id})
    queue.join(WAIT_S * 1000)
    assert probe.runs == [3]


def test_a_job_held_by_a_dead_worker_is_sent_again_at_once_one_held_by_a_live_worker_is_not(ctx, make_queue, fast):
    queue = make_queue(fast, start=False)
    probe = Probe(ctx, queue)
    dead_job, live_job, stopped_job = probe.enqueue(1), probe.enqueue(2), probe.enqueue(3)
    queue.broker.flush_all()
    beat(ctx, "dead-worker", seconds_ago=fast.worker_stale_seconds + 1)
    beat(ctx, "live-worker", seconds_ago=0)
    beat(ctx, "stopped-worker", seconds_ago=0, stopped=True)
    with ctx.session_factory() as s:
        for job_id, worker in ((dead_job, "dead-worker"), (live_job, "live-worker"), (stopped_job, "stopped-worker")):
            s.get(OutboxMessage, job_id).claimed_by = worker
        s.commit()
    assert queue.relay.redeliver() == 2  # well before the visibility timeout
    assert [job(ctx, j).attempts for j in (dead_job, live_job, stopped_job)] == [2, 1, 2]
    queue.start_worker(periodic=False)
    assert queue.wait_for(lambda: sorted(probe.runs) == [1, 3], WAIT_S)
    live = job(ctx, live_job)
    assert live.done_at is None and live.claimed_by == "live-worker"


def test_a_message_for_a_job_a_live_worker_runs_is_dropped(ctx, make_queue, fast):
    queue = make_queue(fast, start=False)
    probe = Probe(ctx, queue)
    job_id = probe.enqueue(5)
    beat(ctx, "busy-worker", seconds_ago=0)
    with ctx.session_factory() as s:
        s.get(OutboxMessage, job_id).claimed_by = "busy-worker"
        s.commit()
    queue.start_worker(periodic=False)
    queue.join(WAIT_S * 1000)
    assert probe.runs == [] and job(ctx, job_id).claimed_by == "busy-worker"


def test_a_retried_job_is_not_sent_again_while_it_waits_and_one_that_gives_up_closes_with_its_incident(
        ctx, make_queue, fast):
    queue = make_queue(fast)
    probe = Probe(ctx, queue, fail_first=1)
    retried = probe.enqueue(1)
    assert queue.wait_for(lambda: job(ctx, retried).done_at is not None, WAIT_S)
    assert probe.runs == [1, 1] and job(ctx, retried).outcome == "done"

    hopeless = Probe(ctx, queue, fail_first=99, name="hopeless")
    given_up = hopeless.enqueue(2)
    assert queue.wait_for(lambda: job(ctx, given_up).done_at is not None, WAIT_S)
    row = job(ctx, given_up)
    assert row.outcome == "gave_up" and len(hopeless.runs) == 4  # the first run and its 3 retries
    with ctx.session_factory() as s:
        incident = s.scalar(select(Incident).where(Incident.actor == "hopeless"))
    assert incident.state == "open" and json.loads(incident.args_json) == [2]
    assert queue.relay.redeliver() == 0  # given up: never sent again by the sweep


def test_while_a_retry_waits_its_job_is_not_taken_for_lost(ctx, make_queue, fast):
    queue = make_queue(dataclasses.replace(fast, job_visibility_seconds=0.05))
    probe = Probe(ctx, queue, fail_first=1)
    probe.queue.actors["probe"].options["min_backoff"] = 1500  # the retry waits 0.75 to 1.5 s
    probe.queue.actors["probe"].options["max_backoff"] = 1500
    job_id = probe.enqueue(4)
    assert queue.wait_for(lambda: len(probe.runs) == 1, WAIT_S)
    assert queue.wait_for(lambda: job(ctx, job_id).redeliver_after is not None
                          and job(ctx, job_id).redeliver_after > clock.now() + dt.timedelta(seconds=0.5), 2)
    assert queue.relay.redeliver() == 0
    assert queue.wait_for(lambda: job(ctx, job_id).done_at is not None, WAIT_S)
    assert probe.runs == [4, 4]


def test_the_workers_heartbeat_says_it_runs_and_then_that_it_stopped(ctx, make_queue, fast):
    queue = make_queue(fast)
    worker: WorkerIdentity = queue.heartbeat.worker
    with ctx.session_factory() as s:
        first = s.get(WorkerHeartbeat, worker.worker_id).beat_at
    assert queue.wait_for(lambda: _beat_of(ctx, worker.worker_id).beat_at > first, 5)
    queue.stop()
    assert _beat_of(ctx, worker.worker_id).stopped_at is not None


def _beat_of(ctx, worker_id: str) -> WorkerHeartbeat:
    with ctx.session_factory() as s:
        return s.get(WorkerHeartbeat, worker_id)


def test_a_periodic_jobs_incident_resolves_itself_when_its_next_run_succeeds(ctx, make_queue, fast, monkeypatch):
    queue = make_queue(fast)
    original = instances.due_timer_ids
    calls = []

    def terminated_once(session, limit=500):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT ...", {}, Exception("terminating connection due to administrator command"))
        return original(session, limit=limit)

    monkeypatch.setattr(instances, "due_timer_ids", terminated_once)
    queue.actors["sweep_timers"].send()
    assert queue.wait_for(lambda: _incident_states(ctx) == ["open"], WAIT_S)
    queue.actors["sweep_timers"].send()  # the next minute's run
    assert queue.wait_for(lambda: _incident_states(ctx) == ["resolved"], WAIT_S)
    with ctx.session_factory() as s:
        assert s.get(WorkerHeartbeat, "periodic-sweep") is not None  # /healthz sees the sweep ran


def _incident_states(ctx) -> list[str]:
    with ctx.session_factory() as s:
        return [i.state for i in s.scalars(select(Incident).where(Incident.actor == "sweep_timers"))]


def test_a_relay_that_fails_after_the_commit_never_fails_the_commit(ctx, make_queue, fast, monkeypatch):
    queue = make_queue(fast, start=False)
    probe = Probe(ctx, queue)

    def database_gone(self, which):
        raise OperationalError("SELECT ... FOR UPDATE", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(type(queue.relay), "_send_batch", database_gone)
    job_id = probe.enqueue(9)  # commits; the relay behind it fails: no exception reaches the caller
    assert job(ctx, job_id).sent_at is None
    monkeypatch.undo()

    def broken_hook():
        raise OperationalError("SELECT 1", {}, Exception("could not connect to server"))

    ctx.after_commit.insert(0, broken_hook)
    try:
        second = probe.enqueue(10)  # any after-commit hook failing: logged, the commit stands
    finally:
        ctx.after_commit.remove(broken_hook)
    # the relay after the broken hook still ran; the row the failed relay left is the sweep's
    assert job(ctx, second).sent_at is not None and job(ctx, job_id).sent_at is None
    assert queue.relay.drain() == 1 and job(ctx, job_id).sent_at is not None


def test_a_retry_runs_although_its_failed_run_could_not_release_the_job(ctx, make_queue, fast):
    """The database was out of reach when the run failed: the job still names the worker. The
    retry dramatiq sends is the job's continuation, so it runs; a mere duplicate would not."""
    queue = make_queue(fast)
    probe = Probe(ctx, queue)
    job_id = probe.enqueue(6)
    assert queue.wait_for(lambda: job(ctx, job_id).done_at is not None, WAIT_S)
    with ctx.session_factory() as s:
        row = s.get(OutboxMessage, job_id)
        row.done_at, row.outcome, row.claimed_by = None, None, "busy-worker"
        s.commit()
    beat(ctx, "busy-worker", seconds_ago=0)
    queue.actors["probe"].send_with_options(args=(6,), retries=1, **{JOB_OPTION: job_id})
    assert queue.wait_for(lambda: job(ctx, job_id).done_at is not None, WAIT_S)
    assert probe.runs == [6, 6]


def test_a_claim_older_than_the_longest_run_is_taken_for_lost(ctx, make_queue, fast):
    queue = make_queue(fast, start=False)
    probe = Probe(ctx, queue)
    job_id = probe.enqueue(8)
    beat(ctx, "hung-worker", seconds_ago=0)  # alive, but its run lost track of itself
    longest = dt.timedelta(milliseconds=fast.time_limit_ms, seconds=fast.job_visibility_seconds)
    with ctx.session_factory() as s:
        row = s.get(OutboxMessage, job_id)
        row.claimed_by, row.claimed_at = "hung-worker", clock.now() - longest + dt.timedelta(seconds=30)
        s.commit()
    assert queue.relay.redeliver() == 0
    with ctx.session_factory() as s:
        s.get(OutboxMessage, job_id).claimed_at = clock.now() - longest - dt.timedelta(seconds=1)
        s.commit()
    assert queue.relay.redeliver() == 1
