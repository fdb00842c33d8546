"""Choose and configure the broker: Redis in production, the stub broker embedded."""
from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit

from engine.settings import Settings
from tasks.settings import QueueSettings


def _middleware(queue_settings: QueueSettings) -> list:
    return [AgeLimit(), TimeLimit(time_limit=queue_settings.time_limit_ms), ShutdownNotifications(), Callbacks(),
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
