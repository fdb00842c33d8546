"""Server-rendered pages, one blueprint per screen family."""
from __future__ import annotations

from flask import Flask

from webui.pages import assets, auth, cases, committee, crisis, dashboard, inbox, models, navigation, tasks

PAGE_BLUEPRINTS = (auth.bp, inbox.bp, crisis.bp, assets.bp, navigation.bp, tasks.bp, models.bp, committee.bp,
                   dashboard.bp, cases.bp)


def register_pages(app: Flask) -> None:
    for bp in PAGE_BLUEPRINTS:
        app.register_blueprint(bp)
