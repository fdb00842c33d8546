"""The record of each restore check (``restore PATH --verify``), in the live database: the
BCP readiness "backup restore test" shows the last one to the crisis team and keeps it with
the activity's outcome (R41), so the test is a real restore, not a box ticked."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from engine.models.backups import BackupVerification
from engine.service_ops.backup import VerifyReport

SUMMARY_MAX = 4000


@dataclass(frozen=True)
class LastCheck:
    verified_at: dt.datetime
    ok: bool
    backup_path: str
    backup_taken_at: dt.datetime | None
    rows_checked: int
    summary: str

    def sentence(self) -> str:
        """One line for people: when, which backup, and what came out."""
        taken = f", taken {self.backup_taken_at:%Y-%m-%d %H:%M} UTC" if self.backup_taken_at else ""
        outcome = "matched its manifest" if self.ok else "did NOT match its manifest"
        return (f"Restore check of {self.verified_at:%Y-%m-%d %H:%M} UTC: the backup {self.backup_path}{taken} "
                f"{outcome} ({self.summary})")


def record(uow, report: VerifyReport, backend: str) -> None:
    """Keep the outcome of one verify run (and audit it). Commits."""
    restored_rows = report.restored.rows if report.restored is not None else 0
    row = BackupVerification(backup_path=report.path[:1000], backend=backend, ok=report.ok,
                             backup_taken_at=report.manifest.taken if report.manifest else None,
                             rows_checked=restored_rows, summary=report.summary()[:SUMMARY_MAX])
    uow.session.add(row)
    uow.session.flush()  # its id names it in the audit; the path (any length) goes in the detail
    uow.audit(None, "backup_verified", "backup_verification", row.id, path=report.path[:1000], ok=report.ok,
              rows=restored_rows, problems=report.problems[:10])
    uow.commit()


def last_check(session) -> LastCheck | None:
    row = session.scalar(select(BackupVerification)
                         .order_by(BackupVerification.verified_at.desc(), BackupVerification.id.desc()).limit(1))
    if row is None:
        return None
    return LastCheck(row.verified_at, row.ok, row.backup_path, row.backup_taken_at, row.rows_checked, row.summary)
