"""What the service knows about its own backups: each ``restore --verify`` run, so the BCP
readiness "backup restore test" shows the result of a real check, not someone's word."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.models.base import Base, UTCDateTime


class BackupVerification(Base):
    """One ``python -m webui.cli restore PATH --verify``: the backup it read (where, when it
    was taken, on which backend), whether the restored copy matched its manifest, and the
    mismatches in words when it did not (one per line)."""
    __tablename__ = "backup_verifications"
    __table_args__ = (Index("ix_backup_verifications_verified_at", "verified_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=clock.now)
    backup_path: Mapped[str] = mapped_column(String(1000))
    backup_taken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    backend: Mapped[str] = mapped_column(String(20), default="")
    ok: Mapped[bool] = mapped_column(Boolean)
    rows_checked: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text, default="")
