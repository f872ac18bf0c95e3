"""How the two skins learn who is calling.

* JSON API: ``Authorization: Bearer <access JWT>`` only (never cookies, so no CSRF surface there).
* Pages: the same tokens kept in HttpOnly, SameSite=Lax cookies (Secure outside dev, and then named with
  the ``__Host-`` prefix: Path=/, no Domain, so no sibling subdomain can set or shadow them). An expired
  access cookie is renewed from the refresh cookie by :class:`SessionCookieMiddleware`; every form
  carries a CSRF token (Litestar's CSRF middleware).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.middleware import AbstractMiddleware
from litestar.types import Message, Receive, Scope, Send

from api.web.state import auth_of
from auth.config import AuthSettings
from auth.tokens import REFRESH_IDLE, Principal, TokenPair, authenticate, rotate, touch_session
from domain.clock import utc
from domain.db import Database
from domain.errors import Unauthorized
from domain.settings import Settings

# Sent with sign-out: the browser drops what it cached and stored for this site (pages in the HTTP cache
# and the service worker's caches, drafts in storage), so the next person at this phone sees none of it.
CLEAR_SITE_DATA = '"cache", "storage"'
ACCESS_COOKIE = "motcua_at"
REFRESH_COOKIE = "motcua_rt"
CSRF_COOKIE = "motcua_csrf"
LANG_COOKIE = "lang"
HOST_PREFIX = "__Host-"
STEP_UP_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class CookieNames:
    """The names of every cookie the app sets. With Secure cookies (production, or an https PUBLIC_URL)
    each carries the ``__Host-`` prefix: the browser then accepts it only Secure, with Path=/ and no
    Domain, so a sibling subdomain cannot plant or shadow it. http://localhost (dev) cannot use the
    prefix, so dev keeps the plain names."""

    access: str
    refresh: str
    csrf: str
    lang: str
    secure: bool


def cookie_names(settings: Settings) -> CookieNames:
    secure = settings.secure_cookies
    prefix = HOST_PREFIX if secure else ""
    return CookieNames(access=prefix + ACCESS_COOKIE, refresh=prefix + REFRESH_COOKIE, csrf=prefix + CSRF_COOKIE,
                       lang=prefix + LANG_COOKIE, secure=secure)


def cookies_of(request: Request[Any, Any, Any]) -> CookieNames:
    """The cookie names of the app serving ``request`` (from the settings it was built with)."""
    return cookie_names(request.app.state.settings)


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The caller's address (behind trusted proxies, the one they reported: api/web/proxies.py)."""
    return connection.client.host if connection.client else ""


def auth_cookies(names: CookieNames, pair: TokenPair) -> list[Cookie]:
    return [
        Cookie(key=names.access, value=pair.access_token, httponly=True, secure=names.secure, samesite="lax",
               path="/", max_age=pair.expires_in),
        Cookie(key=names.refresh, value=pair.refresh_token, httponly=True, secure=names.secure, samesite="lax",
               path="/", max_age=int(REFRESH_IDLE.total_seconds())),
    ]


def cleared_cookies(names: CookieNames) -> list[Cookie]:
    return [Cookie(key=name, value="", httponly=True, secure=names.secure, samesite="lax", path="/", max_age=0)
            for name in (names.access, names.refresh)]


def set_session_cookies(request: Request[Any, Any, Any], response: Response[Any],
                        pair: TokenPair | None) -> Response[Any]:
    names = cookies_of(request)
    for cookie in auth_cookies(names, pair) if pair else cleared_cookies(names):
        response.set_cookie(cookie)
    return response


async def verified_principal(db: Database, settings: Settings, token: str, *, cfg: AuthSettings) -> Principal:
    """The caller behind an access token (``auth.tokens.authenticate``, with the staff lifetimes of these
    settings and the app's signing keys ``cfg``); a staff session's use is recorded (at most once a minute)
    so its idle time starts again."""
    principal = await db.read_rows(authenticate, token, settings.sessions, cfg=cfg)
    if principal.touch:
        await db.write(touch_session, principal.session_id)
    return principal


async def api_principal(request: Request[Any, Any, Any]) -> Principal:
    """Litestar dependency for the JSON API: a valid bearer token or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Vui lòng đăng nhập trước (send Authorization: Bearer <access token>).")
    return await verified_principal(request.app.state.db, request.app.state.settings, token.strip(),
                                    cfg=auth_of(request))


def page_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """Who is signed in on a page request (set by the cookie middleware), or None."""
    return request.scope.get("state", {}).get("principal")


class SignInRequired(Exception):
    """A page needs a signed-in user: the app answers with the sign-in page, coming back here after."""


def page_user(request: Request[Any, Any, Any]) -> Principal:
    """Who is signed in on a page request; raises ``SignInRequired`` (→ redirect to sign in) if nobody."""
    principal = page_principal(request)
    if principal is None:
        raise SignInRequired
    return principal


def has_recent_step_up(step_up_at: datetime | None, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return step_up_at is not None and now - utc(step_up_at) <= STEP_UP_WINDOW


class SessionCookieMiddleware(AbstractMiddleware):
    """Put the page caller's Principal in ``scope['state']``; renew tokens from the refresh cookie."""

    exclude = ["^/api/", "^/static/", "^/sw.js", "^/manifest", "^/schema", "^/healthz", "^/favicon"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request: Request[Any, Any, Any] = Request(scope)
        settings: Settings = scope["app"].state.settings
        names = cookie_names(settings)
        access, refresh = request.cookies.get(names.access), request.cookies.get(names.refresh)
        db = scope["app"].state.db
        cfg: AuthSettings = scope["app"].state.auth
        principal: Principal | None = None
        new_cookies: list[Cookie] = []
        if access:
            try:
                principal = await verified_principal(db, settings, access, cfg=cfg)
            except Unauthorized:
                principal = None
        if principal is None and refresh:
            result = await db.write(rotate, refresh, cfg=cfg, ip=client_ip(request), lifetimes=settings.sessions)
            if isinstance(result, TokenPair):
                principal = await db.read_rows(authenticate, result.access_token, cfg=cfg)
                new_cookies = auth_cookies(names, result)
            else:
                new_cookies = cleared_cookies(names)
        elif principal is None and access:
            new_cookies = cleared_cookies(names)
        scope.setdefault("state", {})["principal"] = principal

        if not new_cookies:
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"set-cookie", c.to_header(header="").encode()) for c in new_cookies]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookies)
