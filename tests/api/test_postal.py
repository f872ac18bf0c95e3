"""Return by post over HTTP: the officer records the waybill (send_by_post), the applicant sees it and the
state "sent by post", delivery is confirmed by an officer or by the postal operator through postal-sync;
a waybill used before is refused with nothing stored."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from sqlalchemy import func, select

from domain.db import Database
from domain.dossiers.models import PostalItem
from tests import factories
from tests.api.payments_world import pay
from tests.domain.postal.sandbox import MOTCUA, deliver, sandbox_process
from tests.helpers import audit, bearer, is_problem, new_phone


def _act(client: Any, officer: factories.Person, dossier_id: int, action: str, **body: Any) -> Any:
    d = client.get(f"/api/v1/officer/dossiers/{dossier_id}", headers=officer.headers).json()
    return client.post(f"/api/v1/officer/dossiers/{dossier_id}/actions/{action}", headers=officer.headers,
                       json={"version": d["version"], **body})


def _waybill() -> str:
    return f"EM{new_phone()[2:]}VN"


def test_result_sent_by_post_then_confirmed_by_an_officer(client: Any, db: Database) -> None:
    citizen = factories.citizen(db)
    officer = factories.officer(db, factories.FEE_UNIT, ("receiver",), client=client)
    dossier_id = factories.result_issued(db, citizen, postal_fee_vnd=25_000)
    waybill = _waybill()
    sent = _act(client, officer, dossier_id, "send_by_post", waybill=f" {waybill.lower()} ")
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["status"] == "sent_by_post" and body["postal"]["waybill"] == waybill
    # the applicant sees the waybill and the state
    mine = client.get(f"/api/v1/dossiers/{dossier_id}", headers=citizen.headers).json()
    assert mine["status_name"] == "Đã gửi kết quả qua bưu chính"
    assert mine["return_method"] == "post" and mine["postal_fee_vnd"] == 25_000
    assert mine["postal"] == {"waybill": waybill, "sent_at": mine["postal"]["sent_at"], "delivered_at": None,
                              "delivery_source": None}
    item = db.read_sync(lambda s: s.scalar(select(PostalItem).where(PostalItem.waybill == waybill)))
    assert item is not None and item.direction == "out" and item.address.startswith("12 Lê Lợi")
    assert item.party == "Nguyễn Văn An"
    done = _act(client, officer, dossier_id, "confirm_delivery")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "returned"
    assert done.json()["postal"]["delivery_source"] == "officer"
    wallet = client.get("/api/v1/documents", headers=citizen.headers).json()
    assert any(w["kind"] == "result" for w in wallet)
    history = client.get(f"/api/v1/dossiers/{dossier_id}/history", headers=citizen.headers).json()
    assert [h["event"] for h in history][-2:] == ["send_by_post", "confirm_delivery"]


def test_a_reused_waybill_is_refused_and_nothing_is_stored(client: Any, db: Database) -> None:
    citizen = factories.citizen(db)
    officer = factories.officer(db, factories.FEE_UNIT, ("receiver",), client=client)
    first, second = factories.result_issued(db, citizen), factories.result_issued(db, citizen)
    waybill = _waybill()
    assert _act(client, officer, first, "send_by_post", waybill=waybill).status_code == 200
    again = _act(client, officer, second, "send_by_post", waybill=waybill)
    is_problem(again, 409, "đã được dùng")
    assert client.get(f"/api/v1/dossiers/{second}", headers=bearer(citizen.tokens)).json()["status"] == "result_issued"
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(PostalItem)
                                           .where(PostalItem.dossier_id == second))) == 0


def test_send_by_post_needs_the_post_return_method_and_a_waybill(client: Any, db: Database) -> None:
    citizen = factories.citizen(db)
    officer = factories.officer(db, factories.FEE_UNIT, ("receiver",), client=client)
    online = factories.result_issued(db, citizen, return_method="online", return_address=None)
    is_problem(_act(client, officer, online, "send_by_post", waybill=_waybill()), 409, "bưu chính")
    by_post = factories.result_issued(db, citizen)
    is_problem(_act(client, officer, by_post, "send_by_post", waybill="x"), 400, "vận đơn")
    is_problem(_act(client, officer, by_post, "send_by_post"), 400, "vận đơn")
    is_problem(_act(client, officer, by_post, "confirm_delivery"), 409)


def test_postal_sync_confirms_what_the_sandbox_operator_delivered(client: Any, db: Database,
                                                                   env: dict[str, str]) -> None:
    citizen = factories.citizen(db)
    officer = factories.officer(db, factories.FEE_UNIT, ("receiver",), client=client)
    delivered, travelling = factories.result_issued(db, citizen), factories.result_issued(db, citizen)
    waybills = {delivered: _waybill(), travelling: _waybill()}
    for dossier_id, waybill in waybills.items():
        assert _act(client, officer, dossier_id, "send_by_post", waybill=waybill).status_code == 200
    with sandbox_process() as url:
        deliver(url, waybills[delivered], "2026-12-03T10:00:00+07:00")
        run = subprocess.run([str(MOTCUA), "postal-sync"], env={**os.environ, **env, "MOTCUA_POSTAL_URL": url},
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "delivered: 1" in run.stdout
    mine = client.get(f"/api/v1/dossiers/{delivered}", headers=citizen.headers).json()
    assert mine["status"] == "returned" and mine["postal"]["delivery_source"] == "operator"
    assert mine["postal"]["delivered_at"].startswith("2026-12-03T03:00:00")
    assert client.get(f"/api/v1/dossiers/{travelling}", headers=citizen.headers).json()["status"] == "sent_by_post"
    runs = audit(db, "postal.sync", None)
    assert runs and runs[-1]["operator"] == "http"
    assert audit(db, "dossier.confirm_delivery", None)


def test_the_applicant_chooses_post_and_pays_the_postal_fee_with_the_fees(client: Any, db: Database) -> None:
    citizen = factories.citizen(db)
    dossier_id = factories.draft(db, citizen)  # 1.004222: 10.000 ₫ online
    url = f"/api/v1/dossiers/{dossier_id}"
    is_problem(client.patch(url, headers=citizen.headers, json={"return_method": "post"}), 400, "địa chỉ")
    is_problem(client.patch(url, headers=citizen.headers, json={"return_method": "post", "return_address": " "}), 400,
               "địa chỉ")
    unchanged = client.get(url, headers=citizen.headers).json()
    assert unchanged["return_method"] == "online" and unchanged["postal_fee_vnd"] is None
    chosen = client.patch(url, headers=citizen.headers, json={
        "return_method": "post", "return_address": "  5 Trần Hưng Đạo,\n Phường Tân Ninh ",
        "version": unchanged["version"]})
    assert chosen.status_code == 200, chosen.text
    body = chosen.json()
    assert body["return_method"] == "post" and body["return_address"] == "5 Trần Hưng Đạo, Phường Tân Ninh"
    assert body["postal_fee_vnd"] == 22_000  # no operator configured: the in-process sandbox's fee
    # form data and the choice in one request; a stale version is refused
    both = client.patch(url, headers=citizen.headers, json={"data": {}, "return_method": "counter"})
    assert both.status_code == 200, both.text
    assert both.json()["return_method"] == "counter" and both.json()["postal_fee_vnd"] is None
    is_problem(client.patch(url, headers=citizen.headers, json={"return_method": "online", "version": 1}), 409)
    assert client.patch(url, headers=citizen.headers, json={
        "return_method": "post", "return_address": "5 Trần Hưng Đạo, Phường Tân Ninh"}).status_code == 200
    # the fee quote has a postal line and the payment asks for both
    quote = client.get(f"/api/v1/dossiers/{dossier_id}/fee", headers=citizen.headers)
    assert quote.status_code == 200, quote.text
    assert quote.json()["amount_vnd"] == 32_000
    assert [line["amount_vnd"] for line in quote.json()["lines"]] == [10_000, 22_000]

    factories.submit(db, dossier_id)
    paid = pay(client, citizen.tokens, dossier_id, "sandbox", key=f"postal-{dossier_id}")
    assert paid.status_code == 201, paid.text
    assert paid.json()["amount_vnd"] == 32_000


def test_a_return_method_is_chosen_on_drafts_only(client: Any, db: Database) -> None:
    citizen = factories.citizen(db)
    filed = factories.submitted(db, citizen)
    is_problem(client.patch(f"/api/v1/dossiers/{filed}", headers=citizen.headers, json={"return_method": "online"}),
               409)
    other = factories.citizen(db, full_name="Lê Thị Khác")
    mine = factories.draft(db, citizen)
    is_problem(client.patch(f"/api/v1/dossiers/{mine}", headers=other.headers, json={"return_method": "online"}), 404)
    is_problem(client.patch(f"/api/v1/dossiers/{mine}", headers=citizen.headers, json={}), 400)
