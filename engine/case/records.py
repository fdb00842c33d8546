"""Reading and writing one case's records: the helpers every case service and every
``case.*`` operation shares.

Each change goes through :func:`record_event`, which writes a ``case_events`` row carrying
the R33 header (date, case status, caseworker, supervisor, form name) and an audit row,
so the case file's timeline and the audit trail never disagree.

The *case context* (:func:`publish_context`) is what a diagram may know of a case: its
code, status, risk level, the usernames of its caseworker and supervisor, the hours
since the current assessment clock started (registration, reopening or a reassessment)
and since the case plan's clock started (the completed assessment: R17), and two
monitoring flags since the current rating (R44, R45): whether the first action (high:
the immediate action) and the mitigation of imminent risks are recorded.
Operations write it into the task data after every step, so the next user task's
``assign_to``, ``priority`` and ``due`` properties always read the current record.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets

from sqlalchemy import func, select

from engine import clock
from engine.errors import Conflict, NotFound
from engine.models import UNRATED, Case, CaseEvent, CaseStatus
from engine.models.case import ACTIVE_STATUSES, STATUS_NAMES
from engine.people.directory import username
from engine.service_ops.translations import N_

CODE_PREFIX = "CM"
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud without mistakes
CLOCK_VARIABLE = "clock_started_at"
PLAN_CLOCK_VARIABLE = "plan_clock_started_at"  # the case plan's deadline counts from here (R17)


def new_case_code(session) -> str:
    """A case code that says nothing about the person (R05): random, checked unique."""
    while True:
        body = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        code = f"{CODE_PREFIX}-{body[:4]}-{body[4:]}"
        if session.scalar(select(Case.id).where(Case.code == code)) is None:
            return code


def load_case(session, case_code: str | None) -> Case:
    case = session.scalar(select(Case).where(Case.code == case_code)) if case_code else None
    if case is None:
        raise NotFound(N_("no case %(code)s") % {"code": case_code})
    return case


def active_caseload(session, caseworker_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Case).where(
        Case.caseworker_id == caseworker_id, Case.status.in_(ACTIVE_STATUSES))) or 0


def ensure_not_closed(case: Case, action: str) -> None:
    if case.status == CaseStatus.CLOSED:
        raise Conflict(N_("case %(code)s is closed: %(action)s is not possible (reopen it first)")
                       % {"code": case.code, "action": action})


# -- the case context a diagram sees -----------------------------------------------------
def context(session, case: Case, task_data: dict | None = None) -> dict:
    return {
        "case_code": case.code,
        "case_status": case.status,
        "risk_level": case.risk_level or UNRATED,
        "caseworker": username(session, case.caseworker_id),
        "supervisor": username(session, case.supervisor_id),
        "hours_since_clock": _hours_since(task_data or {}, CLOCK_VARIABLE),
        "hours_since_plan_clock": _hours_since(task_data or {}, PLAN_CLOCK_VARIABLE),
        "immediate_action_recorded": case.date_first_action is not None,
        "risks_mitigated": case.date_risks_mitigated is not None,
    }


def publish_context(session, case: Case, task_data: dict) -> dict:
    """Write the case context into ``task_data`` (and return it)."""
    values = context(session, case, task_data)
    task_data.update(values)
    return values


def start_clock(task_data: dict, at: dt.datetime | None, variable: str = CLOCK_VARIABLE) -> None:
    """Deadlines counted "from registration" (R07, R15) count from ``at`` from now on; with
    ``variable=PLAN_CLOCK_VARIABLE``, the case plan's (R17: from the completed assessment)."""
    if at is not None:
        task_data[variable] = clock.as_utc(at).isoformat()


def _hours_since(task_data: dict, variable: str) -> float:
    started = _clock_start(task_data, variable)
    hours = (clock.now() - started).total_seconds() / 3600 if started else 0.0
    return round(max(hours, 0.0), 4)


def _clock_start(task_data: dict, variable: str) -> dt.datetime | None:
    value = task_data.get(variable)
    if not isinstance(value, str):
        return None
    try:
        return clock.as_utc(dt.datetime.fromisoformat(value))
    except ValueError:
        return None


def take_text(task_data: dict, *names: str) -> dict[str, str]:
    """Move free-text answers out of the workflow data (they belong in the case file)."""
    found = {}
    for name in names:
        value = task_data.pop(name, None)
        if value not in (None, ""):
            found[name] = value if isinstance(value, str) else json.dumps(value)
    return found


# -- history ------------------------------------------------------------------------------
def record_event(uow, case: Case, actor_id: int | None, kind: str, summary: str,
                 form: str | None = None, **detail) -> None:
    """One line of the case's timeline, with the R33 header, and its audit row."""
    now = clock.now()
    case.updated_at = now
    uow.session.add(CaseEvent(case_id=case.id, at=now, actor_id=actor_id, kind=kind, summary=summary,
                              form=form, case_status=case.status, caseworker_id=case.caseworker_id,
                              supervisor_id=case.supervisor_id,
                              detail_json=json.dumps(detail, default=str, sort_keys=True)))
    uow.audit(actor_id, f"case_{kind}", "case", case.id, case.code, summary=summary, form=form, detail=detail)


def set_status(uow, case: Case, actor_id: int | None, status: str, why: str) -> None:
    if case.status == status:
        return
    before = case.status
    case.status = status
    record_event(uow, case, actor_id, "status", f"status {STATUS_NAMES[before]} → {STATUS_NAMES[status]}: {why}",
                 before=before, after=status)


def set_stage(uow, case: Case, actor_id: int | None, stage: str) -> None:
    if case.stage == stage:
        return
    before = case.stage
    case.stage = stage
    record_event(uow, case, actor_id, "stage", f"stage {before} → {stage}", before=before, after=stage)


def flag_urgent(uow, case: Case, actor_id: int | None, reason: str) -> None:
    """R46: a first action or follow-up was not done in time; the case is urgent (ranked
    first in inboxes, dashboards and a crisis) until that work is done."""
    now = clock.now()
    reasons = [r for r in (case.urgent_reason or "").split("; ") if r]
    if reason not in reasons:
        reasons.append(reason)
    first = case.urgent_since is None
    case.urgent_since = case.urgent_since or now
    case.urgent_reason = "; ".join(reasons)[:200]
    record_event(uow, case, actor_id, "urgent", f"case urgent: {reason}" if first else f"still urgent: {reason}",
                 reason=reason)


def clear_urgent(uow, case: Case, actor_id: int | None, why: str) -> None:
    if case.urgent_since is None:
        return
    since = case.urgent_since
    case.urgent_since, case.urgent_reason = None, None
    record_event(uow, case, actor_id, "urgent", f"no longer urgent: {why}", urgent_since=since)


def set_risk(uow, case: Case, actor_id: int | None, level: str, why: str, **detail) -> None:
    before = case.risk_level
    case.risk_level = level
    if before != level:
        record_event(uow, case, actor_id, "risk", f"risk level {before or 'unrated'} → {level}: {why}",
                     before=before, after=level, **detail)
