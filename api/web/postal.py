"""The postal fee of an address for both skins: the operator's quote (``domain.postal.operator``, built
from the settings the composition root read), or the configured fee when the operator cannot answer."""

from __future__ import annotations

import asyncio
import logging

from domain.postal.operator import PostalError, operator_for
from domain.settings import PostalSettings

log = logging.getLogger(__name__)


async def postal_fee(settings: PostalSettings, address: str) -> int:
    """The fee in VND of sending a result to ``address`` (asked off the event loop, outside transactions)."""
    operator = operator_for(settings.url, timeout=settings.timeout_seconds, fee_vnd=settings.fee_vnd)
    try:
        return await asyncio.to_thread(operator.quote, address)
    except PostalError as exc:
        log.warning("postal quote failed, the configured fee is used: %s", exc)
        return settings.fee_vnd
