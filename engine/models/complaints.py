"""Complaints (R28, 003 §5.6.3): who complained about what, who investigates it, and the
written answer.

A complaint is confidential: its row is read only through ``engine.complaints`` (which
decides who may see it and audits every read), and its process instance carries no case
code, so it never shows in a case file or a caseworker's list of the case's tasks.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class ComplainantKind(Vocabulary):
    """Who the complaint comes from (003 §5.6.3: clients, partners, the community)."""
    CLIENT = "client", "A client"
    CAREGIVER = "caregiver", "A parent or caregiver"
    COMMUNITY_MEMBER = "community_member", "A member of the community"


class ComplaintSubject(Vocabulary):
    """What the complaint is about."""
    CASE = "case", "The service given on a case"
    STAFF_MEMBER = "staff_member", "A staff member"


class ComplaintStatus(Vocabulary):
    RECEIVED = "received", "Received"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ANSWERED = "answered", "Answered in writing"


class AcknowledgementMethod(Vocabulary):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "By phone"
    LETTER = "letter", "By letter"
    EMAIL = "email", "By email"


ACKNOWLEDGEMENT_METHODS = AcknowledgementMethod.values()


class Complaint(Base):
    """One complaint, from its recording to the written answer. ``case_id`` and / or
    ``staff_member_id`` say what it is about; the people involved (the staff member, the
    case's caseworker at the time) never investigate it."""
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status_received", "status", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complainant_kind: Mapped[str] = mapped_column(String(20))  # ComplainantKind
    complainant_name: Mapped[str] = mapped_column(String(200), default="")
    complainant_contact: Mapped[str] = mapped_column(String(200), default="")
    subject_kind: Mapped[str] = mapped_column(String(20))  # ComplaintSubject
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    case_caseworker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # involved, when it came in
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ComplaintStatus.RECEIVED)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    investigator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    director_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # told when the answer is late
    answer_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledgement: Mapped[str] = mapped_column(Text, default="")
    findings: Mapped[str] = mapped_column(Text, default="")
    response: Mapped[str] = mapped_column(Text, default="")  # the written answer
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    escalation_note: Mapped[str] = mapped_column(Text, default="")
