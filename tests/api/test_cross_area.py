"""Cross-area receiving (phi địa giới) in the back office: a dossier received at a commune's counter for a
procedure a department decides is in the department's queue at once; the commune sees the dossiers it
received and their status, and hands the result back at its counter when the applicant chose that (and
only then); an officer of a third unit sees nothing of it. Channels show in queues and the logbook."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from domain.db import Database
from domain.dossiers.models import Dossier
from tests import factories
from tests.helpers import is_problem

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
