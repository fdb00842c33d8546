"""Path tests of a case in implementation: follow-ups and reviews as chains of short
instances, lost contact (inactive) and its two ends, reviews that change the risk level
and send the case back (R12-R14, R19, R20, R26)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, Invalid
from engine.models import CaseNote
from engine.models.case_decisions import CaseReview
from tests.workflows.case_driver import DAY, HOUR, NEEDS_MEDIUM, SQLITE_ONLY, open_case


@SQLITE_ONLY
def test_follow_ups_are_short_instances_at_the_risk_levels_frequency(ctx):
    """R12, R13: a follow-up is due every 3 days for high risk; each one is its own short
    instance that starts the next when done, and records a case note with the R33 header."""
    d, code = open_case(ctx)
    first = d.task(code, "follow_up")
    assert (d.assignee(first), first.due_at, first.priority, first.process_id) == (
        "caseworker1", d.now + 3 * DAY, 3, "case_follow_up")
    d.later(2 * DAY)
    d.do(code, "follow_up", {"contact": "made", "contact_method": "home_visit", "client_words": "I go to school now"})
    second = d.task(code, "follow_up")
    assert second.instance_id != first.instance_id and second.due_at == d.now + 3 * DAY
    follow_ups = [i for i in d.instances(code, None) if i.process_id == "case_follow_up"]
    assert [i.status for i in follow_ups][-2:] == ["complete", "running"]
    case = d.case(code)
    assert (case.date_last_contact, case.date_next_contact) == (d.now, d.now + 3 * DAY)
    with ctx.session_factory() as s:
        note = s.scalar(select(CaseNote))
        assert (note.kind, note.contact_method, note.case_status) == ("follow_up", "home_visit", "O")
        assert (d.username(note.caseworker_id), d.username(note.supervisor_id)) == ("caseworker1", "supervisor1")
        assert "I go to school now" in note.text


@SQLITE_ONLY
def test_medium_risk_follows_up_weekly_and_reviews_every_three_months(ctx):
    """R13, R19: medium → follow-up every 7 days, review within 90 days (its task opens a
    week before the review date)."""
    d, code = open_case(ctx, NEEDS_MEDIUM)
    approved = d.now
    assert d.task(code, "follow_up").due_at == d.now + 7 * DAY
    assert d.case(code).date_next_review == approved + 90 * DAY
    review = d.open_review(code)
    assert (d.now, review.due_at) == (approved + 83 * DAY, approved + 90 * DAY)


@SQLITE_ONLY
def test_lost_contact_makes_the_case_inactive_until_contact_resumes(ctx):
    """R26: contact lost → inactive (IA), follow-ups pause, the caseworker traces the client
    (within 30 days); contact resumed → open again and follow-ups restart."""
    d, code = open_case(ctx)
    d.do(code, "follow_up", {"contact": "contact_lost"})
    case = d.case(code)
    assert (case.status, case.date_inactive) == ("IA", d.now)
    trace = d.task(code, "trace_client")
    assert (d.assignee(trace), trace.due_at) == ("caseworker1", d.now + 30 * DAY)
    assert d.tasks(code, "follow_up") == []
    d.later(5 * DAY)
    d.do(code, "trace_client", {"trace_outcome": "contact_resumed", "trace_notes": "found at aunt's"})
    assert d.case(code).status == "O"
    assert d.task(code, "follow_up").due_at == d.now + 3 * DAY


def test_untraceable_inactive_case_is_closed_after_review_and_authorisation(ctx):
    """R26, R22: untraceable → closure (moved away / untraceable), reviewed and authorised;
    the main process waiting for a closure request ends with the case."""
    d, code = open_case(ctx)
    d.do(code, "follow_up", {"contact": "contact_lost"})
    d.later(30 * DAY)
    d.do(code, "trace_client", {"trace_outcome": "untraceable"})
    d.do(code, "closure_review", {"vote": "approve"})
    d.vote_all(code)
    case = d.case(code)
    assert (case.status, case.closure_reason) == ("C", "moved_away_or_untraceable")
    assert d.ready(code) == ["post_closure_visit"]
    main = [i for i in d.instances(code, None) if i.process_id == "case_management"]
    assert [i.status for i in main] == ["cancelled"]


@SQLITE_ONLY
def test_review_is_chaired_by_the_supervisor_not_the_caseworker(ctx):
    """R19: the review goes to the supervisor; the caseworker cannot chair it."""
    d, code = open_case(ctx)
    approved = d.now
    review = d.open_review(code)
    assert (d.assignee(review), review.due_at) == ("supervisor1", approved + 30 * DAY)
    with pytest.raises(Forbidden):
        d.complete("caseworker1", review, {"review_outcome": "continue"})
    d.do(code, "review_case", {"review_outcome": "continue", "progress": "on_track"})
    (notice,) = d.timers(code, "wait_for_notice")
    assert notice.due_at == d.now + 23 * DAY and d.case(code).date_next_review == d.now + 30 * DAY
    assert d.case(code).date_last_review == d.now


def test_review_lowers_the_risk_level_and_sends_the_case_back_to_assessment(ctx):
    """R20: a new risk level needs a reason; it changes the follow-up frequency at once and
    the case goes back to a reassessment and a new plan."""
    d, code = open_case(ctx)
    d.open_review(code)
    with pytest.raises(Invalid):
        d.do(code, "review_case", {"review_outcome": "reassess", "new_risk_level": "medium"})
    d.do(code, "review_case", {"review_outcome": "reassess", "new_risk_level": "medium",
                               "risk_change_reason": "immediate dangers removed"})
    case = d.case(code)
    assert (case.risk_level, case.stage) == ("medium", "assessment")
    assert d.task(code, "follow_up").due_at == d.now + 7 * DAY
    reassessment = d.task(code, "initial_assessment")
    assert (reassessment.process_id, d.assignee(reassessment), reassessment.due_at) == (
        "case_reassessment", "caseworker1", d.now + DAY)
    with ctx.session_factory() as s:
        review = s.scalar(select(CaseReview))
        assert (review.risk_before, review.risk_after, review.outcome) == ("high", "medium", "reassess")
    d.do(code, "initial_assessment", NEEDS_MEDIUM)
    d.do(code, "case_plan", {"goals": "stay in school", "actions": "monthly visits"})
    d.do(code, "approve_case_plan", {"vote": "approve"})
    assert d.case(code).stage == "implementation"
    assert len(d.tasks(code, "follow_up")) == 1 and d.tasks(code, "review_case") == []
    (notice,) = d.timers(code, "wait_for_notice")
    assert (notice.due_at, d.case(code).date_next_review) == (d.now + 83 * DAY, d.now + 90 * DAY)


@SQLITE_ONLY
def test_a_worse_situation_at_follow_up_brings_the_review_forward(ctx):
    """R19: "sooner for high risk": a worsening follow-up reschedules the review within the
    level's intervention time (high: 48 h)."""
    d, code = open_case(ctx)
    d.later(DAY)
    d.do(code, "follow_up", {"contact": "made", "risk_concern": True})
    review = d.task(code, "review_case")
    assert review.due_at == d.now + 48 * HOUR
