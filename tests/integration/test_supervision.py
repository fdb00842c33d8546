"""Supervised, graceful processes and a readiness that means it (issue 18, findings 3 to 5),
on the production topology of tests/integration/conftest.py (docker/prodctl.py: PostgreSQL,
a Redis of its own, gunicorn, two dramatiq workers, the sweeper and the supervisor).

- A graceful stop of every worker loses no delayed timer: the workers hand their delayed
  messages back to Redis and, restarted, fire them on time (not at the next sweep).
- A worker killed with SIGKILL is restarted by the supervisor within seconds.
- ``/healthz`` turns "degraded", naming the reason, once every worker is dead, and "ok"
  again once they are back.

The visibility timeout is long here (two minutes), so no safety net can fire a timer a
stop lost in time to pass. Each test prints its figures.
"""
from __future__ import annotations

import datetime as dt
import time

import redis
from sqlalchemy import select

from engine import clock
from engine.models import Timer
from tests.integration.conftest import host_load

STALE_S = 2.5
TOPOLOGY_ENV = {"HEARTBEAT_SECONDS": "0.5", "WORKER_STALE_SECONDS": str(STALE_S), "JOB_SWEEP_SECONDS": "1",
                "JOB_VISIBILITY_SECONDS": "120"}
ON_TIME_S = 2.0  # a timer delivered by its own delayed message fires within this of its due time
RESTART_LIMIT_S = 10.0
WORKERS = ("worker-1", "worker-2")


def log_of(topology, name: str) -> str:
    return (topology.run_dir / "logs" / f"{name}.log").read_text(errors="replace")


def occurrences(log: str, text: str) -> int:
    """How often ``text`` was logged (a line may be written twice: as text and as JSON)."""
    lines = [line for line in log.splitlines() if text in line]
    return max(sum(1 for line in lines if line.startswith("{")), sum(1 for line in lines if not line.startswith("{")))


def delayed_in_redis(client) -> int:
    """Delayed messages waiting in Redis itself (not held by a worker)."""
    return client.llen("dramatiq:engine.DQ")


def test_a_graceful_stop_loses_no_delayed_timer_they_fire_on_time_after_the_restart(topology):
    count, load = 20, host_load()
    lead_s = 25 * min(load, 3.0)  # the starts and the stop must take less than the timers' lead
    due = clock.now() + dt.timedelta(seconds=lead_s)
    ids = [topology.start_instance("queue_timer", {"fire_at": due.isoformat(), "spin": 1}) for _ in range(count)]
    client = redis.Redis.from_url(topology.redis.url)
    try:
        topology.wait_for(lambda: delayed_in_redis(client) == 0, 10, "the workers to take the delayed messages")
        offsets = {w: len(log_of(topology, w)) for w in WORKERS}
        stopping = time.monotonic()
        for worker in WORKERS:
            topology.prodctl("stop", worker)  # one SIGTERM to dramatiq's main process
        stop_s = time.monotonic() - stopping
        handed_back = delayed_in_redis(client)
    finally:
        client.close()
    stopped_logs = {w: log_of(topology, w)[offsets[w]:] for w in WORKERS}
    assert all(occurrences(log, "Stopping worker process") == 1 and "Killing worker process" not in log
               for log in stopped_logs.values()), stopped_logs
    assert handed_back == count  # the delayed messages held in memory went back to Redis
    assert clock.now() < due, "the stop took longer than the timers' lead: nothing shows they kept their time"
    for worker in WORKERS:
        topology.prodctl("start", worker)
    topology.wait_for(lambda: fired(topology, ids) == count, lead_s + 30, "every timer to fire after the restart")
    with topology.ctx.session_factory() as s:
        lags = sorted((t.fired_at - t.due_at).total_seconds() for t in s.scalars(
            select(Timer).where(Timer.instance_id.in_(ids))))
    print(f"\ngraceful stop: both workers stopped in {stop_s:.1f} s (one SIGTERM each, no kill), "  # noqa: T201
          f"{handed_back} delayed messages handed back to Redis; after the restart {count} timers fired with lag "
          f"p50 {lags[len(lags) // 2]:.2f} s, max {lags[-1]:.2f} s (limit {ON_TIME_S:.0f} s, load x{load:.1f})")
    assert lags[-1] <= ON_TIME_S * load


def fired(topology, ids) -> int:
    with topology.ctx.session_factory() as s:
        return len(list(s.scalars(select(Timer.id).where(Timer.instance_id.in_(ids), Timer.state == "fired"))))


def ready_since_last_start(topology, name: str) -> bool:
    log = log_of(topology, name)
    return "Worker process is ready for action." in log[log.rfind(f"starting {name}\n"):]


def test_a_killed_worker_is_restarted_within_seconds(topology):
    old_pid = topology.pid("worker-1")
    killed = time.monotonic()
    topology.prodctl("kill", "worker-1")  # kill -9 of its process group: a crash
    topology.wait_for(lambda: (topology.run_dir / "pids" / "worker-1.pid").exists()
                      and topology.pid("worker-1") != old_pid, RESTART_LIMIT_S, "the supervisor to restart worker-1")
    respawned = time.monotonic() - killed
    topology.wait_for(lambda: ready_since_last_start(topology, "worker-1"), 60, "the restarted worker to be ready")
    ready = time.monotonic() - killed
    supervisor_log = log_of(topology, "supervisor")
    load = host_load()
    print(f"\nkilled worker: restarted by the supervisor {respawned:.1f} s after the kill, consuming again "  # noqa: T201
          f"after {ready:.1f} s (limit {RESTART_LIMIT_S:.0f} s, load x{load:.1f})")
    assert f"worker-1 (pid {old_pid}) died: restarted" in supervisor_log
    assert respawned <= RESTART_LIMIT_S and ready <= RESTART_LIMIT_S * load


def health(topology) -> tuple[int, dict]:
    return topology.call("GET", "/healthz")


def test_healthz_turns_degraded_with_every_worker_dead_and_ok_once_they_are_back(topology):
    topology.wait_for(lambda: health(topology)[1].get("status") == "ok", 30, "a healthy topology")
    topology.prodctl("stop", "supervisor")  # nobody brings them back for now
    try:
        for worker in WORKERS:
            topology.prodctl("kill", worker)
        dead = time.monotonic()
        topology.wait_for(lambda: health(topology)[1].get("status") == "degraded", STALE_S + 10,
                          "/healthz to say degraded")
        noticed = time.monotonic() - dead
        status, body = health(topology)
    finally:
        topology.prodctl("start", "supervisor")  # restarts both workers: their pid files say they should run
    back = time.monotonic()
    topology.wait_for(lambda: health(topology)[1].get("status") == "ok", 60, "/healthz to say ok again")
    recovered = time.monotonic() - back
    print(f"\nall workers dead: /healthz said degraded {noticed:.1f} s after the kill (stale after "  # noqa: T201
          f"{STALE_S} s): {status} {body['reasons']}; ok again {recovered:.1f} s after the supervisor restarted them")
    assert status == 200 and body["workers"]["alive"] == 0
    assert any(reason.startswith("no worker heartbeat") for reason in body["reasons"])
    assert "no worker heartbeat" in body["reason"]
    assert noticed <= STALE_S + 2 * host_load()
