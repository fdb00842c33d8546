"""Task-queue settings: retries, schedules and windows, read from the environment.

Every timeframe the queue uses lives here (never as a literal in the actors), so an
operator can tune it without touching code:

=================================  ===========================================  =========
variable                           meaning                                      default
=================================  ===========================================  =========
``QUEUE_MAX_RETRIES``              retries of a failing job before an incident  5
``QUEUE_MIN_BACKOFF_MS``           first retry delay (doubles each time)        1000
``QUEUE_MAX_BACKOFF_MS``           longest retry delay                          300000
``QUEUE_TIME_LIMIT_MS``            a job running longer is stopped and retried  600000
``SWEEP_CRON``                     periodiq schedule of the timer sweep         * * * * *
``DEADLINE_CRON``                  periodiq schedule of the deadline notices    * * * * *
``EMBEDDED_SWEEP_SECONDS``         sweep interval with the in-process worker    60
``COUNTS_CHECK_CRON``              periodiq schedule of the daily check of the  40 3 * * *
                                   dashboard's kept case counts
``EMBEDDED_COUNTS_CHECK_SECONDS``  that check's interval with the               86400
                                   in-process worker (also run when it starts)
``DUE_SOON_HOURS``                 "due soon" notice this long before due       24
``DUE_SOON_SHARE``                 ...but not before this share of the task's   0.5
                                   lifetime is left
``SWEEP_BATCH``                    rows one sweep/deadline pass takes at once   500
``MAIL_LOST_AFTER_SECONDS``        re-send a pending e-mail untouched this long 3600
``MAIL_STALE_CLAIM_SECONDS``       a sender silent this long is presumed dead   600
``SMTP_TIMEOUT_SECONDS``           SMTP connect/command timeout                 30
``PUBLIC_URL``                     base of links in e-mails                     http://127.0.0.1:5000
``REDIS_NAMESPACE``                prefix of every Redis key of this deployment dramatiq
``JOB_VISIBILITY_SECONDS``         a job sent but not taken by a worker this    30
                                   long (after its due time) is sent again
``JOB_SWEEP_SECONDS``              how often each worker looks for lost jobs    5
``HEARTBEAT_SECONDS``              how often each worker writes its heartbeat   2
``WORKER_STALE_SECONDS``           a worker silent this long is presumed dead:  10
                                   the jobs it held are sent again
``SWEEPER_SILENT_SECONDS``         /healthz: "degraded" when the periodic       150
                                   sweep has not run for this long
``OUTBOX_BACKLOG_SECONDS``         /healthz: "degraded" when a job due this     300
                                   long ago is still not done
``CRISIS_CHECK_BATCH``             crisis checks started by one job (R37)       100
=================================  ===========================================  =========

Dramatiq's own ``dramatiq_worker_timeout`` (ms) sets how often an idle worker polls
Redis, which bounds the lag of a delayed timer message, and ``dramatiq_queue_prefetch``
how many messages one worker process holds at once (the production topology sets it to
its thread count, so a fan-out's batches spread over every worker instead of queueing
behind the first one).
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class QueueSettings:
    max_retries: int = 5
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 300_000
    time_limit_ms: int = 600_000
    sweep_cron: str = "* * * * *"
    deadline_cron: str = "* * * * *"
    embedded_sweep_seconds: float = 60.0
    counts_check_cron: str = "40 3 * * *"
    embedded_counts_check_seconds: float = 86_400.0
    due_soon_hours: float = 24.0
    due_soon_share: float = 0.5
    sweep_batch: int = 500
    mail_lost_after_seconds: float = 3600.0
    mail_stale_claim_seconds: float = 600.0
    smtp_timeout_seconds: float = 30.0
    public_url: str = "http://127.0.0.1:5000"
    redis_namespace: str = "dramatiq"
    job_visibility_seconds: float = 30.0
    job_sweep_seconds: float = 5.0
    heartbeat_seconds: float = 2.0
    worker_stale_seconds: float = 10.0
    sweeper_silent_seconds: float = 150.0
    outbox_backlog_seconds: float = 300.0
    crisis_check_batch: int = 100

    @property
    def due_soon_window(self) -> dt.timedelta:
        return dt.timedelta(hours=self.due_soon_hours)

    @property
    def mail_lost_after(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.mail_lost_after_seconds)

    @property
    def mail_stale_claim(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.mail_stale_claim_seconds)

    @property
    def job_visibility(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.job_visibility_seconds)

    @property
    def worker_stale(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.worker_stale_seconds)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> QueueSettings:
        env = os.environ if env is None else env
        defaults = cls()
        values = {}
        for name, variable in _VARIABLES.items():
            raw = env.get(variable)
            if raw is None or raw.strip() == "":
                continue
            kind = type(getattr(defaults, name))
            try:
                values[name] = kind(raw.strip())
            except ValueError as err:
                raise RuntimeError(f"{variable}={raw!r} is not a valid {kind.__name__}") from err
        return replace(defaults, **{**values, **overrides})


_VARIABLES = {
    "max_retries": "QUEUE_MAX_RETRIES",
    "min_backoff_ms": "QUEUE_MIN_BACKOFF_MS",
    "max_backoff_ms": "QUEUE_MAX_BACKOFF_MS",
    "time_limit_ms": "QUEUE_TIME_LIMIT_MS",
    "sweep_cron": "SWEEP_CRON",
    "deadline_cron": "DEADLINE_CRON",
    "embedded_sweep_seconds": "EMBEDDED_SWEEP_SECONDS",
    "counts_check_cron": "COUNTS_CHECK_CRON",
    "embedded_counts_check_seconds": "EMBEDDED_COUNTS_CHECK_SECONDS",
    "due_soon_hours": "DUE_SOON_HOURS",
    "due_soon_share": "DUE_SOON_SHARE",
    "sweep_batch": "SWEEP_BATCH",
    "mail_lost_after_seconds": "MAIL_LOST_AFTER_SECONDS",
    "mail_stale_claim_seconds": "MAIL_STALE_CLAIM_SECONDS",
    "smtp_timeout_seconds": "SMTP_TIMEOUT_SECONDS",
    "public_url": "PUBLIC_URL",
    "redis_namespace": "REDIS_NAMESPACE",
    "job_visibility_seconds": "JOB_VISIBILITY_SECONDS",
    "job_sweep_seconds": "JOB_SWEEP_SECONDS",
    "heartbeat_seconds": "HEARTBEAT_SECONDS",
    "worker_stale_seconds": "WORKER_STALE_SECONDS",
    "sweeper_silent_seconds": "SWEEPER_SILENT_SECONDS",
    "outbox_backlog_seconds": "OUTBOX_BACKLOG_SECONDS",
    "crisis_check_batch": "CRISIS_CHECK_BATCH",
}
