"""Service-task operations of the BCP diagrams (``crisis.*``).

Each one runs inside the engine step that reaches it (same transaction) and returns ids
and flags for the task data. They act on the records of the instance they run in, never on
ids found in the task data (a process started or completed with someone else's ids must
not reach their records): the BCP workflow's crisis through ``crises.instance_id``, a crisis
check's case and crisis through ``crisis_case_checks.instance_id``, a readiness occurrence's
activity through ``readiness_activities.instance_id``. A step a person triggered
(``ctx.actor_id``) is refused (403, nothing written) unless that person is entitled to it:
the BCP's roles for its milestones, the check's assignee, the case's caseworker or
supervisor, the crisis team or a director for a check, the readiness roles for readiness.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.bpmn.operations import OperationContext, operation
from engine.crisis import availability as crisis_availability
from engine.crisis import declaration as crisis
from engine.crisis import follow_ups as crisis_follow_ups
from engine.crisis import readiness as crisis_readiness
from engine.crisis import records as crisis_records
from engine.crisis import sensitive_records
from engine.errors import Invalid, NotFound
from engine.models.crisis import Crisis, CrisisCaseCheck, ReadinessActivity


def _bcp_crisis(ctx: OperationContext, doing: str) -> Crisis:
    """The crisis of the BCP instance this step runs in, for an entitled actor."""
    crisis.require_entitled(ctx.uow.session, ctx.actor_id, crisis.BCP_ACTOR_ROLES, doing)
    return crisis.crisis_of_instance(ctx.uow.session, ctx.instance)


def _check(ctx: OperationContext) -> CrisisCaseCheck:
    """The crisis check this instance carries (its case is the instance's case)."""
    check = ctx.uow.session.scalar(select(CrisisCaseCheck).where(CrisisCaseCheck.instance_id == ctx.instance.id))
    if check is None or check.case_code != ctx.instance.case_code:
        raise NotFound(f"process instance {ctx.instance.id} carries no crisis check "
                       "(checks are started by the crisis fan-out)")
    return check


def _readiness_activity(ctx: OperationContext) -> ReadinessActivity:
    activity = ctx.uow.session.scalar(select(ReadinessActivity).where(
        ReadinessActivity.instance_id == ctx.instance.id))
    if activity is None:
        raise NotFound(f"process instance {ctx.instance.id} is no scheduled readiness occurrence "
                       "(the readiness plan schedules them)")
    return activity


@operation("crisis.open_resumption")
def open_resumption(ctx: OperationContext, task_data: dict, within_hours=None) -> dict:
    """R36: resumption deadline = declaration + within_hours (bcp_parameters)."""
    record = _bcp_crisis(ctx, "open the resumption of a crisis")
    return crisis.open_resumption(ctx.uow, record.id, within_hours)


@operation("crisis.set_communication_lead")
def set_communication_lead(ctx: OperationContext, task_data: dict, username=None) -> dict:
    """R36: the Crisis Communication Lead, an active crisis-team member (else 422)."""
    record = _bcp_crisis(ctx, "name the crisis communication lead")
    return crisis.set_communication_lead(ctx.uow, record.id, username, ctx.actor_id)


@operation("crisis.record_sensitive_records")
def record_sensitive_records(ctx: OperationContext, task_data: dict, records=None, protocol_followed=None) -> dict:
    """R50: what was done with the most sensitive records, each kind the case files hold (else 422)."""
    record = _bcp_crisis(ctx, "record how the most sensitive records were secured")
    return sensitive_records.record_secured(ctx.uow, record, ctx.actor_id, records, protocol_followed)


@operation("crisis.assess_client_impact")
def assess_client_impact(ctx: OperationContext, task_data: dict, stages=None, pending_review_stages=None,
                         check_profiles=None, backup_caseload_cap=None, reassess_within_hours=None,
                         backup_rules=None) -> dict:
    """R37/R38: hand the fan-out of crisis checks and the follow-up search to the task queue."""
    record = _bcp_crisis(ctx, "start the crisis checks")
    errors = {}
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        errors["stages"] = ["a list of case stages"]
    if not isinstance(pending_review_stages, list):
        errors["pending_review_stages"] = ["a list of case stages"]
    if not isinstance(check_profiles, list) or not check_profiles or not all(
            isinstance(p, dict) and {"risk_level", "in_crisis", "pending_review", "check_order",
                                     "check_within_hours"} <= set(p) for p in check_profiles):
        errors["check_profiles"] = ["profiles with risk_level, in_crisis, pending_review, check_order, "
                                    "check_within_hours (bcp_check_priority)"]
    for name, value in (("backup_caseload_cap", backup_caseload_cap), ("reassess_within_hours", reassess_within_hours)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            errors[name] = ["a positive whole number (bcp_parameters)"]
    if not isinstance(backup_rules, list) or not backup_rules or not all(
            isinstance(r, dict) and {"work", "risk_level", "backup"} <= set(r) for r in backup_rules):
        errors["backup_rules"] = ["rules with work, risk_level, backup (bcp_backup_staffing)"]
    if errors:
        raise Invalid("the BCP diagram passed invalid fan-out parameters", errors=errors)
    return crisis.request_client_impact(ctx.uow, record.id, {
        "stages": stages, "pending_review_stages": pending_review_stages, "check_profiles": check_profiles,
        "backup_caseload_cap": backup_caseload_cap, "reassess_within_hours": reassess_within_hours,
        "backup_rules": backup_rules})


@operation("crisis.confirm_resumption")
def confirm_resumption(ctx: OperationContext, task_data: dict) -> dict:
    """Recovery starts (the crisis team confirmed it): staff marked unavailable are back."""
    record = _bcp_crisis(ctx, "confirm the resumption of essential services")
    result = crisis.confirm_resumption(ctx.uow, record.id, ctx.actor_id)
    result["staff_restored"] = crisis_availability.restore_at_recovery(ctx.uow, record, ctx.actor_id)
    return result


@operation("crisis.escalate_resumption")
def escalate_resumption(ctx: OperationContext, task_data: dict) -> dict:
    """R42: the T+24 h boundary timer fired before resumption was confirmed."""
    record = _bcp_crisis(ctx, "escalate the resumption")
    return crisis.escalate_resumption(ctx.uow, record.id)


@operation("crisis.reschedule_delayed_follow_ups")
def reschedule_delayed_follow_ups(ctx: OperationContext, task_data: dict, within_hours=None) -> dict:
    """R40: move the due dates of follow-ups delayed by the disruption (recorded)."""
    record = _bcp_crisis(ctx, "reschedule the follow-ups a crisis delayed")
    return crisis_follow_ups.reschedule_delayed(ctx.uow, record, within_hours)


@operation("crisis.close")
def close(ctx: OperationContext, task_data: dict) -> dict:
    """End of recovery: the crisis is no longer active; the readiness plan runs again."""
    record = _bcp_crisis(ctx, "close a crisis")
    record.lessons_learned = crisis.lessons_text(task_data) or record.lessons_learned
    result = crisis.close_crisis(ctx.uow, record.id, ctx.actor_id)
    crisis_readiness.start_readiness_plan(ctx.uow, ctx.runtime, None)
    return result


@operation("crisis.record_bcp_update")
def record_bcp_update(ctx: OperationContext, task_data: dict) -> dict:
    record = _bcp_crisis(ctx, "record the BCP update")
    return crisis.record_bcp_update(ctx.uow, record.id, ctx.actor_id,
                                    bool(task_data.get("bcp_updated")), str(task_data.get("changes") or ""))


@operation("crisis.record_check")
def record_check(ctx: OperationContext, task_data: dict) -> dict:
    """R39: the crisis check's answers and the case's crisis notes."""
    return crisis_records.record_check(ctx.uow, _check(ctx), ctx.actor_id, task_data)


@operation("crisis.record_reassessment")
def record_reassessment(ctx: OperationContext, task_data: dict) -> dict:
    return crisis_records.record_reassessment(ctx.uow, _check(ctx), ctx.actor_id, task_data)


@operation("crisis.schedule_readiness")
def schedule_readiness(ctx: OperationContext, task_data: dict, activities=None) -> dict:
    """R41: one waiting occurrence per readiness activity."""
    crisis.require_entitled(ctx.uow.session, ctx.actor_id, crisis_readiness.MANAGE_ROLES,
                            "schedule the readiness programme")
    return crisis_readiness.schedule_activities(ctx.uow, ctx.runtime, activities, ctx.actor_id)


@operation("crisis.complete_readiness_activity")
def complete_readiness_activity(ctx: OperationContext, task_data: dict) -> dict:
    """R41: the occurrence this instance carries is done; the next one is scheduled."""
    crisis.require_entitled(ctx.uow.session, ctx.actor_id, crisis_readiness.MANAGE_ROLES,
                            "record a readiness activity")
    activity = _readiness_activity(ctx)
    return crisis_readiness.complete_activity(ctx.uow, ctx.runtime, activity.activity, ctx.actor_id, task_data)
