"""JSON API of notifications: my inbox, my preferences, my devices' push subscriptions, and the admins'
failed-delivery list and template previews."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.orm import Session

from api.web import guards
from api.web.providers import API_USER
from api.web.push import subscribe
from auth import accounts
from auth.tokens import Principal
from domain.clock import utc
from domain.db import Database
from domain.errors import InvalidInput
from domain.outbox import preferences, templates
from domain.settings import Settings
from notifications import worker as outbox_worker
from notifications.channels import inbox, webpush


class InboxOut(msgspec.Struct):
    items: list[inbox.NotificationOut]
    unread: int
    next_before: int | None


class UnreadOut(msgspec.Struct):
    unread: int


class KeysIn(msgspec.Struct):
    p256dh: str
    auth: str


class SubscriptionIn(msgspec.Struct):
    """What the browser's ``PushSubscription.toJSON()`` gives (``expirationTime`` is ignored)."""

    endpoint: str
    keys: KeysIn
    expirationTime: int | float | None = None  # the browser's name
    lang: str = "vi"


class SubscriptionOut(msgspec.Struct):
    id: int
    endpoint: str
    lang: str
    created_at: datetime
    last_success_at: datetime | None


class VapidKeyOut(msgspec.Struct):
    public_key: str


class PreferenceOut(msgspec.Struct):
    event: str
    label: str
    channels: dict[str, bool]


class PreferencesOut(msgspec.Struct):
    lang: str
    inbox: bool
    events: list[PreferenceOut]


class ChoiceIn(msgspec.Struct):
    event: str
    channel: str
    enabled: bool


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    lang: str | None = None
    choices: list[ChoiceIn] = msgspec.field(default_factory=list)


class FailedListOut(msgspec.Struct):
    items: list[outbox_worker.FailedOut]
    total: int


class TemplateOut(msgspec.Struct):
    event: str
    audience: str
    urgency: str
    ttl: int
    channels: list[str]
    placeholders: list[str]
    label: str


def _lang(request: Request[Any, Any, Any]) -> str:
    lang = request.query_params.get("lang") or ""
    if lang:
        if lang not in templates.LANGUAGES:
            raise InvalidInput("Ngôn ngữ (lang) phải là vi hoặc en.", field="lang")
        return lang
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "vi"


def _int(request: Request[Any, Any, Any], name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} phải là số nguyên từ {low} đến {high}.", field=name)
    return int(raw)


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]
    dependencies = {"me": API_USER}

    @get("")
    async def mine(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> InboxOut:
        """My notifications, newest first, and how many are unread. Next page: `?before=<next_before>`."""
        limit = _int(request, "limit", 20, 1, inbox.MAX_PAGE) or 20
        before = _int(request, "before", None, 1, 2**62)
        items, unread = await db.read(inbox.mine, me.user_id, _lang(request), limit=limit,
                                                        before=before)
        return InboxOut(items=items, unread=unread,
                        next_before=items[-1].id if len(items) == limit else None)

    @post("/{notification_id:int}/read", status_code=HTTP_200_OK)
    async def read(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, notification_id: int
    ) -> UnreadOut:
        """Mark one of my notifications read; answers my new unread count."""
        def run(session: Session) -> int:
            inbox.mark_read(session, me.user_id, notification_id)
            session.flush()
            return inbox.unread_count(session, me.user_id)

        return UnreadOut(unread=await db.write(run))

    @post("/read-all", status_code=HTTP_200_OK)
    async def read_all(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> UnreadOut:
        await db.write(inbox.mark_all_read, me.user_id)
        return UnreadOut(unread=0)

    @get("/preferences")
    async def get_preferences(self, request: Request[Any, Any, Any], me: Principal) -> PreferencesOut:
        """Which events reach me on which channel (the inbox always gets everything), and my language."""
        return await _preferences_out(request, me)

    @put("/preferences")
    async def set_preferences(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                              data: PreferencesIn) -> PreferencesOut:
        choices = {(c.event, c.channel): c.enabled for c in data.choices}
        await db.write(preferences.update, me.user_id, choices, data.lang)
        return await _preferences_out(request, me)


async def _preferences_out(request: Request[Any, Any, Any], me: Principal) -> PreferencesOut:
    rows, lang = await request.app.state.db.read(preferences.table, me.user_id, _lang(request))
    return PreferencesOut(lang=lang, inbox=True, events=[PreferenceOut(event=r.event, label=r.label,
                                                                      channels=r.channels) for r in rows])


class PushController(Controller):
    path = "/api/v1/push"
    tags = ["notifications"]

    @get("/vapid-public-key")
    async def vapid_public_key(self, settings: Settings) -> VapidKeyOut:
        """The server's VAPID public key: the `applicationServerKey` browsers subscribe with."""
        notify = settings.notifications
        if not notify.push_enabled:
            raise webpush.PushUnavailable("Web Push is not configured on this server (no VAPID key)")
        return VapidKeyOut(public_key=webpush.public_key_of(notify.vapid_private_key))

    @post("/subscriptions", status_code=HTTP_201_CREATED, dependencies={"me": API_USER})
    async def subscribe(self, request: Request[Any, Any, Any], me: Principal, data: SubscriptionIn) -> SubscriptionOut:
        """Keep this device's push subscription (the browser's `{endpoint, keys: {p256dh, auth}}`)."""
        return _sub_out(await subscribe(request, me.user_id, data.endpoint, data.keys.p256dh, data.keys.auth,
                                        data.lang))

    @get("/subscriptions", dependencies={"me": API_USER})
    async def subscriptions(
        self, request: Request[Any, Any, Any], db: Database, me: Principal
    ) -> list[SubscriptionOut]:
        rows = await db.read(webpush.list_subscriptions, me.user_id)
        return [_sub_out(s) for s in rows]

    @delete("/subscriptions/{sub_id:int}", status_code=HTTP_204_NO_CONTENT, dependencies={"me": API_USER})
    async def unsubscribe(self, request: Request[Any, Any, Any], db: Database, me: Principal, sub_id: int) -> None:
        """Forget one of my devices' subscriptions."""
        await db.write(webpush.delete_subscription, me.user_id, sub_id=sub_id)

    @delete("/subscriptions", status_code=HTTP_204_NO_CONTENT, dependencies={"me": API_USER})
    async def unsubscribe_endpoint(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, endpoint: str
    ) -> None:
        """Forget the subscription with this endpoint (`?endpoint=`), as a browser knows it."""
        await db.write(webpush.delete_subscription, me.user_id, endpoint=endpoint)


def _sub_out(s: Any) -> SubscriptionOut:
    return SubscriptionOut(id=s.id, endpoint=s.endpoint, lang=s.lang, created_at=utc(s.created_at),
                           last_success_at=utc(s.last_success_at) if s.last_success_at else None)


class NotificationAdminController(Controller):
    path = "/api/v1/admin/notifications"
    tags = ["notifications", "admin"]
    dependencies = {"me": API_USER}

    @get("/failed")
    async def failed(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> FailedListOut:
        """Deliveries that failed for good (after the retry cap, or refused), newest first."""
        limit = _int(request, "limit", 50, 1, 500) or 50
        offset = _int(request, "offset", 0, 0, 1_000_000) or 0

        def run(session: Session) -> tuple[list[outbox_worker.FailedOut], int]:
            accounts.require_admin(session, me.user_id)
            return outbox_worker.failed(session, limit=limit, offset=offset)

        rows, total = await db.read(run)
        return FailedListOut(items=rows, total=total)

    @post("/deliveries/{delivery_id:int}/retry", status_code=HTTP_200_OK)
    async def retry(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, delivery_id: int
    ) -> dict[str, Any]:
        """Send a failed delivery again (a fresh round of attempts)."""
        def run(session: Session) -> str:
            accounts.require_admin(session, me.user_id)
            return outbox_worker.retry_delivery(session, delivery_id).status

        return {"delivery_id": delivery_id, "status": await db.write(run)}

    @get("/templates")
    async def templates_list(self, request: Request[Any, Any, Any], me: Principal) -> list[TemplateOut]:
        await guards.require_admin(request, me.user_id)
        lang = _lang(request)
        return [TemplateOut(event=t.event, audience=t.audience, urgency=t.urgency, ttl=t.ttl, channels=list(t.channels),
                            placeholders=list(t.placeholders), label=t.label(lang)) for t in templates.events()]

    @get("/templates/{event:str}/preview")
    async def preview(self, request: Request[Any, Any, Any], me: Principal, event: str,
                      settings: Settings) -> templates.PreviewOut:
        """A template filled with its sample values; any `?name=value` of its placeholders overrides them."""
        await guards.require_admin(request, me.user_id)
        _, values = templates.preview_request(event, request.query_params)
        return templates.preview(event, _lang(request), values, public_url=settings.notifications.public_url)


ROUTES: list[Any] = [NotificationController, PushController, NotificationAdminController]
