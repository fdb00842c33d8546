"""People decide with the facts in view (issue 13, item 1), on the real diagrams: what each
approval, review, vote and redo task shows beside its form (``engine.case.decision_context``)."""
from __future__ import annotations

from engine.case.decision_context import DecisionContext, decision_context
from tests.workflows.case_driver import SQLITE_ONLY, CaseDriver, open_case

pytestmark = SQLITE_ONLY  # the same records on both databases: the backbone paths cover PostgreSQL

GOALS = "Back to school by the next term"
REFERRALS = [{"provider": "Legal Aid Clinic", "service": "birth registration", "consent_to_share": True}]


def shown(d: CaseDriver, code: str, bpmn_id: str) -> DecisionContext:
    task = d.tasks(code, bpmn_id)[0]
    with d.ctx.session_factory() as session:
        context = decision_context(session, task)
    assert context is not None, f"{bpmn_id} shows nothing it decides on"
    return context


def facts(context: DecisionContext) -> dict[str, object]:
    """{label: what is shown} over every section."""
    out: dict[str, object] = {}
    for section in context.sections:
        for fact in section.facts:
            out[fact.label] = fact.text or fact.at or (fact.yes if fact.yes is not None else None) or fact.items
    return out


def _to_plan(d: CaseDriver) -> str:
    code = d.refer()
    d.to_registered(code)
    d.assess(code)
    return code


def test_R17_the_supervisor_approves_the_plan_seeing_its_goals_actions_and_referrals(ctx):
    d = CaseDriver(ctx)
    code = _to_plan(d)
    d.do(code, "case_plan", {"goals": GOALS, "actions": "weekly visits", "agreed_with_client": True,
                             "referrals": REFERRALS})
    context = shown(d, code, "approve_case_plan")
    seen = facts(context)
    assert context.kind == "plan_approval" and context.sent_back is None
    assert seen["Goals"] == GOALS and seen["Actions: who does what, by when"] == "weekly visits"
    assert seen["Referrals"] == ("Legal Aid Clinic — birth registration (consent to share given)",)
    assert seen["Agreed with the client"] is True


def test_R17_a_plan_sent_back_returns_with_its_content_and_the_reason_and_asks_consent_again_R18(ctx):
    d = CaseDriver(ctx)
    code = _to_plan(d)
    d.do(code, "case_plan", {"goals": GOALS, "actions": "weekly visits", "agreed_with_client": True,
                             "referrals": REFERRALS})
    d.complete("supervisor1", d.task(code, "approve_case_plan"), {"vote": "reject", "comment": "Name the visitor"})

    redo = shown(d, code, "case_plan")
    assert redo.sent_back is not None and redo.sent_back.comment == "Name the visitor"
    assert redo.sent_back.by == "supervisor1"
    assert redo.prefill["goals"] == GOALS and redo.prefill["actions"] == "weekly visits"
    assert redo.prefill["referrals"] == [{"provider": "Legal Aid Clinic", "service": "birth registration"}]
    assert "agreed_with_client" not in redo.prefill  # agreement and consent are asked again, never pre-ticked

    d.do(code, "case_plan", {"goals": GOALS + ", with a named visitor", "actions": "the caseworker visits weekly",
                             "agreed_with_client": True, "referrals": REFERRALS})
    again = shown(d, code, "approve_case_plan")  # the supervisor sees their earlier reason beside the new plan
    assert again.sent_back is not None and again.sent_back.comment == "Name the visitor"
    assert facts(again)["Goals"] == GOALS + ", with a named visitor"


def test_R22_the_closure_review_and_the_committees_vote_show_the_reason_summary_and_safety(ctx):
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "no_longer_wants_services", "closure_summary": "Family moved on",
                                   "safety_confirmed": True})
    review = shown(d, code, "closure_review")
    seen = facts(review)
    assert review.kind == "closure"
    assert seen["Reason"] == "The client no longer wants services, and it is safe"  # words, not the stored value
    assert seen["Summary"] == "Family moved on" and seen["The child's safety confirmed"] is True
    assert seen["Risk level"] == "High"

    d.do(code, "closure_review", {"vote": "approve"})
    vote = shown(d, code, "cast_vote")
    seen = facts(vote)
    assert vote.kind == "conference" and vote.subject.startswith("Closure conference on case")
    assert seen["Summary"] == "Family moved on" and seen["Supervisor's review"].startswith("Approve")
    assert seen["Primary concern"] == "child out of school, working at the market"  # the case summary


def test_R18_the_referral_outcome_shows_that_referral_only(ctx):
    d = CaseDriver(ctx)
    code = _to_plan(d)
    d.do(code, "case_plan", {"goals": GOALS, "actions": "weekly visits", "agreed_with_client": True,
                             "referrals": REFERRALS + [{"provider": "Hope School", "service": "catch-up classes",
                                                        "consent_to_share": True}]})
    d.do(code, "approve_case_plan", {"vote": "approve"})
    outcomes = d.tasks(code, "track_referral")
    assert len(outcomes) == 2
    with ctx.session_factory() as session:
        providers = sorted(facts(decision_context(session, task))["Provider"] for task in outcomes)
    assert providers == ["Hope School", "Legal Aid Clinic"]


def test_R09_judging_three_yellow_needs_lists_them(ctx):
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    three = ["separated_child", "child_labour", "disability"]
    d.do(code, "initial_assessment", {"red_needs": [], "yellow_needs": three})
    (judgement,) = [t for t in d.tasks(code) if t.form == "case_risk_judgement.json"]
    with ctx.session_factory() as session:
        seen = facts(decision_context(session, judgement))
    assert len(seen["Yellow needs"]) == 3 and "Child labour" in seen["Yellow needs"]
