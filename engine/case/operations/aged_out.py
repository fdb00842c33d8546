"""``case.*`` operations of ageing out (R27): the case moves to aged-out (AO) on the
client's 18th birthday, gets a transition plan, and closes automatically six months
later unless a supervisor records the agreement to keep it open.

The ``case_aged_out`` process waits for the birthday with a timer. The birthday comes from
``clients.date_of_birth``: the engine reads it here, through the case's client link, and
puts only the instant to wake up at into the workflow data — never the name, never the
date of birth itself. Each read is audited. A birthday further away than a timer may wait
(``coming_of_age_recheck_days``, within the engine's longest duration) is approached in
links of that length: each link is a short instance that starts the next (never a loop).
The age (18) and every interval are outputs of ``case_timeframes``.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.case import lifecycle
from engine.case import processes as case_processes
from engine.case.operations.intake import case_of, finish
from engine.case.records import record_event, set_status, start_clock
from engine.models import Case, CaseClientLink, CaseStatus, Client
from engine.models.case_decisions import ClosureRequest


def birthday(date_of_birth: dt.date, years: int) -> dt.datetime:
    """The instant (00:00 UTC) the client turns ``years``; born on 29 February, 1 March."""
    try:
        day = date_of_birth.replace(year=date_of_birth.year + years)
    except ValueError:
        day = dt.date(date_of_birth.year + years, 3, 1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _coming_of_age(uow, case: Case, actor_id: int | None, years: int) -> dt.datetime | None:
    """When the case's client turns ``years`` (None: no date of birth on record). Audited."""
    born = uow.session.scalar(select(Client.date_of_birth).join(CaseClientLink, CaseClientLink.client_id == Client.id)
                              .where(CaseClientLink.case_id == case.id))
    uow.audit(actor_id, "client_birth_date_read", "case", case.id, case.code, purpose="ageing out (R27)",
              known=born is not None)
    return birthday(born, years) if born is not None else None


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive whole number of case_timeframes, got {value!r}")
    return value


@operation("case.schedule_coming_of_age")
def schedule_coming_of_age(ctx: OperationContext, data: dict) -> dict:
    """R27: the case (newly registered or reopened) waits for its client's 18th birthday
    in a ``case_aged_out`` instance of its own (replacing any earlier one)."""
    case = case_of(ctx)
    started = case_processes.restart_chain(ctx.uow, ctx.runtime, case, "aged_out", ctx.actor_id, [ctx.instance.id],
                                           parent_instance_id=ctx.instance.id)
    return finish(ctx, case, data, instance_id=started.id)


@operation("case.coming_of_age")
def coming_of_age(ctx: OperationContext, data: dict, age_years: int, recheck_days: int) -> dict:
    """When this link wakes up: the birthday if it is within ``recheck_days``, else
    ``recheck_days`` from now (the next link looks again). ``wake_at`` None: no date of
    birth on record (the caseworker requests closure as aged-out when it happens)."""
    case = case_of(ctx)
    due = _coming_of_age(ctx.uow, case, ctx.actor_id, _positive(age_years, "age_years"))
    now = clock.now()
    if due is None or case.status == CaseStatus.CLOSED:
        return finish(ctx, case, data, wake_at=None)
    if due <= now:
        wake = now - dt.timedelta(seconds=1)  # already of age: at once
    else:
        wake = min(due, now + dt.timedelta(days=_positive(recheck_days, "recheck_days")))
    return finish(ctx, case, data, wake_at=wake.isoformat())


@operation("case.age_out")
def age_out(ctx: OperationContext, data: dict, age_years: int) -> dict:
    """R27 at the wake-up: not of age yet, the next link starts; of age, an open case
    becomes aged-out (an inactive one stays inactive and returns to aged-out when contact
    resumes), with a closure request for the automatic closure six months on — unless
    another closure is already under way (``closure_id`` None: that one decides)."""
    case = case_of(ctx)
    due = _coming_of_age(ctx.uow, case, ctx.actor_id, _positive(age_years, "age_years"))
    if due is None or case.status == CaseStatus.CLOSED or case.date_aged_out is not None:
        return finish(ctx, case, data, aged_out=False, closure_id=None)
    if clock.now() < due:
        started = case_processes.continue_chain(ctx.uow, ctx.runtime, case, "aged_out", ctx.actor_id, ctx.instance.id)
        return finish(ctx, case, data, aged_out=False, closure_id=None,
                      next_instance_id=started.id if started else None)
    now = clock.now()
    case.date_aged_out = now
    if case.status == CaseStatus.OPEN:
        set_status(ctx.uow, case, ctx.actor_id, CaseStatus.AGED_OUT, "turned 18: on a transition plan")
    closure_id = None
    if lifecycle.pending_closure(ctx.uow.session, case) is None:
        closure = ClosureRequest(case_id=case.id, instance_id=ctx.instance.id, reason="aged_out",
                                 summary="turned 18: closes automatically unless agreed otherwise", status="requested",
                                 requested_by=None, requested_at=now)
        ctx.uow.session.add(closure)
        ctx.uow.session.flush()
        closure_id = closure.id
    record_event(ctx.uow, case, ctx.actor_id, "form", "turned 18: aged out, a transition plan is due",
                 closure_id=closure_id)
    start_clock(data, now)
    data["closure_id"] = closure_id
    return finish(ctx, case, data, aged_out=True, closure_id=closure_id)
