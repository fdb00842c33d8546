"""Notifications: the notify() service, the in-app API, and e-mail copies over SMTP."""
from __future__ import annotations

import dataclasses
import email

import pytest
from sqlalchemy import select

from engine.models import HumanTask, OutboxMessage, User
from engine.models.ops import Notification
from engine.process.deployment import deploy_files
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


# Two tasks for the same person at once: one announced on its own, one whose diagram says
# a summary announces it (as the crisis fan-out's summary announces every crisis check).
ANNOUNCED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="queue_announced_definitions" targetNamespace="http://cbf5.example.org/bpmn/tests">
  <bpmn:process id="queue_announced" name="Queue test: a task announced alone and one announced in a summary"
                isExecutable="true">
    <bpmn:laneSet id="queue_announced_lanes">
      <bpmn:lane id="lane_cw" name="caseworker">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>split</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>own</bpmn:flowNodeRef><bpmn:flowNodeRef>summed</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>own_done</bpmn:flowNodeRef><bpmn:flowNodeRef>summed_done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="own" name="Call the family">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="assign_to" value="caseworker" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="summed" name="Check the client">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="assign_to" value="caseworker" />
        <spiffworkflow:property name="announce" value="summary" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="own_done"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="summed_done"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="own" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="summed" />
    <bpmn:sequenceFlow id="f4" sourceRef="own" targetRef="own_done" />
    <bpmn:sequenceFlow id="f5" sourceRef="summed" targetRef="summed_done" />
  </bpmn:process>
</bpmn:definitions>
"""


def start_announced(ctx) -> dict[str, HumanTask]:
    """Deploy the diagram above and start it for caseworker1 (who has an e-mail address);
    its two ready tasks by element."""
    with ctx.uow() as uow:
        deploy_files(uow, {"queue_announced.bpmn": ANNOUNCED})
        uow.session.get(User, user_id(ctx, "caseworker1")).email = "caseworker1@example.org"
        uow.commit()
    instance_id = start(ctx, "queue_announced", {"caseworker": "caseworker1"})
    with ctx.session_factory() as s:
        return {t.bpmn_id: t for t in s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id))}


def mails_asked(ctx) -> set[int]:
    with ctx.session_factory() as s:
        return {int(m.args_json.strip("[]")) for m in s.scalars(
            select(OutboxMessage).where(OutboxMessage.actor == "send_notification_email"))}


def test_a_task_announced_in_a_summary_gets_no_notification_or_mail_of_its_own_while_an_ordinary_one_does(ctx):
    tasks = start_announced(ctx)
    cw1 = user_id(ctx, "caseworker1")
    assert {t.assignee_id for t in tasks.values()} == {cw1}  # both are theirs, in their inbox
    [note] = notes_of(ctx, "caseworker1")
    assert note.subject == "New task: Call the family" and note.link == f"/tasks/{tasks['own'].id}"
    assert note.mail_state == "pending" and mails_asked(ctx) == {note.id}  # one e-mail, of the ordinary task


def test_a_summary_task_given_to_a_stand_in_is_announced_to_them_the_summary_reached_someone_else(ctx):
    with ctx.uow() as uow:
        uow.session.get(User, user_id(ctx, "caseworker1")).available = False
        uow.commit()
    tasks = start_announced(ctx)
    assert {t.assignee_id for t in tasks.values()} == {user_id(ctx, "supervisor1")}
    assert sorted(n.subject for n in notes_of(ctx, "supervisor1")) == ["New task: Call the family",
                                                                      "New task: Check the client"]
    assert notes_of(ctx, "caseworker1") == []


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
