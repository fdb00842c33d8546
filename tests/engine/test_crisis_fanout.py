"""The crisis-check fan-out (R37): which cases, who does each check, and exactly one
check per case whatever the queue does (repeats, crashes, two workers)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select, update

from engine.crisis import declaration as crisis
from engine.crisis import fanout as crisis_fanout
from engine.crisis.staffing import StaffPool
from engine.models import Case, HumanTask, ProcessInstance
from engine.models.crisis import CrisisCaseCheck
from engine.models.ops import Notification
from tests.engine.crisis_support import (
    add_case,
    add_caseworker,
    check_tasks,
    declare,
    pending_jobs,
    run_crisis_jobs,
    set_available,
    user_id,
)

STAGES = ("screening", "emergency", "admission", "intake", "assessment", "planning", "implementation", "review",
          "closure", "post_closure")


def check_instances(ctx) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(func.count()).where(ProcessInstance.process_id == "bcp_crisis_check"))


SCOPES = (
    (("5.1",), {"screening", "emergency", "admission", "intake", "assessment"}),
    (("5.2", "5.3"), {"planning", "implementation"}),
    (("5.4",), {"implementation", "review"}),
    (("5.6",), {"closure", "post_closure"}),
    (("5.5",), set(STAGES)),
)


def test_affected_cases_are_the_open_cases_the_sub_functions_serve_R37(ctx):
    """bcp_function_scope: a disruption of a sub-function reaches the open cases in the
    stages it serves; closed, inactive and aged-out cases get no check."""
    for stage in STAGES:
        add_case(ctx, f"OPEN-{stage}", stage=stage)
    add_case(ctx, "CLOSED", stage="closed", status="C")
    add_case(ctx, "INACTIVE", stage="implementation", status="IA")
    add_case(ctx, "AGED-OUT", stage="implementation", status="AO")
    for functions, stages in SCOPES:
        crisis_id = declare(ctx, functions=functions)
        run_crisis_jobs(ctx)
        with ctx.session_factory() as session:
            codes = set(session.scalars(select(CrisisCaseCheck.case_code)
                                        .where(CrisisCaseCheck.crisis_id == crisis_id)))
            tasks = set(session.scalars(select(HumanTask.case_code).join(
                CrisisCaseCheck, CrisisCaseCheck.instance_id == HumanTask.instance_id).where(
                CrisisCaseCheck.crisis_id == crisis_id)))
        assert codes == tasks == {f"OPEN-{stage}" for stage in stages}, functions
        with ctx.uow() as uow:
            crisis.close_crisis(uow, crisis_id, None)
            uow.commit()


def planned_batch(ctx, cases: int) -> tuple[int, list[int]]:
    """A declared crisis over ``cases`` open cases, planned: its one batch of checks."""
    for n in range(cases):
        add_case(ctx, f"C-{n}")
    crisis_id = declare(ctx)
    with ctx.uow() as uow:
        crisis_fanout.plan_checks(uow, crisis_id)
    (_, batch), = pending_jobs(ctx, "crisis_start_checks")
    return crisis_id, batch


def test_a_repeated_batch_message_starts_nothing_twice_R37(ctx):
    crisis_id, batch = planned_batch(ctx, 5)
    for expected in (5, 0):
        with ctx.uow() as uow:
            assert crisis_fanout.start_check_batch(uow, ctx.runtime, crisis_id, batch) == expected
            uow.commit()
    with ctx.uow() as uow:  # the planning message repeated: no new rows, nothing left to start
        assert crisis_fanout.plan_checks(uow, crisis_id) == 0
        uow.commit()
    assert check_instances(ctx) == 5 and len(check_tasks(ctx)) == 5


def test_a_worker_crash_mid_batch_leaves_no_half_batch_and_the_retry_completes_it(ctx, monkeypatch):
    crisis_id, batch = planned_batch(ctx, 6)
    original, calls = ctx.runtime.new_workflow, []

    def dies_on_the_fourth(model, data=None):
        calls.append(data)
        if len(calls) == 4:
            raise SystemExit("worker killed")
        return original(model, data)

    monkeypatch.setattr(ctx.runtime, "new_workflow", dies_on_the_fourth)
    with pytest.raises(SystemExit), ctx.uow() as uow:
        crisis_fanout.start_check_batch(uow, ctx.runtime, crisis_id, batch)
    assert check_instances(ctx) == 0
    with ctx.session_factory() as session:
        assert set(session.scalars(select(CrisisCaseCheck.state))) == {"planned"}
    monkeypatch.setattr(ctx.runtime, "new_workflow", original)
    with ctx.uow() as uow:
        assert crisis_fanout.start_check_batch(uow, ctx.runtime, crisis_id, batch) == 6
        uow.commit()
    assert check_instances(ctx) == 6
    assert sorted(t.case_code for t in check_tasks(ctx)) == [f"C-{n}" for n in range(6)]


def test_two_workers_on_the_same_batch_start_each_check_once(ctx, backend):
    if backend != "postgres":
        pytest.skip("needs two concurrent writers")
    for n in range(40):
        add_case(ctx, f"C-{n:02d}")
    crisis_id = declare(ctx)
    with ctx.uow() as uow:
        crisis_fanout.plan_checks(uow, crisis_id)
        uow.commit()
    (_, batch), = pending_jobs(ctx, "crisis_start_checks")
    barrier, started = threading.Barrier(2, timeout=20), []

    def worker():
        barrier.wait()
        with ctx.uow() as uow:
            started.append(crisis_fanout.start_check_batch(uow, ctx.runtime, crisis_id, batch))
            uow.commit()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(started) == [0, 40]
    assert check_instances(ctx) == 40
    with ctx.session_factory() as session:
        per_case = session.execute(select(HumanTask.case_code, func.count()).where(
            HumanTask.bpmn_id == "crisis_check").group_by(HumanTask.case_code)).all()
    assert len(per_case) == 40 and {n for _, n in per_case} == {1}


def test_checks_of_an_unavailable_caseworker_go_to_backup_staff_under_the_cap_R37(ctx):
    """Same-team colleagues first, least loaded first, never at or over the cap; then the
    case's supervisor; with nobody available the check is offered to the caseworker role."""
    add_caseworker(ctx, "caseworker3")
    for n in range(3):
        add_case(ctx, f"CW1-{n}", caseworker="caseworker1")
    add_case(ctx, "CW3-0", caseworker="caseworker3")
    set_available(ctx, "caseworker2", False)
    ids = {u: user_id(ctx, u) for u in ("caseworker1", "caseworker2", "caseworker3", "supervisor1", "director1")}
    with ctx.session_factory() as session:
        pool = StaffPool(session, backup_caseload_cap=3)
        picks = [pool.assign(ids["caseworker2"], ids["supervisor1"]) for _ in range(3)]
        assert [(p.user_id, p.backup) for p in picks] == [
            (ids["caseworker3"], True), (ids["caseworker3"], True), (ids["supervisor1"], True)]
        assert pool.assign(ids["caseworker1"], ids["supervisor1"]).user_id == ids["caseworker1"]
        assert pool.assign(None, ids["supervisor1"]).user_id == ids["supervisor1"]  # no caseworker yet
    for name in ("caseworker1", "caseworker3", "supervisor1", "director1"):
        set_available(ctx, name, False)
    with ctx.session_factory() as session:
        nobody = StaffPool(session, backup_caseload_cap=3).assign(ids["caseworker2"], ids["supervisor1"])
    assert (nobody.user_id, nobody.backup) == (None, True)


def test_a_check_nobody_can_take_is_offered_to_every_caseworker(ctx):
    add_case(ctx, "ORPHAN", caseworker="caseworker2")
    for name in ("caseworker1", "caseworker2", "supervisor1", "director1"):
        set_available(ctx, name, False)
    add_caseworker(ctx, "newcomer", available=True)
    for n in range(25):  # the newcomer is at the cap already (bcp_parameters: 25), with cases 5.4 does not serve
        add_case(ctx, f"FULL-{n}", stage="planning", caseworker="newcomer")
    declare(ctx, functions=("5.4",))
    run_crisis_jobs(ctx)
    task, = check_tasks(ctx)
    assert (task.case_code, task.assignee_id, task.role) == ("ORPHAN", None, "caseworker")


def test_each_person_hears_of_their_crisis_checks_in_one_summary_not_in_a_message_per_check_R37(ctx):
    for n in range(4):
        add_case(ctx, f"CW1-{n}", caseworker="caseworker1")
    for n in range(3):
        add_case(ctx, f"CW2-{n}", caseworker="caseworker2")
    crisis_id = declare(ctx)
    run_crisis_jobs(ctx)
    tasks = check_tasks(ctx)
    ids = {user_id(ctx, name): name for name in ("caseworker1", "caseworker2")}
    assert sorted(ids[t.assignee_id] for t in tasks) == ["caseworker1"] * 4 + ["caseworker2"] * 3
    with ctx.session_factory() as session:
        notes = session.execute(select(Notification.user_id, Notification.kind, Notification.subject).where(
            Notification.user_id.in_(ids), Notification.kind.in_(("crisis_checks", "task_assigned")))).all()
    assert sorted((ids[user], kind, subject) for user, kind, subject in notes) == [
        (name, "crisis_checks", f"Crisis checks for you (disruption #{crisis_id})")
        for name in ("caseworker1", "caseworker2")]


def test_a_batch_of_checks_brings_the_cases_other_open_rows_to_the_cases_current_risk(ctx):
    """Starting checks in a batch does what every step does for its case: open rows showing
    an old risk level show the case's current one, and a priority that follows the risk follows."""
    add_case(ctx, "MOVED", risk="low")
    add_case(ctx, "STILL", risk="low")
    first = declare(ctx)
    run_crisis_jobs(ctx)
    with ctx.uow() as uow:
        uow.session.execute(update(Case).where(Case.code == "MOVED").values(risk_level="high"))
        crisis.close_crisis(uow, first, None)
        uow.commit()
    declare(ctx)
    run_crisis_jobs(ctx)
    rows = {(t.case_code, t.instance_id): (t.risk_level, t.priority) for t in check_tasks(ctx)}
    with ctx.session_factory() as session:
        first_checks = dict(session.execute(select(CrisisCaseCheck.case_code, CrisisCaseCheck.instance_id).where(
            CrisisCaseCheck.crisis_id == first)).all())
    assert len(rows) == 4
    assert rows[("MOVED", first_checks["MOVED"])] == ("high", 3)  # the first crisis's check follows the case
    assert rows[("STILL", first_checks["STILL"])] == ("low", 1)


def test_a_batch_costs_the_same_statements_however_many_checks_it_starts(ctx, backend):
    """A batch's statements do not grow with its checks (the crisis fan-out's cost, see
    bench/crisis_fanout.py): the instances, their task rows and the checks' instance ids are
    written by one statement each — on PostgreSQL one execution each too (engine.models.bulk_rows),
    not a statement a row; SQLite's executemany is cheap and stays."""
    for n in range(9):
        add_case(ctx, f"C-{n}")
    crisis_id = declare(ctx)
    with ctx.uow() as uow:
        crisis_fanout.plan_checks(uow, crisis_id, batch_size=3)
    batches = [batch for _, batch in pending_jobs(ctx, "crisis_start_checks")]
    assert [len(b) for b in batches] == [3, 3, 3]
    with ctx.uow() as uow:  # a first batch: the caches (the model's specs, compiled statements) are warm after it
        crisis_fanout.start_check_batch(uow, ctx.runtime, crisis_id, batches[0])
    executions: list[tuple[str, int]] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        executions.append((statement.split(None, 3)[:3][-1], len(parameters) if executemany else 1))

    def one_batch(check_ids: list[int]) -> list[tuple[str, int]]:
        executions.clear()
        event.listen(ctx.engine, "before_cursor_execute", count)
        try:
            with ctx.uow() as uow:
                assert crisis_fanout.start_check_batch(uow, ctx.runtime, crisis_id, check_ids) == len(check_ids)
        finally:
            event.remove(ctx.engine, "before_cursor_execute", count)
        return list(executions)

    small = one_batch(batches[1][:1])
    big = one_batch(batches[1][1:] + batches[2])
    assert [s for s, _ in small] == [s for s, _ in big], (small, big)
    assert len(big) <= 14, big
    if backend == "postgres":
        assert all(n == 1 for _, n in big), big
