"""Path tests of monitoring from the risk rating (R43-R46): the first action due within the
level's intervention time, follow-ups at once at the level's cadence and the switch after
the immediate action (high) or the mitigation of imminent risks (medium), a new rating
replacing what was pending, and a missed action or follow-up escalated, the case urgent
and ranked first. Every expected time is read from the deployed ``risk_timeframes``, so
the tests follow the table, not numbers of their own."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.case import dashboards
from engine.errors import Invalid
from engine.models import ServiceReferral
from engine.models.crisis import CrisisCaseCheck
from engine.process import inbox
from engine.process.decision_parameters import decision_row
from tests.engine.crisis_support import declare, run_crisis_jobs
from tests.workflows.case_driver import (
    DAY,
    FIRST_ACTION,
    HOUR,
    NEEDS_HIGH,
    NEEDS_LOW,
    NEEDS_MEDIUM,
    SQLITE_ONLY,
    T0,
    CaseDriver,
    open_case,
)


def timeframes(ctx, level: str) -> dict:
    with ctx.session_factory() as s:
        row = decision_row(s, "risk_timeframes", risk_level=level)
    assert row, level
    return row


def response_hours(ctx) -> int:
    with ctx.session_factory() as s:
        return decision_row(s, "case_timeframes", risk_level="high")["missed_work_response_hours"]


def rated_case(ctx, needs: dict, at=T0) -> tuple[CaseDriver, str]:
    d = CaseDriver(ctx, at)
    code = d.refer()
    d.to_registered(code)
    d.do(code, "initial_assessment", needs)
    return d, code


def first_action_task(d: CaseDriver, code: str):
    (task,) = [t for t in d.tasks(code) if t.bpmn_id in ("immediate_action", "intervention", "information")]
    return task


def test_high_risk_case_with_no_box_ticked_has_an_action_due_within_the_intervention_time_R43_R44(ctx):
    """R43, R44: rated high (one red need) with neither "basic need unmet" nor "safety
    concern" ticked, the case at once has its immediate action due within the DMN's
    intervention time of the rating and its first follow-up at the daily cadence."""
    high = timeframes(ctx, "high")
    d, code = rated_case(ctx, NEEDS_HIGH)
    rated = d.now
    action = d.task(code, "immediate_action")
    assert (d.assignee(action), action.priority, action.process_id) == ("caseworker1", 3, "case_first_action")
    assert action.due_at == rated + high["intervene_within_hours"] * HOUR
    follow_up = d.task(code, "follow_up")
    assert follow_up.due_at == rated + high["follow_up_until_action_every_days"] * DAY
    case = d.case(code)
    assert (case.date_monitoring_started, case.date_next_contact) == (rated, follow_up.due_at)
    assert d.tasks(code, "interim_plan") == []
    assert action.due_at <= rated + 48 * HOUR  # the SOP's maximum (004 §6.2)


def test_six_weeks_of_a_high_risk_case_follow_the_dmn_cadence_switching_after_the_immediate_action_R12_R44(ctx):
    """R12, R44: daily follow-ups until the immediate action is recorded, then at once the
    later cadence ("then twice a week"), every follow-up due exactly one cadence after the
    previous one was done, six weeks on."""
    high = timeframes(ctx, "high")
    daily, later = high["follow_up_until_action_every_days"] * DAY, high["follow_up_after_action_every_days"] * DAY
    d, code = rated_case(ctx, NEEDS_HIGH)
    rated = d.now
    task = d.task(code, "follow_up")
    assert task.due_at == rated + daily  # no action yet: daily
    d.at(task.due_at)
    d.do(code, "follow_up", {"contact": "made", "contact_method": "home_visit"})
    pending = d.task(code, "follow_up")
    assert pending.due_at == d.now + daily
    d.later(12 * HOUR)  # the immediate action, within the intervention time
    assert d.now < rated + high["intervene_within_hours"] * HOUR
    d.first_action(code)
    assert d.case(code).date_first_action == d.now
    assert pending.id in {t.id for t in d.tasks(code, "follow_up", state="cancelled")}
    last_done = d.now  # the follow-ups switch at once
    dues = []
    while True:
        task = d.task(code, "follow_up")
        assert task.due_at == last_done + later, len(dues)
        if task.due_at > rated + 42 * DAY:
            break
        dues.append(task.due_at)
        d.at(task.due_at)
        d.do(code, "follow_up", {"contact": "made", "contact_method": "phone"})
        last_done = d.now
    assert len(dues) >= 12 and d.case(code).date_next_contact == last_done + later
    assert d.case(code).urgent_since is None and d.tasks(code, "follow_up_missed_escalation") == []


def test_six_weeks_of_a_medium_risk_case_follow_the_dmn_cadence_switching_once_risks_are_mitigated_R13_R45(ctx):
    """R13, R45: the intervention is due within 7 days; follow-ups weekly until imminent
    risks are recorded as mitigated (the intervention itself changes nothing), then monthly."""
    medium = timeframes(ctx, "medium")
    weekly = medium["follow_up_until_action_every_days"] * DAY
    monthly = medium["follow_up_after_action_every_days"] * DAY
    d, code = rated_case(ctx, NEEDS_MEDIUM)
    rated, last_done = d.now, d.now
    assert d.task(code, "intervention").due_at == rated + medium["intervene_within_hours"] * HOUR
    d.later(3 * DAY)
    d.first_action(code)
    assert d.task(code, "follow_up").due_at == rated + weekly  # unchanged by the intervention
    for week in range(3):
        task = d.task(code, "follow_up")
        assert task.due_at == last_done + weekly, week
        d.at(task.due_at)
        d.do(code, "follow_up", {"contact": "made", "contact_method": "home_visit",
                                 "imminent_risks_mitigated": week == 2})
        last_done = d.now
    assert d.case(code).date_risks_mitigated == last_done
    monthly_task = d.task(code, "follow_up")
    assert monthly_task.due_at == last_done + monthly and monthly_task.due_at > rated + 42 * DAY
    d.at(monthly_task.due_at)
    d.do(code, "follow_up", {"contact": "made", "contact_method": "phone"})
    assert d.task(code, "follow_up").due_at == d.now + monthly


def test_a_missed_follow_up_escalates_to_the_supervisor_and_the_case_is_urgent_and_ranked_first_R46(ctx):
    """R46: a follow-up not done by its due time goes to the supervisor as an escalation and
    the case becomes urgent: its tasks come first in the caseworker's inbox (before an older
    overdue task of another case) and on the supervisor's dashboard. The late follow-up
    withdraws the escalation and the case is no longer urgent."""
    d = CaseDriver(ctx)
    other = d.refer()
    d.to_registered(other)  # its initial assessment is due at T0 + 24 h
    d.later(3 * DAY)
    code = d.refer()
    d.to_registered(code)
    d.do(code, "initial_assessment", NEEDS_HIGH)
    timer = d.fire(code, "follow_up_missed")
    assert timer.due_at == d.task(code, "follow_up").due_at
    escalation = d.task(code, "follow_up_missed_escalation")
    assert (d.assignee(escalation), escalation.priority) == ("supervisor1", 3)
    assert escalation.due_at == d.now + response_hours(ctx) * HOUR
    case = d.case(code)
    assert (case.urgent_since, case.urgent_reason) == (d.now, "follow-up not done in time")

    d.later(HOUR)
    with ctx.session_factory() as s:
        rows, _ = inbox.task_list(s, d.uid("caseworker1"), scope="mine")
        board = dashboards.supervisor_dashboard(s, d.uid("supervisor1"), ("O", "IA", "AO"), 25)
    codes = [r.case_code for r in rows]
    assert codes[:codes.count(code)] == [code] * codes.count(code) and other in codes
    assert all(r.urgent for r in rows if r.case_code == code)
    assert not any(r.urgent for r in rows if r.case_code == other)
    assert min(r.due_at for r in rows if r.case_code == other) < min(r.due_at for r in rows if r.case_code == code)
    assert [u.case_code for u in board.urgent_cases] == [code]
    assert board.overdue[0].case_code == code

    d.later(HOUR)
    d.do(code, "follow_up", {"contact": "made", "contact_method": "home_visit"})
    assert d.tasks(code, "follow_up_missed_escalation") == []
    assert d.case(code).urgent_since is None


@SQLITE_ONLY
def test_a_missed_immediate_action_keeps_the_case_urgent_until_it_is_recorded_R44_R46(ctx):
    """R44, R46: the immediate action not recorded within the intervention time is escalated
    and the case is urgent; follow-ups done meanwhile do not end the urgency; recording the
    action does, withdraws the escalation and switches the follow-ups to the later cadence."""
    high = timeframes(ctx, "high")
    d, code = rated_case(ctx, NEEDS_HIGH)
    for _ in range(2):
        d.at(d.task(code, "follow_up").due_at)
        d.do(code, "follow_up", {"contact": "attempt_failed"})
    timer = d.fire(code, "immediate_action_missed")
    assert timer.due_at == T0 + high["intervene_within_hours"] * HOUR
    assert d.assignee(d.task(code, "first_action_missed")) == "supervisor1"
    assert d.case(code).urgent_reason == "first action after the risk rating not done in time"
    d.do(code, "first_action_missed", {"escalation_action": "supervisor_acted", "escalation_notes": "called school"})
    d.at(d.task(code, "follow_up").due_at)
    d.do(code, "follow_up", {"contact": "made"})
    assert d.case(code).urgent_since is not None  # the immediate action is still missing
    d.later(HOUR)
    d.first_action(code)
    assert d.case(code).urgent_since is None
    assert d.task(code, "follow_up").due_at == d.now + high["follow_up_after_action_every_days"] * DAY


@SQLITE_ONLY
def test_a_missed_medium_risk_intervention_also_makes_the_case_urgent_R46(ctx):
    """R46 (004 §6.2 note: a case whose timely intervention does not happen moves into
    urgent need): medium risk's missed intervention escalates and flags the case."""
    assert timeframes(ctx, "medium")["missed_makes_urgent"] is True
    d, code = rated_case(ctx, NEEDS_MEDIUM)
    d.fire(code, "intervention_missed")
    assert d.case(code).urgent_since == d.now and d.tasks(code, "first_action_missed")


@SQLITE_ONLY
def test_a_new_rating_replaces_the_pending_first_action_and_follow_up_R43_R09(ctx):
    """R43, R09: three yellow needs are rated medium at once (intervention, weekly
    follow-ups); the caseworker's judgement "high" replaces them with the immediate action
    and daily follow-ups counted from the judgement."""
    d, code = rated_case(ctx, {"red_needs": [], "yellow_needs": ["disability", "child_labour", "woman_at_risk"]})
    medium = timeframes(ctx, "medium")
    assert d.task(code, "follow_up").due_at == d.now + medium["follow_up_until_action_every_days"] * DAY
    intervention = d.task(code, "intervention")
    d.later(5 * HOUR)
    d.do(code, "judge_risk", {"judged_risk_level": "high", "judgement_reason": "the needs compound"})
    high = timeframes(ctx, "high")
    assert d.tasks(code, "intervention") == [] and intervention.id in {t.id for t in d.tasks(code, state="cancelled")}
    assert d.task(code, "immediate_action").due_at == d.now + high["intervene_within_hours"] * HOUR
    assert d.task(code, "follow_up").due_at == d.now + high["follow_up_until_action_every_days"] * DAY
    assert len(d.tasks(code, "follow_up")) == 1


@SQLITE_ONLY
def test_a_review_that_changes_the_level_restarts_monitoring_at_the_new_level_R43_R20(ctx):
    """R43, R20: a review lowering high to medium replaces the follow-up chain with weekly
    follow-ups and asks for the medium-risk intervention."""
    d, code = open_case(ctx)
    d.open_review(code)
    d.do(code, "review_case", {"review_outcome": "continue", "new_risk_level": "medium",
                               "risk_change_reason": "the child is back with the family, safe"})
    medium = timeframes(ctx, "medium")
    assert d.task(code, "intervention").due_at == d.now + medium["intervene_within_hours"] * HOUR
    assert d.task(code, "follow_up").due_at == d.now + medium["follow_up_until_action_every_days"] * DAY


@SQLITE_ONLY
def test_the_immediate_action_may_be_a_referral_to_a_specialised_agency_R44_R18(ctx):
    """R44, R18: if the agency is not specialised it refers without delay: the referral
    needs the agency and the client's consent to share (422 otherwise) and is tracked."""
    d, code = rated_case(ctx, NEEDS_HIGH)
    task = d.task(code, "immediate_action")
    referral = {"first_action": "referred_to_specialised_agency", "action_notes": "referred today"}
    with pytest.raises(Invalid) as refused:
        d.complete("caseworker1", task, referral)
    assert "specialised_referral" in refused.value.errors
    with pytest.raises(Invalid):
        d.complete("caseworker1", task, {**referral, "specialised_referral": {
            "provider": "Child Protection NGO", "service": "case management", "consent_to_share": False}})
    d.complete("caseworker1", task, {**referral, "specialised_referral": {
        "provider": "Child Protection NGO", "service": "case management", "consent_to_share": True}})
    with ctx.session_factory() as s:
        made = s.scalar(select(ServiceReferral))
        assert (made.provider, made.consent_to_share, made.status) == ("Child Protection NGO", True, "pending")
    assert d.tasks(code, "track_referral") and d.case(code).date_first_action == d.now


@SQLITE_ONLY
def test_an_interim_plan_records_the_immediate_action_R16_R44(ctx):
    """R16, R44: with a basic need unmet the interim plan's immediate actions are the first
    action: the separate task ends and the follow-ups switch to the later cadence."""
    high = timeframes(ctx, "high")
    d, code = rated_case(ctx, {**NEEDS_HIGH, "basic_need_unmet": True})
    assert d.task(code, "interim_plan").due_at == d.task(code, "immediate_action").due_at
    d.later(6 * HOUR)
    d.do(code, "interim_plan", {"immediate_actions": "food parcel and a safe room tonight"})
    assert d.tasks(code, "immediate_action") == []
    assert d.task(code, "follow_up").due_at == d.now + high["follow_up_after_action_every_days"] * DAY
    assert d.case(code).date_first_action == d.now


@SQLITE_ONLY
def test_low_risk_at_a_reassessment_gets_the_information_task_within_two_weeks_R14_R43(ctx):
    """R14, R43: a case reassessed as low gets information or a referral within the low
    level's intervention time (2 weeks) and monitoring every two weeks while it stays open."""
    low = timeframes(ctx, "low")
    d, code = open_case(ctx)
    d.open_review(code)
    d.do(code, "review_case", {"review_outcome": "reassess"})
    d.do(code, "initial_assessment", NEEDS_LOW)
    info = d.task(code, "information")
    assert (info.process_id, info.due_at) == ("case_first_action", d.now + low["intervene_within_hours"] * HOUR)
    assert info.due_at == d.now + 14 * DAY
    assert d.task(code, "follow_up").due_at == d.now + low["follow_up_until_action_every_days"] * DAY
    d.first_action(code, {**FIRST_ACTION, "first_action": "information_given"})
    assert d.tasks(code, "information") == []


@SQLITE_ONLY
def test_a_low_risk_case_at_intake_has_only_its_information_task_R10_R14(ctx):
    """R10, R14: rated low at intake, the case gets the information task within 2 weeks and
    ends without case management: no first action or follow-up beside it."""
    d, code = rated_case(ctx, NEEDS_LOW)
    assert d.ready(code) == ["low_risk_information"]
    info = d.task(code, "low_risk_information")
    assert info.due_at == d.now + timeframes(ctx, "low")["intervene_within_hours"] * HOUR
    assert {i.process_id for i in d.instances(code)} <= {"case_management", "case_aged_out"}
    d.do(code, "low_risk_information", {"information_given": True, "referred_to": "community centre"})
    assert d.case(code).status == "C" and d.instances(code) == []  # nothing waits on a case that ended


@SQLITE_ONLY
def test_an_urgent_case_is_checked_first_when_a_disruption_is_declared_R46_R37(ctx):
    """R46, R37: a medium-risk case made urgent by its missed intervention gets the first
    crisis check, before a high-risk case whose monitoring is on time."""
    d, on_time = rated_case(ctx, NEEDS_HIGH)
    urgent = d.refer()
    d.to_registered(urgent)
    d.do(urgent, "initial_assessment", NEEDS_MEDIUM)
    d.fire(urgent, "intervention_missed")
    assert d.case(urgent).urgent_since is not None and d.case(on_time).urgent_since is None
    declare(ctx, functions=("5.1", "5.4"))
    run_crisis_jobs(ctx)
    with ctx.session_factory() as s:
        ranks = {c.case_code: c.rank for c in s.scalars(select(CrisisCaseCheck))}
    assert ranks[urgent] < ranks[on_time]
