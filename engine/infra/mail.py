"""Sending one e-mail over SMTP, configured by a URL.

``SMTP_URL`` forms::

    smtp://host:25                    plain SMTP (a local relay)
    smtp+starttls://user:pass@host:587  upgrade with STARTTLS, then log in
    smtps://user:pass@host:465        SMTP over TLS

Every message gets a ``Message-ID`` derived from what it is about, so a copy sent twice
after a crash (between the send and the database recording it) is recognisable as the
same message by the receiving system.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from engine.errors import Invalid

SCHEMES = ("smtp", "smtp+starttls", "smtps")
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailError(Exception):
    """The SMTP server could not be reached or refused the message (worth a retry)."""


@dataclass(frozen=True)
class SmtpConfig:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise Invalid(f"SMTP_URL must look like smtp://host:port (schemes: {', '.join(SCHEMES)})",
                          errors={"SMTP_URL": ["unsupported scheme or missing host"]})
        return cls(scheme=parts.scheme, host=parts.hostname, port=parts.port or DEFAULT_PORTS[parts.scheme],
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None)


def build_message(mail_from: str, to: str, subject: str, body: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    message.set_content(body)
    return message


class SmtpSender:
    """Sends ``EmailMessage``s through one SMTP server; one connection per message."""

    def __init__(self, config: SmtpConfig, timeout_s: float):
        self.config = config
        self.timeout_s = timeout_s

    def __call__(self, message: EmailMessage) -> None:
        cfg = self.config
        try:
            client: smtplib.SMTP  # or its subclass SMTP_SSL
            if cfg.scheme == "smtps":
                client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.timeout_s,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout_s)
            with client:
                if cfg.scheme == "smtp+starttls":
                    client.starttls(context=ssl.create_default_context())
                if cfg.username:
                    client.login(cfg.username, cfg.password or "")
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as err:
            raise MailError(f"SMTP {cfg.host}:{cfg.port}: {err}") from err
