"""Helpers for the BCP / crisis tests: a seeded caseload, a declaration, and running the
crisis jobs the way a worker would (from the outbox), without a broker."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from engine.crisis import declaration as crisis
from engine.crisis import fanout as crisis_fanout
from engine.models import Case, HumanTask, OutboxMessage, User
from engine.people import accounts, directory
from engine.process import human_tasks

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CRISIS_JOBS = ("crisis_plan_checks", "crisis_start_checks")


def user_id(ctx, username: str) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(User.id).where(User.username == username))


def add_caseworker(ctx, username: str, supervisor: str = "supervisor1", available: bool = True) -> int:
    with ctx.uow() as uow:
        user = accounts.create_user(uow, username, "pw", ["caseworker"])
        user.available = available
        directory.set_supervisor(uow, user_id(ctx, supervisor), user.id)
        uow.commit()
        return user.id


def set_available(ctx, username: str, available: bool) -> None:
    with ctx.uow() as uow:
        uow.session.get(User, user_id(ctx, username)).available = available
        uow.commit()


def add_case(ctx, code: str, stage: str = "implementation", risk: str | None = "medium", in_crisis: bool = False,
             caseworker: str | None = "caseworker1", supervisor: str = "supervisor1", status: str = "O",
             next_contact: dt.datetime | None = None) -> int:
    with ctx.uow() as uow:
        case = Case(code=code, status=status, stage=stage, risk_level=risk, in_crisis=in_crisis,
                    caseworker_id=user_id(ctx, caseworker) if caseworker else None,
                    supervisor_id=user_id(ctx, supervisor), date_next_contact=next_contact)
        uow.session.add(case)
        uow.commit()
        return case.id


def declare(ctx, username: str = "crisislead1", kind: str = "it_failure", functions=("5.1", "5.4"),
            description: str = "Case management system down", drill: bool = False) -> int:
    with ctx.uow() as uow:
        record = crisis.declare_crisis(uow, ctx.runtime, user_id(ctx, username), kind, description, list(functions),
                                       drill=drill)
        uow.commit()
        return record.id


def pending_jobs(ctx, actor: str) -> list[list]:
    with ctx.session_factory() as session:
        return [json.loads(m.args_json) for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.actor == actor, OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.id))]


def _mark_sent(ctx, actor: str) -> None:
    with ctx.uow() as uow:
        for message in uow.session.scalars(select(OutboxMessage).where(OutboxMessage.actor == actor,
                                                                       OutboxMessage.sent_at.is_(None))):
            message.sent_at = message.created_at
        uow.commit()


def run_crisis_jobs(ctx) -> int:
    """Run every queued crisis job as a worker would, until none is left; returns how
    many check instances were started."""
    started = 0
    while True:
        plans, batches = pending_jobs(ctx, "crisis_plan_checks"), pending_jobs(ctx, "crisis_start_checks")
        if not plans and not batches:
            return started
        _mark_sent(ctx, "crisis_plan_checks")
        _mark_sent(ctx, "crisis_start_checks")
        for (crisis_id,) in plans:
            with ctx.uow() as uow:
                crisis_fanout.plan_checks(uow, crisis_id)
                uow.commit()
        for crisis_id, check_ids in batches:
            with ctx.uow() as uow:
                started += crisis_fanout.start_check_batch(uow, ctx.runtime, crisis_id, check_ids)
                uow.commit()


def ready_task(ctx, instance_id: int, bpmn_id: str) -> HumanTask:
    with ctx.session_factory() as session:
        tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                             HumanTask.bpmn_id == bpmn_id,
                                                             HumanTask.state == "ready")))
    assert len(tasks) == 1, (bpmn_id, [t.bpmn_id for t in tasks])
    return tasks[0]


def ready_bpmn_ids(ctx, instance_id: int) -> set[str]:
    with ctx.session_factory() as session:
        return set(session.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id,
                                                                   HumanTask.state == "ready")))


def complete(ctx, username: str, task: HumanTask, data: dict) -> None:
    with ctx.uow() as uow:
        human_tasks.complete_task(uow, ctx.runtime, user_id(ctx, username), task.id, data)


def complete_step(ctx, username: str, instance_id: int, bpmn_id: str, data: dict) -> None:
    complete(ctx, username, ready_task(ctx, instance_id, bpmn_id), data)


def check_tasks(ctx) -> list[HumanTask]:
    """Ready crisis-check tasks, in inbox order (due first, then highest priority)."""
    with ctx.session_factory() as session:
        return list(session.scalars(select(HumanTask).where(HumanTask.process_id == crisis.CHECK_PROCESS,
                                                            HumanTask.bpmn_id == "crisis_check",
                                                            HumanTask.state == "ready")
                                    .order_by(HumanTask.due_at, HumanTask.priority.desc(), HumanTask.case_code)))


CHECK_ANSWERS = {"client_reached": True, "contact_method": "phone", "client_safe": True,
                 "reassessment_needed": False}
