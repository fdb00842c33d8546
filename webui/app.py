"""``create_app(settings)``: builds the web app; nothing is configured at import time."""
from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from engine.errors import BadRequest
from engine.infra import bootstrap
from engine.settings import Settings
from tasks.queue import TaskQueue, make_task_queue
from webui import errors, i18n, json_limits, metrics, request_ids, stored_words
from webui.api import bounds, register_api
from webui.extensions import csrf, db, init_limiter, login_manager, smorest_api
from webui.pages import register_pages, single_sign_on

log = logging.getLogger("webui.request")


def create_app(settings: Settings | None = None, start_worker: bool | None = None) -> Flask:
    """The web app over a migrated database, its deployed workflows and (embedded
    default) an in-process task worker. Embedded, it migrates and deploys for you; in
    production (``APP_ENV=production``) it does neither and refuses a database that is not
    migrated (``bootstrap.SchemaNotCurrent``)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        # Secure follows production mode, not the kind of database: a production site is served
        # over HTTPS whatever it stores its data in; `make run` on http://127.0.0.1 is not
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.production,
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        API_TITLE="Casework engine API",
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        WTF_CSRF_TIME_LIMIT=None,
    )
    ctx = bootstrap.build(settings)  # embedded: migrates; production: refuses an un-migrated database
    queue: TaskQueue = make_task_queue(ctx)
    bootstrap.start_up(ctx)  # embedded: deploys workflows/ and seeds the demo users; production: nothing
    app.extensions["engine_ctx"] = ctx
    app.extensions["task_queue"] = queue
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.database_url
    db.init_app(app)  # request-scoped sessions on ctx.engine (webui.extensions.EngineDatabase)
    if settings.in_process_worker if start_worker is None else start_worker:
        queue.start_worker()
    queue.relay.drain()

    app.url_map.converters[bounds.PATH_ID] = bounds.IdConverter
    app.url_map.converters[bounds.DRAFT_NAME] = bounds.DraftNameConverter
    request_ids.install(app)  # first: every later hook logs under the request's id
    metrics.install(app)  # /metrics, and every answer counted
    json_limits.install(app)
    login_manager.init_app(app)
    i18n.init_app(app)  # the page's language: the user's choice, else the browser's, else English
    stored_words.init_app(app)  # what the engine stored in English, shown in the page's language
    csrf.init_app(app)
    init_limiter(app, settings)
    smorest_api.init_app(app)
    single_sign_on.install(app, settings)  # off unless OIDC_ISSUER is set
    _register_blueprints(app)
    errors.register(app)
    _request_logging(app)
    _no_caching_of_answers(app)
    _refuse_nul_characters(app)
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
        log.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed,
                 extra={"method": request.method, "path": request.path, "status": response.status_code,
                        "duration_ms": round(elapsed, 1)})
        return response


CACHEABLE_PREFIXES = ("/static/", "/vendor/")  # versioned assets; webui/pages/assets.py sets their caching


def _no_caching_of_answers(app: Flask) -> None:
    """Pages and API answers carry case data: no browser, proxy or shared computer keeps a copy
    (``no-store`` on every answer, errors included, whatever a view set)."""
    @app.after_request
    def _no_store(response):
        if not request.path.startswith(CACHEABLE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refuse_nul_characters(app: Flask) -> None:
    """No text here may hold U+0000: PostgreSQL refuses it in any text value, so a NUL in a
    path, query, form field or file name would fail deep inside a query (a 500). Refused
    at the door instead, with a 400 (JSON bodies: webui.json_limits)."""
    @app.before_request
    def _no_nul():
        texts = [request.path, *(t for pair in request.args.items(multi=True) for t in pair)]
        if request.mimetype in FORM_TYPES:
            texts += [t for pair in request.form.items(multi=True) for t in pair]
            texts += [f.filename or "" for f in request.files.values()]
        if any("\0" in text for text in texts):
            raise BadRequest("the request holds a NUL character (%00), which no text here may contain")
