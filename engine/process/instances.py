"""Process instances: starting them, waking their timers, cancelling them, reading one.

Every engine step here goes through ``engine.bpmn.engine_step``. ``start_process`` and
``cancel_instance`` are building blocks other use cases (and service-task operations) call
inside their own unit of work; ``start_by_request``, ``fire_timer`` and ``view_instance``
are use cases and own their transaction.
"""
from __future__ import annotations

import logging
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from engine import clock
from engine.bpmn import engine_step
from engine.bpmn.runtime import ProcessRuntime
from engine.errors import Forbidden
from engine.models import HumanTask, InstanceStatus, ProcessInstance, TaskState, Timer, TimerState
from engine.people.directory import get_user
from engine.process.deployment import latest_model

log = logging.getLogger(__name__)

# Who may read any instance's status (others: the ones they started).
INSTANCE_VIEW_ROLES = ("admin", "process_owner", "director")


def start_process(uow, runtime: ProcessRuntime, process_id: str, actor_id: int | None,
                  data: dict | None = None, case_code: str | None = None,
                  parent_instance_id: int | None = None) -> ProcessInstance:
    """Start the newest version of ``process_id`` and run it to its first wait state.
    A building block: the calling use case commits."""
    model = latest_model(uow.session, process_id)
    return engine_step.start(uow, runtime, model, actor_id, data, case_code, parent_instance_id).instance


def start_by_request(uow, runtime: ProcessRuntime, user_id: int, process_id: str, data: dict) -> ProcessInstance:
    """A person starts a process through the API: only a process whose newest version's
    diagram names one of their roles in ``start_roles``. A process without start roles is
    one the engine starts for itself, with the case or crisis it belongs to (follow-ups,
    reviews, crisis checks, readiness occurrences, the case-management process behind a
    referral); started from outside it would act on records nobody handed it. Commits."""
    user = get_user(uow.session, user_id)
    model = latest_model(uow.session, process_id)
    allowed = model.start_roles.split()
    if not allowed:
        raise Forbidden(f"{process_id} is started by the engine itself when its work is due, not through the API")
    if not user.has_role(*allowed):
        raise Forbidden(f"only a {' or '.join(r.replace('_', ' ') for r in allowed)} may start {process_id}")
    instance = engine_step.start(uow, runtime, model, user.id, data).instance
    uow.commit()
    return instance


def view_instance(session, user_id: int, instance_id: int) -> ProcessInstance:
    """One instance's status (not its data): for whoever started it and for admins,
    process owners and directors."""
    user = get_user(session, user_id)
    instance = engine_step.load_instance(session, instance_id)
    if instance.started_by != user.id and not user.has_role(*INSTANCE_VIEW_ROLES):
        raise Forbidden("you did not start this instance")
    return instance


def fire_timer(uow, runtime: ProcessRuntime, timer_id: int) -> bool:
    """Fire one timer exactly once. False when it was fired or cancelled already (a
    repeated message, or the sweeper and the delayed message racing). Commits; a diagram
    failure stops the instance (nobody is there to be told) and raises."""
    row = uow.session.execute(_TIMER_AND_INSTANCE, {"timer_id": timer_id}).first()  # one read: both and the model
    if row is None or row[0].state != TimerState.PENDING:
        return False
    timer, instance = row[0], row[1]
    now = clock.now()
    if timer.due_at > now:
        return False  # an early message: the delayed one or the sweeper comes back later
    if uow.session.connection().execute(_CLAIM_TIMER, {"timer_id": timer_id, "fired_at": now}).rowcount != 1:
        return False
    set_committed_value(timer, "state", TimerState.FIRED)
    set_committed_value(timer, "fired_at", now)
    if instance.status != InstanceStatus.RUNNING:
        # the instance ended or failed meanwhile: the timer will never fire, stop re-sending it
        uow.session.execute(update(Timer).where(Timer.id == timer_id).values(state=TimerState.CANCELLED))
        uow.commit()
        return False
    with engine_step.advancing(uow, runtime, instance, None, stop_on_failure=True) as step:
        fired = step.fire_timer(timer.task_id, element=timer.bpmn_id, due_at=timer.due_at)
    uow.commit()
    return fired


_TIMER_AND_INSTANCE = (select(Timer, ProcessInstance).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                       .where(Timer.id == bindparam("timer_id")))
_TIMERS = cast(Table, Timer.__table__)
_CLAIM_TIMER = (update(_TIMERS).where(_TIMERS.c.id == bindparam("timer_id"), _TIMERS.c.state == TimerState.PENDING)
                .values(state=TimerState.FIRED, fired_at=bindparam("fired_at")))


def due_timer_ids(session, limit: int = 500) -> list[int]:
    """Pending timers whose time has come (the sweeper re-sends these)."""
    return list(session.scalars(select(Timer.id).where(Timer.state == TimerState.PENDING,
                                                       Timer.due_at <= clock.now())
                                .order_by(Timer.due_at).limit(limit)))


def cancel_instance(uow, instance: ProcessInstance, actor_id: int | None, why: str) -> None:
    """Stop one instance: it takes no more input, its open tasks and pending timers end.
    A building block: the calling use case commits."""
    now = clock.now()
    instance.status = InstanceStatus.CANCELLED
    instance.updated_at = now
    uow.session.execute(update(HumanTask).where(HumanTask.instance_id == instance.id,
                                                HumanTask.state == TaskState.READY)
                        .values(state=TaskState.CANCELLED, completed_at=now)
                        .execution_options(synchronize_session="fetch"))
    uow.session.execute(update(Timer).where(Timer.instance_id == instance.id, Timer.state == TimerState.PENDING)
                        .values(state=TimerState.CANCELLED).execution_options(synchronize_session="fetch"))
    uow.audit(actor_id, "instance_cancelled", "process_instance", instance.id, instance.case_code,
              process_id=instance.process_id, reason=why)
    log.info("cancelled instance %s (%s) of case %s: %s", instance.id, instance.process_id, instance.case_code, why)
