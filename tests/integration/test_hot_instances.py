"""Hot instances under two processes writing the same instances on PostgreSQL: each process
keeps the workflows it saved (engine.bpmn.runtime_hot), and a step must take one only while
the row still has the version that process wrote. Two real processes (spawned, each with its
own engine and cache) take turns on one instance and race on another; no step may build on a
state the other process replaced, and the loser of a race keeps nothing of its attempt."""
from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import select

from engine.bpmn import engine_step
from engine.errors import Conflict
from engine.infra import bootstrap, db
from engine.models import AuditEvent, HumanTask, InstanceStatus, ProcessInstance
from engine.process import deployment, instances
from engine.settings import PROJECT_ROOT, Settings
from tests.conftest import _empty
from tests.engine.test_hot_instances import FILES

TIMEOUT = 120


def _settings(url: str) -> Settings:
    return Settings(database_url=url, redis_url=None, secret_key="test-secret", demo=True,
                    workflows_dir=PROJECT_ROOT / "workflows", in_process_worker=False, testing=True,
                    migrate_on_start=False)


def _serve(url: str, commands, barrier) -> None:
    """One engine process: completes the ready task named, answering how its cache did."""
    ctx = bootstrap.build(_settings(url))
    try:
        while (command := commands.recv()) is not None:
            instance_id, bpmn_id, note, race = command
            with ctx.session_factory() as s:
                task_id = s.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                              HumanTask.bpmn_id == bpmn_id))
            outcome = "ok"
            try:
                with ctx.uow() as uow:
                    with engine_step.advancing(uow, ctx.runtime, instance_id, None) as step:
                        step.complete(task_id, {"note": note}, element=bpmn_id)
                        if race:
                            barrier.wait(TIMEOUT)  # both moved it in memory; now both save
                    uow.commit()
            except Conflict:
                outcome = "conflict"
            commands.send((outcome, ctx.runtime.hot.hits, ctx.runtime.hot.misses))
    finally:
        ctx.engine.dispose()


class EngineProcess:
    def __init__(self, mp, url: str, barrier):
        self.pipe, child = mp.Pipe()
        self.process = mp.Process(target=_serve, args=(url, child, barrier), daemon=True)
        self.process.start()

    def send(self, instance_id: int, bpmn_id: str, note: str, race: bool = False) -> None:
        self.pipe.send((instance_id, bpmn_id, note, race))

    def answer(self) -> tuple[str, int, int]:
        assert self.pipe.poll(TIMEOUT), "the engine process did not answer"
        return self.pipe.recv()

    def complete(self, instance_id: int, bpmn_id: str, note: str) -> tuple[str, int, int]:
        self.send(instance_id, bpmn_id, note)
        return self.answer()

    def stop(self) -> None:
        self.pipe.send(None)
        self.process.join(TIMEOUT)


@pytest.fixture
def two_processes(postgres_url):
    engine = db.make_engine(postgres_url)
    db.upgrade(engine)
    _empty(engine)
    engine.dispose()
    ctx = bootstrap.build(_settings(postgres_url))
    bootstrap.deploy_and_seed(ctx)
    with ctx.uow() as uow:
        deployment.deploy_files(uow, FILES, merge_with_deployed=False)
        uow.commit()
    mp = multiprocessing.get_context("spawn")
    barrier = mp.Barrier(2)
    first, second = EngineProcess(mp, postgres_url, barrier), EngineProcess(mp, postgres_url, barrier)
    yield ctx, first, second
    first.stop()
    second.stop()
    ctx.engine.dispose()


def _start(ctx) -> int:
    with ctx.uow() as uow:
        instance_id = instances.start_process(uow, ctx.runtime, "hot_path", None, {}).id
        uow.commit()
    return instance_id


def _notes(ctx, instance_id: int) -> tuple[str, list[str]]:
    with ctx.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        completed = list(s.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "task_completed")))
        return instance.state_json, [c for c in completed if c in {t.id for t in s.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id))}]


@pytest.mark.postgres_only
@pytest.mark.slow
def test_two_processes_taking_turns_never_step_on_a_state_the_other_replaced(two_processes):
    ctx, first, second = two_processes
    instance_id = _start(ctx)
    assert first.complete(instance_id, "ask_one", "one by first")[0] == "ok"  # first keeps it hot
    assert second.complete(instance_id, "ask_two", "two by second")[0] == "ok"
    outcome, hits, misses = first.complete(instance_id, "ask_three", "three by first")
    assert (outcome, hits) == ("ok", 0) and misses == 2  # its kept version was stale: restored
    state, completed = _notes(ctx, instance_id)
    assert all(note in state for note in ("one by first", "two by second", "three by first"))
    assert len(completed) == 3
    with ctx.session_factory() as s:
        assert s.get(ProcessInstance, instance_id).status == InstanceStatus.COMPLETE


@pytest.mark.postgres_only
@pytest.mark.slow
def test_the_loser_of_a_race_between_processes_keeps_nothing_and_reloads(two_processes):
    ctx, first, second = two_processes
    instance_id = _start(ctx)
    assert first.complete(instance_id, "ask_one", "warm")[0] == "ok"  # first holds it hot
    first.send(instance_id, "ask_two", "by first", race=True)
    second.send(instance_id, "ask_two", "by second", race=True)
    outcomes = {"first": first.answer()[0], "second": second.answer()[0]}
    assert sorted(outcomes.values()) == ["conflict", "ok"], outcomes
    winner, loser = (first, second) if outcomes["first"] == "ok" else (second, first)
    lost_note = "by second" if winner is first else "by first"
    assert loser.complete(instance_id, "ask_three", "three by the loser")[0] == "ok"  # reloads the winner's state
    state, completed = _notes(ctx, instance_id)
    assert lost_note not in state and "three by the loser" in state
    assert len(completed) == 3
    assert winner.complete(instance_id, "ask_three", "again")[0] == "conflict"  # done already, never from memory
