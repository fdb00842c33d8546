"""Is background work being done? What ``/healthz`` reports about the task queue, read
from the database (the heartbeats and the job ledger of tasks.outbox), never from Redis:

- **no worker heartbeat**: no worker process has beaten within ``WORKER_STALE_SECONDS``;
- **sweeper silent**: the periodic sweep has not run for ``SWEEPER_SILENT_SECONDS``
  (counted from the start of the longest-running live worker while it never ran);
- **outbox backlog growing**: a job due ``OUTBOX_BACKLOG_SECONDS`` ago is still not done.

``python -m tasks.readiness [worker]`` prints the same as JSON and exits 0 when all is well
(``worker``: when a worker on this host beats), for container health checks.
"""
from __future__ import annotations

import datetime as dt
import json
import socket
import sys
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select

from engine import clock
from engine.models.ops import WorkerHeartbeat
from engine.models.work import OutboxMessage
from tasks.settings import QueueSettings

WORKER_KINDS = ("worker", "embedded")
SWEEPER_ID = "periodic-sweep"


@dataclass
class BackgroundWork:
    workers_alive: int
    last_worker_beat_s: float | None
    last_sweep_s: float | None
    jobs_waiting: int
    oldest_job_s: float | None
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"workers": {"alive": self.workers_alive, "last_beat_s": self.last_worker_beat_s},
                "sweeper": {"last_run_s": self.last_sweep_s},
                "outbox": {"waiting": self.jobs_waiting, "oldest_s": self.oldest_job_s}}


def _age(now: dt.datetime, then: dt.datetime | None) -> float | None:
    return None if then is None else round((now - then).total_seconds(), 1)


def background_work(session, settings: QueueSettings, hostname: str | None = None) -> BackgroundWork:
    """The figures and what is wrong with them (``hostname``: count only that host's workers)."""
    now = clock.now()
    workers = select(WorkerHeartbeat).where(WorkerHeartbeat.kind.in_(WORKER_KINDS))
    if hostname is not None:
        workers = workers.where(WorkerHeartbeat.hostname == hostname)
    rows = list(session.scalars(workers))
    live = [w for w in rows if w.stopped_at is None and w.beat_at >= now - settings.worker_stale]
    last_beat = max((w.beat_at for w in rows), default=None)
    sweep = session.get(WorkerHeartbeat, SWEEPER_ID)
    due = or_(OutboxMessage.eta.is_(None), OutboxMessage.eta <= now)
    waiting, oldest = session.execute(
        select(func.count(), func.min(func.coalesce(OutboxMessage.eta, OutboxMessage.created_at)))
        .where(OutboxMessage.done_at.is_(None), due)).one()
    work = BackgroundWork(len(live), _age(now, last_beat), _age(now, sweep.beat_at if sweep else None), waiting,
                          _age(now, oldest))
    if not live:
        since = f"the last one {work.last_worker_beat_s:.0f} s ago" if last_beat else "none ever"
        work.reasons.append(f"no worker heartbeat: no task worker has beaten in the last "
                            f"{settings.worker_stale_seconds:g} s ({since})")
    else:
        reference = sweep.beat_at if sweep else min(w.started_at for w in live)
        silent = (now - reference).total_seconds()
        if silent > settings.sweeper_silent_seconds:
            work.reasons.append(f"sweeper silent: the periodic sweep has not run for {silent:.0f} s")
    if work.oldest_job_s is not None and work.oldest_job_s > settings.outbox_backlog_seconds:
        work.reasons.append(f"outbox backlog growing: {waiting} job(s) waiting, the oldest due "
                            f"{work.oldest_job_s:.0f} s ago")
    return work


def main(argv: list[str] | None = None) -> int:
    from engine.infra import db
    from engine.settings import Settings

    argv = sys.argv[1:] if argv is None else argv
    engine = db.make_engine(Settings.from_env().database_url)
    try:
        with db.make_session_factory(engine)() as session:
            work = background_work(session, QueueSettings.from_env(),
                                   socket.gethostname()[:80] if argv[:1] == ["worker"] else None)
    finally:
        engine.dispose()
    report = {"status": "degraded" if work.reasons else "ok", "reasons": work.reasons, **work.as_dict()}
    sys.stdout.write(json.dumps(report) + "\n")
    if argv[:1] == ["worker"]:
        return 0 if work.workers_alive else 1
    return 1 if work.reasons else 0


if __name__ == "__main__":
    sys.exit(main())
