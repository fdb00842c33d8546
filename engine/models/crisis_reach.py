"""Who a disruption reaches beyond the crisis checks (issue 17): staff marked unavailable
during it and the work that went to their backups, and every contact with an affected
case's client.

- ``crisis_staff_absences``: one row per (crisis, person) the crisis team (or the person)
  marked unavailable. In a real disruption the person's ``users.available`` flag — the one
  the people administration and caseworker assignment read — is set too; in a drill only
  this row exists, so no live record changes. ``restored_at``: available again (at the
  start of recovery, or earlier by hand).
- ``crisis_task_moves``: each open task that went from an unavailable person to a backup
  (or back to its role) by the ``bcp_backup_staffing`` rule, so recovery can hand it back.
- ``crisis_client_contacts``: each contact with a client attempted or made during the
  disruption, by channel (SMS, phone, e-mail, visit), from which message template, and
  what came of it. A row names the case by code; the client's address is read from
  ``clients`` when the message is sent, never copied here.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class ContactChannel(Vocabulary):
    """How a client is contacted (seed 000 'Client Communication Protocols')."""
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone call"
    EMAIL = "email", "E-mail"
    VISIT = "visit", "Visit"


class ContactState(Vocabulary):
    """Where one contact with a client stands."""
    QUEUED = "queued", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Could not be sent"
    MADE = "made", "Client reached"
    NOT_REACHED = "not_reached", "Tried, not reached"
    NEEDS_PERSONAL_CONTACT = "personal", "Call or visit needed (no consented address)"
    DRILL = "drill", "Drill: not sent to the client"


class FunctionState(Vocabulary):
    """Where the resumption of one affected sub-function stands (the dashboard)."""
    PENDING = "pending", "Not started"
    IN_PROGRESS = "in_progress", "Being resumed"
    RESUMED = "resumed", "Resumed"
    NOT_AFFECTED = "not_affected", "Not affected"
    NO_LONGER_AFFECTED = "no_longer_affected", "No longer affected"


class BackupWork(Vocabulary):
    """The kinds of work the ``bcp_backup_staffing`` rule hands to backups."""
    CRISIS_CHECK = "crisis_check", "Crisis check"
    FOLLOW_UP = "follow_up", "Follow-up"
    OTHER = "other", "Other task"


class CrisisStaffAbsence(Base):
    """A member of staff unavailable during a disruption (or a drill)."""
    __tablename__ = "crisis_staff_absences"
    __table_args__ = (UniqueConstraint("crisis_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    marked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    note: Mapped[str] = mapped_column(Text, default="")
    flag_set: Mapped[bool] = mapped_column(Boolean, default=False)  # this crisis set users.available false
    restored_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CrisisTaskMove(Base):
    """An open task moved from an unavailable person to a backup (``to_user_id``) or back
    to its role (``to_user_id`` NULL); ``returned_at`` when it went back to them."""
    __tablename__ = "crisis_task_moves"
    __table_args__ = (Index("ix_crisis_task_moves_crisis_from", "crisis_id", "from_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"))
    case_code: Mapped[str | None] = mapped_column(String(40))
    work: Mapped[str] = mapped_column(String(20))  # crisis_check | follow_up | other (bcp_backup_staffing)
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    moved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CrisisClientContact(Base):
    """One contact with an affected case's client, attempted or made."""
    __tablename__ = "crisis_client_contacts"
    __table_args__ = (Index("ix_crisis_client_contacts_crisis_case", "crisis_id", "case_id"),
                      Index("ix_crisis_client_contacts_crisis_state", "crisis_id", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crises.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    case_code: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))  # ContactChannel
    template: Mapped[str | None] = mapped_column(String(60))  # a file of workflows/templates/
    state: Mapped[str] = mapped_column(String(20))  # ContactState
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    attempted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: sent by the service
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # sent, or the outcome recorded
    detail: Mapped[str] = mapped_column(Text, default="")  # why it failed, or what the caller noted
