"""``case.*`` and ``process.*`` operations of planning and care: plans and their approval,
implementation with referrals, follow-ups, reviews, lost contact.

Recurring work runs as chains of short instances (``engine.case.processes``):
``process.next_follow_up`` / ``process.next_review`` start the next link when one ends; a
new plan or a changed risk level restarts a chain so its deadline follows the new level.
See ``engine.case_operations`` for the case context every operation publishes.
"""
from __future__ import annotations

import datetime as dt
import json

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.case import processes as case_processes
from engine.case.operations.intake import case_of, finish
from engine.case.records import record_event, set_risk, set_stage, set_status, take_text
from engine.case.service_referrals import make_referral
from engine.errors import Forbidden, Invalid, NotFound
from engine.models import CaseNote, CaseStage, CaseStatus, ServiceReferral
from engine.models.case import RISK_LEVELS
from engine.models.case_decisions import REVIEW_OUTCOMES, CasePlan, CaseReview
from engine.service_ops.translations import N_

REFERRAL_OUTCOMES = {"completed": "completed", "accepted_ongoing": "accepted", "declined": "declined",
                     "failed": "failed"}


def _plan(ctx: OperationContext, plan_id) -> CasePlan:
    """A plan of this instance's case (an id from the task data names no other case's plan)."""
    case = case_of(ctx)
    plan = ctx.uow.session.get(CasePlan, plan_id) if isinstance(plan_id, int) else None
    if plan is None or plan.case_id != case.id:
        raise NotFound(N_("no case plan %(id)s on case %(code)s") % {"id": plan_id, "code": case.code})
    return plan


def checked_referrals(referrals) -> list[dict]:
    """R18: every referral in a plan names a provider and a service and has the client's
    consent to share information."""
    errors: dict[str, list[str]] = {}
    clean = []
    for index, item in enumerate(referrals or []):
        if not isinstance(item, dict):
            errors[f"referrals.{index}"] = ["must be an object"]
            continue
        if item.get("consent_to_share") is not True:
            errors[f"referrals.{index}.consent_to_share"] = [
                "a referral needs the client's consent to share information"]
        for key in ("provider", "service"):
            if not str(item.get(key) or "").strip():
                errors[f"referrals.{index}.{key}"] = ["is required"]
        clean.append({"provider": str(item.get("provider", "")).strip(),
                      "service": str(item.get("service", "")).strip(), "consent_to_share": True})
    if errors:
        raise Invalid("a referral cannot be made without the client's consent to share information",
                      errors=errors)
    return clean


@operation("case.record_plan")
def record_plan(ctx: OperationContext, data: dict, kind: str, cadence_changes_when: str | None = None) -> dict:
    """An interim plan (R16) or a case plan for the supervisor's approval (R17). The
    interim plan's immediate actions are the first action after the rating (R43, R44):
    the pending first-action task ends, and a high-risk case's follow-ups switch to the
    later cadence (``cadence_changes_when == "immediate_action"``)."""
    case = case_of(ctx)
    referrals = checked_referrals(data.pop("referrals", None)) if kind == "full" else []
    texts = take_text(data, "goals", "actions", "contingency_plan", "immediate_actions", "safety_measures")
    plan = CasePlan(case_id=case.id, kind=kind, goals=texts.get("goals", ""),
                    actions=texts.get("actions") or texts.get("immediate_actions", ""),
                    contingency=texts.get("contingency_plan") or texts.get("safety_measures", ""),
                    agreed_with_client=data.get("agreed_with_client") is True,
                    referrals_json=json.dumps(referrals), status="submitted" if kind == "full" else "approved",
                    submitted_by=ctx.actor_id, submitted_at=clock.now())
    ctx.uow.session.add(plan)
    ctx.uow.session.flush()
    form = "case_plan" if kind == "full" else "case_interim_plan"
    record_event(ctx.uow, case, ctx.actor_id, "form",
                 "interim case plan made" if kind == "interim" else "case plan submitted for approval",
                 form=form, plan_id=plan.id, referrals=len(referrals))
    if kind == "full":
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.PLANNING)
    else:
        case_processes.first_action_done_elsewhere(ctx.uow, ctx.runtime, case, ctx.actor_id, ctx.instance.id,
                                                   "recorded in the interim plan", cadence_changes_when)
    return finish(ctx, case, data, plan_id=plan.id)


@operation("case.record_plan_decision")
def record_plan_decision(ctx: OperationContext, data: dict, plan_id: int) -> dict:
    """R17: the supervisor approves or rejects the case plan."""
    case = case_of(ctx)
    plan = _plan(ctx, plan_id)
    vote = data.get("vote")
    if ctx.actor_id is not None and ctx.actor_id == case.caseworker_id:
        raise Forbidden("the caseworker cannot approve their own case plan")
    texts = take_text(data, "comment")
    plan.status = "approved" if vote == "approve" else "rejected"
    plan.decided_by, plan.decided_at = ctx.actor_id, clock.now()
    plan.decision_comment = texts.get("comment", "")
    if plan.status == "approved":
        case.date_plan_approved = plan.decided_at
    record_event(ctx.uow, case, ctx.actor_id, "form", f"case plan {plan.status}", form="case_plan_approval",
                 plan_id=plan.id, vote=vote, **texts)
    return finish(ctx, case, data, approved=plan.status == "approved")


@operation("case.start_implementation")
def start_implementation(ctx: OperationContext, data: dict, plan_id: int) -> dict:
    """R18: the approved plan's referrals are made, each tracked by its own instance; the
    review chain (re)starts at the case's current risk level, and the follow-ups that began
    at the risk rating carry on at their cadence (started here only if none runs)."""
    case = case_of(ctx)
    plan = _plan(ctx, plan_id)
    set_stage(ctx.uow, case, ctx.actor_id, CaseStage.IMPLEMENTATION)
    for item in json.loads(plan.referrals_json or "[]"):
        make_referral(ctx.uow, ctx.runtime, case, item["provider"], item["service"], ctx.actor_id,
                      ctx.instance.id)
    keep = [ctx.instance.id]
    case_processes.ensure_chain(ctx.uow, ctx.runtime, case, "follow_up", ctx.actor_id, keep,
                                parent_instance_id=ctx.instance.id)
    case_processes.restart_chain(ctx.uow, ctx.runtime, case, "review", ctx.actor_id, keep,
                                 parent_instance_id=ctx.instance.id)
    return finish(ctx, case, data)


@operation("case.record_referral_outcome")
def record_referral_outcome(ctx: OperationContext, data: dict, referral_id: int) -> dict:
    """R18: the outcome of one referral. Still ongoing: another check is scheduled."""
    case = case_of(ctx)
    referral = ctx.uow.session.get(ServiceReferral, referral_id)
    if referral is None or referral.case_id != case.id:
        raise NotFound(N_("no referral %(id)s on case %(code)s") % {"id": referral_id, "code": case.code})
    outcome = data.get("referral_outcome")
    texts = take_text(data, "referral_notes")
    if isinstance(outcome, str):  # form data: anything else (even unhashable) is no known outcome
        referral.status = REFERRAL_OUTCOMES.get(outcome, referral.status)
    referral.outcome = texts.get("referral_notes") or outcome
    referral.outcome_at = clock.now()
    record_event(ctx.uow, case, ctx.actor_id, "form", f"referral to {referral.provider}: {outcome}",
                 form="case_referral_outcome", referral_id=referral.id, outcome=outcome, **texts)
    ongoing = referral.status == "accepted" and case.status != CaseStatus.CLOSED
    if ongoing:
        next_check = case_processes.start_case_process(ctx.uow, ctx.runtime, case_processes.REFERRAL_PROCESS, case,
                                                       ctx.actor_id, {"referral_id": referral.id}, ctx.instance.id)
        referral.instance_id = next_check.id
    return finish(ctx, case, data, ongoing=ongoing)


@operation("case.plan_next_contact")
def plan_next_contact(ctx: OperationContext, data: dict, days: int) -> dict:
    """Tracking field "date of next planned contact" (R34), from the follow-up frequency."""
    case = case_of(ctx)
    case.date_next_contact = clock.now() + dt.timedelta(days=int(days)) if int(days) > 0 else None
    return finish(ctx, case, data)


@operation("case.plan_next_review")
def plan_next_review(ctx: OperationContext, data: dict, days: int | float) -> dict:
    """Tracking field "date of the next case review" (R19, R34)."""
    case = case_of(ctx)
    case.date_next_review = clock.now() + dt.timedelta(days=float(days))
    return finish(ctx, case, data)


@operation("case.record_follow_up")
def record_follow_up(ctx: OperationContext, data: dict) -> dict:
    """A follow-up contact as a case note (R33 header). Imminent risks recorded as
    mitigated change a medium case's cadence from the next follow-up on (R45); a
    worsening situation asks for an early review (R19: sooner when the risk rises)."""
    case = case_of(ctx)
    contact = data.get("contact")
    texts = take_text(data, "follow_up_notes", "client_words")
    note = "\n\n".join(v for v in (texts.get("follow_up_notes"), texts.get("client_words")) if v)
    ctx.uow.session.add(CaseNote(case_id=case.id, author_id=ctx.actor_id, kind="follow_up",
                                 contact_method=data.get("contact_method"), text=note or f"contact {contact}",
                                 case_status=case.status, caseworker_id=case.caseworker_id,
                                 supervisor_id=case.supervisor_id, at=clock.now()))
    if contact == "made":
        case.date_last_contact = clock.now()
    mitigated = data.pop("imminent_risks_mitigated", None) is True
    if mitigated and case.date_risks_mitigated is None:
        case.date_risks_mitigated = clock.now()
    early = bool(data.pop("risk_concern", False))
    record_event(ctx.uow, case, ctx.actor_id, "form", f"follow-up: contact {contact}", form="case_follow_up",
                 contact=contact, method=data.get("contact_method"), early_review=early,
                 imminent_risks_mitigated=mitigated)
    case_processes.clear_urgent_when_on_track(ctx.uow, case, ctx.actor_id, ctx.instance.id, "the follow-up was done")
    if early and case.status != CaseStatus.CLOSED:
        case_processes.restart_chain(ctx.uow, ctx.runtime, case, "review", ctx.actor_id, [ctx.instance.id],
                                     {"early": True}, ctx.instance.id)
    return finish(ctx, case, data, contact=contact)


@operation("process.next_follow_up")
def next_follow_up(ctx: OperationContext, data: dict) -> dict:
    """Start the next follow-up (the case's one open follow-up at a time)."""
    case = case_of(ctx)
    started = case_processes.continue_chain(ctx.uow, ctx.runtime, case, "follow_up", ctx.actor_id, ctx.instance.id)
    return finish(ctx, case, data, next_instance_id=started.id if started else None)


@operation("process.next_review")
def next_review(ctx: OperationContext, data: dict) -> dict:
    """Schedule the next case review."""
    case = case_of(ctx)
    started = case_processes.continue_chain(ctx.uow, ctx.runtime, case, "review", ctx.actor_id, ctx.instance.id)
    return finish(ctx, case, data, next_instance_id=started.id if started else None)


@operation("case.mark_inactive")
def mark_inactive(ctx: OperationContext, data: dict) -> dict:
    """R26: contact lost → inactive; follow-ups pause and tracing starts."""
    case = case_of(ctx)
    if case.status in (CaseStatus.OPEN, CaseStatus.AGED_OUT):
        case.date_inactive = clock.now()
        set_status(ctx.uow, case, ctx.actor_id, CaseStatus.INACTIVE, "contact lost")
        case_processes.cancel_case_processes(ctx.uow, case.code, ctx.actor_id, "contact lost",
                                             [case_processes.FOLLOW_UP_PROCESS], [ctx.instance.id])
        case_processes.start_case_process(ctx.uow, ctx.runtime, case_processes.INACTIVE_PROCESS, case,
                                          ctx.actor_id, parent_instance_id=ctx.instance.id)
    return finish(ctx, case, data)


@operation("case.record_trace")
def record_trace(ctx: OperationContext, data: dict) -> dict:
    """R26: contact resumed → open again, follow-ups restart; untraceable → closure."""
    case = case_of(ctx)
    outcome = data.get("trace_outcome")
    texts = take_text(data, "trace_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form", f"tracing: {outcome}", form="case_trace", outcome=outcome,
                 **texts)
    if outcome == "contact_resumed" and case.status == CaseStatus.INACTIVE:
        case.date_last_contact = clock.now()
        back_to = CaseStatus.AGED_OUT if case.date_aged_out else CaseStatus.OPEN
        set_status(ctx.uow, case, ctx.actor_id, back_to, "contact resumed")
        case_processes.restart_chain(ctx.uow, ctx.runtime, case, "follow_up", ctx.actor_id, [ctx.instance.id],
                                     parent_instance_id=ctx.instance.id)
    return finish(ctx, case, data, outcome=outcome)


REVIEWABLE_STAGES = (CaseStage.IMPLEMENTATION, CaseStage.PLANNING, CaseStage.ASSESSMENT)


@operation("case.open_review")
def open_review(ctx: OperationContext, data: dict) -> dict:
    """R37: while a review runs the case's stage is "review" (a crisis ranks such cases
    among the first); the stage it had is kept for the end of the review. A case already
    closing keeps its stage."""
    case = case_of(ctx)
    before = case.stage
    if case.stage in REVIEWABLE_STAGES:
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.REVIEW)
    return finish(ctx, case, data, stage_before=before)


@operation("case.record_review")
def record_review(ctx: OperationContext, data: dict, early: bool = False, stage_before: str | None = None) -> dict:
    """R19/R20: a review chaired by someone not on the case. It may change the risk level
    (monitoring then restarts at the new level, R43) and send the case back to assessment
    or planning (a reassessment instance); otherwise the case returns to the stage it had
    before the review (R37)."""
    case = case_of(ctx)
    if ctx.actor_id is not None and ctx.actor_id == case.caseworker_id:
        raise Forbidden("a case review is chaired by someone not on the case, not its caseworker")
    outcome = data.get("review_outcome")
    if outcome not in REVIEW_OUTCOMES:
        raise Invalid(N_("%(value)s is not a review outcome") % {"value": repr(outcome)},
                      errors={"review_outcome": list(REVIEW_OUTCOMES)})
    new_level = data.pop("new_risk_level", None) or None
    texts = take_text(data, "risk_change_reason", "review_summary")
    if new_level is not None and new_level not in RISK_LEVELS:
        raise Invalid(N_("%(value)s is not a risk level") % {"value": repr(new_level)},
                      errors={"new_risk_level": ["high, medium or low"]})
    if new_level is not None and new_level != case.risk_level and not texts.get("risk_change_reason"):
        raise Invalid("changing the risk level at a review needs a reason",
                      errors={"risk_change_reason": ["required when the risk level changes"]})
    before = case.risk_level
    now = clock.now()
    ctx.uow.session.add(CaseReview(case_id=case.id, instance_id=ctx.instance.id, reviewed_by=ctx.actor_id, at=now,
                                   risk_before=before, risk_after=new_level or before,
                                   risk_change_reason=texts.get("risk_change_reason"), outcome=outcome,
                                   early=bool(early), summary=texts.get("review_summary", "")))
    case.date_last_review = now
    record_event(ctx.uow, case, ctx.actor_id, "form", f"case review: {outcome.replace('_', ' ')}",
                 form="case_review", outcome=outcome, progress=data.get("progress"), risk_after=new_level or before)
    keep = [ctx.instance.id]
    if new_level is not None and new_level != before:
        set_risk(ctx.uow, case, ctx.actor_id, new_level, f"case review: {texts['risk_change_reason']}")
        case_processes.monitor_new_rating(ctx.uow, ctx.runtime, case, ctx.actor_id, ctx.instance.id)
    if outcome not in ("reassess", "revise_plan") and case.stage == CaseStage.REVIEW:
        back = stage_before if stage_before in REVIEWABLE_STAGES else CaseStage.IMPLEMENTATION
        set_stage(ctx.uow, case, ctx.actor_id, back)
    if outcome in ("reassess", "revise_plan"):
        case_processes.cancel_case_processes(ctx.uow, case.code, ctx.actor_id, "superseded by a new reassessment",
                                             [case_processes.REASSESSMENT_PROCESS], keep)
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.ASSESSMENT if outcome == "reassess" else "planning")
        case_processes.start_case_process(ctx.uow, ctx.runtime, case_processes.REASSESSMENT_PROCESS, case,
                                          ctx.actor_id, {"mode": outcome}, ctx.instance.id)
    return finish(ctx, case, data, outcome=outcome)
