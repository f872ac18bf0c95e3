"""The statistics' split by channel comes from each dossier's own channel (``Dossier.channel``), never a guess:
a dossier entered at a counter counts as in person, one that came by post as postal, the rest online; a
full recount agrees with the roll-ups kept as the dossiers move. The public summary API and the unit's dossier
report (CSV) show the same split."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounts.models import User
from domain.calendar.engine import TZ
from domain.dossiers.models import Dossier
from domain.stats import rollups
from domain.stats.models import StatsFact
from domain.stats.summary import SummaryQuery, summary
from tests.domain.stats.world import file, make_world
from tests.factories import passkey_session
from tests.helpers import bearer

UNIT = "000.97.03.H56"
DAY = date(2031, 4, 8)  # a Tuesday


def api_split(client: Any) -> tuple[int, int, int, int]:
    r = client.get("/api/v1/stats/summary", params={"from": str(DAY), "to": str(DAY), "unit": UNIT})
    assert r.status_code == 200, r.text
    received = r.json()["received"]
    return received["total"], received["online"], received["in_person"], received["postal"]


def report_channels(client: Any, headers: dict[str, str]) -> dict[str, str]:
    """Each dossier's channel as the unit's dossier report (CSV) names it, by code."""
    r = client.get("/api/v1/officer/reports/dossiers", headers=headers,
                   params={"unit": UNIT, "from": str(DAY), "to": str(DAY), "format": "csv"})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    return {row["Mã hồ sơ"]: row["Kênh nộp"] for row in rows}


def test_channel_of_the_dossier_is_the_channel_counted(catalogue_db: str, client: Any) -> None:
    w = make_world(catalogue_db, UNIT)
    at = datetime.combine(DAY, time(9, 0), TZ)

    def build(s: Session) -> list[int]:
        ids = []
        for channel in ("counter", "post", "post", "online"):
            d = file(s, w, at)
            d.channel = channel  # what counter and postal intake store (issue 14)
            ids.append(d.id)
        return ids

    ids = w.db.run(build)
    facts = dict(w.db.read_sync(lambda s: s.execute(select(StatsFact.dossier_id, StatsFact.channel)
                                                    .where(StatsFact.dossier_id.in_(ids))).all()))
    assert [facts[i] for i in ids] == ["in_person", "postal", "postal", "online"]
    r = w.db.read_sync(summary, SummaryQuery(DAY, DAY, unit=UNIT)).received
    assert (r.total, r.online, r.in_person, r.postal) == (4, 1, 1, 2)
    assert w.db.read_sync(rollups.differences, unit_code=UNIT) == []
    assert api_split(client) == (4, 1, 1, 2)
    headers = bearer(w.db.run(lambda s: passkey_session(s, s.get(User, w.officer))))
    codes = dict(w.db.read_sync(lambda s: s.execute(select(Dossier.id, Dossier.code).where(Dossier.id.in_(ids))).all()))
    shown = report_channels(client, headers)
    assert [shown[codes[i]] for i in ids] == ["Trực tiếp", "Bưu chính", "Bưu chính", "Trực tuyến"]

    def move(s: Session) -> None:  # a channel corrected later moves the dossier between the figures
        d = s.get(Dossier, ids[3])
        assert d is not None
        d.channel = "counter"

    w.db.run(move)
    r = w.db.read_sync(summary, SummaryQuery(DAY, DAY, unit=UNIT)).received
    assert (r.online, r.in_person, r.postal) == (0, 2, 2)
    assert w.db.read_sync(rollups.differences, unit_code=UNIT) == []
    assert api_split(client) == (4, 0, 2, 2)
    assert report_channels(client, headers)[codes[ids[3]]] == "Trực tiếp"
