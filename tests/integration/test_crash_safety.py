"""Crash safety on the production topology (real PostgreSQL, real Redis, real processes).

- a worker killed with SIGKILL in the middle of engine work, then restarted: no task lost,
  none duplicated, every instance consistent;
- Redis restarted empty while the workers are down too: every pending timer still fires
  (the sweeps re-send what Redis forgot);
- two worker processes racing on one instance: exactly one applies each timer.

The only waits are polls with a deadline, for due times the tests set themselves.
"""
from __future__ import annotations

import datetime as dt

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select

from engine import clock
from engine.models import AuditEvent, HumanTask, OutboxMessage, ProcessInstance, Timer
from engine.models.ops import Incident
from tests.integration.conftest import host_load

SWEEP_PERIOD_S = 60  # periodiq's "* * * * *": the sweeper runs at every minute boundary


def in_seconds(seconds: float) -> str:
    return (clock.now() + dt.timedelta(seconds=seconds)).isoformat()


def scalar(topology, query):
    with topology.ctx.session_factory() as s:
        return s.scalar(query)


def fired_timers(topology, instance_ids) -> int:
    return scalar(topology, select(func.count()).select_from(Timer)
                  .where(Timer.instance_id.in_(instance_ids), Timer.state == "fired"))


def assert_consistent(topology, instance_ids, expected_tasks: list[str]) -> None:
    """Every instance advanced exactly once: its timers fired once each, one ready task per
    branch, the saved engine state agrees with the task rows, nothing left in the outbox."""
    runtime = topology.ctx.runtime
    saves_at_start = set()
    with topology.ctx.session_factory() as s:
        for instance_id in instance_ids:
            instance = s.get(ProcessInstance, instance_id)
            assert instance.status == "running" and instance.error is None
            tasks = sorted(s.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id)))
            assert tasks == expected_tasks, f"instance {instance_id}: {tasks}"
            fires = s.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "timer_fired", AuditEvent.subject_id == str(instance_id)))
            saves_at_start.add(instance.version - fires)  # one save per applied fire after the start's
            workflow = runtime.restore(instance)
            assert sorted(t.task_spec.bpmn_id for t in runtime.ready_human_tasks(workflow)) == expected_tasks
            assert runtime.pending_timers(workflow) == []
        assert s.scalar(select(func.count()).select_from(Incident)) == 0
    assert len(saves_at_start) == 1 and saves_at_start <= {1, 2}, saves_at_start  # the same start for every one


def outbox_drained(topology) -> bool:
    return scalar(topology, select(func.count()).select_from(OutboxMessage)
                  .where(OutboxMessage.sent_at.is_(None))) == 0


def test_a_worker_killed_mid_work_loses_and_duplicates_nothing(topology):
    count = 30
    fire_at = in_seconds(3 + count * 0.1 * host_load())  # due after the last start, not during it
    ids = [topology.start_instance("queue_timer", {"fire_at": fire_at, "spin": 60}) for _ in range(count)]
    topology.wait_for(lambda: fired_timers(topology, ids) >= 5, 60, "the first timers to fire")
    topology.prodctl("kill", "worker-1")  # SIGKILL its process group, mid-transaction
    fired_at_kill = fired_timers(topology, ids)
    assert fired_at_kill < count, "the work finished before the kill: make each fire slower"

    topology.prodctl("start", "worker-1")  # booting, it sweeps: due timers are re-sent
    topology.wait_for(lambda: fired_timers(topology, ids) == count, 90, "every timer to fire after the restart")
    topology.wait_for(lambda: outbox_drained(topology), 30, "the outbox to drain")
    assert_consistent(topology, ids, ["after_wait"])
    with topology.ctx.session_factory() as s:
        ready = s.scalar(select(func.count()).select_from(HumanTask)
                         .where(HumanTask.instance_id.in_(ids), HumanTask.state == "ready"))
    assert ready == count


def test_two_workers_racing_on_one_instance_apply_each_timer_once(topology):
    """The same fire_timer message delivered many times at the due instant (a duplicate
    relay, the sweeper and the delayed message together), across both worker processes;
    and an instance whose two timers are due at once."""
    single = topology.start_instance("queue_timer", {"fire_at": in_seconds(2), "spin": 40})
    double = topology.start_instance("queue_two_timers", {"fire_at": in_seconds(2)})
    timer_id = scalar(topology, select(Timer.id).where(Timer.instance_id == single))
    due = scalar(topology, select(Timer.due_at).where(Timer.id == timer_id))
    broker = RedisBroker(url=topology.redis.url)
    try:
        delay_ms = max(0, int((due - clock.now()).total_seconds() * 1000))
        for _ in range(8):
            broker.enqueue(dramatiq.Message(queue_name="engine", actor_name="fire_timer", args=(timer_id,),
                                            kwargs={}, options={}), delay=delay_ms)
    finally:
        broker.close()
    topology.wait_for(lambda: fired_timers(topology, [single, double]) == 3, 60, "the timers to fire")
    topology.wait_for(lambda: outbox_drained(topology), 30, "the outbox to drain")
    assert_consistent(topology, [single], ["after_wait"])
    assert_consistent(topology, [double], ["task_a", "task_b"])
    with topology.ctx.session_factory() as s:
        fires = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "timer_fired", AuditEvent.subject_id == str(single)))
        assert fires == 1


def test_redis_restarted_empty_the_sweeper_fires_every_pending_timer(topology):
    """Workers and Redis die together: the delayed messages (in Redis and in the workers'
    memory) are gone. Nothing is due when the workers come back, so their boot sweeps find
    nothing; the timers fall due with no message anywhere, and the next sweep re-sends them
    (the periodiq sweeper's, or a worker's look for jobs lost past their visibility timeout)."""
    count, lead_s = 8, 15 * min(host_load(), 3.0)  # due after the workers and Redis are back
    ids = [topology.start_instance("queue_timer", {"fire_at": in_seconds(lead_s), "spin": 1}) for _ in range(count)]
    due = scalar(topology, select(func.min(Timer.due_at)).where(Timer.instance_id.in_(ids)))
    for worker in ("worker-1", "worker-2"):
        topology.prodctl("kill", worker)
    topology.redis.kill()
    topology.redis.start()  # empty: no queues, no delayed messages
    for worker in ("worker-1", "worker-2"):
        topology.prodctl("start", worker)
    assert scalar(topology, select(func.count()).select_from(Timer).where(
        Timer.instance_id.in_(ids), Timer.state == "pending")) == count
    back_before_due = clock.now() < due
    topology.wait_for(lambda: fired_timers(topology, ids) == count, lead_s + SWEEP_PERIOD_S + 30,
                      "the sweeper to fire the timers Redis forgot")
    assert_consistent(topology, ids, ["after_wait"])
    if back_before_due:  # then only a sweep can have sent them: the periodic one, or the workers' look for lost jobs
        worker_logs = "".join((topology.run_dir / "logs" / f"{w}.log").read_text() for w in ("worker-1", "worker-2"))
        assert "sweep: re-sent" in worker_logs or "jobs: re-sent" in worker_logs
    status, body = topology.call("GET", "/healthz")
    assert status == 200 and body["status"] == "ok"


def test_the_api_keeps_answering_while_redis_is_down(topology):
    """A commit whose relay meets a dead broker still succeeds; its row waits in the
    outbox and leaves with the next relay once Redis is back (or the next sweep)."""
    topology.redis.kill()
    try:
        waiting = topology.start_instance("queue_timer", {"fire_at": in_seconds(1), "spin": 1})
        assert not outbox_drained(topology)
    finally:
        topology.redis.start()
    later = topology.start_instance("queue_timer", {"fire_at": in_seconds(1), "spin": 1})
    topology.wait_for(lambda: fired_timers(topology, [waiting, later]) == 2, 6 + SWEEP_PERIOD_S + 30,
                      "the waiting outbox row to be relayed and its timer fired")
    assert_consistent(topology, [waiting, later], ["after_wait"])
    assert topology.call("GET", "/healthz")[1]["status"] == "ok"
