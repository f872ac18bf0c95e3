"""Identity pages: register, sign in / out, verify phone or e-mail, account, organisations.

Plain HTML forms (POST + redirect), working without JavaScript; passkey buttons are added by
``/static/passkeys.js`` where the browser supports them. Every form carries the CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.response import Redirect

from api.web.session import CLEAR_SITE_DATA, client_ip, page_principal, page_user, set_session_cookies
from api.web.state import auth_of
from auth import accounts as service
from auth.accounts import Client
from auth.passkeys import delete_passkey as remove
from auth.passkeys import list_passkeys, require_step_up, revoked_passkeys
from auth.passkeys import rename_passkey as rename
from auth.tokens import TokenPair
from domain.accounts.models import AuthSession
from domain.errors import DomainError, Unauthorized
from notifications.codes import deliver_code
from pwa.render import render


def N_(message: str) -> str:
    """Mark a message for translation; the template translates it when shown."""
    return message


def _client(request: Request[Any, Any, Any]) -> Client:
    return Client(ip=client_ip(request), user_agent=request.headers.get("user-agent", "")[:255])


def _next(value: str | None, default: str = "/tai-khoan") -> str:
    """Only local paths: never redirect to another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def login_redirect(request: Request[Any, Any, Any]) -> Redirect:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"/dang-nhap?next={quote(target)}", status_code=303)


def signed_in(request: Request[Any, Any, Any], pair: TokenPair, target: str) -> Redirect:
    response = Redirect(target, status_code=303)
    set_session_cookies(request, response, pair)
    return response


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


# --- register / sign in / sign out ------------------------------------------------------------
@get("/dang-ky", include_in_schema=False)
async def register_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    return render(request, "account/register.html", {"form": {}, "error": None})


@post("/dang-ky", include_in_schema=False)
async def register_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await _form(request)
    db = request.app.state.db
    try:
        await db.write(service.register, form.get("full_name", ""), form.get("username", ""),
                       form.get("password", ""), cfg=auth_of(request), client=_client(request),
                       cccd=form.get("cccd") or None)
    except DomainError as exc:
        keep = {k: v for k, v in form.items() if k in ("full_name", "username", "cccd")}
        return render(request, "account/register.html", {"form": keep, "error": exc}, status=exc.status)
    result = await db.write(service.login, form["username"], form["password"], cfg=auth_of(request),
                            client=_client(request))
    if isinstance(result, Unauthorized):  # cannot happen right after registering, but never half-sign-in
        return Redirect("/dang-nhap", status_code=303)
    return signed_in(request, result, "/tai-khoan/xac-minh")


@get("/dang-nhap", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_principal(request)
    passkey_needed = request.query_params.get("passkey") == "1"  # sent here by the back office's guard
    if me and not (passkey_needed and "webauthn" not in me.amr):
        return Redirect(_next(request.query_params.get("next")), status_code=303)
    return render(request, "account/login.html", {"form": {}, "error": None, "passkey_needed": passkey_needed,
                                                  "next": _next(request.query_params.get("next"))})


@post("/dang-nhap", include_in_schema=False)
async def login_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await _form(request)
    target = _next(form.get("next"))
    try:
        result = await request.app.state.db.write(service.login, form.get("username", ""), form.get("password", ""),
                                                  cfg=auth_of(request), client=_client(request))
    except DomainError as exc:  # 429
        headers = {"Retry-After": str(getattr(exc, "retry_after", 60))}
        return render(request, "account/login.html", {"form": {"username": form.get("username", "")},
                                                      "error": exc, "next": target}, status=exc.status,
                      headers=headers)
    if isinstance(result, Unauthorized):
        return render(request, "account/login.html", {"form": {"username": form.get("username", "")},
                                                      "error": result, "next": target}, status=401)

    def must_enrol(session: Any) -> bool:
        user = service.find_user(session, form.get("username", ""))
        return user is not None and service.needs_passkey_enrolment(session, user)

    if await request.app.state.db.read(must_enrol):  # officers: a passkey first (phishing-resistant MFA)
        target = "/tai-khoan?enrol=1"
    return signed_in(request, result, target)


@post("/dang-xuat", include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_principal(request)
    if me:
        await request.app.state.db.write(service.logout, me.session_id, user_id=me.user_id, ip=client_ip(request))
    response = Redirect("/", status_code=303, headers={"Clear-Site-Data": CLEAR_SITE_DATA})
    set_session_cookies(request, response, None)
    return response


# --- account ---------------------------------------------------------------------------------
def _account_context(session: Any, user_id: int, session_id: str) -> dict[str, Any]:
    user = service.get_user(session, user_id)
    current = session.get(AuthSession, session_id)
    return {
        "user": user,
        "passkeys": list_passkeys(session, user_id),
        "revoked_passkeys": revoked_passkeys(session, user_id),  # kept for ever (the decisions they signed)
        "sessions": service.list_sessions(session, user_id),
        "current_session": session_id,
        "organisations": service.my_organisations(session, user_id),
        "invitations": service.pending_invitations(session, user),
        "must_enrol": service.needs_passkey_enrolment(session, user),
        "step_up_at": current.step_up_at if current else None,
    }


async def _account(request: Request[Any, Any, Any], message: str | None = None,
                   error: DomainError | None = None, status: int = 200) -> Response[Any]:
    me = page_user(request)
    ctx = await request.app.state.db.read(_account_context, me.user_id, me.session_id)
    return render(request, "account/account.html", {**ctx, "message": message, "error": error}, status=status)


async def _then_account(request: Request[Any, Any, Any], ok: str, action: Callable[..., Any], *args: Any,
                        **kwargs: Any) -> Response[Any]:
    """Run ``action(session, *args, **kwargs)`` in one transaction, then back to the account page: with
    the ``ok`` message, or with the refusal."""
    try:
        await request.app.state.db.write(action, *args, **kwargs)
    except DomainError as exc:
        return await _account(request, error=exc, status=exc.status)
    return Redirect(f"/tai-khoan?ok={ok}", status_code=303)


@get("/tai-khoan", include_in_schema=False)
async def account(request: Request[Any, Any, Any]) -> Response[Any]:
    messages = {"passkey": N_("Đã thêm passkey."), "ended": N_("Đã kết thúc phiên."),
                "renamed": N_("Đã đổi tên passkey."), "deleted": N_("Đã xoá passkey."),
                "others": N_("Đã đăng xuất khỏi các thiết bị khác."), "joined": N_("Bạn đã tham gia tổ chức."),
                "verified": N_("Đã xác minh.")}
    return await _account(request, messages.get(request.query_params.get("ok") or ""))


@post("/tai-khoan/phien/{session_id:str}/ket-thuc", include_in_schema=False)
async def end_session(request: Request[Any, Any, Any], session_id: str) -> Response[Any]:
    me = page_user(request)
    try:
        await request.app.state.db.write(service.end_session, me.user_id, session_id, ip=client_ip(request))
    except DomainError as exc:
        return await _account(request, error=exc, status=exc.status)
    if session_id == me.session_id:
        response = Redirect("/", status_code=303)
        set_session_cookies(request, response, None)
        return response
    return Redirect("/tai-khoan?ok=ended", status_code=303)


@post("/tai-khoan/dang-xuat-thiet-bi-khac", include_in_schema=False)
async def end_other_sessions(request: Request[Any, Any, Any]) -> Response[Any]:
    """A sensitive action: needs a passkey assertion within the last 5 minutes (step-up)."""
    me = page_user(request)

    def run(session: Any) -> None:
        require_step_up(session, me.session_id)
        for s in service.list_sessions(session, me.user_id):
            if s.id != me.session_id:
                service.end_session(session, me.user_id, s.id, ip=client_ip(request))

    return await _then_account(request, "others", run)


@post("/tai-khoan/passkeys/{passkey_id:int}/doi-ten", include_in_schema=False)
async def rename_passkey(request: Request[Any, Any, Any], passkey_id: int) -> Response[Any]:
    me = page_user(request)
    form = await _form(request)
    return await _then_account(request, "renamed", rename, me.user_id, passkey_id, form.get("name", ""))


@post("/tai-khoan/passkeys/{passkey_id:int}/xoa", include_in_schema=False)
async def delete_passkey(request: Request[Any, Any, Any], passkey_id: int) -> Response[Any]:
    me = page_user(request)
    return await _then_account(request, "deleted", remove, me.user_id, passkey_id, ip=client_ip(request),
                               session_id=me.session_id)


# --- verify phone / e-mail -------------------------------------------------------------------
@get("/tai-khoan/xac-minh", include_in_schema=False)
async def verify_page(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    user = await request.app.state.db.read(service.get_user, me.user_id)
    return render(request, "account/verify.html", {"user": user, "sent": None, "error": None})


@post("/tai-khoan/xac-minh", include_in_schema=False)
async def verify_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    form = await _form(request)
    db = request.app.state.db
    channel = form.get("channel", "phone")
    sent, error = None, None
    try:
        if form.get("code"):
            error = await db.write(service.verify_code, me.user_id, channel, form["code"], cfg=auth_of(request),
                                   ip=client_ip(request))
            if error is None:
                return Redirect("/tai-khoan?ok=verified", status_code=303)
            sent = channel
        else:
            row, code = await db.write(service.request_code, me.user_id, channel, cfg=auth_of(request),
                                       client=_client(request))
            await deliver_code(request.app, row, code)
            sent = channel
    except DomainError as exc:
        error = exc
    user = await db.read(service.get_user, me.user_id)
    status = error.status if error else 200
    return render(request, "account/verify.html", {"user": user, "sent": sent, "error": error}, status=status)


# --- organisations ---------------------------------------------------------------------------
@get("/to-chuc", include_in_schema=False)
async def organisations(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    rows = await request.app.state.db.read(service.my_organisations, me.user_id)
    return render(request, "account/organisations.html", {"organisations": rows, "form": {}, "error": None})


@post("/to-chuc", include_in_schema=False)
async def create_organisation(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    form = await _form(request)
    db = request.app.state.db
    try:
        org = await db.write(service.create_organisation, me.user_id, form.get("name", ""), form.get("tax_code", ""))
    except DomainError as exc:
        rows = await db.read(service.my_organisations, me.user_id)
        return render(request, "account/organisations.html",
                      {"organisations": rows, "form": form, "error": exc}, status=exc.status)
    return Redirect(f"/to-chuc/{org.id}", status_code=303)


async def _organisation(request: Request[Any, Any, Any], org_id: int, error: DomainError | None = None,
                        status: int = 200) -> Response[Any]:
    me = page_principal(request)
    assert me is not None

    def load(session: Any) -> dict[str, Any]:
        members = service.organisation_members(session, org_id, me.user_id)  # 404 unless a member
        org, role = next((o, r) for o, r in service.my_organisations(session, me.user_id) if o.id == org_id)
        return {"org": org, "my_role": role, "members": members, "me_id": me.user_id}

    ctx = await request.app.state.db.read(load)
    return render(request, "account/organisation.html", {**ctx, "error": error}, status=status)


@get("/to-chuc/{org_id:int}", include_in_schema=False)
async def organisation(request: Request[Any, Any, Any], org_id: int) -> Response[Any]:
    if page_principal(request) is None:
        return login_redirect(request)
    return await _organisation(request, org_id)


@post("/to-chuc/{org_id:int}/moi", include_in_schema=False)
async def invite(request: Request[Any, Any, Any], org_id: int) -> Response[Any]:
    me = page_user(request)
    form = await _form(request)
    try:
        await request.app.state.db.write(service.invite, org_id, me.user_id, form.get("username", ""),
                                         form.get("role", "staff"))
    except DomainError as exc:
        return await _organisation(request, org_id, exc, exc.status)
    return Redirect(f"/to-chuc/{org_id}?ok=invited", status_code=303)


@post("/to-chuc/{org_id:int}/thanh-vien/{member_id:int}", include_in_schema=False)
async def change_member(request: Request[Any, Any, Any], org_id: int, member_id: int) -> Response[Any]:
    me = page_user(request)
    form = await _form(request)
    role = form.get("role") or None
    try:
        await request.app.state.db.write(service.set_member_role, org_id, me.user_id, member_id,
                                         None if role == "remove" else role)
    except DomainError as exc:
        return await _organisation(request, org_id, exc, exc.status)
    return Redirect(f"/to-chuc/{org_id}", status_code=303)


async def _invitation(request: Request[Any, Any, Any], invitation_id: int, *, sent: bool,
                      error: DomainError | None = None, status: int = 200) -> Response[Any]:
    me = page_user(request)
    inv, org = await request.app.state.db.read(service.open_invitation, invitation_id, me.user_id)
    return render(request, "account/invitation.html",
                  {"invitation": inv, "org": org, "channel": service.invitation_channel(inv.username),
                   "sent": sent, "error": error}, status=status)


@post("/tai-khoan/loi-moi/{invitation_id:int}/ma", include_in_schema=False)
async def invitation_code(request: Request[Any, Any, Any], invitation_id: int) -> Response[Any]:
    """"Nhận lời mời": a one-time code goes to the invited phone or e-mail, then the form for it."""
    me = page_user(request)
    try:
        row, code, org = await request.app.state.db.write(service.request_invitation_code, invitation_id,
                                                          me.user_id, cfg=auth_of(request),
                                                          client=_client(request))
        await deliver_code(request.app, row, code, channel=service.invitation_channel(row.destination),
                           event="code.invitation", values={"organisation": org.name})
    except DomainError as exc:
        if exc.status == 404:
            return await _account(request, error=exc, status=exc.status)
        return await _invitation(request, invitation_id, sent=False, error=exc, status=exc.status)
    return await _invitation(request, invitation_id, sent=True)


@post("/tai-khoan/loi-moi/{invitation_id:int}/nhan", include_in_schema=False)
async def accept_invitation(request: Request[Any, Any, Any], invitation_id: int) -> Response[Any]:
    """Accept with the code sent to the invited phone or e-mail (finding 5): no code, no membership."""
    me = page_user(request)
    form = await _form(request)
    try:
        result = await request.app.state.db.write(service.accept_invitation, invitation_id, me.user_id,
                                                  form.get("code", ""), cfg=auth_of(request), ip=client_ip(request))
    except DomainError as exc:
        return await _account(request, error=exc, status=exc.status)
    if isinstance(result, DomainError):
        return await _invitation(request, invitation_id, sent=True, error=result, status=result.status)
    return Redirect("/tai-khoan?ok=joined", status_code=303)


ROUTES = [register_page, register_submit, login_page, login_submit, logout, account, end_session,
          end_other_sessions, rename_passkey, delete_passkey, verify_page, verify_submit, organisations,
          create_organisation, organisation, invite, change_member, invitation_code, accept_invitation]
