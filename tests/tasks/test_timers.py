"""Exact timers through the queue: delayed messages at the due instant, the sweeper as the
safety net, exactly-once firing under races, escalation by a boundary timer."""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.errors import Conflict
from engine.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance, Timer
from engine.models.ops import Incident
from engine.process import instances
from tests.tasks.conftest import WAIT_S, ready_task_ids, start, timers_of, user_id


def in_seconds(seconds: float) -> str:
    return (clock.now() + dt.timedelta(seconds=seconds)).isoformat()


def fired_count(ctx, instance_id: int) -> int:
    with ctx.session_factory() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "timer_fired", AuditEvent.subject_id == str(instance_id)))


def test_a_timer_fires_at_its_due_instant_through_the_queue(ctx, queue):
    instance_id = start(ctx, "queue_timer", {"fire_at": in_seconds(2), "spin": 1})
    timer = timers_of(ctx, instance_id)[0]
    assert timer.state == "pending" and ready_task_ids(ctx, instance_id) == []

    assert queue.wait_for(lambda: ready_task_ids(ctx, instance_id) == ["after_wait"], WAIT_S)
    timer = timers_of(ctx, instance_id)[0]
    assert timer.state == "fired"
    lag = (timer.fired_at - timer.due_at).total_seconds()
    assert 0 <= lag < 5, f"fired {lag:.2f} s after its due time"  # exact: not at a sweep, a minute later
    assert fired_count(ctx, instance_id) == 1


def test_the_sweeper_fires_a_timer_whose_message_was_lost(ctx, make_queue, queue_settings):
    clock.freeze(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    queue = make_queue(queue_settings, start=False)
    instance_id = start(ctx, "queue_timer", {"fire_at": "2026-03-02T10:00:00+00:00", "spin": 1})
    queue.broker.flush_all()  # the delayed message is gone (a Redis flush, a lost worker)
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0, 5, tzinfo=dt.UTC))
    queue.start_worker(periodic=False)
    queue.actors["sweep_timers"].send()
    assert queue.wait_for(lambda: ready_task_ids(ctx, instance_id) == ["after_wait"], WAIT_S)
    assert fired_count(ctx, instance_id) == 1


def test_the_embedded_worker_sweeps_periodically_without_periodiq(ctx, make_queue, queue_settings):
    """The in-process worker keeps one self-rescheduling sweep chain going."""
    fast = dataclasses.replace(queue_settings, embedded_sweep_seconds=0.2)
    queue = make_queue(fast, start=False)
    runs = []
    sweep = queue.actors["sweep_timers"]
    original = sweep.fn
    sweep.fn = lambda *args: (runs.append(clock.now()), original(*args))[1]
    instance_id = start(ctx, "queue_timer", {"fire_at": in_seconds(1.5), "spin": 1})
    queue.broker.flush_all()  # lose the timer's own message: only a sweep can fire it
    queue.start_worker(periodic=True)
    assert queue.wait_for(lambda: ready_task_ids(ctx, instance_id) == ["after_wait"], WAIT_S)
    assert queue.wait_for(lambda: len(runs) >= 4, WAIT_S)
    span = (runs[-1] - runs[0]).total_seconds()
    assert len(runs) <= span / 0.2 + 2, "more sweeps than one chain would make"


@pytest.mark.postgres_only
def test_a_timer_fires_once_when_the_message_and_the_sweeper_race(ctx, backend, monkeypatch):
    """Two workers get fire_timer for the same timer at the same moment: one applies it."""
    if backend != "postgres":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises the whole file)")
    clock.freeze(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    instance_id = start(ctx, "queue_timer", {"fire_at": "2026-03-02T09:30:00+00:00", "spin": 1})
    started_version = instance_version(ctx, instance_id)
    timer_id = timers_of(ctx, instance_id)[0].id
    clock.freeze(dt.datetime(2026, 3, 2, 9, 31, tzinfo=dt.UTC))

    both_read = threading.Barrier(2, timeout=20)
    original_get = ctx.session_factory.class_.get

    def get_then_wait(session, entity, ident, *args, **kwargs):
        row = original_get(session, entity, ident, *args, **kwargs)
        if entity is Timer:
            both_read.wait()  # both have seen the timer pending before either claims it
        return row

    monkeypatch.setattr(ctx.session_factory.class_, "get", get_then_wait)
    results = []

    def fire():
        with ctx.uow() as uow:
            results.append(instances.fire_timer(uow, ctx.runtime, timer_id))

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]
    assert fired_count(ctx, instance_id) == 1
    assert ready_task_ids(ctx, instance_id) == ["after_wait"]
    with ctx.session_factory() as s:
        assert s.get(ProcessInstance, instance_id).version == started_version + 1  # one fire saved


def test_two_timers_of_one_instance_due_together_both_apply_once(ctx, make_queue, queue_settings):
    """Two messages for one instance at the same instant, on a 4-thread worker: both
    timers end fired, each branch's task exists once, and every save is accounted for."""
    queue = make_queue(dataclasses.replace(queue_settings, max_retries=10), threads=4)
    instance_id = start(ctx, "queue_two_timers", {"fire_at": in_seconds(2)})
    started_version = instance_version(ctx, instance_id)
    assert len(timers_of(ctx, instance_id)) == 2
    assert queue.wait_for(lambda: ready_task_ids(ctx, instance_id) == ["task_a", "task_b"], WAIT_S)
    queue.join(timeout_ms=WAIT_S * 1000)
    assert [t.state for t in timers_of(ctx, instance_id)] == ["fired", "fired"]
    with ctx.session_factory() as s:
        # one save per applied fire (a fire may wake both timers: then the other is a no-op)
        assert s.get(ProcessInstance, instance_id).version == started_version + fired_count(ctx, instance_id)


def test_a_fire_that_loses_the_race_for_its_instance_is_retried_not_dropped(ctx, queue, monkeypatch):
    """Another change to the instance won (409): the claim rolled back, the job retries."""
    original = instances.fire_timer
    lost = []

    def lose_once(uow, runtime, timer_id):
        if not lost:
            lost.append(timer_id)
            raise Conflict("someone else changed this process instance first")
        return original(uow, runtime, timer_id)

    monkeypatch.setattr(instances, "fire_timer", lose_once)
    instance_id = start(ctx, "queue_timer", {"fire_at": in_seconds(1.5), "spin": 1})
    assert queue.wait_for(lambda: ready_task_ids(ctx, instance_id) == ["after_wait"], WAIT_S)
    assert lost and fired_count(ctx, instance_id) == 1
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_repeated_fire_message_changes_nothing(ctx, queue):
    instance_id = start(ctx, "queue_timer", {"fire_at": in_seconds(1.5), "spin": 1})
    assert queue.wait_for(lambda: ready_task_ids(ctx, instance_id) == ["after_wait"], WAIT_S)
    with ctx.session_factory() as s:
        before = s.get(ProcessInstance, instance_id).version
    timer_id = timers_of(ctx, instance_id)[0].id
    for _ in range(3):
        queue.actors["fire_timer"].send(timer_id)
    queue.join(timeout_ms=WAIT_S * 1000)
    with ctx.session_factory() as s:
        assert s.get(ProcessInstance, instance_id).version == before
    assert fired_count(ctx, instance_id) == 1


def test_a_boundary_timer_escalates_an_open_task_to_the_supervisor(ctx, queue):
    """The queue, on a fixture diagram: a task still open when its escalation timer fires
    gets a supervisor task, while the caseworker's task stays open (non-interrupting
    boundary timer). (The real initial assessment's escalation is shown in tests/workflows.)"""
    instance_id = start(ctx, "queue_escalation", {"due_hours": 24, "escalate_after": "PT1S",
                                                  "caseworker": "caseworker1", "supervisor": "supervisor1"})
    assert ready_task_ids(ctx, instance_id) == ["assess"]
    assert queue.wait_for(lambda: ready_task_ids(ctx, instance_id) == ["assess", "review_overdue"], WAIT_S)
    with ctx.session_factory() as s:
        review = s.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                  HumanTask.bpmn_id == "review_overdue"))
        assert review.assignee_id == user_id(ctx, "supervisor1")

    def outbox_empty():
        with ctx.session_factory() as s:
            return s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))) == 0

    assert queue.wait_for(outbox_empty, WAIT_S)  # the escalation's messages (its mail) went out


def instance_version(ctx, instance_id: int) -> int:
    """The instance's row version: every save adds one (so saves can be counted)."""
    with ctx.session_factory() as s:
        return s.get(ProcessInstance, instance_id).version
