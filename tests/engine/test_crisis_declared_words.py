"""The declaration's notice (R35) in each recipient's language: the in-app notification and its
e-mail copy, with the disruption's kind and sub-functions by their labels; English unchanged."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import clock
from engine.models import OutboxMessage, User
from engine.models.ops import Notification
from engine.service_ops import notifications
from tests.engine.crisis_support import T0, declare, user_id

ENGLISH_SUBJECT = ("Disruption declared: IT failure affecting 5.1 Client Intake & Assessment and "
                   "5.4 Monitoring & Follow-up")
ENGLISH_BODY = ("Essential services must resume by 3 Mar 2026, 09:00 UTC. Your crisis checks are first in your "
                "inbox: reach each client, confirm they are safe and record how their care is affected.")


def _notice(ctx, username: str) -> Notification:
    with ctx.session_factory() as session:
        return session.scalars(select(Notification).where(Notification.user_id == user_id(ctx, username),
                                                          Notification.kind == "crisis_declared")).one()


def _mail(ctx, notification: Notification):
    with ctx.session_factory() as session:
        assert session.scalar(select(OutboxMessage.id).where(OutboxMessage.actor == "send_notification_email",
                                                            OutboxMessage.args_json.contains(str(notification.id))))
    with ctx.uow() as uow:
        return notifications.claim_mail(uow, notification.id, "casework@example.org",
                                        "https://casework.example.org", dt.timedelta(minutes=5)).message


def test_an_arabic_recipient_reads_the_declaration_in_arabic_an_english_one_as_before(ctx):
    clock.freeze(T0)
    with ctx.uow() as uow:
        uow.session.scalars(select(User).where(User.username == "caseworker1")).one().locale = "ar"
        uow.commit()
    declare(ctx, kind="it_failure", functions=("5.1", "5.4"))

    english = _notice(ctx, "caseworker2")
    assert (english.subject, english.body) == (ENGLISH_SUBJECT, ENGLISH_BODY)
    mail = _mail(ctx, english)
    assert mail["Subject"] == ENGLISH_SUBJECT and ENGLISH_BODY in mail.get_content()

    arabic = _notice(ctx, "caseworker1")
    for text in (arabic.subject, arabic.body):
        assert not any(word in text for word in ("Disruption", "IT failure", "Client Intake", "Monitoring",
                                                 "Essential", "crisis checks", "UTC", "Mar")), text
    assert "5.1 " in arabic.subject and "5.4 " in arabic.subject and "بالتوقيت العالمي" in arabic.body
    mail = _mail(ctx, arabic)
    assert mail["Subject"] == arabic.subject and arabic.body in mail.get_content()
