"""Spiff has no locking: the instance version column gives exactly one winner."""
from __future__ import annotations

import threading

from engine.errors import Conflict
from engine.models import HumanTask, ProcessInstance
from engine.process import human_tasks, instances
from tests.engine.helpers import NEEDS_HIGH, only_ready_task, user_id


def _race(ctx, monkeypatch, attempts):
    """Run ``attempts`` (callables) in threads that all read the instance before any writes."""
    barrier = threading.Barrier(len(attempts), timeout=20)
    original = ctx.runtime.checkout  # the step's read: the hot workflow for one racer, a restore for the others

    def read_then_wait(instance):
        workflow = original(instance)
        barrier.wait()
        return workflow

    monkeypatch.setattr(ctx.runtime, "checkout", read_then_wait)
    outcomes: list = [None] * len(attempts)

    def run(i):
        try:
            attempts[i]()
            outcomes[i] = "ok"
        except Conflict:
            outcomes[i] = "conflict"
        except threading.BrokenBarrierError:
            outcomes[i] = "barrier"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_two_completions_racing_on_one_task_give_one_winner_and_one_conflict(ctx, monkeypatch):
    with ctx.uow() as uow:
        started = instances.start_process(uow, ctx.runtime, "sample_intake", None, {})
        instance_id, started_version = started.id, started.version
        uow.commit()
    task = only_ready_task(ctx, instance_id)
    cw1 = user_id(ctx, "caseworker1")
    with ctx.uow() as uow:
        human_tasks.claim_task(uow, cw1, task.id)
        uow.commit()

    def attempt():
        with ctx.uow() as uow:
            human_tasks.complete_task(uow, ctx.runtime, cw1, task.id, NEEDS_HIGH)

    outcomes = _race(ctx, monkeypatch, [attempt, attempt])
    assert sorted(outcomes) == ["conflict", "ok"]
    with ctx.session_factory() as s:
        assert s.get(ProcessInstance, instance_id).version == started_version + 1  # one completion saved
        done = s.get(HumanTask, task.id)
        assert done.state == "completed"
        ready = [t.bpmn_id for t in s.query(HumanTask).filter_by(instance_id=instance_id, state="ready")]
        assert ready == ["approve_plan"]  # the winner's effect, once


def test_many_racers_still_one_winner(ctx, monkeypatch):
    with ctx.uow() as uow:
        instance_id = instances.start_process(uow, ctx.runtime, "sample_intake", None, {}).id
        uow.commit()
    task = only_ready_task(ctx, instance_id)
    users = [user_id(ctx, "caseworker1"), user_id(ctx, "caseworker2")] * 2

    def attempt_as(uid):
        def attempt():
            with ctx.uow() as uow:
                human_tasks.complete_task(uow, ctx.runtime, uid, task.id, NEEDS_HIGH)
        return attempt

    outcomes = _race(ctx, monkeypatch, [attempt_as(u) for u in users])
    assert outcomes.count("ok") == 1 and outcomes.count("conflict") == 3
    with ctx.session_factory() as s:
        ready = [t.bpmn_id for t in s.query(HumanTask).filter_by(instance_id=instance_id, state="ready")]
    assert ready == ["approve_plan"]
