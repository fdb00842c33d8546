"""A supervisor (or the director) hands a ready task to someone else on their team.

Used when a caseworker is away or overloaded, or a task is late — any open task, whenever
it is due. The new holder must be on the supervisor's team (or the supervisor) and hold
the role the task is offered to; the change is audited on the case. Pages offer the
people :func:`reassignment_choices` names, to choose from a list.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import select, update

from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import HumanTask, TaskState, User
from engine.people import access
from engine.people.directory import get_user, supervisee_ids, team_members


class ShownTask(Protocol):
    """A task as a list shows it: its id, the role it is offered to, its holder's username."""
    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str | None: ...
    @property
    def assignee(self) -> str | None: ...


def reassignment_choices(session, actor_id: int, tasks: Iterable[ShownTask]) -> dict[str, list[str]]:
    """For each task shown, the usernames this supervisor may hand it to (the rules of
    :func:`reassign_task`: someone on their team, or themselves, holding the task's role;
    not its present holder). No entry for a task held outside their team, or when the
    actor reassigns nothing (not a supervisor)."""
    actor = get_user(session, actor_id)
    if not actor.has_role(*access.TEAM_ROLES):
        return {}
    people = [*team_members(session, actor), actor]
    team = {p.username for p in people}
    choices: dict[str, list[str]] = {}
    for task in tasks:
        if (task.assignee is None and task.role is None) or (task.assignee is not None and task.assignee not in team):
            continue
        names = sorted({p.username for p in people if (task.role is None or task.role in p.roles)
                        and p.username != task.assignee})
        choices[task.id] = names
    return choices


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
