"""A supervisor (or the director) hands a ready task to someone else on their team.

Used when a caseworker is away or overloaded, or a task is late. The new holder must be
on the supervisor's team (or the supervisor) and hold the role the task is offered to;
the change is audited on the case.
"""
from __future__ import annotations

from sqlalchemy import select, update

from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import HumanTask, TaskState, User
from engine.people import access
from engine.people.directory import get_user, supervisee_ids


def reassign_task(uow, actor_id: int, task_id: str, new_assignee: str, reason: str = "") -> HumanTask:
    session = uow.session
    actor = get_user(session, actor_id)
    if not actor.has_role(*access.TEAM_ROLES):
        raise Forbidden("only supervisors and the director reassign tasks")
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.state != TaskState.READY:
        raise Conflict(f"this task is already {task.state}")
    team = supervisee_ids(session, actor.id)
    in_reach = task.assignee_id in team or task.assignee_id == actor.id or (
        task.assignee_id is None and task.role is not None)
    if not in_reach:
        raise Forbidden("this task is held by someone outside your team")
    user = session.scalar(select(User).where(User.username == (new_assignee or "").strip(), User.active.is_(True)))
    if user is None or (user.id not in team and user.id != actor.id):
        raise Invalid(f"{new_assignee!r} is not on your team",
                      errors={"assignee": ["choose someone on your team"]})
    if task.role is not None and task.role not in user.roles:
        raise Invalid(f"{user.username} is not a {task.role.replace('_', ' ')}",
                      errors={"assignee": [f"choose someone with the {task.role} role"]})
    if task.assignee_id == user.id:
        return task
    previous = task.assignee_id
    moved = session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.state == TaskState.READY,
                                                    HumanTask.assignee_id.is_(previous) if previous is None
                                                    else HumanTask.assignee_id == previous)
                            .values(assignee_id=user.id)).rowcount
    if moved != 1:
        raise Conflict("the task changed while you were reassigning it; reload and try again")
    uow.audit(actor.id, "task_reassigned", "human_task", task.id, task.case_code,
              previous_assignee_id=previous, assignee_id=user.id, reason=(reason or "").strip()[:500])
    uow.commit()
    session.refresh(task)
    return task
