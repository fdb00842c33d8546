"""Service-task operations act on the records of the instance they run in, whatever the
workflow data names, and a person whose action reached them must be entitled to that
case or crisis (R32 need-to-know; R35 the crisis team runs the BCP). A refusal is a 403
that has written nothing: each test commits after the refusal to show nothing was staged."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.bpmn.operations import OperationContext
from engine.case.operations import care as care_operations
from engine.case.operations import intake as intake_operations
from engine.crisis import operations as crisis_operations
from engine.crisis import readiness as crisis_readiness
from engine.errors import Forbidden, NotFound
from engine.models import Case, CaseEvent, ProcessInstance
from engine.models.case_decisions import CasePlan
from engine.models.crisis import Crisis, CrisisCaseCheck, CrisisCaseNote, ReadinessActivity
from engine.process import human_tasks, instances, reassignment
from tests.engine.crisis_support import (
    CHECK_ANSWERS,
    add_case,
    complete,
    declare,
    ready_task,
    run_crisis_jobs,
    user_id,
)
from tests.engine.helpers import only_ready_task

UNSAFE = {**CHECK_ANSWERS, "client_safe": False}


def check_of(ctx, code: str) -> CrisisCaseCheck:
    with ctx.session_factory() as session:
        return session.scalar(select(CrisisCaseCheck).where(CrisisCaseCheck.case_code == code))


def notes_of(ctx, code: str) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(func.count()).where(CrisisCaseNote.case_code == code))


def run_operation(ctx, operation, instance_id: int, actor: str | None, data: dict, **params):
    """Call a registered operation as the engine step would, in the instance's unit of
    work, and commit whatever it did (a refusal must have done nothing)."""
    with ctx.uow() as uow:
        instance = uow.session.get(ProcessInstance, instance_id)
        context = OperationContext(uow, instance, user_id(ctx, actor) if actor else None, ctx.runtime)
        try:
            return operation(context, data, **params)
        finally:
            uow.commit()


@pytest.fixture
def two_checks(ctx):
    """A declared crisis with a check each on caseworker1's case and caseworker2's case."""
    add_case(ctx, "CM-ONES-CASE", caseworker="caseworker1")
    add_case(ctx, "CM-TWOS-CASE", caseworker="caseworker2")
    crisis_id = declare(ctx, functions=("5.4",))
    run_crisis_jobs(ctx)
    return crisis_id


def test_a_crisis_check_records_on_its_own_case_whatever_the_task_data_names_R39(ctx, two_checks):
    ones = check_of(ctx, "CM-ONES-CASE")
    forged = {**UNSAFE, "crisis_id": 999, "case_code": "CM-TWOS-CASE"}
    run_operation(ctx, crisis_operations.record_check, ones.instance_id, "caseworker1", forged)
    assert check_of(ctx, "CM-ONES-CASE").checked_at is not None and check_of(ctx, "CM-ONES-CASE").client_safe is False
    assert check_of(ctx, "CM-TWOS-CASE").checked_at is None and notes_of(ctx, "CM-TWOS-CASE") == 0


def test_only_those_on_the_case_or_the_crisis_team_may_record_its_check(ctx, two_checks):
    ones = check_of(ctx, "CM-ONES-CASE")
    with pytest.raises(Forbidden):
        run_operation(ctx, crisis_operations.record_check, ones.instance_id, "caseworker2", UNSAFE)
    with pytest.raises(Forbidden):
        run_operation(ctx, crisis_operations.record_reassessment, ones.instance_id, "committee1", {})
    assert check_of(ctx, "CM-ONES-CASE").checked_at is None and notes_of(ctx, "CM-ONES-CASE") == 0
    for entitled in ("supervisor1", "crisislead1", "director1"):
        run_operation(ctx, crisis_operations.record_reassessment, ones.instance_id, entitled, {})
    assert notes_of(ctx, "CM-ONES-CASE") == 3


def test_a_check_a_supervisor_handed_to_someone_else_is_theirs_to_record(ctx, two_checks):
    """Reassigning the check task (the assignee is away) lets the new holder record it."""
    ones = check_of(ctx, "CM-ONES-CASE")
    task = ready_task(ctx, ones.instance_id, "crisis_check")
    assert task.assignee_id == user_id(ctx, "caseworker1")
    with ctx.uow() as uow:
        reassignment.reassign_task(uow, user_id(ctx, "supervisor1"), task.id, "caseworker2", "caseworker1 is away")
    complete(ctx, "caseworker2", task, CHECK_ANSWERS)
    assert check_of(ctx, "CM-ONES-CASE").checked_by == user_id(ctx, "caseworker2")


def test_a_bcp_step_acts_on_its_own_crisis_and_only_for_the_bcp_roles_R35(ctx, two_checks):
    with ctx.session_factory() as session:
        crisis = session.get(Crisis, two_checks)
    with ctx.uow() as uow:
        sample = instances.start_process(uow, ctx.runtime, "sample_intake", None, {})
        uow.commit()
    with pytest.raises(Forbidden):
        run_operation(ctx, crisis_operations.confirm_resumption, crisis.instance_id, "caseworker1", {})
    with pytest.raises(NotFound):  # another instance naming the crisis in its data reaches nothing
        run_operation(ctx, crisis_operations.confirm_resumption, sample.id, "crisislead1",
                      {"crisis_id": crisis.id})
    with ctx.session_factory() as session:
        assert session.get(Crisis, crisis.id).resumption_confirmed_at is None
    run_operation(ctx, crisis_operations.confirm_resumption, crisis.instance_id, "crisislead1", {"crisis_id": 999})
    with ctx.session_factory() as session:
        assert session.get(Crisis, crisis.id).status == "recovery"


def test_a_readiness_occurrence_records_its_own_activity_and_only_for_the_readiness_roles_R41(ctx):
    with ctx.uow() as uow:
        crisis_readiness.schedule_readiness(uow, ctx.runtime, user_id(ctx, "crisislead1"))
    with ctx.session_factory() as session:
        drill = session.get(ReadinessActivity, "crisis_drill")
    with pytest.raises(Forbidden):
        run_operation(ctx, crisis_operations.complete_readiness_activity, drill.instance_id, "caseworker1",
                      {"activity": "crisis_drill"})
    with pytest.raises(Forbidden):  # nor may a caseworker have the plan schedule anything
        run_operation(ctx, crisis_operations.schedule_readiness, drill.instance_id, "caseworker1", {},
                      activities=[{"activity": "extra", "every_days": 1}])
    run_operation(ctx, crisis_operations.complete_readiness_activity, drill.instance_id, "crisislead1",
                  {"activity": "bcp_review", "findings": "went well"})
    with ctx.session_factory() as session:
        assert session.get(ReadinessActivity, "crisis_drill").last_outcome == "went well"
        assert session.get(ReadinessActivity, "bcp_review").last_completed_at is None
        assert session.get(ReadinessActivity, "extra") is None


@pytest.fixture
def case_instance(ctx) -> int:
    """caseworker1's case (supervised by supervisor1) with an instance of its own, whose
    open task caseworker1 holds (an unclaimed one is offered to every caseworker)."""
    add_case(ctx, "CM-CASE-ONE1", caseworker="caseworker1")
    with ctx.uow() as uow:
        instance = instances.start_process(uow, ctx.runtime, "sample_intake", None, {}, case_code="CM-CASE-ONE1")
        uow.commit()
    with ctx.uow() as uow:
        human_tasks.claim_task(uow, user_id(ctx, "caseworker1"), only_ready_task(ctx, instance.id).id)
    return instance.id


def events_of(ctx, code: str) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(func.count()).select_from(CaseEvent).join(Case, Case.id == CaseEvent.case_id)
                              .where(Case.code == code))


def test_a_case_step_is_refused_to_someone_not_working_on_the_case_R32(ctx, case_instance):
    for outsider in ("caseworker2", "committee1", "crisislead1"):
        with pytest.raises(Forbidden):
            run_operation(ctx, intake_operations.record_step, case_instance, outsider, {}, step="home visit")
    assert events_of(ctx, "CM-CASE-ONE1") == 0
    for entitled in ("caseworker1", "supervisor1", "director1", None):  # None: a timer, the engine itself
        run_operation(ctx, intake_operations.record_step, case_instance, entitled, {}, step="home visit")
    assert events_of(ctx, "CM-CASE-ONE1") == 4


def test_a_case_step_cannot_reach_another_cases_plan_by_its_id(ctx, case_instance):
    other = add_case(ctx, "CM-CASE-TWO2", caseworker="caseworker2")
    with ctx.uow() as uow:
        plan = CasePlan(case_id=other, kind="full")
        uow.session.add(plan)
        uow.commit()
    with pytest.raises(NotFound):
        run_operation(ctx, care_operations.record_plan_decision, case_instance, "supervisor1", {"vote": "approve"},
                      plan_id=plan.id)
    with ctx.session_factory() as session:
        assert session.get(CasePlan, plan.id).status == "submitted"
