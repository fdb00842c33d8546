"""Every broker a process makes shares one job time-limit watchdog (tasks.broker): it still
stops a runaway job, and building app after app (an embedded restart, a test run) adds no
thread that wakes every second for ever."""
from __future__ import annotations

import threading
import time

import dramatiq
from dramatiq.middleware.time_limit import TimeLimitExceeded
from dramatiq.worker import Worker

from engine.settings import Settings
from tasks.broker import make_broker
from tasks.settings import QueueSettings


def _settings(tmp_path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", redis_url=None, secret_key="k",
                    instance_dir=tmp_path, testing=True)


def _watchdogs() -> int:
    return sum(1 for t in threading.enumerate() if type(t).__name__ == "_CtypesTimeoutManager")


def test_fifty_brokers_in_one_process_run_one_time_limit_watchdog(tmp_path):
    make_broker(_settings(tmp_path), QueueSettings())
    before = _watchdogs()
    for _ in range(50):
        make_broker(_settings(tmp_path), QueueSettings())
    assert before == 1
    assert _watchdogs() == 1


def test_a_job_past_its_time_limit_is_still_stopped(tmp_path):
    broker = make_broker(_settings(tmp_path), QueueSettings(max_retries=0))
    stopped = threading.Event()

    @dramatiq.actor(broker=broker, time_limit=200, max_retries=0, queue_name="watchdog_test")
    def runaway():
        try:
            while True:
                time.sleep(0.01)
        except TimeLimitExceeded:
            stopped.set()
            raise

    worker = Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        runaway.send()
        assert stopped.wait(10), "the runaway job was never stopped"
    finally:
        worker.stop()
