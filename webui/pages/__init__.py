"""Server-rendered pages, one blueprint per screen family."""
from __future__ import annotations

from flask import Flask

from webui.pages import auth, inbox


def register_pages(app: Flask) -> None:
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
