"""Flask extensions, created unbound and initialised by the app factory."""
from __future__ import annotations

from flask import current_app
from flask_login import LoginManager
from flask_smorest import Api
from flask_wtf import CSRFProtect

from engine.infra.bootstrap import EngineContext

login_manager = LoginManager()
login_manager.login_view = "pages_auth.login"
csrf = CSRFProtect()
smorest_api = Api()


def engine_ctx() -> EngineContext:
    return current_app.extensions["engine_ctx"]


def uow():
    """A unit of work on the app's database (use as a context manager)."""
    return engine_ctx().uow()


def runtime():
    return engine_ctx().runtime
