"""Path tests of assessment and planning: the initial assessment's deadline and
escalation, risk rating and its effect on priorities and due dates, interim and case
plans, referrals (R07-R18), and a DMN change redeployed without code."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.case import files as case_files
from engine.errors import Forbidden, Invalid
from engine.models import ProcessInstance, ServiceReferral
from engine.models.case_decisions import CaseAssessment, CasePlan
from engine.process import deployment
from engine.process.decision_parameters import decision_row
from engine.settings import PROJECT_ROOT
from tests.workflows.case_driver import DAY, HOUR, NEEDS_HIGH, NEEDS_LOW, NEEDS_MEDIUM, PLAN, T0, CaseDriver

# Variants of a route run on SQLite only (the suite stays fast); the backbone tests without
# this mark run on SQLite and PostgreSQL.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def risk_timeframes(ctx, level: str) -> dict:
    with ctx.session_factory() as s:
        row = decision_row(s, "risk_timeframes", risk_level=level)
    assert row, level
    return row


def registered_case(ctx, at=T0):
    d = CaseDriver(ctx, at)
    code = d.refer()
    d.to_registered(code)
    return d, code


def test_R07_initial_assessment_due_24h_after_registration_and_escalated_at_48h(ctx):
    """R07: due 24 h after registration; at 48 h the supervisor gets an escalation while the
    assessment stays with the caseworker; once assessed, the escalation is withdrawn."""
    d, code = registered_case(ctx)
    registered = d.case(code).date_registered
    assessment = d.task(code, "initial_assessment")
    assert (d.assignee(assessment), assessment.role) == ("caseworker1", "caseworker")
    assert assessment.due_at == registered + DAY
    timer = d.fire(code, "assessment_overdue")
    assert timer.due_at == registered + 2 * DAY
    escalation = d.task(code, "escalate_initial_assessment")
    assert (d.assignee(escalation), escalation.priority) == ("supervisor1", 3)
    assert escalation.due_at == d.now + DAY  # case_timeframes.escalation_response_hours
    assert d.task(code, "initial_assessment").id == assessment.id

    d.do(code, "initial_assessment", NEEDS_MEDIUM)
    assert d.tasks(code, "escalate_initial_assessment") == []
    assert "escalate_initial_assessment" in {t.bpmn_id for t in d.tasks(code, state="cancelled")}


@SQLITE_ONLY
def test_escalated_assessment_can_be_reassigned_by_the_supervisor(ctx):
    """R07, R29: the supervisor answers the escalation by handing the case to another
    caseworker; the open assessment moves with it."""
    d, code = registered_case(ctx)
    d.fire(code, "assessment_overdue")
    d.do(code, "escalate_initial_assessment", {"escalation_action": "reassigned", "new_caseworker": "caseworker2"})
    assert d.assignee(d.task(code, "initial_assessment")) == "caseworker2"
    assert d.username(d.case(code).caseworker_id) == "caseworker2"
    d.do(code, "initial_assessment", NEEDS_MEDIUM)
    assert d.assignee(d.task(code, "comprehensive_start")) == "caseworker2"


@SQLITE_ONLY
def test_high_risk_sets_priority_and_the_due_dates_that_follow(ctx):
    """R08, R12, R15, R16, R17: a red need → high; the interim plan (basic need unmet) is due
    within 48 h; the comprehensive assessment starts within 7 days and completes within 30
    of registration; the plan within 14 days of the assessment; all at high priority."""
    d, code = registered_case(ctx)
    registered = d.case(code).date_registered
    d.later(3 * HOUR)
    d.do(code, "initial_assessment", {**NEEDS_HIGH, "basic_need_unmet": True})
    case = d.case(code)
    assert (case.risk_level, case.risk_suggested, case.stage) == ("high", "high", "assessment")
    interim, start = d.task(code, "interim_plan"), d.task(code, "comprehensive_start")
    assert interim.due_at == d.now + 48 * HOUR and interim.priority == 3
    assert start.due_at == registered + 7 * DAY and start.priority == 3
    d.do(code, "interim_plan", {"immediate_actions": "food parcel today"})
    d.later(2 * DAY)
    d.do(code, "comprehensive_start", {"assessment_method": "home_visit"})
    assert d.task(code, "comprehensive_assessment").due_at == registered + 30 * DAY
    d.later(5 * DAY)
    d.do(code, "comprehensive_assessment", {"needs_summary": "school, income"})
    plan = d.task(code, "case_plan")
    assert (d.assignee(plan), plan.due_at, plan.priority) == ("caseworker1", d.now + 14 * DAY, 3)
    assert d.case(code).date_comprehensive_completed == d.now
    with ctx.session_factory() as s:
        assert s.scalar(select(CasePlan.kind).where(CasePlan.kind == "interim")) == "interim"


@SQLITE_ONLY
def test_medium_risk_without_basic_need_has_no_interim_plan(ctx):
    """R09, R13, R16: one yellow need → medium; no basic need or safety concern → no
    interim plan; tasks at medium priority."""
    d, code = registered_case(ctx)
    d.do(code, "initial_assessment", NEEDS_MEDIUM)
    assert d.case(code).risk_level == "medium"
    assert d.ready(code) == ["comprehensive_start", "follow_up", "intervention"]  # no interim_plan
    assert d.task(code, "comprehensive_start").priority == 2


@SQLITE_ONLY
def test_safety_concern_opens_an_interim_plan_due_at_the_medium_intervention_time(ctx):
    """R13, R16: medium risk with a safety concern → interim plan due within 7 days."""
    d, code = registered_case(ctx)
    d.do(code, "initial_assessment", {**NEEDS_MEDIUM, "safety_concern": True})
    assert d.task(code, "interim_plan").due_at == d.now + 168 * HOUR


@SQLITE_ONLY
def test_three_yellow_needs_ask_for_the_caseworkers_judgement(ctx):
    """R09: exactly three yellow needs → medium and flagged; the caseworker judges."""
    d, code = registered_case(ctx)
    d.do(code, "initial_assessment", {"red_needs": [], "yellow_needs": ["disability", "child_labour", "woman_at_risk"]})
    case = d.case(code)
    assert (case.risk_level, case.risk_needs_judgement) == ("medium", True)
    judge = d.task(code, "judge_risk")
    assert d.assignee(judge) == "caseworker1"
    d.do(code, "judge_risk", {"judged_risk_level": "high", "judgement_reason": "the three needs compound"})
    case = d.case(code)
    assert (case.risk_level, case.risk_needs_judgement) == ("high", False)
    assert d.task(code, "comprehensive_start").priority == 3


@SQLITE_ONLY
def test_low_risk_gets_information_within_two_weeks_and_no_case_management(ctx):
    """R10, R14: no specific need → low; information or referral within 2 weeks (336 h),
    then the case ends without case management."""
    d, code = registered_case(ctx)
    d.do(code, "initial_assessment", NEEDS_LOW)
    info = d.task(code, "low_risk_information")
    assert (d.assignee(info), info.due_at, info.priority) == ("caseworker1", d.now + 336 * HOUR, 1)
    d.do(code, "low_risk_information", {"information_given": True, "referred_to": "community centre"})
    case = d.case(code)
    assert (case.status, case.stage, case.closure_reason, case.risk_level) == ("C", "no_action", "low_risk", "low")


@SQLITE_ONLY
def test_override_of_the_suggested_level_needs_a_reason_which_is_kept_and_drives_monitoring_R11_R43(ctx):
    """R11: overriding without a reason is refused (422) and changes nothing; with a reason
    the level is the caseworker's and the suggestion and reason are kept. R43: monitoring
    follows the caseworker's level, not the suggestion: the high immediate action within the
    high intervention time and follow-ups at the high cadence (``risk_timeframes``)."""
    d, code = registered_case(ctx)
    task = d.task(code, "initial_assessment")
    with ctx.session_factory() as s:
        version = s.get(ProcessInstance, task.instance_id).version
    with pytest.raises(Invalid) as refused:
        d.complete("caseworker1", task, {**NEEDS_MEDIUM, "override_risk_level": "high"})
    assert "override_reason" in refused.value.errors
    with ctx.session_factory() as s:
        assert s.get(ProcessInstance, task.instance_id).version == version
    assert d.case(code).risk_level is None
    d.complete("caseworker1", task, {**NEEDS_MEDIUM, "override_risk_level": "high",
                                      "override_reason": "violence at home reported by a neighbour"})
    case = d.case(code)
    assert (case.risk_level, case.risk_suggested) == ("high", "medium")
    with ctx.session_factory() as s:
        rating = s.scalar(select(CaseAssessment).where(CaseAssessment.kind == "initial"))
        assert (rating.suggested_level, rating.risk_level) == ("medium", "high")
        assert rating.override_reason == "violence at home reported by a neighbour"
    high, rated = risk_timeframes(ctx, "high"), d.now
    assert d.task(code, "immediate_action").due_at == rated + high["intervene_within_hours"] * HOUR
    assert d.tasks(code, "intervention") == []  # not the medium suggestion's first action
    follow_up = d.task(code, "follow_up")
    assert follow_up.due_at == rated + high["follow_up_until_action_every_days"] * DAY
    d.at(follow_up.due_at)
    d.do(code, "follow_up", {"contact": "made", "contact_method": "home_visit"})
    assert d.task(code, "follow_up").due_at == d.now + high["follow_up_until_action_every_days"] * DAY


def test_invalid_form_data_is_refused_with_field_errors_and_changes_nothing(ctx):
    """Invalid data (not a list of need codes, an unknown code, an unknown field) → 422
    with per-field errors; the instance, the case and the task are as before."""
    d, code = registered_case(ctx)
    task = d.task(code, "initial_assessment")
    with ctx.session_factory() as s:
        before = s.get(ProcessInstance, task.instance_id)
        version, state = before.version, before.state_json
    with pytest.raises(Invalid) as refused:
        d.complete("caseworker1", task, {"red_needs": "child_labour", "yellow_needs": ["no_such_need"], "name": "x"})
    assert {"red_needs", "yellow_needs.0", "name"} <= set(refused.value.errors)
    with ctx.session_factory() as s:
        after = s.get(ProcessInstance, task.instance_id)
        assert (after.version, after.state_json) == (version, state)
    assert d.task(code, "initial_assessment").id == task.id
    assert d.case(code).risk_level is None


@SQLITE_ONLY
def test_rejected_plan_goes_back_to_the_caseworker_due_from_the_assessment_then_approval_starts_implementation_R17(ctx):
    """R17: the supervisor rejects → a new plan task, still due within 14 days of the completed
    assessment (a plan sent back gets no fresh 14 days; once they have passed it is due at
    once); approval → implementation, with the first review in 30 days (high; its task opens
    a week before) while the follow-ups that began at the rating carry on at their cadence
    (high, immediate action taken: every 3 days)."""
    d, code = registered_case(ctx)
    d.do(code, "initial_assessment", NEEDS_HIGH)
    d.first_action(code)
    d.do(code, "comprehensive_start", {"assessment_method": "remote"})
    d.do(code, "comprehensive_assessment", {"needs_summary": "x"})
    assessed = d.case(code).date_comprehensive_completed
    assert d.task(code, "case_plan").due_at == assessed + 14 * DAY  # case_timeframes.case_plan_days
    d.later(10 * DAY)
    d.do(code, "case_plan", PLAN)
    approval = d.task(code, "approve_case_plan")
    assert (d.assignee(approval), approval.due_at) == ("supervisor1", d.now + 3 * DAY)
    with pytest.raises(Forbidden):
        d.complete("caseworker1", approval, {"vote": "approve"})
    d.later(2 * DAY)
    d.do(code, "approve_case_plan", {"vote": "reject", "comment": "add a contingency"})
    assert d.ready(code) == ["case_plan", "follow_up"]
    assert d.task(code, "case_plan").due_at == assessed + 14 * DAY  # not the rejection + 14 days
    d.later(3 * DAY)
    d.do(code, "case_plan", PLAN)
    d.do(code, "approve_case_plan", {"vote": "reject", "comment": "still no contingency"})
    assert d.task(code, "case_plan").due_at == d.now  # the 14 days have passed: due at once
    follow_up = d.task(code, "follow_up")
    d.later(DAY)
    d.do(code, "case_plan", {**PLAN, "contingency_plan": "kinship care"})
    d.do(code, "approve_case_plan", {"vote": "approve"})
    case = d.case(code)
    assert (case.stage, case.date_plan_approved) == ("implementation", d.now)
    assert d.task(code, "follow_up").id == follow_up.id  # the follow-up chain is not restarted
    (notice,) = d.timers(code, "wait_for_notice")
    assert (notice.due_at, case.date_next_review) == (d.now + 23 * DAY, d.now + 30 * DAY)
    assert d.ready(code) == ["follow_up", "request_closure"]
    with ctx.session_factory() as s:
        assert [p.status for p in s.scalars(select(CasePlan).order_by(CasePlan.id))] == ["rejected", "rejected",
                                                                                          "approved"]


@SQLITE_ONLY
def test_referrals_need_consent_to_share_and_their_outcome_is_tracked(ctx):
    """R18: a referral without consent to share is refused (422, nothing changes); with
    consent it is made at approval and its outcome tracked in its own instance."""
    d, code = registered_case(ctx)
    d.do(code, "initial_assessment", NEEDS_MEDIUM)
    d.first_action(code)
    d.do(code, "comprehensive_start", {"assessment_method": "remote"})
    d.do(code, "comprehensive_assessment", {"needs_summary": "x"})
    refused_referral = {"provider": "Clinic", "service": "counselling", "consent_to_share": False}
    with pytest.raises(Invalid) as refused:
        d.do(code, "case_plan", {**PLAN, "referrals": [refused_referral]})
    assert "referrals.0.consent_to_share" in refused.value.errors
    assert d.ready(code) == ["case_plan", "follow_up"]
    d.do(code, "case_plan", {**PLAN, "referrals": [{**refused_referral, "consent_to_share": True}]})
    d.do(code, "approve_case_plan", {"vote": "approve"})
    track = d.task(code, "track_referral")
    assert (d.assignee(track), track.due_at, track.process_id) == ("caseworker1", d.now + 14 * DAY, "case_referral")
    d.do(code, "track_referral", {"referral_outcome": "accepted_ongoing"})
    again = d.task(code, "track_referral")
    assert again.id != track.id
    d.do(code, "track_referral", {"referral_outcome": "completed", "referral_notes": "six sessions done"})
    with ctx.session_factory() as s:
        referral = s.scalar(select(ServiceReferral))
        assert (referral.provider, referral.consent_to_share, referral.status) == ("Clinic", True, "completed")
        assert referral.outcome == "six sessions done" and referral.outcome_at == d.now
    assert d.tasks(code, "track_referral") == []


def _dmn_with_high_intervention(hours: int) -> str:
    text = (PROJECT_ROOT / "workflows" / "dmn" / "risk_timeframes.dmn").read_text()
    old = '<dmn:outputEntry id="rule_r12_high_out1"><dmn:text>48</dmn:text></dmn:outputEntry>'
    assert old in text
    return text.replace(old, old.replace(">48<", f">{hours}<"))


def test_changing_a_number_in_a_dmn_table_changes_new_cases_due_dates(ctx):
    """R12 as data: high-risk intervention 48 h → 24 h in risk_timeframes, redeployed; a new
    case's interim plan is due in 24 h, a case started before keeps its version's 48 h."""
    d, old_code = registered_case(ctx)
    with ctx.uow() as uow:
        results = deployment.deploy_files(uow, {"risk_timeframes.dmn": _dmn_with_high_intervention(24)})
        uow.commit()
    assert {r.process_id for r in results if r.created} >= {"case_management", "case_risk_rating"}

    new_code = d.refer()
    d.to_registered(new_code)
    for code in (old_code, new_code):
        d.do(code, "initial_assessment", {**NEEDS_HIGH, "safety_concern": True})
    assert d.task(old_code, "interim_plan").due_at == d.now + 48 * HOUR
    assert d.task(new_code, "interim_plan").due_at == d.now + 24 * HOUR
    with ctx.session_factory() as s:
        rows = s.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "case_management"))
        versions = {r.case_code: r.model.version for r in rows}
    assert versions[new_code] == versions[old_code] + 1


@SQLITE_ONLY
def test_the_r33_header_a_form_echoes_back_is_the_systems_not_the_senders(ctx):
    """R33: the header fields are read-only: a form that sends other values changes neither
    who gets the next task nor the case's status; the timeline keeps the true header."""
    d, code = registered_case(ctx)
    d.do(code, "initial_assessment", {**NEEDS_MEDIUM, "caseworker": "caseworker2", "supervisor": "committee1",
                                      "case_status": "C", "case_code": "CM-FAKE-CODE", "form_date": "2020-01-01"})
    assert d.assignee(d.task(code, "comprehensive_start")) == "caseworker1"
    assert d.case(code).status == "O"
    with ctx.uow() as uow:
        file = case_files.get_case_file(uow, d.uid("caseworker1"), code)
    rating = next(e for e in file.timeline if e.form == "case_initial_assessment")
    assert (rating.case_status, rating.caseworker, rating.supervisor) == ("O", "caseworker1", "supervisor1")
