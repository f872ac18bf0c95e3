"""Cross-area receiving (phi địa giới) in the back office: a dossier received at a commune's counter for a
procedure a department decides is in the department's queue at once; the commune sees the dossiers it
received and their status, and hands the result back at its counter when the applicant chose that (and
only then); an officer of a third unit sees nothing of it. Channels show in queues and the logbook. The last
test goes the whole way through the intake API: entered and scanned at the commune's counter, received with the
commune's code, decided by the department, handed back at the commune."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.db import Database
from domain.dossiers.models import DigitisationRecord, Dossier, Handoff
from tests import factories
from tests.helpers import ADDRESS, is_problem, jpeg

COMMUNE, DEPARTMENT, OTHER_COMMUNE = "000.31.01.H56", "000.00.12.H56", "000.31.02.H56"
JUDICIAL_RECORD = "3.000333"  # decided by the Department of Justice, receivable at every counter (province.toml)


def _received_at_commune(db: Database, owner: factories.Person, return_method: str) -> int:
    """A judicial-record dossier the commune received at its counter, its result issued by the department."""
    dossier_id = factories.result_issued(db, owner, return_method=return_method, return_address=None,
                                         procedure_code=JUDICIAL_RECORD)

    def move(s: Session) -> None:
        d = s.get(Dossier, dossier_id)
        assert d is not None and d.unit_code == DEPARTMENT
        d.channel, d.receiving_unit = "counter", COMMUNE

    db.run(move)
    return dossier_id


def _act(client: Any, officer: factories.Person, dossier_id: int, action: str, **body: Any) -> Any:
    d = client.get(f"/api/v1/officer/dossiers/{dossier_id}", headers=officer.headers).json()
    return client.post(f"/api/v1/officer/dossiers/{dossier_id}/actions/{action}", headers=officer.headers,
                       json={"version": d["version"], **body})


def test_received_at_a_commune_decided_by_a_department_returned_at_the_commune(client: Any, db: Database) -> None:
    citizen = factories.citizen(db)
    commune = factories.officer(db, COMMUNE, ("receiver",), client=client)
    department = factories.officer(db, DEPARTMENT, ("receiver", "processor"), client=client)
    stranger = factories.officer(db, OTHER_COMMUNE, ("receiver", "processor"), client=client)
    dossier_id = _received_at_commune(db, citizen, "counter")
    # the deciding unit's queue has it, with its channel and where it was received
    queue = client.get("/api/v1/officer/queue", params={"view": "all", "limit": 200}, headers=department.headers)
    item = next(i for i in queue.json()["items"] if i["id"] == dossier_id)
    assert (item["channel"], item["receiving_unit"]) == ("counter", COMMUNE)
    # the receiving unit sees what it received and its status
    received = client.get("/api/v1/officer/received", headers=commune.headers)
    assert received.status_code == 200, received.text
    mine = next(i for i in received.json()["items"] if i["id"] == dossier_id)
    assert mine["status"] == "result_issued" and mine["channel"] == "counter"
    one = client.get(f"/api/v1/officer/dossiers/{dossier_id}", headers=commune.headers).json()
    assert (one["unit_code"], one["receiving_unit"], one["channel"]) == (DEPARTMENT, COMMUNE, "counter")
    # a third unit sees nothing of it
    assert client.get(f"/api/v1/officer/dossiers/{dossier_id}", headers=stranger.headers).status_code == 404
    assert dossier_id not in {i["id"] for i in client.get("/api/v1/officer/received",
                                                            headers=stranger.headers).json()["items"]}
    assert client.get("/api/v1/officer/received", params={"unit": DEPARTMENT},
                      headers=commune.headers).status_code == 404
    # the commune may do nothing else on it (the department decides) ...
    is_problem(_act(client, commune, dossier_id, "note", reason="Ghi chú"), 409)
    # ... but hands the result back at its counter, where the applicant filed
    done = _act(client, commune, dossier_id, "return_result")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "returned"
    # the receiving unit's logbook (form 07) lists it, with its channel
    logbook = client.get("/api/v1/officer/logbook.csv", headers=commune.headers,
                         params={"unit": COMMUNE, "from": "2026-01-01", "to": "2030-12-31"})
    assert logbook.status_code == 200
    lines = logbook.content.decode("utf-8-sig").splitlines()
    assert "Kênh nộp" in lines[0] and any("Trực tiếp" in line for line in lines[1:])


def test_the_commune_returns_only_what_the_applicant_collects_there(client: Any, db: Database) -> None:
    citizen = factories.citizen(db)
    commune = factories.officer(db, COMMUNE, ("receiver",), client=client)
    dossier_id = _received_at_commune(db, citizen, "online")  # the result goes back online, from the department
    is_problem(_act(client, commune, dossier_id, "return_result"), 409)
    department = factories.officer(db, DEPARTMENT, ("receiver",), client=client)
    assert _act(client, department, dossier_id, "return_result").status_code == 200


def test_through_the_intake_api_received_at_the_commune_decided_by_the_department_returned_at_the_commune(
        client: Any, db: Database) -> None:
    commune = factories.officer(db, COMMUNE, ("receiver",), client=client)
    department = factories.officer(db, DEPARTMENT, ("receiver", "processor"), client=client)
    stranger = factories.officer(db, OTHER_COMMUNE, ("receiver", "processor"), client=client)
    data = {"applicant_cccd": "072090005555", "applicant_phone": "0912345678", "applicant_address": ADDRESS,
            "request_for": "ban_than", "subject_name": "Cao Văn Lý Lịch", "subject_gender": "nam",
            "subject_birth_date": "1990-01-01", "subject_birth_place": "Tây Ninh", "subject_nationality": "viet_nam",
            "subject_cccd": "072090005555", "subject_residence": ADDRESS, "certificate_type": "so_1",
            "purpose": "xin_viec", "copies": 1, "ban_confirmation": "khong", "delivery": "truc_tiep",
            "commitment": True}
    r = client.post("/api/v1/officer/intake", headers=commune.headers, json={
        "channel": "counter", "procedure_code": JUDICIAL_RECORD, "applicant": {"full_name": "Cao Văn Lý Lịch"},
        "data": data, "return_method": "counter"})
    assert r.status_code == 201, r.text
    dossier_id = r.json()["id"]
    up = client.post(f"/api/v1/dossiers/{dossier_id}/documents", headers=commune.headers,
                     data={"slot": "giay_to_tuy_than"}, files={"file": ("cccd.jpg", jpeg((900, 600)), "image/jpeg")})
    assert up.status_code == 201, up.text
    received = client.post(f"/api/v1/officer/intake/{dossier_id}/receive", headers=commune.headers)
    assert received.status_code == 200, received.text
    assert received.json()["code"].startswith(COMMUNE + "-") and received.json()["status"] == "received"
    # the department's queue has it at once; the route is on the control sheet; scanned at the commune
    queue = client.get("/api/v1/officer/queue", headers=department.headers,
                       params={"view": "all", "q": received.json()["code"]}).json()
    assert [(i["id"], i["channel"], i["receiving_unit"]) for i in queue["items"]] == [(dossier_id, "counter", COMMUNE)]
    route = db.run(lambda s: s.scalar(select(Handoff).where(Handoff.dossier_id == dossier_id)))
    assert (route.kind, route.from_unit, route.to_unit) == ("route", COMMUNE, DEPARTMENT)
    rec = db.run(lambda s: s.scalar(select(DigitisationRecord).where(DigitisationRecord.dossier_id == dossier_id)))
    assert (rec.kind, rec.unit_code, rec.by_user) == ("digitised", COMMUNE, commune.id)
    assert client.get(f"/api/v1/officer/dossiers/{dossier_id}", headers=stranger.headers).status_code == 404

    def decide(s: Session) -> None:  # the department processes, approves and issues the result
        d = s.get(Dossier, dossier_id)
        assert d is not None
        factories.decide_and_issue(s, d, actor_id=department.id, prepared_by=department.id,
                                   title="Phiếu lý lịch tư pháp")

    db.run(decide)
    version = client.get(f"/api/v1/officer/dossiers/{dossier_id}", headers=commune.headers).json()["version"]
    assert client.post(f"/api/v1/officer/dossiers/{dossier_id}/actions/return_result", headers=stranger.headers,
                       json={"version": version}).status_code == 404
    done = _act(client, commune, dossier_id, "return_result")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "returned"
