"""Service-task operations of the BCP diagrams (``crisis.*``).

Each one runs inside the engine step that reaches it (same transaction) and returns ids
and flags for the task data. They find their crisis through ``crisis_id`` and their case
through ``case_code`` in the task data, which the declaration and the fan-out put there.
"""
from __future__ import annotations

from engine.bpmn.operations import OperationContext, operation
from engine.crisis import declaration as crisis
from engine.crisis import follow_ups as crisis_follow_ups
from engine.crisis import readiness as crisis_readiness
from engine.crisis import records as crisis_records
from engine.errors import Invalid


def _crisis_id(task_data: dict) -> int:
    value = task_data.get("crisis_id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("this step needs crisis_id in the task data (start the BCP through POST /api/crises)")
    return value


def _case_code(task_data: dict) -> str:
    value = task_data.get("case_code")
    if not isinstance(value, str) or not value:
        raise Invalid("this step needs case_code in the task data")
    return value


@operation("crisis.open_resumption")
def open_resumption(ctx: OperationContext, task_data: dict, within_hours=None) -> dict:
    """R36: resumption deadline = declaration + within_hours (bcp_parameters)."""
    return crisis.open_resumption(ctx.uow, _crisis_id(task_data), within_hours)


@operation("crisis.set_communication_lead")
def set_communication_lead(ctx: OperationContext, task_data: dict, username=None) -> dict:
    """R36: the Crisis Communication Lead, an active crisis-team member (else 422)."""
    return crisis.set_communication_lead(ctx.uow, _crisis_id(task_data), username, ctx.actor_id)


@operation("crisis.assess_client_impact")
def assess_client_impact(ctx: OperationContext, task_data: dict, stages=None, pending_review_stages=None,
                         check_profiles=None, backup_caseload_cap=None, reassess_within_hours=None) -> dict:
    """R37/R38: hand the fan-out of crisis checks and the follow-up search to the task queue."""
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
    if errors:
        raise Invalid("the BCP diagram passed invalid fan-out parameters", errors=errors)
    return crisis.request_client_impact(ctx.uow, _crisis_id(task_data), {
        "stages": stages, "pending_review_stages": pending_review_stages, "check_profiles": check_profiles,
        "backup_caseload_cap": backup_caseload_cap, "reassess_within_hours": reassess_within_hours})


@operation("crisis.confirm_resumption")
def confirm_resumption(ctx: OperationContext, task_data: dict) -> dict:
    return crisis.confirm_resumption(ctx.uow, _crisis_id(task_data), ctx.actor_id)


@operation("crisis.escalate_resumption")
def escalate_resumption(ctx: OperationContext, task_data: dict) -> dict:
    """R42: the T+24 h boundary timer fired before resumption was confirmed."""
    return crisis.escalate_resumption(ctx.uow, _crisis_id(task_data))


@operation("crisis.reschedule_delayed_follow_ups")
def reschedule_delayed_follow_ups(ctx: OperationContext, task_data: dict, within_hours=None) -> dict:
    """R40: move the due dates of follow-ups delayed by the disruption (recorded)."""
    record = crisis.load_crisis(ctx.uow.session, _crisis_id(task_data))
    return crisis_follow_ups.reschedule_delayed(ctx.uow, record, within_hours)


@operation("crisis.close")
def close(ctx: OperationContext, task_data: dict) -> dict:
    """End of recovery: the crisis is no longer active; the readiness plan runs again."""
    result = crisis.close_crisis(ctx.uow, _crisis_id(task_data), ctx.actor_id)
    crisis_readiness.start_readiness_plan(ctx.uow, ctx.runtime, None)
    return result


@operation("crisis.record_bcp_update")
def record_bcp_update(ctx: OperationContext, task_data: dict) -> dict:
    return crisis.record_bcp_update(ctx.uow, _crisis_id(task_data), ctx.actor_id,
                                    bool(task_data.get("bcp_updated")), str(task_data.get("changes") or ""))


@operation("crisis.record_check")
def record_check(ctx: OperationContext, task_data: dict) -> dict:
    """R39: the crisis check's answers and the case's crisis notes."""
    return crisis_records.record_check(ctx.uow, _crisis_id(task_data), _case_code(task_data), ctx.actor_id, task_data)


@operation("crisis.record_reassessment")
def record_reassessment(ctx: OperationContext, task_data: dict) -> dict:
    return crisis_records.record_reassessment(ctx.uow, _crisis_id(task_data), _case_code(task_data), ctx.actor_id,
                                              task_data)


@operation("crisis.schedule_readiness")
def schedule_readiness(ctx: OperationContext, task_data: dict, activities=None) -> dict:
    """R41: one waiting occurrence per readiness activity."""
    return crisis_readiness.schedule_activities(ctx.uow, ctx.runtime, activities, ctx.actor_id)


@operation("crisis.complete_readiness_activity")
def complete_readiness_activity(ctx: OperationContext, task_data: dict) -> dict:
    activity = task_data.get("activity")
    if not isinstance(activity, str):
        raise Invalid("this step needs activity in the task data")
    return crisis_readiness.complete_activity(ctx.uow, ctx.runtime, activity, ctx.actor_id, task_data)
