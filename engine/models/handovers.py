"""Handovers between caseworkers (R29, 003 §5.2.4): a caseworker leaving, or cases moving
within the agency, with a handover document, a team briefing, a file review and a client
briefing per case, and a shadowing period during which the leaving caseworker still sees
the cases and the new caseworker's tasks on them.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime, Vocabulary


class HandoverKind(Vocabulary):
    LEAVING = "leaving", "A caseworker leaves: the whole caseload moves"
    CASE_MOVE = "case_move", "Cases move to another caseworker"


class HandoverStatus(Vocabulary):
    SHADOWING = "shadowing", "Handover under way, shadowing"
    COMPLETED = "completed", "Completed"


class Handover(Base):
    """One handover from one caseworker to another. ``shadow_until`` ends the leaving
    caseworker's sight of the cases (the diagram's timer closes it at the same instant)."""
    __tablename__ = "handovers"
    __table_args__ = (Index("ix_handovers_from_status", "from_caseworker_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # HandoverKind
    from_caseworker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    to_caseworker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=HandoverStatus.SHADOWING)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    shadow_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    document: Mapped[str] = mapped_column(Text, default="")
    document_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    team_briefed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    team_briefing: Mapped[str] = mapped_column(Text, default="")
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class HandoverCase(Base):
    """One case of a handover, with its own short process: the file review, the move, the
    client's briefing."""
    __tablename__ = "handover_cases"
    __table_args__ = (UniqueConstraint("handover_id", "case_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    file_reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    file_reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    file_findings: Mapped[str] = mapped_column(Text, default="")
    moved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    client_briefed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
