"""Pre-crisis readiness (R41): each recurring activity is one short instance waiting its
interval (bcp_readiness_schedule), never a long loop; finishing one schedules the next."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.crisis import readiness as crisis_readiness
from engine.errors import Forbidden
from engine.models import ProcessInstance, Timer
from engine.models.crisis import ReadinessActivity
from engine.process import instances
from tests.engine.crisis_support import T0, complete, ready_task, user_id

INTERVALS = {"risk_assessment": 365, "bcp_review": 180, "staff_training": 365, "crisis_drill": 180,
             "backup_restore_test": 90, "contact_list_review": 90, "communication_templates_review": 180}


def plan(ctx, username="crisislead1") -> dict:
    with ctx.uow() as uow:
        result = crisis_readiness.schedule_readiness(uow, ctx.runtime, user_id(ctx, username))
        uow.commit()
        return result


def activities(ctx) -> dict[str, ReadinessActivity]:
    with ctx.session_factory() as session:
        return {a.activity: a for a in session.scalars(select(ReadinessActivity))}


def test_each_readiness_activity_waits_its_interval_in_its_own_short_instance_R41(ctx):
    clock.freeze(T0)
    assert sorted(plan(ctx)["scheduled"]) == sorted(INTERVALS)
    rows = activities(ctx)
    assert {name: (row.next_due_at - T0).days for name, row in rows.items()} == INTERVALS
    with ctx.session_factory() as session:
        waiting = session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "bcp_readiness_activity",
                                                                ProcessInstance.status == "running")).all()
        plans = session.scalars(select(ProcessInstance.status).where(
            ProcessInstance.process_id == "bcp_readiness_plan")).all()
    assert len(waiting) == len(INTERVALS) and plans == ["complete"]
    assert plan(ctx, "processowner1") == {"scheduled": [], "kept": list(INTERVALS)}  # nothing doubled
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).where(ProcessInstance.process_id == "bcp_readiness_activity")) == 7
    with ctx.uow() as uow, pytest.raises(Forbidden):
        crisis_readiness.schedule_readiness(uow, ctx.runtime, user_id(ctx, "caseworker1"))


def test_a_drill_comes_due_is_done_and_the_next_one_is_scheduled_R41(ctx):
    clock.freeze(T0)
    plan(ctx)
    drill = activities(ctx)["backup_restore_test"]
    with ctx.session_factory() as session:
        timer = session.scalar(select(Timer).where(Timer.instance_id == drill.instance_id, Timer.state == "pending"))
    done_at = T0 + dt.timedelta(days=90, hours=1)
    clock.freeze(done_at)
    with ctx.uow() as uow:
        assert instances.fire_timer(uow, ctx.runtime, timer.id)
    task = ready_task(ctx, drill.instance_id, "do_backup_restore_test")
    assert task.role == "crisis_team" and task.title.startswith("Readiness: test restoring client records")
    complete(ctx, "crisislead1", task, {"done": True, "findings": "restore took 40 minutes"})
    after = activities(ctx)["backup_restore_test"]
    assert after.last_completed_at == done_at and after.last_completed_by == user_id(ctx, "crisislead1")
    assert after.last_outcome == "restore took 40 minutes"
    assert after.instance_id != drill.instance_id and after.next_due_at == done_at + dt.timedelta(days=90)
    review = activities(ctx)["bcp_review"]
    with ctx.session_factory() as session:
        assert session.get(ProcessInstance, drill.instance_id).status == "complete"
        assert session.get(ProcessInstance, review.instance_id).status == "running"  # untouched
