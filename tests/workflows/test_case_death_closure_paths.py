"""R21 (001 §3.6): "In the event of death, an investigation should be conducted into the
circumstances to ensure that no other children are at risk. Any incident of child death
should be reported to the government department responsible for child protection." The
deployed ``case_closure`` driven with a frozen clock: the report first, then the
investigation, and other children found at risk are safeguarded before the review."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.errors import Invalid
from engine.models import CaseEvent
from engine.process.decision_parameters import decision_row
from tests.workflows.case_driver import HOUR, NEEDS_MEDIUM, open_case

REPORT = {"reported_to_authority": True, "report_reference": "MoSA-2026-117"}


def timeframes(d, code: str) -> dict:
    with d.ctx.session_factory() as s:
        return decision_row(s, "case_timeframes", risk_level=d.case(code).risk_level)


def events(d, code: str, form: str) -> list[dict]:
    with d.ctx.session_factory() as s:
        rows = s.scalars(select(CaseEvent).where(CaseEvent.case_id == d.case(code).id, CaseEvent.form == form))
        return [json.loads(e.detail_json) for e in rows]


def test_R21_a_death_is_reported_first_then_investigated_before_the_review(ctx):
    """R21: after the report to the authority the supervisor investigates the circumstances,
    due when case_timeframes says; the closure review waits for the investigation, which
    must say what it found and whether other children are at risk; none at risk: the review
    and the committee follow and the case closes, never urgent."""
    d, code = open_case(ctx, NEEDS_MEDIUM)
    days = timeframes(d, code)
    d.do(code, "request_closure", {"closure_reason": "death"})
    d.later(2 * HOUR)
    d.do(code, "death_report", REPORT)
    investigation = d.task(code, "death_investigation")
    assert d.assignee(investigation) == "supervisor1" and investigation.priority == 3
    assert investigation.due_at == d.now + days["death_investigation_days"] * 24 * HOUR
    assert "closure_review" not in d.ready(code)
    with pytest.raises(Invalid):  # what was found, and whether others are at risk, must be said
        d.do(code, "death_investigation", {"circumstances": "drowned in the river"})
    assert d.task(code, "death_investigation").id == investigation.id
    d.do(code, "death_investigation", {"circumstances": "drowned in the river during the floods",
                                       "other_children_at_risk": False})
    assert "closure_review" in d.ready(code) and "safeguard_children" not in d.ready(code)
    assert d.case(code).urgent_since is None
    assert events(d, code, "case_death_investigation")[0]["other_children_at_risk"] is False
    d.do(code, "closure_review", {"vote": "approve"})
    d.vote_all(code)
    assert (d.case(code).status, d.case(code).closure_reason) == ("C", "death")


def test_R21_other_children_at_risk_make_the_case_urgent_and_are_safeguarded_before_the_closure(ctx):
    """R21: an investigation finding other children at risk makes the case urgent at once
    and opens a safeguarding task for the supervisor, due when case_timeframes says; the
    closure review waits for it; once it is recorded the urgency ends and the closure goes on."""
    d, code = open_case(ctx, NEEDS_MEDIUM)
    hours = timeframes(d, code)["safeguarding_hours"]
    d.do(code, "request_closure", {"closure_reason": "death"})
    d.do(code, "death_report", REPORT)
    d.later(3 * 24 * HOUR)
    d.do(code, "death_investigation", {"circumstances": "neglect in the household",
                                       "other_children_at_risk": True,
                                       "children_at_risk": "two younger siblings in the same household"})
    case = d.case(code)
    assert case.urgent_since == d.now and "other children may be at risk" in case.urgent_reason
    safeguarding = d.task(code, "safeguard_children")
    assert d.assignee(safeguarding) == "supervisor1" and safeguarding.due_at == d.now + hours * HOUR
    assert "closure_review" not in d.ready(code)
    with pytest.raises(Invalid):
        d.do(code, "safeguard_children", {"actions_taken": []})
    d.later(6 * HOUR)
    d.do(code, "safeguard_children", {"actions_taken": ["referred_as_new_cases", "reported_to_authority"],
                                      "new_case_codes": "CM-NEW1, CM-NEW2"})
    assert d.case(code).urgent_since is None and "closure_review" in d.ready(code)
    assert events(d, code, "case_safeguard_children")[0]["actions_taken"] == ["referred_as_new_cases",
                                                                           "reported_to_authority"]
    d.do(code, "closure_review", {"vote": "approve"})
    d.vote_all(code)
    assert d.case(code).status == "C"
