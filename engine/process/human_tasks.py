"""Inbox queries and the three things people do with a task: look, claim, complete."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from engine import clock
from engine.people import access
from engine.bpmn import forms
from engine.errors import Conflict, Forbidden, Invalid, NotFound, ScriptError
from engine.models import HumanTask, ProcessInstance, User
from engine.bpmn.runtime import ProcessRuntime
from engine.process import instances
from engine.process.deployment import form_schema
from engine.people.accounts import get_user, supervisee_ids

SCOPES = ("mine", "claimable", "team")


@dataclass(frozen=True)
class TaskView:
    task: HumanTask
    form: dict | None
    assignee: str | None


def list_tasks(session, user_id: int, scope: str = "mine", overdue: bool = False,
               case_code: str | None = None, process_id: str | None = None,
               limit: int = 100, offset: int = 0) -> tuple[list[HumanTask], int]:
    """Ready tasks in one inbox scope, due first then highest priority; and the total."""
    user = get_user(session, user_id)
    query = select(HumanTask).where(HumanTask.state == "ready")
    if scope == "mine":
        query = query.where(HumanTask.assignee_id == user.id)
    elif scope == "claimable":
        roles = sorted(user.roles) or ["-"]
        query = query.where(HumanTask.assignee_id.is_(None), HumanTask.role.in_(roles))
    elif scope == "team":
        if not user.has_role(*access.TEAM_ROLES):
            raise Forbidden("only supervisors and directors have a team inbox")
        team = supervisee_ids(session, user.id)
        query = query.where(HumanTask.assignee_id.in_(team or {-1}))
    else:
        raise Invalid(f"unknown scope {scope!r}", errors={"scope": [f"one of {', '.join(SCOPES)}"]})
    if overdue:
        query = query.where(HumanTask.due_at.is_not(None), HumanTask.due_at < clock.now())
    if case_code:
        query = query.where(HumanTask.case_code == case_code)
    if process_id:
        query = query.where(HumanTask.process_id == process_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    ordered = query.order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.priority.desc(),
                             HumanTask.created_at).limit(limit).offset(offset)
    return list(session.scalars(ordered)), total


def _load_task(session, task_id: str) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task


def get_task(uow, user_id: int, task_id: str) -> TaskView:
    session = uow.session
    user = get_user(session, user_id)
    task = _load_task(session, task_id)
    if not access.may_view_task(user, task, supervisee_ids(session, user.id)):
        raise Forbidden("this task is not offered to you")
    instance = session.get(ProcessInstance, task.instance_id)
    assignee = session.get(User, task.assignee_id).username if task.assignee_id else None
    if task.case_code:
        uow.audit(user.id, "task_viewed", "human_task", task.id, task.case_code)
    return TaskView(task, form_schema(session, instance.model, task.form), assignee)


def claim_task(uow, user_id: int, task_id: str) -> HumanTask:
    session = uow.session
    user = get_user(session, user_id)
    task = _load_task(session, task_id)
    if task.state != "ready":
        raise Conflict(f"this task is {task.state}")
    if task.assignee_id == user.id:
        return task
    if not access.offered_to(user, task):
        raise Forbidden("this task is not offered to your roles")
    claimed = session.execute(update(HumanTask).where(HumanTask.id == task_id, HumanTask.state == "ready",
                                                      HumanTask.assignee_id.is_(None))
                              .values(assignee_id=user.id)).rowcount
    if claimed != 1:
        raise Conflict("someone else has claimed this task")
    uow.audit(user.id, "task_claimed", "human_task", task_id, task.case_code)
    session.refresh(task)
    return task


def unclaim_task(uow, user_id: int, task_id: str) -> HumanTask:
    session = uow.session
    user = get_user(session, user_id)
    task = _load_task(session, task_id)
    if task.state != "ready":
        raise Conflict(f"this task is {task.state}")
    if task.assignee_id != user.id:
        raise Forbidden("only the person holding a task can hand it back")
    task.assignee_id = None
    uow.audit(user.id, "task_unclaimed", "human_task", task_id, task.case_code)
    return task


def complete_task(uow, runtime: ProcessRuntime, user_id: int, task_id: str, data) -> HumanTask:
    """Validate ``data`` against the task's form, complete it, run the engine on, save.

    Commits. A diagram failure rolls the completion back, notes it on the instance and
    raises ``ScriptError``."""
    session = uow.session
    user = get_user(session, user_id)
    task = _load_task(session, task_id)
    if task.state != "ready":
        raise Conflict(f"this task is already {task.state}")
    if not access.may_complete(user, task):
        if task.assignee_id is not None and access.offered_to(user, task):
            raise Conflict("someone else has claimed this task")
        raise Forbidden("this task is not offered to you")
    instance = instances.load_instance(session, task.instance_id)
    instances.ensure_running(instance)
    forms.validate(form_schema(session, instance.model, task.form), data)
    workflow = runtime.restore(instance)
    if runtime.find_ready_human_task(workflow, task_id) is None:
        raise Conflict("this task is no longer waiting for input")
    if task.assignee_id is None:
        task.assignee_id = user.id
    try:
        with instances.operations_bound(uow, runtime, instance, user.id):
            runtime.complete(workflow, task_id, data)
    except ScriptError as err:
        instances.record_failure(uow, instance.id, err, user.id, mark_error=False)
        raise
    instances.save(uow, runtime, instance, workflow, completed_by=user.id)
    uow.audit(user.id, "task_completed", "human_task", task_id, task.case_code,
              element=task.bpmn_id, fields=sorted(data))
    uow.commit()
    return task

