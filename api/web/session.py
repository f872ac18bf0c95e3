"""How the two skins learn who is calling.

* JSON API: ``Authorization: Bearer <access JWT>`` only (never cookies, so no CSRF surface there).
* Pages: the same tokens kept in HttpOnly, SameSite=Lax cookies (Secure outside dev). An expired
  access cookie is renewed from the refresh cookie by :class:`SessionCookieMiddleware`; every form
  carries a CSRF token (Litestar's CSRF middleware).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.middleware import AbstractMiddleware
from litestar.types import Message, Receive, Scope, Send

from auth.tokens import REFRESH_IDLE, Principal, TokenPair, authenticate, rotate
from domain.clock import utc
from domain.db import Database
from domain.errors import Unauthorized
from domain.settings import current_settings

# Sent with sign-out: the browser drops what it cached and stored for this site (pages in the HTTP cache
# and the service worker's caches, drafts in storage), so the next person at this phone sees none of it.
CLEAR_SITE_DATA = '"cache", "storage"'
ACCESS_COOKIE = "motcua_at"
REFRESH_COOKIE = "motcua_rt"
STEP_UP_WINDOW = timedelta(minutes=5)


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def auth_cookies(pair: TokenPair) -> list[Cookie]:
    secure = current_settings().secure_cookies
    return [
        Cookie(key=ACCESS_COOKIE, value=pair.access_token, httponly=True, secure=secure, samesite="lax", path="/",
               max_age=pair.expires_in),
        Cookie(key=REFRESH_COOKIE, value=pair.refresh_token, httponly=True, secure=secure, samesite="lax", path="/",
               max_age=int(REFRESH_IDLE.total_seconds())),
    ]


def cleared_cookies() -> list[Cookie]:
    secure = current_settings().secure_cookies
    return [Cookie(key=name, value="", httponly=True, secure=secure, samesite="lax", path="/", max_age=0)
            for name in (ACCESS_COOKIE, REFRESH_COOKIE)]


def set_session_cookies(response: Response[Any], pair: TokenPair | None) -> Response[Any]:
    for cookie in auth_cookies(pair) if pair else cleared_cookies():
        response.set_cookie(cookie)
    return response


async def api_principal(request: Request[Any, Any, Any]) -> Principal:
    """Litestar dependency for the JSON API: a valid bearer token or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Vui lòng đăng nhập trước (send Authorization: Bearer <access token>).")
    db: Database = request.app.state.db
    return await db.read_rows(authenticate, token.strip())


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
        access, refresh = request.cookies.get(ACCESS_COOKIE), request.cookies.get(REFRESH_COOKIE)
        db = scope["app"].state.db
        principal: Principal | None = None
        new_cookies: list[Cookie] = []
        if access:
            try:
                principal = await db.read_rows(authenticate, access)
            except Unauthorized:
                principal = None
        if principal is None and refresh:
            result = await db.write(rotate, refresh, ip=client_ip(request))
            if isinstance(result, TokenPair):
                principal = await db.read_rows(authenticate, result.access_token)
                new_cookies = auth_cookies(result)
            else:
                new_cookies = cleared_cookies()
        elif principal is None and access:
            new_cookies = cleared_cookies()
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
