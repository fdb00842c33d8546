"""The main navigation: the screens a user's roles open, with task counts beside them."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, g, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine import clock
from engine.committee import board as committee_board
from engine.errors import Unauthorized
from engine.process import inbox
from engine.service_ops import notifications
from webui.extensions import uow
from webui.pages.labels import label

bp = Blueprint("navigation", __name__)

COMMITTEE_ROLES = ("committee_member",)


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str  # a lazy translation: shown in the page's language
    count_key: str | None = None
    count_word: str = "open"  # what the count counts, for screen readers ("3 open")


# Who sees an item is whoever the screen lets in (``common.require_roles`` on its view).
NAV_ITEMS = (
    NavItem("pages_inbox.inbox", _l("Inbox"), "open", _l("open")),
    NavItem("pages_committee.agenda", _l("Committee"), "committee", _l("open")),
    NavItem("pages_cases.case_list", _l("Cases")),
    NavItem("pages_dashboard.dashboard", _l("Dashboard"), "team_overdue", _l("overdue")),
    NavItem("pages_models.model_list", _l("Process models")),
    NavItem("pages_crisis.index", _l("Crisis")),
    NavItem("pages_admin.people", _l("People")),
    NavItem("pages_notifications.notification_list", _l("Notifications"), "notifications", _l("unread")),
)


def _may_open(endpoint: str) -> bool:
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return False
    roles = getattr(view, "required_roles", ())
    return not roles or current_user.has_role(*roles)


def nav_counts() -> dict[str, int]:
    """Task counts for the navigation, computed once per request."""
    if "nav_counts" not in g:
        try:
            with uow() as work:
                counts = inbox.inbox_counts(work.session, current_user.id)
                counts["notifications"] = notifications.list_notifications(
                    work.session, current_user.id, unread_only=True, limit=1).unread
                if current_user.has_role(*COMMITTEE_ROLES):
                    counts["committee"] = committee_board.pending_count(work.session, current_user.id)
                # a supervisor's team_overdue comes with the counts above, in the same statement
        except Unauthorized:
            counts = {}
        g.nav_counts = counts
    return g.nav_counts


def case_status_label(code: str | None) -> str:
    """A case's status by its label ("Open"), the one vocabulary's words."""
    return label(code, "case_status")


def has_endpoint(name: str) -> bool:
    return name in current_app.view_functions


# Pages load scripts and styles from this server only; data for scripts travels in
# non-executable JSON blocks. The viewers and the form renderer set inline styles, and the
# BPMN/DMN icon fonts are embedded as data: URLs.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@bp.after_app_request
def _page_security_headers(response):
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


@bp.app_template_filter("article")
def with_article(noun: str) -> str:
    """'a supervisor', 'an admin' (English only: other languages have no such article)."""
    if get_locale() is not None and get_locale().language != "en":
        return noun
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun if noun else noun


@bp.app_context_processor
def _page_helpers():
    return {"case_status_label": case_status_label, "has_endpoint": has_endpoint, "now_utc": clock.now}


@bp.app_context_processor
def _navigation():
    if not current_user.is_authenticated:
        return {"nav_items": [], "nav_counts": {}}
    items = [item for item in NAV_ITEMS if _may_open(item.endpoint)]
    active = request.endpoint or ""
    return {"nav_items": [(item, item.endpoint.split(".")[0] == active.split(".")[0]) for item in items],
            "nav_counts": nav_counts()}
