"""Drive the case-management diagrams through the engine services, as people would.

Every step is its own unit of work (services save and restore the instance from the
database each time) and the clock is frozen, so due dates are exact.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import clock
from engine.case import intake
from engine.models import Case, HumanTask, ProcessInstance, Timer, User
from engine.process import human_tasks, instances

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
COMMITTEE = ("committee1", "committee2", "director1", "supervisor1")  # active committee members (CONTRACT)

REFERRAL = {"source": "community member", "primary_concern": "child out of school, working at the market"}
CLIENT = {"name": "Amina Example", "date_of_birth": "2014-05-01", "sex": "female"}
NEEDS_HIGH = {"red_needs": ["child_labour"], "yellow_needs": []}
NEEDS_MEDIUM = {"red_needs": [], "yellow_needs": ["disability"]}
NEEDS_LOW = {"red_needs": [], "yellow_needs": []}
PLAN = {"goals": "back to school", "actions": "enrol; weekly visits", "agreed_with_client": True}
FIRST_ACTION = {"first_action": "intervened", "action_notes": "visited the family; the child is safe tonight"}
FIRST_ACTION_TASKS = ("immediate_action", "intervention", "information")


class CaseDriver:
    def __init__(self, ctx, start: dt.datetime = T0):
        self.ctx = ctx
        self.now = start
        clock.freeze(start)
        self._ids: dict[str, int] = {}

    # -- time ---------------------------------------------------------------------------
    def at(self, moment: dt.datetime) -> None:
        self.now = moment
        clock.freeze(moment)

    def later(self, delta: dt.timedelta) -> None:
        self.at(self.now + delta)

    # -- people ---------------------------------------------------------------------------
    def uid(self, username: str) -> int:
        if username not in self._ids:
            with self.ctx.session_factory() as s:
                self._ids[username] = s.scalar(select(User.id).where(User.username == username))
        return self._ids[username]

    def username(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        with self.ctx.session_factory() as s:
            return s.get(User, user_id).username

    # -- cases ----------------------------------------------------------------------------
    def refer(self, by: str = "caseworker1", referral: dict | None = None, client: dict | None = None) -> str:
        with self.ctx.uow() as uow:
            case = intake.create_referral(uow, self.ctx.runtime, self.uid(by), referral or REFERRAL, client or CLIENT)
            uow.commit()
            return case.code

    def case(self, code: str) -> Case:
        with self.ctx.session_factory() as s:
            return s.scalar(select(Case).where(Case.code == code))

    def instances(self, code: str, status: str | None = "running") -> list[ProcessInstance]:
        with self.ctx.session_factory() as s:
            query = select(ProcessInstance).where(ProcessInstance.case_code == code)
            if status:
                query = query.where(ProcessInstance.status == status)
            return list(s.scalars(query.order_by(ProcessInstance.id)))

    # -- tasks ----------------------------------------------------------------------------
    def tasks(self, code: str, bpmn_id: str | None = None, state: str = "ready") -> list[HumanTask]:
        with self.ctx.session_factory() as s:
            query = select(HumanTask).where(HumanTask.case_code == code, HumanTask.state == state)
            if bpmn_id:
                query = query.where(HumanTask.bpmn_id == bpmn_id)
            return list(s.scalars(query.order_by(HumanTask.created_at, HumanTask.id)))

    def ready(self, code: str) -> list[str]:
        return sorted(t.bpmn_id for t in self.tasks(code))

    def task(self, code: str, bpmn_id: str) -> HumanTask:
        found = self.tasks(code, bpmn_id)
        assert len(found) == 1, (bpmn_id, self.ready(code))
        return found[0]

    def assignee(self, task: HumanTask) -> str | None:
        return self.username(task.assignee_id)

    def complete(self, username: str, task: HumanTask | str, data: dict) -> HumanTask:
        task_id = task if isinstance(task, str) else task.id
        with self.ctx.uow() as uow:
            return human_tasks.complete_task(uow, self.ctx.runtime, self.uid(username), task_id, data)

    def claim(self, username: str, task: HumanTask) -> None:
        with self.ctx.uow() as uow:
            human_tasks.claim_task(uow, self.uid(username), task.id)
            uow.commit()

    def do(self, code: str, bpmn_id: str, data: dict, by: str | None = None) -> HumanTask:
        """Complete the one ready ``bpmn_id`` task of the case as its assignee (or ``by``,
        claiming it first when it is offered to a role)."""
        task = self.task(code, bpmn_id)
        who = by or self.assignee(task)
        assert who, f"{bpmn_id} is offered to role {task.role}: say who does it"
        if task.assignee_id is None:
            self.claim(who, task)
        return self.complete(who, task, data)

    def vote_all(self, code: str, vote: str = "approve", members=COMMITTEE) -> None:
        for member in members:
            task = next(t for t in self.tasks(code, "cast_vote") if self.assignee(t) == member)
            self.complete(member, task, {"vote": vote, "comment": f"{member} {vote}s"})

    # -- timers ---------------------------------------------------------------------------
    def timers(self, code: str, bpmn_id: str | None = None) -> list[Timer]:
        with self.ctx.session_factory() as s:
            query = (select(Timer).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                     .where(ProcessInstance.case_code == code, Timer.state == "pending"))
            if bpmn_id:
                query = query.where(Timer.bpmn_id == bpmn_id)
            return list(s.scalars(query.order_by(Timer.due_at)))

    def fire(self, code: str, bpmn_id: str) -> Timer:
        """Let time run to the timer's due instant and fire it, as the worker would."""
        (timer,) = self.timers(code, bpmn_id)
        self.at(max(self.now, timer.due_at))
        with self.ctx.uow() as uow:
            assert instances.fire_timer(uow, self.ctx.runtime, timer.id) is True
        return timer

    # -- whole stretches of the process ------------------------------------------------------
    def screen(self, code: str, eligible=True, danger=False, by="caseworker1") -> None:
        self.do(code, "screening", {"eligible": eligible, "immediate_danger": danger}, by=by)

    def admit(self, code: str, vote="approve") -> None:
        self.vote_all(code, vote)

    def register(self, code: str) -> None:
        self.do(code, "consent_registration", {"consent": "given", "consent_by": "client_and_caregiver",
                                               "child_assent": "given"})

    def to_registered(self, code: str) -> None:
        self.screen(code)
        self.admit(code)
        self.register(code)

    def first_action(self, code: str, data: dict | None = None) -> HumanTask:
        """Record the first action the rating asked for (whichever of the level's tasks is open)."""
        (task,) = [t for t in self.tasks(code) if t.bpmn_id in FIRST_ACTION_TASKS]
        return self.complete(self.assignee(task), task, data or FIRST_ACTION)

    def assess(self, code: str, needs: dict = NEEDS_HIGH) -> None:
        """Rate, take the first action, assess in full (and an interim plan where one opens):
        the case plan task is open."""
        self.do(code, "initial_assessment", needs)
        self.first_action(code)
        self.do(code, "comprehensive_start", {"assessment_method": "home_visit"})
        self.do(code, "comprehensive_assessment", {"needs_summary": "needs found"})
        if self.tasks(code, "interim_plan"):
            self.do(code, "interim_plan", {"immediate_actions": "safe now"})

    def assess_and_plan(self, code: str, needs: dict = NEEDS_HIGH) -> None:
        self.assess(code, needs)
        self.do(code, "case_plan", PLAN)
        self.do(code, "approve_case_plan", {"vote": "approve"})

    def open_review(self, code: str) -> HumanTask:
        """Let time run to the week before the review date: the review task opens."""
        self.fire(code, "wait_for_notice")
        return self.task(code, "review_case")

    def close(self, code: str, reason: str = "goals_met") -> None:
        self.do(code, "request_closure", {"closure_reason": reason})
        self.do(code, "closure_review", {"vote": "approve"})
        self.vote_all(code, "approve")


# Variants of a route run on SQLite only (the suite stays fast); the backbone tests without
# this mark run on SQLite and PostgreSQL.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def open_case(ctx, needs=NEEDS_HIGH) -> tuple[CaseDriver, str]:
    """A case admitted, assessed and with an approved plan (implementation)."""
    d = CaseDriver(ctx)
    code = d.refer()
    d.to_registered(code)
    d.assess_and_plan(code, needs)
    assert d.case(code).stage == "implementation"
    return d, code
