"""Who may see and act on what. Pure functions over already-loaded rows."""
from __future__ import annotations

from engine.models import HumanTask, User

TEAM_ROLES = ("supervisor", "director")


def offered_to(user: User, task: HumanTask) -> bool:
    """The task is offered to one of the user's roles (claimable by them)."""
    return task.role is not None and task.role in user.roles


def may_view_task(user: User, task: HumanTask, supervisee_ids: set[int]) -> bool:
    if task.assignee_id == user.id:
        return True
    if task.assignee_id is None and offered_to(user, task):
        return True
    if task.assignee_id in supervisee_ids:
        return True
    return "admin" in user.roles


def may_claim(user: User, task: HumanTask) -> bool:
    return offered_to(user, task) or task.assignee_id == user.id


def may_complete(user: User, task: HumanTask) -> bool:
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    return offered_to(user, task)
