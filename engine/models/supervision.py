"""Supervision cadence (R30, 004 §6.6, 003 §5.2.3): the recurring duties of each
supervisor, each occurrence as it happened, and the findings of file audits.

- ``supervision_duties``: the schedule, one row per duty and supervisor (and caseworker,
  for the duties done with one caseworker), with the short instance that waits for its
  next occurrence;
- ``supervision_records``: one row per occurrence: when it opened, when it was done, by
  whom, with what outcome; a file audit also keeps the files sampled and the seed;
- ``file_audit_findings``: what the supervisor found in each sampled file.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class SupervisionDutyKind(Vocabulary):
    """The recurring duties; the intervals are in DMN ``supervision_cadence``."""
    SUPERVISION = "supervision", "Individual supervision"
    CASELOAD_REVIEW = "caseload_review", "Caseload review"
    FILE_AUDIT = "file_audit", "File audit"
    CASE_MANAGEMENT_MEETING = "case_management_meeting", "Case-management meeting"


# duties done with one caseworker; the others with the supervisor's whole team
PER_CASEWORKER_DUTIES = (SupervisionDutyKind.SUPERVISION, SupervisionDutyKind.CASELOAD_REVIEW,
                         SupervisionDutyKind.FILE_AUDIT)


class SupervisionDuty(Base):
    """The schedule of one duty of one supervisor (with one caseworker, or the team)."""
    __tablename__ = "supervision_duties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)  # duty:supervisor_id:caseworker_id or -
    duty: Mapped[str] = mapped_column(String(40))  # SupervisionDutyKind
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    every_days: Mapped[int] = mapped_column(Integer)
    cadence_json: Mapped[str] = mapped_column(Text, default="{}")  # the duty's row of supervision_cadence
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SupervisionRecord(Base):
    """One occurrence of a duty. ``period`` is the date it fell due (ISO); a file audit's
    sample is drawn from the seed of caseworker and period, so it can be drawn again."""
    __tablename__ = "supervision_records"
    __table_args__ = (Index("ix_supervision_records_duty_period", "duty", "supervisor_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    duty: Mapped[str] = mapped_column(String(40))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    period: Mapped[str] = mapped_column(String(10))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    sample_seed: Mapped[str] = mapped_column(String(120), default="")
    sampled_json: Mapped[str] = mapped_column(Text, default="[]")  # case codes of a file audit


class FileAuditFinding(Base):
    """What the supervisor found in one sampled case file (004 §6.6: forms used and filled
    in properly, services given as documented)."""
    __tablename__ = "file_audit_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("supervision_records.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    forms_complete: Mapped[bool | None] = mapped_column(Boolean)
    services_as_documented: Mapped[bool | None] = mapped_column(Boolean)
    findings: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
