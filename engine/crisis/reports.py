"""What the crisis team reads: the crisis dashboard, the lists of checks and follow-ups,
and the data-validation report of every record created or changed during the
disruption (R40). Lists carry case codes, never names."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from engine import clock
from engine.crisis.declaration import CASE_LIST_ROLES, view_crisis
from engine.crisis.labels import function_label
from engine.crisis.scope import FUNCTION_RESUMPTION_PROCESS
from engine.models import UNRATED, AuditEvent, HumanTask, ProcessInstance, RiskLevel, TaskState, User
from engine.models.crisis import SUB_FUNCTIONS, Crisis, CrisisCaseCheck, CrisisFollowUp, DisruptionLogEntry

RISK_LEVELS = (*RiskLevel.values(), UNRATED)
# Audit actions that only read: not part of "records created or changed".
READ_ONLY_ACTIONS = ("login", "login_failed", "account_locked", "logout")


def resume_task_id(code: str) -> str:
    """The diagram's element id of a sub-function's resumption task (resume_5_1...)."""
    return "resume_" + code.replace(".", "_")


def dashboard(session, user_id: int, crisis_id: int) -> dict:
    """Time left to T+24 h, checks done and remaining by risk level, follow-ups found and
    reassigned, each sub-function's resumption status, the BCP's open tasks."""
    crisis = view_crisis(session, user_id, crisis_id)
    now = clock.now()
    due = crisis.resumption_due_at
    return {
        "crisis": crisis,
        "now": now,
        "seconds_to_resumption_deadline": (due - now).total_seconds() if due else None,
        "resumption_overdue": bool(due and crisis.resumption_confirmed_at is None and now > due),
        "checks": check_progress(session, crisis),
        "follow_ups": follow_up_counts(session, crisis.id),
        "functions": function_status(session, crisis),
        "open_tasks": open_bcp_tasks(session, crisis),
        "log_entries": session.scalar(select(func.count()).where(DisruptionLogEntry.crisis_id == crisis.id)),
    }


def check_progress(session, crisis: Crisis) -> dict:
    rows = session.execute(
        select(CrisisCaseCheck.risk_level, CrisisCaseCheck.state, CrisisCaseCheck.checked_at.is_not(None), func.count())
        .where(CrisisCaseCheck.crisis_id == crisis.id)
        .group_by(CrisisCaseCheck.risk_level, CrisisCaseCheck.state, CrisisCaseCheck.checked_at.is_not(None))).all()
    by_risk = {level: {"total": 0, "tasks_created": 0, "checked": 0, "remaining": 0} for level in RISK_LEVELS}
    for risk, state, checked, count in rows:
        bucket = by_risk[risk if risk in by_risk else UNRATED]
        bucket["total"] += count
        bucket["tasks_created"] += count if state == "started" else 0
        bucket["checked"] += count if checked else 0
    for bucket in by_risk.values():
        bucket["remaining"] = bucket["total"] - bucket["checked"]
    totals = {key: sum(b[key] for b in by_risk.values()) for key in ("total", "tasks_created", "checked", "remaining")}
    backups = session.scalar(select(func.count()).where(CrisisCaseCheck.crisis_id == crisis.id, CrisisCaseCheck.backup))
    return {"planned": crisis.checks_planned_at is not None, "affected_cases": crisis.affected_cases,
            **totals, "by_backup_staff": backups, "by_risk": by_risk}


def follow_up_counts(session, crisis_id: int) -> dict:
    rows = session.execute(select(CrisisFollowUp.action, func.count(), func.count(CrisisFollowUp.rescheduled_at))
                           .where(CrisisFollowUp.crisis_id == crisis_id).group_by(CrisisFollowUp.action)).all()
    counts = {"found": 0, "kept": 0, "reassigned": 0, "released": 0, "rescheduled": 0}
    for action, count, rescheduled in rows:
        counts["found"] += count
        counts[action] = counts.get(action, 0) + count
        counts["rescheduled"] += rescheduled
    return counts


def function_status(session, crisis: Crisis) -> list[dict]:
    states: dict[str, str] = {}
    if crisis.instance_id is not None:
        # the BCP's own resumption tasks, and those of sub-functions added later (their short instances)
        added = select(ProcessInstance.id).where(ProcessInstance.parent_instance_id == crisis.instance_id,
                                                 ProcessInstance.process_id == FUNCTION_RESUMPTION_PROCESS)
        for bpmn_id, state in session.execute(select(HumanTask.bpmn_id, HumanTask.state).where(
                or_(HumanTask.instance_id == crisis.instance_id, HumanTask.instance_id.in_(added)),
                HumanTask.bpmn_id.in_([resume_task_id(code) for code in SUB_FUNCTIONS]))
                .order_by(HumanTask.created_at)).all():
            if state == TaskState.COMPLETED:
                states[bpmn_id] = "resumed"
            elif states.get(bpmn_id) != "resumed":
                states[bpmn_id] = "in_progress" if state == TaskState.READY else state
    affected = set(crisis.functions)

    def status(code: str) -> str:
        found = states.get(resume_task_id(code))
        if code in affected:
            return found or "pending"
        return "no_longer_affected" if found == "in_progress" else "not_affected" if found is None else found

    return [{"code": code, "name": name, "label": function_label(code), "affected": code in affected,
             "status": status(code)} for code, name in SUB_FUNCTIONS.items()]


def open_bcp_tasks(session, crisis: Crisis) -> list[dict]:
    if crisis.instance_id is None:
        return []
    assignee = aliased(User)
    rows = session.execute(select(HumanTask, assignee.username)
                           .outerjoin(assignee, assignee.id == HumanTask.assignee_id)
                           .where(HumanTask.instance_id == crisis.instance_id, HumanTask.state == TaskState.READY)
                           .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.priority.desc())).all()
    return [{"id": t.id, "title": t.title, "role": t.role, "assignee": username, "due_at": t.due_at,
             "bpmn_id": t.bpmn_id} for t, username in rows]


def list_checks(session, user_id: int, crisis_id: int, risk_level: str | None = None, remaining: bool = False,
                limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """The crisis checks in fan-out order (rank), with their task's due time and holder."""
    crisis = view_crisis(session, user_id, crisis_id, CASE_LIST_ROLES)
    assignee = aliased(User)
    query = (select(CrisisCaseCheck, assignee.username, HumanTask.due_at, HumanTask.priority)
             .outerjoin(assignee, assignee.id == CrisisCaseCheck.assignee_id)
             .outerjoin(HumanTask, and_(HumanTask.instance_id == CrisisCaseCheck.instance_id,
                                        HumanTask.bpmn_id == "crisis_check"))
             .where(CrisisCaseCheck.crisis_id == crisis.id))
    if risk_level == UNRATED:
        query = query.where(CrisisCaseCheck.risk_level.is_(None))
    elif risk_level:
        query = query.where(CrisisCaseCheck.risk_level == risk_level)
    if remaining:
        query = query.where(CrisisCaseCheck.checked_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(CrisisCaseCheck.rank).limit(limit).offset(offset)).all()
    return [{"case_code": c.case_code, "rank": c.rank, "check_order": c.check_order, "risk_level": c.risk_level,
             "in_crisis": c.in_crisis, "pending_review": c.pending_review, "assignee": username, "backup": c.backup,
             "state": c.state, "due_at": due_at, "checked_at": c.checked_at, "client_reached": c.client_reached,
             "client_safe": c.client_safe, "reassessment_needed": c.reassessment_needed}
            for c, username, due_at, _ in rows], total


def list_follow_ups(session, user_id: int, crisis_id: int, limit: int = 100, offset: int = 0):
    crisis = view_crisis(session, user_id, crisis_id, CASE_LIST_ROLES)
    source, target = aliased(User), aliased(User)
    query = (select(CrisisFollowUp, source.username, target.username, HumanTask.title, HumanTask.state)
             .join(HumanTask, HumanTask.id == CrisisFollowUp.task_id)
             .outerjoin(source, source.id == CrisisFollowUp.from_user_id)
             .outerjoin(target, target.id == CrisisFollowUp.to_user_id)
             .where(CrisisFollowUp.crisis_id == crisis.id))
    total = session.scalar(select(func.count()).where(CrisisFollowUp.crisis_id == crisis.id))
    rows = session.execute(query.order_by(CrisisFollowUp.original_due_at, CrisisFollowUp.id)
                           .limit(limit).offset(offset)).all()
    return [{"task_id": f.task_id, "case_code": f.case_code, "title": title, "task_state": state,
             "action": f.action, "from": from_name, "to": to_name, "original_due_at": f.original_due_at,
             "rescheduled_due_at": f.rescheduled_due_at, "found_at": f.found_at}
            for f, from_name, to_name, title, state in rows], total


def data_validation_report(uow, user_id: int, crisis_id: int, limit: int = 200, offset: int = 0) -> dict:
    """R40: every record created or changed between the declaration and now (or the
    crisis's closure), from the audit trail: totals by kind of record and action, the
    cases touched, and the entries themselves (paged). Commits."""
    session = uow.session
    crisis = view_crisis(session, user_id, crisis_id, CASE_LIST_ROLES)
    until = crisis.closed_at or clock.now()
    window = and_(AuditEvent.at >= crisis.declared_at, AuditEvent.at <= until,
                  AuditEvent.action.not_in(READ_ONLY_ACTIONS), ~AuditEvent.action.like("%viewed"))
    by_kind = session.execute(select(AuditEvent.subject_type, AuditEvent.action, func.count()).where(window)
                              .group_by(AuditEvent.subject_type, AuditEvent.action)
                              .order_by(AuditEvent.subject_type, AuditEvent.action)).all()
    cases = session.scalar(select(func.count(func.distinct(AuditEvent.case_code)))
                           .where(window, AuditEvent.case_code.is_not(None)))
    actor = aliased(User)
    total = session.scalar(select(func.count()).where(window))
    entries = session.execute(select(AuditEvent, actor.username).outerjoin(actor, actor.id == AuditEvent.actor_id)
                              .where(window).order_by(AuditEvent.at, AuditEvent.id).limit(limit).offset(offset)).all()
    uow.audit(user_id, "crisis_data_report_viewed", "crisis", crisis.id)
    uow.commit()
    return {"crisis_id": crisis.id, "from": crisis.declared_at, "until": until, "total": total,
            "cases_touched": cases,
            "by_kind": [{"subject_type": s, "action": a, "count": n} for s, a, n in by_kind],
            "records": [{"at": e.at, "actor": username, "action": e.action, "subject_type": e.subject_type,
                         "subject_id": e.subject_id, "case_code": e.case_code} for e, username in entries]}
