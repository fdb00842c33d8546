"""Sending a message to a client: small interfaces, so a provider can be plugged in.

No SMS provider is configured here, so the service's sender is :class:`NoSmsProvider`: an
SMS it is asked to send fails with a reason, the contact is recorded as not sent, and the
client needs a call or a visit instead. A provider's sender implements :class:`SmsSender`
(the tests use a recording double).
"""
from __future__ import annotations

from typing import Protocol


class DeliveryFailed(Exception):
    """A message to a client could not be sent (the reason is recorded on the contact)."""


class SmsError(DeliveryFailed):
    """The SMS could not be sent."""


class EmailSender(Protocol):
    def __call__(self, to: str, subject: str, text: str, message_id: str) -> None:
        """Send one e-mail (the task queue's adapter sends it over SMTP). Raises
        ``DeliveryFailed``."""


class SmsSender(Protocol):
    def send(self, to: str, text: str, reference: str) -> None:
        """Send ``text`` to the phone number ``to``; ``reference`` identifies the contact
        (a provider may use it to drop a repeated send). Raises ``SmsError``."""


class NoSmsProvider:
    """The sender while no SMS provider is configured."""

    def send(self, to: str, text: str, reference: str) -> None:
        raise SmsError("no SMS provider is configured: call or visit the client instead")
