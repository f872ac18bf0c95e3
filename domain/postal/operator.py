"""The postal operator's interface (:class:`PostalOperator`) and its two implementations.

An operator is what the back office asks about results sent by post: what sending to an address costs
(:meth:`~PostalOperator.quote`, a fee in VND the applicant pays with the dossier's fees) and whether a
waybill has been delivered (:meth:`~PostalOperator.track`). ``motcua postal-sync`` (``domain.postal.sync``)
asks it about every result sent by post and confirms the delivered ones.

- :class:`SandboxOperator`: in the process, for tests and development (a flat fee; waybills are
  delivered when told so with :meth:`~SandboxOperator.deliver`);
- :class:`HttpOperator`: talks to an operator's service over HTTP, with the base URL and timeout it is
  handed (the composition root reads ``MOTCUA_POSTAL_URL``: the core reads no environment). The wire
  format is the one the separate sandbox process speaks (``domain.postal.sandbox``,
  ``motcua postal-sandbox``); a real operator's API gets an adapter of its own behind the same interface.

Wire format (JSON): ``GET /v1/quote?address=…`` → ``{"fee_vnd": int}``; ``GET /v1/shipments/{waybill}``
→ ``{"waybill": str, "status": "in_transit" | "delivered", "delivered_at": ISO 8601 | null}``.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

WAYBILL = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,39}$")
ADDRESS_MAX = 500


class PostalError(Exception):
    """The operator could not answer (unreachable, refused, or an answer that is not the wire format)."""


@runtime_checkable
class PostalOperator(Protocol):
    """What motcua needs of a postal operator."""

    name: str  # kept on the postal items it delivered

    def quote(self, address: str) -> int:
        """The fee in VND of sending one result to ``address`` (PostalError when it cannot say)."""

    def track(self, waybill: str) -> datetime | None:
        """When the item with ``waybill`` was delivered (aware, UTC), or None while it is not (PostalError
        when the operator cannot say)."""


def check_address(address: str) -> str:
    address = " ".join(address.split())
    if not 5 <= len(address) <= ADDRESS_MAX:
        raise PostalError(f"an address has 5 to {ADDRESS_MAX} characters")
    return address


@dataclass
class SandboxOperator:
    """An operator in the process: a flat fee, and deliveries when :meth:`deliver` says so."""

    fee_vnd: int = 22_000
    name: str = "sandbox"
    delivered: dict[str, datetime] = field(default_factory=dict)

    def quote(self, address: str) -> int:
        check_address(address)
        return self.fee_vnd

    def track(self, waybill: str) -> datetime | None:
        return self.delivered.get(waybill.upper())

    def deliver(self, waybill: str, at: datetime | None = None) -> None:
        self.delivered[waybill.upper()] = at or datetime.now(UTC)


@dataclass
class HttpOperator:
    """An operator's service over HTTP (the wire format above), at ``base_url``."""

    base_url: str
    timeout: float = 5.0
    name: str = "http"

    def _get(self, path: str) -> dict[str, object] | None:
        url = self.base_url.rstrip("/") + path
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}),
                                        timeout=self.timeout) as resp:
                body = json.loads(resp.read(64 * 1024))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise PostalError(f"postal operator answered {exc.code} for {path}") from None
        except (OSError, ValueError) as exc:
            raise PostalError(f"postal operator unreachable or unreadable: {exc}") from None
        if not isinstance(body, dict):
            raise PostalError("postal operator answered something other than a JSON object")
        return body

    def quote(self, address: str) -> int:
        body = self._get("/v1/quote?" + urllib.parse.urlencode({"address": check_address(address)}))
        fee = body.get("fee_vnd") if body else None
        if not isinstance(fee, int) or isinstance(fee, bool) or not 0 <= fee <= 10_000_000:
            raise PostalError("postal operator's quote has no fee_vnd")
        return fee

    def track(self, waybill: str) -> datetime | None:
        waybill = waybill.upper()
        if not WAYBILL.match(waybill):
            raise PostalError("not a waybill number")
        body = self._get(f"/v1/shipments/{waybill}")
        if body is None or body.get("status") != "delivered":
            return None
        try:
            at = datetime.fromisoformat(str(body.get("delivered_at")))
        except ValueError:
            raise PostalError("postal operator's delivery has no delivered_at") from None
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def operator_for(url: str, *, timeout: float = 5.0, fee_vnd: int = 22_000) -> PostalOperator:
    """The operator a deployment configured: its service at ``url``, or the in-process sandbox without one."""
    return HttpOperator(url, timeout=timeout) if url else SandboxOperator(fee_vnd=fee_vnd)
