"""Notifications: the notify() service, the in-app API, and e-mail copies over SMTP."""
from __future__ import annotations

import dataclasses
import email

import pytest
from sqlalchemy import select

from engine.models.ops import Notification
from engine.service_ops import notifications
from tests.tasks.conftest import WAIT_S, start, user_id


def notes_of(ctx, username: str) -> list[Notification]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(Notification).where(Notification.user_id == user_id(ctx, username))
                              .order_by(Notification.id)))


def test_notify_reaches_each_user_once_and_a_dedupe_key_makes_it_idempotent(ctx):
    cw1, cw2 = user_id(ctx, "caseworker1"), user_id(ctx, "caseworker2")
    with ctx.uow() as uow:
        made = notifications.notify(uow, [cw1, cw2, cw1], "committee_vote_requested", "Vote on case C-1",
                                    case_code="C-1", dedupe_key="vote:C-1")
        uow.commit()
    assert made == 2
    with ctx.uow() as uow:
        again = notifications.notify(uow, [cw1, cw2], "committee_vote_requested", "Vote on case C-1",
                                     case_code="C-1", dedupe_key="vote:C-1")
        uow.commit()
    assert again == 0
    assert [n.subject for n in notes_of(ctx, "caseworker1")] == ["Vote on case C-1"]
    with ctx.uow() as uow:
        assert notifications.notify(uow, [], "general", "nobody") == 0


def test_a_task_assigned_by_the_diagram_notifies_its_assignee(ctx):
    start(ctx, "queue_escalation", {"due_hours": 24, "escalate_after": "PT24H",
                                    "caseworker": "caseworker1", "supervisor": "supervisor1"})
    [note] = notes_of(ctx, "caseworker1")
    assert note.kind == "task_assigned" and note.subject == "New task: Initial assessment"
    assert note.link.startswith("/tasks/") and note.read_at is None
    assert notes_of(ctx, "caseworker2") == []


def test_notifications_api_lists_mine_unread_first_and_marks_them_read(ctx, client, token_for):
    cw1, cw2 = user_id(ctx, "caseworker1"), user_id(ctx, "caseworker2")
    with ctx.uow() as uow:
        for subject in ("first", "second", "third"):
            notifications.notify(uow, [cw1], "general", subject, case_code="C-9")
        notifications.notify(uow, [cw2], "general", "not yours")
        uow.commit()
    headers = token_for("caseworker1")
    listed = client.get("/api/notifications", headers=headers).get_json()
    assert [n["subject"] for n in listed["notifications"]] == ["third", "second", "first"]
    assert (listed["total"], listed["unread"]) == (3, 3)
    first_id = listed["notifications"][2]["id"]

    marked = client.post(f"/api/notifications/{first_id}/read", headers=headers)
    assert marked.status_code == 200 and marked.get_json()["read"] is True
    listed = client.get("/api/notifications", headers=headers).get_json()
    assert [n["subject"] for n in listed["notifications"]] == ["third", "second", "first"]  # read one last
    assert listed["unread"] == 2
    unread = client.get("/api/notifications?unread=true", headers=headers).get_json()
    assert [n["subject"] for n in unread["notifications"]] == ["third", "second"]

    theirs = notes_of(ctx, "caseworker2")[0].id
    refused = client.post(f"/api/notifications/{theirs}/read", headers=headers)
    assert refused.status_code == 404 and refused.get_json()["error"] == "not_found"
    assert client.post("/api/notifications/read-all", headers=headers).get_json() == {"marked": 2}
    assert client.get("/api/notifications", headers=headers).get_json()["unread"] == 0


def test_notifications_api_needs_a_caller_and_valid_paging(client, token_for):
    assert client.get("/api/notifications").status_code == 401
    bad = client.get("/api/notifications?limit=0", headers=token_for("caseworker1"))
    assert bad.status_code == 422 and "limit" in bad.get_json()["errors"]


def test_each_notification_is_mailed_once_over_smtp(ctx, make_queue, queue_settings, smtp_server):
    ctx.settings = dataclasses.replace(ctx.settings, smtp_url=smtp_server.url, mail_from="casework@example.org")
    queue = make_queue(queue_settings)
    cw1 = user_id(ctx, "caseworker1")
    with ctx.uow() as uow:
        notifications.notify(uow, [cw1], "task_overdue", "Overdue: Initial assessment (case C-7)",
                             body="This task was due yesterday.", case_code="C-7", link="/tasks/abc")
        uow.commit()
    note = notes_of(ctx, "caseworker1")[0]
    assert queue.wait_for(lambda: notes_of(ctx, "caseworker1")[0].mail_state == "sent", WAIT_S)
    for _ in range(3):  # the same job delivered again (a redelivery after a crash, a sweep)
        queue.actors["send_notification_email"].send(note.id)
    queue.join(timeout_ms=WAIT_S * 1000)

    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert envelope.rcpt_tos == ["caseworker1@demo.invalid"]
    message = email.message_from_bytes(envelope.content)
    assert message["Subject"] == "Overdue: Initial assessment (case C-7)"
    assert message["Message-ID"].startswith(f"<notification-{note.id}.")
    text = message.get_payload(decode=True).decode()
    assert "Case: C-7" in text and "https://casework.example.org/tasks/abc" in text
    assert "Caseworker One" not in text  # no personal names in mail, codes only


def test_without_smtp_the_notification_stays_in_app(ctx, queue):
    with ctx.uow() as uow:
        notifications.notify(uow, [user_id(ctx, "caseworker1")], "general", "in-app only")
        uow.commit()
    assert queue.wait_for(lambda: notes_of(ctx, "caseworker1")[0].mail_state == "skipped", WAIT_S)


def test_a_malformed_notification_is_refused_before_it_reaches_the_database(ctx):
    cw1 = user_id(ctx, "caseworker1")
    with ctx.uow() as uow:
        with pytest.raises(ValueError, match="lower_snake_case"):
            notifications.notify(uow, [cw1], "Task Assigned", "x")
        with pytest.raises(ValueError, match="case_code"):
            notifications.notify(uow, [cw1], "general", "x", case_code="C" * 41)
        assert notifications.notify(uow, [cw1], "general", "s" * 400) == 1
        uow.commit()
    assert len(notes_of(ctx, "caseworker1")[0].subject) == 300
