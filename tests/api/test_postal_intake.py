"""A dossier that came by post, end to end over HTTP: postal intake with its waybill, received at once, the result
sent back by post with another waybill and its delivery confirmed. A waybill number is the operator's and is
never used twice, whatever its case and whichever direction: refused in Vietnamese, nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.db import Database
from domain.dossiers.models import Dossier, PostalItem
from tests import factories
from tests.factories import Person
from tests.helpers import ADDRESS, is_problem, jpeg, new_phone

FIELDS = {"applicant_cccd": "072090001234", "applicant_phone": "0912345678", "applicant_address": ADDRESS,
          "request": "Đề nghị giải quyết"}
RETURN_TO = "Số 9 đường Cách Mạng Tháng Tám, Phường Tân Ninh, Tây Ninh"


@pytest.fixture(scope="module")
def world(client: Any, db: Database, procedure: str) -> dict[str, Any]:
    unit = client.get(f"/api/v1/procedures/{procedure}").json()["offer"]["unit_code"]
    form = client.get(f"/api/v1/procedures/{procedure}/form").json()
    return {"code": procedure, "form": form, "officer": factories.receiver(db, unit, ("receiver", "processor"))}


def waybill() -> str:
    return f"EB{new_phone()[2:]}VN"


def postal_intake(client: Any, officer: Person, code: str, number: str) -> Any:
    return client.post("/api/v1/officer/intake", headers=officer.headers, json={
        "channel": "postal", "procedure_code": code, "return_method": "post", "return_address": RETURN_TO,
        "applicant": {"full_name": "Huỳnh Văn Gửi Thư", "phone": "0913000777"}, "data": FIELDS,
        "postal": {"waybill": number, "received_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
                   "sender": "Huỳnh Văn Gửi Thư"}})


def issue_result(db: Database, dossier_id: int) -> None:
    """The deciding unit's work, through the workflow's events: processed, approved, its result issued."""
    def run(s: Session) -> None:
        d = s.get(Dossier, dossier_id)
        assert d is not None
        factories.decide_and_issue(s, d)

    db.run(run)


def act(client: Any, officer: Person, dossier_id: int, action: str, **body: Any) -> Any:
    d = client.get(f"/api/v1/officer/dossiers/{dossier_id}", headers=officer.headers).json()
    return client.post(f"/api/v1/officer/dossiers/{dossier_id}/actions/{action}", headers=officer.headers,
                       json={"version": d["version"], **body})


def postal_items(db: Database) -> int:
    return int(db.run(lambda s: s.scalar(select(func.count()).select_from(PostalItem))))


def test_a_dossier_by_post_received_and_its_result_returned_by_post(client: Any, db: Database,
                                                                    world: dict[str, Any]) -> None:
    officer, incoming = world["officer"], waybill()
    r = postal_intake(client, officer, world["code"], f" {incoming.lower()} ")
    assert r.status_code == 201, r.text
    dossier_id = r.json()["id"]
    for slot in world["form"]["documents"]:
        if slot["required"]:
            up = client.post(f"/api/v1/dossiers/{dossier_id}/documents", headers=officer.headers,
                             data={"slot": slot["slot"]}, files={"file": ("trang.jpg", jpeg((700, 900)), "image/jpeg")})
            assert up.status_code == 201, up.text
    received = client.post(f"/api/v1/officer/intake/{dossier_id}/receive", headers=officer.headers)
    assert received.status_code == 200, received.text
    assert received.json()["status"] == "received" and received.json()["due_date"]
    item = db.run(lambda s: s.scalar(select(PostalItem).where(PostalItem.dossier_id == dossier_id)))
    assert (item.direction, item.waybill, item.party) == ("in", incoming, "Huỳnh Văn Gửi Thư")  # as the operator
    d = client.get(f"/api/v1/officer/dossiers/{dossier_id}", headers=officer.headers).json()
    assert (d["channel"], d["return_method"], d["return_address"]) == ("post", "post", RETURN_TO)
    issue_result(db, dossier_id)
    # the waybill it came with is not the one the result goes back with
    before = postal_items(db)
    is_problem(act(client, officer, dossier_id, "send_by_post", waybill=incoming), 409, "đã được dùng")
    assert postal_items(db) == before
    assert client.get(f"/api/v1/officer/dossiers/{dossier_id}",
                      headers=officer.headers).json()["status"] == "result_issued"
    outgoing = waybill()
    sent = act(client, officer, dossier_id, "send_by_post", waybill=outgoing)
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent_by_post" and sent.json()["postal"]["waybill"] == outgoing
    out = db.run(lambda s: s.scalar(select(PostalItem).where(PostalItem.waybill == outgoing)))
    assert (out.direction, out.dossier_id, out.address) == ("out", dossier_id, RETURN_TO)
    done = act(client, officer, dossier_id, "confirm_delivery")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "returned" and done.json()["postal"]["delivery_source"] == "officer"


def test_a_waybill_is_never_taken_twice_whatever_its_case(client: Any, db: Database, world: dict[str, Any]) -> None:
    officer, number = world["officer"], waybill()
    assert postal_intake(client, officer, world["code"], number).status_code == 201
    before = (postal_items(db), int(db.run(lambda s: s.scalar(select(func.count()).select_from(Dossier)))))
    is_problem(postal_intake(client, officer, world["code"], number.lower()), 409, "vận đơn")
    is_problem(postal_intake(client, officer, world["code"], "ab"), 400, "vận đơn")
    assert (postal_items(db), int(db.run(lambda s: s.scalar(select(func.count()).select_from(Dossier))))) == before
