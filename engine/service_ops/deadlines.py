"""Deadlines on human tasks: "due soon" and "overdue" notices, once per task and kind.

A periodic job calls :func:`notify_deadlines`. Each notice is first recorded in
``task_deadline_notices`` (insert-if-absent), so two jobs running at once, or one job
running twice, never send a notice twice. Escalation *by diagram* (a boundary timer that
hands the task to the supervisor) is separate: it runs as a timer of the instance.

Who hears about it: the assignee, or, for a task still offered to a role, the people
holding that role; an overdue notice also goes to their direct supervisors.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, select

from engine import clock
from engine.models import HumanTask, Supervision, TaskState, User, UserRole
from engine.models.ops import TaskDeadlineNotice, dialect_insert
from engine.service_ops.notifications import notify, task_link
from engine.service_ops.translations import N_, words


@dataclass(frozen=True)
class DeadlineRun:
    due_soon: int
    overdue: int

    @property
    def tasks(self) -> int:
        return self.due_soon + self.overdue


def notify_deadlines(uow, due_soon_window: dt.timedelta, limit: int, due_soon_share: float) -> DeadlineRun:
    """Send the notices that are due now for up to ``limit`` tasks of each kind. Commits;
    the caller calls again while a kind returned ``limit`` tasks.

    "Due soon" means within ``due_soon_window`` of the due time, but never earlier than
    ``due_soon_share`` of the task's lifetime before it: a task due 24 h after it was
    created, with a 24 h window and a share of 0.5, gets its notice 12 h before it is
    due rather than at the moment it appears."""
    now = clock.now()
    session = uow.session
    overdue = _tasks_without_notice(session, "task_overdue", HumanTask.due_at <= now, limit)
    due_soon = [task for task in _tasks_without_notice(
        session, "task_due_soon", (HumanTask.due_at > now) & (HumanTask.due_at <= now + due_soon_window), None)
        if task.due_at is not None and now >= task.due_at - (task.due_at - task.created_at) * due_soon_share][:limit]
    sent_overdue = sum(_send(uow, task, "task_overdue", now) for task in overdue)
    sent_soon = sum(_send(uow, task, "task_due_soon", now) for task in due_soon)
    uow.commit()
    return DeadlineRun(due_soon=sent_soon, overdue=sent_overdue)


def _tasks_without_notice(session, kind: str, window, limit: int | None) -> list[HumanTask]:
    noticed = exists().where(TaskDeadlineNotice.task_id == HumanTask.id, TaskDeadlineNotice.kind == kind)
    query = (select(HumanTask).where(HumanTask.state == TaskState.READY, HumanTask.due_at.is_not(None), window,
                                     ~noticed)
             .order_by(HumanTask.due_at, HumanTask.id).limit(limit))
    return list(session.scalars(query))


def _send(uow, task: HumanTask, kind: str, now: dt.datetime) -> int:
    """Record the notice (if nobody else has) and notify; 1 if this call sent it."""
    if task.due_at is None:  # the queries above only find tasks with a due time
        raise ValueError(f"task {task.id} has no due time: no deadline notice")
    statement = (dialect_insert(uow.session, TaskDeadlineNotice)
                 .values(task_id=task.id, kind=kind, sent_at=now)
                 .on_conflict_do_nothing(index_elements=["task_id", "kind"])
                 .returning(TaskDeadlineNotice.task_id))
    if uow.session.execute(statement).first() is None:
        return 0
    recipients = recipients_for(uow.session, task, escalate=(kind == "task_overdue"))
    due = task.due_at.isoformat(timespec="minutes")
    title, code = task.title, task.case_code  # each recipient reads these in their own language
    if kind == "task_overdue":
        subject = (words(N_("Overdue: %(title)s (case %(code)s)"), title=title, code=code) if code
                   else words(N_("Overdue: %(title)s"), title=title))
        body = words(N_("This task was due %(due)s and is still open."), due=due)
    else:
        subject = (words(N_("Due soon: %(title)s (case %(code)s)"), title=title, code=code) if code
                   else words(N_("Due soon: %(title)s"), title=title))
        body = words(N_("This task is due %(due)s."), due=due)
    notify(uow, recipients, kind, subject, body=body, case_code=task.case_code, link=task_link(task.id),
           dedupe_key=f"{kind}:{task.id}")
    uow.audit(None, f"{kind}_notice", "human_task", task.id, task.case_code, recipients=len(recipients))
    return 1


def recipients_for(session, task: HumanTask, escalate: bool) -> set[int]:
    if task.assignee_id is not None:
        people = {task.assignee_id}
    elif task.role:
        people = set(session.scalars(select(User.id).join(UserRole, UserRole.user_id == User.id)
                                     .where(UserRole.role == task.role, User.active)))
    else:
        people = set()
    if escalate and people:
        people |= set(session.scalars(select(Supervision.supervisor_id)
                                      .where(Supervision.supervisee_id.in_(people))))
    return people
