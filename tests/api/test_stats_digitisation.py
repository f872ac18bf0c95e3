"""The public summary's digitisation figures (issue 14, point 4) come from the digitisation records only: a
counter intake whose papers were scanned adds its components and its dossier; a paper seen and not kept adds
nothing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from domain.calendar.engine import TZ
from domain.db import Database
from domain.dossiers.filing import ensure_form
from tests import factories


def digitisation(client: Any, unit: str, **query: str) -> dict[str, int]:
    today = datetime.now(TZ).date().isoformat()
    r = client.get("/api/v1/stats/summary", params={"from": today, "to": today, "unit": unit, **query})
    assert r.status_code == 200, r.text
    out: dict[str, int] = r.json()["digitisation"]
    return out


def test_the_summary_counts_the_components_scanned_at_a_counter(client: Any, db: Database, procedure: str) -> None:
    detail = client.get(f"/api/v1/procedures/{procedure}").json()
    unit = detail["offer"]["unit_code"]
    fields = client.get("/api/v1/fields").json()
    own = next(f["slug"] for f in fields if f["name"] == detail["field"])
    other = next(f["slug"] for f in fields if f["name"] != detail["field"])
    required = db.run(lambda s: [d for d in json.loads(ensure_form(s, procedure).schema)["documents"]
                                 if d["required"]])
    officer = factories.receiver(db, unit)

    def now() -> list[dict[str, int]]:
        return [digitisation(client, unit), digitisation(client, unit, field=own),
                digitisation(client, unit, field=other)]

    before = now()
    factories.intake_draft(db, officer, procedure)  # a draft counts for nothing
    assert now() == before
    factories.received_intake(db, officer, procedure)
    after = now()
    for (was, became), grew in zip(zip(before, after, strict=True), (True, True, False), strict=True):
        added = {k: became[k] - was[k] for k in became}
        assert added == ({"components_digitised": len(required), "components_reused": 0, "dossiers_digitised": 1,
                          "dossiers_reused": 0} if grew else dict.fromkeys(became, 0))
