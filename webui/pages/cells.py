"""The small cells of the long lists, in Python: ``risk_badge``, ``when``, ``day``, ``due_cell``
and ``urgent_flag`` as template globals giving exactly what the macros of the same name in
``macros.html`` give (tests/webui/test_page_cells.py holds them to it).

A Jinja macro call costs some 10–20 µs (a new context each time); the dashboard and the
committee board call these a few hundred times a page, so they use the globals (by not
importing the macros; their blueprints ``add_to`` themselves); every other page keeps the
macros. Change both together.
"""
from __future__ import annotations

from flask import Blueprint
from markupsafe import Markup

from webui.i18n import catalogue, format_date, format_datetime
from webui.pages.labels import label

RISK_LEVELS = ("high", "medium", "low")


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


def add_to(blueprint: Blueprint) -> None:
    """Make the cells template globals of the app ``blueprint`` is registered on."""
    for cell in (risk_badge, urgent_flag, when, day, due_cell):
        blueprint.add_app_template_global(cell)
