"""Absence and the stand-in (R49, 003 §5.2.3: "in the absence of the allocated Case
Supervisor, or when urgent consultations are needed, the Project Director will assist").

Marking someone absent (``users.available`` false) sends every task that would be assigned
to them to the one standing in for them — their own supervisor, for a supervisor the
project director (``engine.bpmn.task_sync.stand_in_for``, where new tasks are assigned) —
and hands their open tasks over to that person now. A committee member's vote stays theirs.
Marking them present again changes who gets new tasks; the tasks already handed over stay
where they are (the stand-in may hand them back).
"""
from __future__ import annotations

from sqlalchemy import select

from engine.bpmn.task_sync import PERSONAL_LANES, stand_in_for
from engine.errors import Forbidden, Invalid, message
from engine.models import HumanTask, TaskState, User
from engine.people.directory import get_user, supervisee_ids, user_named, username

MANAGE_ROLES = ("director", "admin")


def may_set_availability(session, actor: User, target: User) -> bool:
    """The person themself, anyone above them in the line of supervision, a director or an
    administrator."""
    return actor.id == target.id or actor.has_role(*MANAGE_ROLES) or target.id in supervisee_ids(session, actor.id)


def set_availability(uow, actor_id: int, who: str, available: bool) -> dict:
    """Mark ``who`` absent or present again. Returns who stands in and how many open tasks
    moved. Commits."""
    session = uow.session
    actor = get_user(session, actor_id)
    target = user_named(session, who)
    if target is None:
        raise Invalid(message("%(value)s is no active user", value=repr(who)), errors={"username": ["unknown"]})
    if not may_set_availability(session, actor, target):
        raise Forbidden(message("only %(username)s, their supervisors, a director or an administrator may say whether "
                                "%(username)s is present", username=target.username))
    target.available = bool(available)
    session.flush()
    moved = 0
    stand_in = None if available else stand_in_for(session, target.id)
    if stand_in is not None:
        tasks = session.scalars(select(HumanTask).where(HumanTask.assignee_id == target.id,
                                                        HumanTask.state == TaskState.READY,
                                                        HumanTask.role.not_in(PERSONAL_LANES)))
        for task in tasks:
            task.assignee_id = stand_in
            uow.audit(actor.id, "task_reassigned", "human_task", task.id, task.case_code, reason="absence",
                      from_user=target.username, to_user=username(session, stand_in))
            moved += 1
    uow.audit(actor.id, "availability_changed", "user", target.id, username=target.username, available=available,
              stand_in=username(session, stand_in) if stand_in else None, tasks_moved=moved)
    uow.commit()
    return {"username": target.username, "available": target.available,
            "stand_in": username(session, stand_in) if stand_in else None, "tasks_moved": moved}
