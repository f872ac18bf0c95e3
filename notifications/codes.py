"""Delivering one-time codes.

Until the notification outbox lands (issue 7), a code is written to the application log in dev and
test (``MOTCUA_ENV`` dev/test), which is how developers and tests read it. In production there is no
channel yet, so the code is not sent and the caller is told so; no code is ever logged in production.
"""

from __future__ import annotations

import logging
from typing import Any

from api.settings import get_settings
from domain.errors import DomainError

log = logging.getLogger("motcua.codes")


class DeliveryUnavailable(DomainError):
    status = 503
    title = "Delivery unavailable"


async def deliver_code(app: Any, row: Any, code: str) -> None:
    if get_settings().env in ("dev", "test"):
        log.warning("one-time code for user %s via %s (%s): %s", row.user_id, row.channel, row.destination, code)
        return
    raise DeliveryUnavailable("no SMS or e-mail channel is configured on this server yet")
