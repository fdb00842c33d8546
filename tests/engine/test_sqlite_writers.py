"""Embedded SQLite under contention: writers are served in the order they came, a start
writes nothing (so holds no write lock) while its diagram runs, and neither does a task
completion while the script after it runs."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from engine.bpmn import engine_step, script_engine
from engine.errors import ScriptError
from engine.infra import db
from engine.infra.sqlite_writers import WriterQueue
from engine.process.deployment import latest_model
from tests.integration.attack_samples import script_process, user_task_process
from tests.webui.test_process_models_api import upload

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_writers_are_served_first_come_first_served():
    queue = WriterQueue()
    assert queue.acquire(1)
    order, arrived = [], []

    def writer(n: int) -> None:
        arrived.append(n)
        assert queue.acquire(5)
        order.append(n)
        queue.release()

    threads = []
    for n in range(5):
        thread = threading.Thread(target=writer, args=(n,))
        thread.start()
        while len(arrived) <= n:  # each joins the queue before the next one comes
            pass
        threads.append(thread)
    queue.release()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_thread_holding_the_queue_may_write_on_a_second_connection_and_others_still_wait():
    queue = WriterQueue()
    assert queue.acquire(1) and queue.acquire(1)  # the same thread again
    got = []
    other = threading.Thread(target=lambda: got.append(queue.acquire(0.2)))
    other.start()
    other.join(5)
    assert got == [False]
    queue.release()
    other = threading.Thread(target=lambda: got.append(queue.acquire(0.2)))
    other.start()
    other.join(5)
    assert got == [False, False]  # held once more: one release is not enough
    queue.release()
    other = threading.Thread(target=lambda: got.append(queue.acquire(0.2)))
    other.start()
    other.join(5)
    assert got == [False, False, True]


def test_a_writer_that_waits_past_the_busy_timeout_gets_database_is_locked(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_s=0.2)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    holder = engine.connect()
    holder.begin()
    holder.execute(text("INSERT INTO t VALUES (1)"))  # holds the queue (and the SQLite lock)
    failures = []

    def second_writer() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (2)"))
        except OperationalError as err:
            failures.append(str(err.orig))

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(5)
    holder.rollback()
    holder.close()
    engine.dispose()
    assert failures == ["database is locked"]


@SQLITE_ONLY
def test_a_start_writes_nothing_while_its_diagram_runs_and_nothing_when_it_fails(ctx, client, token_for):
    answer = upload(client, token_for("processowner1"), {"compute.bpmn": script_process("compute", "r = a ** b")})
    assert answer.status_code == 201, answer.get_json()
    writes: list[str] = []

    def count_writes(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement.split()[2])

    event.listen(ctx.engine, "before_cursor_execute", count_writes)
    try:
        with ctx.uow() as uow, pytest.raises(ScriptError):
            engine_step.start(uow, ctx.runtime, latest_model(uow.session, "compute"), None, {"a": 3, "b": 10**8})
        assert writes == []
        with ctx.uow() as uow:
            engine_step.start(uow, ctx.runtime, latest_model(uow.session, "compute"), None, {"a": 2, "b": 10})
            assert writes[0] == "process_instances"  # the first write comes when the step is saved
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count_writes)


SLOW_AFTER_FORM = user_task_process("slow_after_form", after="slow_part = 1")  # the script after the task runs long


@SQLITE_ONLY
def test_a_completion_holds_no_write_lock_while_the_script_after_it_runs(settings, client, token_for, monkeypatch):
    """While the engine runs the script that follows a completed task, another writer (on a
    connection of its own, as another process would be) commits at once."""
    answer = upload(client, token_for("processowner1"), {"slow_after_form.bpmn": SLOW_AFTER_FORM})
    assert answer.status_code == 201, answer.get_json()
    caseworker = token_for("caseworker1")
    started = client.post("/api/processes/slow_after_form/instances", json={"data": {}}, headers=caseworker)
    assert started.status_code == 201, started.get_json()
    [task] = [t for t in client.get("/api/tasks?scope=claimable", headers=caseworker).get_json()["tasks"]
              if t["instance_id"] == started.get_json()["id"]]
    other = db.make_engine(settings.database_url, busy_timeout_s=0.5)
    meanwhile: list[str] = []
    real_execute = script_engine.SandboxedEnvironment.execute

    def another_writer() -> None:
        try:
            with other.begin() as conn:
                conn.execute(text("UPDATE users SET display_name = 'Changed meanwhile' WHERE username = 'supervisor1'"))
            meanwhile.append("committed")
        except OperationalError as err:
            meanwhile.append(str(err.orig))

    def slow_execute(self, script, context, external_context=None):
        if "slow_part" in script:  # the long-running script: another writer comes while it runs
            writer = threading.Thread(target=another_writer)
            writer.start()
            writer.join(10)
        return real_execute(self, script, context, external_context)

    monkeypatch.setattr(script_engine.SandboxedEnvironment, "execute", slow_execute)
    try:
        done = client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"done": True}}, headers=caseworker)
    finally:
        other.dispose()
    assert done.status_code == 200, done.get_json()
    assert meanwhile == ["committed"]
