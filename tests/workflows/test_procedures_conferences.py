"""Path tests of case conferences on open cases (R47): a case review conference and an
emergency conference after an incident, decided by the committee with its quorum
(``committee_rules``), whose outcomes change the plan or the risk rating. They drive the
real ``case_conference`` diagram with a frozen clock."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.committee import review_conferences
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import CaseEvent
from engine.models.case_decisions import CaseReview, Conference
from engine.process.decision_parameters import decision_row
from tests.webui.test_pages_support import sign_in
from tests.workflows.case_driver import COMMITTEE, DAY, HOUR, NEEDS_MEDIUM, SQLITE_ONLY, open_case

VOTERS = ("committee1", "committee2", "director1", "supervisor1")  # every member but the case's caseworker


def timeframes(ctx, level: str) -> dict:
    with ctx.session_factory() as s:
        row = decision_row(s, "risk_timeframes", risk_level=level)
    assert row, level
    return row


def call(d, code, kind="case_review", by="supervisor1", reason="progress stalled at school"):
    with d.ctx.uow() as uow:
        return review_conferences.call_conference(uow, d.ctx.runtime, d.uid(by), code, kind, reason)


def conference_of(d, code) -> Conference:
    with d.ctx.session_factory() as s:
        return s.scalars(select(Conference).where(Conference.kind.in_(review_conferences.OPEN_CASE_KINDS))
                         .order_by(Conference.id.desc())).first()


def test_r47_case_review_conference_keeps_an_approved_plan(ctx):
    """R47: the supervisor calls a case review conference on an open case; every committee
    member but the caseworker votes within committee_rules' time (120 h); a majority keeps
    the plan, the supervisor records the conclusions and the case carries on, with the
    conference as its latest review meeting."""
    d, code = open_case(ctx)
    conference = call(d, code)
    assert d.case(code).stage == "review"
    votes = d.tasks(code, "cast_vote")
    assert sorted(d.assignee(t) for t in votes) == sorted(VOTERS)
    assert {t.due_at for t in votes} == {d.now + 120 * HOUR}
    d.later(HOUR)
    d.vote_all(code, "approve", members=VOTERS)
    conclusions = d.task(code, "record_conclusions")
    assert (d.assignee(conclusions), conclusions.role) == ("supervisor1", "supervisor")
    d.do(code, "record_conclusions", {"risk_changed": False, "minutes": "plan on track"})
    case = d.case(code)
    assert (case.stage, case.date_last_review) == ("implementation", d.now)
    with ctx.session_factory() as s:
        review = s.scalar(select(CaseReview).where(CaseReview.instance_id == conference.instance_id))
        assert (review.outcome, d.username(review.reviewed_by)) == ("continue", "supervisor1")
        assert s.get(Conference, conference.id).outcome == "approved"
    assert [i.process_id for i in d.instances(code) if i.process_id == "case_reassessment"] == []


@SQLITE_ONLY
def test_r47_a_plan_the_committee_rejects_goes_back_to_planning(ctx):
    """R47 (with R20): the committee rejects the plan: the case goes back to planning and
    its caseworker revises the plan for the supervisor's approval."""
    d, code = open_case(ctx)
    call(d, code)
    d.vote_all(code, "reject", members=VOTERS)
    d.do(code, "record_conclusions", {"risk_changed": False, "follow_up_actions": "new school plan"})
    assert d.case(code).stage == "planning"
    plan = d.task(code, "case_plan")
    assert (d.assignee(plan), plan.process_id) == ("caseworker1", "case_reassessment")
    assert d.tasks(code, "initial_assessment") == []
    with ctx.session_factory() as s:
        assert s.scalar(select(CaseReview.outcome).order_by(CaseReview.id.desc())) == "revise_plan"


def test_r47_emergency_conference_after_an_incident_has_the_risk_rated_again_and_monitoring_restarts_R43(
        ctx, client, token_for):
    """R47: the caseworker records an incident and calls an emergency conference (POST
    /api/cases/<code>/conferences); members vote within 24 h; two of four votes are a
    quorum once voting closes; the committee finds the risk changed, so the caseworker
    rates it again (a new risk rating) and revises the plan. R43: the new rating (high)
    replaces the medium monitoring: the immediate action within the high intervention time,
    follow-ups at the high cadence (``risk_timeframes``), the medium follow-up cancelled."""
    d, code = open_case(ctx, NEEDS_MEDIUM)
    resp = client.post(f"/api/cases/{code}/conferences", headers=token_for("caseworker1"),
                       json={"kind": "emergency_review", "reason": "child hurt at the market"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["kind"], body["members"], body["case_code"]) == ("emergency_review", 4, code)
    with ctx.session_factory() as s:
        incident = s.scalar(select(CaseEvent).where(CaseEvent.kind == "incident"))
        assert "child hurt at the market" in incident.summary
    assert {t.due_at for t in d.tasks(code, "cast_vote")} == {d.now + 24 * HOUR}
    d.vote_all(code, "approve", members=("committee1", "director1"))
    d.fire(code, "voting_closes")
    assert conference_of(d, code).outcome == "approved"
    d.do(code, "record_conclusions", {"risk_changed": True, "minutes": "new danger at the market"})
    case = d.case(code)
    assert case.stage == "assessment"
    rating = d.task(code, "initial_assessment")
    assert (d.assignee(rating), rating.process_id) == ("caseworker1", "case_reassessment")
    medium_follow_up = d.task(code, "follow_up")
    d.later(2 * HOUR)
    d.do(code, "initial_assessment", {"red_needs": ["child_labour"], "yellow_needs": []})
    assert d.case(code).risk_level == "high"
    high, rated = timeframes(ctx, "high"), d.now
    assert d.task(code, "immediate_action").due_at == rated + high["intervene_within_hours"] * HOUR
    follow_up = d.task(code, "follow_up")
    assert follow_up.due_at == rated + high["follow_up_until_action_every_days"] * DAY
    assert medium_follow_up.id in {t.id for t in d.tasks(code, "follow_up", state="cancelled")}
    d.at(follow_up.due_at)
    d.do(code, "follow_up", {"contact": "made", "contact_method": "phone"})
    assert d.task(code, "follow_up").due_at == d.now + high["follow_up_until_action_every_days"] * DAY


@SQLITE_ONLY
def test_r47_only_people_on_an_open_case_call_one_conference_at_a_time(ctx, client, token_for):
    """R47: another caseworker may not call a conference on the case (403, nothing
    written); a second conference while one is under way is refused (409); the kind must be
    one of the two (422); the caseworker may not record the conclusions."""
    d, code = open_case(ctx)
    with pytest.raises(Forbidden):
        call(d, code, by="caseworker2")
    assert d.tasks(code, "cast_vote") == []
    resp = client.post(f"/api/cases/{code}/conferences", headers=token_for("supervisor1"),
                       json={"kind": "admission", "reason": "x"})
    assert resp.status_code == 422
    with pytest.raises(Invalid):
        call(d, code, reason="  ")
    call(d, code)
    with pytest.raises(Conflict):
        call(d, code, kind="emergency_review", by="caseworker1")
    assert len(d.tasks(code, "cast_vote")) == len(COMMITTEE)
    d.vote_all(code, "approve", members=VOTERS)
    task = d.task(code, "record_conclusions")
    with pytest.raises(Forbidden):
        d.complete("caseworker1", task, {"risk_changed": False})


@SQLITE_ONLY
def test_r47_the_committee_page_names_the_conference_in_words(app, token_for, client):
    """R47: a member's agenda shows "Case review conference" with the case code, never the
    stored value of the kind."""
    d, code = open_case(app.extensions["engine_ctx"])
    resp = client.post(f"/api/cases/{code}/conferences", headers=token_for("supervisor1"),
                       json={"kind": "case_review", "reason": "quarterly review"})
    assert resp.status_code == 201
    html = sign_in(app, "committee1").get("/committee").get_data(as_text=True)
    assert "Case review conference" in html and code in html
    assert "case_review" not in html and "Case_review" not in html
