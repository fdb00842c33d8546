"""Choose and configure the broker: Redis in production, the stub broker embedded."""
from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit

from engine.settings import Settings

MAX_RETRIES = 5
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 5 * 60_000


def _middleware() -> list:
    return [AgeLimit(), TimeLimit(time_limit=10 * 60_000), ShutdownNotifications(), Callbacks(),
            Pipelines(), Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS,
                                 max_backoff=MAX_BACKOFF_MS)]


def make_broker(settings: Settings) -> dramatiq.Broker:
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, middleware=_middleware())
    else:
        broker = StubBroker(middleware=_middleware())
        broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    return broker
