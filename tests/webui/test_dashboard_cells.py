"""The dashboard's rows in Python (webui.pages.dashboard_cells) give the HTML the template drew
before them (kept as the reference), in English and in Arabic, whitespace aside."""
from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest

from engine.settings import PROJECT_ROOT
from webui.pages import dashboard_cells
from webui.pages.navigation import has_endpoint

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
REFERENCE = (PROJECT_ROOT / "tests" / "fixtures" / "reference_dashboard_rows.html").read_text(encoding="utf-8")
ME = SimpleNamespace(username="supervisor1")


def _task(id_, case_code, assignee, role, **flags):
    return SimpleNamespace(id=id_, case_code=case_code, title="Follow up <with> the person",
                           risk_level=flags.get("risk"), due_at=flags.get("due"), overdue=flags.get("overdue", False),
                           due_today=flags.get("today", False), assignee=assignee, role=role)


TASKS = [_task("a1-b2", "CM-0001", "caseworker1", "caseworker", risk="high", due=NOW, overdue=True),
         _task("c3", None, None, "supervisor", due=NOW, today=True),
         _task("d4", "CM-<2>", "supervisor1", "committee_member", risk="low"),
         _task("odd id", "CM-0003", None, "caseworker")]
CHOICES = {"a1-b2": ["caseworker2", "supervisor1"], "c3": ["supervisor1"], "odd id": ["caseworker1", "<x>"]}
CASES = [SimpleNamespace(code="CM-0001", caseworker="caseworker1"), SimpleNamespace(code="CM-<2>", caseworker=None)]


def _flat(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html))).strip()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_rows_are_the_template(app, monkeypatch, language):
    monkeypatch.setattr(dashboard_cells, "current_user", ME)
    with app.test_request_context("/", headers={"Accept-Language": language}):
        module = app.jinja_env.from_string(REFERENCE).make_module(
            {"current_user": ME, "reassign_choices": CHOICES, "has_endpoint": has_endpoint})
        for anchor in ("overdue", "all-tasks"):
            assert _flat(dashboard_cells.task_table_rows(TASKS, anchor, CHOICES, "tok")) == \
                _flat(module.rows_of(TASKS, anchor, "tok"))
        assert _flat(dashboard_cells.handover_options(CASES)) == _flat(module.options_of(CASES))
        assert dashboard_cells.task_table_rows([], "week", {}, "tok") == ""
