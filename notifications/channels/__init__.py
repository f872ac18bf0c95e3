"""Delivery channels. Each outward channel answers one :class:`Result` per try; the worker turns it
into the delivery's status (retry with back-off, or a final state)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

DELIVERED, RETRY = "delivered", "retry"
PERMANENT, TECHNICAL = "permanent-failure", "technical-failure"


@dataclass(frozen=True)
class Result:
    outcome: str  # delivered | retry | permanent-failure | technical-failure
    detail: str = ""
    http_status: int | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait (Retry-After)
    remove_subscription: bool = False  # the push service says the subscription is gone (404/410)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date → seconds from now (never negative), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value[:9]))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
