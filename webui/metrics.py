"""``GET /metrics``: the service's figures in Prometheus text format, for administrators
(an admin's bearer token; 401 without one, 403 for anyone else).

- ``casework_http_requests_total{route, method, status}`` and
  ``casework_http_request_duration_seconds{route, method}`` (a histogram): every answer,
  by URL rule (``/api/tasks/<path_id:task_id>``, never the raw path: a bounded set);
- ``casework_engine_steps_total{process}``, ``casework_jobs_total{actor, outcome}``
  (tasks.metrics);
- read from the database at scrape time, each with one indexed query:
  ``casework_timer_lag_seconds`` (how late the most overdue pending timer is: 0 when none
  is), ``casework_timers_overdue``, ``casework_outbox_backlog`` (jobs due and not done) and
  ``casework_outbox_oldest_seconds``, ``casework_incidents_open``, ``casework_tasks_overdue``
  (open human tasks past their due time), ``casework_instances_failed``;
  ``casework_database_up`` is 0 when the database did not answer;
- ``casework_queue_depth{queue}``: messages waiting in the broker.

Several processes: see tasks.metrics (``PROMETHEUS_MULTIPROC_DIR``).
"""
from __future__ import annotations

import logging
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from engine import clock
from engine.errors import Forbidden, Unauthorized
from engine.models import HumanTask, InstanceStatus, OutboxMessage, ProcessInstance, TaskState, Timer, TimerState
from engine.models.ops import Incident, IncidentState
from engine.people import directory, sessions
from tasks.metrics import count_engine_steps, queue_depths
from webui.auth import bearer_token
from webui.extensions import engine_ctx, uow

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
REQUESTS = Counter("casework_http_requests", "HTTP answers by route, method and status", ["route", "method", "status"])
LATENCY = Histogram("casework_http_request_duration_seconds", "Time to answer, by route and method",
                    ["route", "method"], buckets=LATENCY_BUCKETS)
ADMIN = "admin"


def install(app: Flask) -> None:
    """Count every answer of ``app`` and serve ``/metrics``."""
    count_engine_steps()

    @app.before_request
    def _started():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _counted(response):
        started = g.pop("metrics_started", None)
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(route=route, method=request.method, status=str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(route=route, method=request.method).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics():
    _require_admin_token()
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_DatabaseFigures())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST})


def _require_admin_token() -> None:
    token = bearer_token()
    if token is None:
        raise Unauthorized("send 'Authorization: Bearer <token>' with an administrator's token")
    with uow() as work:
        user_id = sessions.user_id_for(work, token, sessions.SessionKind.API)
        if ADMIN not in directory.get_user(work.session, user_id).roles:
            raise Forbidden("only administrators may read the metrics")


class _ThisProcess(Collector):
    def collect(self):
        yield from REGISTRY.collect()


class _DatabaseFigures(Collector):
    """The figures read at scrape time (one bounded, indexed query each)."""

    def collect(self):
        ctx = engine_ctx()
        up = GaugeMetricFamily("casework_database_up", "1 when the database answered this scrape")
        try:
            with ctx.session_factory() as session:
                figures = _database_figures(session)
            up.add_metric([], 1)
        except SQLAlchemyError as err:
            log.warning("metrics: the database did not answer: %s", str(err).splitlines()[0])
            figures = []
            up.add_metric([], 0)
        yield up
        for name, documentation, value in figures:
            yield GaugeMetricFamily(name, documentation, value=value)
        depths = queue_depths(current_app.extensions["task_queue"].broker)
        if depths is not None:
            family = GaugeMetricFamily("casework_queue_depth", "Messages waiting in the broker, per queue",
                                       labels=["queue"])
            for queue, depth in depths.items():
                family.add_metric([queue], depth)
            yield family


def _database_figures(session) -> list[tuple[str, str, float]]:
    now = clock.now()
    overdue_timers, oldest_due = session.execute(
        select(func.count(), func.min(Timer.due_at))
        .where(Timer.state == TimerState.PENDING, Timer.due_at <= now)).one()
    backlog, oldest_job = session.execute(
        select(func.count(), func.min(func.coalesce(OutboxMessage.eta, OutboxMessage.created_at)))
        .where(OutboxMessage.done_at.is_(None), or_(OutboxMessage.eta.is_(None), OutboxMessage.eta <= now))).one()
    incidents = session.scalar(select(func.count()).select_from(Incident).where(Incident.state == IncidentState.OPEN))
    overdue_tasks = session.scalar(select(func.count()).select_from(HumanTask)
                                   .where(HumanTask.state == TaskState.READY, HumanTask.due_at < now))
    failed = session.scalar(select(func.count()).select_from(ProcessInstance)
                            .where(ProcessInstance.status == InstanceStatus.ERROR))
    return [
        ("casework_timer_lag_seconds", "How late the most overdue pending timer is (0: none is late)",
         _age(now, oldest_due)),
        ("casework_timers_overdue", "Pending timers past their due time", overdue_timers),
        ("casework_outbox_backlog", "Jobs due and not yet done", backlog),
        ("casework_outbox_oldest_seconds", "Age of the oldest job due and not done (0: none)", _age(now, oldest_job)),
        ("casework_incidents_open", "Open incidents (jobs that failed their last retry)", incidents or 0),
        ("casework_tasks_overdue", "Open human tasks past their due time", overdue_tasks or 0),
        ("casework_instances_failed", "Process instances stopped at a failed step", failed or 0),
    ]


def _age(now, then) -> float:
    if then is None:
        return 0.0
    return max(0.0, (now - clock.as_utc(then)).total_seconds())
