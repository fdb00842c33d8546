"""A job that fails its last retry becomes an incident an admin sees and retries."""
from __future__ import annotations

import dataclasses

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.models.ops import Incident, Notification
from engine.service_ops import incidents, notifications
from tests.tasks.conftest import WAIT_S, SmtpCollector, free_port, user_id


def incident_rows(ctx) -> list[Incident]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(Incident).order_by(Incident.id)))


def mail_state(ctx, notification_id: int) -> str:
    with ctx.session_factory() as s:
        return s.get(Notification, notification_id).mail_state


@pytest.fixture
def smtp_down(ctx):
    """SMTP configured (on ``ctx``), but nothing listens on its port yet; ``.start()``
    brings the server up."""
    port = free_port()
    collector = SmtpCollector()
    collector.url = f"smtp://127.0.0.1:{port}"
    ctx.settings = dataclasses.replace(ctx.settings, smtp_url=collector.url)
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    collector.start = controller.start
    yield collector
    if getattr(controller, "_thread", None) is not None:
        controller.stop()


@pytest.fixture
def smtp_app(settings, smtp_down, monkeypatch):
    """The web app with its in-process worker, SMTP pointing at ``smtp_down``, fast retries."""
    from webui.app import create_app
    monkeypatch.setenv("QUEUE_MAX_RETRIES", "2")
    monkeypatch.setenv("QUEUE_MIN_BACKOFF_MS", "10")
    monkeypatch.setenv("QUEUE_MAX_BACKOFF_MS", "40")
    application = create_app(dataclasses.replace(settings, smtp_url=smtp_down.url), start_worker=False)
    application.extensions["task_queue"].start_worker(periodic=False)
    yield application
    application.extensions["task_queue"].stop()
    application.extensions["engine_ctx"].engine.dispose()


def fail_one_mail(ctx, queue) -> int:
    with ctx.uow() as uow:
        notifications.notify(uow, [user_id(ctx, "caseworker1")], "general", "Hello")
        uow.commit()
    queue.relay.drain()
    with ctx.session_factory() as s:
        note_id = s.scalar(select(Notification.id).where(Notification.kind == "general"))
    assert queue.wait_for(lambda: mail_state(ctx, note_id) == "failed", WAIT_S)
    return note_id


def test_a_job_failing_its_last_retry_opens_one_incident(ctx, smtp_down, make_queue, queue_settings):
    queue = make_queue(queue_settings)
    note_id = fail_one_mail(ctx, queue)
    [incident] = incident_rows(ctx)
    assert (incident.actor, incident.state) == ("send_notification_email", "open")
    assert incident.attempts == queue_settings.max_retries + 1
    assert "MailError" in incident.error and incident.args_json == f"[{note_id}]"
    with ctx.session_factory() as s:  # admins hear about it in-app (never by mail)
        alert = s.scalar(select(Notification).where(Notification.kind == "incident_opened"))
        assert alert.user_id == user_id(ctx, "admin") and alert.mail_state == "none"

    queue.actors["send_notification_email"].send(note_id)  # the same job failing again
    assert queue.wait_for(lambda: incident_rows(ctx)[0].attempts == 2 * (queue_settings.max_retries + 1), WAIT_S)
    assert len(incident_rows(ctx)) == 1


def test_admin_sees_and_retries_an_incident_which_resolves_when_the_job_succeeds(ctx, smtp_down, smtp_app):
    queue = smtp_app.extensions["task_queue"]
    client = smtp_app.test_client()
    fail_one_mail(ctx, queue)
    token = client.post("/api/auth/token", json={"username": "admin", "password": "demo"}).get_json()
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    listed = client.get("/api/incidents?state=open", headers=admin).get_json()
    assert listed["total"] == 1
    incident = listed["incidents"][0]
    assert incident["actor"] == "send_notification_email" and incident["state"] == "open"
    assert incident["attempts"] == 3 and incident["args"] == [incident["args"][0]]

    smtp_down.start()  # the operator fixed the mail server
    retried = client.post(f"/api/incidents/{incident['id']}/retry", headers=admin)
    assert retried.status_code == 200 and retried.get_json()["state"] == "retried"
    assert queue.wait_for(lambda: incident_rows(ctx)[0].state == "resolved", WAIT_S)
    assert len(smtp_down.messages) == 1
    shown = client.get(f"/api/incidents/{incident['id']}", headers=admin).get_json()
    assert shown["state"] == "resolved" and shown["retries"] == 1
    again = client.post(f"/api/incidents/{incident['id']}/retry", headers=admin)
    assert again.status_code == 409 and again.get_json()["error"] == "conflict"


def test_a_retry_that_fails_again_reopens_the_incident(ctx, smtp_down, make_queue, queue_settings):
    queue = make_queue(queue_settings)
    fail_one_mail(ctx, queue)
    [incident] = incident_rows(ctx)
    with ctx.uow() as uow:
        incidents.retry_incident(uow, user_id(ctx, "admin"), incident.id)
        uow.commit()
    assert queue.wait_for(lambda: incident_rows(ctx)[0].state == "open" and incident_rows(ctx)[0].retries == 1,
                          WAIT_S)
    assert incident_rows(ctx)[0].attempts > incident.attempts


def test_incidents_are_for_admins_only(ctx, client, token_for):
    assert client.get("/api/incidents").status_code == 401
    for username in ("caseworker1", "supervisor1", "director1"):
        refused = client.get("/api/incidents", headers=token_for(username))
        assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert client.post("/api/incidents/1/retry", headers=token_for("caseworker1")).status_code == 403
    admin = token_for("admin")
    assert client.get("/api/incidents", headers=admin).get_json() == {"incidents": [], "total": 0}
    assert client.post("/api/incidents/999/retry", headers=admin).status_code == 404
    assert client.get("/api/incidents?state=bogus", headers=admin).status_code == 422


def test_admin_may_close_an_incident_without_retrying(ctx, smtp_down, make_queue, queue_settings, client, token_for):
    queue = make_queue(queue_settings)
    fail_one_mail(ctx, queue)
    incident_id = incident_rows(ctx)[0].id
    admin = token_for("admin")
    closed = client.post(f"/api/incidents/{incident_id}/resolve", headers=admin)
    assert closed.status_code == 200 and closed.get_json()["state"] == "resolved"
    assert client.post(f"/api/incidents/{incident_id}/resolve", headers=admin).status_code == 409
    assert client.post(f"/api/incidents/{incident_id}/retry", headers=admin).status_code == 409
