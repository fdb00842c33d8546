"""Driving the sample process through the engine services, persisted at every step."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import Conflict, Forbidden, Invalid
from engine.models import AuditEvent, OutboxMessage, ProcessInstance, Timer
from engine.process import human_tasks, inbox, instances
from tests.engine.helpers import NEEDS_HIGH, T0, only_ready_task, ready_tasks, user_id


def start_sample(ctx, username="caseworker1"):
    with ctx.uow() as uow:
        instance = instances.start_process(uow, ctx.runtime, "sample_intake", user_id(ctx, username), {})
        uow.commit()
        return instance.id


def complete(ctx, username, task_id, data):
    with ctx.uow() as uow:
        return human_tasks.complete_task(uow, ctx.runtime, user_id(ctx, username), task_id, data)


def instance_row(ctx, instance_id) -> ProcessInstance:
    with ctx.session_factory() as s:
        return s.get(ProcessInstance, instance_id)


def assert_state_round_trips(ctx, instance_id):
    """Restoring the saved state and saving it again gives the same JSON."""
    row = instance_row(ctx, instance_id)
    with ctx.session_factory() as s:
        row = s.get(ProcessInstance, instance_id)
        workflow = ctx.runtime.restore(row)
        assert json.loads(ctx.runtime.dump(workflow)) == json.loads(row.state_json)
        return workflow


def test_first_task_is_offered_to_the_lane_role_with_its_form_and_due_time(ctx):
    clock.freeze(T0)
    instance_id = start_sample(ctx)
    task = only_ready_task(ctx, instance_id)
    assert (task.bpmn_id, task.role, task.assignee_id) == ("record_needs", "caseworker", None)
    assert task.form == "sample_needs.json"
    assert task.due_at == T0 + dt.timedelta(hours=24)
    assert_state_round_trips(ctx, instance_id)


def test_spec_is_not_stored_in_the_instance(ctx):
    instance_id = start_sample(ctx)
    state = json.loads(instance_row(ctx, instance_id).state_json)
    assert "spec" not in state and "subprocess_specs" not in state


def test_sample_runs_to_the_end_with_save_and_restore_at_every_wait_state(ctx):
    clock.freeze(T0)
    instance_id = start_sample(ctx)
    record = only_ready_task(ctx, instance_id)
    complete(ctx, "caseworker1", record.id, NEEDS_HIGH)
    assert_state_round_trips(ctx, instance_id)

    approve = only_ready_task(ctx, instance_id)
    assert (approve.bpmn_id, approve.role) == ("approve_plan", "supervisor")
    assert approve.risk_level == "high" and approve.priority == 3
    assert approve.due_at == T0 + dt.timedelta(hours=48)  # risk_timeframes: high -> 48 h

    complete(ctx, "supervisor1", approve.id, {"vote": "approve", "comment": "ok"})
    assert ready_tasks(ctx, instance_id) == []
    with ctx.session_factory() as s:
        timer = s.scalar(select(Timer).where(Timer.instance_id == instance_id))
        assert timer.state == "pending" and timer.due_at == T0 + dt.timedelta(hours=1)
        queued = s.scalar(select(OutboxMessage).where(OutboxMessage.actor == "fire_timer"))
        assert json.loads(queued.args_json) == [timer.id] and queued.eta == timer.due_at
    assert_state_round_trips(ctx, instance_id)

    with ctx.uow() as uow:
        assert instances.fire_timer(uow, ctx.runtime, timer.id) is False  # not due yet
    clock.freeze(T0 + dt.timedelta(hours=1, seconds=1))
    with ctx.uow() as uow:
        assert instances.fire_timer(uow, ctx.runtime, timer.id) is True
    with ctx.uow() as uow:
        assert instances.fire_timer(uow, ctx.runtime, timer.id) is False  # exactly once

    follow_up = only_ready_task(ctx, instance_id)
    assert follow_up.bpmn_id == "follow_up"
    complete(ctx, "caseworker1", follow_up.id, {"contact_made": True, "notes": "visited"})
    assert instance_row(ctx, instance_id).status == "complete"


def test_invalid_form_data_is_refused_with_field_errors_and_changes_nothing(ctx):
    instance_id = start_sample(ctx)
    task = only_ready_task(ctx, instance_id)
    before = instance_row(ctx, instance_id)
    with pytest.raises(Invalid) as info:
        complete(ctx, "caseworker1", task.id, {"red_needs": "not-a-list", "bogus": 1})
    assert "red_needs" in info.value.errors and "bogus" in info.value.errors
    after = instance_row(ctx, instance_id)
    assert (after.version, after.state_json) == (before.version, before.state_json)
    assert only_ready_task(ctx, instance_id).id == task.id


def test_a_task_not_offered_to_you_is_forbidden(ctx):
    instance_id = start_sample(ctx)
    task = only_ready_task(ctx, instance_id)
    with pytest.raises(Forbidden):
        complete(ctx, "committee1", task.id, NEEDS_HIGH)
    with ctx.uow() as uow, pytest.raises(Forbidden):
        human_tasks.claim_task(uow, user_id(ctx, "supervisor1"), task.id)


def test_claimed_task_belongs_to_the_claimer(ctx):
    instance_id = start_sample(ctx)
    task = only_ready_task(ctx, instance_id)
    with ctx.uow() as uow:
        human_tasks.claim_task(uow, user_id(ctx, "caseworker1"), task.id)
        uow.commit()
    with ctx.uow() as uow, pytest.raises(Conflict):
        human_tasks.claim_task(uow, user_id(ctx, "caseworker2"), task.id)
    with pytest.raises(Conflict):
        complete(ctx, "caseworker2", task.id, NEEDS_HIGH)
    complete(ctx, "caseworker1", task.id, NEEDS_HIGH)
    with pytest.raises(Conflict):
        complete(ctx, "caseworker1", task.id, NEEDS_HIGH)


def test_every_state_change_is_audited(ctx):
    instance_id = start_sample(ctx)
    task = only_ready_task(ctx, instance_id)
    complete(ctx, "caseworker1", task.id, NEEDS_HIGH)
    with ctx.session_factory() as s:
        actions = [a for (a,) in s.execute(select(AuditEvent.action).order_by(AuditEvent.id))]
        actor = s.scalar(select(AuditEvent.actor_id).where(AuditEvent.action == "task_completed"))
    assert "instance_started" in actions and "task_completed" in actions
    assert actor == user_id(ctx, "caseworker1")


def test_inbox_scopes(ctx):
    clock.freeze(T0)
    instance_id = start_sample(ctx)
    task = only_ready_task(ctx, instance_id)
    cw1, sup = user_id(ctx, "caseworker1"), user_id(ctx, "supervisor1")
    with ctx.session_factory() as s:
        assert [t.id for t in inbox.task_list(s, cw1, "claimable")[0]] == [task.id]
        assert inbox.task_list(s, cw1, "mine")[1] == 0
    with ctx.uow() as uow:
        human_tasks.claim_task(uow, cw1, task.id)
        uow.commit()
    clock.freeze(T0 + dt.timedelta(hours=25))
    with ctx.session_factory() as s:
        assert [t.id for t in inbox.task_list(s, cw1, "mine")[0]] == [task.id]
        assert [t.id for t in inbox.task_list(s, sup, "team", overdue=True)[0]] == [task.id]
        with pytest.raises(Forbidden):
            inbox.task_list(s, cw1, "team")
