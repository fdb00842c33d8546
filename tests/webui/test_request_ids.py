"""Every answer names its request (``X-Request-Id``: the caller's when well formed, else a
new one); the jobs the request causes carry the id to the worker, which logs under it; in
production the logs are JSON lines carrying it."""
from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import select

from engine import clock
from engine.infra import logs
from engine.models import OutboxMessage

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
DISRUPTION = {"kind": "it_failure", "description": "the case server is down", "affected_functions": ["5.1"]}


@pytest.fixture
def json_logs():
    stream = io.StringIO()
    handler = logs.configure({"APP_ENV": "production"}, stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def _jobs_of(app) -> list[OutboxMessage]:
    with app.extensions["engine_ctx"].session_factory() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@SQLITE_ONLY
def test_a_well_formed_request_id_is_echoed_and_a_bad_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.2"}).headers["X-Request-Id"] == "lb-7f3a.2"
    for bad in ("two words", "x" * 65, "<script>", "id\u00e9"):
        made = client.get("/healthz", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert made != bad and len(made) == 32 and int(made, 16) >= 0
    first, second = (client.get("/healthz").headers["X-Request-Id"] for _ in range(2))
    assert first != second
    assert client.get("/no/such/page").headers["X-Request-Id"]  # errors name their request too


def test_the_jobs_a_request_causes_carry_its_id_into_the_worker_logs(app, client, token_for, caplog):
    referral = {"referral": {"source": "self-referral", "primary_concern": "left school"}, "client": {"name": "A B"}}
    assert client.post("/api/cases", json=referral, headers=token_for("caseworker1")).status_code == 201
    declared = client.post("/api/crises", json=DISRUPTION,
                           headers={**token_for("crisislead1"), "X-Request-Id": "ref-42"})
    assert declared.status_code == 201 and declared.headers["X-Request-Id"] == "ref-42"
    caused = [job for job in _jobs_of(app) if job.request_id == "ref-42"]
    assert "crisis_plan_checks" in {job.actor for job in caused}
    first = {job.id for job in caused}
    queue = app.extensions["task_queue"]
    caplog.set_level(logging.INFO, logger="tasks.jobs")
    queue.start_worker()

    def due_jobs() -> list[OutboxMessage]:
        now = clock.now()
        return [job for job in _jobs_of(app) if job.request_id == "ref-42" and (job.eta is None or job.eta <= now)]

    assert queue.wait_for(lambda: len(due_jobs()) > 1 and all(job.done_at for job in due_jobs()), timeout_s=60)
    jobs = due_jobs()
    chained = [job for job in _jobs_of(app) if job.id not in first]
    assert chained and {job.request_id for job in chained} == {"ref-42"}, "jobs set off by jobs carry it too"
    logged = {int(r.job_id) for r in caplog.records
              if r.name == "tasks.jobs" and getattr(r, "request_id", None) == "ref-42"}
    assert logged == {job.id for job in jobs}


@SQLITE_ONLY
def test_production_logs_are_json_lines_naming_the_request(client, token_for, json_logs):
    client.get("/healthz", headers={"X-Request-Id": "probe-1"})
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    answered = [line for line in lines if line["logger"] == "webui.request" and line["request_id"] == "probe-1"]
    assert answered and answered[0]["status"] == 200 and answered[0]["path"] == "/healthz"
    assert {"time", "level", "message"} <= set(answered[0])
