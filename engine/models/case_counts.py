"""The team's cases counted as they change (migration 0021): ``case_count_deltas``.

Triggers on ``cases`` append a signed row (+n cases came into a group, -n left it) for every
insert, delete and change of a counted column (supervisor, caseworker, status, risk level);
a group's count is the sum of its rows. Nothing updates a row in place, so no case write
waits on another for a counter; the periodic sweep folds the rows into one per group
(``engine.case.case_counts``).
"""
from __future__ import annotations

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base


class CaseCountDelta(Base):
    __tablename__ = "case_count_deltas"
    __table_args__ = (
        Index("ix_case_count_deltas_supervisor", "supervisor_id"),
        Index("ix_case_count_deltas_caseworker", "caseworker_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the case's columns, not foreign keys: a derived count, kept by the database itself
    supervisor_id: Mapped[int | None] = mapped_column(Integer)
    caseworker_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(2))
    risk_level: Mapped[str | None] = mapped_column(String(10))
    delta: Mapped[int] = mapped_column(Integer)
