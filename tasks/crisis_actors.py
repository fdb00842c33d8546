"""Crisis fan-out actors (R37, R38): thin, idempotent, ids only.

- ``crisis_plan_checks(crisis_id)``: plan every affected case's crisis check once, find
  and reassign missed follow-ups, enqueue one ``crisis_start_checks`` per batch.
- ``crisis_start_checks(crisis_id, check_ids)``: start the check instances of one batch;
  rows already started are skipped, so a repeated message or a retried crash creates no
  second check.
"""
from __future__ import annotations

import logging

import dramatiq
from dramatiq import Retry

from engine.crisis import fanout as crisis_fanout
from engine.errors import Conflict
from engine.infra.bootstrap import EngineContext
from tasks.actors import QUEUE_NAME

log = logging.getLogger(__name__)


def declare(broker: dramatiq.Broker, ctx: EngineContext, actors: dict) -> dict[str, dramatiq.Actor]:
    """Declare this module's actors on ``broker``; returns them by name."""

    def crisis_plan_checks(crisis_id: int) -> None:
        with ctx.uow() as uow:
            batches = crisis_fanout.plan_checks(uow, crisis_id)
        log.info("crisis %s: %d check batches enqueued", crisis_id, batches)

    def crisis_start_checks(crisis_id: int, check_ids: list[int]) -> None:
        with ctx.uow() as uow:
            try:
                crisis_fanout.start_check_batch(uow, ctx.runtime, crisis_id, check_ids)
            except Conflict as err:  # a concurrent writer won a row: run the batch again on fresh state
                raise Retry(f"crisis {crisis_id} check batch: {err.message}") from err

    return {fn.__name__: dramatiq.actor(fn, broker=broker, actor_name=fn.__name__, queue_name=QUEUE_NAME)
            for fn in (crisis_plan_checks, crisis_start_checks)}
