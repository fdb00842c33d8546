"""The engine-step path's own rules, against a fake unit of work and runtime: what is
saved, recorded, audited and committed when a step succeeds, fails, or moves nothing."""
from __future__ import annotations

import datetime as dt

import pytest

from engine.bpmn import engine_step
from engine.errors import Conflict, Invalid, ScriptError
from engine.models import InstanceStatus
from tests.fakes import FakeRuntime, FakeUnitOfWork, FakeWorkflow, instance

DUE = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def test_a_completed_task_is_saved_then_synced_then_audited_and_the_use_case_commits_not_the_step():
    uow, runtime, row = FakeUnitOfWork(), FakeRuntime(FakeWorkflow(ready={"t1"})), instance()
    announced = []
    runtime.new_task_listeners.append(lambda work, tasks: announced.append(tasks))
    with engine_step.advancing(uow, runtime, row, actor_id=5) as step:
        step.complete("t1", {"vote": "approve"}, case_code=row.case_code, element="approve_plan")
    assert row.state_json == "state(ready=[])"
    assert uow.log == ["flush", "audit:task_completed"]  # the version check comes before any row
    assert uow.audits[0][:5] == (5, "task_completed", "human_task", "t1", "CM-TEST-0001")
    assert uow.audits[0][5] == {"element": "approve_plan", "fields": ["vote"]}
    assert announced == [[]]
    assert uow.commits == 0


def test_a_finished_instance_is_audited_as_completed():
    uow, row = FakeUnitOfWork(), instance()
    with engine_step.advancing(uow, FakeRuntime(FakeWorkflow(ready={"t1"}, finished=True)), row, 5) as step:
        step.complete("t1", {}, case_code=row.case_code, element="last")
    assert row.status == InstanceStatus.COMPLETE
    assert [a[1] for a in uow.audits] == ["task_completed", "instance_completed"]


def test_a_broken_diagram_rolls_back_and_is_recorded_on_the_instance_in_a_commit_of_its_own():
    uow, row = FakeUnitOfWork(), instance()
    runtime = FakeRuntime(FakeWorkflow(ready={"t1"}), fail_with=ScriptError("the diagram failed at Check: it broke",
                                                                                element_id="X"))
    told = []
    runtime.failure_listeners.append(lambda work, failure: told.append(failure))
    with pytest.raises(ScriptError) as caught, engine_step.advancing(uow, runtime, row, 5) as step:
        step.complete("t1", {}, element="x")
    assert uow.log == ["rollback", "execute", "audit:script_failed", "commit"]
    assert uow.audits[0][5] == {"element": "X", "message": "the diagram failed at Check: it broke"}
    assert row.state_json == "state(before)"  # nothing of the failed step is saved
    values = {c.key: v.value for c, v in uow.session.executed[0]._values.items()}
    # marked failed at the element; a person is told: the instance keeps running for them to try again
    assert values == {"error": "Check (X): it broke", "failed_element": "X",
                      "failed_step": '{"element": "x", "task_id": "t1", "trigger": "task"}'}
    assert [(f.instance_id, f.element_id, f.case_code, f.stopped) for f in told] == [(7, "X", "CM-TEST-0001", False)]
    assert "process owner has been told" in caught.value.message and "X" not in caught.value.message


def test_a_timer_whose_step_fails_stops_its_instance_so_it_is_not_retried_forever():
    uow, row = FakeUnitOfWork(), instance()
    runtime = FakeRuntime(FakeWorkflow(waiting_timers={"w1"}), fail_with=Invalid("no crisis_id in the data"))
    with pytest.raises(Invalid), engine_step.advancing(uow, runtime, row, None, stop_on_failure=True) as step:
        step.fire_timer("w1", element="deadline", due_at=DUE)
    values = {c.key: v.value for c, v in uow.session.executed[0]._values.items()}
    assert values["status"] == InstanceStatus.ERROR and values["error"] == "deadline: no crisis_id in the data"
    assert values["failed_element"] == "deadline" and '"trigger": "timer"' in values["failed_step"]
    assert uow.commits == 1


def test_a_refusal_a_person_can_fix_is_not_recorded_as_a_diagram_failure():
    uow, row = FakeUnitOfWork(), instance()
    runtime = FakeRuntime(FakeWorkflow(ready={"t1"}), fail_with=Invalid("registration needs consent"))
    with pytest.raises(Invalid), engine_step.advancing(uow, runtime, row, 5) as step:
        step.complete("t1", {"consent": "refused"})
    assert uow.log == [] and uow.audits == []


def test_a_timer_no_longer_waiting_saves_nothing():
    uow, row = FakeUnitOfWork(), instance()
    with engine_step.advancing(uow, FakeRuntime(FakeWorkflow()), row, None, stop_on_failure=True) as step:
        assert step.fire_timer("gone", element="deadline", due_at=DUE) is False
    assert uow.log == [] and row.state_json == "state(before)"


def test_a_fired_timer_is_audited_with_its_element_and_due_time():
    uow, row = FakeUnitOfWork(), instance()
    with engine_step.advancing(uow, FakeRuntime(FakeWorkflow(waiting_timers={"w1"})), row, None) as step:
        assert step.fire_timer("w1", element="deadline", due_at=DUE) is True
    assert uow.audits[0][1] == "timer_fired"
    assert uow.audits[0][5] == {"element": "deadline", "due_at": DUE.isoformat()}


def test_a_task_that_is_no_longer_ready_is_a_conflict_and_nothing_is_saved():
    uow, row = FakeUnitOfWork(), instance()
    with pytest.raises(Conflict), engine_step.advancing(uow, FakeRuntime(FakeWorkflow()), row, 5) as step:
        step.complete("t1", {})
    assert uow.log == [] and row.state_json == "state(before)"


@pytest.mark.parametrize("status", [InstanceStatus.COMPLETE, InstanceStatus.ERROR, InstanceStatus.CANCELLED])
def test_an_instance_that_is_not_running_is_refused_before_it_is_restored(status):
    runtime = FakeRuntime()
    with pytest.raises(Conflict), engine_step.advancing(FakeUnitOfWork(), runtime, instance(status), 5):
        pass
    assert runtime.restored == 0


def test_a_start_that_fails_raises_and_records_nothing():
    uow = FakeUnitOfWork()
    runtime = FakeRuntime(fail_with=ScriptError("the diagram failed at start"))
    with pytest.raises(ScriptError):
        engine_step.start(uow, runtime, instance().model, actor_id=5, data={"case_code": "CM-TEST-0001"})
    assert uow.audits == [] and uow.commits == 0
