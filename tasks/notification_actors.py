"""Notification actors: e-mail copies of notifications, and the deadline notices job.

``send_notification_email(id)`` sends one notification's e-mail at most once in normal
operation: it claims the row (pending → sending, committed) before talking to the SMTP
server and records the outcome after. Only a crash between the send and that record
can repeat a mail, and the repeat carries the same Message-ID.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import dramatiq

from engine.infra.bootstrap import EngineContext
from engine.infra.mail import MailError, SmtpConfig, SmtpSender
from engine.service_ops import deadlines, notifications
from tasks.actors import QUEUE_NAME
from tasks.outbox import finishing_job
from tasks.settings import QueueSettings

log = logging.getLogger(__name__)


def declare(broker: dramatiq.Broker, ctx: EngineContext, actors: dict, queue_settings: QueueSettings,
            periodic: dict | None = None) -> tuple[dict[str, dramatiq.Actor], dict[str, Callable]]:
    """Declare the notification actors; returns them and their give-up hooks (called by
    the incident recorder when a job fails its last retry)."""
    periodic = periodic or {}
    settings = ctx.settings
    chain_delay_ms = int(queue_settings.embedded_sweep_seconds * 1000)

    def send_notification_email(notification_id: int) -> None:
        if not settings.smtp_url:
            with finishing_job(ctx) as uow:
                notifications.mark_mail_skipped(uow, notification_id)
            return
        sender = SmtpSender(SmtpConfig.from_url(settings.smtp_url), queue_settings.smtp_timeout_seconds)
        with ctx.uow() as uow:
            mail = notifications.claim_mail(uow, notification_id, settings.mail_from, queue_settings.public_url,
                                            queue_settings.mail_stale_claim)
        if mail is None:
            return
        try:
            sender(mail.message)
        except MailError as err:
            with ctx.uow() as uow:
                notifications.mark_mail_retrying(uow, notification_id, str(err))
            raise
        with finishing_job(ctx) as uow:
            notifications.mark_mail_sent(uow, notification_id)

    def mail_gave_up(uow, notification_id: int, error: str) -> None:
        notifications.mark_mail_failed(uow, notification_id, error)

    def check_deadlines(chained: bool = False) -> None:
        """Due-soon and overdue notices for human tasks, and re-sending e-mails whose
        job was lost."""
        if chained:
            actors["check_deadlines"].send_with_options(args=(True,), delay=chain_delay_ms)
        noticed = 0
        while True:
            with ctx.uow() as uow:
                run = deadlines.notify_deadlines(uow, queue_settings.due_soon_window, queue_settings.sweep_batch,
                                                 queue_settings.due_soon_share)
            noticed += run.tasks
            if max(run.due_soon, run.overdue) < queue_settings.sweep_batch:
                break
        with ctx.session_factory() as session:
            lost = notifications.mails_to_resend(session, queue_settings.mail_lost_after,
                                                 queue_settings.mail_stale_claim, queue_settings.sweep_batch)
        for notification_id in lost:
            actors["send_notification_email"].send(notification_id)
        if noticed or lost:
            log.info("deadlines: %d task notice(s), %d e-mail(s) re-sent", noticed, len(lost))

    declared = {}
    for fn, options in ((send_notification_email, {}), (check_deadlines, {"max_retries": 0})):
        if fn.__name__ in periodic:
            options = {**options, "periodic": periodic[fn.__name__]}
        declared[fn.__name__] = dramatiq.actor(fn, broker=broker, actor_name=fn.__name__,
                                               queue_name=QUEUE_NAME, **options)
    return declared, {"send_notification_email": mail_gave_up}
