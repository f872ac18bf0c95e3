"""The world of the payment tests: a fee-bearing procedure and its unit, a local stand-in for the Paygov and
VNPAY merchant APIs on 127.0.0.1, the gateways switched on for a module, officers with a payment role in
passkey sessions, and the callbacks each gateway sends."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from domain.db import Database
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier
from domain.payments.gateways.paygov import checksum
from domain.payments.gateways.sandbox import SandboxGateway
from domain.payments.gateways.vnpay import hash_data, secure_hash
from domain.payments.models import Payment, PaymentEvent
from domain.workflow import Actor
from tests import factories
from tests.helpers import (
    age_step_up,
    bearer,
    settings_from_env,
    user_id_of,
)
from tests.softauthn import SoftAuthenticator

CODE, UNIT, FEE = "1.004222", "000.31.11.H56", 10_000  # đăng ký thường trú: 10.000 ₫ online
VNP_SECRET, PAYGOV_SECRET, SANDBOX_SECRET = (
    "VNPAYTESTSECRET0123456789ABCDEF",
    "paygov-test-secret",
    "sandbox-test-secret",
)


# --- a fake Paygov and VNPAY merchant API on 127.0.0.1 ----------------------------------------------------
class FakeGateways(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        FakeGateways.seen.append({"path": self.path, "body": body})
        if self.path == "/paygov/payments":
            ok = body["checksum"] == checksum(PAYGOV_SECRET, [str(body[k]) for k in (
                "partnerCode", "orderId", "amount", "orderInfo", "returnUrl", "notifyUrl", "createdAt", "expireAt")])
            answer = {"code": "00" if ok else "97", "orderId": body["orderId"],
                      "paymentUrl": f"http://127.0.0.1:{self.server.server_port}/paygov/pay/{body['orderId']}"}  # type: ignore[attr-defined]
            answer["checksum"] = checksum(PAYGOV_SECRET, [answer["code"], answer["orderId"], answer["paymentUrl"]])
        elif self.path == "/paygov/refunds":
            answer = {"code": "00", "orderId": body["orderId"], "refundId": body["refundId"],
                      "refundTransactionId": "PGR1"}
            answer["checksum"] = checksum(PAYGOV_SECRET, [answer[k] for k in ("code", "orderId", "refundId",
                                                                            "refundTransactionId")])
        elif self.path == "/vnpay":
            fields = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TransactionType",
                      "vnp_TxnRef", "vnp_Amount", "vnp_TransactionNo", "vnp_TransactionDate", "vnp_CreateBy",
                      "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
            ok = body["vnp_SecureHash"] == secure_hash(VNP_SECRET, "|".join(body[k] for k in fields))
            answer = {"vnp_ResponseId": "1", "vnp_Command": "refund", "vnp_ResponseCode": "00" if ok else "97",
                      "vnp_Message": "ok", "vnp_TmnCode": body["vnp_TmnCode"], "vnp_TxnRef": body["vnp_TxnRef"],
                      "vnp_Amount": body["vnp_Amount"], "vnp_BankCode": "NCB", "vnp_PayDate": "20261126101500",
                      "vnp_TransactionNo": "99887766", "vnp_TransactionType": "02", "vnp_TransactionStatus": "05",
                      "vnp_OrderInfo": body["vnp_OrderInfo"]}
            answer["vnp_SecureHash"] = secure_hash(VNP_SECRET, "|".join(answer[k] for k in (
                "vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode", "vnp_TxnRef",
                "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo", "vnp_TransactionType",
                "vnp_TransactionStatus", "vnp_OrderInfo")))
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGateways)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def gateways_on(fake_server: str) -> Iterator[None]:
    """Every gateway switched on, against the local stand-in (a module asks for it with ``usefixtures``)."""
    values = {"PAYMENT_GATEWAYS": "sandbox,vnpay,vietqr,paygov", "PAYMENT_SANDBOX_SECRET": SANDBOX_SECRET,
              "PAYMENT_SANDBOX_CALLBACKS": "off", "VNPAY_TMN_CODE": "MOTCUA01", "VNPAY_HASH_SECRET": VNP_SECRET,
              "VNPAY_API_URL": f"{fake_server}/vnpay", "VIETQR_BANK_BIN": "970415", "VIETQR_ACCOUNT": "113366668888",
              "VIETQR_ACCOUNT_NAME": "KHO BAC NHA NUOC TAY NINH", "PAYGOV_URL": f"{fake_server}/paygov",
              "PAYGOV_PARTNER_CODE": "MOTCUA", "PAYGOV_SECRET": PAYGOV_SECRET}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    settings_from_env()
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    settings_from_env()


@contextlib.contextmanager
def gateways_client() -> Iterator[Any]:
    """A client of an app built (as at start-up) while every gateway is on: the app keeps the settings it
    was built with, so a payment module makes its own (as its ``client`` fixture)."""
    from litestar.testing import TestClient  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415

    with TestClient(create_app(), base_url="http://localhost:8000") as c:
        yield c


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


# --- helpers ---------------------------------------------------------------------------------------------
def filed(client: Any, db: Database, tokens: dict[str, Any], code: str = CODE) -> int:
    """A dossier of ``code`` filed by the holder of ``tokens`` (the form's contents do not matter here)."""
    return factories.submitted(db, user_id_of(tokens), code)


def pay(client: Any, tokens: dict[str, Any], dossier_id: int, gateway: str, key: str = "", **kw: Any) -> Any:
    headers = {**bearer(tokens), **({"Idempotency-Key": key} if key else {})}
    return client.post(f"/api/v1/dossiers/{dossier_id}/payments", headers=headers, json={"gateway": gateway, **kw})


def vnp_ipn(reference: str, amount_vnd: int = FEE, *, secret: str = VNP_SECRET, code: str = "00",
            pay_date: str | None = None, **over: str) -> dict[str, str]:
    params = {"vnp_Amount": str(amount_vnd * 100), "vnp_BankCode": "NCB", "vnp_CardType": "ATM",
              "vnp_OrderInfo": "Thanh toan le phi", "vnp_PayDate": pay_date or datetime.now(UTC).astimezone(
                  __import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y%m%d%H%M%S"),
              "vnp_ResponseCode": code, "vnp_TmnCode": "MOTCUA01", "vnp_TransactionNo": "14226112",
              "vnp_TransactionStatus": "00" if code == "00" else "02", "vnp_TxnRef": reference, **over}
    return {**params, "vnp_SecureHash": secure_hash(secret, hash_data(params))}


def ipn(client: Any, params: dict[str, str]) -> dict[str, Any]:
    r = client.get("/api/v1/payments/callbacks/vnpay", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def sandbox_callback(client: Any, reference: str, outcome: str = "success", amount: int = FEE,
                     secret: str = SANDBOX_SECRET) -> Any:
    body = json.dumps({"ref": reference, "outcome": outcome, "amount": str(amount), "txn": "SBX1",
                       "paid_at": datetime.now(UTC).strftime("%Y%m%d%H%M%S")}).encode()
    sig = SandboxGateway(secret).sign(body)
    return client.post("/api/v1/payments/callbacks/sandbox", content=body,
                       headers={"content-type": "application/json", "x-sandbox-signature": "sha256=" + sig})


def events(db: Database, reference: str) -> list[PaymentEvent]:
    return db.run(lambda s: list(s.scalars(select(PaymentEvent).where(PaymentEvent.reference == reference)
                                           .order_by(PaymentEvent.id))))


def payment_row(db: Database, payment_id: int) -> Payment:
    row: Payment | None = db.run(lambda s: s.get(Payment, payment_id))
    assert row is not None
    return row


def officer(
    client: Any, db: Database, unit: str = UNIT, roles: tuple[str, ...] = ("accountant",)
) -> tuple[dict[str, Any], int]:
    """An officer of ``unit`` with payment ``roles``, in the passkey session they enrolled over HTTP."""
    person = factories.officer(db, unit, roles, client=client)
    age_step_up(db, person.tokens)  # … signed in a while ago: sensitive acts ask for a fresh step-up
    assert person.auth is not None
    AUTHENTICATORS[person.tokens["access_token"]] = person.auth
    return person.tokens, person.id


AUTHENTICATORS: dict[str, SoftAuthenticator] = {}


def step_up(client: Any, tokens: dict[str, Any]) -> None:
    auth = AUTHENTICATORS[tokens["access_token"]]
    options = client.post("/api/v1/auth/step-up/options", headers=bearer(tokens)).json()
    r = client.post("/api/v1/auth/step-up/verify", content=json.dumps(auth.get(options)).encode(),
                    headers={**bearer(tokens), "content-type": "application/json"})
    assert r.status_code == 200, r.text


def refuse_at_intake(db: Database, dossier_id: int, officer_id: int) -> None:
    db.run(lambda s: fire(s, s.get(Dossier, dossier_id), "refuse_intake", actor_id=officer_id,
                          actors={Actor.RECEIVER}, reason="Hồ sơ không thuộc thẩm quyền"))
