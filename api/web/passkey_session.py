"""Officers and admins act only from passkey sessions (security review finding 1).

A stolen password must not be enough to act in the back office. Every route under
:data:`BACK_OFFICE` (back-office actions, admin pages, officer payment functions, identity
verification, reports) needs a session that was signed in with a passkey with user verification
(``amr`` ``webauthn``; officers' passkeys always verify the user). A password session gets:

* on the JSON API, 403 problem details saying so;
* on the pages, the way on: enrol a first passkey (``/tai-khoan?enrol=1``, with the enrolment code a
  unit admin issued) or, with passkeys already, sign in with one and come back here.

One guard on the whole app, checked before any handler, so a new back-office route cannot forget it
(the authorization matrix test lists every route). Who may see or do *what* stays a query of the core.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect
from sqlalchemy import select

from api.web.session import client_ip, verified_principal
from auth.tokens import Principal
from domain.accounts.models import Passkey
from domain.audit import record
from domain.errors import DomainError

API_BACK_OFFICE = ("/api/v1/officer/", "/api/v1/admin/")
PAGE_BACK_OFFICE = ("/can-bo", "/quan-tri")
BACK_OFFICE = API_BACK_OFFICE + PAGE_BACK_OFFICE
ENROL = "/tai-khoan?enrol=1"


class PasskeySessionRequired(DomainError):
    status = 403
    title = "Passkey session required"


class GoElsewhere(Exception):
    """A page request that must first go through enrolment or a passkey sign-in."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def is_back_office(path: str) -> bool:
    return path.startswith(API_BACK_OFFICE) or any(path == p or path.startswith(p + "/") or
                                                   path.startswith(p + ".") for p in PAGE_BACK_OFFICE)


def signed_in_with_passkey(principal: Principal) -> bool:
    return "webauthn" in principal.amr


def is_staff(principal: Principal) -> bool:
    """Officers and admins (the account kind is the first role of the token); a citizen on a back-office
    route gets the route's own answer (403)."""
    return bool(principal.roles) and principal.roles[0] in ("officer", "admin")


async def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None  # the handler's own dependency answers 401
    try:
        principal = await verified_principal(connection.app.state.db, connection.app.state.settings, token.strip(),
                                             cfg=connection.app.state.auth)
    except DomainError:
        return None  # an invalid token: the handler's dependency answers 401
    return principal


async def _audit_refusal(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal, path: str) -> None:
    """A staff member's password-only session knocked on the back office: security-relevant, so audited
    (a stolen password at work shows in the log). Only authenticated callers get here, so it cannot be
    used by strangers to fill the log."""
    ip = client_ip(connection)
    await connection.app.state.db.write(
        lambda s: record(s, "auth.passkey_session_refused", actor_id=principal.user_id,
                         subject=f"session:{principal.session_id}", ip=ip,
                         method=connection.scope.get("method", ""), path=path, authenticated="pwd"))


async def passkey_session_only(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Litestar guard of the whole app: back-office routes refuse sessions not signed in with a passkey."""
    path = connection.scope.get("path", "")
    if not is_back_office(path):
        return
    if path.startswith(API_BACK_OFFICE):
        principal = await _bearer(connection)
        if principal is not None and is_staff(principal) and not signed_in_with_passkey(principal):
            await _audit_refusal(connection, principal, path)
            raise PasskeySessionRequired("Cán bộ và quản trị chỉ làm việc trong phiên đăng nhập bằng khóa truy cập "
                                         "(passkey session required): đăng nhập lại bằng passkey.")
        return
    principal = connection.scope.get("state", {}).get("principal")
    if principal is None or not is_staff(principal) or signed_in_with_passkey(principal):
        return  # nobody signed in: the page sends them to sign in; a citizen: the page's 403; a passkey session: on
    has_passkey = await connection.app.state.db.read(
        lambda s: s.scalar(select(Passkey.id).where(Passkey.user_id == principal.user_id,
                                                    Passkey.revoked_at.is_(None)).limit(1)) is not None)
    if not has_passkey:
        raise GoElsewhere(ENROL)
    target = connection.scope.get("raw_path", b"").decode("latin-1") or path
    if connection.scope.get("query_string"):
        target += "?" + connection.scope["query_string"].decode("latin-1")
    raise GoElsewhere(f"/dang-nhap?passkey=1&next={quote(target, safe='')}")


def go_elsewhere(_request: Any, exc: GoElsewhere) -> Redirect:
    return Redirect(exc.location, status_code=303)


__all__ = ["BACK_OFFICE", "GoElsewhere", "PasskeySessionRequired", "go_elsewhere",
           "is_back_office", "passkey_session_only"]
