"""JSON API of payments: pay a dossier's fee, follow the payment, its receipt, gateway callbacks, and the
officers' side (confirm a transfer, refunds, fee assessment, bank statements, daily reconciliation)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post, put, route
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.orm import Session

from api.web.payments import handle_message, reconciliation_csv, refund_payment
from api.web.providers import API_USER
from api.web.session import client_ip
from api.web.state import payments_of
from auth.tokens import Principal
from domain.db import Database
from domain.dossiers.filing import get_dossier
from domain.errors import NotFound
from domain.payments import fees, gateways, receipts
from domain.payments import operations as service
from domain.payments.context import PaymentContext
from domain.payments.machine import LIVE
from domain.payments.models import Payment
from domain.settings import GATEWAYS

log = logging.getLogger("motcua")
CALLBACK_MAX = 64 * 1024
STATEMENT_MAX = 5 * 1024 * 1024


class PaymentIn(msgspec.Struct, forbid_unknown_fields=True):
    gateway: str


class FeeLineOut(msgspec.Struct):
    label: str
    quantity: int
    amount_vnd: int


class FeeOut(msgspec.Struct):
    amount_vnd: int | None
    kind: str
    name: str
    source: str
    text: str
    lines: list[FeeLineOut]
    gateways: list[str]


class ConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    amount_vnd: int
    bank_ref: str


class RefundIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str = ""


class CompleteRefundIn(msgspec.Struct, forbid_unknown_fields=True):
    ok: bool
    reference: str = ""


class AssessIn(msgspec.Struct, forbid_unknown_fields=True):
    amount_vnd: int
    reason: str
    name: str = ""


class EventOut(msgspec.Struct):
    id: int
    kind: str
    received_at: datetime
    signature_ok: bool
    outcome: str
    amount_vnd: int | None
    result: str
    from_status: str
    to_status: str


def fee_out(q: fees.FeeQuote, enabled: tuple[str, ...]) -> FeeOut:
    return FeeOut(amount_vnd=q.amount_vnd, kind=q.kind, name=q.name, source=q.source, text=q.text,
                  lines=[FeeLineOut(x.label, x.quantity, x.amount_vnd) for x in q.lines],
                  gateways=list(enabled))


def _overdue(view: dict[str, Any]) -> bool:
    return view["status"] in LIVE and view["expires_at"] <= datetime.now(UTC)


def _viewed(step: Callable[[Session, int, int], Payment], user_id: int, payment_id: int,
            ctx: PaymentContext) -> Callable[[Session], dict[str, Any]]:
    """A unit of work: ``step`` on the caller's payment (found for them or 404), answered as the payment's view."""
    return lambda session: service.payment_view(session, step(session, user_id, payment_id), ctx)


class DossierPaymentController(Controller):
    path = "/api/v1/dossiers/{dossier_id:int}"
    tags = ["payments"]
    dependencies = {"me": API_USER}

    @get("/fee")
    async def fee(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int) -> FeeOut:
        """The dossier's fee and how it is made up (drafts included: shown before filing)."""
        return fee_out(await db.read(service.quote, me.user_id, dossier_id), payments_of(request).settings.enabled)

    @post("/payments", status_code=HTTP_201_CREATED)
    async def create(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int,
                     data: PaymentIn) -> dict[str, Any]:
        """Pay the dossier's fee through a gateway. Send an `Idempotency-Key` (kept 24 h): the same key and
        body answer the same payment, another body 409. A dossier has at most one live or paid payment.
        Answers `{id, status, amount_vnd, redirect_url | qr}`: send the payer to `redirect_url`, or show `qr`."""
        key = request.headers.get("idempotency-key", "")
        return await db.write(
            service.create_payment, me.user_id, dossier_id, data.gateway, key=key, ip=client_ip(request),
            ctx=payments_of(request))

    @get("/payments")
    async def list_payments(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                            dossier_id: int) -> list[dict[str, Any]]:
        ctx = payments_of(request)

        def run(session: Any) -> list[dict[str, Any]]:
            d = get_dossier(session, me.user_id, dossier_id)
            return [service.payment_view(session, p, ctx) for p in service.dossier_payments(session, d.id)]

        return await db.read(run)


class PaymentController(Controller):
    path = "/api/v1/payments"
    tags = ["payments"]
    dependencies = {"me": API_USER}

    @get("/{payment_id:int}")
    async def read(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, payment_id: int
    ) -> dict[str, Any]:
        """A payment: status (created, started, submitted, success, failed, cancelled, expired, error)."""
        ctx = payments_of(request)
        view = await db.read(_viewed(service.get_payment, me.user_id, payment_id, ctx))
        if _overdue(view):
            view = await db.write(_viewed(service.refresh, me.user_id, payment_id, ctx))
        return view

    @post("/{payment_id:int}/cancel", status_code=HTTP_200_OK)
    async def cancel(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, payment_id: int
    ) -> dict[str, Any]:
        """Give up a payment not yet submitted to the gateway."""
        return await db.write(_viewed(service.cancel, me.user_id, payment_id, payments_of(request)))

    @post("/{payment_id:int}/transferred", status_code=HTTP_200_OK)
    async def transferred(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, payment_id: int
    ) -> dict[str, Any]:
        """VietQR: the payer has made the transfer; the payment waits for the bank (submitted)."""
        return await db.write(_viewed(service.mark_transferred, me.user_id, payment_id, payments_of(request)))

    @get("/{payment_id:int}/receipt")
    async def receipt(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, payment_id: int
    ) -> dict[str, Any]:
        """The e-receipt of a successful payment (number in the unit's series, payer, amount, fee, dossier,
        verification URL of its QR code); 404 while unpaid."""
        _payment, receipt = await db.read(service.my_receipt, me.user_id, payment_id)
        return receipts.as_dict(receipt, payments_of(request).public_url)


@route("/api/v1/payments/callbacks/{gateway:str}", http_method=["GET", "POST"], tags=["payments"],
       request_max_body_size=CALLBACK_MAX)
async def callback(request: Request[Any, Any, Any], gateway: str) -> Response[Any]:
    """Server-to-server notifications from a gateway (VNPAY's IPN is a GET; others POST JSON). The message's
    signature and amount are checked; it is applied at most once and always recorded; the answer is in the
    gateway's own dialect (VNPAY: `{"RspCode","Message"}`)."""
    settings = payments_of(request).settings
    if gateway not in GATEWAYS or gateway not in gateways.enabled_names(settings):
        raise NotFound("Không có cổng thanh toán này.")
    gw = gateways.make(gateway, settings)
    if not gw.has_callbacks:
        raise NotFound("Cổng thanh toán này không gửi thông báo kết quả (no callbacks).")
    body = await request.body() if request.method == "POST" else b""
    query = {k: v for k, v in request.query_params.items()}
    headers = {k.lower(): v for k, v in request.headers.items()}
    notice = gw.parse_callback(query, body, headers)
    applied = await handle_message(request, gateway, notice, "callback")
    status, answer = gw.reply(applied.ack, applied.status)
    return Response(answer, status_code=status, media_type="application/json")


# --- officers ---------------------------------------------------------------------------------------
class OfficerPaymentController(Controller):
    path = "/api/v1/officer"
    tags = ["payments (officers)"]
    dependencies = {"me": API_USER}

    @get("/dossiers/{dossier_id:int}/payments")
    async def dossier_payments(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                               dossier_id: int) -> list[dict[str, Any]]:
        """Every payment of a dossier of my units, with the messages received about it."""
        ctx = payments_of(request)

        def run(session: Any) -> list[dict[str, Any]]:
            d = service.officer_dossier(session, me.user_id, dossier_id)
            out = []
            for p in service.dossier_payments(session, d.id):
                view = service.payment_view(session, p, ctx)
                view["anomaly"] = p.anomaly
                view["events"] = [msgspec.to_builtins(EventOut(
                    id=e.id, kind=e.kind, received_at=e.received_at, signature_ok=e.signature_ok, outcome=e.outcome,
                    amount_vnd=e.amount_vnd, result=e.result, from_status=e.from_status, to_status=e.to_status))
                    for e in service.events_of(session, p.id)]
                out.append(view)
            return out

        return await db.read(run)

    @put("/dossiers/{dossier_id:int}/fee")
    async def assess(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int, data: AssessIn
    ) -> FeeOut:
        """Set the dossier's fee (decided by the council, or unclear in the catalogue), with its basis."""
        ctx = payments_of(request)

        def run(session: Any) -> FeeOut:
            service.assess_fee(session, me.user_id, dossier_id, data.amount_vnd, name=data.name, reason=data.reason,
                               ctx=ctx)
            return fee_out(fees.quote_for_dossier(session, service.officer_dossier(session, me.user_id, dossier_id)),
                           ctx.settings.enabled)

        return await db.write(run)

    @post("/payments/{payment_id:int}/confirm", status_code=HTTP_200_OK)
    async def confirm(self, request: Request[Any, Any, Any], db: Database, me: Principal, payment_id: int,
                      data: ConfirmIn) -> dict[str, Any]:
        """VietQR: I saw the transfer (amount and bank reference) on the account. Above the four-eyes amount
        (``MOTCUA_PAYMENT_SECOND_CONFIRM_VND``) the answer is ``pending_second`` until another officer confirms
        the same amount and reference."""
        applied = await db.write(service.confirm_transfer, me.user_id, payment_id,
                                                   amount_vnd=data.amount_vnd, bank_ref=data.bank_ref,
                                                   ip=client_ip(request), ctx=payments_of(request))
        return {"result": applied.result, "status": applied.status}

    @post("/payments/{payment_id:int}/refunds", status_code=HTTP_201_CREATED)
    async def refund(self, request: Request[Any, Any, Any], me: Principal, payment_id: int,
                     data: RefundIn) -> dict[str, Any]:
        """Refund a paid fee when the rules say so (refused at intake, withdrawn before receipt). Needs a
        passkey step-up in this session within 5 minutes (`/api/v1/auth/step-up/...`)."""
        return await refund_payment(request, me, payment_id, data.reason)

    @post("/refunds/{refund_id:int}/complete", status_code=HTTP_200_OK)
    async def complete(self, request: Request[Any, Any, Any], db: Database, me: Principal, refund_id: int,
                       data: CompleteRefundIn) -> dict[str, Any]:
        """A refund made by hand (VietQR transfer back): record whether it went through."""
        r = await db.write(service.complete_refund, me.user_id, refund_id, ok=data.ok,
                                             reference=data.reference)
        return {"id": r.id, "status": r.status}

    @get("/payments/reconciliation", media_type="text/csv")
    async def reconciliation(self, request: Request[Any, Any, Any], me: Principal, day: date | None = None,
                             gateway: str | None = None, summary: bool = False) -> Response[str]:
        """The day's payments (Vietnam time) in my units per gateway and status, as CSV; `summary=true`
        for totals per gateway and status."""
        return await reconciliation_csv(request, me.user_id, day, gateway, summary)

    @post("/payments/bank-statement", status_code=HTTP_200_OK, request_max_body_size=STATEMENT_MAX)
    async def statement(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> dict[str, Any]:
        """Import a bank statement (CSV body, UTF-8): credits are matched to VietQR payments by dossier code
        and amount. Answers each line's result."""
        text = (await request.body()).decode("utf-8", errors="replace")
        report = await db.write(service.import_statement, me.user_id, text, ip=client_ip(request),
                                ctx=payments_of(request))
        return {"lines": [dataclasses.asdict(x) for x in report.lines],
                "confirmed": report.count("confirmed")}


ROUTES: list[Any] = [DossierPaymentController, PaymentController, OfficerPaymentController, callback]
