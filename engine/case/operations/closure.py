"""``case.*`` operations of closure (R21-R25, R27): the request, transfer consent and
handover plan, aged-out status, the death report, the supervisor's review, the
committee's authorisation, the closure itself and the post-closure visit (which may
reopen the case).

A case closes only through an authorised ``ClosureRequest`` (``lifecycle.close_case``);
the committee's outcome is read from the ``conferences`` table, never from task data.
"""
from __future__ import annotations

import datetime as dt

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.case import lifecycle
from engine.case import processes as case_processes
from engine.case.operations.intake import case_of, finish
from engine.case.records import (
    clear_urgent,
    ensure_not_closed,
    flag_urgent,
    record_event,
    set_stage,
    set_status,
    start_clock,
    take_text,
)
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import CaseStage, CaseStatus
from engine.models.case import CLOSURE_REASONS
from engine.models.case_decisions import ClosureRequest, Conference
from engine.service_ops.translations import N_

NO_VISIT_REASONS = ("transfer", "death")  # the receiving agency / the investigation takes over


def _closure(ctx: OperationContext, closure_id) -> ClosureRequest:
    """A closure request of this instance's case (an id from the task data names no other
    case's request)."""
    case = case_of(ctx)
    closure = ctx.uow.session.get(ClosureRequest, closure_id) if isinstance(closure_id, int) else None
    if closure is None or closure.case_id != case.id:
        raise NotFound(N_("no closure request %(id)s on case %(code)s") % {"id": closure_id, "code": case.code})
    return closure


def _automatic_aged_out(closure: ClosureRequest) -> bool:
    """The closure the 18th birthday opened by itself (R27), not one a person requested."""
    return closure.reason == "aged_out" and closure.requested_by is None and closure.status == "requested"


@operation("case.request_closure")
def request_closure(ctx: OperationContext, data: dict, reason: str) -> dict:
    """R21, R52: a closure request with one of the DOMAIN closure reasons. One at a time,
    except that a person's request supersedes the automatic closure of an aged-out case
    (R27). "No longer wants services" closes only when it is safe: the caseworker confirms it."""
    case = case_of(ctx)
    ensure_not_closed(case, "a closure request")
    if reason not in CLOSURE_REASONS:
        raise Invalid(N_("%(value)s is not a closure reason") % {"value": repr(reason)},
                      errors={"closure_reason": list(CLOSURE_REASONS)})
    if reason == "no_longer_wants_services" and data.get("safety_confirmed") is not True:
        raise Invalid("a case closes because the client no longer wants services only when it is safe: "
                      "confirm the child's safety", errors={"safety_confirmed": ["confirm the child is safe"]})
    pending = lifecycle.pending_closure(ctx.uow.session, case)
    if pending is not None and _automatic_aged_out(pending) and reason != "aged_out":
        pending.status, pending.outcome_note = "withdrawn", f"superseded by a closure request ({reason})"
        case_processes.cancel_case_processes(ctx.uow, case.code, ctx.actor_id, "superseded by a closure request",
                                             [case_processes.AGED_OUT_PROCESS], [ctx.instance.id])
    elif pending is not None:
        raise Conflict(N_("a closure of case %(code)s is already under way; finish or withdraw it first")
                       % {"code": case.code})
    texts = take_text(data, "closure_summary")
    closure = ClosureRequest(case_id=case.id, instance_id=ctx.instance.id, reason=reason,
                             summary=texts.get("closure_summary", ""), status="requested",
                             requested_by=ctx.actor_id, requested_at=clock.now())
    ctx.uow.session.add(closure)
    ctx.uow.session.flush()
    record_event(ctx.uow, case, ctx.actor_id, "form", f"closure requested: {reason.replace('_', ' ')}",
                 form="case_closure_request", closure_id=closure.id, reason=reason,
                 safety_confirmed=data.get("safety_confirmed") is True)
    set_stage(ctx.uow, case, ctx.actor_id, CaseStage.CLOSURE)
    data["closure_id"] = closure.id
    return finish(ctx, case, data, closure_id=closure.id)


@operation("case.record_transfer_consent")
def record_transfer_consent(ctx: OperationContext, data: dict, closure_id: int) -> dict:
    """R25: the child/family's answer to the proposed transfer."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    consent = data.get("transfer_consent")
    closure.transfer_consent = consent if consent in ("given", "refused") else None
    closure.transfer_consent_by = data.get("consent_by")
    texts = take_text(data, "consent_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form", f"transfer consent {consent}", form="case_transfer_consent",
                 closure_id=closure.id, consent=consent, consent_by=closure.transfer_consent_by, **texts)
    return finish(ctx, case, data, consent=consent)


@operation("case.record_handover_plan")
def record_handover_plan(ctx: OperationContext, data: dict, closure_id: int) -> dict:
    """R25: the handover plan to the receiving agency, with the good cause for it."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    texts = take_text(data, "receiving_agency", "handover_plan", "transfer_reason")
    closure.receiving_agency = texts.get("receiving_agency")
    closure.handover_plan = texts.get("handover_plan")
    record_event(ctx.uow, case, ctx.actor_id, "form", f"handover plan to {closure.receiving_agency}",
                 form="case_handover_plan", closure_id=closure.id, accompany_child=data.get("accompany_child"),
                 **texts)
    return finish(ctx, case, data)


@operation("case.mark_aged_out")
def mark_aged_out(ctx: OperationContext, data: dict, closure_id: int) -> dict:
    """R27, for a young person whose date of birth is not on record: a closure requested
    because they turned 18 makes the case aged-out. The automatic closure is counted from
    the day the case aged out (published as the clock): today, or the 18th birthday the
    ``case_aged_out`` process recorded already."""
    case = case_of(ctx)
    _closure(ctx, closure_id)
    case.date_aged_out = case.date_aged_out or clock.now()
    if case.status == CaseStatus.OPEN:
        set_status(ctx.uow, case, ctx.actor_id, CaseStatus.AGED_OUT, "turned 18, on a transition plan")
    start_clock(data, case.date_aged_out)
    return finish(ctx, case, data)


@operation("case.keep_open")
def keep_open(ctx: OperationContext, data: dict, closure_id: int) -> dict:
    """R27 "unless agreed otherwise": the aged-out case stays open past the automatic
    closure; the request is withdrawn, the caseworker closes it later."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    texts = take_text(data, "keep_open_reason")
    closure.status, closure.outcome_note = "withdrawn", f"kept open: {texts.get('keep_open_reason', '')}"
    record_event(ctx.uow, case, ctx.actor_id, "form", "aged-out case kept open by agreement",
                 form="case_keep_open", closure_id=closure.id, agreed_with=data.get("agreed_with"), **texts)
    set_stage(ctx.uow, case, ctx.actor_id, CaseStage.IMPLEMENTATION)
    return finish(ctx, case, data, kept_open=True)


@operation("case.record_death_report")
def record_death_report(ctx: OperationContext, data: dict, closure_id: int) -> dict:
    """R21: a child's death is reported to the government department and investigated;
    the closure goes on only once the report is made."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    if data.get("reported_to_authority") is not True:
        raise Invalid("a case closed on a child's death goes on only once the death is reported to the "
                      "government department", errors={"reported_to_authority": ["report the death first"]})
    closure.death_reported_at = clock.now()
    texts = take_text(data, "report_reference", "death_report_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form", "death reported to the authorities; investigation to follow",
                 form="case_death_report", closure_id=closure.id, **texts)
    return finish(ctx, case, data)


CHILDREN_AT_RISK = "other children may be at risk after a child's death"


@operation("case.record_death_investigation")
def record_death_investigation(ctx: OperationContext, data: dict, closure_id: int) -> dict:
    """R21 (001 §3.6): the investigation into the circumstances of the death, made once the
    death is reported, says whether other children are at risk; if they are, the case is
    urgent until they are safeguarded (the diagram opens that task before the review)."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    if closure.death_reported_at is None:
        raise Conflict("the death is reported to the government department before it is investigated")
    at_risk = data.get("other_children_at_risk")
    if not isinstance(at_risk, bool):
        raise Invalid("say whether other children are at risk", errors={"other_children_at_risk": ["yes or no"]})
    texts = take_text(data, "circumstances", "children_at_risk", "investigation_reference")
    if not texts.get("circumstances", "").strip():
        raise Invalid("say what the investigation found", errors={"circumstances": ["required"]})
    record_event(ctx.uow, case, ctx.actor_id, "form", "death investigated: other children "
                 + ("may be at risk" if at_risk else "not at risk"), form="case_death_investigation",
                 closure_id=closure.id, other_children_at_risk=at_risk, **texts)
    if at_risk:
        flag_urgent(ctx.uow, case, ctx.actor_id, CHILDREN_AT_RISK)
    return finish(ctx, case, data, other_children_at_risk=at_risk)


@operation("case.record_safeguarding")
def record_safeguarding(ctx: OperationContext, data: dict, closure_id: int) -> dict:
    """R21: what was done to protect the other children at risk; this reason for urgency ends
    (others, such as a missed follow-up, stay)."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    actions = data.get("actions_taken")
    if not isinstance(actions, list) or not actions:
        raise Invalid("say what was done to protect the other children", errors={"actions_taken": ["required"]})
    texts = take_text(data, "new_case_codes", "safeguarding_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form", "other children at risk safeguarded: " + ", ".join(actions),
                 form="case_safeguard_children", closure_id=closure.id, actions_taken=actions, **texts)
    others = [r for r in (case.urgent_reason or "").split("; ") if r and r != CHILDREN_AT_RISK]
    if others:
        case.urgent_reason = "; ".join(others)
    else:
        clear_urgent(ctx.uow, case, ctx.actor_id, "the other children at risk are safeguarded")
    return finish(ctx, case, data)


@operation("case.record_closure_review")
def record_closure_review(ctx: OperationContext, data: dict, closure_id: int) -> dict:
    """R22: the review that precedes closure, by the supervisor (not the caseworker); the
    supervisor's confirmation of the child's safety is kept with it."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    if ctx.actor_id is not None and ctx.actor_id == case.caseworker_id:
        raise Forbidden("the caseworker cannot review their own closure request")
    vote = data.get("vote")
    texts = take_text(data, "comment")
    closure.review_vote, closure.reviewed_by, closure.reviewed_at = vote, ctx.actor_id, clock.now()
    record_event(ctx.uow, case, ctx.actor_id, "form", f"closure review: {vote}", form="case_closure_review",
                 closure_id=closure.id, vote=vote, safety_confirmed=data.get("safety_confirmed") is True, **texts)
    return finish(ctx, case, data, vote=vote)


@operation("case.authorise_closure")
def authorise_closure(ctx: OperationContext, data: dict, closure_id: int, conference_id: int) -> dict:
    """R22: the committee's outcome, read from its conference, authorises the closure."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    conference = ctx.uow.session.get(Conference, conference_id)
    if conference is None or conference.case_id != case.id or conference.kind != "closure":
        raise NotFound(N_("no closure conference %(id)s on case %(code)s") % {"id": conference_id, "code": case.code})
    authorised = conference.outcome == "approved" and closure.review_vote == "approve"
    closure.conference_id = conference.id
    if authorised:
        closure.status, closure.authorised_at = "authorised", clock.now()
    record_event(ctx.uow, case, ctx.actor_id, "closure",
                 f"closure {'authorised' if authorised else 'not authorised'} by the committee",
                 closure_id=closure.id, conference_id=conference.id, outcome=conference.outcome)
    return finish(ctx, case, data, authorised=authorised)


@operation("case.withdraw_closure")
def withdraw_closure(ctx: OperationContext, data: dict, closure_id: int, why: str) -> dict:
    """The closure does not go ahead (review or committee said no, no transfer consent):
    the case carries on."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    if closure.status in ("requested", "authorised"):
        closure.status, closure.outcome_note = "withdrawn", why
    record_event(ctx.uow, case, ctx.actor_id, "closure", f"closure not made: {why}", closure_id=closure.id)
    if case.status != CaseStatus.CLOSED:
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.IMPLEMENTATION)
    return finish(ctx, case, data, withdrawn=True)


@operation("case.close")
def close(ctx: OperationContext, data: dict, closure_id: int, auto_close_rule: str | None = None,
          aged_out_close_days: int | None = None) -> dict:
    """Close the case through its authorised request. ``auto_close_rule="R27"``: an
    aged-out case whose ``aged_out_close_days`` have passed is authorised by that rule."""
    case = case_of(ctx)
    closure = _closure(ctx, closure_id)
    if auto_close_rule is not None:
        if auto_close_rule != "R27" or closure.reason != "aged_out" or case.date_aged_out is None \
                or case.status not in (CaseStatus.AGED_OUT, CaseStatus.INACTIVE):
            raise Forbidden(N_("rule %(rule)s does not authorise closing case %(code)s")
                            % {"rule": auto_close_rule, "code": case.code})
        if case.date_aged_out is None or aged_out_close_days is None:  # a broken diagram or case row
            raise ValueError(f"rule R27 needs aged_out_close_days and the date case {case.code} aged out")
        due = case.date_aged_out + dt.timedelta(days=int(aged_out_close_days))
        if clock.now() < due:
            raise Forbidden(N_("case %(code)s closes automatically only from %(date)s")
                            % {"code": case.code, "date": due.isoformat()})
        closure.status, closure.authorised_by_rule, closure.authorised_at = "authorised", "R27", clock.now()
    lifecycle.close_case(ctx.uow, ctx.runtime, ctx.actor_id, case.code, keep_instance_ids=[ctx.instance.id])
    if closure.reason not in NO_VISIT_REASONS:
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.POST_CLOSURE)
    data["post_closure_visit"] = closure.reason not in NO_VISIT_REASONS
    return finish(ctx, case, data, closed=True, reason=closure.reason)


@operation("case.record_post_closure_visit")
def record_post_closure_visit(ctx: OperationContext, data: dict) -> dict:
    """R23: the visit within 3 months of closure. Concerns reopen the case (R24): a new
    main process starts with a reassessment."""
    case = case_of(ctx)
    situation = data.get("situation")
    texts = take_text(data, "client_feedback", "visit_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form", f"post-closure visit: {situation}",
                 form="case_post_closure_visit", situation=situation, **texts)
    reopened = situation == "concerns_reopen"
    if reopened:
        lifecycle.reopen(ctx.uow, ctx.runtime, case, ctx.actor_id, "concerns at the post-closure visit",
                           keep_instance_ids=[ctx.instance.id], parent_instance_id=ctx.instance.id)
    else:
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.CLOSED)
    return finish(ctx, case, data, reopened=reopened)
