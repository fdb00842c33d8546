"""The inbox: my tasks, claimable tasks, my team's; by case code, due first.

``/`` is also the front door: a stranger gets the sign-in form there.
"""
from __future__ import annotations

import dataclasses

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.people.directory import get_user
from engine.process import inbox as inbox_queries
from engine.process.inbox import INBOX_STATUSES, InboxQuery
from webui import workflow_words
from webui.extensions import uow
from webui.pages.auth import LoginForm
from webui.pages.common import page_blueprint, page_number
from webui.pages.navigation import nav_counts

bp = page_blueprint("pages_inbox", __name__)

PAGE_SIZE = 50
SCOPE_LABELS = {"open": _l("To do"), "mine": _l("Assigned to me"), "claimable": _l("Claimable"), "team": _l("My team")}
STATUS_LABELS = {"all": _l("Any due date"), "overdue": _l("Overdue"), "due_today": _l("Due today"),
                 "due_week": _l("Due this week"), "no_due": _l("No due date")}


@bp.get("/")
def inbox():
    if not current_user.is_authenticated:
        return render_template("login.html", form=LoginForm())
    with uow() as work:
        scopes = inbox_queries.scopes_for(get_user(work.session, current_user.id))
        scope = request.args.get("scope", "open")
        status = request.args.get("status", "all")
        query = InboxQuery(
            scope=scope if scope in scopes else "open",
            case_code=(request.args.get("case") or "").strip()[:40] or None,
            process_id=(request.args.get("process") or "").strip()[:200] or None,
            status=status if status in INBOX_STATUSES else "all",
            page=page_number(request.args.get("page")), page_size=PAGE_SIZE)
        result = inbox_queries.inbox_page(work.session, current_user.id, query, known_counts=nav_counts())
        result = dataclasses.replace(result, rows=workflow_words.rows(result.rows))  # titles in the page's language
        processes = inbox_queries.inbox_processes(work.session)
    return render_template("inbox.html", result=result, query=query, scopes=scopes, processes=processes,
                           scope_labels=SCOPE_LABELS, status_labels=STATUS_LABELS)


def filter_args(query: InboxQuery, **changes) -> dict:
    """Query-string arguments that keep the current filters (for tabs and the pager)."""
    args = {"scope": query.scope, "case": query.case_code, "process": query.process_id,
            "status": query.status if query.status != "all" else None, "page": query.page}
    args.update(changes)
    return {k: v for k, v in args.items() if v not in (None, "", 1) or k == "scope"}


bp.add_app_template_global(filter_args, "inbox_args")
