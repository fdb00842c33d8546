"""The process instances of one case: starting the short recurring ones, cancelling the
ones a status change makes pointless.

A case runs one main ``case_management`` instance plus short instances beside it: the
first action after its current risk rating (``case_first_action``), one follow-up at a
time (``case_follow_up``, each starting the next), one scheduled review (``case_review``,
likewise), one wait for the client's 18th birthday (``case_aged_out``, a link a year
until then), one tracker per service referral (``case_referral``), and while contact is
lost one ``case_inactive``. Recurring work is a chain of short instances,
never a long loop in one task tree (ENGINE-NOTES: loops stall after ~250 passes).

Monitoring starts at every risk rating (R43, :func:`restart_monitoring`): the pending first
action and follow-up are replaced, so their deadlines follow the new level at once.

Closing or reopening a case, or a new plan, ends the instances it makes stale:
:func:`cancel_case_processes` marks them cancelled with their open tasks and timers, in
the same transaction.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from engine import clock
from engine.bpmn.runtime import ProcessRuntime
from engine.case.records import clear_urgent
from engine.models import Case, CaseStatus, HumanTask, InstanceStatus, ProcessInstance, RiskLevel, TaskState
from engine.process import instances

log = logging.getLogger(__name__)

MAIN_PROCESS = "case_management"
FOLLOW_UP_PROCESS = "case_follow_up"
REVIEW_PROCESS = "case_review"
REFERRAL_PROCESS = "case_referral"
INACTIVE_PROCESS = "case_inactive"
REASSESSMENT_PROCESS = "case_reassessment"
FIRST_ACTION_PROCESS = "case_first_action"
AGED_OUT_PROCESS = "case_aged_out"
# the user tasks of monitoring (case_first_action, case_follow_up): missed, they make a case urgent (R46)
MONITORING_TASKS = ("immediate_action", "intervention", "information", "follow_up")
CHAINS = {"follow_up": FOLLOW_UP_PROCESS, "review": REVIEW_PROCESS, "first_action": FIRST_ACTION_PROCESS,
          "aged_out": AGED_OUT_PROCESS}
CHAIN_DATA: dict[str, dict] = {"follow_up": {}, "review": {"early": False}, "first_action": {},
                               "aged_out": {}}  # the flags each chain's diagram reads


def start_case_process(uow, runtime: ProcessRuntime, process_id: str, case: Case, actor_id: int | None,
                       data: dict | None = None, parent_instance_id: int | None = None) -> ProcessInstance:
    """Start ``process_id`` for ``case``: the workflow data holds the case code and flags only."""
    payload = {"case_code": case.code, **(data or {})}
    instance = instances.start_process(uow, runtime, process_id, actor_id, payload, case_code=case.code,
                                       parent_instance_id=parent_instance_id)
    if process_id == MAIN_PROCESS:
        case.main_instance_id = instance.id
    return instance


def running_instances(session, case_code: str, process_ids=None, exclude_ids=()) -> list[ProcessInstance]:
    query = select(ProcessInstance).where(ProcessInstance.case_code == case_code,
                                          ProcessInstance.status == InstanceStatus.RUNNING)
    if process_ids is not None:
        query = query.where(ProcessInstance.process_id.in_(tuple(process_ids)))
    excluded = {i for i in exclude_ids if i is not None}
    if excluded:
        query = query.where(ProcessInstance.id.not_in(excluded))
    return list(session.scalars(query.order_by(ProcessInstance.id)))


def cancel_case_processes(uow, case_code: str, actor_id: int | None, why: str, process_ids=None,
                          keep_ids=()) -> list[int]:
    """Cancel the case's running instances (of ``process_ids``, or all) except ``keep_ids``."""
    cancelled = []
    for instance in running_instances(uow.session, case_code, process_ids, keep_ids):
        instances.cancel_instance(uow, instance, actor_id, why)
        cancelled.append(instance.id)
    return cancelled


def restart_chain(uow, runtime: ProcessRuntime, case: Case, chain: str, actor_id: int | None,
                  keep_ids=(), data: dict | None = None, parent_instance_id: int | None = None) -> ProcessInstance:
    """End the case's current ``chain`` (one of ``CHAINS``) and start a fresh one, so its
    deadline follows the case's current risk level."""
    process_id = CHAINS[chain]
    cancel_case_processes(uow, case.code, actor_id, f"{chain} rescheduled", [process_id], keep_ids)
    return start_case_process(uow, runtime, process_id, case, actor_id, {**CHAIN_DATA[chain], **(data or {})},
                              parent_instance_id)


def continue_chain(uow, runtime: ProcessRuntime, case: Case, chain: str, actor_id: int | None,
                   current_instance_id: int | None) -> ProcessInstance | None:
    """Start the next link of a chain from its current link, unless another link is
    already running (a restart replaced it) or the case no longer needs it."""
    process_id = CHAINS[chain]
    if not chain_applies(case, chain):
        return None
    if running_instances(uow.session, case.code, [process_id], [current_instance_id]):
        return None
    return start_case_process(uow, runtime, process_id, case, actor_id, dict(CHAIN_DATA[chain]),
                              parent_instance_id=current_instance_id)


def chain_applies(case: Case, chain: str) -> bool:
    """Nothing recurs on a closed case; while contact is lost, tracing replaces follow-ups (R26)."""
    return case.status != CaseStatus.CLOSED and not (chain == "follow_up" and case.status == CaseStatus.INACTIVE)


def ensure_chain(uow, runtime: ProcessRuntime, case: Case, chain: str, actor_id: int | None,
                 keep_ids=(), parent_instance_id: int | None = None) -> ProcessInstance | None:
    """Start ``chain`` unless a link of it is already running (e.g. follow-ups that began at
    the risk rating keep their cadence when the plan is approved)."""
    if not chain_applies(case, chain) or running_instances(uow.session, case.code, [CHAINS[chain]], keep_ids):
        return None
    return start_case_process(uow, runtime, CHAINS[chain], case, actor_id, dict(CHAIN_DATA[chain]),
                              parent_instance_id)


def restart_monitoring(uow, runtime: ProcessRuntime, case: Case, actor_id: int | None, keep_ids=(),
                       parent_instance_id: int | None = None) -> None:
    """R43: a risk level was set (a rating, a judgement, an override, a review, a
    reassessment): monitoring starts again from now. The pending first action and
    follow-up are replaced by fresh ones whose diagrams read the new level's timeframes
    (``risk_timeframes``): the first action due within its intervention time, the first
    follow-up at its cadence."""
    case.date_monitoring_started = clock.now()
    case.date_first_action = case.date_risks_mitigated = None
    restart_chain(uow, runtime, case, "first_action", actor_id, keep_ids, parent_instance_id=parent_instance_id)
    if chain_applies(case, "follow_up"):
        restart_chain(uow, runtime, case, "follow_up", actor_id, keep_ids, parent_instance_id=parent_instance_id)
    else:
        cancel_case_processes(uow, case.code, actor_id, "a new risk rating replaces it", [FOLLOW_UP_PROCESS], keep_ids)


def stop_monitoring(uow, case: Case, actor_id: int | None, why: str, keep_ids=()) -> None:
    """The case needs no monitoring (rated low at intake: it ends after the information
    task): a pending first action and follow-up end."""
    case.date_monitoring_started = None
    cancel_case_processes(uow, case.code, actor_id, why, [FIRST_ACTION_PROCESS, FOLLOW_UP_PROCESS], keep_ids)


def monitor_new_rating(uow, runtime: ProcessRuntime, case: Case, actor_id: int | None, instance_id: int,
                       low_risk_ends_case: bool = False) -> None:
    """The case's risk level was just set by the step of ``instance_id``: monitoring
    restarts at the new level; a low-risk case that ends after its information task
    (``low_risk_ends_case``: the main process gives that task) needs none."""
    if case.risk_level == RiskLevel.LOW and low_risk_ends_case:
        stop_monitoring(uow, case, actor_id, "low risk: information, then no case management", [instance_id])
    else:
        restart_monitoring(uow, runtime, case, actor_id, [instance_id], instance_id)


def overdue_monitoring_work(session, case: Case, except_instance_id: int | None) -> list[HumanTask]:
    """Open first actions and follow-ups of the case past their due time (other than those
    of ``except_instance_id``, whose task is being done in this step)."""
    return list(session.scalars(select(HumanTask).where(
        HumanTask.case_code == case.code, HumanTask.state == TaskState.READY,
        HumanTask.bpmn_id.in_(MONITORING_TASKS), HumanTask.due_at <= clock.now(),
        HumanTask.instance_id != (except_instance_id or -1))))


def clear_urgent_when_on_track(uow, case: Case, actor_id: int | None, except_instance_id: int | None,
                               why: str) -> None:
    """R46: the case stops being urgent once no missed first action or follow-up is left."""
    if case.urgent_since is not None and not overdue_monitoring_work(uow.session, case, except_instance_id):
        clear_urgent(uow, case, actor_id, why)


def first_action_done_elsewhere(uow, runtime: ProcessRuntime, case: Case, actor_id: int | None, instance_id: int,
                                why: str, cadence_changes_when: str | None) -> None:
    """The first action after the rating was recorded by another step (the interim plan's
    immediate actions): the pending first-action task ends, and where the level's cadence
    changes at the immediate action (``risk_timeframes``) the follow-ups switch now."""
    case.date_first_action = case.date_first_action or clock.now()
    cancel_case_processes(uow, case.code, actor_id, f"first action {why}", [FIRST_ACTION_PROCESS], [instance_id])
    if cadence_changes_when == "immediate_action" and chain_applies(case, "follow_up"):
        restart_chain(uow, runtime, case, "follow_up", actor_id, [instance_id], parent_instance_id=instance_id)
    clear_urgent_when_on_track(uow, case, actor_id, instance_id, f"the first action was {why}")
