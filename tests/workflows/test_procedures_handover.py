"""Path tests of handovers between caseworkers (R29): a handover document, the team's and
the client's briefing, a file review per case before it moves, and a shadowing period
(``staff_timeframes`` ``handover_shadow``, 90 days) during which the caseworker who handed
over still sees those cases and the new caseworker's tasks on them. They drive the real
``case_handover`` and ``case_handover_file`` diagrams with a frozen clock."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.bpmn.operations import OperationContext
from engine.case import handover as handovers
from engine.errors import Forbidden, Invalid
from engine.models import HumanTask, ProcessInstance, Timer
from engine.models.handovers import Handover
from engine.process import instances
from tests.workflows.case_driver import DAY, NEEDS_MEDIUM, SQLITE_ONLY, open_case

LEAVING = {"from_caseworker": "caseworker1", "to_caseworker": "caseworker2", "reason": "leaves the organisation"}


def two_cases(ctx):
    d, first = open_case(ctx)
    second = d.refer()
    d.to_registered(second)
    d.assess_and_plan(second, NEEDS_MEDIUM)
    assert {d.case(c).caseworker_id for c in (first, second)} == {d.uid("caseworker1")}
    return d, sorted((first, second))


def handover_tasks(d, bpmn_id) -> list[HumanTask]:
    with d.ctx.session_factory() as s:
        return list(s.scalars(select(HumanTask).where(HumanTask.process_id == "case_handover",
                                                      HumanTask.bpmn_id == bpmn_id, HumanTask.state == "ready")))


def fire_shadowing_end(d, handover_id) -> Timer:
    with d.ctx.session_factory() as s:
        instance_id = s.get(Handover, handover_id).instance_id
        timer = s.scalar(select(Timer).where(Timer.instance_id == instance_id, Timer.bpmn_id == "shadowing",
                                             Timer.state == "pending"))
    d.at(timer.due_at)
    with d.ctx.uow() as uow:
        assert instances.fire_timer(uow, d.ctx.runtime, timer.id)
    return timer


def test_r29_a_leaving_caseworkers_caseload_is_handed_over_and_shadowed_for_three_months(ctx, client, token_for):
    """R29: the supervisor hands the whole caseload of a leaving caseworker to the one they
    choose; the leaving caseworker writes the handover document, the supervisor briefs the
    team and reviews each file before its case moves (open tasks with it), the new
    caseworker briefs the client; for 90 days the leaving caseworker sees those case files
    and the new caseworker's tasks on them, and then no longer."""
    d, codes = two_cases(ctx)
    resp = client.post("/api/handovers", headers=token_for("supervisor1"), json=LEAVING)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["kind"], body["case_codes"], body["to_caseworker"]) == ("leaving", codes, "caseworker2")
    assert body["shadow_until"] == (d.now + 90 * DAY).isoformat()
    (document,) = handover_tasks(d, "handover_document")
    assert (d.assignee(document), document.due_at, document.case_code) == ("caseworker1", d.now + 7 * DAY, None)
    for code in codes:
        review = d.task(code, "file_review")
        assert (d.assignee(review), review.due_at, review.process_id) == (
            "supervisor1", d.now + 7 * DAY, "case_handover_file")
    first = codes[0]
    d.later(DAY)
    d.do(first, "file_review", {"file_complete": "complete", "consent_confirmed": True})
    assert d.username(d.case(first).caseworker_id) == "caseworker2"
    holders = {d.assignee(t) for t in d.tasks(first) if t.bpmn_id != "client_briefing"}
    assert "caseworker2" in holders and "caseworker1" not in holders  # the open tasks moved with the case
    briefing = d.task(first, "client_briefing")
    assert (d.assignee(briefing), briefing.due_at) == ("caseworker2", d.now + 14 * DAY)
    d.do(first, "client_briefing", {"client_briefed": True, "with_previous_caseworker": True})
    assert d.username(d.case(codes[1]).caseworker_id) == "caseworker1"  # its file is not reviewed yet
    d.complete("caseworker1", document, {"files_up_to_date": True, "handover_document": "where each case stands"})
    (team,) = handover_tasks(d, "team_briefing")
    assert (d.assignee(team), team.due_at) == ("supervisor1", d.now + 10 * DAY)
    d.complete("supervisor1", team, {"team_briefed": True})

    leaving = token_for("caseworker1")
    seen = client.get(f"/api/handovers/{body['id']}", headers=leaving).get_json()
    assert seen["shadowing"] is True
    assert seen["shadow_tasks"] and {t["assignee"] for t in seen["shadow_tasks"]} == {"caseworker2"}
    assert client.get(f"/api/handovers/{body['id']}/cases/{first}", headers=leaving).status_code == 200
    assert client.get(f"/api/cases/{first}", headers=leaving).status_code == 200  # the file, read-only, while shadowing

    fire_shadowing_end(d, body["id"])
    with ctx.session_factory() as s:
        assert s.get(Handover, body["id"]).status == "completed"
    assert client.get(f"/api/handovers/{body['id']}/cases/{first}", headers=token_for("caseworker1")).status_code \
        == 403
    assert client.get(f"/api/cases/{first}", headers=token_for("caseworker1")).status_code == 403
    assert client.get(f"/api/handovers/{body['id']}", headers=token_for("caseworker1")).get_json()[
        "shadow_tasks"] == []


@SQLITE_ONLY
def test_r29_cases_moving_within_the_agency_get_their_own_handover(ctx):
    """R29: moving some cases (not a departure) hands over only those, with the shorter
    deadlines of handover_timeframes' case_move."""
    d, codes = two_cases(ctx)
    with ctx.uow() as uow:
        handover = handovers.start_handover(uow, ctx.runtime, d.uid("supervisor1"), "caseworker1", "caseworker2",
                                            "rebalancing caseloads", [codes[1]])
    assert handover.kind == "case_move"
    assert d.tasks(codes[0], "file_review") == []
    assert d.task(codes[1], "file_review").due_at == d.now + 5 * DAY
    (document,) = handover_tasks(d, "handover_document")
    assert document.due_at == d.now + 5 * DAY


@SQLITE_ONLY
def test_r29_only_a_supervisor_of_the_caseworker_hands_over_their_cases(ctx):
    """R29: a caseworker cannot hand over a colleague's cases (403); cases that are not the
    caseworker's active cases, or a handover to the same person, are refused (422); nothing
    is written."""
    d, codes = two_cases(ctx)
    with pytest.raises(Forbidden), ctx.uow() as uow:
        handovers.start_handover(uow, ctx.runtime, d.uid("caseworker2"), "caseworker1", "caseworker2", "x")
    with pytest.raises(Invalid), ctx.uow() as uow:
        handovers.start_handover(uow, ctx.runtime, d.uid("supervisor1"), "caseworker1", "caseworker2", "x",
                                 ["CM-NOPE-NOPE"])
    with pytest.raises(Invalid), ctx.uow() as uow:
        handovers.start_handover(uow, ctx.runtime, d.uid("supervisor1"), "caseworker1", "caseworker1", "x")
    with ctx.session_factory() as s:
        assert s.scalars(select(Handover)).all() == []
    assert all(d.tasks(code, "file_review") == [] for code in codes)


@SQLITE_ONLY
def test_r29_a_case_moves_only_by_a_supervisor_of_the_case(ctx):
    """R29: the move after the file review acts on the case its instance carries and
    refuses a caseworker who is not on it (403): the case stays where it was."""
    d, codes = two_cases(ctx)
    with ctx.uow() as uow:
        handovers.start_handover(uow, ctx.runtime, d.uid("supervisor1"), "caseworker1", "caseworker2", "leaving")
    review = d.task(codes[0], "file_review")
    with pytest.raises(Forbidden), ctx.uow() as uow:
        instance = uow.session.get(ProcessInstance, review.instance_id)
        try:
            handovers.move_case(OperationContext(uow, instance, d.uid("committee1"), ctx.runtime),
                                {"file_complete": "complete"})
        finally:
            uow.commit()
    assert d.username(d.case(codes[0]).caseworker_id) == "caseworker1"
