"""``create_app(settings)``: builds the web app; nothing is configured at import time."""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from engine.infra import bootstrap
from engine.settings import Settings
from tasks.queue import TaskQueue, make_task_queue
from webui import errors
from webui.api import register_api
from webui.extensions import csrf, login_manager, smorest_api
from webui.pages import register_pages

log = logging.getLogger("webui.request")


def create_app(settings: Settings | None = None, start_worker: bool | None = None) -> Flask:
    """The web app over a migrated database, its deployed workflows and (embedded
    default) an in-process task worker."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.embedded,
        REMEMBER_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        API_TITLE="Casework engine API",
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        WTF_CSRF_TIME_LIMIT=None,
    )
    ctx = bootstrap.build(settings)
    queue: TaskQueue = make_task_queue(ctx)
    bootstrap.deploy_and_seed(ctx)
    app.extensions["engine_ctx"] = ctx
    app.extensions["task_queue"] = queue
    if settings.in_process_worker if start_worker is None else start_worker:
        queue.start_worker()
    queue.relay.drain()

    login_manager.init_app(app)
    csrf.init_app(app)
    smorest_api.init_app(app)
    _register_blueprints(app)
    errors.register(app)
    _request_logging(app)
    return app


def _register_blueprints(app: Flask) -> None:
    register_api(app)
    register_pages(app)


def _request_logging(app: Flask) -> None:
    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        elapsed = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        log.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed)
        return response
