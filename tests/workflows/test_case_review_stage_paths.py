"""Path tests of the stage while a case review runs (R37): "review" from the moment the
review task opens until it is done, so a declared disruption ranks the case with those
pending or under review; afterwards the case is back where it was."""
from __future__ import annotations

from sqlalchemy import select

from engine.models.crisis import CrisisCaseCheck
from tests.engine.crisis_support import declare, run_crisis_jobs
from tests.workflows.case_driver import NEEDS_MEDIUM, SQLITE_ONLY, open_case


def test_the_stage_is_review_while_the_review_task_is_open_and_returns_after_R37(ctx):
    """R37: implementation → review when the review task opens → implementation when the
    review is recorded (outcome "continue")."""
    d, code = open_case(ctx, NEEDS_MEDIUM)
    assert d.case(code).stage == "implementation"
    d.open_review(code)
    assert d.case(code).stage == "review"
    d.do(code, "review_case", {"review_outcome": "continue", "progress": "on_track"})
    assert d.case(code).stage == "implementation"


@SQLITE_ONLY
def test_a_review_that_sends_the_case_back_leaves_it_in_assessment_R37_R20(ctx):
    """R37, R20: a review that sends the case back to assessment ends with the case in
    assessment, not in review."""
    d, code = open_case(ctx, NEEDS_MEDIUM)
    d.open_review(code)
    d.do(code, "review_case", {"review_outcome": "reassess"})
    assert d.case(code).stage == "assessment"


@SQLITE_ONLY
def test_a_disruption_ranks_a_case_under_review_with_the_pending_ones_R37(ctx):
    """R37 (seed 000 RESUMPTION §2): a medium-risk case under review gets its crisis check
    in the "pending or under review" rank, ahead of an ordinary medium-risk case."""
    d, under_review = open_case(ctx, NEEDS_MEDIUM)
    ordinary = d.refer()
    d.to_registered(ordinary)
    d.assess_and_plan(ordinary, NEEDS_MEDIUM)
    d.open_review(under_review)
    assert (d.case(under_review).stage, d.case(ordinary).stage) == ("review", "implementation")
    declare(ctx, functions=("5.4",))
    run_crisis_jobs(ctx)
    with ctx.session_factory() as s:
        checks = {c.case_code: c for c in s.scalars(select(CrisisCaseCheck))}
    assert checks[under_review].pending_review is True and checks[ordinary].pending_review is False
    assert checks[under_review].check_order < checks[ordinary].check_order
    assert checks[under_review].rank < checks[ordinary].rank
