"""Who does a case's crisis work when its caseworker cannot (seed 000 "Backup Support
Staff"; R37, R38).

The case's own caseworker when they are active and available; otherwise backup staff:
an available caseworker whose open cases plus the backup work already given to them stay
under the cap (``backup_caseload_cap`` from the bcp_parameters decision), colleagues of the
same supervisor first, the least loaded first; otherwise the case's supervisor, or
another available supervisor; otherwise nobody (the task is offered to the caseworker
role, claimable by any caseworker).

Which of these an unavailable person's work goes to is a table rule: the
``bcp_backup_staffing`` decision, evaluated by the BCP diagram for every kind of work
(a crisis check, a caseworker's follow-up, another role's task) and risk level and handed
to the fan-out with its parameters (``backup_rules``): ``colleague`` (the order above),
``supervisor`` (the case's supervisor or another available one), or ``role`` (offered to
the task's role). In a drill the people the drill marked unavailable count as unavailable
here, and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from engine.errors import Invalid
from engine.models import RISK_LEVELS, UNRATED, Case, CaseStatus, Supervision, User, UserRole

BACKUPS = ("colleague", "supervisor", "role")


def backup_rules(params: dict) -> dict[tuple[str, str], str]:
    """``(work, risk level) -> backup`` from the diagram's ``backup_rules`` (bcp_backup_staffing)."""
    rules = params.get("backup_rules")
    if not isinstance(rules, list) or not rules:
        raise Invalid("the BCP workflow passed no backup rules (the bcp_backup_staffing decision): "
                      "deploy the current BCP diagram")
    table = {}
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("backup") not in BACKUPS:
            raise Invalid(f"bcp_backup_staffing gave an unknown backup {rule!r}: one of {', '.join(BACKUPS)}")
        table[(str(rule.get("work")), str(rule.get("risk_level")))] = rule["backup"]
    return table


def backup_for(rules: dict[tuple[str, str], str], work: str, risk_level: str | None) -> str:
    risk = risk_level if risk_level in RISK_LEVELS else UNRATED
    found = rules.get((work, risk))
    if found is None:
        raise Invalid(f"bcp_backup_staffing gives no backup for {work} work on a {risk} risk case")
    return found


@dataclass(frozen=True)
class Assignment:
    user_id: int | None
    backup: bool


class StaffPool:
    """Availability and load of the staff, read once, updated as backup work is given."""

    def __init__(self, session, backup_caseload_cap: int, unavailable: set[int] | frozenset[int] = frozenset()):
        self.cap = backup_caseload_cap
        available = select(User.id).where(User.active, User.available, User.id.not_in(unavailable or {-1}))
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

    def assign(self, caseworker_id: int | None, supervisor_id: int | None,
               backup_kind: str = "colleague") -> Assignment:
        """The person for one case's crisis work (counted into their load when a backup):
        its caseworker when available, else the ``backup_kind`` of bcp_backup_staffing."""
        if self.is_available(caseworker_id):
            return Assignment(caseworker_id, False)
        if backup_kind == "role":
            return Assignment(None, True)
        backup = None
        if backup_kind == "colleague":
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
