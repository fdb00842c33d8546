"""Server-rendered pages, one blueprint per screen family."""
from __future__ import annotations

from flask import Flask

from webui.pages import (
    account,
    admin,
    assets,
    auth,
    cases,
    cells,
    committee,
    crisis,
    dashboard,
    dashboard_cells,
    inbox,
    models,
    navigation,
    single_sign_on,
    tasks,
)
from webui.pages import labels as display_labels
from webui.pages import notifications as notification_pages

PAGE_BLUEPRINTS = (display_labels.bp, auth.bp, inbox.bp, crisis.bp, assets.bp, navigation.bp, tasks.bp, models.bp,
                   committee.bp, dashboard.bp, cases.bp, admin.bp, notification_pages.bp, account.bp,
                   single_sign_on.bp)


def register_pages(app: Flask) -> None:
    cells.register(app)  # risk_badge, when, day, due_cell, urgent_flag on every page
    dashboard_cells.register(app)  # the dashboard's task rows and hand-over options
    for bp in PAGE_BLUEPRINTS:
        app.register_blueprint(bp)
