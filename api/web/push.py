"""Keeping a browser's push subscription, the same for the API and the pages."""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.web.state import settings_of
from domain.outbox.models import PushSubscription
from notifications.channels import webpush


async def subscribe(request: Request[Any, Any, Any], user_id: int, endpoint: Any, p256dh: Any, auth: Any,
                    lang: str) -> PushSubscription:
    """Shared by the API and the pages: check (keys, endpoint, addresses) then store."""
    sub = await webpush.check_subscription(endpoint, p256dh, auth, settings_of(request).notifications)
    row: PushSubscription = await request.app.state.db.write(webpush.save_subscription, user_id, sub, lang=lang,
                                           user_agent=request.headers.get("user-agent", ""))
    return row
