"""``GET /metrics``: an administrator's bearer token scrapes the service's figures in
Prometheus format — answers by route and status with their latency, engine steps, timer
lag, the outbox backlog, the broker's queues, open incidents and overdue tasks."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine import clock
from engine.models import Timer
from engine.models.ops import Incident
from engine.settings import PROJECT_ROOT

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
REFERRAL = {"referral": {"source": "self-referral", "primary_concern": "left school to work"},
            "client": {"name": "Metrics Sample"}}


def scrape(client, headers) -> dict[str, list]:
    resp = client.get("/metrics", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith("text/plain")
    families = text_string_to_metric_families(resp.get_data(as_text=True))
    return {family.name: family.samples for family in families}


def value(samples, name: str, **labels) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_need_an_administrators_bearer_token(client, token_for):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    refused = client.get("/metrics", headers=token_for("caseworker1"))
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert client.get("/metrics", headers=token_for("admin")).status_code == 200


def test_a_scrape_carries_requests_engine_steps_and_the_backlog_of_work(app, client, token_for):
    admin = token_for("admin")
    before = scrape(client, admin)
    steps_before = value(before.get("casework_engine_steps", []), "casework_engine_steps_total")
    created = client.post("/api/cases", json=REFERRAL, headers=token_for("caseworker1"))
    assert created.status_code == 201
    with app.extensions["engine_ctx"].uow() as uow:
        uow.session.add(Incident(job_key="k" * 64, actor="send_mail", args_json="[1]", error="SMTP down",
                                 attempts=3))
        uow.session.add(Timer(instance_id=created.get_json()["process_instance_id"], task_id="t-1",
                              bpmn_id="follow_up_timer", due_at=clock.now() + dt.timedelta(hours=1)))
        uow.enqueue("fire_timer", 999_999)  # no worker runs here: the backlog grows
        uow.commit()

    clock.freeze(clock.now() + dt.timedelta(days=40))  # every first deadline of the case has passed
    figures = scrape(client, token_for("admin"))  # (the first token expired meanwhile)

    requests = figures["casework_http_requests"]
    earlier = before.get("casework_http_requests", [])
    assert (value(requests, "casework_http_requests_total", route="/api/cases", method="POST", status="201")
            - value(earlier, "casework_http_requests_total", route="/api/cases", method="POST", status="201")) == 1
    latency = figures["casework_http_request_duration_seconds"]
    earlier = before.get("casework_http_request_duration_seconds", [])
    count = "casework_http_request_duration_seconds_count"
    assert (value(latency, count, route="/api/cases", method="POST")
            - value(earlier, count, route="/api/cases", method="POST")) == 1
    assert any(s.name.endswith("_bucket") and s.labels.get("route") == "/api/cases" for s in latency)
    assert value(figures["casework_engine_steps"], "casework_engine_steps_total") > steps_before
    assert value(figures["casework_tasks_overdue"], "casework_tasks_overdue") >= 1
    assert value(figures["casework_timer_lag_seconds"], "casework_timer_lag_seconds") > 39 * 24 * 3600
    assert value(figures["casework_timers_overdue"], "casework_timers_overdue") == 1
    assert value(figures["casework_incidents_open"], "casework_incidents_open") == 1
    assert value(figures["casework_outbox_backlog"], "casework_outbox_backlog") >= 1
    assert value(figures["casework_database_up"], "casework_database_up") == 1
    assert "casework_queue_depth" in figures and "casework_instances_failed" in figures


@SQLITE_ONLY
def test_an_unknown_address_is_counted_under_one_label_not_its_path(client, token_for):
    for n in range(3):
        assert client.get(f"/no/such/page/{n}").status_code == 404
    requests = scrape(client, token_for("admin"))["casework_http_requests"]
    assert value(requests, "casework_http_requests_total", route="unmatched", status="404") >= 3
    assert not any("/no/such" in s.labels.get("route", "") for s in requests)


@SQLITE_ONLY
def test_with_a_shared_directory_a_scrape_adds_up_every_process(client, token_for, tmp_path, monkeypatch):
    """gunicorn workers and dramatiq workers of one host write their counters to
    PROMETHEUS_MULTIPROC_DIR; any of them answers the scrape with the sum."""
    script = ("from tasks.metrics import ENGINE_STEPS; "
              "ENGINE_STEPS.labels(process='case_management').inc(3)")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", script], check=True, cwd=PROJECT_ROOT,
                       env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    admin = token_for("admin")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    figures = scrape(client, admin)
    assert value(figures["casework_engine_steps"], "casework_engine_steps_total", process="case_management") == 6
    assert value(figures["casework_database_up"], "casework_database_up") == 1  # read at the scrape as ever
