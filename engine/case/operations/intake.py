"""``case.*`` operations of intake and assessment: screening, emergency, registration,
assignment within the caseload cap, risk rating.

Every operation here works on the case of the instance it runs in, records what the form
before it said in the case file (the R33 header comes with it, see
``engine.case.records.record_event``) and then *publishes the case context*
into the task data: ``case_code``, ``case_status``, ``risk_level`` (``"unrated"`` before
the first rating), ``caseworker``, ``supervisor`` (usernames), ``hours_since_clock``
(hours since registration, a reopening or a reassessment started) and
``hours_since_plan_clock`` (hours since the assessment the case plan follows). The next user task's
``assign_to``/``priority``/``due`` read those. Free-text answers are moved out of the
workflow data into the case file.

Caps and timeframes arrive as parameters from DMN outputs, never as literals here.
"""
from __future__ import annotations

import json

from sqlalchemy import select

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.case import assignment, lifecycle
from engine.case import processes as case_processes
from engine.case.records import (
    PLAN_CLOCK_VARIABLE,
    load_case,
    publish_context,
    record_event,
    set_risk,
    set_stage,
    start_clock,
    take_text,
)
from engine.errors import Forbidden, Invalid, Unauthorized
from engine.models import Case, CaseStage, HumanTask, RiskLevel, TaskState
from engine.models.case import NO_ACTION_REASONS, RISK_LEVELS
from engine.models.case_decisions import CaseAssessment, Conference
from engine.people import access
from engine.people.directory import get_user, supervisee_ids, username
from engine.service_ops.translations import N_

TRACKING_DATES = ("date_comprehensive_started", "date_comprehensive_completed", "date_last_contact")


def case_of(ctx: OperationContext) -> Case:
    """The case of the instance this step runs in (never one named in the task data). A
    step a person triggered must be one they may take on this case (R32): the person who
    started this instance (the use case that started it decided they may), or one who may
    work on the case (``access.may_view_case``: its caseworker and supervisors, the
    director, the intake worker, committee members while it is before the committee,
    whoever holds or is offered one of its open tasks). Others are refused (403) before
    the operation writes anything."""
    case = load_case(ctx.uow.session, ctx.instance.case_code)
    if ctx.actor_id is not None and ctx.actor_id != ctx.instance.started_by:
        _require_works_on(ctx.uow.session, ctx.actor_id, case)
    return case


def _require_works_on(session, actor_id: int, case: Case) -> None:
    user = get_user(session, actor_id)
    if user.id in (case.caseworker_id, case.supervisor_id) or user.has_role("director", "admin"):
        return  # the common cases, decided without further queries
    open_tasks = session.scalars(select(HumanTask).where(HumanTask.case_code == case.code,
                                                         HumanTask.state == TaskState.READY))
    holds = any(t.assignee_id == user.id or (t.assignee_id is None and access.offered_to(user, t))
                for t in open_tasks)
    before_committee = session.scalar(select(Conference.id).where(Conference.case_id == case.id,
                                                                  Conference.outcome.is_(None)).limit(1)) is not None
    if not access.may_view_case(user, case, supervisee_ids(session, user.id), holds_task=holds,
                                before_committee=before_committee):
        raise Forbidden(N_("case %(code)s is not one you work on: this step cannot be taken by you")
                        % {"code": case.code})


def finish(ctx: OperationContext, case: Case, data: dict, **result) -> dict:
    """Publish the case context and return ``result`` (with the context) as the op result.
    The R33 header fields a form may echo back are replaced by the record's values."""
    data.pop("form_date", None)
    return {**publish_context(ctx.uow.session, case, data), **result}


@operation("case.context")
def load_context(ctx: OperationContext, data: dict, start_clock_now: bool = False,
                 start_plan_clock: bool = False) -> dict:
    """Publish the case context. ``start_clock_now``: deadlines "from registration" now
    count from this moment (a reopened case's reassessment, R24). ``start_plan_clock``:
    the case plan's deadline counts from this moment unless the assessment before it
    already started that clock (R17: a plan sent back keeps it)."""
    case = case_of(ctx)
    if start_clock_now:
        start_clock(data, clock.now())
    elif case.date_registered is not None and "clock_started_at" not in data:
        start_clock(data, case.date_registered)
    if start_plan_clock and PLAN_CLOCK_VARIABLE not in data:
        start_clock(data, clock.now(), PLAN_CLOCK_VARIABLE)
    return finish(ctx, case, data)


@operation("case.record_step")
def record_step(ctx: OperationContext, data: dict, step: str, form: str | None = None, stage: str | None = None,
                date_field: str | None = None, text_fields: list | None = None,
                answer_fields: list | None = None, start_plan_clock: bool = False) -> dict:
    """Record a form that needs no decision of its own (e.g. the emergency response, the
    start of the comprehensive assessment) in the timeline: ``text_fields`` move out of
    the workflow data into the case file, ``answer_fields`` (flags, choices) are copied.
    Optionally a new stage and a tracking date (one of ``TRACKING_DATES``);
    ``start_plan_clock``: the case plan's deadline counts from now (the completed
    assessment, R17)."""
    case = case_of(ctx)
    if date_field is not None:
        if date_field not in TRACKING_DATES:
            raise ValueError(f"case.record_step cannot set {date_field!r} (one of {', '.join(TRACKING_DATES)})")
        setattr(case, date_field, clock.now())
    if start_plan_clock:
        start_clock(data, clock.now(), PLAN_CLOCK_VARIABLE)
    texts = take_text(data, *(text_fields or ()))
    answers = {name: data.get(name) for name in (answer_fields or ()) if name in data}
    record_event(ctx.uow, case, ctx.actor_id, "form", step, form=form, **answers, **texts)
    if stage:
        set_stage(ctx.uow, case, ctx.actor_id, stage)
    return finish(ctx, case, data, step=step)


@operation("case.record_screening")
def record_screening(ctx: OperationContext, data: dict) -> dict:
    """R01/R02: the screening's answers. The screener becomes the intake worker (published
    as ``intake_worker``); immediate danger marks the case in crisis and provisionally high
    risk until it is rated."""
    case = case_of(ctx)
    eligible, danger = bool(data.get("eligible")), bool(data.get("immediate_danger"))
    case.intake_worker_id = ctx.actor_id
    criteria = data.get("vulnerability_criteria") or []
    texts = take_text(data, "screening_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form",
                 f"screened: {'eligible' if eligible else 'not eligible'}"
                 f"{', in immediate danger' if danger else ''}", form="case_screening",
                 eligible=eligible, immediate_danger=danger, vulnerability_criteria=criteria, **texts)
    if eligible:
        case.date_intake = clock.now()
    if danger:
        case.in_crisis = True
        set_risk(ctx.uow, case, ctx.actor_id, RiskLevel.HIGH, "provisional: immediate danger at screening")
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.EMERGENCY)
    elif eligible:
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.ADMISSION)
    data["intake_worker"] = username(ctx.uow.session, ctx.actor_id)
    return finish(ctx, case, data, eligible=eligible, immediate_danger=danger)


@operation("case.end_without_action")
def end_without_action(ctx: OperationContext, data: dict, reason: str) -> dict:
    """R01 "no action required" (or R10 low risk): the person was informed and referred
    elsewhere; the case ends without case management."""
    if reason not in NO_ACTION_REASONS:
        raise ValueError(f"unknown no-action reason {reason!r}")
    case = case_of(ctx)
    texts = take_text(data, "referred_to", "information_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form", f"informed and referred elsewhere ({reason.replace('_', ' ')})",
                 form="case_inform_refer", **texts)
    lifecycle.end_without_case_management(ctx.uow, case, ctx.actor_id, reason, keep_instance_ids=[ctx.instance.id])
    return finish(ctx, case, data, reason=reason)


def consent_complete(data: dict) -> bool:
    """R04, R48: the client's or caregiver's informed consent, and the child's assent
    unless the child is old enough to consent (not applicable)."""
    return data.get("consent") == "given" and data.get("child_assent") in ("given", "not_applicable")


@operation("case.record_legal_mandate")
def record_legal_mandate(ctx: OperationContext, data: dict) -> dict:
    """R48: consent or the child's assent was refused; a supervisor records whether the
    agency has a legal mandate to protect the child anyway (001 §1.3), and on what basis."""
    case = case_of(ctx)
    actor = get_user(ctx.uow.session, ctx.actor_id) if ctx.actor_id is not None else None
    if actor is None or not actor.has_role("supervisor", "director"):
        raise Forbidden("only a supervisor (or the director) records a legal mandate to register without consent")
    mandate = data.get("legal_mandate")
    texts = take_text(data, "mandate_basis", "mandate_notes")
    if mandate == "recorded" and not texts.get("mandate_basis", "").strip():
        raise Invalid("say on what legal basis the agency acts without consent",
                      errors={"mandate_basis": ["required when a legal mandate is recorded"]})
    if mandate == "recorded":
        case.legal_mandate_by, case.legal_mandate_at = actor.id, clock.now()
    record_event(ctx.uow, case, ctx.actor_id, "form",
                 "legal mandate recorded: registration without consent" if mandate == "recorded"
                 else "no legal mandate: the case is not registered", form="case_legal_mandate",
                 legal_mandate=mandate, **texts)
    return finish(ctx, case, data, mandate=mandate == "recorded")


@operation("case.register")
def register(ctx: OperationContext, data: dict) -> dict:
    """R04, R48: registration only with informed consent and the child's assent, or on a
    legal mandate a supervisor recorded. The case code is already the pseudonymous
    identifier (R05). Deadlines "from registration" start now."""
    case = case_of(ctx)
    on_mandate = not consent_complete(data)
    if on_mandate and case.legal_mandate_by is None:
        raise Invalid("a case is registered only with informed consent and the child's assent, or on a legal "
                      "mandate a supervisor recorded",
                      errors={"consent": ["consent and assent must be given to register the case"]})
    now = clock.now()
    case.date_registered = now
    texts = take_text(data, "consent_notes")
    record_event(ctx.uow, case, ctx.actor_id, "form",
                 "registered on a legal mandate" if on_mandate else "consent given; case registered",
                 form="case_consent", consent=data.get("consent"), consent_by=data.get("consent_by"),
                 child_assent=data.get("child_assent"), legal_mandate=on_mandate, **texts)
    set_stage(ctx.uow, case, ctx.actor_id, CaseStage.INTAKE)
    start_clock(data, now)
    return finish(ctx, case, data, registered=True)


@operation("case.assign_caseworker")
def assign_caseworker(ctx: OperationContext, data: dict, max_active_cases: int, max_new_cases: int,
                      new_cases_period_days: int, chosen: str | None = None,
                      override_reason: str | None = None) -> dict:
    """R06/R31: assign the intake worker (or, on reopening, the previous caseworker) when
    within the caps, else the caseworker with the smallest caseload within them. With
    ``chosen`` (a supervisor's pick) assign that person, above the cap only with a reason
    (``override_reason`` or the form's ``cap_override_reason``).
    Result ``assigned``: False means nobody has capacity."""
    case = case_of(ctx)
    rule = assignment.CaseloadRule(int(max_active_cases), int(max_new_cases), int(new_cases_period_days))
    if chosen is not None:
        override_reason = override_reason or data.get("cap_override_reason")
        assignment.assign_chosen(ctx.uow, case, chosen, rule, ctx.actor_id, override_reason)
        take_text(data, "new_caseworker", "cap_override_reason", "reassign_notes")
        return finish(ctx, case, data, assigned=True)
    user = assignment.choose_caseworker(ctx.uow.session, rule, [case.intake_worker_id, case.caseworker_id])
    if user is None:
        record_event(ctx.uow, case, ctx.actor_id, "assignment",
                     f"no caseworker has capacity (cap {rule.max_active_cases} active cases); "
                     "a supervisor assigns", cap=rule.max_active_cases)
        return finish(ctx, case, data, assigned=False)
    assignment.assign(ctx.uow, case, user, ctx.actor_id, "within the caseload cap", cap=rule.max_active_cases)
    return finish(ctx, case, data, assigned=True)


@operation("case.record_escalation")
def record_escalation(ctx: OperationContext, data: dict, about: str = "initial assessment overdue",
                      form: str = "case_escalation") -> dict:
    """R07, R46: the supervisor's answer to work not done in time (an initial assessment at
    the escalation limit, a missed first action or follow-up); naming another caseworker
    reassigns the case and its open tasks."""
    case = case_of(ctx)
    texts = take_text(data, "escalation_notes")
    action = data.get("escalation_action")
    record_event(ctx.uow, case, ctx.actor_id, "form", f"{about}: {str(action).replace('_', ' ')}",
                 form=form, action=action, **texts)
    new_caseworker = data.pop("new_caseworker", None)
    if action == "reassigned":
        if not new_caseworker:
            raise Invalid("name the caseworker who takes the case over",
                          errors={"new_caseworker": ["required when the case is reassigned"]})
        if ctx.actor_id is None:  # reassign_case would find no such account either
            raise Unauthorized("a case is reassigned by a person: this step has no actor")
        assignment.reassign_case(ctx.uow, ctx.actor_id, case.code, new_caseworker, about)
    return finish(ctx, case, data, action=action)


def refuse_needs_counted_twice(red, yellow) -> None:
    """A need is red or yellow, never both: given in both it would count twice (422)."""
    both = sorted({n for n in red or () if isinstance(n, str)} & {n for n in yellow or () if isinstance(n, str)})
    if both:
        message = f"a need is either red or yellow, not both: {', '.join(both)}"
        raise Invalid(message, errors={"red_needs": [message], "yellow_needs": [message]})


@operation("case.record_risk_rating")
def record_risk_rating(ctx: OperationContext, data: dict, kind: str = "initial",
                       low_risk_ends_case: bool = False) -> dict:
    """R08-R11, R16, R43: store the needs, the suggested level (the ``risk_level``
    decision's output in the data) and the level kept: the caseworker's override, with its
    reason, or the suggestion; monitoring starts at that level. Publishes
    ``needs_judgement`` (exactly three yellow needs and no override, R09) and
    ``interim_plan_needed`` (a basic need or safety concern, R16)."""
    case = case_of(ctx)
    refuse_needs_counted_twice(data.get("red_needs"), data.get("yellow_needs"))
    suggested = data.get("risk_level")
    if suggested not in RISK_LEVELS:
        raise ValueError(f"record_risk_rating needs the risk_level decision's output, got {suggested!r}")
    override = data.pop("override_risk_level", None) or None
    texts = take_text(data, "override_reason", "assessment_summary")
    reason = texts.get("override_reason", "").strip()
    if override is not None and override not in RISK_LEVELS:
        raise Invalid(N_("%(value)s is not a risk level") % {"value": repr(override)},
                      errors={"override_risk_level": ["high, medium or low"]})
    if override is not None and override != suggested and not reason:
        raise Invalid("overriding the suggested risk level needs a reason",
                      errors={"override_reason": ["required when you override the suggested level"]})
    level = override or suggested
    judgement = bool(data.get("needs_judgement")) and override is None
    red, yellow = list(data.pop("red_needs", []) or []), list(data.pop("yellow_needs", []) or [])
    basic, safety = bool(data.get("basic_need_unmet")), bool(data.get("safety_concern"))
    ctx.uow.session.add(CaseAssessment(
        case_id=case.id, kind=kind, red_needs_json=json.dumps(red), yellow_needs_json=json.dumps(yellow),
        red_count=len(red), yellow_count=len(yellow), suggested_level=suggested, risk_level=level,
        needs_judgement=judgement, override_reason=reason or None, basic_need_unmet=basic,
        safety_concern=safety, summary=texts.get("assessment_summary", ""), assessed_by=ctx.actor_id,
        at=clock.now()))
    case.risk_suggested = suggested
    case.risk_needs_judgement = judgement
    case.in_crisis = False
    if kind == "initial" and case.date_initial_assessment is None:
        case.date_initial_assessment = clock.now()
    why = f"{kind} assessment: {len(red)} red, {len(yellow)} yellow needs, suggested {suggested}"
    if override is not None and override != suggested:
        why += f", overridden: {reason}"
    record_event(ctx.uow, case, ctx.actor_id, "form", why, form="case_initial_assessment", red_needs=red,
                 yellow_needs=yellow, suggested=suggested, override=override, basic_need_unmet=basic,
                 safety_concern=safety)
    set_risk(ctx.uow, case, ctx.actor_id, level, why, suggested=suggested, override_reason=reason or None)
    set_stage(ctx.uow, case, ctx.actor_id, CaseStage.ASSESSMENT)
    case_processes.monitor_new_rating(ctx.uow, ctx.runtime, case, ctx.actor_id, ctx.instance.id,
                                      bool(low_risk_ends_case))
    data["needs_judgement"] = judgement
    data["interim_plan_needed"] = basic or safety
    return finish(ctx, case, data, suggested=suggested, needs_judgement=judgement,
                  interim_plan_needed=basic or safety)


@operation("case.record_risk_judgement")
def record_risk_judgement(ctx: OperationContext, data: dict, low_risk_ends_case: bool = False) -> dict:
    """R09: the caseworker's judgement on a case the table could only call medium. A
    different level restarts monitoring at it (R43)."""
    case = case_of(ctx)
    level = data.pop("judged_risk_level", None)
    if level not in RISK_LEVELS:
        raise Invalid(N_("%(value)s is not a risk level") % {"value": repr(level)},
                      errors={"judged_risk_level": ["high, medium or low"]})
    texts = take_text(data, "judgement_reason")
    ctx.uow.session.add(CaseAssessment(case_id=case.id, kind="judgement", suggested_level=case.risk_suggested,
                                       risk_level=level, override_reason=texts.get("judgement_reason"),
                                       assessed_by=ctx.actor_id, at=clock.now()))
    case.risk_needs_judgement = False
    record_event(ctx.uow, case, ctx.actor_id, "form", f"risk level judged {level}", form="case_risk_judgement",
                 **texts)
    changed = level != case.risk_level
    set_risk(ctx.uow, case, ctx.actor_id, level, "caseworker's judgement")
    if changed:
        case_processes.monitor_new_rating(ctx.uow, ctx.runtime, case, ctx.actor_id, ctx.instance.id,
                                          bool(low_risk_ends_case))
    data["needs_judgement"] = False
    return finish(ctx, case, data)

