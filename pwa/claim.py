"""Phone pages of claiming a dossier received at a counter into the account ("Nhận hồ sơ đã nộp tại quầy").

Three plain forms, no JavaScript needed: the dossier code and CCCD (``/ho-so/nhan``), the one-time code sent to
the phone recorded on the dossier, then the dossier's own page. Signed out, the sign-in page brings the person
back here. The checks, the code and the limits: ``api.web.claim`` and ``domain.intake.claim``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from api.web import claim as web_claim
from api.web.session import page_user
from domain.errors import DomainError, TooManyRequests
from pwa.render import render

PAGE = "/ho-so/nhan"


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _page(request: Request[Any, Any, Any], template: str, ctx: dict[str, Any],
          error: DomainError | None = None) -> Response[Any]:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, TooManyRequests) else None
    return render(request, template, {**ctx, "error": error}, status=error.status if error else 200,
                  headers=headers)


@get(PAGE, include_in_schema=False)
async def claim_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The form: the dossier code (``?ma=`` fills it in) and the applicant's CCCD."""
    page_user(request)
    code = (request.query_params.get("ma") or "").strip()[:60]
    return _page(request, "claim/start.html", {"code": code, "cccd": ""})


@post(PAGE, include_in_schema=False)
async def claim_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    """Send the one-time code to the dossier's phone, then the form for it."""
    me = page_user(request)
    form = await _form(request)
    code, cccd = form.get("code", "")[:60], form.get("cccd", "")[:20]
    try:
        sent = await web_claim.request_claim(request, me.user_id, code, cccd)
    except DomainError as exc:
        return _page(request, "claim/start.html", {"code": code, "cccd": cccd}, exc)
    return _page(request, "claim/verify.html", {"sent": sent, "code": sent.dossier_code})


@post(PAGE + "/xac-nhan", include_in_schema=False)
async def claim_verify(request: Request[Any, Any, Any]) -> Response[Any]:
    """The one-time code: the dossier moves into the account and its page opens."""
    me = page_user(request)
    form = await _form(request)
    code, otp = form.get("code", "")[:60], form.get("otp", "")[:12]
    try:
        dossier_id = await web_claim.verify_claim(request, me.user_id, code, otp)
    except DomainError as exc:
        if exc.field == "otp":
            return _page(request, "claim/verify.html", {"sent": None, "code": code}, exc)
        return _page(request, "claim/start.html", {"code": code, "cccd": ""}, exc)
    return Redirect(f"/ho-so/{dossier_id}", status_code=303)


ROUTES = [claim_page, claim_submit, claim_verify]
