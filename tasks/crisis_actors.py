"""Crisis fan-out actors (R37, R38): thin, idempotent, ids only.

- ``crisis_plan_checks(crisis_id)``: plan every affected case's crisis check once, find
  and reassign missed follow-ups, enqueue one ``crisis_start_checks`` per batch.
- ``crisis_start_checks(crisis_id, check_ids)``: start the check instances of one batch;
  rows already started are skipped, so a repeated message or a retried crash creates no
  second check.
- ``crisis_send_client_messages(crisis_id, contact_ids)``: send one batch of messages to
  clients (e-mail over SMTP, SMS through the SMS sender); each is claimed before it is
  sent, so a repeated message sends nothing twice.
"""
from __future__ import annotations

import logging

import dramatiq
from dramatiq import Retry

from engine.crisis import client_contact
from engine.crisis import fanout as crisis_fanout
from engine.crisis.sms import DeliveryFailed, EmailSender, NoSmsProvider
from engine.errors import Conflict
from engine.infra.bootstrap import EngineContext
from engine.infra.mail import MailError, SmtpConfig, SmtpSender, build_message
from tasks.actors import QUEUE_NAME
from tasks.outbox import finishing_job
from tasks.settings import QueueSettings

log = logging.getLogger(__name__)


def client_mailer(smtp_url: str | None, mail_from: str, timeout_s: float) -> EmailSender | None:
    """The crisis messages' e-mail sender over SMTP (None when no SMTP_URL is set)."""
    if not smtp_url:
        return None
    sender = SmtpSender(SmtpConfig.from_url(smtp_url), timeout_s)

    def send(to: str, subject: str, text: str, message_id: str) -> None:
        try:
            sender(build_message(mail_from, to, subject, text, message_id))
        except MailError as err:
            raise DeliveryFailed(str(err)) from err
    return send


def declare(broker: dramatiq.Broker, ctx: EngineContext, actors: dict,
            queue_settings: QueueSettings) -> dict[str, dramatiq.Actor]:
    """Declare this module's actors on ``broker``; returns them by name. Batches hold
    ``CRISIS_CHECK_BATCH`` checks, so that every worker takes a share of a fan-out."""

    def crisis_plan_checks(crisis_id: int) -> None:
        with finishing_job(ctx) as uow:
            batches = crisis_fanout.plan_checks(uow, crisis_id, queue_settings.crisis_check_batch)
        log.info("crisis %s: %d check batches enqueued", crisis_id, batches)

    def crisis_start_checks(crisis_id: int, check_ids: list[int]) -> None:
        with finishing_job(ctx) as uow:
            try:
                crisis_fanout.start_check_batch(uow, ctx.runtime, crisis_id, check_ids)
            except Conflict as err:  # a concurrent writer won a row: run the batch again on fresh state
                raise Retry(f"crisis {crisis_id} check batch: {err.message}") from err

    def crisis_send_client_messages(crisis_id: int, contact_ids: list[int]) -> None:
        settings = ctx.settings
        templates = settings.workflows_dir / "templates"
        with ctx.uow() as uow:
            messages = client_contact.claim_messages(uow, crisis_id, contact_ids, templates, settings.mail_from)
        email = client_mailer(settings.smtp_url, settings.mail_from, queue_settings.smtp_timeout_seconds)
        outcomes = client_contact.deliver(messages, email, NoSmsProvider())
        with finishing_job(ctx) as uow:
            client_contact.record_outcomes(uow, outcomes)

    return {fn.__name__: dramatiq.actor(fn, broker=broker, actor_name=fn.__name__, queue_name=QUEUE_NAME)
            for fn in (crisis_plan_checks, crisis_start_checks, crisis_send_client_messages)}
