"""The daily check of the supervisor dashboard's kept case counts (``case_counts.mend``, the
``check_case_counts`` job): when a count trigger on ``cases`` is gone (a SQLite migration that
rebuilt the table, a restore without its triggers) or switched off (PostgreSQL's ``DISABLE
TRIGGER``), case changes go uncounted and the dashboard drifts; the check finds it, puts the
triggers back, rebuilds the counts from the cases and says so in the audit trail. When all is
well it writes nothing."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from engine.case import case_counts, count_triggers
from engine.models.case_counts import CaseCountDelta
from tests.engine.test_case_counts import _assert_dashboard_counts_true, _lose_the_counts
from tests.workflows.case_driver import CaseDriver


@pytest.fixture
def triggers_put_back(ctx):
    """Whatever a test does to the triggers, the shared test database gets them back."""
    yield
    with ctx.session_factory() as session:
        count_triggers.restore(session)
        session.commit()


def _rebuilds(ctx) -> list[dict]:
    with ctx.session_factory() as session:
        return [json.loads(detail) for detail in session.scalars(text(
            "SELECT detail_json FROM audit_events WHERE action = 'case_counts_rebuilt' ORDER BY id"))]


def _definitions(session) -> dict[str, str]:
    """Each count trigger's definition as the database holds it (PostgreSQL: and the bodies of
    the functions they call)."""
    if session.get_bind().dialect.name == "postgresql":
        return dict(session.execute(text(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = CAST('cases' AS regclass) AND NOT tgisinternal "
            "UNION ALL SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'case_count_deltas_on_%'")).all())
    return dict(session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                     "AND tbl_name = 'cases'")).all())


def _mend(ctx) -> case_counts.CountCheck:
    with ctx.uow() as uow:
        return case_counts.mend(uow)


def test_all_three_count_triggers_are_there_after_the_migrations(ctx):
    with ctx.session_factory() as session:
        assert count_triggers.missing(session) == []


def test_a_check_that_finds_the_counts_true_writes_nothing(ctx):
    driver = CaseDriver(ctx)
    driver.refer()
    with ctx.session_factory() as session:
        rows = session.scalar(select(func.count()).select_from(CaseCountDelta))
    assert _mend(ctx) == case_counts.CountCheck(0, [], None)
    with ctx.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(CaseCountDelta)) == rows
    assert _rebuilds(ctx) == []


def test_the_check_rebuilds_counts_that_drifted_and_audits_how_many_groups_were_wrong(ctx):
    driver = CaseDriver(ctx)
    for _ in range(2):
        driver.refer()
    _lose_the_counts(ctx, driver)
    found = _mend(ctx)
    assert (found.differing, found.triggers_missing, found.rebuilt) == (2, [], 1)
    assert _rebuilds(ctx) == [{"by": "daily check", "differing": 2, "groups": 1}]
    _assert_dashboard_counts_true(ctx, driver)


def test_a_dropped_count_trigger_is_found_put_back_and_what_it_missed_counted(ctx, triggers_put_back):
    driver = CaseDriver(ctx)
    codes = [driver.refer() for _ in range(2)]
    with ctx.session_factory() as session:
        migrated = _definitions(session)
    with ctx.session_factory() as session:  # as a SQLite rebuild of ``cases`` loses them
        session.execute(text("DROP TRIGGER cases_counted_update" if ctx.engine.dialect.name == "sqlite"
                             else "DROP TRIGGER cases_counted_update ON cases"))
        session.commit()
        assert count_triggers.missing(session) == ["cases_counted_update"]
    driver.to_registered(codes[0])  # goes uncounted
    with ctx.session_factory() as session:
        assert case_counts.differences(session) != []

    found = _mend(ctx)
    assert found.triggers_missing == ["cases_counted_update"] and found.rebuilt
    [rebuilt] = _rebuilds(ctx)
    assert rebuilt["triggers_restored"] == ["cases_counted_update"] and rebuilt["by"] == "daily check"
    with ctx.session_factory() as session:
        assert count_triggers.missing(session) == []
        assert _definitions(session) == migrated  # the same trigger as migration 0021 made
    _assert_dashboard_counts_true(ctx, driver)
    driver.to_registered(codes[1])  # counted again from here on
    _assert_dashboard_counts_true(ctx, driver)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_count_trigger_switched_off_counts_as_missing_and_is_switched_back_on(ctx, triggers_put_back):
    driver = CaseDriver(ctx)
    codes = [driver.refer() for _ in range(2)]
    with ctx.session_factory() as session:
        session.execute(text("ALTER TABLE cases DISABLE TRIGGER cases_counted_insert"))
        session.commit()
        assert count_triggers.missing(session) == ["cases_counted_insert"]
    driver.refer()  # goes uncounted
    with ctx.uow() as uow:
        case_counts.recount(uow)  # as the operator's rebuild does
    assert _rebuilds(ctx)[-1]["triggers_restored"] == ["cases_counted_insert"]
    with ctx.session_factory() as session:
        assert count_triggers.missing(session) == []
        assert session.scalar(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'cases_counted_insert'")) == 1
    driver.to_registered(codes[0])
    driver.refer()
    _assert_dashboard_counts_true(ctx, driver)
