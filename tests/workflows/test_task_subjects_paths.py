"""Rows name their subject and show the case's current risk (issue 13, item 2): the real
diagrams, driven with a frozen clock."""
from __future__ import annotations

from sqlalchemy import select

from engine.models import HumanTask
from tests.workflows.case_driver import COMMITTEE, NEEDS_HIGH, PLAN, CaseDriver, open_case

REFERRALS = [{"provider": "Legal Aid Clinic", "service": "birth registration", "consent_to_share": True},
             {"provider": "Hope School", "service": "catch-up classes", "consent_to_share": True}]


def _open_rows(d: CaseDriver, code: str) -> list[HumanTask]:
    with d.ctx.session_factory() as s:
        return list(s.scalars(select(HumanTask).where(HumanTask.case_code == code, HumanTask.state == "ready")))


def test_R18_each_referral_outcome_task_names_its_provider_and_service(ctx):
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    d.assess(code)
    d.do(code, "case_plan", {**PLAN, "referrals": REFERRALS})
    d.do(code, "approve_case_plan", {"vote": "approve"})

    titles = sorted(t.title for t in d.tasks(code, "track_referral"))
    assert titles == ["Record the outcome of the referral to Hope School (catch-up classes)",
                      "Record the outcome of the referral to Legal Aid Clinic (birth registration)"]


def test_R03_a_vote_task_names_the_kind_of_conference(ctx):
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)
    votes = d.tasks(code, "cast_vote")
    assert len(votes) == len(COMMITTEE)
    assert {t.title for t in votes} == {"Admission conference: your vote"}


def test_R19_the_review_task_says_which_review_it_is(ctx):
    d, code = open_case(ctx)
    review = d.open_review(code)
    assert review.title == "Case review: scheduled review"


def test_R20_a_review_that_lowers_the_risk_changes_every_open_row_of_the_case(ctx):
    d, code = open_case(ctx, NEEDS_HIGH)
    review = d.open_review(code)
    before = _open_rows(d, code)
    assert len(before) >= 2 and {t.risk_level for t in before} == {"high"}
    follow_ups = [t for t in before if t.bpmn_id == "follow_up"]
    assert follow_ups and follow_ups[0].priority == 3

    d.complete("supervisor1", review, {"review_outcome": "continue", "progress": "on_track",
                                       "new_risk_level": "medium", "risk_change_reason": "school attendance steady"})

    after = _open_rows(d, code)
    assert d.case(code).risk_level == "medium"
    assert {t.risk_level for t in after} == {"medium"}  # no row of this case still says high
    untouched = [t for t in after if t.id in {b.id for b in before}]
    assert untouched, "rows open before the review are still open"
    assert all(t.priority == 2 for t in after if t.bpmn_id in ("follow_up", "review_case"))
