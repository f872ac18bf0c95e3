"""Payment use cases: plain functions taking a Session (see ``domain/db.py``).

* Creating a payment takes an ``Idempotency-Key`` (24 h): same key and body → the same payment, other
  body → 409. The dossier row is locked first and ``Payment.open_dossier_id`` is UNIQUE, so a dossier
  never has two live or paid payments (a double tap makes one payment).
* Every gateway message goes through :func:`apply_notice`: it is recorded raw (``PaymentEvent``)
  whatever it says, its signature and amount are checked, the payment row is locked, and only the
  state machine's table may change the status. Failures are *returned* as an :class:`Ack` so that
  the record of a refused message is committed.
* Every status change writes an audit row; a success numbers and stores the e-receipt.
* What they need from the composition root (the payments section, the public address, the storage)
  comes in as one :class:`~domain.payments.context.PaymentContext` (``ctx``); nothing is looked up.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from domain.accounts.models import OfficerRole, User
from domain.accounts.passkeys import require_step_up
from domain.audit import record
from domain.calendar.engine import TZ
from domain.catalog.models import Unit
from domain.clock import utc
from domain.dossiers.backoffice import end_pause
from domain.dossiers.filing import get_dossier, remember, store_answer, visible_dossiers
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier
from domain.errors import Conflict, InvalidInput, NotFound
from domain.outbox.enqueue import payment_event
from domain.payments import fees, gateways, receipts
from domain.payments.context import PaymentContext
from domain.payments.gateways.base import Ack, Notice, PaymentInfo, RefundResult, StartResult
from domain.payments.machine import (
    FINAL,
    LIVE,
    NAMES_VI,
    OUTCOME_EVENT,
    REFUND_NAMES_VI,
    RefundStatus,
    Status,
    can,
    next_refund_status,
    next_status,
)
from domain.payments.models import FeeAssessment, Payment, PaymentEvent, Receipt, Refund
from domain.settings import PAYMENT_EXPIRY as EXPIRY
from domain.settings import PaymentSettings
from domain.stats import rollups
from domain.workflow import Actor, State

CLOSED_DOSSIER = ("draft", "withdrawn", "refused_at_intake", "rejected")
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RAW_LIMIT = 16_000


def _now() -> datetime:
    return datetime.now(UTC)


def new_reference() -> str:
    """Our order id at the gateway: unguessable, letters and digits only (VNPAY's vnp_TxnRef)."""
    return "TT" + "".join(secrets.choice(REF_ALPHABET) for _ in range(14))


def next_url(payment: Payment, public_url: str) -> str:
    """Where the payer goes to pay (GOV.UK Pay's next_url): our page, which starts the gateway."""
    return f"{public_url}/thanh-toan/chuyen/{payment.reference}"


def payment_info(session: Session, payment: Payment, public_url: str) -> PaymentInfo:
    dossier = session.get(Dossier, payment.dossier_id)
    base = public_url
    return PaymentInfo(reference=payment.reference, amount_vnd=payment.amount_vnd,
                       dossier_code=(dossier.code if dossier else "") or "", fee_name=payment.fee_name,
                       client_ip=payment.client_ip, created_at=utc(payment.created_at),
                       expires_at=utc(payment.expires_at), return_url=f"{base}/thanh-toan/ve/{payment.gateway}",
                       callback_url=f"{base}/api/v1/payments/callbacks/{payment.gateway}",
                       gateway_txn=payment.gateway_txn, paid_at=utc(payment.paid_at) if payment.paid_at else None)


# --- views --------------------------------------------------------------------------------------
def qr_details(payment: Payment, s: PaymentSettings) -> dict[str, Any] | None:
    if not payment.qr_payload:
        return None
    decoded = gateways.vietqr_fields(payment.qr_payload)
    return {"payload": payment.qr_payload, "bank_bin": s.vietqr_bank_bin, "account": s.vietqr_account,
            "account_name": s.vietqr_account_name, "amount_vnd": payment.amount_vnd,
            "purpose": decoded.get("62.08", "")}


def payment_view(session: Session, payment: Payment, ctx: PaymentContext) -> dict[str, Any]:
    dossier = session.get(Dossier, payment.dossier_id)
    receipt = session.scalar(select(Receipt).where(Receipt.payment_id == payment.id))
    refunds = session.scalars(select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id))
    live = payment.status in LIVE
    return {
        "id": payment.id, "reference": payment.reference, "dossier_id": payment.dossier_id,
        "dossier_code": dossier.code if dossier else None, "status": payment.status,
        "status_name": NAMES_VI[Status(payment.status)], "finished": payment.status in FINAL,
        "amount_vnd": payment.amount_vnd, "fee_name": payment.fee_name, "gateway": payment.gateway,
        "created_at": utc(payment.created_at), "expires_at": utc(payment.expires_at),
        "paid_at": utc(payment.paid_at) if payment.paid_at else None,
        "redirect_url": next_url(payment, ctx.public_url) if live and payment.gateway != "vietqr" else None,
        "qr": qr_details(payment, ctx.settings) if live or payment.gateway == "vietqr" else None,
        "receipt_url": f"{ctx.public_url}/api/v1/payments/{payment.id}/receipt" if receipt else None,
        "refunds": [{"id": r.id, "amount_vnd": r.amount_vnd, "status": r.status,
                     "status_name": REFUND_NAMES_VI[RefundStatus(r.status)], "created_at": utc(r.created_at)}
                    for r in refunds],
    }


# --- scope ----------------------------------------------------------------------------------------
def visible_payments(session: Session, user_id: int) -> Select[Any]:
    ids = visible_dossiers(session, user_id).with_only_columns(Dossier.id).scalar_subquery()
    return select(Payment).where(Payment.dossier_id.in_(ids))


def get_payment(session: Session, user_id: int, payment_id: int, *, for_update: bool = False) -> Payment:
    query = visible_payments(session, user_id).where(Payment.id == payment_id)
    payment: Payment | None = session.scalar(query.with_for_update() if for_update else query)
    if payment is None:
        raise NotFound("Không tìm thấy khoản thanh toán.")
    return payment


# Who handles money: a unit's accountant or its unit admin (security review finding 2), not every officer.
PAYMENT_ROLES = ("accountant", "unit_admin")


def officer_units(session: Session, user_id: int) -> list[str] | None:
    """The units whose payments this officer handles (a payment role there); None for the system
    administrator (every unit); [] for anyone else."""
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        return []
    if user.kind == "admin":
        return None
    if user.kind != "officer":
        return []
    return list(session.scalars(select(OfficerRole.unit_code).where(
        OfficerRole.user_id == user_id, OfficerRole.role.in_(PAYMENT_ROLES)).distinct()))


def _in_units(units: list[str] | None) -> Any:
    """Dossiers of these units, never a draft (nobody's money is due on a draft)."""
    filed = Dossier.status != "draft"
    if units is None:
        return filed
    return filed & (Dossier.unit_code.in_(units) | Dossier.handling_unit.in_(units))


def officer_dossier(session: Session, officer_id: int, dossier_id: int) -> Dossier:
    units = officer_units(session, officer_id)
    dossier = session.scalar(select(Dossier).where(Dossier.id == dossier_id, _in_units(units))) \
        if units != [] else None
    if dossier is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    return dossier


def officer_payment(session: Session, officer_id: int, payment_id: int, *, for_update: bool = False) -> Payment:
    units = officer_units(session, officer_id)
    payment = None
    if units != []:
        query = select(Payment).join(Dossier, Dossier.id == Payment.dossier_id).where(
            Payment.id == payment_id, _in_units(units))
        payment = session.scalar(query.with_for_update(of=Payment) if for_update else query)
    if payment is None:
        raise NotFound("Không tìm thấy khoản thanh toán.")
    return payment


# --- transitions ------------------------------------------------------------------------------------
def _transition(session: Session, payment: Payment, event: str, *, now: datetime, actor_id: int | None = None,
                ctx: PaymentContext | None = None, **detail: Any) -> str:
    """Move the payment by the table; a success (only a gateway message, :func:`apply_notice`, makes one)
    needs ``ctx`` for its receipt."""
    before = payment.status
    after = next_status(before, event)
    payment.status = after.value
    payment.updated_at = now
    if after == Status.STARTED:
        payment.started_at = now
    elif after == Status.SUBMITTED:
        payment.submitted_at = now
    if after in FINAL:
        payment.finished_at = now
        if after != Status.SUCCESS:
            payment.open_dossier_id = None  # the dossier may be paid again
    record(session, f"payment.{after.value}", actor_id=actor_id, subject=f"payment:{payment.id}",
           dossier=payment.dossier_id, gateway=payment.gateway, amount_vnd=payment.amount_vnd, from_status=before,
           **detail)
    if after == Status.SUCCESS:
        if ctx is None:
            raise RuntimeError("a successful payment issues its receipt: pass the payment context")
        _issue_receipt(session, payment, ctx)
        _resume_after_fee(session, payment, now)
    if after.value != before:
        payment_event(session, payment.dossier_id, payment.amount_vnd, after.value)  # the filer learns at once
        rollups.on_payment_change(session, payment, before, after.value)  # the dashboard's online-fee share
    return before


def _resume_after_fee(session: Session, payment: Payment, now: datetime) -> None:
    """A dossier waiting for fees or taxes asked after intake (``fee_requested``) is paid: the applicant's
    payment fires ``fee_paid`` through the workflow table and the legal clock runs again."""
    dossier = session.get(Dossier, payment.dossier_id, with_for_update=True)
    if dossier is None or dossier.status != State.FEE_REQUESTED.value:
        return
    fire(session, dossier, "fee_paid", actor_id=payment.payer_id, actors={Actor.APPLICANT}, now=now,
         detail={"payment_id": payment.id, "amount_vnd": payment.amount_vnd})
    end_pause(session, dossier, now)


def _issue_receipt(session: Session, payment: Payment, ctx: PaymentContext) -> Receipt:
    dossier = session.get(Dossier, payment.dossier_id)
    assert dossier is not None
    data = json.loads(dossier.data or "{}")
    payer = session.get(User, payment.payer_id)
    name = str(data.get("applicant_name") or (payer.full_name if payer else "") or "")
    unit = session.get(Unit, payment.unit_code)
    return receipts.issue(session, payment, dossier_code=dossier.code or "", payer_name=name,
                          unit_name=unit.name if unit else payment.unit_code, owner_id=dossier.owner_id,
                          organisation_id=dossier.organisation_id, public_url=ctx.public_url, storage=ctx.storage)


def _expire_if_due(session: Session, payment: Payment, now: datetime) -> bool:
    if payment.status in LIVE and now >= utc(payment.expires_at):
        _transition(session, payment, "expire", now=now)
        session.add(PaymentEvent(payment_id=payment.id, gateway=payment.gateway, kind="system", received_at=now,
                                 reference=payment.reference, signature_ok=True, outcome="expired", result="confirmed",
                                 from_status="", to_status=Status.EXPIRED.value, raw="{}"))
        return True
    return False


# --- fees -----------------------------------------------------------------------------------------
def quote(session: Session, user_id: int, dossier_id: int) -> fees.FeeQuote:
    return fees.quote_for_dossier(session, get_dossier(session, user_id, dossier_id))


def assess_fee(session: Session, officer_id: int, dossier_id: int, amount_vnd: int, *, name: str = "",
               reason: str = "", ctx: PaymentContext) -> FeeAssessment:
    """An officer sets the amount of one dossier (a fee the council decides, or the catalogue left unclear)."""
    dossier = officer_dossier(session, officer_id, dossier_id)
    if not isinstance(amount_vnd, int) or amount_vnd < 0 or amount_vnd > ctx.settings.max_amount_vnd:
        raise InvalidInput("Số tiền không hợp lệ.", field="amount_vnd")
    if not reason.strip():
        raise InvalidInput("Cần ghi căn cứ (nghị quyết của HĐND, văn bản…).", field="reason")
    live = session.scalar(select(Payment).where(Payment.open_dossier_id == dossier.id))
    if live is not None and live.amount_vnd != amount_vnd:
        raise Conflict("Hồ sơ đang có khoản thanh toán với số tiền khác; không đổi được mức phí.", field="amount_vnd")
    row = session.get(FeeAssessment, dossier.id) or FeeAssessment(dossier_id=dossier.id)
    row.amount_vnd, row.name, row.reason = amount_vnd, name.strip()[:255], reason.strip()[:2000]
    row.set_by, row.set_at = officer_id, _now()
    session.add(row)
    dossier.fee_vnd = amount_vnd
    record(session, "payment.fee_assessed", actor_id=officer_id, subject=f"dossier:{dossier.id}",
           amount_vnd=amount_vnd, reason=row.reason)
    session.flush()
    return row


# --- creating and starting ------------------------------------------------------------------------------
def create_payment(  # noqa: C901  (each refusal of the fee flow, in order)
    session: Session, user_id: int, dossier_id: int, gateway: str, *, key: str = "", ip: str = "",
    now: datetime | None = None, ctx: PaymentContext,
) -> dict[str, Any]:
    """Create (or find again) the payment of a dossier's fee; answers the API's view of it."""
    now = now or _now()
    if not isinstance(gateway, str) or not gateway:
        raise InvalidInput("Chưa chọn cổng thanh toán.", field="gateway")
    gw = gateways.enabled(gateway, ctx.settings)
    dossier = get_dossier(session, user_id, dossier_id, for_update=True)  # serialises every payment of it
    scope = f"payment:{dossier.id}"
    stored = remember(session, user_id, scope, key, {"gateway": gateway})
    if stored is not None:
        answer = json.loads(stored.response or "{}")
        if "payment_id" not in answer:
            raise Conflict("Yêu cầu với Idempotency-Key này đang được xử lý.", field="Idempotency-Key")
        payment = get_payment(session, user_id, int(answer["payment_id"]))
        _expire_if_due(session, payment, now)
        return payment_view(session, payment, ctx)
    if dossier.code is None or dossier.status in CLOSED_DOSSIER:
        raise Conflict("Hồ sơ chưa nộp hoặc đã kết thúc: không thanh toán được.", field="status")
    current = session.scalar(select(Payment).where(Payment.open_dossier_id == dossier.id).with_for_update())
    if current is not None:
        _expire_if_due(session, current, now)
        if current.status == Status.SUCCESS:
            raise Conflict("Hồ sơ này đã được thanh toán.", field="dossier")
        if current.status in LIVE:
            if current.gateway != gateway:
                raise Conflict("Hồ sơ đang có một giao dịch thanh toán chưa kết thúc qua cổng khác; "
                               "hãy hoàn tất hoặc huỷ giao dịch đó trước.", field="gateway")
            store_answer(session, user_id, scope, key, {"payment_id": current.id})
            return payment_view(session, current, ctx)  # a double tap: the same payment
    q = fees.quote_for_dossier(session, dossier)
    if q.amount_vnd is None:
        raise Conflict("Chưa xác định được mức phí, lệ phí của hồ sơ; cơ quan tiếp nhận sẽ thông báo.",
                       field="amount_vnd")
    if q.amount_vnd < 0 or q.amount_vnd > ctx.settings.max_amount_vnd:
        raise InvalidInput("Số tiền phải nộp không hợp lệ; hãy liên hệ cơ quan tiếp nhận.", field="amount_vnd")
    if q.amount_vnd == 0:
        raise Conflict("Thủ tục này không thu phí, lệ phí.", field="amount_vnd")
    payment = Payment(reference=new_reference(), dossier_id=dossier.id, open_dossier_id=dossier.id, payer_id=user_id,
                      unit_code=dossier.unit_code, gateway=gateway, amount_vnd=q.amount_vnd, fee_name=q.name,
                      status=Status.CREATED.value, client_ip=(ip or "")[:64], created_at=now, updated_at=now,
                      expires_at=now + EXPIRY)
    session.add(payment)
    session.flush()
    record(session, "payment.created", actor_id=user_id, subject=f"payment:{payment.id}", dossier=dossier.id,
           gateway=gateway, amount_vnd=q.amount_vnd)
    if dossier.fee_vnd != q.amount_vnd:
        dossier.fee_vnd = q.amount_vnd
    if not gw.redirects:  # VietQR: the QR is the payment page, handed over now
        started = gw.start(payment_info(session, payment, ctx.public_url))
        payment.qr_payload = started.qr_payload
        _transition(session, payment, "start", now=now, actor_id=user_id)
    store_answer(session, user_id, scope, key, {"payment_id": payment.id})
    session.flush()
    return payment_view(session, payment, ctx)


@dataclass
class Redirect:
    status: str
    payment_id: int
    url: str | None = None  # known already (or None: ask the gateway)
    info: PaymentInfo | None = None


def begin_redirect(session: Session, reference: str, now: datetime | None = None, *, public_url: str) -> Redirect:
    """The payer opens the next URL: the payment is started; the gateway's URL is reused once known."""
    now = now or _now()
    payment = session.scalar(select(Payment).where(Payment.reference == reference[:32]).with_for_update())
    if payment is None or payment.gateway == "vietqr":
        raise NotFound("Không tìm thấy khoản thanh toán.")
    _expire_if_due(session, payment, now)
    if payment.status == Status.CREATED:
        _transition(session, payment, "start", now=now)
    if payment.status not in LIVE:
        return Redirect(payment.status, payment.id)
    return Redirect(payment.status, payment.id, payment.redirect_url,
                    None if payment.redirect_url else payment_info(session, payment, public_url))


def record_redirect(session: Session, reference: str, result: StartResult) -> Redirect:
    payment = session.scalar(select(Payment).where(Payment.reference == reference[:32]).with_for_update())
    if payment is None:
        raise NotFound("Không tìm thấy khoản thanh toán.")
    now = _now()
    if result.error:
        session.add(PaymentEvent(payment_id=payment.id, gateway=payment.gateway, kind="system", received_at=now,
                                 reference=payment.reference, signature_ok=True, outcome="error", result="error",
                                 from_status=payment.status, to_status=Status.ERROR.value,
                                 raw=json.dumps({"error": result.error}, ensure_ascii=False)))
        if payment.status in LIVE:
            payment.failure_code = "start"
            _transition(session, payment, "error", now=now, error=result.error[:500])
        return Redirect(payment.status, payment.id)
    if payment.redirect_url is None and payment.status in LIVE:
        payment.redirect_url = result.redirect_url
    return Redirect(payment.status, payment.id, payment.redirect_url)


def mark_transferred(session: Session, user_id: int, payment_id: int) -> Payment:
    """VietQR: the payer says the transfer is made; the payment waits for the bank (submitted)."""
    payment = get_payment(session, user_id, payment_id, for_update=True)
    now = _now()
    if not _expire_if_due(session, payment, now) and can("submit", payment.status):
        _transition(session, payment, "submit", now=now, actor_id=user_id)
    return payment


def cancel(session: Session, user_id: int, payment_id: int) -> Payment:
    """The payer gives up a payment not yet submitted (a submitted one may already have moved money)."""
    payment = get_payment(session, user_id, payment_id, for_update=True)
    now = _now()
    if _expire_if_due(session, payment, now):
        return payment
    if payment.status not in (Status.CREATED, Status.STARTED):
        raise Conflict(f"Không huỷ được khoản thanh toán “{NAMES_VI[Status(payment.status)]}”.", field="status")
    _transition(session, payment, "cancel", now=now, actor_id=user_id, by="payer")
    return payment


def refresh(session: Session, user_id: int, payment_id: int) -> Payment:
    """Read a payment for its payer, expiring it first when its 90 minutes are over."""
    payment = get_payment(session, user_id, payment_id, for_update=True)
    _expire_if_due(session, payment, _now())
    return payment


# --- gateway messages ------------------------------------------------------------------------------------
def _raw(notice: Notice) -> str:
    text = json.dumps(notice.raw, ensure_ascii=False, default=str, sort_keys=True)
    return text[:RAW_LIMIT]


@dataclass
class Applied:
    ack: Ack
    status: str | None = None
    payment_id: int | None = None
    waits_for_second: bool = False  # a hand confirmation above the four-eyes amount, recorded, not applied

    @property
    def result(self) -> str:
        return "pending_second" if self.waits_for_second else self.ack.value


def apply_notice(  # noqa: C901  (each outcome of a gateway message, in order)
    session: Session, gateway: str, notice: Notice, *, kind: str, ip: str = "", actor_id: int | None = None,
    now: datetime | None = None, ctx: PaymentContext,
) -> Applied:
    """Check and apply one gateway message; always recorded; never raises for a bad message."""
    now = now or _now()
    event = PaymentEvent(gateway=gateway, kind=kind, received_at=now, reference=(notice.reference or "")[:64],
                         signature_ok=notice.signature_ok, outcome=(notice.outcome or "")[:16],
                         amount_vnd=notice.amount_vnd if notice.amount_vnd is not None and
                         abs(notice.amount_vnd) < 2**31 else None, result="", ip=ip[:64], actor_id=actor_id,
                         raw=_raw(notice))
    session.add(event)

    def done(ack: Ack, payment: Payment | None = None, before: str = "") -> Applied:
        event.result = ack.value
        if payment is not None:
            event.payment_id = payment.id
            event.from_status, event.to_status = before or payment.status, payment.status
        session.flush()
        return Applied(ack, payment.status if payment else None, payment.id if payment else None)

    if not notice.signature_ok:
        return done(Ack.INVALID_SIGNATURE)
    if notice.malformed or not notice.reference:
        return done(Ack.MALFORMED)
    payment = session.scalar(select(Payment).where(Payment.reference == notice.reference[:32],
                                                   Payment.gateway == gateway).with_for_update())
    if payment is None:
        return done(Ack.NOT_FOUND)
    before = payment.status
    if notice.amount_vnd != payment.amount_vnd:
        record(session, "payment.amount_mismatch", subject=f"payment:{payment.id}", gateway=gateway,
               expected=payment.amount_vnd, received=notice.amount_vnd, kind=kind)
        return done(Ack.INVALID_AMOUNT, payment, before)
    paid_in_time = notice.paid_at is not None and notice.paid_at <= utc(payment.expires_at)
    if payment.status in LIVE and now >= utc(payment.expires_at) and not (notice.outcome == "success" and paid_in_time):
        _expire_if_due(session, payment, now)
    if payment.status in FINAL:
        if notice.outcome == "success" and payment.status != Status.SUCCESS and payment.anomaly is None:
            payment.anomaly = "paid_after_close"  # money moved for a closed payment: shown for refund
            payment.gateway_txn = payment.gateway_txn or notice.gateway_txn
            payment.paid_at = payment.paid_at or notice.paid_at or now
            record(session, "payment.paid_after_close", subject=f"payment:{payment.id}", gateway=gateway,
                   status=payment.status, kind=kind)
        return done(Ack.ALREADY, payment, before)
    outcome = Status(notice.outcome) if notice.outcome else None
    if outcome is None:
        return done(Ack.MALFORMED, payment, before)
    if outcome == Status.SUBMITTED:
        if can("submit", payment.status):
            _transition(session, payment, "submit", now=now, actor_id=actor_id, via=kind)
        return done(Ack.CONFIRMED, payment, before)
    if outcome == Status.SUCCESS:
        payment.gateway_txn = (notice.gateway_txn or "")[:64] or None
        payment.paid_at = notice.paid_at or now
    else:
        payment.failure_code = (notice.code or outcome.value)[:16]
    _transition(session, payment, OUTCOME_EVENT[outcome], now=now, actor_id=actor_id, via=kind,
                gateway_txn=payment.gateway_txn, ctx=ctx)
    return done(Ack.CONFIRMED, payment, before)


def confirm_transfer(session: Session, officer_id: int, payment_id: int, *, amount_vnd: int, bank_ref: str,
                     ip: str = "", ctx: PaymentContext) -> Applied:
    """An officer saw the VietQR transfer on the account: the same checks as any gateway message. Above
    ``second_confirm_vnd`` the first officer's confirmation waits for a second, different officer's with
    the same amount and bank reference (four eyes); only then is the payment marked paid."""
    payment = officer_payment(session, officer_id, payment_id, for_update=True)
    if payment.gateway != "vietqr":
        raise Conflict("Chỉ xác nhận tay được khoản chuyển khoản VietQR.", field="gateway")
    if not bank_ref.strip():
        raise InvalidInput("Cần mã giao dịch ngân hàng.", field="bank_ref")
    if amount_vnd > ctx.settings.second_confirm_vnd and payment.status in LIVE:
        first = session.scalar(select(PaymentEvent).where(
            PaymentEvent.payment_id == payment.id, PaymentEvent.kind == "officer", PaymentEvent.result == "pending")
            .order_by(PaymentEvent.id.desc()).limit(1))
        claim = json.dumps({"amount_vnd": amount_vnd, "bank_ref": bank_ref.strip()[:64]}, sort_keys=True)
        if first is None or first.actor_id == officer_id or first.raw != claim:
            if first is not None and first.actor_id == officer_id:
                raise Conflict("Khoản này cần một cán bộ khác xác nhận lần hai (four-eyes).", field="officer")
            session.add(PaymentEvent(payment_id=payment.id, gateway="vietqr", kind="officer", received_at=_now(),
                                     reference=payment.reference, signature_ok=True, outcome="success",
                                     amount_vnd=amount_vnd, result="pending", ip=ip[:64], actor_id=officer_id,
                                     raw=claim))
            record(session, "payment.confirmation_pending", actor_id=officer_id, subject=f"payment:{payment.id}",
                   amount_vnd=amount_vnd, bank_ref=bank_ref.strip()[:64])
            session.flush()
            return Applied(Ack.CONFIRMED, payment.status, payment.id, waits_for_second=True)
        first.result = "seconded"
    notice = Notice(payment.reference, "success", amount_vnd, True, gateway_txn=bank_ref.strip()[:64],
                    paid_at=_now(), code="officer", raw={"officer": officer_id, "amount_vnd": amount_vnd,
                                                         "bank_ref": bank_ref.strip()[:64]})
    return apply_notice(session, "vietqr", notice, kind="officer", ip=ip, actor_id=officer_id, ctx=ctx)


# --- bank statements (VietQR) ---------------------------------------------------------------------------
CODE_IN_TEXT = re.compile(r"(\d{7}[A-Z]\d{12})")
HEADERS = {
    "amount": ("so tien", "so tien ghi co", "ghi co", "credit", "amount", "so tien (vnd)"),
    "description": ("noi dung", "dien giai", "mo ta", "description", "noi dung giao dich", "remark"),
    "reference": ("ma giao dich", "so tham chieu", "so but toan", "reference", "transaction id", "ma gd"),
    "date": ("ngay", "ngay giao dich", "date", "thoi gian", "ngay hach toan"),
}


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).lower().split())


def _alnum(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", _fold(text).upper())


def _vnd(text: str) -> int | None:
    cleaned = re.sub(r"[\s₫]|VND|đ", "", text or "", flags=re.I)
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", cleaned):
        return int(re.sub(r"[.,]", "", cleaned))
    if re.fullmatch(r"\d+(?:[.,]00?)?", cleaned):
        return int(re.split(r"[.,]", cleaned)[0])
    return None


@dataclass
class StatementLine:
    line: int
    reference: str
    amount_vnd: int | None
    dossier_code: str
    result: str
    payment_id: int | None = None


@dataclass
class StatementReport:
    lines: list[StatementLine] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for x in self.lines if x.result == result)


def import_statement(session: Session, officer_id: int, text: str, *, ip: str = "",
                     ctx: PaymentContext) -> StatementReport:
    """Match a bank statement's credits to VietQR payments by dossier code (in the transfer's content,
    dots and dashes optional) and amount. Re-importing the same statement changes nothing."""
    if len(text) > 5_000_000:
        raise InvalidInput("Tệp sao kê quá lớn.", field="file")
    units = officer_units(session, officer_id)
    if units == []:
        raise NotFound("Không tìm thấy đơn vị của cán bộ.")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), dialect))
    header_at, columns = None, {}
    for i, row in enumerate(rows[:30]):
        names = [_fold(c).strip(" :") for c in row]
        found = {key: names.index(alias) for key, aliases in HEADERS.items() for alias in aliases if alias in names}
        if "amount" in found and "description" in found:
            header_at, columns = i, found
            break
    if header_at is None:
        raise InvalidInput("Không nhận ra cột “Số tiền” và “Nội dung” trong tệp sao kê.", field="file")
    report = StatementReport()
    for number, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        if not any(c.strip() for c in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            index = columns.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        amount = _vnd(cell("amount"))
        description, reference = cell("description"), cell("reference")[:64]
        match = CODE_IN_TEXT.search(_alnum(description))
        if amount is None or amount <= 0 or match is None:
            report.lines.append(StatementLine(number, reference, amount, "", "skipped"))
            continue
        wanted = match.group(1)
        candidates = session.scalars(
            select(Payment).join(Dossier, Dossier.id == Payment.dossier_id)
            .where(Payment.gateway == "vietqr", _in_units(units),
                   func.replace(func.replace(func.upper(Dossier.code), ".", ""), "-", "") == wanted)
            .order_by(Payment.open_dossier_id.is_(None), Payment.id.desc())).all()
        if not candidates:
            report.lines.append(StatementLine(number, reference, amount, wanted, "not_found"))
            session.add(PaymentEvent(gateway="vietqr", kind="statement", received_at=_now(), reference=wanted,
                                     signature_ok=True, outcome="success", amount_vnd=amount, result="not_found",
                                     ip=ip[:64], actor_id=officer_id,
                                     raw=json.dumps({"line": number, "row": row}, ensure_ascii=False)[:RAW_LIMIT]))
            continue
        payment = next((p for p in candidates if p.amount_vnd == amount), candidates[0])
        notice = Notice(payment.reference, "success", amount, True, gateway_txn=reference or None, paid_at=_now(),
                        code="statement", raw={"line": number, "row": row})
        applied = apply_notice(session, "vietqr", notice, kind="statement", ip=ip, actor_id=officer_id, ctx=ctx)
        report.lines.append(StatementLine(number, reference, amount, payment_code(session, payment),
                                          applied.ack.value, payment.id))
    record(session, "payment.statement_imported", actor_id=officer_id, subject="vietqr",
           lines=len(report.lines), confirmed=report.count("confirmed"))
    return report


def payment_code(session: Session, payment: Payment) -> str:
    dossier = session.get(Dossier, payment.dossier_id)
    return (dossier.code if dossier else "") or ""


# --- refunds -----------------------------------------------------------------------------------------
@dataclass
class RefundRequest:
    refund_id: int
    amount_vnd: int
    gateway: str
    info: PaymentInfo
    by: str


def refundable(session: Session, payment: Payment) -> tuple[int, bool, str]:
    """What may still be refunded, whether the rules allow it, and why."""
    taken = session.scalar(select(func.coalesce(func.sum(Refund.amount_vnd), 0)).where(
        Refund.payment_id == payment.id, Refund.status != RefundStatus.ERROR.value)) or 0
    remaining = payment.amount_vnd - int(taken)
    paid = payment.status == Status.SUCCESS or payment.anomaly == "paid_after_close"
    if not paid:
        return 0, False, "Khoản này chưa được thanh toán."
    if remaining <= 0:
        return 0, False, "Khoản này đã được hoàn trả."
    if payment.anomaly == "paid_after_close":
        return remaining, True, "Tiền đến sau khi giao dịch đã đóng: hoàn trả cho người nộp."
    dossier = session.get(Dossier, payment.dossier_id)
    assert dossier is not None
    rule = fees.quote_for_dossier(session, dossier)
    due, why = fees.refund_due(dossier.status, received=dossier.received_at is not None, no_refund=rule.no_refund)
    return remaining, due, why


def request_refund(session: Session, officer_id: int, session_id: str, payment_id: int, *, reason: str = "",
                   now: datetime | None = None, public_url: str) -> RefundRequest:
    """An officer refunds a paid fee when the rules say so. Needs a passkey step-up (5 minutes)."""
    require_step_up(session, session_id)
    payment = officer_payment(session, officer_id, payment_id, for_update=True)
    amount, due, why = refundable(session, payment)
    if not due:
        raise Conflict(why, field="payment")
    now = now or _now()
    refund = Refund(payment_id=payment.id, amount_vnd=amount, status=RefundStatus.SUBMITTED.value,
                    reason=(reason.strip() or why)[:2000], requested_by=officer_id, created_at=now)
    session.add(refund)
    session.flush()
    record(session, "payment.refund_submitted", actor_id=officer_id, subject=f"payment:{payment.id}",
           authenticated="webauthn", refund=refund.id, amount_vnd=amount, reason=refund.reason)
    officer = session.get(User, officer_id)
    return RefundRequest(refund.id, amount, payment.gateway, payment_info(session, payment, public_url),
                         officer.full_name if officer else str(officer_id))


def finish_refund(session: Session, refund_id: int, result: RefundResult, *, actor_id: int | None = None) -> Refund:
    refund = session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
    if refund is None:
        raise NotFound("Không tìm thấy yêu cầu hoàn trả.")
    if result.ok is None or refund.status != RefundStatus.SUBMITTED:
        return refund  # to be completed by hand (bank transfer), or already finished
    event = "refund_succeed" if result.ok else "refund_error"
    refund.status = next_refund_status(refund.status, event).value
    refund.finished_at = _now()
    refund.gateway_ref = (result.gateway_ref or "")[:64] or None
    refund.error = result.error or None
    record(session, f"payment.refund_{refund.status}", actor_id=actor_id, subject=f"payment:{refund.payment_id}",
           refund=refund.id, error=result.error)
    return refund


def complete_refund(session: Session, officer_id: int, refund_id: int, *, ok: bool, reference: str) -> Refund:
    """A refund made by hand (VietQR: a transfer back to the payer): the officer records its outcome."""
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("Không tìm thấy yêu cầu hoàn trả.")
    officer_payment(session, officer_id, refund.payment_id)
    if ok and not reference.strip():
        raise InvalidInput("Cần mã giao dịch chuyển trả.", field="reference")
    if refund.status != RefundStatus.SUBMITTED:
        raise Conflict("Yêu cầu hoàn trả này đã kết thúc.", field="status")
    return finish_refund(session, refund_id, RefundResult(ok, gateway_ref=reference.strip()[:64] or None,
                                                          error="" if ok else "không chuyển trả được"),
                         actor_id=officer_id)


# --- reading ---------------------------------------------------------------------------------------------
def dossier_payments(session: Session, dossier_id: int) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.dossier_id == dossier_id).order_by(Payment.id.desc())))


def events_of(session: Session, payment_id: int) -> list[PaymentEvent]:
    return list(session.scalars(select(PaymentEvent).where(PaymentEvent.payment_id == payment_id)
                                .order_by(PaymentEvent.id)))


def refunds_of(session: Session, payment_id: int) -> list[Refund]:
    return list(session.scalars(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)))


def receipt_of(session: Session, payment_id: int) -> Receipt | None:
    return session.scalar(select(Receipt).where(Receipt.payment_id == payment_id))


def my_receipt(session: Session, user_id: int, payment_id: int) -> tuple[Payment, Receipt]:
    payment = get_payment(session, user_id, payment_id)
    receipt = receipt_of(session, payment.id)
    if receipt is None:
        raise NotFound("Khoản thanh toán này chưa có biên lai.")
    return payment, receipt


def public_receipt(session: Session, public_id: str) -> tuple[Receipt, list[Refund]]:
    receipt = session.scalar(select(Receipt).where(Receipt.public_id == (public_id or "")[:32]))
    if receipt is None:
        raise NotFound("Không tìm thấy biên lai.")
    return receipt, refunds_of(session, receipt.payment_id)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a day in Vietnam starts and ends; a day whose bounds no datetime holds is 400."""
    try:
        start = datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(UTC)
        return start, start + timedelta(days=1)
    except OverflowError:
        raise InvalidInput("Ngày không hợp lệ (ngoài phạm vi).", field="day") from None
