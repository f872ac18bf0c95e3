"""The one interface every gateway implements, and the shapes of what passes through it.

A gateway never touches the database: it builds the start of a payment (a redirect URL or a QR
text), reads and verifies what comes back (a :class:`Notice`), answers callbacks in its own
dialect, and asks for refunds. The service (``domain.payments.operations``) applies notices to
payments under a row lock, records every message and decides the answer (:class:`Ack`).
"""

from __future__ import annotations

import hmac
import json
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Ack(StrEnum):
    """What the service made of a notice; each gateway turns it into its own reply."""

    CONFIRMED = "confirmed"  # applied (or a pending notice recorded)
    ALREADY = "already"  # the payment was already final: nothing changed
    NOT_FOUND = "not_found"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_SIGNATURE = "invalid_signature"
    MALFORMED = "malformed"
    ERROR = "error"


@dataclass
class Notice:
    """A gateway's message about a payment, parsed and checked."""

    reference: str
    outcome: str | None  # success | failed | cancelled | error | submitted (pending) | None (unknown)
    amount_vnd: int | None
    signature_ok: bool
    gateway_txn: str | None = None
    paid_at: datetime | None = None
    code: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    malformed: str = ""


@dataclass(frozen=True)
class PaymentInfo:
    """What a gateway needs to know about one payment."""

    reference: str
    amount_vnd: int
    dossier_code: str
    fee_name: str
    client_ip: str
    created_at: datetime
    expires_at: datetime
    return_url: str
    callback_url: str
    gateway_txn: str | None = None
    paid_at: datetime | None = None


@dataclass(frozen=True)
class StartResult:
    redirect_url: str | None = None
    qr_payload: str | None = None
    error: str = ""


@dataclass(frozen=True)
class RefundResult:
    """ok True: refunded; False: refused (error says why); None: to be done by hand (bank transfer)."""

    ok: bool | None
    gateway_ref: str | None = None
    error: str = ""


class Gateway(ABC):
    name: str = ""
    redirects: bool = True  # the payer is sent to the gateway's page
    has_callbacks: bool = True  # the gateway calls us server to server

    @abstractmethod
    def start(self, info: PaymentInfo) -> StartResult: ...

    def parse_callback(self, query: dict[str, str], body: bytes, headers: dict[str, str]) -> Notice:
        return Notice("", None, None, False, malformed="this gateway sends no callbacks")

    def parse_return(self, query: dict[str, str]) -> Notice:
        return Notice("", None, None, False, malformed="this gateway has no return")

    def reply(self, ack: Ack, status: str | None) -> tuple[int, dict[str, Any]]:
        """HTTP status and JSON body answering a callback."""
        codes = {Ack.CONFIRMED: 200, Ack.ALREADY: 200, Ack.NOT_FOUND: 404, Ack.INVALID_AMOUNT: 409,
                 Ack.INVALID_SIGNATURE: 401, Ack.MALFORMED: 400, Ack.ERROR: 500}
        return codes[ack], {"result": ack.value, "status": status}

    def refund(self, info: PaymentInfo, amount_vnd: int, refund_id: str, by: str) -> RefundResult:
        return RefundResult(None)


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two signatures (hex case ignored)."""
    return hmac.compare_digest(a.strip().lower().encode(), b.strip().lower().encode())


class GatewayUnavailable(Exception):
    """The gateway could not be reached or answered nonsense."""


def post_json(url: str, body: dict[str, Any], *, timeout: float = 15.0) -> dict[str, Any]:
    """POST a JSON body and read a JSON object back (gateway APIs; standard library only)."""
    if not url.startswith(("https://", "http://")):
        raise GatewayUnavailable(f"bad gateway URL {url!r}")
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # checked scheme
            data = json.loads(response.read(1024 * 1024))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise GatewayUnavailable(str(exc)) from None
    if not isinstance(data, dict):
        raise GatewayUnavailable("the gateway did not answer a JSON object")
    return data
