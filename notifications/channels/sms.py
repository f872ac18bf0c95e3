"""Text messages behind one small interface; the only provider here writes them to the log.

A real provider (an SMS gateway's HTTP API) implements :class:`SmsProvider` and is chosen with
``MOTCUA_SMS_PROVIDER``. The logging provider is for dev and test; in production it refuses to
pretend a message went out (a technical failure, visible to admins), and never logs a message's text.
"""

from __future__ import annotations

import logging
from typing import Protocol

from domain.settings import NotifySettings
from notifications.channels import DELIVERED, TECHNICAL, Result

log = logging.getLogger("motcua.sms")


class SmsProvider(Protocol):
    name: str

    async def send(self, to: str, text: str, message_id: str) -> Result:
        """Send one message; return the outcome (never raise for an answer of the gateway)."""
        ...


class LoggingSmsProvider:
    name = "log"

    def __init__(self, env: str) -> None:
        self.env = env

    async def send(self, to: str, text: str, message_id: str) -> Result:
        if self.env == "production":
            log.error("SMS to %s not sent: no SMS gateway is configured (MOTCUA_SMS_PROVIDER=log)", to)
            return Result(TECHNICAL, "no SMS gateway is configured (MOTCUA_SMS_PROVIDER=log)")
        log.info("SMS to %s [%s]: %s", to, message_id, text)
        return Result(DELIVERED, "written to the log (MOTCUA_SMS_PROVIDER=log)")


def provider(settings: NotifySettings) -> SmsProvider:
    return LoggingSmsProvider(settings.env)


def can_send(settings: NotifySettings) -> bool:
    """Whether a text message would really reach a phone (or, in dev/test, the log)."""
    return settings.sms_provider != "log" or settings.env != "production"
