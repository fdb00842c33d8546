"""The dashboard's counts of the team's cases, kept as cases change (``case_count_deltas``,
migration 0021), equal a count of the cases themselves: after cases are opened, rated,
closed, handed over, changed by a bulk UPDATE or deleted, and after a fold; and a fold
while other transactions append loses nothing and makes nobody wait (PostgreSQL)."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from sqlalchemy import create_engine, func, inspect, select, text, update

from engine.case import case_counts, dashboards
from engine.case.assignment import hand_over_case
from engine.infra import db
from engine.models import RISK_LEVELS, UNRATED, Case
from engine.models.case import ACTIVE_STATUSES
from engine.models.case_counts import CaseCountDelta
from tests.workflows.case_driver import NEEDS_HIGH, CaseDriver


def _truth(session) -> dict:
    """(status, risk level, caseworker, supervisor) → cases, counted from ``cases``."""
    return {tuple(r[:4]): r[4] for r in session.execute(
        select(Case.status, Case.risk_level, Case.caseworker_id, Case.supervisor_id, func.count())
        .group_by(Case.status, Case.risk_level, Case.caseworker_id, Case.supervisor_id)).all()}


def _kept(session) -> dict:
    total = func.sum(CaseCountDelta.delta)
    return {tuple(r[:4]): r[4] for r in session.execute(
        select(CaseCountDelta.status, CaseCountDelta.risk_level, CaseCountDelta.caseworker_id,
               CaseCountDelta.supervisor_id, total)
        .group_by(CaseCountDelta.status, CaseCountDelta.risk_level, CaseCountDelta.caseworker_id,
                  CaseCountDelta.supervisor_id).having(total != 0)).all()}


def _board_truth(session, user_id: int, everyone: bool) -> tuple[dict, dict, dict]:
    """What the dashboard counted before the counts were kept: the cases the user oversees
    (supervised by them or carried by their team; the director: all) by status, and the
    active ones by risk level and by caseworker."""
    team = {uid for uid, _, _ in dashboards.supervisor_dashboard(session, user_id, ACTIVE_STATUSES, None).team}
    by_status: dict = {}
    by_risk: dict = {}
    per_worker: dict = {}
    for (status, level, worker, supervisor), n in _truth(session).items():
        if not (everyone or supervisor == user_id or worker in team):
            continue
        by_status[status] = by_status.get(status, 0) + n
        if status in ACTIVE_STATUSES:
            key = level if level in RISK_LEVELS else UNRATED
            by_risk[key] = by_risk.get(key, 0) + n
            per_worker[worker] = per_worker.get(worker, 0) + n
    return by_status, by_risk, per_worker


def _assert_dashboard_counts_true(ctx, driver: CaseDriver) -> None:
    with ctx.session_factory() as session:
        assert _kept(session) == _truth(session)
        for who in ("supervisor1", "director1"):
            user_id = driver.uid(who)
            board = dashboards.supervisor_dashboard(session, user_id, ACTIVE_STATUSES, None)
            by_status, by_risk, per_worker = _board_truth(session, user_id, everyone=who == "director1")
            assert board.cases_by_status == by_status, who
            assert board.cases_by_risk == by_risk, who
            assert {c.user_id: c.active_cases for c in board.caseloads if c.active_cases} == {
                w: n for w, n in per_worker.items() if w in {c.user_id for c in board.caseloads}}, who


def _fold(ctx) -> int:
    with ctx.uow() as uow:
        return case_counts.fold_and_commit(uow)


def test_the_dashboards_counts_are_the_cases_as_they_open_change_hands_and_close(ctx):
    driver = CaseDriver(ctx)
    codes = [driver.refer() for _ in range(3)]
    _assert_dashboard_counts_true(ctx, driver)
    for code in codes[:2]:
        driver.to_registered(code)
    driver.do(codes[0], "initial_assessment", NEEDS_HIGH)  # rated: the risk level changes
    _assert_dashboard_counts_true(ctx, driver)
    with ctx.session_factory() as session:
        assert dashboards.supervisor_dashboard(session, driver.uid("supervisor1"), ACTIVE_STATUSES,
                                               None).cases_by_risk.get("high") == 1

    case = driver.case(codes[1])
    other = "caseworker2" if driver.username(case.caseworker_id) == "caseworker1" else "caseworker1"
    with ctx.uow() as uow:  # a handover: caseworker (and supervisor) change
        hand_over_case(uow, driver.uid("supervisor1"), codes[1], other, "leave")
    assert driver.username(driver.case(codes[1]).caseworker_id) == other
    _assert_dashboard_counts_true(ctx, driver)

    assert _fold(ctx) > 0
    _assert_dashboard_counts_true(ctx, driver)
    with ctx.session_factory() as session:  # one row a group after a fold
        assert session.scalar(select(func.count()).select_from(CaseCountDelta)) == len(_truth(session))
    assert _fold(ctx) == 0  # nothing to fold: nothing written

    with ctx.uow() as uow:  # bulk changes in plain SQL, past the ORM: the triggers count them too
        uow.session.execute(update(Case).where(Case.code == codes[2]).values(status="C"))
        uow.session.execute(update(Case).values(risk_level="medium").execution_options(synchronize_session=False))
        uow.session.execute(update(Case).where(Case.code == codes[0]).values(supervisor_id=None))
        uow.session.execute(update(Case).values(primary_concern="other words"))  # nothing counted changes
        uow.commit()
    _assert_dashboard_counts_true(ctx, driver)


def test_cases_inserted_and_deleted_in_plain_sql_are_counted(ctx):
    driver = CaseDriver(ctx)
    driver.refer()
    supervisor = driver.uid("supervisor1")
    with ctx.uow() as uow:  # one statement, many cases; then some of them go
        uow.session.execute(text(
            "INSERT INTO cases (code, status, stage, risk_level, risk_needs_judgement, in_crisis, caseworker_id, "
            "supervisor_id, primary_concern, referral_source, confidential_notes, reopen_count, created_at, "
            "updated_at) SELECT 'CM-T-' || n, 'O', 'screening', CASE WHEN n % 2 = 0 THEN 'high' END, false, "
            "false, :worker, :supervisor, '', '', '', 0, :now, :now FROM (SELECT 1 AS n UNION ALL SELECT 2 "
            "UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) AS numbers"),
            {"worker": driver.uid("caseworker2"), "supervisor": supervisor, "now": driver.now})
        uow.commit()
    _assert_dashboard_counts_true(ctx, driver)
    with ctx.uow() as uow:
        uow.session.execute(text("DELETE FROM cases WHERE code IN ('CM-T-1', 'CM-T-2', 'CM-T-3')"))
        uow.commit()
    _assert_dashboard_counts_true(ctx, driver)
    _fold(ctx)
    _assert_dashboard_counts_true(ctx, driver)


def test_the_migration_counts_the_cases_there_are_and_goes_back_down(ctx, database_url):
    driver = CaseDriver(ctx)
    driver.to_registered(driver.refer())
    driver.refer()
    cfg = db.alembic_config(database_url)
    try:
        with ctx.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0020")
        with ctx.engine.connect() as conn:
            assert "case_count_deltas" not in inspect(conn).get_table_names()
        with ctx.uow() as uow:  # cases written with no triggers: the backfill counts them
            uow.session.execute(update(Case).values(risk_level="low"))
            uow.commit()
    finally:
        db.upgrade(ctx.engine)  # the database is shared by the tests after this one
    _assert_dashboard_counts_true(ctx, driver)
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(CaseCountDelta)) == len(_truth(session))


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_fold_while_others_append_loses_nothing_and_makes_nobody_wait(ctx, database_url):
    driver = CaseDriver(ctx)
    codes = [driver.refer() for _ in range(4)]
    engine = create_engine(database_url)
    conns = [engine.connect() for _ in range(3)]
    writer, folder, second = conns
    try:
        for conn in conns:
            conn.execute(text("SET lock_timeout = '5s'"))  # a wait fails the test instead of hanging it
            conn.commit()
        # a case write in flight (appended, not committed) while a fold runs and commits
        writer.execute(text("UPDATE cases SET risk_level = 'high' WHERE code = :c"), {"c": codes[0]})
        assert case_counts.fold(folder) > 0
        folder.commit()
        writer.commit()
        _assert_dashboard_counts_true(ctx, driver)

        # a fold in flight (its rows deleted, not yet committed) while cases are written and committed
        writer.execute(text("UPDATE cases SET risk_level = 'low' WHERE code = :c"), {"c": codes[1]})
        writer.commit()
        assert case_counts.fold(folder) > 0
        writer.execute(text("SET lock_timeout = '500ms'"))  # appending must not wait for the fold at all
        writer.execute(text("UPDATE cases SET risk_level = 'medium' WHERE code IN (:a, :b)"),
                       {"a": codes[2], "b": codes[3]})
        writer.execute(text("UPDATE cases SET status = 'C' WHERE code = :c"), {"c": codes[1]})
        writer.commit()
        with ctx.session_factory() as session:  # meanwhile a reader sees the counts from before the fold
            assert _kept(session) == _truth(session)
        folder.commit()
        _assert_dashboard_counts_true(ctx, driver)

        # two folds at once: the second waits for the first's rows, then folds none of them again
        writer.execute(text("UPDATE cases SET risk_level = 'high' WHERE code = :c"), {"c": codes[2]})
        writer.commit()
        assert case_counts.fold(folder) > 0
        with ThreadPoolExecutor(1) as pool:
            later = pool.submit(case_counts.fold, second)
            time.sleep(0.3)
            folder.commit()
            later.result(timeout=10)
        second.commit()
        _assert_dashboard_counts_true(ctx, driver)
    finally:
        for conn in conns:
            conn.close()
        engine.dispose()


def _lose_the_counts(ctx, driver: CaseDriver) -> None:
    """What the triggers cannot see: a restore that skipped the kept counts (every row gone),
    and a case written with the triggers off (its row never appended)."""
    with ctx.uow() as uow:
        uow.session.execute(text("DELETE FROM case_count_deltas"))
        uow.session.execute(text("INSERT INTO case_count_deltas (supervisor_id, caseworker_id, status, risk_level, "
                                 "delta) VALUES (:s, :w, 'O', 'high', 2)"),
                            {"s": driver.uid("supervisor1"), "w": driver.uid("caseworker2")})
        uow.commit()


def test_counts_the_triggers_could_not_see_are_found_and_rebuilt_from_the_cases(ctx):
    driver = CaseDriver(ctx)
    codes = [driver.refer() for _ in range(3)]
    driver.to_registered(codes[0])
    _lose_the_counts(ctx, driver)
    with ctx.session_factory() as session:
        found = case_counts.differences(session)
        truth, kept = _truth(session), _kept(session)
    assert kept != truth
    assert {(d.group, d.kept, d.cases) for d in found} == {
        ((supervisor, worker, status, level), kept.get((status, level, worker, supervisor), 0), n)
        for (status, level, worker, supervisor), n in {**{k: 0 for k in kept}, **truth}.items()
        if kept.get((status, level, worker, supervisor), 0) != n}
    with ctx.uow() as uow:
        assert case_counts.recount(uow) == len(truth)
    with ctx.session_factory() as session:
        assert case_counts.differences(session) == []
        assert session.scalar(select(func.count()).select_from(CaseCountDelta)) == len(truth)  # one row a group
        assert session.scalar(text("SELECT count(*) FROM audit_events WHERE action = 'case_counts_rebuilt'")) == 1
    _assert_dashboard_counts_true(ctx, driver)
    driver.to_registered(codes[1])  # the triggers count on from the rebuilt rows
    _assert_dashboard_counts_true(ctx, driver)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_rebuild_waits_for_a_case_write_in_flight_and_counts_it_once(ctx, database_url):
    """A case changed while the counts are rebuilt is counted once, never twice or not at
    all: the rebuild waits for the writer (readers are not held up)."""
    driver = CaseDriver(ctx)
    codes = [driver.refer() for _ in range(2)]
    _lose_the_counts(ctx, driver)
    engine = create_engine(database_url)
    writer = engine.connect()
    try:
        writer.execute(text("SET lock_timeout = '10s'"))
        writer.execute(text("UPDATE cases SET risk_level = 'high' WHERE code = :c"), {"c": codes[0]})
        with ThreadPoolExecutor(1) as pool:
            def rebuild() -> int:
                with ctx.uow() as uow:
                    return case_counts.recount(uow)
            pending = pool.submit(rebuild)
            deadline = time.monotonic() + 10
            with engine.connect() as watcher:  # until the rebuild is seen waiting on the writer's lock
                while not watcher.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                              "AND query LIKE 'LOCK TABLE cases%'")):
                    assert time.monotonic() < deadline and not pending.done(), "the rebuild did not wait"
                with ctx.session_factory() as session:  # meanwhile the cases can be read
                    assert session.scalar(select(func.count()).select_from(Case)) == 2
            writer.commit()
            pending.result(timeout=10)
    finally:
        writer.close()
        engine.dispose()
    _assert_dashboard_counts_true(ctx, driver)
