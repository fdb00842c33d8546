"""Deadlines on human tasks: due-soon and overdue notices once per task and kind, and the
overdue view supervisors get."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import clock
from engine.models import HumanTask, Timer
from engine.models.ops import Notification
from engine.process import instances
from engine.service_ops import deadlines
from tests.tasks.conftest import start, user_id

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(hours=24)
SHARE = 0.5


def run_deadlines(ctx) -> deadlines.DeadlineRun:
    with ctx.uow() as uow:
        run = deadlines.notify_deadlines(uow, WINDOW, limit=100, due_soon_share=SHARE)
        uow.commit()
        return run


def kinds_for(ctx, username: str) -> list[str]:
    with ctx.session_factory() as s:
        return [k for (k,) in s.execute(select(Notification.kind).where(
            Notification.user_id == user_id(ctx, username), Notification.kind.like("task_%"))
            .order_by(Notification.id))]


def start_assessment(ctx, due_hours: float) -> int:
    return start(ctx, "queue_escalation", {"due_hours": due_hours, "escalate_after": "P30D",
                                           "caseworker": "caseworker1", "supervisor": "supervisor1"})


def test_due_soon_then_overdue_notices_go_out_once_per_task_and_kind(ctx):
    """The deadline job, on a fixture task due 24 h after it opens: its caseworker is warned
    before it is due, caseworker and supervisor once it is late; each notice exactly once.
    (The real initial assessment's deadline is shown in tests/workflows.)"""
    clock.freeze(T0)
    start_assessment(ctx, due_hours=24)
    assert run_deadlines(ctx).tasks == 0  # just created: half its lifetime is still ahead
    assert kinds_for(ctx, "caseworker1") == ["task_assigned"]

    clock.freeze(T0 + dt.timedelta(hours=13))
    assert run_deadlines(ctx) == deadlines.DeadlineRun(due_soon=1, overdue=0)
    assert run_deadlines(ctx).tasks == 0  # once per task and kind
    assert kinds_for(ctx, "caseworker1") == ["task_assigned", "task_due_soon"]
    assert kinds_for(ctx, "supervisor1") == []

    clock.freeze(T0 + dt.timedelta(hours=24, minutes=1))
    assert run_deadlines(ctx) == deadlines.DeadlineRun(due_soon=0, overdue=1)
    assert run_deadlines(ctx).tasks == 0
    assert kinds_for(ctx, "caseworker1") == ["task_assigned", "task_due_soon", "task_overdue"]
    assert kinds_for(ctx, "supervisor1") == ["task_overdue"]  # escalated to the supervisor
    with ctx.session_factory() as s:
        overdue = s.scalar(select(Notification).where(Notification.kind == "task_overdue"))
        assert overdue.subject == "Overdue: Initial assessment" and overdue.link.startswith("/tasks/")


def test_a_long_task_is_due_soon_only_within_the_window(ctx):
    clock.freeze(T0)
    start_assessment(ctx, due_hours=14 * 24)
    clock.freeze(T0 + dt.timedelta(days=12, hours=23))
    assert run_deadlines(ctx).tasks == 0
    clock.freeze(T0 + dt.timedelta(days=13, hours=1))
    assert run_deadlines(ctx).due_soon == 1


def test_a_completed_task_gets_no_deadline_notice(ctx, client, token_for):
    clock.freeze(T0)
    instance_id = start_assessment(ctx, due_hours=2)
    with ctx.session_factory() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))
    done = client.post(f"/api/tasks/{task_id}/complete", json={"data": {"done": True}},
                       headers=token_for("caseworker1"))
    assert done.status_code == 200, done.get_json()
    clock.freeze(T0 + dt.timedelta(hours=3))
    assert run_deadlines(ctx).tasks == 0


def test_an_unclaimed_overdue_task_goes_to_the_role_and_its_supervisors(ctx):
    clock.freeze(T0)
    start(ctx, "queue_timer", {"fire_at": "2026-03-02T09:00:00+00:00", "spin": 1})
    with ctx.uow() as uow:  # the timer has fired; its caseworker task is offered to the role
        timer_id = uow.session.scalar(select(Timer.id))
        instances.fire_timer(uow, ctx.runtime, timer_id)
    clock.freeze(T0 + dt.timedelta(hours=1, minutes=1))
    assert run_deadlines(ctx).overdue == 1
    assert kinds_for(ctx, "caseworker1") == ["task_overdue"]
    assert kinds_for(ctx, "caseworker2") == ["task_overdue"]
    assert kinds_for(ctx, "supervisor1") == ["task_overdue"]
    assert kinds_for(ctx, "committee1") == []


def test_supervisors_see_their_teams_overdue_tasks(ctx, client, token_for):
    """GET /api/tasks?scope=team&overdue=true: the supervisor's view of late work."""
    clock.freeze(T0)
    late = start_assessment(ctx, due_hours=2)
    on_time = start_assessment(ctx, due_hours=48)
    clock.freeze(T0 + dt.timedelta(hours=3))
    sup = token_for("supervisor1")
    overdue = client.get("/api/tasks?scope=team&overdue=true", headers=sup)
    assert overdue.status_code == 200
    body = overdue.get_json()
    assert [t["instance_id"] for t in body["tasks"]] == [late] and body["tasks"][0]["overdue"] is True
    everyone = client.get("/api/tasks?scope=team", headers=sup).get_json()
    assert sorted(t["instance_id"] for t in everyone["tasks"]) == sorted([late, on_time])
    refused = client.get("/api/tasks?scope=team&overdue=true", headers=token_for("caseworker1"))
    assert refused.status_code == 403
