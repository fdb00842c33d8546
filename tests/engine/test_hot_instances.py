"""Hot instances (engine.bpmn.runtime_hot): a step takes the workflow this process saved last
instead of restoring it, only when the row's version is the one it saved; what a step that is
not committed did to it is never seen again; and a kept workflow is exactly what a restore of
the saved state gives (so no script can tell whether its instance was hot)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select

from engine.bpmn import engine_step
from engine.bpmn.serialization import dump_state
from engine.errors import Conflict
from engine.models import HumanTask, ProcessInstance
from engine.process import deployment, human_tasks, instances
from tests.engine.helpers import only_ready_task, user_id
from tests.engine.test_engine_bounds import chain, lanes, process, user_task

SCRIPT = '<bpmn:scriptTask id="{id}" name="{id}"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
HOT = process("hot_path", chain(
    "hp", ("ask_one", user_task("ask_one")),
    ("shape", SCRIPT.format(id="shape", script="pair = (1, 2)\nseen = {3, 4}\nby_number = {1: 'one'}\n"
                                                 "nested = {'inner': (5, [6, (7,)])}")),
    ("ask_two", user_task("ask_two")),
    ("use", SCRIPT.format(id="use", script="first = pair[0]\nhow_many = len(seen) + len(by_number)")),
    ("ask_three", user_task("ask_three"))), lanes("hot_path", "ask_one", "ask_two", "ask_three"))
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
      'id="defs_hot" targetNamespace="http://example.org/hot"')
FILES = {"hot.bpmn": f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS}>{HOT}</bpmn:definitions>',
         "bounds_task.json": json.dumps({"type": "object"})}


@pytest.fixture
def hot(ctx):
    with ctx.uow() as uow:
        deployment.deploy_files(uow, FILES, merge_with_deployed=False)
        uow.commit()
    return ctx


@pytest.fixture
def restores(hot, monkeypatch):
    """How many times the runtime restored a workflow from its saved state."""
    calls: list[int] = []
    original = hot.runtime.restore

    def counting(instance):
        calls.append(instance.id)
        return original(instance)

    monkeypatch.setattr(hot.runtime, "restore", counting)
    return calls


def start(ctx) -> int:
    with ctx.uow() as uow:
        instance_id = instances.start_process(uow, ctx.runtime, "hot_path", user_id(ctx, "caseworker1"), {}).id
        uow.commit()
    return instance_id


def complete_next(ctx, instance_id: int, data: dict | None = None) -> HumanTask:
    task = only_ready_task(ctx, instance_id)
    with ctx.uow() as uow:
        return human_tasks.complete_task(uow, ctx.runtime, user_id(ctx, "caseworker1"), task.id, data or {})


def saved_state(ctx, instance_id: int) -> str:
    with ctx.session_factory() as s:
        return s.scalar(select(ProcessInstance.state_json).where(ProcessInstance.id == instance_id))


def assert_hot_is_what_a_restore_gives(ctx, instance_id: int) -> None:
    key, workflow = ctx.runtime.hot._items[instance_id]
    with ctx.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert key.version == instance.version
        restored = ctx.runtime.restore(instance)
    assert dump_state(workflow) == instance.state_json
    for restored_task in restored.get_tasks():
        hot_task = workflow.get_task_from_id(restored_task.id)
        assert hot_task.data == restored_task.data, restored_task.task_spec.bpmn_id  # (1, 2) != [1, 2]
        assert hot_task.internal_data == restored_task.internal_data
    assert workflow.data == restored.data


def test_every_committed_step_keeps_the_workflow_a_restore_would_give(hot):
    instance_id = start(hot)
    assert_hot_is_what_a_restore_gives(hot, instance_id)
    complete_next(hot, instance_id, {"note": "x"})  # runs the script leaving a tuple, a set, int keys
    assert_hot_is_what_a_restore_gives(hot, instance_id)
    [shaped] = [t for t in hot.runtime.hot._items[instance_id][1].get_tasks() if t.task_spec.bpmn_id == "ask_two"]
    assert shaped.data["pair"] == [1, 2] and shaped.data["by_number"] == {"1": "one"}
    complete_next(hot, instance_id)
    assert_hot_is_what_a_restore_gives(hot, instance_id)


def test_a_step_on_an_instance_this_process_saved_last_restores_nothing(hot, restores):
    instance_id = start(hot)
    complete_next(hot, instance_id)
    complete_next(hot, instance_id)
    assert restores == []
    assert hot.runtime.hot.hits == 2


def test_a_version_saved_by_someone_else_is_restored_from_the_row(hot, restores):
    instance_id = start(hot)
    with hot.session_factory() as s:  # another process saves the instance meanwhile
        row = s.get(ProcessInstance, instance_id)
        row.error = "touched elsewhere"
        s.commit()
    complete_next(hot, instance_id)
    assert restores == [instance_id]
    assert hot.runtime.hot.misses == 1
    assert only_ready_task(hot, instance_id).bpmn_id == "ask_two"


def test_a_step_that_is_not_committed_leaves_nothing_in_memory(hot, restores):
    instance_id = start(hot)
    task = only_ready_task(hot, instance_id)
    with hot.uow() as uow:  # moved, saved in the session, never committed
        with engine_step.advancing(uow, hot.runtime, instance_id, user_id(hot, "caseworker1")) as step:
            step.complete(task.id, {"note": "rolled back"}, element=task.bpmn_id)
    assert instance_id not in hot.runtime.hot._items
    before = saved_state(hot, instance_id)
    assert "rolled back" not in before
    complete_next(hot, instance_id, {"note": "kept"})
    assert restores == [instance_id]  # the uncommitted workflow was not taken again
    assert "rolled back" not in saved_state(hot, instance_id) and "kept" in saved_state(hot, instance_id)


@pytest.fixture
def conflicting(hot):
    """A completion whose save loses the optimistic-lock race (409)."""
    instance_id = start(hot)
    task = only_ready_task(hot, instance_id)
    with hot.uow() as uow, pytest.raises(Conflict):
        with engine_step.advancing(uow, hot.runtime, instance_id, user_id(hot, "caseworker1")) as step:
            step.complete(task.id, {"note": "loser"}, element=task.bpmn_id)
            with hot.session_factory() as other:  # the winner saves first
                other.get(ProcessInstance, instance_id).error = "winner"
                other.commit()
    return instance_id


def test_a_conflict_forgets_the_workflow_and_the_next_step_reloads(hot, restores, conflicting):
    instance_id = conflicting
    assert instance_id not in hot.runtime.hot._items
    complete_next(hot, instance_id, {"note": "after"})
    assert restores == [instance_id]
    assert "loser" not in saved_state(hot, instance_id)


# -- round trips -----------------------------------------------------------------------------
STATEMENT_BUDGET = {"sqlite": 7, "postgresql": 6}  # per completion: user+roles+task+instance+model (one read),
# the instance, the task rows, the new rows (human tasks or timers), the outbox, the audit chain (SQLite: hash
# and insert, head; PostgreSQL: one statement)


def statements_of_completion(ctx, instance_id: int, username: str, data: dict) -> list[str]:
    task, actor = only_ready_task(ctx, instance_id), user_id(ctx, username)
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.split("\n")[0][:100])

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        with ctx.uow() as uow:
            human_tasks.complete_task(uow, ctx.runtime, actor, task.id, data)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)
    return seen


def test_a_completion_holds_its_statement_budget(ctx):
    """Counted in the steady state: the second instance (the forms' schemas are cached by then)."""
    needs = {"red_needs": ["child_at_risk"], "yellow_needs": [], "summary": "budget"}
    for _ in range(2):
        with ctx.uow() as uow:
            instance_id = instances.start_process(uow, ctx.runtime, "sample_intake", user_id(ctx, "caseworker1"),
                                                  {}).id
            uow.commit()
        first = statements_of_completion(ctx, instance_id, "caseworker1", needs)  # makes a human task
        second = statements_of_completion(ctx, instance_id, "supervisor1", {"vote": "approve", "comment": ""})
    budget = STATEMENT_BUDGET[ctx.engine.dialect.name]
    assert len(first) <= budget - 1, "\n".join(first)  # no timer, no message
    assert len(second) <= budget, "\n".join(second)  # makes a timer and its message
    for statements in (first, second):  # one read (the person, the task, its instance): no rows read back
        assert len([s for s in statements if s.startswith("SELECT")]) == 1, "\n".join(statements)
