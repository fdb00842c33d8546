"""Flask extensions, created unbound and initialised by the app factory."""
from __future__ import annotations

import logging
import time

from flask import Flask, current_app
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits import parse_many
from sqlalchemy.exc import SQLAlchemyError

from engine.infra.bootstrap import EngineContext
from engine.infra.unit_of_work import UnitOfWork
from engine.models import Base
from engine.settings import Settings
from webui.errors import error_response


class EngineDatabase(SQLAlchemy):
    """Flask-SQLAlchemy over the one database engine ``engine.infra.bootstrap`` built from
    ``Settings`` (its pool, its SQLite pragmas and busy timeout), not a second one of its own:
    the web app's request-scoped sessions and the workers' sessions share one configuration."""

    def _make_engine(self, bind_key, options, app):
        return app.extensions["engine_ctx"].engine

    def _apply_driver_defaults(self, options, app) -> None:
        """Nothing to adjust: the engine is built already (and no instance folder is made)."""

    def _teardown_session(self, exc) -> None:
        """Closing the request's session once its answer is made: a connection lost by then
        (its ROLLBACK fails) has been rolled back by the server already, and must not turn
        the answer into a 500 (issue 18)."""
        try:
            super()._teardown_session(exc)
        except SQLAlchemyError as err:
            logging.getLogger(__name__).warning("the request's session could not be closed cleanly (its "
                                                "connection was lost): %s", str(err).splitlines()[0])


# The request's session: opened on first use, removed (closed) when the app context ends.
# expire_on_commit=False as in engine.infra.db: what a use case returns stays readable.
db = EngineDatabase(model_class=Base, session_options={"expire_on_commit": False})
login_manager = LoginManager()
login_manager.login_view = "pages_auth.login"
csrf = CSRFProtect()


class DocumentedOnRequestApi(Api):
    """flask-smorest's Api, writing a blueprint's OpenAPI documentation when the document is
    first asked for instead of when the blueprint is registered: converting every schema of
    the API took about half a second of each app's start (each test's too), while the
    document is read by few. What it says is the same either way."""

    def init_app(self, app, *, spec_kwargs=None):
        self._undocumented: list[tuple[object, str, object]] = []
        super().init_app(app, spec_kwargs=spec_kwargs)

    def register_blueprint(self, blp, *, parameters=None, **options):
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def document(self) -> None:
        """Write the documentation of every blueprint registered since (idempotent)."""
        while self._undocumented:
            blp, name, parameters = self._undocumented.pop(0)
            blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=parameters)
            self.spec.tag({"name": name, "description": blp.description})

    def _openapi_json(self):
        self.document()
        return super()._openapi_json()


smorest_api = DocumentedOnRequestApi()
# Limits are declared on the views (webui.auth.sign_in_limits); nothing is limited by default. Each
# app's init_limiter gives it fresh storage, so every app (and test) counts from zero.
limiter = Limiter(key_func=get_remote_address)


def init_limiter(app: Flask, settings: Settings) -> None:
    """Rate limits counted in memory (embedded: one process) or in Redis at
    ``REDIS_URL`` (production: shared by every web process). A limit that breaks is
    answered 429 with ``Retry-After``, in JSON (pages answer in words, see
    webui.pages.auth). An unreachable Redis falls back to counting in memory."""
    for value in (settings.login_limit_per_address, settings.login_limit_per_account):
        parse_many(value)  # a mistyped limit fails at start-up, not on the first sign-in
    app.config.update(
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_STRATEGY="moving-window",
        RATELIMIT_KEY_PREFIX="casework",
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=bool(settings.redis_url),
        RATELIMIT_SWALLOW_ERRORS=True,  # a limiter that cannot count logs it; it never fails a sign-in
        LOGIN_LIMIT_PER_ADDRESS=settings.login_limit_per_address,
        LOGIN_LIMIT_PER_ACCOUNT=settings.login_limit_per_account,
    )
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets the next attempt through."""
    breached = limiter.current_limit
    if breached is None:
        return 60
    return max(1, int(breached.reset_at - time.time()))


def _too_many_requests(_err: RateLimitExceeded):
    wait = retry_after_seconds()
    body, status = error_response(429, "too_many_requests",
                                  f"too many failed sign-in attempts; try again in {wait} seconds", retry_after=wait)
    body.headers["Retry-After"] = str(wait)
    return body, status


def engine_ctx() -> EngineContext:
    return current_app.extensions["engine_ctx"]


def uow() -> UnitOfWork:
    """A unit of work on the request's session (use as a context manager). A use case
    reached from inside another one's unit of work (the sign-in check while a view's use
    case runs) gets a session of its own, so neither commits or undoes the other's work."""
    session = db.session()
    if UnitOfWork.in_use(session):
        return engine_ctx().uow()
    return engine_ctx().uow(session)


def runtime():
    return engine_ctx().runtime
