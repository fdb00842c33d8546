"""Figures the task side gives ``/metrics`` (webui.metrics serves them):

- ``casework_engine_steps_total{process}``: engine steps saved — every time an instance
  is stored after moving (started, a task completed, a timer fired, a migration), counted
  by an ORM hook on ``process_instances`` in whichever process saved it (web or worker);
- ``casework_jobs_total{actor, outcome}``: jobs the workers ran (``done`` / ``failed``);
- :func:`queue_depths`: messages waiting in the broker, per queue (Redis list lengths, or
  the stub broker's queues embedded).

With several processes (gunicorn workers, dramatiq workers) set ``PROMETHEUS_MULTIPROC_DIR``
to a directory shared by the processes of one host, emptied at each start (prometheus
client's multi-process mode): every scrape then sums the counters of all of them. Without
it a scrape sees the counters of the process that answers it.
"""
from __future__ import annotations

import logging
import threading

from dramatiq import Middleware
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from prometheus_client import Counter
from redis.exceptions import RedisError
from sqlalchemy import event

from engine.models import ProcessInstance

log = logging.getLogger(__name__)

ENGINE_STEPS = Counter("casework_engine_steps", "Engine steps saved (an instance stored after it moved), by process",
                       ["process"])
JOBS = Counter("casework_jobs", "Jobs run by the task workers, by actor and outcome", ["actor", "outcome"])

_hooked = threading.Lock()
_installed: list[bool] = []


def _count_step(_mapper, _connection, target: ProcessInstance) -> None:
    ENGINE_STEPS.labels(process=target.process_id or "unknown").inc()


def count_engine_steps() -> None:
    """Count every save of an instance from now on, in this process (idempotent)."""
    with _hooked:
        if _installed:
            return
        event.listen(ProcessInstance, "after_insert", _count_step)
        event.listen(ProcessInstance, "after_update", _count_step)
        _installed.append(True)


class JobMetrics(Middleware):
    def after_process_message(self, broker, message, *, result=None, exception=None):
        JOBS.labels(actor=message.actor_name, outcome="failed" if exception is not None else "done").inc()


def queue_depths(broker) -> dict[str, int] | None:
    """Messages waiting per queue (``<queue>.DQ``: delayed ones), or None when the broker
    cannot be asked."""
    if isinstance(broker, StubBroker):
        return {name: queue.qsize() for name, queue in sorted(broker.queues.items())}
    if isinstance(broker, RedisBroker):
        names = sorted(broker.get_declared_queues() | broker.get_declared_delay_queues())
        try:
            with broker.client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.llen(f"{broker.namespace}:{name}")
                return dict(zip(names, (int(n) for n in pipe.execute()), strict=True))
        except RedisError as err:
            log.warning("queue depth unknown, the broker is out of reach: %s", err)
            return None
    return None
