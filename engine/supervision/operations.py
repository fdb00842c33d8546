"""``supervision.*`` operations of the supervision diagrams (R30).

Each works on what its instance carries — the schedule row whose waiting occurrence this
is (``supervision_duties.instance_id``), the occurrence's record
(``supervision_records.instance_id``), the sampled file's finding
(``file_audit_findings.instance_id``) — never on ids from the task data, and refuses a
person not entitled: a duty is its supervisor's, or of someone standing in for them (a
supervisor above them, a director: R49).
"""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.case.operations.intake import case_of, finish
from engine.case.records import record_event, take_text
from engine.errors import Forbidden, NotFound
from engine.models import Case
from engine.models.supervision import FileAuditFinding, SupervisionDuty, SupervisionDutyKind, SupervisionRecord
from engine.people.directory import get_user, supervisee_ids, usernames
from engine.process import instances
from engine.supervision import file_audit, schedule

FILE_AUDIT_PROCESS = "supervision_file_audit"
OUTCOME_FIELD = {"caseload_review": "caseload_manageable"}
TEXT_FIELDS = ("topics", "agreed_actions", "actions", "decisions", "training_needs")


def may_act_for(session, actor_id: int | None, supervisor_id: int) -> bool:
    """The supervisor, a supervisor above them or a director (the engine's own steps too)."""
    if actor_id is None or actor_id == supervisor_id:
        return True
    actor = get_user(session, actor_id)
    return "director" in actor.roles or supervisor_id in supervisee_ids(session, actor.id)


def _require(ctx: OperationContext, supervisor_id: int) -> None:
    if not may_act_for(ctx.uow.session, ctx.actor_id, supervisor_id):
        raise Forbidden("this supervision duty is its supervisor's (or the one standing in for them)")


@operation("supervision.schedule")
def schedule_all(ctx: OperationContext, data: dict, cadence) -> dict:
    """The plan's step: every duty of every supervisor gets one waiting occurrence."""
    if ctx.actor_id is not None and not get_user(ctx.uow.session, ctx.actor_id).has_role(*schedule.SCHEDULE_ROLES):
        raise Forbidden("only supervisors, the director and administrators schedule supervision")
    return schedule.schedule_duties(ctx.uow, ctx.runtime, cadence, ctx.actor_id)


@operation("supervision.open_occurrence")
def open_occurrence(ctx: OperationContext, data: dict) -> dict:
    """The occurrence's time has come: record it, schedule the next one at once, and for a
    file audit draw the files and give each its own short instance."""
    session = ctx.uow.session
    row = session.scalar(select(SupervisionDuty).where(SupervisionDuty.instance_id == ctx.instance.id))
    if row is None:
        raise NotFound(f"process instance {ctx.instance.id} is no scheduled supervision occurrence")
    _require(ctx, row.supervisor_id)
    cadence = json.loads(row.cadence_json or "{}")
    now = clock.now()
    record = SupervisionRecord(duty=row.duty, supervisor_id=row.supervisor_id, caseworker_id=row.caseworker_id,
                               period=now.date().isoformat(), instance_id=ctx.instance.id, opened_at=now,
                               due_at=now + dt.timedelta(days=int(cadence.get("due_within_days", 0))))
    session.add(record)
    session.flush()
    schedule.start_occurrence(ctx.uow, ctx.runtime, row, ctx.actor_id)
    drawn: list[str] = []
    if row.duty == SupervisionDutyKind.FILE_AUDIT:
        drawn = _draw_files(ctx, record, cadence)
    ctx.uow.audit(ctx.actor_id, "supervision_opened", "supervision", record.id, duty=row.duty, period=record.period,
                  files=drawn)
    return {"record_id": record.id, "files": len(drawn)}


def _draw_files(ctx: OperationContext, record: SupervisionRecord, cadence: dict) -> list[str]:
    session = ctx.uow.session
    caseworker_id = record.caseworker_id
    if caseworker_id is None:  # a file audit is always of one caseworker's files
        return []
    names = usernames(session, [record.supervisor_id, caseworker_id])
    caseworker = names.get(caseworker_id, "")
    codes = file_audit.active_case_codes(session, caseworker_id)
    drawn = file_audit.sample_files(codes, caseworker, record.period, int(cadence.get("files_min", 0)),
                                    int(cadence.get("files_max", 0)))
    record.sample_seed = file_audit.sample_seed(caseworker, record.period)
    record.sampled_json = json.dumps(drawn)
    for code in drawn:
        instance = instances.start_process(ctx.uow, ctx.runtime, FILE_AUDIT_PROCESS, ctx.actor_id, {
            "auditor": names.get(record.supervisor_id), "due_within_days": cadence.get("due_within_days", 0)},
            case_code=code, parent_instance_id=ctx.instance.id)
        case_id = session.scalar(select(Case.id).where(Case.code == code))
        session.add(FileAuditFinding(record_id=record.id, case_id=case_id, instance_id=instance.id))
    return drawn


def _record(ctx: OperationContext) -> SupervisionRecord:
    record = ctx.uow.session.scalar(select(SupervisionRecord).where(SupervisionRecord.instance_id == ctx.instance.id))
    if record is None:
        raise NotFound(f"process instance {ctx.instance.id} carries no supervision occurrence")
    return record


def _done(ctx: OperationContext, record: SupervisionRecord) -> None:
    record.done_at, record.done_by = clock.now(), ctx.actor_id
    row = ctx.uow.session.scalar(select(SupervisionDuty).where(SupervisionDuty.key == schedule.duty_key(
        record.duty, record.supervisor_id, record.caseworker_id)))
    if row is not None:
        row.last_done_at = record.done_at


@operation("supervision.record_occurrence")
def record_occurrence(ctx: OperationContext, data: dict) -> dict:
    """A supervision session, caseload review or case-management meeting, as it went."""
    record = _record(ctx)
    _require(ctx, record.supervisor_id)
    field = OUTCOME_FIELD.get(record.duty)
    outcome = data.get(field) if field else ("held" if data.get("held") else "not_held")
    texts = take_text(data, *TEXT_FIELDS)
    record.outcome = str(outcome or "")[:40]
    record.notes = "\n\n".join(f"{name}: {value}" for name, value in texts.items())
    _done(ctx, record)
    ctx.uow.audit(ctx.actor_id, "supervision_recorded", "supervision", record.id, duty=record.duty,
                  outcome=record.outcome)
    return {"recorded": True, "outcome": record.outcome}


@operation("supervision.record_file_finding")
def record_file_finding(ctx: OperationContext, data: dict) -> dict:
    """The findings on one audited file; the audit is done when every drawn file is."""
    case = case_of(ctx)
    session = ctx.uow.session
    finding = session.scalar(select(FileAuditFinding).where(FileAuditFinding.instance_id == ctx.instance.id))
    if finding is None or finding.case_id != case.id:
        raise NotFound(f"process instance {ctx.instance.id} carries no file of a file audit")
    record = session.get(SupervisionRecord, finding.record_id)
    _require(ctx, record.supervisor_id)
    texts = take_text(data, "findings")
    finding.forms_complete = bool(data.get("forms_complete"))
    finding.services_as_documented = bool(data.get("services_as_documented"))
    finding.findings, finding.done_at, finding.done_by = texts.get("findings", ""), clock.now(), ctx.actor_id
    session.flush()
    record_event(ctx.uow, case, ctx.actor_id, "form", "file audited by the supervisor", form="supervision_file_audit",
                 forms_complete=finding.forms_complete, services_as_documented=finding.services_as_documented)
    open_left = session.scalar(select(FileAuditFinding.id).where(FileAuditFinding.record_id == record.id,
                                                                 FileAuditFinding.done_at.is_(None)).limit(1))
    if open_left is None:
        record.outcome = "audited"
        _done(ctx, record)
        ctx.uow.audit(ctx.actor_id, "file_audit_completed", "supervision", record.id)
    return finish(ctx, case, data, audit_complete=open_left is None)
