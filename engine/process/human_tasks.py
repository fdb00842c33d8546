"""The things people do with one human task: look at it, claim it, hand it back, complete
it. Each is a use case and commits its own unit of work (a look writes its audit row).
Listing tasks is ``engine.process.inbox``."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from engine.bpmn import engine_step, forms
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import Conflict, Forbidden, NotFound
from engine.models import HumanTask, ProcessInstance, ProcessModel, TaskState, User, UserRole
from engine.people import access
from engine.people.directory import get_user, supervisee_ids, username
from engine.process.deployment import form_schema, form_schema_text


@dataclass(frozen=True)
class TaskView:
    task: HumanTask
    form: dict | None
    assignee: str | None
    process_name: str
    model_version: int
    model_id: int


def process_names(session) -> dict[str, str]:
    """The name people read for each deployed process (its newest version's), by process id:
    task lists say "Case management", never ``case_management``."""
    newest = (select(ProcessModel.process_id, func.max(ProcessModel.version).label("version"))
              .group_by(ProcessModel.process_id).subquery())
    rows = session.execute(select(ProcessModel.process_id, ProcessModel.name).join(
        newest, (ProcessModel.process_id == newest.c.process_id) & (ProcessModel.version == newest.c.version)))
    return {row.process_id: row.name for row in rows}


def load_task(session, task_id: str) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task


def view_task(uow, user_id: int, task_id: str) -> TaskView:
    """One task with its form, for those it is offered to, held by, or whose team holds
    it; a look at a case's task writes its audit row. A building block: the use case that
    calls it commits (:func:`get_task`, or one that shows more of the case beside it)."""
    session = uow.session
    user = get_user(session, user_id)
    task = load_task(session, task_id)
    if not access.may_view_task(user, task, supervisee_ids(session, user.id)):
        raise Forbidden("this task is not offered to you")
    instance = engine_step.load_instance(session, task.instance_id)
    if task.case_code:
        uow.audit(user.id, "task_viewed", "human_task", task.id, task.case_code)
    return TaskView(task, form_schema(session, instance.model, task.form), username(session, task.assignee_id),
                    instance.model.name, instance.model.version, instance.model_id)


def get_task(uow, user_id: int, task_id: str) -> TaskView:
    """:func:`view_task` as a use case. Commits."""
    view = view_task(uow, user_id, task_id)
    uow.commit()
    return view


_ACTOR_AND_TASK = (  # built once: the one read of a claim, a hand-back (and, with the instance, a completion)
    select(User.id, User.active,
           exists().where(UserRole.user_id == User.id, UserRole.role == HumanTask.role).label("holds_role"),
           HumanTask)
    .join_from(HumanTask, User, User.id == bindparam("user_id"))
    .where(HumanTask.id == bindparam("task_id")))
_ACTOR_TASK_INSTANCE = _ACTOR_AND_TASK.add_columns(ProcessInstance).join(
    ProcessInstance, ProcessInstance.id == HumanTask.instance_id)


def _actor_row(session, statement, user_id: int, task_id: str):
    """``(actor, row)`` of ``statement`` (one of the two above): the acting person as whether
    they hold the task's role, not all their roles (loading the person and their roles cost a
    completion more than the rest of its read), and the task; what is missing or disabled
    raises as ``get_user`` and ``load_task`` do (the person first)."""
    row = session.execute(statement, {"user_id": user_id, "task_id": task_id}).first()
    if row is None or not row.active:
        get_user(session, user_id)  # raises for a user who does not exist or is disabled
        raise NotFound(f"no task {task_id}")  # the user is fine: there is no such task
    task = row.HumanTask
    roles = frozenset({task.role}) if row.holds_role and task.role is not None else frozenset()
    return access.Actor(row.id, roles), row


def _actor_task_instance(session, user_id: int, task_id: str) -> tuple[access.Actor, HumanTask, ProcessInstance]:
    """The acting person, the task, its instance and the instance's model, in one query (a
    completion's only read)."""
    actor, row = _actor_row(session, _ACTOR_TASK_INSTANCE, user_id, task_id)
    return actor, row.HumanTask, row.ProcessInstance


def _open_task(session, user_id: int, task_id: str) -> tuple[access.Actor, HumanTask]:
    """The acting person and the task, which must still be open (a 409 otherwise), in one query."""
    actor, row = _actor_row(session, _ACTOR_AND_TASK, user_id, task_id)
    task = row.HumanTask
    if task.state != TaskState.READY:
        raise Conflict(f"this task is {task.state}")
    return actor, task


def claim_task(uow, user_id: int, task_id: str) -> HumanTask:
    """Take a task offered to one of my roles. Commits."""
    session = uow.session
    user, task = _open_task(session, user_id, task_id)
    if task.assignee_id == user.id:
        return task
    if not access.offered_to(user, task):
        raise Forbidden("this task is not offered to your roles")
    claimed = session.execute(update(HumanTask).where(HumanTask.id == task_id, HumanTask.state == TaskState.READY,
                                                      HumanTask.assignee_id.is_(None))
                              .values(assignee_id=user.id)).rowcount
    if claimed != 1:
        raise Conflict("someone else has claimed this task")
    uow.audit(user.id, "task_claimed", "human_task", task_id, task.case_code)
    uow.commit()
    set_committed_value(task, "assignee_id", user.id)  # what the guarded UPDATE wrote: no read back
    return task


def unclaim_task(uow, user_id: int, task_id: str) -> HumanTask:
    """Hand a task I hold back to its role. Commits."""
    user, task = _open_task(uow.session, user_id, task_id)
    if task.assignee_id != user.id:
        raise Forbidden("only the person holding a task can hand it back")
    task.assignee_id = None
    uow.audit(user.id, "task_unclaimed", "human_task", task_id, task.case_code)
    uow.commit()
    return task


def complete_task(uow, runtime: ProcessRuntime, user_id: int, task_id: str, data) -> HumanTask:
    """Validate ``data`` against the task's form, complete it and run the engine on (one
    engine step). Commits. A diagram failure rolls the completion back, is recorded on the
    instance, and raises ``ScriptError``."""
    session = uow.session
    user, task, instance = _actor_task_instance(session, user_id, task_id)
    if task.state != TaskState.READY:
        raise Conflict(f"this task is already {task.state}")
    if not access.may_complete(user, task):
        if task.assignee_id is not None and access.offered_to(user, task):
            raise Conflict("someone else has claimed this task")
        raise Forbidden("this task is not offered to you")
    engine_step.ensure_running(instance)
    forms.validate_text(form_schema_text(session, instance.model, task.form), data)
    with engine_step.advancing(uow, runtime, instance, user.id) as step:
        if not step.has_ready_task(task_id):
            raise Conflict("this task is no longer waiting for input")
        step.complete(task_id, data, case_code=task.case_code, element=task.bpmn_id)
    uow.commit()
    return task
