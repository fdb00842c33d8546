"""The time to reach each affected case (R54: what a drill measures) and the disruption
report — the input to the BCP update (R40): the log, checks by risk level, time to reach
cases against the resumption deadline, follow-ups and work reassigned, contacts with
clients, staff unavailable, and the lessons learned. Case codes only, never names.
"""
from __future__ import annotations

import statistics

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from engine import clock
from engine.crisis import availability, client_contact, records, reports
from engine.crisis.declaration import CASE_LIST_ROLES, view_crisis
from engine.models import UNRATED, RiskLevel, User
from engine.models.crisis import Crisis, CrisisCaseCheck, CrisisFollowUp, CrisisTaskMove
from engine.people.directory import usernames

RISKS = (*RiskLevel.values(), UNRATED)
SLOWEST_SHOWN = 20


def reach_times(session, crisis: Crisis) -> dict:
    """For every affected case: hours from the declaration until its client was reached,
    against the resumption deadline (T+24 h); the cases not reached yet; by risk level."""
    deadline_hours = ((crisis.resumption_due_at - crisis.declared_at).total_seconds() / 3600
                      if crisis.resumption_due_at else None)
    now = clock.now()
    rows = session.execute(select(CrisisCaseCheck.case_code, CrisisCaseCheck.risk_level, CrisisCaseCheck.reached_at)
                           .where(CrisisCaseCheck.crisis_id == crisis.id).order_by(CrisisCaseCheck.rank)).all()
    by_risk = {risk: {"cases": 0, "reached": 0, "within_deadline": 0, "late": 0, "not_reached": 0} for risk in RISKS}
    hours: list[float] = []
    slowest: list[dict] = []
    for code, risk, reached_at in rows:
        bucket = by_risk[risk if risk in by_risk else UNRATED]
        bucket["cases"] += 1
        if reached_at is None:
            bucket["not_reached"] += 1
            overdue = crisis.resumption_due_at is not None and now > crisis.resumption_due_at
            slowest.append({"case_code": code, "risk_level": risk, "hours": None, "within_deadline": not overdue})
            continue
        took = (reached_at - crisis.declared_at).total_seconds() / 3600
        within = deadline_hours is None or took <= deadline_hours
        bucket["reached"] += 1
        bucket["within_deadline" if within else "late"] += 1
        hours.append(took)
        slowest.append({"case_code": code, "risk_level": risk, "hours": round(took, 1), "within_deadline": within})
    slowest.sort(key=lambda c: (c["hours"] is not None, -(c["hours"] or 0)))
    totals = {key: sum(b[key] for b in by_risk.values())
              for key in ("cases", "reached", "within_deadline", "late", "not_reached")}
    return {"deadline_hours": deadline_hours, **totals, "by_risk": by_risk,
            "median_hours": round(statistics.median(hours), 1) if hours else None,
            "slowest_hours": round(max(hours), 1) if hours else None, "slowest": slowest[:SLOWEST_SHOWN]}


def work_moved(session, crisis_id: int) -> list[dict]:
    """Open work that went from unavailable staff to backups during the disruption."""
    source, target = aliased(User), aliased(User)
    rows = session.execute(select(CrisisTaskMove, source.username, target.username)
                           .join(source, source.id == CrisisTaskMove.from_user_id)
                           .outerjoin(target, target.id == CrisisTaskMove.to_user_id)
                           .where(CrisisTaskMove.crisis_id == crisis_id)
                           .order_by(CrisisTaskMove.moved_at, CrisisTaskMove.id)).all()
    return [{"case_code": m.case_code, "work": m.work, "from": src, "to": dst, "moved_at": m.moved_at,
             "returned_at": m.returned_at} for m, src, dst in rows]


def disruption_report(uow, user_id: int, crisis_id: int) -> dict:
    """Everything the BCP update needs about one disruption (crisis team, directors,
    admins: it lists case codes). Audited; commits."""
    session = uow.session
    crisis = view_crisis(session, user_id, crisis_id, CASE_LIST_ROLES)
    log, _ = records.list_log(session, user_id, crisis_id, limit=5000)
    follow_ups, _ = reports.list_follow_ups(session, user_id, crisis_id, limit=500)
    names = usernames(session, (crisis.declared_by, crisis.communication_lead_id))
    report = {
        "crisis": crisis, "names": names, "generated_at": clock.now(),
        "log": log,
        "checks": reports.check_progress(session, crisis),
        "reach": reach_times(session, crisis),
        "follow_ups": reports.follow_up_counts(session, crisis.id),
        "follow_up_list": [f for f in follow_ups if f["action"] != "kept"],
        "work_moved": work_moved(session, crisis.id),
        "staff_unavailable": availability.list_absences(session, crisis.id),
        "contacts": client_contact.contact_summary(session, user_id, crisis.id),
        "functions": reports.function_status(session, crisis),
        "lessons_learned": crisis.lessons_learned,
        "follow_ups_rescheduled": session.scalar(select(func.count()).where(
            CrisisFollowUp.crisis_id == crisis.id, CrisisFollowUp.rescheduled_at.is_not(None))),
    }
    uow.audit(user_id, "crisis_report_viewed", "crisis", crisis.id)
    uow.commit()
    return report
