"""Path tests of ageing out (R27): on the client's 18th birthday (read from the date of
birth) an open case becomes aged-out with a transition plan, and closes by itself six
months later unless a supervisor records the agreement to keep it open. The age and the
intervals are read from the deployed ``case_timeframes``."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.case.operations.aged_out import birthday
from engine.errors import Forbidden
from engine.models import AuditEvent, ProcessInstance
from engine.models.case_decisions import ClosureRequest
from engine.process.decision_parameters import decision_row
from tests.workflows.case_driver import CLIENT, DAY, NEEDS_MEDIUM, SQLITE_ONLY, T0, CaseDriver

BIRTHDAY = dt.datetime(2026, 6, 10, tzinfo=dt.UTC)  # 18 on 10 June 2026, some 100 days after T0
ALMOST_18 = {**CLIENT, "date_of_birth": "2008-06-10"}


def case_timeframes(ctx) -> dict:
    with ctx.session_factory() as s:
        return decision_row(s, "case_timeframes", risk_level="medium")


def open_case_of(ctx, client: dict) -> tuple[CaseDriver, str]:
    d = CaseDriver(ctx)
    code = d.refer(client=client)
    d.to_registered(code)
    d.assess_and_plan(code, NEEDS_MEDIUM)
    return d, code


def test_an_open_case_turns_aged_out_on_the_18th_birthday_and_closes_six_months_later_R27(ctx):
    """R27: the timer waits for the 18th birthday; the case becomes aged-out (AO) with a
    transition plan for the caseworker; with no agreement to keep it open it closes by
    itself the DMN's six months later, authorised by the rule, and the visit follows."""
    frames = case_timeframes(ctx)
    assert frames["age_of_majority_years"] == 18
    d, code = open_case_of(ctx, ALMOST_18)
    (wait,) = d.timers(code, "wait_birthday")
    assert wait.due_at == BIRTHDAY
    with ctx.session_factory() as s:
        state = s.scalar(select(ProcessInstance.state_json).where(ProcessInstance.id == wait.instance_id))
    assert "2008-06-10" not in state and CLIENT["name"] not in state  # only the instant to wake at
    d.fire(code, "wait_birthday")
    case = d.case(code)
    assert (case.status, case.date_aged_out) == ("AO", BIRTHDAY)
    plan = d.task(code, "transition_plan")
    assert (d.assignee(plan), plan.due_at) == ("caseworker1", BIRTHDAY + frames["transition_plan_days"] * DAY)
    d.later(5 * DAY)
    d.do(code, "transition_plan", {"transition_plan": "vocational training, own flat", "young_person_agreed": True})
    keep = d.task(code, "keep_open")
    closes = BIRTHDAY + frames["aged_out_close_days"] * DAY
    assert (d.assignee(keep), keep.due_at) == ("supervisor1", closes)
    assert "follow_up" in d.ready(code)  # support goes on during the transition
    timer = d.fire(code, "auto_close_due")
    assert timer.due_at == closes
    case = d.case(code)
    assert (case.status, case.closure_reason, case.date_closed) == ("C", "aged_out", closes)
    with ctx.session_factory() as s:
        closure = s.scalar(select(ClosureRequest))
        assert (closure.reason, closure.authorised_by_rule, closure.status) == ("aged_out", "R27", "closed")
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "client_birth_date_read",
                                                    AuditEvent.case_code == code).limit(1))
    assert d.ready(code) == ["post_closure_visit"]


@SQLITE_ONLY
def test_a_supervisor_keeps_an_aged_out_case_open_by_agreement_R27(ctx):
    """R27 "unless agreed otherwise": only the supervisor records the agreement; then there
    is no automatic closure and the case stays aged-out until the caseworker closes it."""
    d, code = open_case_of(ctx, ALMOST_18)
    d.fire(code, "wait_birthday")
    d.do(code, "transition_plan", {"transition_plan": "university"})
    keep = d.task(code, "keep_open")
    answer = {"agreed_with": "young_person", "keep_open_reason": "exams in 8 months"}
    with pytest.raises(Forbidden):
        d.complete("caseworker1", keep, answer)
    d.do(code, "keep_open", answer)
    assert d.timers(code, "auto_close_due") == []
    assert d.case(code).status == "AO" and "request_closure" in d.ready(code)
    with ctx.session_factory() as s:
        assert s.scalar(select(ClosureRequest.status)) == "withdrawn"


@SQLITE_ONLY
def test_a_birthday_years_away_is_waited_for_one_link_at_a_time_R27(ctx):
    """R27: a 12-year-old's 18th birthday is further than a timer waits: each short link
    waits the DMN's recheck interval and starts the next; the case stays open meanwhile."""
    recheck = case_timeframes(ctx)["coming_of_age_recheck_days"] * DAY
    d, code = open_case_of(ctx, CLIENT)  # born 2014-05-01
    (first,) = d.timers(code, "wait_birthday")
    assert first.due_at == T0 + recheck
    d.fire(code, "wait_birthday")
    (second,) = d.timers(code, "wait_birthday")
    assert second.instance_id != first.instance_id and second.due_at == T0 + 2 * recheck
    assert d.case(code).status == "O" and d.tasks(code, "transition_plan") == []
    links = [i for i in d.instances(code, None) if i.process_id == "case_aged_out"]
    assert [i.status for i in links] == ["complete", "running"]


@SQLITE_ONLY
def test_without_a_date_of_birth_nothing_waits_for_the_18th_birthday_R27(ctx):
    """R27: no date of birth on record: no timer (a closure request as aged-out does it by hand)."""
    d, code = open_case_of(ctx, {"name": "No Birthdate Example"})
    assert d.timers(code, "wait_birthday") == []
    assert [i.status for i in d.instances(code, None) if i.process_id == "case_aged_out"] == ["complete"]


@SQLITE_ONLY
def test_a_closure_requested_for_an_aged_out_case_replaces_the_automatic_one_R27(ctx):
    """R27, R21: the goals met before the six months are up, the caseworker's closure request
    takes over from the automatic closure (no second, conflicting closure)."""
    d, code = open_case_of(ctx, ALMOST_18)
    d.fire(code, "wait_birthday")
    d.do(code, "transition_plan", {"transition_plan": "own flat, a job"})
    d.do(code, "request_closure", {"closure_reason": "goals_met"})
    assert d.timers(code, "auto_close_due") == [] and d.tasks(code, "keep_open") == []
    d.do(code, "closure_review", {"vote": "approve", "safety_confirmed": True})
    d.vote_all(code)
    assert (d.case(code).status, d.case(code).closure_reason) == ("C", "goals_met")
    with ctx.session_factory() as s:
        assert [c.status for c in s.scalars(select(ClosureRequest).order_by(ClosureRequest.id))] == [
            "withdrawn", "closed"]


def test_the_18th_birthday_of_a_leap_day_child_is_the_first_of_march_R27():
    """R27: born on 29 February, a young person turns 18 on 1 March in a common year."""
    assert birthday(dt.date(2008, 2, 29), 18) == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert birthday(dt.date(2008, 6, 10), 18) == BIRTHDAY
