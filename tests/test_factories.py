"""The factories build what they say, through the core, and the API sees it the same."""

from __future__ import annotations

from typing import Any

from domain.db import Database
from tests import factories


def test_citizen_officer_and_a_submitted_dossier(client: Any, database_url: str) -> None:
    db = Database(database_url)
    person = factories.citizen(db)
    me = client.get("/api/v1/me", headers=person.headers)
    assert me.status_code == 200 and me.json()["id"] == person.id
    draft_id = factories.draft(db, person)
    assert client.get(f"/api/v1/dossiers/{draft_id}", headers=person.headers).json()["status"] == "draft"
    dossier_id = factories.submitted(db, person)
    seen = client.get(f"/api/v1/dossiers/{dossier_id}", headers=person.headers).json()
    assert seen["status"] != "draft" and seen["code"].startswith(factories.FEE_UNIT)
    officer = factories.officer(db, factories.FEE_UNIT, roles=("receiver",), client=client)
    queue = client.get("/api/v1/officer/queue", params={"view": "new"}, headers=officer.headers)
    assert queue.status_code == 200, queue.text
    assert dossier_id in [i["id"] for i in queue.json()["items"]]
