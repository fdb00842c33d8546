"""The task queue as one object: broker, actors, outbox relay and (embedded) worker."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import dramatiq
from dramatiq import Worker
from periodiq import PeriodiqMiddleware, cron

from engine.bootstrap import EngineContext
from tasks import crisis_actors
from tasks.actors import declare_actors
from tasks.broker import make_broker
from tasks.outbox import OutboxRelay

log = logging.getLogger(__name__)


@dataclass
class TaskQueue:
    ctx: EngineContext
    broker: dramatiq.Broker
    actors: dict
    relay: OutboxRelay
    worker: Worker | None = field(default=None)

    def start_worker(self, threads: int = 2) -> None:
        """Run a worker in this process (the embedded default and tests)."""
        if self.worker is None:
            self.worker = Worker(self.broker, worker_threads=threads, worker_timeout=100)
            self.worker.start()
            log.info("in-process task worker started with %d threads", threads)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        self.broker.close()

    def join(self) -> None:
        """(Stub broker) wait until every message queued now has been processed."""
        self.broker.join("engine")
        if self.worker is not None:
            self.worker.join()


def make_task_queue(ctx: EngineContext, periodic_sweep: bool = False) -> TaskQueue:
    """``periodic_sweep``: declare the sweeper as a periodiq job (for `periodiq tasks.worker`)."""
    broker = make_broker(ctx.settings)
    schedule = None
    if periodic_sweep:
        broker.add_middleware(PeriodiqMiddleware(skip_delay=30))
        schedule = cron("* * * * *")
    holder: dict = {}
    actors = declare_actors(broker, ctx, lambda: holder["relay"], schedule)
    actors.update(crisis_actors.declare(broker, ctx, actors))
    relay = OutboxRelay(ctx.session_factory, actors)
    holder["relay"] = relay
    queue = TaskQueue(ctx, broker, actors, relay)
    ctx.after_commit.append(relay.drain)
    return queue
