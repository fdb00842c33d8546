"""Choose and configure the broker: Redis in production, the stub broker embedded."""
from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit

from engine.settings import Settings
from tasks.settings import QueueSettings


class SharedTimeLimit(TimeLimit):
    """dramatiq's ``TimeLimit``, whose watchdog thread (one per middleware, started at process
    boot, waking every second, never stopped) is started once however many brokers share it."""

    def after_process_boot(self, broker):
        if not self.manager.is_alive():
            super().after_process_boot(broker)


_time_limits: dict[float, SharedTimeLimit] = {}


def _time_limit(limit_ms: float) -> SharedTimeLimit:
    """One time limit middleware per process and limit: every broker this process makes (the
    embedded app's, each app a test suite builds) shares its one watchdog thread. One more
    thread per broker grew to hundreds in a test run, each taking the interpreter lock every
    second: on a loaded machine the main thread waited for it for seconds at a time."""
    if limit_ms not in _time_limits:
        _time_limits[limit_ms] = SharedTimeLimit(time_limit=limit_ms)
    return _time_limits[limit_ms]


def _middleware(queue_settings: QueueSettings) -> list:
    return [AgeLimit(), _time_limit(queue_settings.time_limit_ms), ShutdownNotifications(), Callbacks(),
            Pipelines(), Retries(max_retries=queue_settings.max_retries, min_backoff=queue_settings.min_backoff_ms,
                                 max_backoff=queue_settings.max_backoff_ms)]


def make_broker(settings: Settings, queue_settings: QueueSettings | None = None) -> dramatiq.Broker:
    queue_settings = queue_settings or QueueSettings.from_env()
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, namespace=queue_settings.redis_namespace,
                             middleware=_middleware(queue_settings))
    else:
        broker = StubBroker(middleware=_middleware(queue_settings))
        broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    return broker
