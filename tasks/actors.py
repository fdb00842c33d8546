"""Actors: each takes ids, opens a unit of work and calls one engine service.

They are declared against a given broker (not at import time), so the web app, the
workers and the tests each bind them to their own broker and engine context.
"""
from __future__ import annotations

import logging

import dramatiq

from engine.bootstrap import EngineContext
from engine.errors import DomainError
from engine.services import instances

log = logging.getLogger(__name__)


def declare_actors(broker: dramatiq.Broker, ctx: EngineContext, relay_factory,
                   sweep_schedule=None) -> dict[str, dramatiq.Actor]:
    """``sweep_schedule``: a periodiq cron spec making the sweeper periodic (needs the
    broker to carry PeriodiqMiddleware)."""
    actors: dict[str, dramatiq.Actor] = {}

    def fire_timer(timer_id: int) -> None:
        with ctx.uow() as uow:
            try:
                instances.fire_timer(uow, ctx.runtime, timer_id)
            except DomainError as err:  # a broken diagram: recorded on the instance, no retry
                log.warning("timer %s could not fire: %s", timer_id, err.message)

    def sweep_timers() -> int:
        """Re-send every pending timer past its due time (safety net for lost messages),
        and relay any outbox rows left unsent."""
        with ctx.session_factory() as session:
            due = instances.due_timer_ids(session)
        for timer_id in due:
            actors["fire_timer"].send(timer_id)
        relay_factory().drain()
        return len(due)

    def relay_outbox() -> int:
        return relay_factory().drain()

    for fn, options in ((fire_timer, {"max_retries": 5}),
                        (sweep_timers, {"max_retries": 0,
                                        **({"periodic": sweep_schedule} if sweep_schedule else {})}),
                        (relay_outbox, {"max_retries": 3})):
        actors[fn.__name__] = dramatiq.actor(fn, broker=broker, actor_name=fn.__name__,
                                             queue_name="engine", **options)
    return actors
