"""The Python cells every page uses (webui.pages.cells) give exactly the HTML the Jinja macros
they replaced gave (kept here as the reference), in English and in Arabic."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from engine.settings import PROJECT_ROOT
from webui.pages import cells

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
LEVELS = ("high", "medium", "low", None, "", "unrated", "<b>odd</b>")
TASKS = [SimpleNamespace(due_at=due, overdue=overdue, due_today=today)
         for due, overdue, today in ((NOW, True, False), (NOW, False, True), (NOW, False, False), (None, False, False))]


# the macros of macros.html that the cells replaced: the HTML they gave is what the cells must give
REFERENCE_MACROS = (PROJECT_ROOT / "tests" / "fixtures" / "reference_cells.html").read_text(encoding="utf-8")


def _macro(app, name: str, *args) -> str:
    return str(getattr(app.jinja_env.from_string(REFERENCE_MACROS).make_module(), name)(*args))


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


def test_every_page_uses_the_cells(app):
    """No template imports a macro of a cell's name (it would shadow the cell); every page has them."""
    names = {"risk_badge", "when", "day", "due_cell", "urgent_flag"}
    for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        source = app.jinja_env.loader.get_source(app.jinja_env, name)[0]
        for line in source.splitlines():
            if line.startswith('{% from "macros.html" import'):
                imported = line.split("import", 1)[1].split("%}", 1)[0].replace("with context", "")
                assert not names & {w.strip(" ,") for w in imported.split()}, name
    assert names <= set(app.jinja_env.globals)
