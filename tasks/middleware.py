"""Dramatiq middleware of this deployment.

- :class:`JobTracking` keeps each job's outbox row in step with its runs (tasks.outbox):
  it claims the row before the actor runs (a message for a job that is done, or that a live
  worker runs now, is dropped), marks it done after a run that committed nothing of its own,
  and notes a retry's delay so the sweeper does not send the job again meanwhile.
- :class:`IncidentRecorder` turns a job that failed its last retry into an incident (and
  lets the job's owner mark its own record, e.g. an e-mail as failed), closing the job's
  row in the same transaction; and when a periodic job succeeds, it resolves the incidents
  its earlier runs left (the next minute's run supersedes a failed one).

Worker heartbeats and the boot sweep are in tasks.heartbeats.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from dramatiq import Middleware
from dramatiq.middleware import SkipMessage
from sqlalchemy.exc import SQLAlchemyError

from engine.errors import DomainError
from engine.infra.bootstrap import EngineContext
from engine.service_ops import incidents
from tasks.outbox import JOB_OPTION, Claim, JobLedger, RunningJob, WorkerIdentity, current_job, set_current_job

log = logging.getLogger(__name__)

RETRY_ACTOR = "retry_incident"


class JobTracking(Middleware):
    """Must run its after-hooks after :class:`IncidentRecorder`'s (add it before that one)."""

    def __init__(self, ledger: JobLedger, worker: Callable[[], WorkerIdentity]):
        self.ledger = ledger
        self.worker = worker

    def before_process_message(self, broker, message):
        set_current_job(None)
        job_id = message.options.get(JOB_OPTION)
        if job_id is None:
            return
        claim = self.ledger.claim(int(job_id), self.worker().worker_id, retry=bool(message.options.get("retries")))
        if claim in (Claim.DONE, Claim.RUNNING):
            log.info("job %s (%s): %s, message dropped", job_id, message.actor_name,
                     "done already" if claim is Claim.DONE else "a live worker runs it")
            raise SkipMessage()
        set_current_job(RunningJob(int(job_id)))

    def after_process_message(self, broker, message, *, result=None, exception=None):
        job = current_job()
        set_current_job(None)
        if job is None or exception is not None:
            return  # a failure: retried (see after_enqueue) or given up (closed with its incident)
        if not job.finished:
            self.ledger.finish(job.job_id)

    def after_skip_message(self, broker, message):
        set_current_job(None)

    def after_enqueue(self, broker, message, delay):
        job_id = message.options.get(JOB_OPTION)
        if job_id is not None and delay and message.options.get("retries"):
            self.ledger.postpone(int(job_id), int(delay))


class IncidentRecorder(Middleware):
    """Must run its ``after_process_message`` after ``Retries`` (which marks the message
    failed when it gives up): add it *before* Retries, as after-hooks run in reverse."""

    def __init__(self, ctx: EngineContext, on_give_up: dict[str, Callable] | None = None,
                 self_resolving: tuple[str, ...] = ()):
        self.ctx = ctx
        self.on_give_up = on_give_up or {}
        self.self_resolving = self_resolving

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is None:
            if message.actor_name in self.self_resolving:
                self._resolve_superseded(message.actor_name)
            return
        if not message.failed:
            return
        error = f"{type(exception).__name__}: {exception}"
        attempts = int(message.options.get("retries", 1))
        job = current_job()
        try:
            with self.ctx.uow() as uow:
                if job is not None:
                    JobLedger.gave_up_in(uow, job)
                incidents.record_job_failure(uow, message.actor_name, list(message.args), error, attempts,
                                             RETRY_ACTOR, self.on_give_up)
        except (SQLAlchemyError, DomainError) as err:
            log.error("could not record the failure of %s%s (%s): %s", message.actor_name,
                      tuple(message.args), error, err)

    def _resolve_superseded(self, actor: str) -> None:
        try:
            with self.ctx.uow() as uow:
                incidents.resolve_superseded(uow, actor)
        except SQLAlchemyError as err:
            log.warning("could not resolve the incidents of %s after its successful run: %s", actor, err)
