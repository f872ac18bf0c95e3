"""Passkey ceremonies for the pages (cookie session): the JSON twins of the API's passkey endpoints.

Each is a POST answering JSON, called by ``/static/passkeys.js``; the CSRF middleware checks the
``X-CSRFToken`` header against the page's token. Errors come back as problem JSON when the
request accepts ``application/json`` (the script always asks for it).
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, post
from litestar.status_codes import HTTP_200_OK

from api.web.passkeys import MAX_BODY, read_credential
from api.web.session import client_ip, page_principal, set_session_cookies
from api.web.state import auth_of
from auth import passkeys
from auth.tokens import Principal
from domain.errors import DomainError, Unauthorized

AFTER_SIGN_IN = "/tai-khoan"


def _me(request: Request[Any, Any, Any]) -> Principal:
    me = page_principal(request)
    if me is None:
        raise Unauthorized("Vui lòng đăng nhập trước (sign in first).")
    return me


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (no //host, no backslashes)."""
    target = target or ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 512 or \
            any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return AFTER_SIGN_IN
    return target


def _amr(me: Principal) -> str:
    return me.amr[0] if me.amr else ""


@post("/tai-khoan/passkeys/options", status_code=HTTP_200_OK, include_in_schema=False)
async def register_options(request: Request[Any, Any, Any]) -> dict[str, Any]:
    me = _me(request)
    body = await request.body()
    try:
        sent = json.loads(body) if body.strip() else {}
    except ValueError:
        sent = {}
    code = sent.get("enrolment_code") if isinstance(sent, dict) else None
    result = await request.app.state.db.write(passkeys.add_passkey_options, me.user_id, session_id=me.session_id,
                                              cfg=auth_of(request),
                                              enrolment_code=code if isinstance(code, str) else None,
                                              ip=client_ip(request))
    if isinstance(result, DomainError):
        raise result
    return result  # type: ignore[no-any-return]


@post("/tai-khoan/passkeys/verify", status_code=HTTP_200_OK, include_in_schema=False,
      request_max_body_size=MAX_BODY)
async def register_verify(request: Request[Any, Any, Any], name: str | None = None) -> dict[str, Any]:
    me = _me(request)
    data = await read_credential(request)
    result = await request.app.state.db.write(passkeys.verify_registration, me.user_id, data, cfg=auth_of(request),
                                              name=name,
                                              ip=client_ip(request), authenticated=_amr(me))
    if isinstance(result, passkeys.PasskeyError):
        raise result
    if "webauthn" not in me.amr and me.roles[:1] in (("officer",), ("admin",)):
        # an officer's first passkey, enrolled from a password session: work starts with signing in with it
        return {"id": result.id, "name": result.name, "redirect": "/dang-nhap?passkey=1&next=%2Fcan-bo"}
    return {"id": result.id, "name": result.name}


@post("/dang-nhap/passkey/options", status_code=HTTP_200_OK, include_in_schema=False)
async def sign_in_options(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await request.app.state.db.write(  # type: ignore[no-any-return]
        passkeys.authentication_options, None, "authenticate", None, cfg=auth_of(request), ip=client_ip(request))


@post("/dang-nhap/passkey/verify", status_code=HTTP_200_OK, include_in_schema=False,
      request_max_body_size=MAX_BODY)
async def sign_in_verify(request: Request[Any, Any, Any], next: str | None = None) -> Response[Any]:
    data = await read_credential(request)
    result = await request.app.state.db.write(passkeys.verify_authentication, data, cfg=auth_of(request),
                                              ip=client_ip(request),
                                              user_agent=request.headers.get("user-agent", "")[:255])
    if isinstance(result, passkeys.PasskeyError):
        raise result
    response: Response[Any] = Response({"redirect": safe_next(next)}, headers={"Cache-Control": "no-store"})
    return set_session_cookies(request, response, result)


@post("/tai-khoan/xac-thuc-lai/options", status_code=HTTP_200_OK, include_in_schema=False)
async def step_up_options(request: Request[Any, Any, Any]) -> dict[str, Any]:
    me = _me(request)
    return await request.app.state.db.write(  # type: ignore[no-any-return]
        passkeys.step_up_options, me.session_id, me.user_id, cfg=auth_of(request))


@post("/tai-khoan/xac-thuc-lai/verify", status_code=HTTP_200_OK, include_in_schema=False,
      request_max_body_size=MAX_BODY)
async def step_up_verify(request: Request[Any, Any, Any]) -> dict[str, Any]:
    me = _me(request)
    data = await read_credential(request)
    error = await request.app.state.db.write(passkeys.step_up, me.session_id, me.user_id, data,
                                             cfg=auth_of(request), ip=client_ip(request))
    if error is not None:
        raise error
    return {"status": "ok", "valid_for": int(passkeys.STEP_UP_WINDOW.total_seconds())}


ROUTES = [register_options, register_verify, sign_in_options, sign_in_verify, step_up_options, step_up_verify]
