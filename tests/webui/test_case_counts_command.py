"""``python -m webui.cli case-counts check|rebuild``: an operator finds the dashboard's kept
counts of cases out of step with the cases after something the triggers could not see (here a
restore that skipped them), is told which groups differ by whose and what cases, rebuilds them,
and the check agrees again; a count trigger gone from ``cases`` is named by the check and by
``/healthz`` until the rebuild puts it back."""
from __future__ import annotations

from sqlalchemy import text

from engine.case import case_counts
from tests.engine.test_case_counts import _lose_the_counts
from tests.engine.test_count_triggers import triggers_put_back  # noqa: F401 - the fixture
from tests.webui.test_backup_commands import operator  # noqa: F401 - the fixture
from tests.workflows.case_driver import CaseDriver


def test_the_check_names_the_groups_that_differ_and_the_rebuild_makes_them_agree(ctx, operator):  # noqa: F811
    driver = CaseDriver(ctx)
    for _ in range(2):
        driver.refer()
    code, out, err = operator("case-counts", "check")
    assert (code, out.strip()) == (0, "case counts agree with the cases"), err

    _lose_the_counts(ctx, driver)
    code, out, err = operator("case-counts", "check")
    assert code == 1, err
    assert "differ from the cases in 2 group(s)" in out
    assert "supervisor supervisor1, caseworker caseworker2, open, risk high: kept 2, cases 0" in out
    assert "supervisor none, caseworker none, open, risk not rated: kept 0, cases 2" in out

    code, out, err = operator("case-counts", "rebuild")
    assert (code, out.strip()) == (0, "case counts rebuilt from the cases: 1 group(s)"), err
    code, out, err = operator("case-counts", "check")
    assert (code, out.strip()) == (0, "case counts agree with the cases"), err


def _drop_the_update_trigger(ctx) -> None:
    with ctx.session_factory() as session:  # as a SQLite migration that rebuilt ``cases`` would
        session.execute(text("DROP TRIGGER cases_counted_update" if ctx.engine.dialect.name == "sqlite"
                             else "DROP TRIGGER cases_counted_update ON cases"))
        session.commit()


def test_the_check_names_a_missing_count_trigger_and_the_rebuild_puts_it_back(ctx, operator,  # noqa: F811
                                                                            triggers_put_back):  # noqa: F811
    driver = CaseDriver(ctx)
    code = driver.refer()
    _drop_the_update_trigger(ctx)
    status, out, err = operator("case-counts", "check")
    assert status == 1, err
    assert out.strip() == ("count trigger(s) missing on cases, so case changes go uncounted: cases_counted_update "
                           "(python -m webui.cli case-counts rebuild puts them back)")
    driver.to_registered(code)  # uncounted: the counts drift
    status, out, err = operator("case-counts", "check")
    assert status == 1 and "differ from the cases in 2 group(s)" in out, err

    status, out, err = operator("case-counts", "rebuild")
    assert status == 0, err
    status, out, err = operator("case-counts", "check")
    assert (status, out.strip()) == (0, "case counts agree with the cases"), err


def test_healthz_says_the_case_counts_are_not_kept_while_a_count_trigger_is_missing(ctx, client,
                                                                                  triggers_put_back):  # noqa: F811
    assert client.get("/healthz").get_json()["status"] == "ok"
    _drop_the_update_trigger(ctx)
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "degraded"
    assert body["case_counts"] == {"triggers_missing": ["cases_counted_update"]}
    assert body["reasons"] == ["case counts not kept: count trigger(s) missing on cases (cases_counted_update); "
                               "python -m webui.cli case-counts rebuild puts them back"]
    with ctx.uow() as uow:
        case_counts.recount(uow)
    assert client.get("/healthz").get_json()["status"] == "ok"
