"""Flask extensions, created unbound and initialised by the app factory."""
from __future__ import annotations

import time

from flask import Flask, current_app
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_wtf import CSRFProtect
from limits import parse_many

from engine.infra.bootstrap import EngineContext
from engine.settings import Settings
from webui.errors import error_response

login_manager = LoginManager()
login_manager.login_view = "pages_auth.login"
csrf = CSRFProtect()
smorest_api = Api()
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


def uow():
    """A unit of work on the app's database (use as a context manager)."""
    return engine_ctx().uow()


def runtime():
    return engine_ctx().runtime
