"""Engine actors: each takes ids, opens a unit of work and calls one engine service.

They are declared against a given broker (not at import time), so the web app, the
workers and the tests each bind them to their own broker and engine context. Every
actor is idempotent: running one twice changes nothing the second time (a timer is
claimed atomically, an incident retry only runs while the incident waits for it). An
actor opens its last unit of work with ``finishing_job``, so the job's outbox row is
marked done in the same transaction as its work (tasks.outbox).

Periodic jobs (``sweep_timers``, and ``check_deadlines`` in tasks.notification_actors)
are sent each minute by periodiq in production (``periodiq tasks.worker``), and
``check_case_counts`` once a day (``COUNTS_CHECK_CRON``). With the embedded in-process
worker there is no periodiq process: the first run is sent when the worker starts, with
``chained=True``, and each chained run first sends the next one, delayed by
``EMBEDDED_SWEEP_SECONDS`` (the daily check: ``EMBEDDED_COUNTS_CHECK_SECONDS``).
Scheduling the successor *before* working keeps the chain alive even when a run fails;
runs sent by periodiq, at worker boot or by hand are not chained, so there is never more
than one chain.
"""
from __future__ import annotations

import logging

import dramatiq
from dramatiq import Retry

from engine.case import case_counts
from engine.errors import Conflict, DomainError
from engine.infra.bootstrap import EngineContext
from engine.process import instances
from engine.service_ops import idempotency, incidents
from tasks.outbox import JobLedger, OutboxRelay, current_job, finishing_job, set_current_job
from tasks.settings import QueueSettings

log = logging.getLogger(__name__)

QUEUE_NAME = "engine"
CHAINED_JOBS = ("sweep_timers", "check_deadlines", "check_case_counts")  # take ``chained``; see the module docstring


def sweep(ctx: EngineContext, actors: dict, relay: OutboxRelay, queue_settings: QueueSettings) -> None:
    """Re-send every pending timer past its due time (the safety net for lost timer
    messages), relay the jobs left unsent and send again the jobs that were lost."""
    with ctx.session_factory() as session:
        due = instances.due_timer_ids(session, limit=queue_settings.sweep_batch)
    for timer_id in due:
        actors["fire_timer"].send(timer_id)
    relayed = relay.drain()
    lost = relay.redeliver()
    if due or relayed or lost:
        log.info("sweep: re-sent %d due timer(s), relayed %d outbox message(s), re-sent %d lost job(s)",
                 len(due), relayed, lost)


def declare(broker: dramatiq.Broker, ctx: EngineContext, actors: dict, relay: OutboxRelay, ledger: JobLedger,
            queue_settings: QueueSettings, periodic: dict | None = None) -> dict[str, dramatiq.Actor]:
    """Declare the engine actors on ``broker``. ``actors`` is the registry every module
    fills in (``retry_incident`` looks jobs up in it). ``periodic`` maps an actor name to
    a periodiq cron spec (needs PeriodiqMiddleware on the broker)."""
    periodic = periodic or {}
    chain_delay_ms = int(queue_settings.embedded_sweep_seconds * 1000)
    counts_check_delay_ms = int(queue_settings.embedded_counts_check_seconds * 1000)

    def fire_timer(timer_id: int) -> None:
        with finishing_job(ctx) as uow:
            try:
                instances.fire_timer(uow, ctx.runtime, timer_id)
            except Conflict as err:
                # someone else moved the instance on first: our claim rolled back, the
                # timer is still pending; try again on the fresh state
                raise Retry(f"timer {timer_id}: {err.message}") from err
            except DomainError as err:  # a broken diagram: recorded on the instance, no retry
                log.warning("timer %s could not fire: %s", timer_id, err.message)

    def sweep_timers(chained: bool = False) -> None:
        """The periodic sweep (see :func:`sweep`); it also forgets expired idempotency keys,
        folds the case counts kept as cases change (``engine.case.case_counts``: one short
        transaction that no case write waits on) and notes that it ran (``/healthz``
        watches it)."""
        if chained:
            actors["sweep_timers"].send_with_options(args=(True,), delay=chain_delay_ms)
        sweep(ctx, actors, relay, queue_settings)
        with ctx.uow() as uow:
            idempotency.forget_expired(uow)
        with ctx.uow() as uow:
            case_counts.fold_and_commit(uow)
        ledger.sweep_ran()

    def check_case_counts(chained: bool = False) -> None:
        """The daily check of the supervisor dashboard's kept case counts
        (``engine.case.case_counts.mend``): rebuilt, audited and logged as a warning when a
        group differs from a count of the cases or a count trigger is missing on ``cases``."""
        if chained:
            actors["check_case_counts"].send_with_options(args=(True,), delay=counts_check_delay_ms)
        with ctx.uow() as uow:
            case_counts.mend(uow)

    def relay_outbox() -> None:
        relay.drain()

    def retry_incident(incident_id: int) -> None:
        """Run an incident's job again (an admin asked); resolve it when it succeeds.
        A failure goes through the usual retries and then reopens the incident."""
        with ctx.session_factory() as session:
            job = incidents.job_of_retry(session, incident_id)
        if job is None:
            return
        actor_name, args = job
        if actor_name in CHAINED_JOBS:
            args = []  # a failed chained run already sent its successor: never start a second chain
        target = actors.get(actor_name)
        if target is None:
            raise LookupError(f"incident {incident_id} names unknown actor {actor_name}")
        this_job = current_job()
        set_current_job(None)  # the job run again is not this one: its commits must not close this job
        try:
            target.fn(*args)
        finally:
            set_current_job(this_job)
        with finishing_job(ctx) as uow:
            incidents.retry_succeeded(uow, incident_id)

    declared = {}
    for fn, options in ((fire_timer, {}),
                        (sweep_timers, {"max_retries": 0}),
                        (check_case_counts, {"max_retries": 0}),
                        (relay_outbox, {}),
                        (retry_incident, {})):
        if fn.__name__ in periodic:
            options = {**options, "periodic": periodic[fn.__name__]}
        declared[fn.__name__] = dramatiq.actor(fn, broker=broker, actor_name=fn.__name__,
                                               queue_name=QUEUE_NAME, **options)
    return declared
