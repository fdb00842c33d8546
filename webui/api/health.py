"""``GET /healthz``: is the app ready, and is its background work being done?

``{"status": "ok" | "degraded", "reasons": [...], ...}``. "degraded" names each reason:
the database or the broker unreachable (answered 503: this app cannot serve), or — with
external workers (production) — no worker heartbeat, the sweeper silent, or the outbox
backlog growing (answered 200: requests are still served, their jobs wait in the outbox;
see tasks.readiness for the thresholds); and, either way, the count triggers on ``cases``
missing (answered 200: the supervisor dashboard's counts drift with every case change until
``python -m webui.cli case-counts rebuild`` or the daily check puts them back; see
engine.case.count_triggers). Embedded, the worker runs in this process.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from engine.case import count_triggers
from tasks.queue import TaskQueue
from tasks.readiness import background_work
from webui.extensions import engine_ctx

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    ctx = engine_ctx()
    queue: TaskQueue = current_app.extensions["task_queue"]
    external = bool(ctx.settings.redis_url)
    checks: dict = {"database": "ok", "worker": "external" if external else
                    ("in-process" if queue.worker else "none")}
    reasons: list[str] = []
    try:
        with ctx.session_factory() as session:
            session.execute(text("SELECT 1"))
            uncounted = count_triggers.missing(session)
            if uncounted:
                checks["case_counts"] = {"triggers_missing": uncounted}
                reasons.append(f"case counts not kept: count trigger(s) missing on cases ({', '.join(uncounted)}); "
                               "python -m webui.cli case-counts rebuild puts them back")
            if external:
                work = background_work(session, queue.settings)
                checks.update(work.as_dict())
                reasons += work.reasons
    except SQLAlchemyError:
        checks["database"] = "unreachable"
        reasons.append("database unreachable")
    if external:
        try:
            with Redis.from_url(ctx.settings.redis_url, socket_connect_timeout=2) as client:
                client.ping()
            checks["broker"] = "ok"
        except RedisError:
            checks["broker"] = "unreachable"
            reasons.append("broker unreachable")
    body = {"status": "degraded" if reasons else "ok", "reasons": reasons,
            "database_backend": ctx.engine.dialect.name, **checks}
    if reasons:
        body["reason"] = "; ".join(reasons)
    unreachable = "unreachable" in (checks["database"], checks.get("broker"))
    return jsonify(body), 503 if unreachable else 200
