"""Crisis messages to clients leave through the task queue (issue 17): e-mail over SMTP to a
client who has an address and consented, once even when the job is delivered again; an SMS
with no provider configured is recorded as not sent, so the case needs a call or visit."""
from __future__ import annotations

import dataclasses
import email

from sqlalchemy import select

from engine import clock
from engine.models import Case, CaseClientLink, Client, User
from engine.models.crisis import Crisis, CrisisClientContact
from engine.settings import PROJECT_ROOT
from tests.tasks.conftest import WAIT_S


def _uid(ctx, username: str) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(User.id).where(User.username == username))


def _contact(ctx, crisis_id: int, code: str, channel: str, email_address: str | None, phone: str | None) -> int:
    with ctx.uow() as uow:
        case = Case(code=code, status="O", stage="implementation", risk_level="high")
        client = Client(name="Pseudonymous Client", email=email_address, phone=phone, consent_to_contact=True)
        uow.session.add_all([case, client])
        uow.session.flush()
        uow.session.add(CaseClientLink(case_id=case.id, client_id=client.id))
        contact = CrisisClientContact(crisis_id=crisis_id, case_id=case.id, case_code=code, channel=channel,
                                      template="it_outage", state="queued", attempted_at=clock.now(), detail="")
        uow.session.add(contact)
        uow.commit()
        return contact.id


def _states(ctx) -> dict[str, tuple[str, str]]:
    with ctx.session_factory() as session:
        return {c.case_code: (c.state, c.detail) for c in session.scalars(select(CrisisClientContact))}


def test_a_client_message_is_mailed_once_and_an_sms_without_a_provider_is_recorded_as_not_sent(
        ctx, make_queue, queue_settings, smtp_server):
    ctx.settings = dataclasses.replace(ctx.settings, smtp_url=smtp_server.url, mail_from="crisis@example.org",
                                       workflows_dir=PROJECT_ROOT / "workflows")
    queue = make_queue(queue_settings)
    with ctx.uow() as uow:
        crisis = Crisis(kind="it_failure", description="Systems down", affected_functions="5.4",
                        declared_by=_uid(ctx, "crisislead1"), active_slot=1, status="resumption")
        uow.session.add(crisis)
        uow.commit()
        crisis_id = crisis.id
    mailed = _contact(ctx, crisis_id, "C-MAIL", "email", "client@example.org", None)
    texted = _contact(ctx, crisis_id, "C-SMS", "sms", None, "+256700000001")

    for _ in range(3):  # a redelivered job sends nothing twice
        queue.actors["crisis_send_client_messages"].send(crisis_id, [mailed, texted])
    queue.join(timeout_ms=WAIT_S * 1000)
    assert queue.wait_for(lambda: _states(ctx)["C-SMS"][0] == "failed", WAIT_S)

    assert len(smtp_server.messages) == 1 and smtp_server.messages[0].rcpt_tos == ["client@example.org"]
    message = email.message_from_bytes(smtp_server.messages[0].content)
    assert "our systems are down" in message["Subject"]
    text = message.get_payload(decode=True).decode()
    assert "Pseudonymous" not in text and "C-MAIL" not in text  # no name, no case code to the client
    states = _states(ctx)
    assert states["C-MAIL"] == ("sent", "")
    assert states["C-SMS"][0] == "failed" and "no SMS provider" in states["C-SMS"][1]
