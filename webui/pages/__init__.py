"""Server-rendered pages, one blueprint per screen family."""
from __future__ import annotations

from flask import Flask

from webui.pages import auth, crisis, inbox

PAGE_BLUEPRINTS = (auth.bp, inbox.bp, crisis.bp)


def register_pages(app: Flask) -> None:
    for bp in PAGE_BLUEPRINTS:
        app.register_blueprint(bp)
