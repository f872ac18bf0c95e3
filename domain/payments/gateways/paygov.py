"""A Paygov-style adapter (the national payment platform behind Cổng Dịch vụ công Quốc gia).

Its partner specification is not public. What is assumed, as far as public descriptions go (see
``domain/payments/README.md``): JSON over HTTPS; every message carries ``checksum`` = SHA-256 (hex)
of its fields joined by ``|`` in a fixed order followed by ``|`` and the partner's secret; a payment
is created by a server-to-server call that answers the URL of the payment page; the platform sends
the result to our callback URL (JSON POST) and the payer back to our return URL (query string) with
the same fields; status ``00`` is success, ``01`` failure, ``02`` cancellation, ``03`` pending.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from domain.calendar.engine import TZ as VN  # Asia/Ho_Chi_Minh
from domain.payments.gateways.base import (
    Ack,
    Gateway,
    GatewayUnavailable,
    Notice,
    PaymentInfo,
    RefundResult,
    StartResult,
    post_json,
    same,
)

CREATE_FIELDS = ("partnerCode", "orderId", "amount", "orderInfo", "returnUrl", "notifyUrl", "createdAt",
                 "expireAt")
CREATED_FIELDS = ("code", "orderId", "paymentUrl")
RESULT_FIELDS = ("partnerCode", "orderId", "amount", "transactionId", "status", "paidAt")
REFUND_FIELDS = ("partnerCode", "orderId", "transactionId", "amount", "refundId", "createdAt")
REFUNDED_FIELDS = ("code", "orderId", "refundId", "refundTransactionId")
STATUS = {"00": "success", "01": "failed", "02": "cancelled", "03": "submitted"}
REPLY = {Ack.CONFIRMED: ("00", "confirmed"), Ack.ALREADY: ("02", "already confirmed"),
         Ack.NOT_FOUND: ("01", "order not found"), Ack.INVALID_AMOUNT: ("04", "invalid amount"),
         Ack.INVALID_SIGNATURE: ("97", "invalid checksum"), Ack.MALFORMED: ("99", "malformed"),
         Ack.ERROR: ("99", "unknown error")}


def checksum(secret: str, values: list[str]) -> str:
    return hashlib.sha256(("|".join(values) + "|" + secret).encode()).hexdigest()


def _time(moment: datetime) -> str:
    return moment.astimezone(VN).strftime("%Y%m%d%H%M%S")


class PaygovGateway(Gateway):
    name = "paygov"

    def __init__(self, url: str, partner_code: str, secret: str) -> None:
        self.url, self.partner, self.secret = url, partner_code, secret

    def sign(self, body: dict[str, Any], fields: tuple[str, ...]) -> str:
        return checksum(self.secret, [str(body.get(k, "")) for k in fields])

    def create_request(self, info: PaymentInfo) -> dict[str, Any]:
        body: dict[str, Any] = {
            "partnerCode": self.partner, "orderId": info.reference, "amount": info.amount_vnd,
            "orderInfo": f"Le phi ho so {info.dossier_code}", "returnUrl": info.return_url,
            "notifyUrl": info.callback_url, "createdAt": _time(info.created_at), "expireAt": _time(info.expires_at),
        }
        body["checksum"] = self.sign(body, CREATE_FIELDS)
        return body

    def start(self, info: PaymentInfo) -> StartResult:
        try:
            answer = post_json(f"{self.url}/payments", self.create_request(info))
        except GatewayUnavailable as exc:
            return StartResult(error=f"Không kết nối được Paygov: {exc}")
        if not same(str(answer.get("checksum", "")), self.sign(answer, CREATED_FIELDS)):
            return StartResult(error="Paygov trả lời với mã kiểm tra không hợp lệ")
        if answer.get("code") != "00" or answer.get("orderId") != info.reference:
            return StartResult(error=f"Paygov từ chối tạo giao dịch (mã {str(answer.get('code'))[:8]})")
        url = str(answer.get("paymentUrl", ""))
        if not url.startswith("https://") and not url.startswith(self.url):
            return StartResult(error="Paygov trả về địa chỉ thanh toán không hợp lệ")
        return StartResult(redirect_url=url)

    def notice(self, data: dict[str, Any]) -> Notice:
        ok = (
            same(str(data.get("checksum", "")), self.sign(data, RESULT_FIELDS))
            and data.get("partnerCode") == self.partner
        )
        ref = str(data.get("orderId", ""))[:64]
        try:
            amount = int(str(data.get("amount", "")))
        except ValueError:
            return Notice(ref, None, None, ok, raw=data, malformed="amount")
        status = str(data.get("status", ""))
        paid = None
        if data.get("paidAt"):
            try:
                paid = datetime.strptime(str(data["paidAt"]), "%Y%m%d%H%M%S").replace(tzinfo=VN).astimezone(UTC)
            except ValueError:
                paid = None
        return Notice(
            ref,
            STATUS.get(status),
            amount,
            ok,
            gateway_txn=str(data.get("transactionId") or "")[:64] or None,
            paid_at=paid,
            code=status,
            raw=data,
            malformed="" if status in STATUS else "status",
        )

    def parse_return(self, query: dict[str, str]) -> Notice:
        return self.notice(dict(query))

    def parse_callback(self, query: dict[str, str], body: bytes, headers: dict[str, str]) -> Notice:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return Notice("", None, None, False, raw={"body": body[:4096].decode(errors="replace")}, malformed="json")
        if not isinstance(data, dict):
            return Notice("", None, None, False, raw={"body": data}, malformed="json")
        return self.notice(data)

    def reply(self, ack: Ack, status: str | None) -> tuple[int, dict[str, Any]]:
        code, message = REPLY[ack]
        body = {"code": code, "message": message}
        return 200, {**body, "checksum": checksum(self.secret, [code, message])}

    def refund(self, info: PaymentInfo, amount_vnd: int, refund_id: str, by: str) -> RefundResult:
        body: dict[str, Any] = {"partnerCode": self.partner, "orderId": info.reference,
                                "transactionId": info.gateway_txn or "", "amount": amount_vnd,
                                "refundId": refund_id, "createdAt": _time(datetime.now(UTC))}
        body["checksum"] = self.sign(body, REFUND_FIELDS)
        try:
            answer = post_json(f"{self.url}/refunds", body)
        except GatewayUnavailable as exc:
            return RefundResult(False, error=f"Không kết nối được Paygov: {exc}")
        if not same(str(answer.get("checksum", "")), self.sign(answer, REFUNDED_FIELDS)):
            return RefundResult(False, error="Paygov trả lời với mã kiểm tra không hợp lệ")
        if answer.get("code") == "00":
            return RefundResult(True, gateway_ref=str(answer.get("refundTransactionId") or "") or None)
        return RefundResult(False, error=f"Paygov từ chối hoàn tiền (mã {str(answer.get('code'))[:8]})")
