"""Payment pages: the pay button (amount, choice of gateway), the status page that updates itself (htmx
polling until a final state), the receipt, the public receipt check, the sandbox gateway's page, and the
officers' view of a dossier's payments with refunds, VietQR confirmations and the daily reconciliation.
Plain forms and links first; htmx only adds the polling."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web.payments import handle_message, reconciliation_csv, refund_payment
from api.web.session import client_ip, page_principal, page_user
from api.web.state import payments_of
from auth.passkeys import StepUpRequired
from domain.calendar.engine import TZ
from domain.catalog.models import Procedure
from domain.clock import utc
from domain.db import Database
from domain.dossiers.filing import get_dossier
from domain.dossiers.models import Dossier
from domain.errors import DomainError, InvalidInput, NotFound
from domain.payments import fees, gateways, receipts, reconcile
from domain.payments import operations as service
from domain.payments.context import PaymentContext
from domain.payments.gateways.base import Gateway, StartResult
from domain.payments.gateways.sandbox import OUTCOMES, SandboxGateway
from domain.payments.machine import FINAL, LIVE, NAMES_VI, REFUND_NAMES_VI, RefundStatus, Status
from domain.payments.models import Payment
from domain.settings import GATEWAYS, PaymentSettings
from pwa.account import login_redirect
from pwa.render import is_htmx, render

log = logging.getLogger("motcua")
POLL_SECONDS = 2
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'{extra}; frame-ancestors 'none'; "
       "manifest-src 'self'; worker-src 'self'")


def pay_page_csp(s: PaymentSettings) -> str:
    """The pay form's answer redirects to the gateway: browsers check form-action on redirects too."""
    origins = []
    for name, url in (("vnpay", s.vnpay_url), ("paygov", s.paygov_url)):
        if s.is_enabled(name) and url:
            parts = urlsplit(url)
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return CSP.format(extra="".join(f" {o}" for o in dict.fromkeys(origins)))


def _context(session: Session, payment: Any, pay: PaymentContext) -> dict[str, Any]:
    view = service.payment_view(session, payment, pay)
    receipt = service.receipt_of(session, payment.id)
    qr_svg = receipts.qr_svg(payment.qr_payload, "Mã VietQR chuyển khoản") if payment.qr_payload else ""
    return {"p": payment, "v": view, "receipt": receipt, "qr_svg": qr_svg, "names": NAMES_VI,
            "final": payment.status in FINAL, "poll": POLL_SECONDS, "Status": Status}


# --- citizens ---------------------------------------------------------------------------------------
def _pay_context(session: Session, user_id: int, dossier_id: int, enabled: tuple[str, ...]) -> dict[str, Any]:
    d = get_dossier(session, user_id, dossier_id)
    proc = session.scalar(select(Procedure).where(Procedure.code == d.procedure_code))
    q = fees.quote_for_dossier(session, d)
    payments = service.dossier_payments(session, d.id)
    current = next((p for p in payments if p.open_dossier_id is not None), None)
    receipt = (
        service.receipt_of(session, current.id) if current is not None and current.status == Status.SUCCESS else None
    )
    return {"d": d, "procedure_name": proc.name if proc else d.procedure_code, "q": q, "payments": payments,
            "current": current, "receipt": receipt, "names": NAMES_VI, "Status": Status, "LIVE": LIVE,
            "gateways": [(g, gateways.LABELS[g]) for g in enabled]}


@get("/ho-so/{dossier_id:int}/thanh-toan", include_in_schema=False)
async def pay_page(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    ctx = await request.app.state.db.read(_pay_context, me.user_id, dossier_id, payments_of(request).settings.enabled)
    return render(request, "payments/pay.html", {**ctx, "key": secrets.token_urlsafe(16), "error": None},
                  headers={"Content-Security-Policy": pay_page_csp(payments_of(request).settings)})


@get("/ho-so/{dossier_id:int}/thanh-toan/tom-tat", include_in_schema=False)
async def pay_summary(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """The fee box of the dossier's pages (loaded by htmx): pay, continue, or paid with the receipt."""
    me = page_user(request)
    ctx = await request.app.state.db.read(_pay_context, me.user_id, dossier_id, payments_of(request).settings.enabled)
    return render(request, "payments/summary.html", ctx)


@post("/ho-so/{dossier_id:int}/thanh-toan", include_in_schema=False)
async def pay(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    form = await request.form()
    gateway, key = str(form.get("gateway") or ""), str(form.get("_key") or "")[:128]
    db = request.app.state.db
    try:
        view = await db.write(service.create_payment, me.user_id, dossier_id, gateway, key=key, ip=client_ip(request),
                              ctx=payments_of(request))
    except (InvalidInput, DomainError) as exc:
        if isinstance(exc, NotFound):
            raise
        settings = payments_of(request).settings
        ctx = await db.read(_pay_context, me.user_id, dossier_id, settings.enabled)
        return render(request, "payments/pay.html", {**ctx, "key": secrets.token_urlsafe(16), "error": exc},
                      status=exc.status, headers={"Content-Security-Policy": pay_page_csp(settings)})
    if view["redirect_url"]:
        return Redirect(f"/thanh-toan/chuyen/{view['reference']}", status_code=303)
    return Redirect(f"/thanh-toan/{view['id']}", status_code=303)


async def start_at_gateway(request: Request[Any, Any, Any], reference: str) -> tuple[service.Redirect, str | None]:
    db = request.app.state.db
    pay = payments_of(request)
    begun = await db.write(service.begin_redirect, reference, public_url=pay.public_url)
    if begun.url or begun.info is None:
        return begun, begun.url
    gw: Gateway = gateways.make(await db.read(lambda s: s.get(Payment, begun.payment_id).gateway), pay.settings)
    result: StartResult = await asyncio.to_thread(gw.start, begun.info)
    recorded = await db.write(service.record_redirect, reference, result)
    return recorded, recorded.url


@get("/thanh-toan/chuyen/{reference:str}", include_in_schema=False)
async def go_to_gateway(request: Request[Any, Any, Any], reference: str) -> Response[Any]:
    """The payment's next URL (no sign-in needed: the reference is unguessable): start it, go to the gateway."""
    begun, url = await start_at_gateway(request, reference)
    if url and begun.status in LIVE:
        return Redirect(url, status_code=303)
    return Redirect(f"/thanh-toan/{begun.payment_id}", status_code=303)


@get("/thanh-toan/ve/{gateway:str}", include_in_schema=False)
async def gateway_return(request: Request[Any, Any, Any], gateway: str) -> Response[Any]:
    """Where the gateway sends the payer back: the signed result is checked and applied like a callback."""
    settings = payments_of(request).settings
    if gateway not in GATEWAYS or gateway not in gateways.enabled_names(settings):
        raise NotFound("Không có cổng thanh toán này.")
    gw = gateways.make(gateway, settings)
    notice = gw.parse_return({k: v for k, v in request.query_params.items()})
    applied = await handle_message(request, gateway, notice, "return")
    if applied.payment_id is None:
        raise InvalidInput("Kết quả thanh toán gửi về không hợp lệ (sai chữ ký hoặc không có giao dịch).")
    return Redirect(f"/thanh-toan/{applied.payment_id}", status_code=303)


async def _status_context(request: Request[Any, Any, Any], user_id: int, payment_id: int) -> dict[str, Any]:
    db: Database = request.app.state.db
    pay = payments_of(request)

    def run(session: Session, write: bool) -> dict[str, Any]:
        payment = service.refresh(session, user_id, payment_id) if write else \
            service.get_payment(session, user_id, payment_id)
        ctx = _context(session, payment, pay)
        ctx["d"] = session.get(Dossier, payment.dossier_id)
        return ctx

    ctx = await db.read(run, False)
    if ctx["p"].status in LIVE and utc(ctx["p"].expires_at) <= datetime.now(UTC):
        ctx = await db.write(run, True)
    return ctx


@get("/thanh-toan/{payment_id:int}", include_in_schema=False)
async def status_page(request: Request[Any, Any, Any], payment_id: int) -> Response[Any]:
    me = page_user(request)
    ctx = await _status_context(request, me.user_id, payment_id)
    return render(request, "payments/status.html", ctx)


@get("/thanh-toan/{payment_id:int}/trang-thai", include_in_schema=False)
async def status_partial(request: Request[Any, Any, Any], payment_id: int) -> Response[Any]:
    """The status box alone: htmx polls it every few seconds until the payment is final."""
    me = page_user(request)
    ctx = await _status_context(request, me.user_id, payment_id)
    if not is_htmx(request):
        return Redirect(f"/thanh-toan/{payment_id}", status_code=303)
    return render(request, "payments/_status.html", ctx)


@post("/thanh-toan/{payment_id:int}/da-chuyen", include_in_schema=False)
async def transferred(request: Request[Any, Any, Any], payment_id: int) -> Response[Any]:
    me = page_user(request)
    await request.app.state.db.write(service.mark_transferred, me.user_id, payment_id)
    return Redirect(f"/thanh-toan/{payment_id}", status_code=303)


@post("/thanh-toan/{payment_id:int}/huy", include_in_schema=False)
async def cancel(request: Request[Any, Any, Any], payment_id: int) -> Response[Any]:
    me = page_user(request)
    payment = await request.app.state.db.write(service.cancel, me.user_id, payment_id)
    return Redirect(f"/ho-so/{payment.dossier_id}/thanh-toan", status_code=303)


@get("/thanh-toan/{payment_id:int}/bien-lai", include_in_schema=False)
async def receipt_page(request: Request[Any, Any, Any], payment_id: int) -> Response[Any]:
    """The printable e-receipt with its QR code (verification)."""
    me = page_user(request)
    payment, receipt = await request.app.state.db.read(service.my_receipt, me.user_id, payment_id)
    url = receipts.verify_url(payments_of(request).public_url, receipt.public_id)
    return render(request, "payments/receipt.html", {
        "p": payment, "r": receipt, "number": receipts.display_number(receipt), "verify_url": url,
        "qr_svg": receipts.qr_svg(url), "gateway_name": receipts.GATEWAY_NAMES.get(receipt.gateway, receipt.gateway)})


@get("/bien-lai/{public_id:str}", include_in_schema=False)
async def verify_receipt(request: Request[Any, Any, Any], public_id: str) -> Response[Any]:
    """Anyone holding the QR code can check the receipt: the payer's name is masked."""
    receipt, refunds = await request.app.state.db.read(service.public_receipt, public_id)
    refunded = sum(r.amount_vnd for r in refunds if r.status == RefundStatus.SUCCESS)
    return render(request, "payments/verify.html", {
        "r": receipt, "number": receipts.display_number(receipt), "payer": receipts.mask_name(receipt.payer_name),
        "refunded": refunded})


# --- the sandbox gateway (a stand-in for a real one) ----------------------------------------------
def _sandbox(settings: PaymentSettings) -> SandboxGateway:
    if not settings.is_enabled("sandbox"):
        raise NotFound("Cổng thử nghiệm không được bật.")
    gw = gateways.make("sandbox", settings)
    assert isinstance(gw, SandboxGateway)
    return gw


def _sandbox_request(gw: SandboxGateway, params: dict[str, str]) -> dict[str, str]:
    wanted = ("ref", "amount", "order", "return_url", "callback_url", "expires", "sig")
    request = {k: params.get(k, "") for k in wanted}
    if not gw.check(request):
        raise InvalidInput("Yêu cầu thanh toán không hợp lệ (sai chữ ký của đơn vị).")
    return request


@get("/cong-thu-nghiem", include_in_schema=False)
async def sandbox_page(request: Request[Any, Any, Any]) -> Response[Any]:
    gw = _sandbox(payments_of(request).settings)
    params = _sandbox_request(gw, {k: v for k, v in request.query_params.items()})
    expired = datetime.strptime(params["expires"], "%Y%m%d%H%M%S").replace(tzinfo=UTC) <= datetime.now(UTC)
    return render(request, "payments/sandbox.html", {"params": params, "amount": int(params["amount"]),
                                                     "expired": expired})


def _deliver(url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST the signed callback like a gateway does: a few tries with back-off, then give up (logged)."""
    for attempt in range(4):
        try:
            req = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=10) as answer:  # our own callback URL
                if answer.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except (urllib.error.URLError, OSError) as exc:
            log.info("sandbox callback to %s failed (%s), try %d", url, exc, attempt + 1)
        time.sleep(0.5 * 2**attempt)
    log.warning("sandbox callback to %s given up", url)


async def deliver_callback(url: str, body: bytes, headers: dict[str, str]) -> None:
    await asyncio.to_thread(_deliver, url, body, headers)


@post("/cong-thu-nghiem", include_in_schema=False)
async def sandbox_choose(request: Request[Any, Any, Any]) -> Response[Any]:
    """The tester's choice: the browser goes back to the app with a signed result, and the sandbox posts the
    signed callback (after the response: it may arrive before or after the browser)."""
    gw = _sandbox(payments_of(request).settings)
    form = await request.form()
    params = _sandbox_request(gw, {k: str(v) for k, v in form.items() if isinstance(v, str)})
    outcome = str(form.get("outcome") or "")
    if outcome not in OUTCOMES:
        raise InvalidInput("Chưa chọn kết quả.", field="outcome")
    return_url, body, headers = gw.outcome(params, outcome)
    background = None
    if payments_of(request).settings.sandbox_callbacks == "http" and params["callback_url"].startswith(("http://", "https://")):
        background = BackgroundTask(deliver_callback, params["callback_url"], body, headers)
    return Redirect(return_url, status_code=303, background=background)


# --- officers -------------------------------------------------------------------------------------
def _officer_context(session: Session, officer_id: int, dossier_id: int) -> dict[str, Any]:
    d = service.officer_dossier(session, officer_id, dossier_id)
    proc = session.scalar(select(Procedure).where(Procedure.code == d.procedure_code))
    rows = []
    for p in service.dossier_payments(session, d.id):
        amount, due, why = service.refundable(session, p)
        rows.append({"p": p, "events": service.events_of(session, p.id), "refunds": service.refunds_of(session, p.id),
                     "receipt": service.receipt_of(session, p.id), "refundable": amount, "refund_due": due,
                     "refund_why": why})
    return {"d": d, "procedure_name": proc.name if proc else d.procedure_code, "rows": rows,
            "q": fees.quote_for_dossier(session, d), "names": NAMES_VI, "refund_names": REFUND_NAMES_VI,
            "RefundStatus": RefundStatus}


async def _officer_page(request: Request[Any, Any, Any], dossier_id: int, *, message: str = "",
                        error: DomainError | None = None, status: int = 200) -> Response[Any]:
    me = page_principal(request)
    assert me is not None
    ctx = await request.app.state.db.read(_officer_context, me.user_id, dossier_id)
    return render(request, "payments/officer.html", {**ctx, "message": message, "error": error}, status=status)


@get("/can-bo/ho-so/{dossier_id:int}/thanh-toan", include_in_schema=False)
async def officer_view(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    if page_principal(request) is None:
        return login_redirect(request)
    return await _officer_page(request, dossier_id, message=request.query_params.get("tb") or "")


async def _officer_action(request: Request[Any, Any, Any], dossier_id: int, action: Any) -> Response[Any]:
    me = page_user(request)
    db = request.app.state.db
    await db.read(service.officer_dossier, me.user_id, dossier_id)
    try:
        message = await action(me)
    except StepUpRequired as exc:
        return await _officer_page(request, dossier_id, error=exc, status=403)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _officer_page(request, dossier_id, error=exc, status=exc.status)
    return Redirect(f"/can-bo/ho-so/{dossier_id}/thanh-toan?tb={quote(message)}", status_code=303)


def _int_field(value: Any, name: str) -> int:
    text = str(value or "").replace(".", "").replace(",", "").strip()
    if not text.isdigit() or len(text) > 12:
        raise InvalidInput("Số tiền không hợp lệ.", field=name)
    return int(text)


@post("/can-bo/ho-so/{dossier_id:int}/thanh-toan/{payment_id:int}/xac-nhan", include_in_schema=False)
async def officer_confirm(request: Request[Any, Any, Any], dossier_id: int, payment_id: int) -> Response[Any]:
    form = await request.form()

    async def run(me: Any) -> str:
        applied = await request.app.state.db.write(
            service.confirm_transfer,
            me.user_id,
            payment_id,
            amount_vnd=_int_field(form.get("amount_vnd"), "amount_vnd"),
            bank_ref=str(form.get("bank_ref") or ""),
            ip=client_ip(request),
            ctx=payments_of(request),
        )
        if applied.ack.value == "invalid_amount":
            raise InvalidInput("Số tiền nhận được khác số tiền phải nộp: chưa xác nhận.", field="amount_vnd")
        if applied.waits_for_second:
            return "Đã ghi nhận. Số tiền lớn: cần một cán bộ khác xác nhận lần hai."
        return (
            "Đã xác nhận khoản chuyển khoản."
            if applied.ack.value == "confirmed"
            else "Khoản này đã được xử lý trước đó."
        )

    return await _officer_action(request, dossier_id, run)


@post("/can-bo/ho-so/{dossier_id:int}/thanh-toan/{payment_id:int}/hoan-tra", include_in_schema=False)
async def officer_refund(request: Request[Any, Any, Any], dossier_id: int, payment_id: int) -> Response[Any]:
    form = await request.form()

    async def run(me: Any) -> str:
        result = await refund_payment(request, me, payment_id, str(form.get("reason") or ""))
        return {"success": "Đã hoàn trả.", "submitted": "Đã ghi yêu cầu hoàn trả; hãy chuyển trả và ghi kết quả.",
                "error": f"Hoàn trả không thành công: {result.get('error') or ''}"}[result["status"]]

    return await _officer_action(request, dossier_id, run)


@post("/can-bo/ho-so/{dossier_id:int}/hoan-tra/{refund_id:int}", include_in_schema=False)
async def officer_complete_refund(request: Request[Any, Any, Any], dossier_id: int, refund_id: int) -> Response[Any]:
    form = await request.form()

    async def run(me: Any) -> str:
        await request.app.state.db.write(service.complete_refund, me.user_id, refund_id,
                                         ok=form.get("ok") == "1", reference=str(form.get("reference") or ""))
        return "Đã ghi kết quả hoàn trả."

    return await _officer_action(request, dossier_id, run)


@post("/can-bo/ho-so/{dossier_id:int}/le-phi", include_in_schema=False)
async def officer_assess(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    form = await request.form()

    async def run(me: Any) -> str:
        await request.app.state.db.write(service.assess_fee, me.user_id, dossier_id,
                                         _int_field(form.get("amount_vnd"), "amount_vnd"),
                                         name=str(form.get("name") or ""), reason=str(form.get("reason") or ""),
                                         ctx=payments_of(request))
        return "Đã ghi mức phí của hồ sơ."

    return await _officer_action(request, dossier_id, run)


def _day(raw: str | None) -> date:

    try:
        return date.fromisoformat(raw) if raw else datetime.now(TZ).date()
    except ValueError:
        raise InvalidInput("Ngày không hợp lệ (YYYY-MM-DD).", field="ngay") from None


@get("/can-bo/thanh-toan/doi-soat", include_in_schema=False)
async def reconciliation_page(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    day = _day(request.query_params.get("ngay"))
    gateway = request.query_params.get("cong") or None
    if gateway and gateway not in GATEWAYS:
        raise InvalidInput("Không có cổng thanh toán này.", field="cong")

    def run(session: Session) -> list[dict[str, Any]]:
        if service.officer_units(session, me.user_id) == []:
            raise NotFound("Không tìm thấy trang.")
        return reconcile.lines(session, me.user_id, day, gateway)

    rows = await request.app.state.db.read(run)
    return render(request, "payments/reconciliation.html", {
        "day": day, "gateway": gateway or "", "rows": rows, "summary": reconcile.summary(rows), "gateways": GATEWAYS,
        "report": None})


@get("/can-bo/thanh-toan/doi-soat.csv", include_in_schema=False)
async def reconciliation_download(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    gateway = request.query_params.get("cong") or None
    return await reconciliation_csv(request, me.user_id, _day(request.query_params.get("ngay")), gateway,
                                    request.query_params.get("tong-hop") == "1")


@post("/can-bo/thanh-toan/sao-ke", include_in_schema=False, request_max_body_size=6 * 1024 * 1024)
async def statement_upload(request: Request[Any, Any, Any]) -> Response[Any]:
    """Import a bank statement (CSV) to confirm VietQR transfers by dossier code and amount."""
    me = page_user(request)
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise InvalidInput("Chưa chọn tệp sao kê.", field="file")
    text = (await upload.read()).decode("utf-8-sig", errors="replace")
    report = await request.app.state.db.write(service.import_statement, me.user_id, text, ip=client_ip(request),
                                              ctx=payments_of(request))
    day = _day(None)
    rows = await request.app.state.db.read(reconcile.lines, me.user_id, day, None)
    return render(request, "payments/reconciliation.html", {
        "day": day, "gateway": "", "rows": rows, "summary": reconcile.summary(rows), "gateways": GATEWAYS,
        "report": report})


ROUTES = [pay_page, pay_summary, pay, go_to_gateway, gateway_return, status_page, status_partial, transferred,
          cancel, receipt_page, verify_receipt, sandbox_page, sandbox_choose, officer_view, officer_confirm,
          officer_refund, officer_complete_refund, officer_assess, reconciliation_page, reconciliation_download,
          statement_upload]
