"""``committee.apply_review_outcome``: what a case review or emergency conference on an
open case changes (R47, with R20's loop back to assessment or planning).

The committee's votes decide whether the case plan stands; the case supervisor, who
records the conclusions (never the case's own caseworker), says whether the risk has
changed. A rejected plan sends the case back to planning, a changed risk to a new risk
rating and then a new plan: both through a ``case_reassessment`` instance, as a case review
does. The conference counts as a case review meeting (tracking field, R34).
"""
from __future__ import annotations

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.case import processes as case_processes
from engine.case.operations.intake import case_of, finish
from engine.case.records import record_event, set_stage, take_text
from engine.committee.review_conferences import OPEN_CASE_KINDS, kind_label
from engine.errors import Conflict, Forbidden, NotFound
from engine.models import CaseStage
from engine.models.case import CASE_STAGES
from engine.models.case_decisions import CaseReview, Conference
from engine.service_ops.translations import N_

BACK_TO_STAGE = {"reassess": CaseStage.ASSESSMENT, "revise_plan": CaseStage.PLANNING}


def review_outcome(plan_stands: bool, risk_changed: bool) -> str:
    """The case review outcome a conference's decision amounts to (``REVIEW_OUTCOMES``)."""
    if risk_changed:
        return "reassess"
    return "continue" if plan_stands else "revise_plan"


@operation("committee.apply_review_outcome")
def apply_review_outcome(ctx: OperationContext, data: dict, conference_id: int) -> dict:
    """Record the conference's conclusions and change the plan or the risk rating."""
    case = case_of(ctx)
    conference = ctx.uow.session.get(Conference, conference_id) if isinstance(conference_id, int) else None
    if conference is None or conference.case_id != case.id or conference.instance_id != ctx.instance.id:
        raise NotFound(N_("no conference %(id)s of this process on case %(code)s")
                       % {"id": conference_id, "code": case.code})
    if conference.kind not in OPEN_CASE_KINDS:
        raise Conflict(N_("a %(kind)s conference changes no plan or risk rating") % {"kind": conference.kind})
    if conference.outcome not in ("approved", "rejected"):
        raise Conflict("the conference has not been decided yet")
    if ctx.actor_id is not None and ctx.actor_id == case.caseworker_id:
        raise Forbidden("the conclusions of a conference are recorded by someone not on the case, not its caseworker")
    risk_changed = bool(data.pop("risk_changed", False))
    texts = take_text(data, "follow_up_actions", "minutes")
    plan_stands = conference.outcome == "approved"
    outcome = review_outcome(plan_stands, risk_changed)
    now = clock.now()
    ctx.uow.session.add(CaseReview(case_id=case.id, instance_id=ctx.instance.id, reviewed_by=ctx.actor_id, at=now,
                                   risk_before=case.risk_level, risk_after=case.risk_level,
                                   outcome=outcome, early=conference.kind == "emergency_review",
                                   summary=texts.get("minutes", "")))
    case.date_last_review = now
    label = kind_label(conference.kind).lower()
    record_event(ctx.uow, case, ctx.actor_id, "conference",
                 f"{label} conference concluded: plan {'stands' if plan_stands else 'rejected'}"
                 f"{', risk to be rated again' if risk_changed else ''}", form="committee_review_conclusions",
                 conference_id=conference.id, outcome=outcome, risk_changed=risk_changed, **texts)
    keep = [ctx.instance.id]
    if outcome in BACK_TO_STAGE:
        case_processes.cancel_case_processes(ctx.uow, case.code, ctx.actor_id, "superseded by a new reassessment",
                                             [case_processes.REASSESSMENT_PROCESS], keep)
        set_stage(ctx.uow, case, ctx.actor_id, BACK_TO_STAGE[outcome])
        case_processes.start_case_process(ctx.uow, ctx.runtime, case_processes.REASSESSMENT_PROCESS, case,
                                          ctx.actor_id, {"mode": outcome}, ctx.instance.id)
    else:
        before = data.get("stage_before")
        set_stage(ctx.uow, case, ctx.actor_id,
                  before if before in CASE_STAGES and before != CaseStage.REVIEW else CaseStage.IMPLEMENTATION)
    return finish(ctx, case, data, outcome=outcome)
