"""The Python cells the long lists use (webui.pages.cells) give exactly what the macros of the
same name in macros.html give, in English and in Arabic."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from webui.pages import cells

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
LEVELS = ("high", "medium", "low", None, "", "unrated", "<b>odd</b>")
TASKS = [SimpleNamespace(due_at=due, overdue=overdue, due_today=today)
         for due, overdue, today in ((NOW, True, False), (NOW, False, True), (NOW, False, False), (None, False, False))]


def _macro(app, name: str, *args) -> str:
    template = app.jinja_env.from_string(
        '{% from "macros.html" import risk_badge, when, day, due_cell, urgent_flag with context %}'
        "{{ " + name + "(*args) }}")
    return template.render(args=args)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_cells_are_the_macros(app, language):
    with app.test_request_context("/", headers={"Accept-Language": language}):
        for level in LEVELS:
            assert str(cells.risk_badge(level)) == _macro(app, "risk_badge", level)
        for value in (NOW, None):
            assert str(cells.when(value)) == _macro(app, "when", value)
            assert str(cells.day(value)) == _macro(app, "day", value)
        for task in TASKS:
            assert str(cells.due_cell(task)) == _macro(app, "due_cell", task)
        assert str(cells.urgent_flag()) == _macro(app, "urgent_flag")


def test_the_long_lists_use_the_cells(app):
    """dashboard.html and committee.html take the globals, not the macros (which would shadow them)."""
    for name in ("dashboard.html", "committee.html"):
        source = app.jinja_env.loader.get_source(app.jinja_env, name)[0]
        imported = source.split("import", 1)[1].split("%}", 1)[0]
        assert not {"risk_badge", "when", "day", "due_cell", "urgent_flag"} & {w.strip(" ,") for w in imported.split()}
    assert {"risk_badge", "when", "day", "due_cell", "urgent_flag"} <= set(app.jinja_env.globals)
