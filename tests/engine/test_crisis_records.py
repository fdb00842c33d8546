"""The disruption log and the per-case crisis notes (R39): append-only, need-to-know,
audited; and what a finished crisis check records."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.crisis import declaration as crisis
from engine.crisis import records as crisis_records
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import AuditEvent
from engine.models.crisis import CrisisCaseCheck, DisruptionLogEntry, ImmutableRecordError
from engine.models.ops import Notification
from tests.engine.crisis_support import (
    CHECK_ANSWERS,
    add_case,
    add_caseworker,
    check_tasks,
    complete,
    declare,
    run_crisis_jobs,
    set_available,
    user_id,
)


def test_log_entries_cannot_be_changed_or_deleted_R39(ctx):
    crisis_id = declare(ctx)
    with ctx.uow() as uow:
        entry = crisis_records.add_log_entry(uow, user_id(ctx, "crisislead1"), crisis_id, "action", "Hotline open")
        uow.commit()
    with ctx.uow() as uow:
        row = uow.session.get(DisruptionLogEntry, entry.id)
        row.text = "rewritten"
        with pytest.raises(ImmutableRecordError):
            uow.session.flush()
    with ctx.uow() as uow:
        uow.session.delete(uow.session.get(DisruptionLogEntry, entry.id))
        with pytest.raises(ImmutableRecordError):
            uow.session.flush()
    with ctx.session_factory() as session:
        assert session.get(DisruptionLogEntry, entry.id).text == "Hotline open"


def test_only_the_crisis_team_writes_the_log_and_only_while_the_crisis_lasts_R39(ctx):
    crisis_id = declare(ctx)
    with ctx.uow() as uow, pytest.raises(Forbidden):
        crisis_records.add_log_entry(uow, user_id(ctx, "director1"), crisis_id, "action", "x")
    with ctx.uow() as uow, pytest.raises(Invalid):
        crisis_records.add_log_entry(uow, user_id(ctx, "crisislead1"), crisis_id, "action", "   ")
    with ctx.uow() as uow:
        crisis.close_crisis(uow, crisis_id, None)
        uow.commit()
    with ctx.uow() as uow, pytest.raises(Conflict):
        crisis_records.add_log_entry(uow, user_id(ctx, "crisislead1"), crisis_id, "action", "too late")


def test_case_notes_are_for_the_people_on_the_case_and_every_read_is_audited_R39(ctx):
    add_caseworker(ctx, "caseworker3")
    add_case(ctx, "NOTE-1", caseworker="caseworker2")
    add_case(ctx, "BUSY", stage="planning", caseworker="caseworker1")  # so caseworker3 is the least loaded
    set_available(ctx, "caseworker2", False)
    crisis_id = declare(ctx, functions=("5.4",))
    run_crisis_jobs(ctx)  # caseworker3 is the backup for the check
    for username in ("caseworker3", "supervisor1", "crisislead1"):
        with ctx.uow() as uow:
            crisis_records.add_case_note(uow, user_id(ctx, username), crisis_id, "NOTE-1", "delay",
                                         f"visit postponed ({username})")
            uow.commit()
    with ctx.uow() as uow, pytest.raises(Forbidden):
        crisis_records.add_case_note(uow, user_id(ctx, "caseworker1"), crisis_id, "NOTE-1", "delay", "x")
    with ctx.uow() as uow, pytest.raises(Invalid):
        crisis_records.add_case_note(uow, user_id(ctx, "caseworker3"), crisis_id, "NOTE-1", "alternative_method", "")
    with ctx.uow() as uow:
        rows, total = crisis_records.list_case_notes(uow, user_id(ctx, "caseworker3"), crisis_id, "NOTE-1")
        uow.commit()
    assert total == 3 and [n.kind for n, _ in rows] == ["delay"] * 3
    with ctx.session_factory() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "crisis_case_notes_viewed")).all()
    assert [(a.actor_id, a.case_code) for a in reads] == [(user_id(ctx, "caseworker3"), "NOTE-1")]


def test_an_unsafe_client_found_by_the_check_alerts_the_supervisor_and_is_documented_R39(ctx):
    add_case(ctx, "UNSAFE", risk="high")
    crisis_id = declare(ctx, functions=("5.4",))
    run_crisis_jobs(ctx)
    task, = check_tasks(ctx)
    complete(ctx, "caseworker1", task, {**CHECK_ANSWERS, "client_safe": False, "adjustments": "daily calls",
                                        "follow_up_actions": "home visit once roads reopen",
                                        "alternative_methods": ["phone_follow_up", "partner_delivery"]})
    with ctx.session_factory() as session:
        check = session.scalar(select(CrisisCaseCheck).where(CrisisCaseCheck.crisis_id == crisis_id))
        alerts = session.scalars(select(Notification).where(Notification.kind == "crisis_check_alert")).all()
    assert (check.client_reached, check.client_safe, check.checked_by) == (True, False, user_id(ctx, "caseworker1"))
    assert [(a.user_id, a.case_code) for a in alerts] == [(user_id(ctx, "supervisor1"), "UNSAFE")]
    with ctx.uow() as uow:
        notes, _ = crisis_records.list_case_notes(uow, user_id(ctx, "crisislead1"), crisis_id, "UNSAFE")
    assert [(n.kind, n.alternative_methods) for n, _ in notes] == [
        ("check", ""), ("adjustment", ""), ("follow_up_action", ""), ("alternative_method",
                                                                      "partner_delivery,phone_follow_up")]
