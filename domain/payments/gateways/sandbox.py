"""The sandbox gateway (default in development and tests): a local page, ``/cong-thu-nghiem``, where a
tester chooses success, failure or cancellation. It behaves like a real gateway: our redirect to it is
signed and checked there; it answers with a signed browser return and a signed server-to-server
callback (HMAC-SHA256 with ``PAYMENT_SANDBOX_SECRET``) that the app verifies like any other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, urlencode

from domain.payments.gateways.base import Ack, Gateway, Notice, PaymentInfo, RefundResult, StartResult, same

PAGE = "/cong-thu-nghiem"
OUTCOMES = ("success", "failed", "cancelled")
SIGNATURE_HEADER = "x-sandbox-signature"


def canonical(params: dict[str, str]) -> str:
    return "&".join(f"{quote_plus(k)}={quote_plus(str(v))}" for k, v in sorted(params.items()) if k != "sig")


class SandboxGateway(Gateway):
    name = "sandbox"

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()

    def sign(self, text: str | bytes) -> str:
        data = text.encode() if isinstance(text, str) else text
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()

    def signed(self, params: dict[str, str]) -> dict[str, str]:
        return {**params, "sig": self.sign(canonical(params))}

    def check(self, params: dict[str, str]) -> bool:
        return bool(params.get("sig")) and same(params["sig"], self.sign(canonical(params)))

    # --- the merchant's side (this app) -----------------------------------------------------------
    def start(self, info: PaymentInfo) -> StartResult:
        base = info.return_url.split("/thanh-toan/", 1)[0]
        params = self.signed({"ref": info.reference, "amount": str(info.amount_vnd), "order": info.dossier_code,
                              "return_url": info.return_url, "callback_url": info.callback_url,
                              "expires": info.expires_at.astimezone(UTC).strftime("%Y%m%d%H%M%S")})
        return StartResult(redirect_url=f"{base}{PAGE}?{urlencode(params)}")

    def _notice(self, data: dict[str, Any], ok: bool, raw: dict[str, Any]) -> Notice:
        outcome = data.get("outcome")
        try:
            amount = int(data.get("amount", ""))
        except (TypeError, ValueError):
            return Notice(str(data.get("ref") or "")[:64], None, None, ok, raw=raw, malformed="amount")
        paid = None
        if data.get("paid_at"):
            try:
                paid = datetime.strptime(str(data["paid_at"]), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            except ValueError:
                return Notice(str(data.get("ref") or "")[:64], None, amount, ok, raw=raw, malformed="paid_at")
        return Notice(str(data.get("ref") or "")[:64], outcome if outcome in OUTCOMES else None, amount, ok,
                      gateway_txn=str(data.get("txn") or "")[:64] or None, paid_at=paid, code=str(outcome or ""),
                      raw=raw, malformed="" if outcome in OUTCOMES else "outcome")

    def parse_return(self, query: dict[str, str]) -> Notice:
        return self._notice(query, self.check(query), dict(query))

    def parse_callback(self, query: dict[str, str], body: bytes, headers: dict[str, str]) -> Notice:
        given = headers.get(SIGNATURE_HEADER, "").removeprefix("sha256=")
        ok = bool(given) and same(given, self.sign(body))
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return Notice("", None, None, ok, raw={"body": body[:4096].decode(errors="replace")}, malformed="json")
        if not isinstance(data, dict):
            return Notice("", None, None, ok, raw={"body": data}, malformed="json")
        return self._notice(data, ok, data)

    def reply(self, ack: Ack, status: str | None) -> tuple[int, dict[str, Any]]:
        code, body = super().reply(ack, status)
        return code, body

    def refund(self, info: PaymentInfo, amount_vnd: int, refund_id: str, by: str) -> RefundResult:
        """The sandbox refunds at once (a real gateway answers its refund API the same way)."""
        if amount_vnd <= 0 or amount_vnd > info.amount_vnd:
            return RefundResult(False, error="số tiền hoàn trả không hợp lệ")
        return RefundResult(True, gateway_ref="SBXR" + secrets.token_hex(5).upper())

    # --- the gateway's side (the sandbox page) ------------------------------------------------------
    def outcome(self, request: dict[str, str], outcome: str) -> tuple[str, bytes, dict[str, str]]:
        """What the sandbox sends after the tester's choice: the browser's return URL, and the
        callback body and headers."""
        message = {"ref": request["ref"], "outcome": outcome, "amount": request["amount"],
                   "txn": "SBX" + secrets.token_hex(6).upper(),
                   "paid_at": datetime.now(UTC).strftime("%Y%m%d%H%M%S") if outcome == "success" else ""}
        query = self.signed(message)
        separator = "&" if "?" in request["return_url"] else "?"
        body = json.dumps(message, separators=(",", ":")).encode()
        return (f"{request['return_url']}{separator}{urlencode(query)}", body,
                {"Content-Type": "application/json", "X-Sandbox-Signature": "sha256=" + self.sign(body)})
