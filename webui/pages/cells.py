"""The small cells every list and page shows: ``risk_badge``, ``when``, ``day``, ``due_cell``
and ``urgent_flag``, as template globals of every page (``register``).

They are Python, not Jinja macros: a macro call costs some 10–20 µs (a new context each
time), and the dashboard and the committee board draw a few hundred cells a page.
tests/webui/test_page_cells.py holds them to the HTML the macros they replaced gave.
"""
from __future__ import annotations

from flask import Flask
from markupsafe import Markup

from engine.models.case import RISK_LEVELS
from webui.i18n import catalogue, format_date, format_datetime
from webui.pages.labels import label


def _(words: str) -> Markup:
    """``{{ _(words) }}`` as a template gives it: the translation taken as markup, ``%%`` as ``%``."""
    return Markup(catalogue().ugettext(words)) % {}


def risk_badge(level: object) -> Markup:
    if level in RISK_LEVELS:
        return Markup('<span class="risk risk-%s">%s</span>') % (level, label(level, "risk_level").lower())
    return Markup('<span class="risk risk-none">%s</span>') % _("not rated")


def urgent_flag() -> Markup:
    return Markup('<span class="flag flag-urgent">%s</span>') % _("Urgent: work on this case was missed")


def when(value) -> Markup:
    if not value:
        return Markup("—")
    return Markup('<time datetime="%s">%s</time>') % (value.isoformat(), format_datetime(value))


def day(value) -> Markup:
    if not value:
        return Markup("—")
    return Markup('<time datetime="%s">%s</time>') % (value.isoformat(), format_date(value))


def due_cell(t) -> Markup:
    if not t.due_at:
        return Markup('<span class="muted">%s</span>') % _("no due date")
    if t.overdue:
        return when(t.due_at) + Markup(' <span class="flag flag-overdue">%s</span>') % _("overdue")
    if t.due_today:
        return when(t.due_at) + Markup(' <span class="flag flag-today">%s</span>') % _("due today")
    return when(t.due_at)


def register(app: Flask) -> None:
    """Make the cells template globals of every page."""
    for cell in (risk_badge, urgent_flag, when, day, due_cell):
        app.add_template_global(cell)
