"""The process instances of one case: starting the short recurring ones, cancelling the
ones a status change makes pointless.

A case runs one main ``case_management`` instance plus short instances beside it: one
follow-up at a time (``case_follow_up``, each starting the next), one scheduled review
(``case_review``, likewise), one tracker per service referral (``case_referral``), and
while contact is lost one ``case_inactive``. Recurring work is a chain of short instances,
never a long loop in one task tree (ENGINE-NOTES: loops stall after ~250 passes).

Closing or reopening a case, or a new plan, ends the instances it makes stale:
:func:`cancel_case_processes` marks them cancelled with their open tasks and timers, in
the same transaction.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from engine.bpmn.runtime import ProcessRuntime
from engine.models import Case, CaseStatus, InstanceStatus, ProcessInstance
from engine.process import instances

log = logging.getLogger(__name__)

MAIN_PROCESS = "case_management"
FOLLOW_UP_PROCESS = "case_follow_up"
REVIEW_PROCESS = "case_review"
REFERRAL_PROCESS = "case_referral"
INACTIVE_PROCESS = "case_inactive"
REASSESSMENT_PROCESS = "case_reassessment"
CHAINS = {"follow_up": FOLLOW_UP_PROCESS, "review": REVIEW_PROCESS}
CHAIN_DATA = {"follow_up": {}, "review": {"early": False}}  # the flags each chain's diagram reads


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
    """End the case's current ``chain`` ("follow_up" or "review") and start a fresh one, so
    its deadline follows the case's current risk level."""
    process_id = CHAINS[chain]
    cancel_case_processes(uow, case.code, actor_id, f"{chain} rescheduled", [process_id], keep_ids)
    return start_case_process(uow, runtime, process_id, case, actor_id, {**CHAIN_DATA[chain], **(data or {})},
                              parent_instance_id)


def continue_chain(uow, runtime: ProcessRuntime, case: Case, chain: str, actor_id: int | None,
                   current_instance_id: int | None) -> ProcessInstance | None:
    """Start the next link of a chain from its current link, unless another link is
    already running (a restart replaced it) or the case no longer needs it."""
    process_id = CHAINS[chain]
    if case.status == CaseStatus.CLOSED or (chain == "follow_up" and case.status == CaseStatus.INACTIVE):
        return None
    if running_instances(uow.session, case.code, [process_id], [current_instance_id]):
        return None
    return start_case_process(uow, runtime, process_id, case, actor_id, dict(CHAIN_DATA[chain]),
                              parent_instance_id=current_instance_id)
