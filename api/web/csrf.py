"""CSRF tokens tied to the caller's session (ADR 0007).

A token is ``<nonce>.<mac>``, the MAC an HMAC (key derived from ``SECRET_KEY``) of the token's *binding*
and the nonce. The binding is the signed-in session's id (``s:<sid>``, from the session cookie the
middleware before this one read), or for an anonymous caller the random value of the CSRF cookie
(``a:<value>``). So a token minted in one session is refused in another, an anonymous token is refused
once signed in (sign-in changes the binding: the next page carries a new token), and every response
carries a fresh nonce (nothing stable for a compression side channel to find).

Where the token is read: the ``X-CSRFToken`` header (htmx, scripts) or the ``_csrf_token`` query parameter
(forms that upload: their ``action`` carries it), both before a byte of the body is read; a urlencoded
form's ``_csrf_token`` field (a small body, at most the app's 1 MB). A multipart body is never read
here, so an upload page's CSRF check and its caller check (``page_user``) both happen before anything
of the body reaches the disk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import AbstractMiddleware
from litestar.types import Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState
from sqlalchemy.orm import Session

from api.web.session import client_ip, cookie_names
from domain.audit import record
from domain.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FIELD = "_csrf_token"
HEADER = "x-csrftoken"
EXCLUDE_OPT = "exclude_from_csrf"  # a route's opt: public and changes nothing (the verify page)
REFUSED = ("Biểu mẫu đã hết hạn hoặc không thuộc phiên đăng nhập này; vui lòng tải lại trang rồi gửi lại "
           "(CSRF token verification failed).")


def _keys(settings: Settings) -> list[bytes]:
    """The current key first, then the one of SECRET_KEY_PREVIOUS while keys rotate."""
    return [hmac.new(secret.encode(), b"motcua csrf v1", hashlib.sha256).digest()
            for secret in (settings.web.secret_key, settings.web.previous_secret_key) if secret]


def _mac(key: bytes, binding: str, nonce: str) -> str:
    digest = hmac.new(key, f"{binding}\0{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def binding_of(scope: Scope, anonymous: str | None) -> str | None:
    """What a token of this request is tied to: the session, or the anonymous CSRF cookie's value."""
    principal = scope.get("state", {}).get("principal")
    if principal is not None:
        return f"s:{principal.session_id}"
    return f"a:{anonymous}" if anonymous else None


def mint(settings: Settings, binding: str) -> str:
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_mac(_keys(settings)[0], binding, nonce)}"


def is_valid(settings: Settings, binding: str | None, token: str | None) -> bool:
    if not binding or not token or token.count(".") != 1 or len(token) > 200:
        return False
    nonce, mac = token.split(".")
    return any(hmac.compare_digest(mac, _mac(key, binding, nonce)) for key in _keys(settings))


def _excluded(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    return bool(handler is not None and handler.opt.get(EXCLUDE_OPT))


def _refused(session: Session, user_id: int, session_id: str, ip: str, path: str) -> None:
    record(session, "csrf.refused", actor_id=user_id, subject=f"session:{session_id}", ip=ip, path=path[:200])


async def _audit_refusal(scope: Scope, request: Request[Any, Any, Any]) -> None:
    """A signed-in caller's request with a wrong token (a forged cross-site post rides on a session): audited.
    Anonymous refusals are not (anyone could fill the log with them)."""
    principal = scope.get("state", {}).get("principal")
    if principal is not None:
        await scope["app"].state.db.write(_refused, principal.user_id, principal.session_id, client_ip(request),
                                          request.url.path)


class SessionCsrfMiddleware(AbstractMiddleware):
    """Mint a token for every page (``ScopeState.csrf_token``, which the templates put in each form) and
    check it on every unsafe request. Runs after :class:`~api.web.session.SessionCookieMiddleware`."""

    scopes = {ScopeType.HTTP}
    exclude = ["^/api/", "^/static/", "^/sw.js", "^/manifest", "^/schema", "^/healthz", "^/favicon"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _excluded(scope):  # public pages that post nothing (the catalogue): no token, no cookie
            await self.app(scope, receive, send)
            return
        settings: Settings = scope["app"].state.settings
        names = cookie_names(settings)
        request: Request[Any, Any, Any] = scope["app"].request_class(scope=scope, receive=receive)
        anonymous = request.cookies.get(names.csrf)
        new_cookie = None
        if not anonymous or len(anonymous) > 100:
            anonymous = new_cookie = secrets.token_urlsafe(32)
        if request.method not in SAFE_METHODS:
            given = request.headers.get(HEADER) or request.query_params.get(FIELD)
            if not given and request.content_type[0] == "application/x-www-form-urlencoded":
                value = (await request.form()).get(FIELD)
                given = value if isinstance(value, str) else None
            # new_cookie: the request came without one, so it cannot carry an anonymous token of ours
            binding = binding_of(scope, None if new_cookie else anonymous)
            if not is_valid(settings, binding, given):
                await _audit_refusal(scope, request)
                raise PermissionDeniedException(REFUSED)
        binding = binding_of(scope, anonymous)
        assert binding is not None
        ScopeState.from_scope(scope).csrf_token = mint(settings, binding)

        if new_cookie is None:
            await self.app(scope, receive, send)
            return
        cookie = f"{names.csrf}={new_cookie}; HttpOnly; Path=/; SameSite=lax" + ("; Secure" if names.secure else "")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)
