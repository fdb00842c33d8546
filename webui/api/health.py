"""``GET /healthz``: the app, its database and its task worker are ready."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webui.extensions import engine_ctx

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    ctx = engine_ctx()
    queue = current_app.extensions["task_queue"]
    checks = {"database": "ok", "worker": "in-process" if queue.worker else "external"}
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        checks["database"] = "unreachable"
    if ctx.settings.redis_url:
        try:
            with Redis.from_url(ctx.settings.redis_url, socket_connect_timeout=2) as client:
                client.ping()
            checks["broker"] = "ok"
        except RedisError:
            checks["broker"] = "unreachable"
    if "unreachable" in checks.values():
        return jsonify({"status": "degraded", **checks}), 503
    return jsonify({"status": "ok", "database_backend": ctx.engine.dialect.name, **checks})
