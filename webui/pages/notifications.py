"""Notifications, for everyone: unread first, then newest; open one (it is marked read and
its page opens), mark one or all as read. The same queries as ``/api/notifications``."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from engine.service_ops import notifications
from webui.extensions import uow
from webui.pages.auth import safe_next
from webui.pages.common import page_blueprint, page_number

bp = page_blueprint("pages_notifications", __name__)
PAGE_SIZE = 25


@bp.get("/notifications")
@login_required
def notification_list():
    page = page_number(request.args.get("page"))
    with uow() as work:
        found = notifications.list_notifications(work.session, current_user.id, limit=PAGE_SIZE,
                                                 offset=(page - 1) * PAGE_SIZE)
    pages = max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template("notifications.html", found=found, page=page, pages=pages)


@bp.post("/notifications/<id:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    """Mark one read; with ``open`` go on to the page it is about (one of ours only)."""
    with uow() as work:
        row = notifications.mark_read(work, current_user.id, notification_id)
        link = row.link
    target = safe_next(link) if request.form.get("open") else None
    if target:
        return redirect(target)
    return redirect(url_for("pages_notifications.notification_list", page=page_number(request.form.get("page")))
                    + f"#notification-{notification_id}")


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    with uow() as work:
        marked = notifications.mark_all_read(work, current_user.id)
    flash(ngettext("%(num)s notification marked as read.", "%(num)s notifications marked as read.", marked)
          if marked else _("Nothing was unread."), "info")
    return redirect(url_for("pages_notifications.notification_list"))
