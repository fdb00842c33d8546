"""Small helpers for engine tests: run services in their own unit of work."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine.models import HumanTask, User

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

NEEDS_HIGH = {"red_needs": ["child_at_risk"], "yellow_needs": [], "summary": "urgent"}


def user_id(ctx, username: str) -> int:
    with ctx.session_factory() as s:
        return s.scalar(select(User.id).where(User.username == username))


def ready_tasks(ctx, instance_id: int) -> list[HumanTask]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.state == "ready")
                              .order_by(HumanTask.created_at)))


def only_ready_task(ctx, instance_id: int) -> HumanTask:
    tasks = ready_tasks(ctx, instance_id)
    assert len(tasks) == 1, [t.bpmn_id for t in tasks]
    return tasks[0]
