"""VNPAY payment gateway, API 2.1.0.

* Payment URL: ``vnp_`` parameters, ``vnp_Amount`` = VND × 100, ``vnp_SecureHash`` = HMAC-SHA512 with
  the merchant's hash secret over the parameters sorted by name, each name and value URL-encoded with
  ``quote_plus`` and joined as ``name=value`` with ``&`` (``vnp_SecureHashType`` is not sent in 2.1.0).
* Return URL (browser) and IPN (server to server, GET): the same hash over every ``vnp_`` parameter
  but ``vnp_SecureHash`` / ``vnp_SecureHashType``. Success is ``vnp_ResponseCode`` = ``00`` and
  ``vnp_TransactionStatus`` = ``00``; ``24`` is a cancellation by the customer; ``11`` a timeout.
* IPN answer: ``{"RspCode", "Message"}`` — 00 confirmed, 01 order not found, 02 order already
  confirmed, 04 invalid amount, 97 invalid signature, 99 unknown error.
* Refunds: the merchant web API (``vnp_Command=refund``, JSON), signed with HMAC-SHA512 over the
  fields joined by ``|`` in the documented order.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

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

VERSION = "2.1.0"
RSP = {Ack.CONFIRMED: ("00", "Confirm Success"), Ack.NOT_FOUND: ("01", "Order not found"),
       Ack.ALREADY: ("02", "Order already confirmed"), Ack.INVALID_AMOUNT: ("04", "invalid amount"),
       Ack.INVALID_SIGNATURE: ("97", "Invalid signature"), Ack.MALFORMED: ("99", "Unknown error"),
       Ack.ERROR: ("99", "Unknown error")}
REFUND_FIELDS = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TransactionType",
                 "vnp_TxnRef", "vnp_Amount", "vnp_TransactionNo", "vnp_TransactionDate", "vnp_CreateBy",
                 "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
REFUND_ANSWER_FIELDS = ("vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode",
                        "vnp_TxnRef", "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo",
                        "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo")


def hash_data(params: dict[str, str]) -> str:
    """The signed text: vnp_ parameters but the hash ones, sorted, quote_plus-encoded, joined by &."""
    return "&".join(f"{quote_plus(k)}={quote_plus(str(v))}" for k, v in sorted(params.items())
                    if k.startswith("vnp_") and k not in ("vnp_SecureHash", "vnp_SecureHashType"))


def secure_hash(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def ascii_text(text: str, limit: int = 255) -> str:
    """VNPAY wants order information in Vietnamese without accents and without special characters."""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", re.sub(r"[^A-Za-z0-9 ]", " ", plain)).strip()[:limit]


def vn_time(moment: datetime) -> str:
    return moment.astimezone(VN).strftime("%Y%m%d%H%M%S")


class VnpayGateway(Gateway):
    name = "vnpay"

    def __init__(self, tmn_code: str, hash_secret: str, url: str, api_url: str) -> None:
        self.tmn_code, self.secret, self.url, self.api_url = tmn_code, hash_secret, url, api_url

    def payment_url(self, params: dict[str, str]) -> str:
        text = hash_data(params)
        return f"{self.url}?{text}&vnp_SecureHash={secure_hash(self.secret, text)}"

    def start(self, info: PaymentInfo) -> StartResult:
        params = {
            "vnp_Version": VERSION, "vnp_Command": "pay", "vnp_TmnCode": self.tmn_code,
            "vnp_Amount": str(info.amount_vnd * 100), "vnp_CurrCode": "VND", "vnp_TxnRef": info.reference,
            "vnp_OrderInfo": ascii_text(f"Thanh toan le phi ho so {info.dossier_code}"),
            "vnp_OrderType": "other", "vnp_Locale": "vn", "vnp_ReturnUrl": info.return_url,
            "vnp_IpAddr": info.client_ip or "127.0.0.1", "vnp_CreateDate": vn_time(info.created_at),
            "vnp_ExpireDate": vn_time(info.expires_at),
        }
        return StartResult(redirect_url=self.payment_url(params))

    def verify(self, params: dict[str, str]) -> bool:
        given = params.get("vnp_SecureHash", "")
        return bool(given) and same(given, secure_hash(self.secret, hash_data(params)))

    def notice(self, params: dict[str, str]) -> Notice:
        ok = self.verify(params)
        ref = str(params.get("vnp_TxnRef", ""))[:64]
        raw = dict(params)
        amount_text = params.get("vnp_Amount", "")
        if not ref or not re.fullmatch(r"-?\d{1,15}", amount_text):
            return Notice(ref, None, None, ok, raw=raw, malformed="vnp_TxnRef / vnp_Amount")
        amount = int(amount_text)
        code, status = params.get("vnp_ResponseCode", ""), params.get("vnp_TransactionStatus", "")
        if code == "00" and status == "00":
            outcome = "success"
        elif code == "24":
            outcome = "cancelled"
        elif code in ("", None):
            outcome = None
        else:
            outcome = "failed"
        paid = None
        if params.get("vnp_PayDate"):
            try:
                paid = datetime.strptime(params["vnp_PayDate"], "%Y%m%d%H%M%S").replace(tzinfo=VN).astimezone(UTC)
            except ValueError:
                paid = None
        # VND × 100: a value that is not a whole number of đồng cannot match any payment
        return Notice(ref, outcome, amount // 100 if amount % 100 == 0 else -1, ok,
                      gateway_txn=(params.get("vnp_TransactionNo") or None), paid_at=paid, code=code, raw=raw,
                      malformed="" if outcome else "vnp_ResponseCode")

    def parse_return(self, query: dict[str, str]) -> Notice:
        return self.notice(query)

    def parse_callback(self, query: dict[str, str], body: bytes, headers: dict[str, str]) -> Notice:
        return self.notice(query)  # the IPN is a GET with the same parameters as the return

    def reply(self, ack: Ack, status: str | None) -> tuple[int, dict[str, Any]]:
        code, message = RSP[ack]
        return 200, {"RspCode": code, "Message": message}

    # --- refunds --------------------------------------------------------------------------------------
    def refund_request(self, info: PaymentInfo, amount_vnd: int, request_id: str, by: str,
                       now: datetime | None = None) -> dict[str, str]:
        now = now or datetime.now(UTC)
        body = {
            "vnp_RequestId": request_id, "vnp_Version": VERSION, "vnp_Command": "refund",
            "vnp_TmnCode": self.tmn_code, "vnp_TransactionType": "02" if amount_vnd == info.amount_vnd else "03",
            "vnp_TxnRef": info.reference, "vnp_Amount": str(amount_vnd * 100),
            "vnp_TransactionNo": info.gateway_txn or "", "vnp_TransactionDate": vn_time(info.paid_at or now),
            "vnp_CreateBy": ascii_text(by, 64) or "motcua", "vnp_CreateDate": vn_time(now),
            "vnp_IpAddr": "127.0.0.1", "vnp_OrderInfo": ascii_text(f"Hoan tra le phi ho so {info.dossier_code}"),
        }
        body["vnp_SecureHash"] = secure_hash(self.secret, "|".join(body[k] for k in REFUND_FIELDS))
        return body

    def refund(self, info: PaymentInfo, amount_vnd: int, refund_id: str, by: str) -> RefundResult:
        request_id = (refund_id + secrets.token_hex(8))[:32]
        try:
            answer = post_json(self.api_url, self.refund_request(info, amount_vnd, request_id, by))
        except GatewayUnavailable as exc:
            return RefundResult(False, error=f"VNPAY không trả lời: {exc}")
        text = "|".join(str(answer.get(k, "")) for k in REFUND_ANSWER_FIELDS)
        if not same(str(answer.get("vnp_SecureHash", "")), secure_hash(self.secret, text)):
            return RefundResult(False, error="VNPAY trả lời với chữ ký không hợp lệ")
        if answer.get("vnp_ResponseCode") == "00":
            return RefundResult(True, gateway_ref=str(answer.get("vnp_TransactionNo") or "") or None)
        return RefundResult(False, error=f"VNPAY từ chối hoàn tiền (mã {answer.get('vnp_ResponseCode')}: "
                                         f"{str(answer.get('vnp_Message', ''))[:200]})")
