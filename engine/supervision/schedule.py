"""The supervision schedule (R30): every recurring duty of every supervisor as a chain of
short ``supervision_duty`` instances, never one long loop (ENGINE-NOTES).

``schedule_supervision`` (a supervisor, the director or an administrator asks) runs the
``supervision_plan`` diagram, which reads each duty's cadence from DMN
``supervision_cadence`` and calls :func:`schedule_duties` (operation
``supervision.schedule``): every supervisor gets one waiting occurrence per duty — per
caseworker they supervise for supervision sessions, caseload reviews and file audits, per
team for the case-management meeting. Those that have one keep it (with the cadence
updated for the occurrences after it); a duty whose supervisor no longer supervises that
caseworker is cancelled. An occurrence, when its time comes, starts the next one at once
(:func:`start_occurrence`) so the cadence holds however late a task is done.
"""
from __future__ import annotations

import json

from sqlalchemy import select

from engine.bpmn import engine_step
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import Forbidden, Invalid
from engine.models import InstanceStatus, ProcessInstance, Supervision, Timer, TimerState, User
from engine.models.supervision import PER_CASEWORKER_DUTIES, SupervisionDuty, SupervisionDutyKind
from engine.people.directory import get_user, usernames
from engine.process import instances
from engine.process.deployment import latest_model

PLAN_PROCESS = "supervision_plan"
DUTY_PROCESS = "supervision_duty"
SCHEDULE_ROLES = ("supervisor", "director", "admin")
CADENCE_FIELDS = ("every_days", "due_within_days", "files_min", "files_max")


def schedule_supervision(uow, runtime: ProcessRuntime, user_id: int) -> dict:
    """Run the supervision plan; returns what it scheduled, kept and cancelled. Commits."""
    user = get_user(uow.session, user_id)
    if not user.has_role(*SCHEDULE_ROLES):
        raise Forbidden("only supervisors, the director and administrators schedule supervision")
    scheduled = start_supervision_plan(uow, runtime, user.id)
    uow.commit()
    return scheduled


def start_supervision_plan(uow, runtime: ProcessRuntime, actor_id: int | None) -> dict:
    """Run the plan. A building block: the calling use case commits."""
    step = engine_step.start(uow, runtime, latest_model(uow.session, PLAN_PROCESS), actor_id, {})
    return dict(step.last_data.get("scheduled") or {})


def _checked(cadence) -> dict[str, dict]:
    if not isinstance(cadence, list):
        raise Invalid("supervision_cadence must give each duty its cadence")
    found = {}
    for item in cadence:
        ok = isinstance(item, dict) and item.get("duty") in SupervisionDutyKind.values() and all(
            isinstance(item.get(k), int) and not isinstance(item.get(k), bool) and item[k] >= 0 for k in CADENCE_FIELDS)
        if not ok or item["every_days"] <= 0 or item["files_min"] > item["files_max"]:
            raise Invalid(f"supervision_cadence gives {item!r}: each duty needs a positive every_days and whole "
                          "numbers of days and files")
        found[item["duty"]] = {k: item[k] for k in CADENCE_FIELDS}
    return found


def _targets(session) -> list[tuple[int, int | None]]:
    """(supervisor, caseworker) of every active supervisor and active caseworker they supervise."""
    rows = session.execute(select(Supervision.supervisor_id, Supervision.supervisee_id)).all()
    users = {u.id: u for u in session.scalars(select(User).where(User.active.is_(True)))}
    return [(sup, cw) for sup, cw in sorted(rows) if sup in users and cw in users and "caseworker" in users[cw].roles
            and users[sup].has_role("supervisor", "director")]


def duty_key(duty: str, supervisor_id: int, caseworker_id: int | None) -> str:
    return f"{duty}:{supervisor_id}:{caseworker_id if caseworker_id is not None else '-'}"


def schedule_duties(uow, runtime: ProcessRuntime, cadence, actor_id: int | None) -> dict:
    """Give every duty of every supervisor one waiting occurrence (see the module docstring)."""
    session = uow.session
    cadences = _checked(cadence)
    pairs = _targets(session)
    wanted: dict[str, tuple[str, int, int | None]] = {}
    for duty in cadences:
        if duty in PER_CASEWORKER_DUTIES:
            for sup, cw in pairs:
                wanted[duty_key(duty, sup, cw)] = (duty, sup, cw)
        else:
            for sup in sorted({sup for sup, _ in pairs}):
                wanted[duty_key(duty, sup, None)] = (duty, sup, None)
    scheduled, kept, cancelled = [], [], []
    rows = {r.key: r for r in session.scalars(select(SupervisionDuty).with_for_update())}
    for key, row in rows.items():
        if key not in wanted:
            if row.instance_id is not None:
                instance = session.get(ProcessInstance, row.instance_id)
                if instance is not None and instance.status == InstanceStatus.RUNNING:
                    instances.cancel_instance(uow, instance, actor_id, "no longer a supervision duty")
            session.delete(row)
            cancelled.append(key)
    for key, (duty, sup, cw) in sorted(wanted.items()):
        row = rows.get(key)
        if row is None:
            row = SupervisionDuty(key=key, duty=duty, supervisor_id=sup, caseworker_id=cw, every_days=0)
            session.add(row)
        row.every_days = cadences[duty]["every_days"]
        row.cadence_json = json.dumps(cadences[duty], sort_keys=True)
        if row.instance_id is not None and _running(session, row.instance_id):
            kept.append(key)
            continue
        start_occurrence(uow, runtime, row, actor_id)
        scheduled.append(key)
    session.flush()
    if scheduled or cancelled:
        uow.audit(actor_id, "supervision_scheduled", "supervision", "plan", scheduled=scheduled, cancelled=cancelled)
    return {"scheduled": scheduled, "kept": kept, "cancelled": cancelled}


def _running(session, instance_id: int) -> bool:
    return session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == instance_id)) \
        == InstanceStatus.RUNNING


def start_occurrence(uow, runtime: ProcessRuntime, row: SupervisionDuty, actor_id: int | None) -> ProcessInstance:
    """The next occurrence of ``row``'s duty: a short instance waiting ``every_days``."""
    session = uow.session
    names = usernames(session, [row.supervisor_id, row.caseworker_id])
    data = {"duty": row.duty, **json.loads(row.cadence_json or "{}"), "every_days": row.every_days,
            "supervisor": names.get(row.supervisor_id), "caseworker": names.get(row.caseworker_id)
            if row.caseworker_id else None}
    instance = instances.start_process(uow, runtime, DUTY_PROCESS, actor_id, data)
    row.instance_id = instance.id
    row.next_due_at = session.scalar(select(Timer.due_at).where(Timer.instance_id == instance.id,
                                                                Timer.state == TimerState.PENDING))
    return instance
