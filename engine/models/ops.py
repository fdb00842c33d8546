"""Operations tables: notifications (in-app, and the outbox of their e-mails), the
deadline notices that make "due soon"/"overdue" fire once per task, incidents
(background jobs that failed after their last retry, for an admin to retry), the answers
kept for Idempotency-Keys and the heartbeats of the task workers.

Notifications carry case codes and task titles only, never a client's name.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class IncidentState(Vocabulary):
    OPEN = "open", "Open"
    RETRIED = "retried", "Retried"
    RESOLVED = "resolved", "Resolved"


class NotificationKind(Vocabulary):
    """What a notification is about (more kinds may be stored; pages show those as words)."""
    TASK_ASSIGNED = "task_assigned", "New task"
    TASK_DUE_SOON = "task_due_soon", "Task due soon"
    TASK_OVERDUE = "task_overdue", "Task overdue"
    COMMITTEE_VOTE_REQUESTED = "committee_vote_requested", "Vote requested"
    STEP_FAILED = "step_failed", "A step failed"
    INCIDENT_OPENED = "incident_opened", "Background job failed"
    CRISIS_DECLARED = "crisis_declared", "Disruption declared"
    CRISIS_ROLE = "crisis_role", "Crisis role"
    CRISIS_ESCALATION = "crisis_escalation", "Resumption overdue"
    CRISIS_CHECKS = "crisis_checks", "Crisis checks"
    CRISIS_CHECK_ALERT = "crisis_check_alert", "Crisis check alert"
    CRISIS_FOLLOW_UPS = "crisis_follow_ups", "Follow-ups during a disruption"


INCIDENT_STATES = IncidentState.values()


class Notification(Base):
    """One message to one person. ``kind`` says what it is about in lower_snake_case
    (task_assigned, task_due_soon, task_overdue, committee_vote_requested, crisis_declared,
    incident_opened, ...). ``dedupe_key`` makes a repeated notify() a no-op for
    that person; ``mail_state`` tracks the e-mail copy (``none`` when the person has no
    address, ``skipped`` when no SMTP server is configured)."""
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key"),
        Index("ix_notifications_user_read", "user_id", "read_at", "created_at"),
        Index("ix_notifications_mail_state", "mail_state", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    case_code: Mapped[str | None] = mapped_column(String(40))
    link: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    mail_state: Mapped[str] = mapped_column(String(10), default="none")  # none|pending|sending|sent|skipped|failed
    mail_claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    mail_error: Mapped[str | None] = mapped_column(Text)


class TaskDeadlineNotice(Base):
    """"This task's due-soon (or overdue) notice went out": at most one per task and kind."""
    __tablename__ = "task_deadline_notices"

    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # task_due_soon | task_overdue
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Incident(Base):
    """A background job that still failed after its last retry. One row per job
    (actor + arguments): a repeat failure reopens it and counts the attempts."""
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_state_last_seen", "state", "last_seen_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of actor + arguments
    actor: Mapped[str] = mapped_column(String(100))
    args_json: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(10), default=IncidentState.OPEN)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    retried_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    retried_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retries: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class IdempotencyKey(Base):
    """The answer given to a request sent with an ``Idempotency-Key`` header, so the same
    key from the same user gets the same answer instead of a second change (within
    ``KEPT_FOR``; older keys may be reused). Written in the transaction of the change when
    the use case knows keys; otherwise claimed first (``claim_token``, ``claimed_at``), marked
    ``applied_at`` inside the change's own transaction, and answered after it
    (engine.service_ops.idempotency). ``status_code`` 0: no answer stored (yet)."""
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "operation", "key"),
                      Index("ix_idempotency_keys_created_at", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    operation: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the request body
    status_code: Mapped[int] = mapped_column(Integer)
    response_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WorkerHeartbeat(Base):
    """One task-worker process (or the periodic sweep, ``kind`` "sweeper"), beating while it
    runs: a job claimed by a worker whose beat is stale is sent again, and ``/healthz`` says
    "degraded" when no worker has beaten recently or the sweep fell silent."""
    __tablename__ = "worker_heartbeats"
    __table_args__ = (Index("ix_worker_heartbeats_kind_beat", "kind", "beat_at"),)

    worker_id: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid:random
    kind: Mapped[str] = mapped_column(String(20))  # worker | embedded | sweeper
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    parent_pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def dialect_insert(session, model):
    """An INSERT for ``model`` with the backend's ON CONFLICT clauses (PostgreSQL and
    SQLite both support ``on_conflict_do_nothing``/``do_update`` and RETURNING)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")
