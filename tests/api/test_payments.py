"""Paying fees over HTTP (SQLite and PostgreSQL): the JSON API, callbacks of every gateway, attacks,
concurrency, receipts, refunds, bank statements, reconciliation, and the pages without JavaScript."""

from __future__ import annotations

import asyncio
import csv
import html as html_lib
import io
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from api.app import create_app
from domain.audit import AuditEvent
from domain.calendar.engine import TZ as VN  # Asia/Ho_Chi_Minh
from domain.catalog.models import Offering
from domain.db import Database
from domain.dossiers.filing import next_code
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier
from domain.payments import operations as service
from domain.payments.gateways import make
from domain.payments.gateways.paygov import checksum
from domain.payments.gateways.sandbox import SandboxGateway
from domain.payments.gateways.vietqr import decode
from domain.payments.gateways.vnpay import hash_data, secure_hash
from domain.payments.models import Payment, Receipt
from domain.workflow import Actor
from tests.api.payments_world import (
    CODE,
    FEE,
    PAYGOV_SECRET,
    SANDBOX_SECRET,
    UNIT,
    VNP_SECRET,
    FakeGateways,
    events,
    filed,
    gateways_client,
    ipn,
    officer,
    pay,
    payment_row,
    refuse_at_intake,
    sandbox_callback,
    step_up,
    vnp_ipn,
)
from tests.helpers import (
    bearer,
    csrf_of,
    payment_context,
    register_on_page,
    signed_in,
)

pytestmark = pytest.mark.usefixtures("gateways_on")  # every gateway on, against the local stand-in


@pytest.fixture(scope="module")
def client(gateways_on: None, catalogue_db: str) -> Iterator[Any]:
    """This module's app: built with every gateway on."""
    with gateways_client() as c:
        yield c


# --- the JSON API ------------------------------------------------------------------------------------------
def test_fee_is_shown_before_filing(client: Any) -> None:
    _, tokens = signed_in(client)
    draft = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": CODE}).json()
    fee = client.get(f"/api/v1/dossiers/{draft['id']}/fee", headers=bearer(tokens))
    assert fee.status_code == 200, fee.text
    body = fee.json()
    assert body["amount_vnd"] == FEE and body["kind"] == "fixed" and body["source"] == "catalogue"
    assert "sandbox" in body["gateways"] and body["name"].startswith("Phí, lệ phí")
    # a draft cannot be paid yet
    assert pay(client, tokens, draft["id"], "sandbox").status_code == 409


def test_pay_with_the_sandbox_end_to_end(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    dossier_id = filed(client, db, tokens)
    first = pay(client, tokens, dossier_id, "sandbox", key="k-1")
    assert first.status_code == 201, first.text
    p = first.json()
    assert p["status"] == "created" and p["amount_vnd"] == FEE and p["qr"] is None
    assert p["redirect_url"] == f"http://localhost:8000/thanh-toan/chuyen/{p['reference']}"
    assert re.fullmatch(r"TT[A-Z2-9]{14}", p["reference"])
    # the same key and body: the same payment; the same key with another body: 409
    again = pay(client, tokens, dossier_id, "sandbox", key="k-1")
    assert again.status_code == 201 and again.json()["id"] == p["id"]
    other = pay(client, tokens, dossier_id, "vnpay", key="k-1")
    assert other.status_code == 409 and other.headers["content-type"].startswith("application/problem+json")
    # the next URL starts the payment and sends the payer to the (signed) sandbox page
    go = client.get(f"/thanh-toan/chuyen/{p['reference']}", follow_redirects=False)
    assert go.status_code == 303 and go.headers["location"].startswith("http://localhost:8000/cong-thu-nghiem?")
    assert client.get(f"/api/v1/payments/{p['id']}", headers=bearer(tokens)).json()["status"] == "started"
    page = client.get(go.headers["location"])
    assert page.status_code == 200 and "10.000" in page.text
    forged_page = client.get(go.headers["location"].replace("amount=10000", "amount=1"))
    assert forged_page.status_code == 400
    # the gateway's callback: applied once; replays answer the same and change nothing
    done = sandbox_callback(client, p["reference"])
    assert done.status_code == 200 and done.json() == {"result": "confirmed", "status": "success"}
    replay = sandbox_callback(client, p["reference"])
    assert replay.status_code == 200 and replay.json()["status"] == "success"
    view = client.get(f"/api/v1/payments/{p['id']}", headers=bearer(tokens)).json()
    assert view["status"] == "success" and view["finished"] and view["redirect_url"] is None
    receipt = client.get(f"/api/v1/payments/{p['id']}/receipt", headers=bearer(tokens))
    assert receipt.status_code == 200, receipt.text
    r = receipt.json()
    assert r["amount_vnd"] == FEE and r["unit_code"] == UNIT and re.fullmatch(r"\d{7}", r["number"])
    assert r["series"] == f"BL{datetime.now(UTC):%y}E" and r["payer_name"] == "Nguyễn Văn An"
    assert r["dossier_code"].startswith(UNIT) and r["fee_name"].startswith("Phí, lệ phí")
    verify = client.get(urlsplit(r["verify_url"]).path)
    assert verify.status_code == 200 and "N***** V** An" in verify.text and "Nguyễn Văn An" not in verify.text
    # the receipt is in the payer's wallet
    wallet = client.get("/api/v1/documents", headers=bearer(tokens)).json()
    assert [d["kind"] for d in wallet] == ["receipt"] and wallet[0]["id"] == r["document_id"]
    stored = client.get(f"/api/v1/documents/{r['document_id']}/content", headers=bearer(tokens))
    assert stored.status_code == 200 and r["number"] in stored.text and "<script" not in stored.text
    # a second payment of a paid dossier is refused
    assert pay(client, tokens, dossier_id, "sandbox", key="k-2").status_code == 409
    assert pay(client, tokens, dossier_id, "vnpay").status_code == 409
    recorded = events(db, p["reference"])
    assert [(e.kind, e.result) for e in recorded] == [("callback", "confirmed"), ("callback", "already")]
    audit = db.run(lambda s: [a.event for a in s.scalars(select(AuditEvent).where(
        AuditEvent.subject == f"payment:{p['id']}").order_by(AuditEvent.id))])
    assert audit == ["payment.created", "payment.started", "payment.success"]


def test_double_tap_without_key_makes_one_payment(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    dossier_id = filed(client, db, tokens)
    a, b = pay(client, tokens, dossier_id, "vnpay"), pay(client, tokens, dossier_id, "vnpay")
    assert a.status_code == b.status_code == 201 and a.json()["id"] == b.json()["id"]
    assert pay(client, tokens, dossier_id, "sandbox").status_code == 409  # another gateway while one is live
    assert (
        client.post(f"/api/v1/payments/{a.json()['id']}/cancel", headers=bearer(tokens)).json()["status"] == "cancelled"
    )
    c = pay(client, tokens, dossier_id, "sandbox")
    assert c.status_code == 201 and c.json()["id"] != a.json()["id"]
    assert (
        db.run(lambda s: s.scalar(select(func.count()).select_from(Payment).where(Payment.dossier_id == dossier_id)))
        == 2
    )


def test_bad_input(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    dossier_id = filed(client, db, tokens)
    assert pay(client, tokens, dossier_id, "bitcoin").status_code == 404
    assert pay(client, tokens, dossier_id, "").status_code == 400
    assert client.post(f"/api/v1/dossiers/{dossier_id}/payments", headers=bearer(tokens),
                       json={"gateway": "sandbox", "amount_vnd": 1}).status_code == 400  # no amount from clients
    broken = client.post(f"/api/v1/dossiers/{dossier_id}/payments", content=b"[1,2",
                         headers={**bearer(tokens), "content-type": "application/json"})
    assert broken.status_code == 400
    long_key = pay(client, tokens, dossier_id, "sandbox", key="x" * 200)
    assert long_key.status_code == 400
    assert client.post(f"/api/v1/dossiers/{dossier_id}/payments", json={"gateway": "sandbox"}).status_code == 401


def test_someone_elses_payment_is_404(client: Any, db: Database) -> None:
    _, owner = signed_in(client)
    _, stranger = signed_in(client)
    dossier_id = filed(client, db, owner)
    p = pay(client, owner, dossier_id, "sandbox").json()
    for url in (f"/api/v1/payments/{p['id']}", f"/api/v1/payments/{p['id']}/receipt",
                f"/api/v1/dossiers/{dossier_id}/fee", f"/api/v1/dossiers/{dossier_id}/payments"):
        assert client.get(url, headers=bearer(stranger)).status_code == 404, url
    assert pay(client, stranger, dossier_id, "sandbox").status_code == 404
    assert client.post(f"/api/v1/payments/{p['id']}/cancel", headers=bearer(stranger)).status_code == 404
    assert client.get(f"/api/v1/officer/dossiers/{dossier_id}/payments", headers=bearer(stranger)).status_code == 404


def test_vnpay_ipn_answers_every_case(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "vnpay", key="v").json()
    go = client.get(urlsplit(p["redirect_url"]).path, follow_redirects=False)
    assert go.status_code == 303 and go.headers["location"].startswith("https://sandbox.vnpayment.vn/paymentv2/")
    sent = dict(parse_qsl(urlsplit(go.headers["location"]).query))
    assert sent["vnp_Amount"] == "1000000" and sent["vnp_TxnRef"] == p["reference"]
    assert secure_hash(VNP_SECRET, hash_data(sent)) == sent["vnp_SecureHash"]
    ref = p["reference"]
    assert ipn(client, vnp_ipn(ref, secret="forged")) == {"RspCode": "97", "Message": "Invalid signature"}
    assert ipn(client, vnp_ipn("TTNOSUCHORDER234"))["RspCode"] == "01"
    assert ipn(client, vnp_ipn(ref, amount_vnd=1))["RspCode"] == "04"
    assert ipn(client, vnp_ipn(ref, amount_vnd=-FEE))["RspCode"] == "04"
    assert ipn(client, vnp_ipn(ref, amount_vnd=10**12))["RspCode"] == "04"
    assert ipn(client, {"vnp_TxnRef": ref})["RspCode"] == "97"  # no signature at all
    unsigned = vnp_ipn(ref)
    unsigned["vnp_SecureHash"] = secure_hash(VNP_SECRET, hash_data({**unsigned, "vnp_Amount": "x"}))
    assert ipn(client, unsigned)["RspCode"] == "97"
    assert payment_row(db, p["id"]).status == "started"  # nothing above changed it
    assert ipn(client, vnp_ipn(ref)) == {"RspCode": "00", "Message": "Confirm Success"}
    assert ipn(client, vnp_ipn(ref))["RspCode"] == "02"  # a replay
    assert ipn(client, vnp_ipn(ref, code="24"))["RspCode"] == "02"  # out of order: stays paid
    row = payment_row(db, p["id"])
    assert row.status == "success" and row.gateway_txn == "14226112"
    results = [e.result for e in events(db, ref)]
    assert results == ["invalid_signature", "invalid_amount", "invalid_amount", "invalid_amount",
                       "invalid_signature", "invalid_signature", "confirmed", "already", "already"]
    assert [e.result for e in events(db, "TTNOSUCHORDER234")] == ["not_found"]
    assert client.get("/api/v1/payments/callbacks/vietqr").status_code == 404
    assert client.get("/api/v1/payments/callbacks/nosuch").status_code == 404


def test_browser_return_before_the_callback(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "vnpay").json()
    back = client.get("/thanh-toan/ve/vnpay", params=vnp_ipn(p["reference"]), follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/thanh-toan/{p['id']}"
    assert payment_row(db, p["id"]).status == "success"
    assert ipn(client, vnp_ipn(p["reference"]))["RspCode"] == "02"  # the IPN arrives later
    forged = client.get("/thanh-toan/ve/vnpay", params=vnp_ipn(p["reference"], secret="x"), follow_redirects=False)
    assert forged.status_code == 400
    assert [(e.kind, e.result) for e in events(db, p["reference"])] == [
        ("return", "confirmed"), ("callback", "already"), ("return", "invalid_signature")]


def test_failed_then_retry(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "vnpay").json()
    assert ipn(client, vnp_ipn(p["reference"], code="51"))["RspCode"] == "00"
    assert payment_row(db, p["id"]).status == "failed"
    assert ipn(client, vnp_ipn(p["reference"]))["RspCode"] == "02"  # success after failure: recorded, not applied
    row = payment_row(db, p["id"])
    assert row.status == "failed" and row.anomaly == "paid_after_close"
    retry = pay(client, tokens, dossier_id, "sandbox")
    assert retry.status_code == 201 and retry.json()["id"] != p["id"]


def _vnpay_payment_expired(client: Any, db: Database,
                           ago: timedelta) -> tuple[dict[str, Any], dict[str, Any], datetime]:
    """A citizen's VNPay payment whose time ran out ``ago``: their tokens, the payment, when it expired."""
    _, tokens = signed_in(client)
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "vnpay").json()
    expires = datetime.now(UTC) - ago
    db.run(lambda s: s.execute(update(Payment).where(Payment.id == p["id"]).values(expires_at=expires)))
    return tokens, p, expires


def test_callback_for_an_expired_payment(client: Any, db: Database) -> None:
    tokens, p, _ = _vnpay_payment_expired(client, db, timedelta(minutes=1))
    # reading it expires it (90 minutes are over)
    assert client.get(f"/api/v1/payments/{p['id']}", headers=bearer(tokens)).json()["status"] == "expired"
    assert ipn(client, vnp_ipn(p["reference"]))["RspCode"] == "02"
    row = payment_row(db, p["id"])
    assert row.status == "expired" and row.anomaly == "paid_after_close" and row.open_dossier_id is None
    assert db.run(lambda s: s.scalar(select(Receipt).where(Receipt.payment_id == p["id"]))) is None


def test_paid_in_time_but_notified_late_counts(client: Any, db: Database) -> None:
    _, p, expires = _vnpay_payment_expired(client, db, timedelta(seconds=30))
    paid = (expires - timedelta(minutes=1)).astimezone(VN)
    assert ipn(client, vnp_ipn(p["reference"], pay_date=paid.strftime("%Y%m%d%H%M%S")))["RspCode"] == "00"
    assert payment_row(db, p["id"]).status == "success"


def test_absurd_and_negative_amounts(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    officer_tokens, _ = officer(client, db)
    dossier_id = filed(client, db, tokens)
    url = f"/api/v1/officer/dossiers/{dossier_id}/fee"
    for amount in (-1, 10**11):
        r = client.put(url, headers=bearer(officer_tokens), json={"amount_vnd": amount, "reason": "NQ 12/2026"})
        assert r.status_code == 400, r.text
    assert client.put(url, headers=bearer(officer_tokens), json={"amount_vnd": 5000}).status_code == 400  # no basis
    ok = client.put(url, headers=bearer(officer_tokens), json={"amount_vnd": 15_000, "reason": "NQ 12/2026/NQ-HĐND"})
    assert ok.status_code == 200 and ok.json()["amount_vnd"] == 15_000 and ok.json()["source"] == "officer"
    assert pay(client, tokens, dossier_id, "sandbox").json()["amount_vnd"] == 15_000
    # a council amount of the offer that is absurd is refused at payment time
    _, tokens2 = signed_in(client)
    other = filed(client, db, tokens2)
    old = db.run(lambda s: s.get(Offering, CODE).local_fee_vnd)
    try:
        db.run(lambda s: s.execute(update(Offering).where(Offering.procedure_code == CODE).values(local_fee_vnd=-5)))
        assert pay(client, tokens2, other, "sandbox").status_code == 400
        db.run(lambda s: s.execute(update(Offering).where(Offering.procedure_code == CODE)
                                   .values(local_fee_vnd=2_000_000_000)))
        assert pay(client, tokens2, other, "sandbox").status_code == 400
        db.run(lambda s: s.execute(update(Offering).where(Offering.procedure_code == CODE).values(local_fee_vnd=0)))
        assert pay(client, tokens2, other, "sandbox").status_code == 409  # free
    finally:
        db.run(lambda s: s.execute(update(Offering).where(Offering.procedure_code == CODE).values(local_fee_vnd=old)))


# --- VietQR, officers, statements, refunds, reconciliation ---------------------------------------------------
def test_vietqr_confirmed_by_bank_statement(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    officer_tokens, _ = officer(client, db)
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "vietqr", key="q").json()
    assert p["status"] == "started" and p["redirect_url"] is None
    qr = decode(p["qr"]["payload"])
    assert qr["54"] == str(FEE) and qr["62.08"] == p["dossier_code"] and qr["38.01.00"] == "970415"
    assert p["qr"]["purpose"] == p["dossier_code"]
    assert (
        client.post(f"/api/v1/payments/{p['id']}/transferred", headers=bearer(tokens)).json()["status"] == "submitted"
    )
    squeezed = re.sub(r"[.\-]", "", p["dossier_code"])  # banks often drop dots and dashes
    statement = ("Ngày giao dịch;Số tiền ghi có;Nội dung;Mã giao dịch\n"
                 f"26/11/2026;10.000;CT DEN:123 {squeezed} NGUYEN VAN AN;FT2633001\n"
                 "26/11/2026;50.000;CHUYEN TIEN AN UONG;FT2633002\n"
                 f"26/11/2026;10.000;000.31.11.H56-991231-9999;FT2633003\n")
    r = client.post("/api/v1/officer/payments/bank-statement", headers={**bearer(officer_tokens),
                                                                        "content-type": "text/csv"},
                    content=statement.encode())
    assert r.status_code == 200, r.text
    assert [x["result"] for x in r.json()["lines"]] == ["confirmed", "skipped", "not_found"]
    assert client.get(f"/api/v1/payments/{p['id']}", headers=bearer(tokens)).json()["status"] == "success"
    again = client.post("/api/v1/officer/payments/bank-statement", headers={**bearer(officer_tokens),
                                                                            "content-type": "text/csv"},
                        content=statement.encode())
    assert [x["result"] for x in again.json()["lines"]] == ["already", "skipped", "not_found"]
    assert (
        client.get(f"/api/v1/payments/{p['id']}/receipt", headers=bearer(tokens)).json()["gateway_txn"] == "FT2633001"
    )
    bad = client.post(
        "/api/v1/officer/payments/bank-statement",
        headers={**bearer(officer_tokens), "content-type": "text/csv"},
        content=b"a,b\n1,2",
    )
    assert bad.status_code == 400


def test_vietqr_confirmed_by_an_officer(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    officer_tokens, _ = officer(client, db)
    elsewhere, _ = officer(client, db, unit="000.31.01.H56")
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "vietqr").json()
    url = f"/api/v1/officer/payments/{p['id']}/confirm"
    assert client.post(url, headers=bearer(elsewhere), json={"amount_vnd": FEE, "bank_ref": "FT1"}).status_code == 404
    wrong = client.post(url, headers=bearer(officer_tokens), json={"amount_vnd": 9_000, "bank_ref": "FT1"})
    assert wrong.json() == {"result": "invalid_amount", "status": "started"}
    ok = client.post(url, headers=bearer(officer_tokens), json={"amount_vnd": FEE, "bank_ref": "FT1"})
    assert ok.json() == {"result": "confirmed", "status": "success"}
    listed = client.get(f"/api/v1/officer/dossiers/{dossier_id}/payments", headers=bearer(officer_tokens)).json()
    assert [e["result"] for e in listed[0]["events"]] == ["invalid_amount", "confirmed"]


def test_refund_when_refused_at_intake_needs_step_up(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    officer_tokens, officer_id = officer(client, db)
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "vnpay").json()
    assert ipn(client, vnp_ipn(p["reference"]))["RspCode"] == "00"
    url = f"/api/v1/officer/payments/{p['id']}/refunds"
    early = client.post(url, headers=bearer(officer_tokens), json={})
    assert early.status_code == 403  # no step-up yet
    step_up(client, officer_tokens)
    not_due = client.post(url, headers=bearer(officer_tokens), json={})
    assert not_due.status_code == 409 and "chưa kết thúc" in not_due.json()["detail"]
    refuse_at_intake(db, dossier_id, officer_id)
    done = client.post(url, headers=bearer(officer_tokens), json={"reason": "Từ chối tiếp nhận"})
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "success" and done.json()["amount_vnd"] == FEE
    sent = [x for x in FakeGateways.seen if x["path"] == "/vnpay"][-1]["body"]
    assert sent["vnp_TxnRef"] == p["reference"] and sent["vnp_Amount"] == "1000000"
    assert client.post(url, headers=bearer(officer_tokens), json={}).status_code == 409  # nothing left
    view = client.get(f"/api/v1/payments/{p['id']}", headers=bearer(tokens)).json()
    assert view["refunds"][0]["status"] == "success"


def test_paygov_adapter_against_a_local_platform(client: Any, db: Database, fake_server: str) -> None:
    _, tokens = signed_in(client)
    officer_tokens, officer_id = officer(client, db)
    step_up(client, officer_tokens)
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "paygov").json()
    go = client.get(urlsplit(p["redirect_url"]).path, follow_redirects=False)
    assert go.status_code == 303 and go.headers["location"] == f"{fake_server}/paygov/pay/{p['reference']}"
    result = {"partnerCode": "MOTCUA", "orderId": p["reference"], "amount": FEE, "transactionId": "PG77",
              "status": "00", "paidAt": "20261126101500"}
    result["checksum"] = checksum(PAYGOV_SECRET, [str(result[k]) for k in ("partnerCode", "orderId", "amount",
                                                                          "transactionId", "status", "paidAt")])
    r = client.post("/api/v1/payments/callbacks/paygov", json=result)
    assert r.status_code == 200 and r.json()["code"] == "00"
    assert client.post("/api/v1/payments/callbacks/paygov", json=result).json()["code"] == "02"
    assert client.post("/api/v1/payments/callbacks/paygov", json={**result, "amount": 1}).json()["code"] == "97"
    refuse_at_intake(db, dossier_id, officer_id)
    refund = client.post(f"/api/v1/officer/payments/{p['id']}/refunds", headers=bearer(officer_tokens), json={})
    assert refund.status_code == 201 and refund.json()["status"] == "success"


def test_reconciliation_csv(client: Any, db: Database) -> None:
    _, tokens = signed_in(client)
    officer_tokens, _ = officer(client, db)
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "sandbox").json()
    assert sandbox_callback(client, p["reference"]).status_code == 200
    r = client.get("/api/v1/officer/payments/reconciliation", headers=bearer(officer_tokens),
                   params={"gateway": "sandbox"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    mine = [x for x in rows if x["ma_thanh_toan"] == p["reference"]]
    assert mine and mine[0]["trang_thai"] == "success" and mine[0]["so_tien_vnd"] == str(FEE)
    assert mine[0]["bien_lai"].startswith("BL") and all(x["cong_thanh_toan"] == "sandbox" for x in rows)
    summary = client.get("/api/v1/officer/payments/reconciliation", headers=bearer(officer_tokens),
                         params={"summary": "true"})
    totals = list(csv.DictReader(io.StringIO(summary.text.lstrip("\ufeff"))))
    success = next(x for x in totals if x["cong_thanh_toan"] == "sandbox" and x["trang_thai"] == "success")
    assert int(success["so_giao_dich"]) >= 1 and int(success["tong_tien_vnd"]) >= FEE
    # citizens and officers of other units see nothing of it
    _, citizen = signed_in(client)
    assert client.get("/api/v1/officer/payments/reconciliation", headers=bearer(citizen)).status_code == 404  # no role
    elsewhere, _ = officer(client, db, unit="000.31.01.H56")
    assert p["reference"] not in client.get("/api/v1/officer/payments/reconciliation",
                                            headers=bearer(elsewhere)).text


# --- concurrency ----------------------------------------------------------------------------------------------
async def test_100_identical_callbacks_at_once_over_http(client: Any, db: Database) -> None:
    def setup() -> dict[str, Any]:
        _, tokens = signed_in(client)
        return pay(client, tokens, filed(client, db, tokens), "vnpay").json()  # type: ignore[no-any-return]

    p = await asyncio.to_thread(setup)  # the database helpers run their own event loop on PostgreSQL
    params = vnp_ipn(p["reference"])
    async with AsyncTestClient(create_app(), base_url="http://localhost:8000") as ac:
        answers = await asyncio.gather(*[ac.get("/api/v1/payments/callbacks/vnpay", params=params) for _ in range(100)])
    codes = sorted(a.json()["RspCode"] for a in answers)
    assert codes == ["00"] + ["02"] * 99
    assert len(await asyncio.to_thread(events, db, p["reference"])) == 100
    receipts = await asyncio.to_thread(db.run, lambda s: s.scalar(
        select(func.count()).select_from(Receipt).where(Receipt.payment_id == p["id"])))
    assert receipts == 1


def test_100_identical_callbacks_from_threads_each_with_its_own_engine(client: Any, db: Database,
                                                                      database_url: str) -> None:
    """Real concurrency: every thread has its own engine and connection (PostgreSQL allows 100 connections
    in all, so at most 60 are open at once)."""
    _, tokens = signed_in(client)
    dossier_id = filed(client, db, tokens)
    p = pay(client, tokens, dossier_id, "sandbox").json()
    body = json.dumps({"ref": p["reference"], "outcome": "success", "amount": str(FEE), "txn": "SBX9",
                       "paid_at": ""}).encode()
    ctx = payment_context()
    gw = make("sandbox", ctx.settings)
    headers = {"x-sandbox-signature": "sha256=" + SandboxGateway(SANDBOX_SECRET).sign(body)}
    start, gate, results = threading.Barrier(100), threading.Semaphore(60), []

    def one() -> None:
        notice = gw.parse_callback({}, body, headers)
        start.wait()
        with gate:
            own = Database(database_url)
            results.append(own.run(service.apply_notice, "sandbox", notice, kind="callback", ctx=ctx).ack.value)
            if own.sync_engine is not None:
                own.sync_engine.dispose()

    threads = [threading.Thread(target=one) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == ["already"] * 99 + ["confirmed"]
    assert len(events(db, p["reference"])) == 100
    assert (
        db.run(lambda s: s.scalar(select(func.count()).select_from(Receipt).where(Receipt.payment_id == p["id"]))) == 1
    )
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.subject == f"payment:{p['id']}", AuditEvent.event == "payment.success"))) == 1


# --- pages (no JavaScript) -----------------------------------------------------------------------------------
def test_pay_on_the_pages_without_javascript(page_client: Any, db: Database) -> None:
    c = page_client
    register_on_page(c)
    start = c.get("/thu-tuc/1.004222")
    r = c.post("/ho-so", data={"_csrf_token": csrf_of(start.text), "procedure_code": CODE}, follow_redirects=False)
    dossier_id = int(r.headers["location"].rsplit("/", 1)[1])

    def run(s: Any) -> None:
        d = s.get(Dossier, dossier_id)
        fire(s, d, "submit", actor_id=d.owner_id, actors={Actor.APPLICANT})
        d.code, d.submitted_at, d.fee_vnd = next_code(s, d.unit_code, datetime.now(UTC)), datetime.now(UTC), FEE

    db.run(run)
    status = c.get(f"/ho-so/{dossier_id}")
    assert f'href="/ho-so/{dossier_id}/thanh-toan"' in status.text and "Thanh toán lệ phí" in status.text
    page = c.get(f"/ho-so/{dossier_id}/thanh-toan")
    assert page.status_code == 200 and "10.000" in page.text and 'value="sandbox"' in page.text
    assert "form-action 'self' https://sandbox.vnpayment.vn" in page.headers["content-security-policy"]
    key = re.search(r'name="_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert c.post(f"/ho-so/{dossier_id}/thanh-toan", data={"gateway": "sandbox", "_key": key}).status_code == 403
    form = {"_csrf_token": csrf_of(page.text), "gateway": "sandbox", "_key": key}
    go = c.post(f"/ho-so/{dossier_id}/thanh-toan", data=form, follow_redirects=False)
    twice = c.post(f"/ho-so/{dossier_id}/thanh-toan", data=form, follow_redirects=False)  # a double tap
    assert go.headers["location"] == twice.headers["location"]
    sandbox = c.get(go.headers["location"], follow_redirects=False)
    sandbox_page = c.get(sandbox.headers["location"])
    assert "Cổng thanh toán thử nghiệm" in sandbox_page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', sandbox_page.text))
    fields = {k: html_lib.unescape(v) for k, v in fields.items()}
    back = c.post("/cong-thu-nghiem", data={**fields, "outcome": "success"}, follow_redirects=False)
    assert back.status_code == 303 and "/thanh-toan/ve/sandbox?" in back.headers["location"]
    landed = c.get(urlsplit(back.headers["location"]).path + "?" + urlsplit(back.headers["location"]).query)
    assert landed.status_code == 200 and "Đã thanh toán" in landed.text and "Xem biên lai" in landed.text
    payment_id = int(re.search(r"/thanh-toan/(\d+)/bien-lai", landed.text).group(1))  # type: ignore[union-attr]
    partial = c.get(f"/thanh-toan/{payment_id}/trang-thai", headers={"HX-Request": "true"})
    assert "hx-trigger" not in partial.text and "<html" not in partial.text  # final: polling stops
    receipt = c.get(f"/thanh-toan/{payment_id}/bien-lai")
    assert receipt.status_code == 200 and "Biên lai thu phí, lệ phí" in receipt.text and "<svg" in receipt.text
    summary = c.get(f"/ho-so/{dossier_id}/thanh-toan/tom-tat", headers={"HX-Request": "true"})
    assert "Đã thanh toán" in summary.text
    assert c.get(f"/ho-so/{dossier_id}/thanh-toan").text.count("Đã thanh toán") >= 1
