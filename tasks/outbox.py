"""The job ledger: every job is an outbox row, from the commit that wrote it until its
actor finished. The database, not the broker, is the source of truth.

- **Sent only after the commit.** Services write ``OutboxMessage`` rows in their
  transaction; after the commit the unit of work's hook (:meth:`OutboxRelay.relay_committed`)
  sends the rows *that transaction* wrote, and only those: a backlog left by a broker that
  was down is the sweeper's (:meth:`OutboxRelay.drain`, at every sweep), never the next
  request's. A crash between commit and send, or a broker that is down, leaves the row
  unsent: the request still succeeds and the next sweep sends it. Each message carries its
  row's id (the ``job_id`` message option).
- **Enqueued until done.** A sent row stays open (``done_at`` null) until its actor has
  finished and committed: the actor's last unit of work marks it done in the same
  transaction as the work (:func:`finishing_job`), or the worker does just after a run that
  had nothing to commit. While a worker runs it, the row is claimed by that worker
  (:meth:`JobLedger.claim`). A failing run that dramatiq retries later pushes the row's
  ``redeliver_after`` past the retry; a run that gives up becomes an incident and closes the
  row (``outcome`` gave_up) in the incident's transaction.
- **Sent again when lost.** :meth:`OutboxRelay.redeliver` (every worker, every
  ``JOB_SWEEP_SECONDS``, and the periodic sweep) sends again every open row that nobody runs
  and whose ``redeliver_after`` (its due time plus ``JOB_VISIBILITY_SECONDS``) has passed —
  a flushed or restarted Redis — and at once every row claimed by a worker whose heartbeat
  is older than ``WORKER_STALE_SECONDS`` or that stopped — a killed worker — or claimed
  longer ago than the job time limit plus the visibility timeout. A row sent again waits
  twice as long before the next time (a long backlog is not multiplied).
- **Harmless twice.** Actors are idempotent; besides, a message for a row that is done, or
  that a live worker runs right now, is dropped before the actor runs.

Bookkeeping runs in sessions of its own (flagged ``BOOKKEEPING`` in ``session.info``), never
in a use case's unit of work, except the "done" mark that joins the actor's transaction.
"""
from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import redis
from dramatiq.errors import BrokerError
from sqlalchemy import and_, delete, event, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import clock
from engine.infra.unit_of_work import UnitOfWork
from engine.models.ops import WorkerHeartbeat, dialect_insert
from engine.models.work import JobOutcome, OutboxMessage
from tasks.settings import QueueSettings

log = logging.getLogger(__name__)

BROKER_DOWN = (BrokerError, redis.exceptions.RedisError)
BOOKKEEPING = "casework_job_bookkeeping"  # session.info flag: the ledger's own transaction, no use case
JOB_OPTION = "job_id"  # the message option carrying the outbox row's id
REQUEST_OPTION = "request_id"  # ... and the id of the request that caused it (tasks.request_ids)
MAX_BACKOFF_DOUBLINGS = 6  # a job sent again waits visibility x 2^n, n at most this
FORGET_WORKERS_AFTER = dt.timedelta(days=1)
WRITTEN = "casework_outbox_written"  # session.info: ids of the outbox rows this transaction flushed


# -- which jobs did the transaction that just committed write? ------------------------------
_committed = threading.local()  # .ids: the rows of the last transaction this thread committed


def _note_written(session: Session, flush_context) -> None:
    written = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if written:
        session.info.setdefault(WRITTEN, []).extend(written)


def _committed_now(session: Session) -> None:
    """Each commit (the ledger's own aside) replaces what the one before left: rows a
    commit without the relay hook wrote are the sweeper's, not the next transaction's."""
    if not session.info.get(BOOKKEEPING):
        _committed.ids = session.info.pop(WRITTEN, [])


def _rolled_back(session: Session) -> None:
    session.info.pop(WRITTEN, None)


event.listen(Session, "after_flush", _note_written)
event.listen(Session, "after_commit", _committed_now)
event.listen(Session, "after_rollback", _rolled_back)


def take_committed_jobs() -> list[int]:
    """The ids of the outbox rows the last transaction committed in this thread wrote, once
    (the unit of work calls its after-commit hooks in that thread, right after the commit)."""
    ids = getattr(_committed, "ids", [])
    _committed.ids = []
    return ids


@dataclass(frozen=True)
class WorkerIdentity:
    worker_id: str
    kind: str  # worker | embedded
    hostname: str
    pid: int
    parent_pid: int


class Claim(enum.Enum):
    RUN = "run"  # claimed for this worker
    DONE = "done"  # finished already: drop the message
    RUNNING = "running"  # a live worker runs it now: drop the message
    UNTRACKED = "untracked"  # no such row (or the ledger is out of reach): run it, the actor is idempotent


@dataclass
class RunningJob:
    """The job a worker thread runs now (set by tasks.middleware.JobTracking)."""
    job_id: int
    finished: bool = False  # marked done in a transaction that committed


_current = threading.local()


def current_job() -> RunningJob | None:
    return getattr(_current, "job", None)


def set_current_job(job: RunningJob | None) -> None:
    _current.job = job


@contextmanager
def finishing_job(ctx) -> Iterator[UnitOfWork]:
    """``ctx.uow()`` whose commit also marks the running job done, in the same transaction:
    an actor opens its last unit of work with this. Outside a job it is ``ctx.uow()``."""
    with ctx.uow() as uow:
        job = current_job()
        if job is not None:
            _mark_done_on_commit(uow.session, job, JobOutcome.DONE)
        yield uow


def _mark_done_on_commit(session, job: RunningJob, outcome: str) -> None:
    def before_commit(session):  # (claimed_by stays: which worker ran it)
        session.execute(update(OutboxMessage).where(OutboxMessage.id == job.job_id, OutboxMessage.done_at.is_(None))
                        .values(done_at=clock.now(), outcome=outcome))

    def after_commit(session):
        job.finished = True

    event.listen(session, "before_commit", before_commit)
    event.listen(session, "after_commit", after_commit)


def _live_workers(now: dt.datetime, settings: QueueSettings):
    return select(WorkerHeartbeat.worker_id).where(WorkerHeartbeat.beat_at >= now - settings.worker_stale,
                                                   WorkerHeartbeat.stopped_at.is_(None))


def _claim_void(now: dt.datetime, settings: QueueSettings):
    """A claim that no longer holds: its worker died or stopped, or it is older than the
    longest a run may take (the job time limit) plus the visibility timeout — a run that
    lost track of itself. (NULL NOT IN an empty set is true: claimed_by must be set.)"""
    longest_run = dt.timedelta(milliseconds=settings.time_limit_ms) + settings.job_visibility
    return and_(OutboxMessage.claimed_by.is_not(None),
                or_(OutboxMessage.claimed_by.not_in(_live_workers(now, settings)),
                    OutboxMessage.claimed_at < now - longest_run))


class JobLedger:
    """Claims, "done" marks and worker heartbeats, each in a short transaction of its own."""

    def __init__(self, session_factory, settings: QueueSettings):
        self._session_factory = session_factory
        self._settings = settings

    @contextmanager
    def _session(self):
        with self._session_factory() as session:
            session.info[BOOKKEEPING] = True
            yield session

    # -- jobs -----------------------------------------------------------------------------
    def claim(self, job_id: int, worker_id: str, retry: bool = False) -> Claim:
        """Take job ``job_id`` for ``worker_id`` unless it is done or another live worker runs
        it. A ``retry`` (dramatiq's own re-run of a failed run) is the job's continuation: it
        takes the job whoever holds it (its claim may not have been released)."""
        now = clock.now()
        free = or_(OutboxMessage.claimed_by.is_(None), OutboxMessage.claimed_by == worker_id,
                   _claim_void(now, self._settings))
        try:
            with self._session() as session:
                taken = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == job_id, OutboxMessage.done_at.is_(None), *(() if retry else (free,)))
                    .values(claimed_by=worker_id, claimed_at=now)
                    .execution_options(synchronize_session=False)).rowcount
                session.commit()
                if taken:
                    return Claim.RUN
                row = session.get(OutboxMessage, job_id)
        except SQLAlchemyError as err:
            log.warning("job %s: could not claim it (%s); running it untracked", job_id, err)
            return Claim.UNTRACKED
        if row is None:
            return Claim.UNTRACKED
        return Claim.DONE if row.done_at is not None else Claim.RUNNING

    def finish(self, job_id: int) -> None:
        """The job ran to its end without committing a "done" mark of its own."""
        try:
            with self._session() as session:
                session.execute(update(OutboxMessage).where(OutboxMessage.id == job_id,
                                                            OutboxMessage.done_at.is_(None))
                                .values(done_at=clock.now(), outcome=JobOutcome.DONE))
                session.commit()
        except SQLAlchemyError as err:  # the row stays open: the job runs once more, harmlessly
            log.warning("job %s finished but could not be marked done (%s); it will run again", job_id, err)

    def postpone(self, job_id: int, delay_ms: int) -> None:
        """A failed run that dramatiq retries in ``delay_ms``: nobody runs it meanwhile, and
        it is lost only if the retry has not started one visibility timeout after that."""
        later = clock.now() + dt.timedelta(milliseconds=delay_ms) + self._settings.job_visibility
        try:
            with self._session() as session:
                session.execute(update(OutboxMessage).where(OutboxMessage.id == job_id,
                                                            OutboxMessage.done_at.is_(None))
                                .values(claimed_by=None, redeliver_after=later))
                session.commit()
        except SQLAlchemyError as err:
            log.warning("job %s: could not note its retry (%s)", job_id, err)

    @staticmethod
    def gave_up_in(uow: UnitOfWork, job: RunningJob) -> None:
        """The job failed its last retry: closed with the incident that records it (in the
        incident's unit of work, which commits)."""
        _mark_done_on_commit(uow.session, job, JobOutcome.GAVE_UP)

    # -- workers ----------------------------------------------------------------------------
    def beat(self, worker: WorkerIdentity, stopped: bool = False) -> None:
        """Write ``worker``'s heartbeat (the first one registers it; ``stopped``: it ended)."""
        now = clock.now()
        with self._session() as session:
            insert = dialect_insert(session, WorkerHeartbeat)
            session.execute(insert.values(
                worker_id=worker.worker_id, kind=worker.kind, hostname=worker.hostname, pid=worker.pid,
                parent_pid=worker.parent_pid, started_at=now, beat_at=now, stopped_at=now if stopped else None,
            ).on_conflict_do_update(index_elements=["worker_id"],
                                    set_={"beat_at": now, "stopped_at": now if stopped else None}))
            session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_WORKERS_AFTER))
            session.commit()

    def sweep_ran(self) -> None:
        """The periodic sweep ran (what ``/healthz`` calls the sweeper)."""
        self.beat(WorkerIdentity("periodic-sweep", "sweeper", "-", 0, 0))


class OutboxRelay:
    """Sends unsent jobs after the commit, and lost ones again. Never raises for a broker
    or a database out of reach: the rows wait for the next drain or sweep."""

    def __init__(self, session_factory, actors: dict, settings: QueueSettings, batch: int = 500):
        self._session_factory = session_factory
        self._actors = actors
        self._settings = settings
        self._batch = batch
        self._lock = threading.Lock()

    def drain(self) -> int:
        """Send every unsent job, the whole backlog (the sweeps); returns how many were sent."""
        return self._run(lambda now: OutboxMessage.sent_at.is_(None), "relay")

    def relay_committed(self) -> None:
        """The after-commit hook: send the jobs the transaction that just committed wrote,
        and no others (an older backlog is the sweeper's). Costs no query when it wrote none.
        Not serialised with the sweeps: a job sent twice at the same moment runs once
        (tasks.middleware.JobTracking)."""
        ids = take_committed_jobs()
        for start in range(0, len(ids), self._batch):
            chunk = ids[start:start + self._batch]
            self._run(lambda now, chunk=chunk: and_(OutboxMessage.id.in_(chunk), OutboxMessage.sent_at.is_(None)),
                      "relay", locked=False)

    def redeliver(self) -> int:
        """Send again every open job that is lost (see the module docstring); returns how many."""
        def lost(now):
            return and_(OutboxMessage.done_at.is_(None), OutboxMessage.sent_at.is_not(None),
                        or_(and_(OutboxMessage.claimed_by.is_(None), OutboxMessage.redeliver_after <= now),
                            _claim_void(now, self._settings)))
        sent = self._run(lost, "redelivery")
        if sent:
            log.warning("jobs: re-sent %d lost job(s) (broker lost them, or their worker died)", sent)
        return sent

    def _run(self, which, what: str, locked: bool = True) -> int:
        sent = 0
        with self._lock if locked else nullcontext():
            try:
                while True:
                    n, more = self._send_batch(which)
                    sent += n
                    if not more:
                        return sent
            except SQLAlchemyError as err:
                log.warning("outbox %s stopped, the database is out of reach (the next sweep goes on): %s",
                            what, str(err).splitlines()[0])
                return sent

    def _send_batch(self, which) -> tuple[int, bool]:
        """Send one batch; returns (sent, whether another batch may be waiting)."""
        with self._session_factory() as session:
            session.info[BOOKKEEPING] = True
            now = clock.now()
            query = select(OutboxMessage).where(which(now)).order_by(OutboxMessage.id).limit(self._batch)
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            sent, broker_down = 0, False
            for row in rows:
                actor = self._actors.get(row.actor)
                if actor is None:
                    log.error("outbox message %s names unknown actor %s", row.id, row.actor)
                    continue
                delay_ms = None
                if row.eta is not None and row.eta > now:
                    delay_ms = int((row.eta - now).total_seconds() * 1000)
                try:
                    request = {REQUEST_OPTION: row.request_id} if row.request_id else {}
                    actor.send_with_options(args=tuple(json.loads(row.args_json)), delay=delay_ms,
                                            **{JOB_OPTION: row.id}, **request)
                except BROKER_DOWN as err:
                    log.warning("broker unavailable, %d outbox message(s) wait for the next sweep: %s",
                                len(rows) - sent, err)
                    broker_down = True
                    break
                resent = row.sent_at is not None
                row.redeliver_after = self._next_redelivery(row, now, resent)
                row.sent_at, row.attempts, row.claimed_by = now, row.attempts + 1, None
                sent += 1
            session.commit()
            return sent, (not broker_down and sent > 0 and len(rows) == self._batch)

    def _next_redelivery(self, row: OutboxMessage, now: dt.datetime, resent: bool) -> dt.datetime:
        visibility = self._settings.job_visibility
        if not resent:
            return max(now, row.eta or now) + visibility
        return now + visibility * 2 ** min(row.attempts, MAX_BACKOFF_DOUBLINGS)
