"""Who does a case's crisis work when its caseworker cannot (seed 000 "Backup Support
Staff"; R37, R38).

The case's own caseworker when they are active and available; otherwise backup staff:
an available caseworker whose open cases plus the backup work already given to them stay
under the cap (``backup_caseload_cap`` from the bcp_parameters decision), colleagues of the
same supervisor first, the least loaded first; otherwise the case's supervisor, or
another available supervisor; otherwise nobody (the task is offered to the caseworker
role, claimable by any caseworker).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine.models import Case, CaseStatus, Supervision, User, UserRole


@dataclass(frozen=True)
class Assignment:
    user_id: int | None
    backup: bool


class StaffPool:
    """Availability and load of the staff, read once, updated as backup work is given."""

    def __init__(self, session, backup_caseload_cap: int):
        self.cap = backup_caseload_cap
        available = select(User.id).where(User.active, User.available)
        role_rows = session.execute(select(UserRole.user_id, UserRole.role)
                                    .where(UserRole.role.in_(("caseworker", "supervisor")),
                                           UserRole.user_id.in_(available))).all()
        self.caseworkers = sorted({uid for uid, role in role_rows if role == "caseworker"})
        self.supervisors = sorted({uid for uid, role in role_rows if role == "supervisor"})
        self.available = set(session.scalars(available))
        self.load = dict(session.execute(select(Case.caseworker_id, func.count()).where(
            Case.status == CaseStatus.OPEN, Case.caseworker_id.is_not(None)).group_by(Case.caseworker_id)).all())
        self.supervisor_of = dict(session.execute(select(Supervision.supervisee_id, Supervision.supervisor_id)).all())
        self.extra: dict[int, int] = {}

    def is_available(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.available

    def assign(self, caseworker_id: int | None, supervisor_id: int | None) -> Assignment:
        """The person for one case's crisis work (counted into their load when a backup)."""
        if self.is_available(caseworker_id):
            return Assignment(caseworker_id, False)
        backup = self._backup_caseworker(supervisor_id or self.supervisor_of.get(caseworker_id))
        if backup is None:
            backup = self._backup_supervisor(supervisor_id or self.supervisor_of.get(caseworker_id))
        if backup is None:
            return Assignment(None, True)
        self.extra[backup] = self.extra.get(backup, 0) + 1
        return Assignment(backup, True)

    def _total(self, user_id: int) -> int:
        return self.load.get(user_id, 0) + self.extra.get(user_id, 0)

    def _backup_caseworker(self, supervisor_id: int | None) -> int | None:
        best, best_key = None, None
        for user_id in self.caseworkers:
            total = self._total(user_id)
            if total >= self.cap:
                continue
            key = (self.supervisor_of.get(user_id) != supervisor_id, total, user_id)
            if best_key is None or key < best_key:
                best, best_key = user_id, key
        return best

    def _backup_supervisor(self, supervisor_id: int | None) -> int | None:
        if self.is_available(supervisor_id):
            return supervisor_id
        if not self.supervisors:
            return None
        return min(self.supervisors, key=lambda uid: (self.extra.get(uid, 0), uid))
