"""Pre-crisis readiness (R41): recurring BCP review, drills, backup restore tests,
contact-list reviews... as short separate instances, never one long loop.

``start_readiness_plan`` starts ``bcp_readiness_plan``, which reads the activities and
their intervals from the ``bcp_readiness_schedule`` decision and calls
``schedule_activities`` (operation ``crisis.schedule_readiness``): every activity without
a waiting occurrence gets one ``bcp_readiness_activity`` instance, which waits its
interval and then offers the activity's task. Completing it (``complete_activity``,
operation ``crisis.complete_readiness_activity``) records the outcome and runs the plan
again, so the next occurrence is scheduled with the interval in force at that time, and
an activity removed from the table is not scheduled again.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from engine import clock
from engine.bpmn import engine_step
from engine.bpmn.runtime import ProcessRuntime
from engine.crisis.declaration import require_role
from engine.errors import Invalid
from engine.models import HumanTask, InstanceStatus, ProcessInstance, TaskState, Timer, TimerState
from engine.models.crisis import ReadinessActivity
from engine.process import instances
from engine.process.deployment import latest_model
from engine.service_ops import backup_records

log = logging.getLogger(__name__)

PLAN_PROCESS = "bcp_readiness_plan"
ACTIVITY_PROCESS = "bcp_readiness_activity"
BACKUP_RESTORE_TEST = "backup_restore_test"  # its outcome keeps the last restore check (webui.cli restore --verify)
MANAGE_ROLES = ("crisis_team", "process_owner")
VIEW_ROLES = ("crisis_team", "process_owner", "director", "admin")


def schedule_readiness(uow, runtime: ProcessRuntime, user_id: int) -> dict:
    """A crisis-team member or process owner runs the readiness plan; returns what it
    scheduled. Commits."""
    require_role(uow.session, user_id, MANAGE_ROLES, "schedule the readiness programme")
    scheduled = start_readiness_plan(uow, runtime, user_id)
    uow.commit()
    return scheduled


def start_readiness_plan(uow, runtime: ProcessRuntime, actor_id: int | None) -> dict:
    """Run the readiness plan (a person asks, a crisis closes, an occurrence is done);
    returns what it scheduled. A building block: the calling use case commits."""
    step = engine_step.start(uow, runtime, latest_model(uow.session, PLAN_PROCESS), actor_id, {})
    return dict(step.last_data.get("scheduled") or {})


def schedule_activities(uow, runtime: ProcessRuntime, activities, actor_id: int | None) -> dict:
    """Give every listed activity one waiting occurrence (those that have one keep it,
    with the interval updated for the occurrences after it)."""
    if not isinstance(activities, list) or not all(
            isinstance(a, dict) and isinstance(a.get("activity"), str) and isinstance(a.get("every_days"), int)
            and not isinstance(a.get("every_days"), bool) and a["every_days"] > 0 for a in activities):
        raise Invalid("bcp_readiness_schedule must give each activity a name and a positive every_days")
    session = uow.session
    scheduled, kept = [], []
    for item in activities:
        row = session.get(ReadinessActivity, item["activity"], with_for_update=True)
        if row is None:
            row = ReadinessActivity(activity=item["activity"], every_days=item["every_days"], last_outcome="")
            session.add(row)
        row.every_days = item["every_days"]
        if row.instance_id is not None and _running(session, row.instance_id):
            kept.append(row.activity)
            continue
        instance = instances.start_process(uow, runtime, ACTIVITY_PROCESS, actor_id,
                                           {"activity": row.activity, "every_days": row.every_days})
        row.instance_id = instance.id
        row.next_due_at = session.scalar(select(Timer.due_at).where(Timer.instance_id == instance.id,
                                                                    Timer.state == TimerState.PENDING))
        scheduled.append(row.activity)
    session.flush()
    if scheduled:
        uow.audit(actor_id, "readiness_scheduled", "readiness", "bcp_cbf5", activities=scheduled)
    return {"scheduled": scheduled, "kept": kept}


def _running(session, instance_id: int) -> bool:
    status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == instance_id))
    return status == InstanceStatus.RUNNING


def complete_activity(uow, runtime: ProcessRuntime, activity: str, actor_id: int | None, answers: dict) -> dict:
    """Record one occurrence done, then run the plan for the next occurrence."""
    session = uow.session
    row = session.get(ReadinessActivity, activity, with_for_update=True)
    if row is None:
        raise Invalid(f"readiness activity {activity!r} is not scheduled")
    row.last_completed_at, row.last_completed_by = clock.now(), actor_id
    row.last_outcome = "\n".join(part for part in ((answers.get("findings") or "").strip(),
                                                   (answers.get("actions_needed") or "").strip()) if part)
    if activity == BACKUP_RESTORE_TEST:
        row.last_outcome = _with_restore_check(session, row.last_outcome)
    row.instance_id, row.next_due_at = None, None
    uow.audit(actor_id, "readiness_completed", "readiness", activity)
    start_readiness_plan(uow, runtime, None)
    return {"recorded": activity}


def _with_restore_check(session, outcome: str) -> str:
    """The backup restore test keeps the last real restore check with what people wrote
    (once: findings prefilled from it are not repeated)."""
    last = backup_records.last_check(session)
    if last is None or last.sentence() in outcome:
        return outcome
    return "\n".join(part for part in (outcome, last.sentence()) if part)


def list_activities(session, user_id: int) -> list[dict]:
    """Each activity: interval, last done, next occurrence (its timer, or its open task)."""
    require_role(session, user_id, VIEW_ROLES, "see the readiness programme")
    rows = list(session.scalars(select(ReadinessActivity).order_by(ReadinessActivity.activity)))
    waiting = [r.instance_id for r in rows if r.instance_id]
    open_tasks = dict(session.execute(select(HumanTask.instance_id, HumanTask.due_at).where(
        HumanTask.instance_id.in_(waiting), HumanTask.state == TaskState.READY)).all())
    return [{"activity": r.activity, "every_days": r.every_days, "next_due_at": r.next_due_at,
             "task_open": r.instance_id in open_tasks, "task_due_at": open_tasks.get(r.instance_id),
             "last_completed_at": r.last_completed_at, "last_outcome": r.last_outcome} for r in rows]
