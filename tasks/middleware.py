"""Dramatiq middleware of this deployment.

- :class:`IncidentRecorder` turns a job that failed its last retry into an incident
  (and lets the job's owner mark its own record, e.g. an e-mail as failed).
- :class:`SweepOnWorkerBoot` makes every worker process that starts (a restart after a
  crash, a new container) send one timer sweep at once, so work a dead worker held is
  picked up in seconds instead of at the next periodic tick.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from dramatiq import Middleware
from sqlalchemy.exc import SQLAlchemyError

from engine.errors import DomainError
from engine.infra.bootstrap import EngineContext
from engine.service_ops import incidents

log = logging.getLogger(__name__)

RETRY_ACTOR = "retry_incident"


class IncidentRecorder(Middleware):
    """Must run its ``after_process_message`` after ``Retries`` (which marks the message
    failed when it gives up): add it *before* Retries, as after-hooks run in reverse."""

    def __init__(self, ctx: EngineContext, on_give_up: dict[str, Callable] | None = None):
        self.ctx = ctx
        self.on_give_up = on_give_up or {}

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is None or not message.failed:
            return
        error = f"{type(exception).__name__}: {exception}"
        attempts = int(message.options.get("retries", 1))
        try:
            with self.ctx.uow() as uow:
                incidents.record_job_failure(uow, message.actor_name, list(message.args), error, attempts,
                                             RETRY_ACTOR, self.on_give_up)
        except (SQLAlchemyError, DomainError) as err:
            log.error("could not record the failure of %s%s (%s): %s", message.actor_name,
                      tuple(message.args), error, err)


class SweepOnWorkerBoot(Middleware):
    def __init__(self, send_sweep: Callable[[], None]):
        self.send_sweep = send_sweep

    def after_worker_boot(self, broker, worker):
        log.info("worker booted: sending a timer sweep")
        self.send_sweep()
