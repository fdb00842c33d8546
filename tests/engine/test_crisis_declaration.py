"""Declaring a disruption (R35): who may, what it starts, and never two active at once."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.crisis import declaration as crisis
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import ProcessInstance
from engine.models.crisis import Crisis, DisruptionLogEntry
from engine.models.ops import Notification
from tests.engine.crisis_support import T0, declare, user_id


def test_declaration_starts_the_bcp_and_tells_the_staff_R35(ctx):
    """R35/R36: the crisis row, its BCP instance, the first log entry in words, and a notice
    to all staff (seed 000 "Staff Communication": everyone, committee members and admins too)."""
    clock.freeze(T0)
    crisis_id = declare(ctx, kind="staffing_shortage", functions=("5.4", "5.1", "5.4"))
    with ctx.session_factory() as session:
        record = session.get(Crisis, crisis_id)
        instance = session.get(ProcessInstance, record.instance_id)
        first_entry = session.scalar(select(DisruptionLogEntry).order_by(DisruptionLogEntry.id))
        told = set(session.scalars(select(Notification.user_id).where(Notification.kind == "crisis_declared")))
    assert record.functions == ["5.1", "5.4"] and record.active_slot == 1 and record.status == "resumption"
    assert (instance.process_id, instance.status, instance.started_by) == ("bcp_cbf5", "running",
                                                                          user_id(ctx, "crisislead1"))
    assert first_entry.author_id == user_id(ctx, "crisislead1")
    assert "(Staffing shortage), affecting 5.1 Client Intake & Assessment and 5.4 Monitoring" in first_entry.text
    expected = {user_id(ctx, u) for u in ("crisislead1", "director1", "supervisor1", "caseworker1", "caseworker2",
                                          "committee1", "committee2", "processowner1", "admin")}
    assert told == expected


def test_only_crisis_team_members_declare_R35(ctx):
    for username in ("caseworker1", "supervisor1", "director1", "processowner1", "admin"):
        with pytest.raises(Forbidden):
            declare(ctx, username=username)
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Crisis)) == 0


def test_invalid_declaration_names_the_field_and_starts_nothing(ctx):
    for kind, functions, field in (("earthquake", ["5.1"], "kind"), ("it_failure", ["5.7"], "affected_functions"),
                                   ("it_failure", [], "affected_functions"),
                                   ("it_failure", "5.1", "affected_functions"),
                                   ("it_failure", [{"S": -125}, ["5.1"]], "affected_functions")):
        with ctx.uow() as uow, pytest.raises(Invalid) as info:
            crisis.declare_crisis(uow, ctx.runtime, user_id(ctx, "crisislead1"), kind, "x", functions)
        assert field in info.value.errors
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_second_declaration_is_refused_naming_the_active_one_until_it_closes(ctx):
    first = declare(ctx)
    with pytest.raises(Conflict) as info:
        declare(ctx, kind="pandemic")
    assert info.value.details["active_crisis_id"] == first and f"crisis {first}" in info.value.message
    with ctx.uow() as uow:
        crisis.close_crisis(uow, first, None)
        uow.commit()
    assert declare(ctx, kind="pandemic") != first


def test_two_declarations_racing_give_one_crisis_and_one_conflict(ctx, backend, monkeypatch):
    """The unique active slot makes the refusal race-proof (both passed the first check)."""
    if backend != "postgres":
        pytest.skip("needs two concurrent writers")
    barrier = threading.Barrier(2, timeout=20)
    original = crisis._refuse_if_active
    waited = threading.local()

    def check_then_wait(session, drill=False):
        original(session, drill)
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()

    monkeypatch.setattr(crisis, "_refuse_if_active", check_then_wait)
    outcomes = []

    def attempt():
        try:
            declare(ctx)
            outcomes.append("declared")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["conflict", "declared"]
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Crisis)) == 1
        assert session.scalar(select(func.count()).where(ProcessInstance.process_id == "bcp_cbf5")) == 1
