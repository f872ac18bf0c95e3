"""Notification pages: my inbox, my preferences (with this device's Web Push switch), and the admins'
failed deliveries and template previews. Plain forms that work without JavaScript; only turning on
push on a device needs ``/static/push.js`` (the browser's permission prompt needs a tap first).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.orm import Session

from api.web import guards
from api.web.push import subscribe
from api.web.session import page_principal, page_user
from api.web.state import settings_of
from auth import accounts
from auth.tokens import Principal
from domain.errors import DomainError, InvalidInput
from domain.outbox import preferences, templates
from notifications import worker as outbox_worker
from notifications.channels import inbox, webpush
from pwa.render import render, request_language

CHANNEL_NAMES = {"webpush": "Thông báo trên thiết bị", "email": "Email", "sms": "Tin nhắn SMS"}


def N_(message: str) -> str:
    return message


async def unread_for_header(request: Request[Any, Any, Any]) -> None:
    """``before_request``: the unread count for the header, rendered by the server (no extra request)."""
    if request.method != "GET" or request.headers.get("hx-request") == "true":
        return
    path = request.url.path
    if path.startswith(("/api/", "/static/", "/sw.js", "/manifest", "/schema", "/healthz", "/favicon")):
        return
    me = page_principal(request)
    if me is None:
        return
    count = await request.app.state.db.read(inbox.unread_count, me.user_id)
    request.scope.setdefault("state", {})["unread_notifications"] = count


# --- inbox -------------------------------------------------------------------------------------------
@get("/thong-bao", include_in_schema=False)
async def inbox_page(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    before_raw = request.query_params.get("truoc") or ""
    before = int(before_raw) if before_raw.isdigit() and len(before_raw) < 18 else None
    items, unread = await request.app.state.db.read(inbox.mine, me.user_id, request_language(request), limit=30,
                                                    before=before)
    return render(request, "notifications/inbox.html", {
        "items": items, "unread": unread, "next_before": items[-1].id if len(items) == 30 else None,
        "ok": request.query_params.get("ok")})


@get("/thong-bao/{notification_id:int}/mo", include_in_schema=False)
async def open_notification(request: Request[Any, Any, Any], notification_id: int) -> Response[Any]:
    """What a tap on a push notification opens: mark it read, then go to its page (the dossier)."""
    me = page_user(request)

    def run(session: Session) -> str:
        n = inbox.mark_read(session, me.user_id, notification_id)
        return inbox.item(n, "vi").url

    url = await request.app.state.db.write(run)
    return Redirect(url if url.startswith("/") and not url.startswith("//") else "/thong-bao", status_code=303)


@post("/thong-bao/{notification_id:int}/da-doc", include_in_schema=False)
async def mark_read(request: Request[Any, Any, Any], notification_id: int) -> Response[Any]:
    me = page_user(request)
    await request.app.state.db.write(inbox.mark_read, me.user_id, notification_id)
    return Redirect("/thong-bao", status_code=303)


@post("/thong-bao/da-doc-het", include_in_schema=False)
async def mark_all_read(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    await request.app.state.db.write(inbox.mark_all_read, me.user_id)
    return Redirect("/thong-bao?ok=read", status_code=303)


# --- preferences ---------------------------------------------------------------------------------------
async def _settings_page(request: Request[Any, Any, Any], user_id: int, *, error: DomainError | None = None,
                         saved: bool = False, status: int = 200) -> Response[Any]:
    def load(session: Session) -> dict[str, Any]:
        rows, lang = preferences.table(session, user_id, request_language(request))
        return {"rows": rows, "notify_lang": lang, "devices": len(webpush.list_subscriptions(session, user_id))}

    ctx = await request.app.state.db.read(load)
    return render(request, "notifications/settings.html", {
        **ctx, "channels": preferences.CONFIGURABLE, "channel_names": CHANNEL_NAMES, "error": error, "saved": saved,
        "push_enabled": settings_of(request).notifications.push_enabled}, status=status)


@get("/thong-bao/cai-dat", include_in_schema=False)
async def settings_page(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    return await _settings_page(request, me.user_id, saved=request.query_params.get("ok") == "1")


@post("/thong-bao/cai-dat", include_in_schema=False)
async def settings_save(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    form = await request.form()
    checked = {str(k) for k, v in form.items() if str(v) == "1"}
    lang = str(form.get("lang") or "vi")

    def save(session: Session) -> None:
        rows, _lang = preferences.table(session, me.user_id, "vi")
        choices = {(r.event, c): f"{r.event}:{c}" in checked for r in rows for c in r.channels}
        preferences.update(session, me.user_id, choices, lang)

    try:
        await request.app.state.db.write(save)
    except DomainError as exc:
        return await _settings_page(request, me.user_id, error=exc, status=exc.status)
    return Redirect("/thong-bao/cai-dat?ok=1", status_code=303)


async def _device_json(request: Request[Any, Any, Any]) -> tuple[Principal, Any] | Response[Any]:
    """push.js's caller and the JSON it sent; a 401 answer for a browser that is not signed in."""
    me = page_principal(request)
    if me is None:
        return Response({"detail": "sign in first"}, status_code=401)
    return me, await request.json()


@post("/thong-bao/thiet-bi", include_in_schema=False)
async def device_subscribe(request: Request[Any, Any, Any]) -> Response[Any]:
    """push.js posts the browser's subscription here (JSON, with the page's CSRF token)."""
    signed = await _device_json(request)
    if isinstance(signed, Response):
        return signed
    me, body = signed
    if not isinstance(body, dict) or not isinstance(body.get("keys"), dict):
        raise InvalidInput("Hãy gửi đăng ký của trình duyệt: {endpoint, keys: {p256dh, auth}}.", field="keys")
    out = await subscribe(request, me.user_id, body.get("endpoint"), body["keys"].get("p256dh"),
                          body["keys"].get("auth"), str(body.get("lang") or request_language(request)))
    return Response({"id": out.id}, status_code=201)


@post("/thong-bao/thiet-bi/huy", include_in_schema=False)
async def device_unsubscribe(request: Request[Any, Any, Any]) -> Response[Any]:
    signed = await _device_json(request)
    if isinstance(signed, Response):
        return signed
    me, body = signed
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidInput("Hãy gửi địa chỉ (endpoint) của đăng ký.", field="endpoint")
    await request.app.state.db.write(webpush.delete_subscription, me.user_id, endpoint=endpoint)
    return Response(b"", status_code=204)


# --- admin ---------------------------------------------------------------------------------------------
@get("/quan-tri/thong-bao", include_in_schema=False)
async def admin_page(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)

    def load(session: Session) -> dict[str, Any]:
        accounts.require_admin(session, me.user_id)
        rows, total = outbox_worker.failed(session, limit=100)
        return {"failed": rows, "total": total}

    ctx = await request.app.state.db.read(load)
    return render(request, "notifications/admin.html", {
        **ctx, "templates": templates.events(), "ok": request.query_params.get("ok")})


@post("/quan-tri/thong-bao/{delivery_id:int}/gui-lai", include_in_schema=False)
async def admin_retry(request: Request[Any, Any, Any], delivery_id: int) -> Response[Any]:
    me = page_user(request)

    def run(session: Session) -> None:
        accounts.require_admin(session, me.user_id)
        outbox_worker.retry_delivery(session, delivery_id)

    await request.app.state.db.write(run)
    return Redirect("/quan-tri/thong-bao?ok=retry", status_code=303)


@get("/quan-tri/thong-bao/mau/{event:str}", include_in_schema=False)
async def admin_preview(request: Request[Any, Any, Any], event: str) -> Response[Any]:
    me = page_user(request)
    await guards.require_admin(request, me.user_id)
    tpl, values = templates.preview_request(event, request.query_params)
    base = settings_of(request).notifications.public_url
    previews = [templates.preview(event, lang, values, public_url=base) for lang in templates.LANGUAGES]
    return render(request, "notifications/preview.html", {
        "tpl": tpl, "previews": previews, "values": {**tpl.sample, **values}})


ROUTES: list[Any] = [
    inbox_page,
    open_notification,
    mark_read,
    mark_all_read,
    settings_page,
    settings_save,
    device_subscribe,
    device_unsubscribe,
    admin_page,
    admin_retry,
    admin_preview,
]
