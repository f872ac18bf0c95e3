"""Delivering one-time codes through the notification outbox.

An e-mail code goes out by the e-mail channel (when an SMTP server is configured), a phone code by the
SMS provider; neither appears in the inbox, and the code is blanked in the database once delivered.
In dev and test (``MOTCUA_ENV`` dev/test) the code is also written to the application log — which is
how developers and tests read it; no code is ever logged in production. In production, a code for a
channel that cannot reach anyone (no SMTP server; the SMS provider only logs) is refused with 503.
"""

from __future__ import annotations

import logging
from typing import Any

from domain.errors import DomainError
from domain.outbox.enqueue import enqueue_code
from notifications.channels.sms import can_send

log = logging.getLogger("motcua.codes")


class DeliveryUnavailable(DomainError):
    status = 503
    title = "Delivery unavailable"


async def deliver_code(app: Any, row: Any, code: str, *, channel: str | None = None, event: str | None = None,
                       values: dict[str, Any] | None = None) -> None:
    """Send ``row``'s code by its channel (phone | email), or by ``channel`` when the row's says what the
    code is for (an invitation's); ``event`` and ``values``: another template than the verification's."""
    settings = app.state.settings.notifications  # the settings the app was built with
    dev = settings.env in ("dev", "test")
    via = channel or row.channel
    reachable = settings.email_enabled if via == "email" else can_send(settings)
    if not reachable and not dev:
        raise DeliveryUnavailable("no SMS or e-mail channel is configured on this server yet")
    await app.state.db.write(enqueue_code, row.user_id, via, row.destination, code, event=event, values=values)
    if dev:  # last: tests read the newest warning of this logger
        log.warning("one-time code for user %s via %s (%s): %s", row.user_id, via, row.destination, code)
