"""Human tasks and timers: the engine's wait states, kept queryable in tables.

Both are rewritten from the instance's task tree by ``engine.bpmn.task_sync`` in the same
transaction that saves the instance, so they never disagree with it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary
from engine.models.case import RISK_LEVELS

# a task on a high-risk case comes first: high 3, medium 2, low 1
PRIORITY_BY_RISK = {level: len(RISK_LEVELS) - rank for rank, level in enumerate(RISK_LEVELS)}


class TaskState(Vocabulary):
    """Where a human task stands."""
    READY = "ready", "Open"
    COMPLETED = "completed", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Announcement(Vocabulary):
    """How the people concerned learn that a user task is waiting for them: the diagram's
    ``announce`` task property (``engine.bpmn.spec_validation`` refuses any other value)."""
    TASK = "task", "A notification and an e-mail per task"
    SUMMARY = "summary", "One summary of the work announces it (no notification per task)"


class TimerState(Vocabulary):
    PENDING = "pending", "Waiting"
    FIRED = "fired", "Fired"
    CANCELLED = "cancelled", "Cancelled"


class HumanTask(Base):
    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_assignee_state_due", "assignee_id", "state", "due_at"),
        Index("ix_human_tasks_role_state_due", "role", "state", "due_at"),
        Index("ix_human_tasks_instance_state", "instance_id", "state"),
        # a case's open rows (a step's risk follow-up, the case pages), flat however long its history
        Index("ix_human_tasks_case_state", "case_code", "state"),
        Index("ix_human_tasks_state_due", "state", "due_at"),  # overdue work, counted for /metrics
        # the "claimable" inbox: ready tasks offered to a role, nobody holding them yet
        Index("ix_human_tasks_offered", "role", "due_at",
              postgresql_where=text("state = 'ready' AND assignee_id IS NULL"),
              sqlite_where=text("state = 'ready' AND assignee_id IS NULL")),
        # ready tasks held by someone (by role: the committee's count) / offered to a role, with
        # their case codes (who may see a case, engine.case.case_lists): read without the rows
        Index("ix_human_tasks_ready_held", "assignee_id", "role", "case_code",
              postgresql_where=text("state = 'ready'"), sqlite_where=text("state = 'ready'")),
        Index("ix_human_tasks_offered_case", "role", "case_code",
              postgresql_where=text("state = 'ready' AND assignee_id IS NULL"),
              sqlite_where=text("state = 'ready' AND assignee_id IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the Spiff task UUID
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    case_code: Mapped[str | None] = mapped_column(String(40), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(40))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default=TaskState.READY)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    priority: Mapped[int] = mapped_column(Integer, default=1)
    risk_level: Mapped[str | None] = mapped_column(String(10))
    form: Mapped[str | None] = mapped_column(String(200))
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # How the new-task listeners announce a row the step just created (the task's ``announce``
    # property, set by ``engine.bpmn.task_sync``). Not stored: it matters once, when the task
    # becomes ready, and a row read back from the table says ``task``.
    announce = Announcement.TASK


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id"),
        Index("ix_timers_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(20), default=TimerState.PENDING)
    fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class JobOutcome(Vocabulary):
    """How a job of the outbox ended."""
    DONE = "done", "Done"
    GAVE_UP = "gave_up", "Failed after its retries (an incident)"


class OutboxMessage(Base):
    """A job for the task queue, written in the business transaction and relayed to the
    broker only after it commits; the row, not the broker, says whether the job still has
    to run (see tasks/outbox.py). ``sent_at`` null: not sent yet. Sent and ``done_at`` null:
    enqueued — the broker should hold it, or a worker (``claimed_by``) runs it; once
    ``redeliver_after`` has passed unclaimed, or its worker stopped beating, the sweeper
    sends it again. ``done_at``: the actor finished and committed (or the job gave up)."""
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_sent_at", "sent_at"),
                      Index("ix_outbox_open_jobs", "done_at", "redeliver_after"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))
    args_json: Mapped[str] = mapped_column(Text, default="[]")
    eta: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times sent to the broker
    redeliver_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(120))  # the worker running it (that ran it, once done)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(10))  # JobOutcome
    request_id: Mapped[str | None] = mapped_column(String(64))  # the request that caused it (its logs' id)


class AuditEvent(Base):
    """Who did what, when. Append-only (the ORM refuses updates and deletes; on PostgreSQL a
    trigger does too), and chained: ``row_hash`` covers the row and ``prev_hash``, the hash
    of the row before it, so a changed, removed or inserted row breaks the chain
    (``python -m webui.cli audit verify``)."""
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(80))
    case_code: Mapped[str | None] = mapped_column(String(40), index=True)
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """The last link of the audit chain (one row): taken under lock when a transaction
    appends its audit rows, so the chain stays one line whatever commits concurrently."""
    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    head_id: Mapped[int | None] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64), default="")


class AuditRecordImmutable(Exception):
    """An attempt to change or delete an audit row: the trail only grows."""


def _refuse_audit_change(mapper, connection, target) -> None:
    raise AuditRecordImmutable(f"audit row {target.id} is append-only: it cannot be changed or deleted")


event.listen(AuditEvent, "before_update", _refuse_audit_change)
event.listen(AuditEvent, "before_delete", _refuse_audit_change)
