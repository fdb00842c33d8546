"""Follow-ups due or missed during a disruption (R38), and their rescheduling in
recovery (R40).

A follow-up is a ready human task, with a due time, of an open case the disruption
affects (one with a crisis check), outside the BCP's own processes. During resumption
every one due by the resumption deadline (or already overdue) is found and recorded:

- held by someone available: kept;
- a caseworker's task whose holder is unavailable, or nobody's: given to the person
  doing the case's crisis check (its caseworker, or backup staff) — reassigned;
- another role's task (a supervisor's approval...) held by someone unavailable: handed
  back to that role, so any available member can claim it — released.

Who gets a follow-up whose holder is unavailable is the ``bcp_backup_staffing`` rule for
its kind of work and the case's risk level (``engine.crisis.staffing``).

In recovery the same search runs again up to now, and every recorded follow-up still
open and overdue gets a new due time ``within_hours`` (bcp_parameters) ahead; the old
and new due times stay on the record.

In a drill the same follow-ups are found and what would happen to each is recorded, but
no live task changes hands or due time and nobody is notified.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from engine import clock
from engine.crisis import labels
from engine.crisis.availability import absent_in_drill
from engine.crisis.declaration import CHECK_PROCESS, add_system_entry
from engine.crisis.staffing import StaffPool, backup_for, backup_rules
from engine.errors import Invalid
from engine.models import Case, CaseStatus, HumanTask, TaskState
from engine.models.crisis import Crisis, CrisisCaseCheck, CrisisFollowUp
from engine.service_ops import notifications
from engine.service_ops.translations import N_, words

ACTIONS = ("kept", "reassigned", "released")


@dataclass
class FollowUpSummary:
    by_action: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    recipients: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {"found": sum(self.by_action.values()), **self.by_action}

    def describe(self) -> str:
        c = self.counts()
        return (f"{c['found']} found, {c['reassigned']} reassigned to available staff, {c['released']} handed back "
                f"to their role, {c['kept']} kept by available staff")


def find_and_reassign(uow, crisis: Crisis, pool: StaffPool, until: dt.datetime,
                      phase: str = "resumption") -> FollowUpSummary:
    """Record (once per crisis and task) and reassign the follow-ups of the affected
    cases due by ``until``."""
    session = uow.session
    seen = select(CrisisFollowUp.task_id).where(CrisisFollowUp.crisis_id == crisis.id)
    rules = backup_rules(json.loads(crisis.impact_parameters or "{}"))
    found = session.execute(
        select(HumanTask, Case.caseworker_id, Case.supervisor_id, CrisisCaseCheck.assignee_id, Case.risk_level)
        .join(Case, Case.code == HumanTask.case_code)
        .join(CrisisCaseCheck, (CrisisCaseCheck.case_id == Case.id) & (CrisisCaseCheck.crisis_id == crisis.id))
        .where(HumanTask.state == TaskState.READY, HumanTask.due_at.is_not(None), HumanTask.due_at <= until,
               HumanTask.process_id != CHECK_PROCESS, Case.status == CaseStatus.OPEN, HumanTask.id.not_in(seen))
        .order_by(HumanTask.due_at, HumanTask.id)).all()
    summary = FollowUpSummary()
    now = clock.now()
    for task, caseworker_id, supervisor_id, check_assignee, risk in found:
        holder = task.assignee_id
        work = "follow_up" if task.role in (None, "caseworker") else "other"
        action, target = _decide(pool, backup_for(rules, work, risk), work, holder, caseworker_id, supervisor_id,
                                 check_assignee)
        session.add(CrisisFollowUp(crisis_id=crisis.id, task_id=task.id, case_code=task.case_code,
                                   original_due_at=task.due_at, found_at=now, action=action,
                                   from_user_id=holder, to_user_id=target if action == "reassigned" else None))
        summary.by_action[action] += 1
        if action == "kept" or crisis.drill:  # a drill records what would happen, and changes no live task
            continue
        task.assignee_id = target
        if target is not None:
            summary.recipients.add(target)
        uow.audit(None, "follow_up_reassigned" if action == "reassigned" else "follow_up_released", "human_task",
                  task.id, task.case_code, crisis_id=crisis.id, from_user_id=holder, to_user_id=target)
    notifications.notify(uow, summary.recipients, "crisis_follow_ups",
                         words(N_("Follow-ups given to you during the disruption (#%(id)s)"), id=crisis.id),
                         body=words(N_("Follow-ups of clients whose caseworker is unavailable are now in your inbox.")),
                         link="/", dedupe_key=f"crisis_follow_ups:{crisis.id}:{phase}")
    return summary


def _decide(pool: StaffPool, backup: str, work: str, holder, caseworker_id, supervisor_id, check_assignee):
    """What happens to one follow-up: kept by its available holder; else to the backup the
    rule names (for a caseworker's follow-up, whoever does the case's crisis check when
    the rule says a colleague); else back to its role."""
    if holder is not None and pool.is_available(holder):
        return "kept", holder
    target = None
    if backup == "colleague" and work == "follow_up" and pool.is_available(check_assignee):
        target = check_assignee
    elif backup != "role":
        target = pool.assign(caseworker_id if work == "follow_up" else None, supervisor_id, backup).user_id
    if target is not None:
        return "reassigned", target
    return ("released", None) if holder is not None else ("kept", None)


def reschedule_delayed(uow, crisis: Crisis, within_hours) -> dict:
    """R40: find follow-ups missed since resumption, then move every recorded follow-up
    still open and overdue to ``within_hours`` from now, keeping the old due time."""
    if isinstance(within_hours, bool) or not isinstance(within_hours, (int, float)) or within_hours <= 0:
        raise Invalid(f"reschedule_within_hours must be a positive number of hours, not {within_hours!r}")
    session = uow.session
    now = clock.now()
    params = json.loads(crisis.impact_parameters or "{}")
    pool = StaffPool(session, int(params.get("backup_caseload_cap", 0)), absent_in_drill(session, crisis))
    found = find_and_reassign(uow, crisis, pool, until=now, phase="recovery")
    new_due = now + dt.timedelta(hours=within_hours)
    delayed = session.execute(select(CrisisFollowUp, HumanTask).join(HumanTask, HumanTask.id == CrisisFollowUp.task_id)
                              .where(CrisisFollowUp.crisis_id == crisis.id, HumanTask.state == TaskState.READY,
                                     HumanTask.due_at < now)).all()
    holders = set()
    for follow_up, task in delayed:
        if not crisis.drill:
            uow.audit(None, "follow_up_rescheduled", "human_task", task.id, task.case_code, crisis_id=crisis.id,
                      from_due_at=task.due_at, to_due_at=new_due)
        follow_up.rescheduled_due_at, follow_up.rescheduled_at = new_due, now
        if crisis.drill:
            continue  # recorded, not done: a drill moves no live due time
        task.due_at = new_due
        if task.assignee_id:
            holders.add(task.assignee_id)
    due_text = labels.when_text(new_due)
    notifications.notify(uow, holders, "crisis_follow_ups",
                         words(N_("Delayed follow-ups rescheduled (disruption #%(id)s)"), id=crisis.id),
                         body=words(N_("Follow-ups delayed by the disruption are now due %(when)s."), when=due_text),
                         link="/", dedupe_key=f"crisis_rescheduled:{crisis.id}")
    moved = labels.count(len(delayed), "delayed follow-up")
    add_system_entry(session, crisis.id, "action", f"Recovery: {moved} rescheduled to "
                     f"{due_text}; follow-ups missed since resumption: {found.describe()}.")
    return {"rescheduled": len(delayed), "new_due_at": new_due.isoformat(), "found": found.counts()}
