"""The task queue as one object: broker, actors, outbox relay and (embedded) worker."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import dramatiq
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries
from periodiq import PeriodiqMiddleware, cron

from engine.infra.bootstrap import EngineContext
from tasks import actors as engine_actors
from tasks import crisis_actors, notification_actors
from tasks.broker import make_broker
from tasks.heartbeats import HeartbeatThread, WorkerHeartbeat, this_worker
from tasks.metrics import JobMetrics, count_engine_steps
from tasks.middleware import IncidentRecorder, JobTracking
from tasks.outbox import JobLedger, OutboxRelay
from tasks.request_ids import RequestIds
from tasks.settings import QueueSettings

log = logging.getLogger(__name__)


@dataclass
class TaskQueue:
    ctx: EngineContext
    broker: dramatiq.Broker
    actors: dict
    relay: OutboxRelay
    ledger: JobLedger
    settings: QueueSettings
    worker: Worker | None = field(default=None)
    heartbeat: HeartbeatThread | None = field(default=None)

    def start_worker(self, threads: int = 2, periodic: bool = True) -> None:
        """Run a worker in this process (the embedded default and tests), with its
        heartbeat. ``periodic`` starts the self-rescheduling sweep and deadline chains (see
        tasks.actors)."""
        if self.worker is not None:
            return
        self.heartbeat = HeartbeatThread(self.ledger, self.relay, this_worker("embedded"), self.settings)
        self.heartbeat.start()
        self.worker = Worker(self.broker, worker_threads=threads, worker_timeout=100)
        self.worker.start()
        log.info("in-process task worker started with %d threads", threads)
        if periodic:
            for name in engine_actors.CHAINED_JOBS:
                self.actors[name].send_with_options(args=(True,))

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.heartbeat is not None:
            self.heartbeat.stop()
            self.heartbeat = None
        self.broker.close()

    def join(self, timeout_ms: int | None = None) -> None:
        """(Stub broker) wait until every message queued now, delayed ones included, has
        been processed. Failed messages do not raise here: they become incidents."""
        self.broker.join(engine_actors.QUEUE_NAME, timeout=timeout_ms, fail_fast=False)
        if self.worker is not None:
            self.worker.join()

    def wait_for(self, condition, timeout_s: float, poll_s: float = 0.02) -> bool:
        """Poll ``condition()`` until it is true or ``timeout_s`` passed (for tests and
        benchmarks waiting on a worker)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(poll_s)
        return bool(condition())


def make_task_queue(ctx: EngineContext, periodic_sweep: bool = False,
                    queue_settings: QueueSettings | None = None) -> TaskQueue:
    """``periodic_sweep``: the production worker module (``dramatiq``/``periodiq
    tasks.worker``): the sweep and deadline jobs are periodiq jobs, and each worker
    process sweeps once when it boots."""
    queue_settings = queue_settings or QueueSettings.from_env()
    broker = make_broker(ctx.settings, queue_settings)
    periodic = {}
    if periodic_sweep:
        broker.add_middleware(PeriodiqMiddleware(skip_delay=30))
        periodic = {"sweep_timers": cron(queue_settings.sweep_cron),
                    "check_deadlines": cron(queue_settings.deadline_cron),
                    "check_case_counts": cron(queue_settings.counts_check_cron)}
    actors: dict = {}
    relay = OutboxRelay(ctx.session_factory, actors, queue_settings, batch=queue_settings.sweep_batch)
    ledger = JobLedger(ctx.session_factory, queue_settings)
    actors.update(engine_actors.declare(broker, ctx, actors, relay, ledger, queue_settings, periodic))
    declared, give_up_hooks = notification_actors.declare(broker, ctx, actors, queue_settings, periodic)
    actors.update(declared)
    actors.update(crisis_actors.declare(broker, ctx, actors, queue_settings))
    # after_* hooks run in reverse order: placed before Retries, the recorder sees the
    # message after Retries has decided whether it gave up, and the job tracker (placed
    # before the recorder) after the recorder has closed a job that gave up
    broker.add_middleware(IncidentRecorder(ctx, give_up_hooks, self_resolving=engine_actors.CHAINED_JOBS),
                          before=Retries)
    broker.add_middleware(JobTracking(ledger, this_worker), before=IncidentRecorder)
    broker.add_middleware(RequestIds(), before=JobTracking)  # the job's log lines name its request
    broker.add_middleware(JobMetrics())
    count_engine_steps()
    if periodic_sweep and not isinstance(broker, StubBroker):
        broker.add_middleware(WorkerHeartbeat(ledger, relay, queue_settings,
                                              lambda: engine_actors.sweep(ctx, actors, relay, queue_settings)))
    queue = TaskQueue(ctx, broker, actors, relay, ledger, queue_settings)
    ctx.after_commit.append(relay.relay_committed)  # only that transaction's jobs; the backlog is the sweeps'
    return queue
