"""A postal operator's sandbox as a separate local process (``motcua postal-sandbox --port N``): it speaks the
wire format of :mod:`domain.postal.operator` and checks what it receives, so the HTTP adapter and
``motcua postal-sync`` are tested against a real socket. It keeps its shipments in memory.

- ``GET /v1/quote?address=…`` → ``{"fee_vnd": …}`` (400 without an address of 5 to 500 characters);
- ``GET /v1/shipments/{waybill}`` → the shipment (any well-formed waybill: ``in_transit`` until delivered);
- ``POST /sandbox/shipments/{waybill}/deliver`` (body ``{}`` or ``{"delivered_at": ISO 8601}``) → marks it
  delivered, as the postman's scan would (sandbox only);
- anything else: 404; a malformed waybill, body or query: 400 with ``{"error": …}``.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from domain.postal.operator import ADDRESS_MAX, WAYBILL

SHIPMENTS = "/v1/shipments/"
DELIVER = "/sandbox/shipments/"


class SandboxState:
    def __init__(self, fee_vnd: int) -> None:
        self.fee_vnd = fee_vnd
        self.delivered: dict[str, str] = {}
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests start it as a child process

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        state = self.server.state
        if url.path == "/v1/quote":
            address = " ".join(urllib.parse.parse_qs(url.query).get("address", [""])[0].split())
            if not 5 <= len(address) <= ADDRESS_MAX:
                return self._send(400, {"error": f"address: 5 to {ADDRESS_MAX} characters"})
            return self._send(200, {"fee_vnd": state.fee_vnd})
        if url.path.startswith(SHIPMENTS):
            waybill = url.path[len(SHIPMENTS):]
            if not WAYBILL.match(waybill):
                return self._send(400, {"error": "waybill: 4 to 40 capital letters, digits or dashes"})
            with state.lock:
                at = state.delivered.get(waybill)
            return self._send(200, {"waybill": waybill, "status": "delivered" if at else "in_transit",
                                    "delivered_at": at})
        return self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if not (path.startswith(DELIVER) and path.endswith("/deliver")):
            return self._send(404, {"error": "not found"})
        waybill = path[len(DELIVER):-len("/deliver")]
        if not WAYBILL.match(waybill):
            return self._send(400, {"error": "waybill: 4 to 40 capital letters, digits or dashes"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > 4096:
            return self._send(400, {"error": "body too large"})
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            at = datetime.fromisoformat(body["delivered_at"]) if body.get("delivered_at") else datetime.now(UTC)
        except (ValueError, TypeError, AttributeError):
            return self._send(400, {"error": "body: {} or {\"delivered_at\": ISO 8601}"})
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        with self.server.state.lock:
            self.server.state.delivered[waybill] = at.isoformat()
        return self._send(200, {"waybill": waybill, "status": "delivered", "delivered_at": at.isoformat()})


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, fee_vnd: int) -> None:
        super().__init__((host, port), Handler)
        self.state = SandboxState(fee_vnd)


def serve(host: str = "127.0.0.1", port: int = 8071, fee_vnd: int = 22_000) -> None:
    """Serve until interrupted."""
    with SandboxServer(host, port, fee_vnd) as server:
        server.serve_forever()
