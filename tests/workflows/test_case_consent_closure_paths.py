"""Path tests of consent before registration and of the closure rules: a refused assent
stops registration unless a supervisor records a legal mandate (R48), a death closure
needs the report to the authority first and "no longer wants services" a safety
confirmation (R21), goals no longer relevant or feasible close a case (R52), and the
weekly cap on new cases per caseworker (R31)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, Invalid
from engine.models import Case
from engine.models.case_decisions import ClosureRequest
from engine.process.decision_parameters import decision_row
from tests.workflows.case_driver import DAY, NEEDS_MEDIUM, SQLITE_ONLY, CaseDriver, open_case

CONSENT_WITHOUT_ASSENT = {"consent": "given", "consent_by": "caregiver", "child_assent": "refused"}


def admitted_case(ctx) -> tuple[CaseDriver, str]:
    d = CaseDriver(ctx)
    code = d.refer()
    d.screen(code)
    d.admit(code)
    return d, code


def test_a_refused_child_assent_stops_registration_until_a_supervisor_records_a_legal_mandate_R48(ctx):
    """R48: the family consents but the child refuses assent: nothing is registered; the
    legal-mandate decision is a supervisor's (a caseworker is refused), a mandate needs its
    legal basis (422), and once recorded the case is registered on it."""
    d, code = admitted_case(ctx)
    d.do(code, "consent_registration", CONSENT_WITHOUT_ASSENT)
    case = d.case(code)
    assert (case.date_registered, case.stage) == (None, "admission")
    mandate = d.task(code, "legal_mandate")
    assert (mandate.role, mandate.priority) == ("supervisor", 3)
    with pytest.raises(Forbidden):
        d.claim("caseworker1", mandate)
    with pytest.raises(Invalid) as refused:
        d.do(code, "legal_mandate", {"legal_mandate": "recorded"}, by="supervisor1")
    assert "mandate_basis" in refused.value.errors
    assert d.case(code).legal_mandate_by is None
    d.do(code, "legal_mandate", {"legal_mandate": "recorded", "mandate_basis": "care order of the family court"})
    case = d.case(code)
    assert (d.username(case.legal_mandate_by), case.date_registered, case.stage) == ("supervisor1", d.now, "intake")
    assert d.assignee(d.task(code, "initial_assessment")) == "caseworker1"


def test_a_death_closure_goes_on_only_once_the_death_is_reported_R21(ctx):
    """R21: the death report task cannot be completed without the report to the authority
    (422, nothing changes); with it, the investigation follows (then the review and the
    committee: tests/workflows/test_case_death_closure_paths.py)."""
    d, code = open_case(ctx, NEEDS_MEDIUM)
    d.do(code, "request_closure", {"closure_reason": "death"})
    not_reported = {"reported_to_authority": False}
    with pytest.raises(Invalid) as refused:
        d.do(code, "death_report", not_reported)
    assert "reported_to_authority" in refused.value.errors
    assert d.ready(code) == ["death_report", "follow_up"]
    d.do(code, "death_report", {**not_reported, "reported_to_authority": True, "report_reference": "MoSA-2026-117"})
    assert "death_investigation" in d.ready(code) and "closure_review" not in d.ready(code)
    with ctx.session_factory() as s:
        assert s.scalar(select(ClosureRequest.death_reported_at)) == d.now


@SQLITE_ONLY
def test_no_longer_wanting_services_closes_only_with_the_childs_safety_confirmed_R21(ctx):
    """R21: "the client no longer wants services, and it is safe": without the safety
    confirmation the request is refused (422) and no closure starts."""
    d, code = open_case(ctx)
    with pytest.raises(Invalid) as refused:
        d.do(code, "request_closure", {"closure_reason": "no_longer_wants_services"})
    assert "safety_confirmed" in refused.value.errors
    assert d.tasks(code, "closure_review") == [] and d.case(code).stage == "implementation"
    d.do(code, "request_closure", {"closure_reason": "no_longer_wants_services", "safety_confirmed": True})
    assert d.assignee(d.task(code, "closure_review")) == "supervisor1"


@SQLITE_ONLY
def test_goals_no_longer_relevant_or_feasible_close_the_case_after_review_and_authorisation_R52(ctx):
    """R52: a case closes when its goals are no longer relevant or feasible and no new
    goals are needed: a closure reason of its own, reviewed and authorised like the others."""
    d, code = open_case(ctx)
    d.do(code, "request_closure", {"closure_reason": "goals_no_longer_relevant",
                                   "closure_summary": "family moved to a safe relative; no new goals"})
    d.do(code, "closure_review", {"vote": "approve", "safety_confirmed": True})
    d.vote_all(code)
    case = d.case(code)
    assert (case.status, case.closure_reason) == ("C", "goals_no_longer_relevant")
    assert d.ready(code) == ["post_closure_visit"]


def _registered_this_week(ctx, d: CaseDriver, username: str, count: int, at: dt.datetime) -> None:
    with ctx.uow() as uow:
        for n in range(count):
            uow.session.add(Case(code=f"NEW-{username}-{n}", status="O", stage="assessment",
                                 caseworker_id=d.uid(username), date_registered=at, created_at=at, updated_at=at))
        uow.commit()


def test_at_most_the_dmn_number_of_new_assessments_per_caseworker_per_week_R31(ctx):
    """R31 (at most 15 new assessments per caseworker per week, caseload_limits): the
    screener, with the week's cap of new cases reached, does not get the next case; a
    colleague within the caps does; a week later the screener gets new cases again."""
    with ctx.session_factory() as s:
        caps = decision_row(s, "caseload_limits", staff_role="caseworker")
    assert (caps["max_new_cases"], caps["new_cases_period_days"]) == (15, 7)
    d = CaseDriver(ctx)
    _registered_this_week(ctx, d, "caseworker1", caps["max_new_cases"], d.now - DAY)
    code = d.refer()
    d.to_registered(code)
    assert d.username(d.case(code).caseworker_id) == "caseworker2"
    d.later(caps["new_cases_period_days"] * DAY)
    later = d.refer()
    d.to_registered(later)
    assert d.username(d.case(later).caseworker_id) == "caseworker1"
