"""The dashboard's rows in Python: each task row with its reassign form (``task_table_rows``),
and the hand-over list's options (``handover_options``), template globals of every page
(``register``).

The dashboard draws 75 task rows, each with a form of its own, and some 500 cases to hand
over: as Jinja (a macro call a row, a loop step an option) that was most of the page's
rendering. tests/webui/test_dashboard_cells.py holds them to the HTML the template gave
(kept there as the reference), in English and in Arabic.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from webui.i18n import catalogue
from webui.pages.cells import due_cell, risk_badge
from webui.pages.labels import label
from webui.pages.navigation import has_endpoint
from webui.workflow_words import title as task_title

PLAIN_ID = re.compile(r"[0-9A-Za-z-]+")  # an id or a case code that addresses as itself in a URL

def _(words: str, **values: Any) -> Markup:
    """``{{ _(words, **values) }}`` as a template gives it: the values escaped into the translation."""
    return Markup(catalogue().ugettext(words)) % values


def _url_of(endpoint: str, name: str, placeholder: str = "0PLACEHOLDER0") -> tuple[str, str]:
    """An endpoint's address with a placeholder for one value, to fill in per row (``url_for``
    once a page instead of once a row); only for values that address the same way (ids of
    hex digits and dashes)."""
    return url_for(endpoint, **{name: placeholder}), placeholder


def _address_with(pattern: tuple[str, str], value: str) -> str:
    """``pattern`` (from :func:`_url_of`) addressing ``value`` (a task id or a case code), or ""
    when the value does not address as itself (the caller asks ``url_for``)."""
    address, placeholder = pattern
    return address.replace(placeholder, value) if PLAIN_ID.fullmatch(value) else ""


def task_table_rows(rows: Iterable[Any], anchor: str, choices: Mapping[str, list[str]], csrf: str) -> Markup:
    """The ``<tr>`` of each task of a dashboard table: case, task, risk, due, holder and the form
    that reassigns it to one of ``choices[task.id]`` (or why nobody else can take it). Written
    as strings with every value escaped (``Markup % …`` costs some 10 µs a cell)."""
    words = {"no_case": _("no case"), "me": _("me"), "reassign": _("Reassign"),
             "nobody_else": _("nobody else on your team holds this role"), "risk": _("Risk"), "due": _("Due"),
             "held_by": _("Held by"), "csrf": escape(csrf), "anchor": escape(anchor), "my_name": current_user.username,
             "action": _url_of("pages_dashboard.reassign", "task_id")}
    case_links = has_endpoint("pages_cases.case_file")
    task_page = _url_of("pages_tasks.task_page", "task_id")
    case_file = _url_of("pages_cases.case_file", "code") if case_links else ("", "")
    titles: dict[str, str] = {}  # a page's tasks share a few titles
    out = []
    for t in rows:
        code = escape(t.case_code or "—")
        if t.case_code and case_links:
            address = _address_with(case_file, t.case_code) or url_for("pages_cases.case_file", code=t.case_code)
            code = Markup(f'<a href="{escape(address)}">{code}</a>')
        if t.title not in titles:
            titles[t.title] = task_title(t.title)
        held = escape(t.assignee) if t.assignee else _("offered to %(role)s", role=label(t.role, "role").lower())
        page = _address_with(task_page, t.id) or url_for("pages_tasks.task_page", task_id=t.id)
        css = "overdue" if t.overdue else ("due-today" if t.due_today else "")
        out.append(f'<tr class="{css}" data-task-id="{escape(t.id)}">\n'
                   f'<td class="case-code">{code}</td>\n'
                   f'<td><a href="{escape(page)}">{escape(titles[t.title])}</a></td>\n'
                   f'<td data-label="{words["risk"]}">{risk_badge(t.risk_level)}</td>\n'
                   f'<td data-label="{words["due"]}">{due_cell(t)}</td>\n'
                   f'<td data-label="{words["held_by"]}">{held}</td>\n'
                   f'<td>{_form(t, titles[t.title], choices.get(t.id, []), words)}</td>\n</tr>\n')
    return Markup("".join(out))


def _form(t, title: str, candidates: list[str], words: dict) -> str:
    if not candidates:
        return f'<span class="muted">{words["nobody_else"]}</span>'
    field = escape(f"assignee-{words['anchor']}-{t.id}")
    me, my_name = words["me"], words["my_name"]
    options = "".join(f'<option value="{escape(name)}">{me if name == my_name else escape(name)}</option>'
                      for name in candidates)
    what = _("Reassign “%(title)s” (%(case_code)s) to", title=title, case_code=t.case_code
             or words["no_case"])
    action = _address_with(words["action"], t.id) or url_for("pages_dashboard.reassign", task_id=t.id)
    return (f'<form method="post" action="{escape(action)}" class="reassign">\n'
            f'<input type="hidden" name="csrf_token" value="{words["csrf"]}">\n'
            f'<input type="hidden" name="anchor" value="{words["anchor"]}">\n'
            f'<label class="visually-hidden" for="{field}">{what}</label>\n'
            f'<select id="{field}" name="assignee">{options}</select>\n'
            f'<button type="submit" class="small secondary">{words["reassign"]}</button>\n</form>')


def handover_options(choices: Iterable[Any]) -> Markup:
    """An ``<option>`` for each case a supervisor may hand over: its code and its caseworker."""
    nobody = _("not assigned")
    return Markup("".join(f'<option value="{code}">{code} · {escape(c.caseworker) if c.caseworker else nobody}</option>'
                          for c in choices for code in (escape(c.code),)))


def register(app: Flask) -> None:
    for cell in (task_table_rows, handover_options):
        app.add_template_global(cell)
