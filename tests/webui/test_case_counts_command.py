"""``python -m webui.cli case-counts check|rebuild``: an operator finds the dashboard's kept
counts of cases out of step with the cases after something the triggers could not see (here a
restore that skipped them), is told which groups differ by whose and what cases, rebuilds them,
and the check agrees again."""
from __future__ import annotations

from tests.engine.test_case_counts import _lose_the_counts
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
