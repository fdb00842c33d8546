"""``case.*`` operations of monitoring from the risk rating (R43-R46): the first action
after a rating, a first action or follow-up not done in time, and the urgent flag.

Monitoring starts whenever a risk level is set (``processes.restart_monitoring``, called
by the rating, judgement and review operations): a ``case_first_action`` instance offers
the level's first action (high: the immediate action; medium: the intervention; low: the
information) due within the level's intervention time, and the ``case_follow_up`` chain
follows up at the level's cadence — all numbers from ``risk_timeframes``. A boundary
timer on each calls :func:`record_missed_work` when the deadline passes: the supervisor
gets an escalation and, where the decision says so, the case becomes urgent until the
missed work is done.
"""
from __future__ import annotations

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.case import processes as case_processes
from engine.case.operations.care import checked_referrals
from engine.case.operations.intake import case_of, finish
from engine.case.records import flag_urgent, record_event, take_text
from engine.case.service_referrals import make_referral
from engine.errors import Invalid
from engine.service_ops.translations import N_

MISSED_WORK = {"first_action": "first action after the risk rating not done in time",
               "follow_up": "follow-up not done in time"}
FIRST_ACTIONS = ("intervened", "referred_to_specialised_agency", "information_given", "referred_elsewhere")


@operation("case.record_first_action")
def record_first_action(ctx: OperationContext, data: dict, cadence_changes_when: str | None = None) -> dict:
    """R43, R44: the first action after the rating is recorded. For high risk it is the
    immediate action (intervention, or a referral without delay to a specialised agency
    when the agency is not specialised, with the client's consent to share, R18); the
    follow-ups then switch from daily to the level's later cadence at once (the chain
    restarts, ``cadence_changes_when == "immediate_action"``)."""
    case = case_of(ctx)
    action = data.get("first_action")
    if action not in FIRST_ACTIONS:
        raise Invalid(N_("%(value)s is not a first action") % {"value": repr(action)},
                      errors={"first_action": list(FIRST_ACTIONS)})
    referral = data.pop("specialised_referral", None)
    texts = take_text(data, "action_notes")
    now = clock.now()
    case.date_first_action = case.date_first_action or now
    record_event(ctx.uow, case, ctx.actor_id, "form", f"first action after the risk rating: {action.replace('_', ' ')}",
                 form="case_first_action", action=action, **texts)
    if action == "referred_to_specialised_agency":
        if not isinstance(referral, dict):
            raise Invalid("name the specialised agency the client is referred to",
                          errors={"specialised_referral": ["required for a referral to a specialised agency"]})
        (item,) = checked_referrals([referral])
        make_referral(ctx.uow, ctx.runtime, case, item["provider"], item["service"], ctx.actor_id, ctx.instance.id)
    if cadence_changes_when == "immediate_action" and case_processes.chain_applies(case, "follow_up"):
        case_processes.restart_chain(ctx.uow, ctx.runtime, case, "follow_up", ctx.actor_id, [ctx.instance.id],
                                     parent_instance_id=ctx.instance.id)
    case_processes.clear_urgent_when_on_track(ctx.uow, case, ctx.actor_id, ctx.instance.id,
                                              "the first action was recorded")
    return finish(ctx, case, data, action=action)


@operation("case.record_missed_work")
def record_missed_work(ctx: OperationContext, data: dict, work: str, makes_urgent: bool = False) -> dict:
    """R46: a first action or follow-up was not done in time. The supervisor gets the
    escalation (the diagram's next task); ``makes_urgent`` (``risk_timeframes``) flags
    the case urgent, so it is ranked first until the work is done."""
    if work not in MISSED_WORK:
        raise ValueError(f"case.record_missed_work: unknown work {work!r} (one of {', '.join(MISSED_WORK)})")
    case = case_of(ctx)
    record_event(ctx.uow, case, ctx.actor_id, "escalation", f"{MISSED_WORK[work]}: escalated to the supervisor",
                 work=work, urgent=bool(makes_urgent))
    if makes_urgent:
        flag_urgent(ctx.uow, case, ctx.actor_id, MISSED_WORK[work])
    return finish(ctx, case, data, urgent=case.urgent_since is not None)
