"""Path tests of closure: the authorised closure with its post-closure visit, transfer
with and without consent, death, aged-out auto-close, reopening (R21-R25, R27)."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.case import lifecycle
from engine.errors import Conflict, Forbidden
from engine.models import Case, ProcessInstance
from engine.models.case_decisions import ClosureRequest, Conference
from tests.workflows.case_driver import DAY, NEEDS_MEDIUM, SQLITE_ONLY, open_case


def test_admitted_assessed_planned_then_closed_after_review_and_authorisation(ctx):
    """R21, R22, R23: the caseworker requests closure; the supervisor reviews; the committee
    authorises; the case closes, its follow-ups and reviews end; a post-closure visit is
    due within 3 months."""
    d, code = open_case(ctx)
    assert (d.case(code).status, d.case(code).risk_level) == ("O", "high")
    request = d.task(code, "request_closure")
    assert (d.assignee(request), request.due_at, request.priority) == ("caseworker1", None, 3)
    d.later(10 * DAY)
    d.do(code, "request_closure", {"closure_reason": "goals_met", "closure_summary": "back at school"})
    review = d.task(code, "closure_review")
    assert (d.assignee(review), review.due_at) == ("supervisor1", d.now + 7 * DAY)
    assert d.case(code).stage == "closure"
    d.do(code, "closure_review", {"vote": "approve", "comment": "stable for 3 months"})
    votes = d.tasks(code, "cast_vote")
    assert len(votes) == 4 and {t.due_at for t in votes} == {d.now + 7 * DAY}  # committee_rules: closure 168 h
    d.vote_all(code, "approve")

    case = d.case(code)
    assert (case.status, case.closure_reason, case.stage, case.date_closed) == ("C", "goals_met", "post_closure", d.now)
    visit = d.task(code, "post_closure_visit")
    assert (d.assignee(visit), visit.due_at) == ("caseworker1", d.now + 90 * DAY)
    assert d.ready(code) == ["post_closure_visit"]  # follow-up and review chains ended
    assert {i.process_id for i in d.instances(code, "cancelled")} == {"case_follow_up", "case_review", "case_aged_out"}
    with ctx.session_factory() as s:
        closure = s.scalar(select(ClosureRequest))
        assert (closure.status, closure.review_vote, closure.authorised_by_rule) == ("closed", "approve", None)
        assert s.get(Conference, closure.conference_id).outcome == "approved"
    d.later(60 * DAY)
    d.do(code, "post_closure_visit", {"situation": "stable", "client_feedback": "thankful"})
    assert d.case(code).stage == "closed"
    assert {i.status for i in d.instances(code, None) if i.process_id == "case_management"} == {"complete"}


def test_closure_without_authorisation_is_refused_and_changes_nothing(ctx):
    """R22: while the closure is only requested (not authorised by the committee) closing
    the case is refused; the case and its processes are as before."""
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "goals_met"})
    d.do(code, "closure_review", {"vote": "approve"})
    running = [i.id for i in d.instances(code)]
    with ctx.uow() as uow, pytest.raises(Forbidden) as refused:
        lifecycle.close_case(uow, ctx.runtime, d.uid("supervisor1"), code)
    assert "authorised" in refused.value.message
    case = d.case(code)
    assert (case.status, case.date_closed) == ("O", None)
    assert [i.id for i in d.instances(code)] == running


@SQLITE_ONLY
def test_committee_not_authorising_keeps_the_case_open(ctx):
    """R22: the committee rejects → the closure is withdrawn and the caseworker can request
    it again later; the case stays open."""
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "no_longer_wants_services", "safety_confirmed": True})
    d.do(code, "closure_review", {"vote": "approve"})
    d.vote_all(code, "reject")
    case = d.case(code)
    assert (case.status, case.stage) == ("O", "implementation")
    assert "request_closure" in d.ready(code)
    with ctx.session_factory() as s:
        assert s.scalar(select(ClosureRequest.status)) == "withdrawn"


@SQLITE_ONLY
def test_supervisor_review_rejecting_closure_keeps_the_case_open(ctx):
    """R22: no closure conference when the supervisor's review does not support closure."""
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "goals_met"})
    d.do(code, "closure_review", {"vote": "reject", "comment": "one more month"})
    assert d.tasks(code, "cast_vote") == []
    assert "request_closure" in d.ready(code) and d.case(code).status == "O"


@SQLITE_ONLY
def test_transfer_with_consent_and_a_handover_plan(ctx):
    """R25: consent given → handover plan → review → authorisation → closed as transferred;
    no post-closure visit (the receiving agency takes over)."""
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "transfer"})
    consent = d.task(code, "transfer_consent")
    assert (d.assignee(consent), consent.due_at) == ("caseworker1", d.now + 7 * DAY)
    d.do(code, "transfer_consent", {"transfer_consent": "given", "consent_by": "child_and_caregiver"})
    plan = d.task(code, "handover_plan")
    assert plan.due_at == d.now + 14 * DAY
    d.do(code, "handover_plan", {"receiving_agency": "District child protection unit",
                                 "handover_plan": "joint visit, file sent after", "transfer_reason": "family moved"})
    d.do(code, "closure_review", {"vote": "approve"})
    d.vote_all(code, "approve")
    case = d.case(code)
    assert (case.status, case.closure_reason, case.stage) == ("C", "transfer", "closed")
    assert case.date_transferred == d.now
    assert d.ready(code) == []
    with ctx.session_factory() as s:
        closure = s.scalar(select(ClosureRequest))
        assert (closure.transfer_consent, closure.receiving_agency) == ("given", "District child protection unit")


@SQLITE_ONLY
def test_transfer_without_consent_is_not_made(ctx):
    """R25: the child/family refuses → no handover, the case stays open with its caseworker."""
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "transfer"})
    d.do(code, "transfer_consent", {"transfer_consent": "refused", "consent_by": "caregiver"})
    case = d.case(code)
    assert (case.status, case.date_transferred, d.username(case.caseworker_id)) == ("O", None, "caseworker1")
    assert "request_closure" in d.ready(code) and d.tasks(code, "handover_plan") == []


@SQLITE_ONLY
def test_a_transfer_without_consent_is_refused_even_when_authorised(ctx):
    """R25: the closure service itself refuses to hand over a file without recorded consent
    and a handover plan, and changes nothing."""
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "transfer"})
    with ctx.uow() as uow:  # as if the authorisation had been recorded by mistake
        uow.session.execute(update(ClosureRequest).values(status="authorised"))
        uow.commit()
    with ctx.uow() as uow, pytest.raises(Forbidden) as refused:
        lifecycle.close_case(uow, ctx.runtime, d.uid("supervisor1"), code)
    assert "consent" in refused.value.message
    assert (d.case(code).status, d.case(code).date_transferred) == ("O", None)


@SQLITE_ONLY
def test_death_closure_triggers_a_report_and_an_investigation(ctx):
    """R21: death → the supervisor reports to the authorities (high priority, within 24 h)
    before the review and authorisation; closed without a post-closure visit."""
    d, code = open_case(ctx, NEEDS_MEDIUM)
    d.do(code, "request_closure", {"closure_reason": "death"})
    report = d.task(code, "death_report")
    assert (d.assignee(report), report.priority, report.due_at) == ("supervisor1", 3, d.now + DAY)
    d.do(code, "death_report", {"reported_to_authority": True, "report_reference": "MoSA-2026-117"})
    d.do(code, "death_investigation", {"circumstances": "drowned in the river during the floods",
                                       "other_children_at_risk": False})
    d.do(code, "closure_review", {"vote": "approve"})
    d.vote_all(code)
    case = d.case(code)
    assert (case.status, case.closure_reason) == ("C", "death")
    assert d.ready(code) == []
    with ctx.session_factory() as s:
        assert s.scalar(select(ClosureRequest.death_reported_at)) is not None


def test_aged_out_case_closes_automatically_after_six_months(ctx):
    """R27: aged-out (AO) with a transition plan; unless the supervisor agrees to keep it
    open, the case closes by itself 183 days later, authorised by the rule."""
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "aged_out"})
    case = d.case(code)
    assert (case.status, case.date_aged_out) == ("AO", d.now)
    aged_out = d.now
    d.do(code, "transition_plan", {"transition_plan": "vocational training"})
    keep = d.task(code, "keep_open")
    assert (d.assignee(keep), keep.due_at) == ("supervisor1", aged_out + 183 * DAY)
    assert "follow_up" in d.ready(code)  # support continues on the transition plan
    timer = d.fire(code, "auto_close_due")
    assert timer.due_at == aged_out + 183 * DAY
    case = d.case(code)
    assert (case.status, case.closure_reason, case.date_closed) == ("C", "aged_out", aged_out + 183 * DAY)
    with ctx.session_factory() as s:
        assert s.scalar(select(ClosureRequest.authorised_by_rule)) == "R27"
    assert d.ready(code) == ["post_closure_visit"]


@SQLITE_ONLY
def test_aged_out_case_kept_open_by_agreement(ctx):
    """R27 "unless agreed otherwise": the supervisor agrees; no automatic closure, the case
    stays aged-out and the caseworker can close it later."""
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "aged_out"})
    d.do(code, "transition_plan", {"transition_plan": "university"})
    d.do(code, "keep_open", {"agreed_with": "young_person", "keep_open_reason": "exams in 8 months"})
    assert d.timers(code, "auto_close_due") == []
    assert d.case(code).status == "AO" and "request_closure" in d.ready(code)


def test_post_closure_visit_with_concerns_reopens_with_a_reassessment(ctx):
    """R23, R24: concerns at the post-closure visit reopen the case: open again, and the
    first step is a reassessment due 24 h after the reopening, for the same caseworker."""
    d, code = open_case(ctx)
    d.close(code)
    d.later(30 * DAY)
    d.do(code, "post_closure_visit", {"situation": "concerns_reopen", "visit_notes": "father back"})
    case = d.case(code)
    assert (case.status, case.stage, case.reopen_count, case.date_closed) == ("O", "assessment", 1, None)
    assessment = d.task(code, "initial_assessment")
    assert (d.assignee(assessment), assessment.due_at) == ("caseworker1", d.now + DAY)
    assert d.tasks(code, "screening") == [] and d.tasks(code, "cast_vote") == []
    mains = [i for i in d.instances(code, None) if i.process_id == "case_management"]
    assert [i.status for i in mains] == ["complete", "running"]
    assert case.main_instance_id == mains[-1].id
    d.do(code, "initial_assessment", NEEDS_MEDIUM)
    assert d.case(code).risk_level == "medium"


@SQLITE_ONLY
def test_a_closed_case_can_be_reopened_by_its_supervisor(ctx):
    """R24: reopening at any time after closure, by the case's supervisor (not by a stranger,
    not when open); the pending post-closure visit ends."""
    d, code = open_case(ctx)
    with ctx.uow() as uow, pytest.raises(Conflict):
        lifecycle.reopen_case(uow, ctx.runtime, d.uid("supervisor1"), code, "new information")
    d.close(code)
    with ctx.uow() as uow, pytest.raises(Forbidden):
        lifecycle.reopen_case(uow, ctx.runtime, d.uid("committee1"), code, "new information")
    with ctx.uow() as uow:
        lifecycle.reopen_case(uow, ctx.runtime, d.uid("supervisor1"), code, "school reports absences")
        uow.commit()
    assert d.case(code).status == "O"
    assert d.ready(code) == ["initial_assessment"]
    with ctx.session_factory() as s:
        assert s.scalar(select(Case.reopen_count).where(Case.code == code)) == 1
        assert s.scalar(select(ProcessInstance.status).where(ProcessInstance.case_code == code,
                                                            ProcessInstance.process_id == "case_management")
                        .order_by(ProcessInstance.id).limit(1)) == "cancelled"
