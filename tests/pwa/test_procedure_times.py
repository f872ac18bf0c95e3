"""Issue 15 point 6: a processing time without a unit, the province's own time, long names on phones.

1.001193 (birth registration) says "1" without a unit. The page shows it as it is; the province's offer
(config/province.toml) states 1 working day under the Civil Status Law, and the page, the API and the due
date of a dossier filed for it use that. Without the offer's time there is no due date at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from domain.calendar.engine import schedule_for_field
from domain.calendar.store import load_calendar
from domain.catalog.models import Offering
from domain.db import Database
from domain.dossiers.models import Dossier
from tests.helpers import ADDRESS, bearer, jpeg, signed_in

CODE = "1.001193"
BASIS = "khoản 2 Điều 16 Luật Hộ tịch số 60/2014/QH13"
BIRTH = {
    "applicant_name": "Trần Văn Bình", "applicant_cccd": "072090001234", "applicant_phone": "0912345678",
    "applicant_address": ADDRESS, "relationship": "cha",
    "child_name": "Trần Minh Khang", "child_birth_date": "15/03/2025", "child_gender": "nam",
    "child_ethnicity": "kinh", "child_nationality": "viet_nam",
    "birth_place": "Bệnh viện Đa khoa tỉnh Tây Ninh", "hometown": "Tây Ninh", "commitment": True,
}


@pytest.fixture
def no_offer_time(catalogue_db: str) -> Iterator[None]:
    """The offer of 1.001193 without its processing time, for one test (put back afterwards)."""
    db = Database(catalogue_db)
    db.run(lambda s: s.execute(update(Offering).where(Offering.procedure_code == CODE).values(
        processing_time_value=None, processing_time_unit=None, processing_time_basis=None)))
    try:
        yield
    finally:
        db.run(lambda s: s.execute(update(Offering).where(Offering.procedure_code == CODE).values(
            processing_time_value=1.0, processing_time_unit="working_days", processing_time_basis=BASIS)))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def file_birth(client: Any, catalogue_db: str) -> Dossier:
    """A birth registration filed over the API by a new citizen; the dossier as stored."""
    _, tokens = signed_in(client)
    created = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": CODE})
    assert created.status_code == 201, created.text
    dossier_id = created.json()["id"]
    r = client.patch(f"/api/v1/dossiers/{dossier_id}", headers=bearer(tokens), json={"data": BIRTH})
    assert r.status_code == 200, r.text
    form = client.get(f"/api/v1/procedures/{CODE}/form").json()
    for slot in [d for d in form["documents"] if d["required"]]:
        up = client.post(f"/api/v1/dossiers/{dossier_id}/documents", headers=bearer(tokens),
                         data={"slot": slot["slot"]}, files={"file": ("giay chung sinh.jpg", jpeg(), "image/jpeg")})
        assert up.status_code == 201, up.text
    sub = client.post(f"/api/v1/dossiers/{dossier_id}/submit", headers=bearer(tokens))
    assert sub.status_code == 200, sub.text
    d: Dossier | None = Database(catalogue_db).read_sync(lambda s: s.get(Dossier, dossier_id))
    assert d is not None and d.submitted_at is not None
    return d


def test_the_page_shows_the_unitless_time_and_the_province_s_time(client) -> None:  # type: ignore[no-untyped-def]
    page = text_of(client.get(f"/thu-tuc/{CODE}").text)
    assert page.count("1 (không rõ đơn vị)") == 3  # online, by post, in person: as the national record says
    assert f"Thời hạn do tỉnh quy định: 1 ngày làm việc, căn cứ {BASIS}." in page
    assert "Nộp ngay → dự kiến có kết quả ngày" in page
    english = text_of(client.get(f"/thu-tuc/{CODE}", params={"lang": "en"}).text)
    assert english.count("1 (unit unknown)") == 3
    assert f"Processing time set by the province: 1 working day, under {BASIS}." in english


def test_a_record_with_its_own_time_shows_no_province_time(client) -> None:  # type: ignore[no-untyped-def]
    page = text_of(client.get("/thu-tuc/1.004222").text)
    assert "7 ngày làm việc" in page and "Thời hạn do tỉnh quy định" not in page and "không rõ đơn vị" not in page


def test_the_api_says_the_unit_is_unknown_and_which_time_applies(client) -> None:  # type: ignore[no-untyped-def]
    p = client.get(f"/api/v1/procedures/{CODE}").json()
    assert [(c["duration"]["value"], c["duration"]["unit"], c["duration"]["unit_known"]) for c in p["channels"]] \
        == [(1, "unspecified", False)] * 3
    assert p["processing_time"] == {"value": 1, "unit": "working_days", "set_by": "province", "basis": BASIS}
    own = client.get("/api/v1/procedures/1.004222").json()
    assert own["processing_time"] == {"value": 7, "unit": "working_days", "set_by": "national", "basis": None}
    assert all(c["duration"]["unit_known"] for c in own["channels"])


def test_the_due_date_uses_the_province_s_time(client, catalogue_db: str) -> None:  # type: ignore[no-untyped-def]
    d = file_birth(client, catalogue_db)
    calendar = Database(catalogue_db).read_sync(load_calendar)
    assert d.submitted_at is not None
    expected = calendar.due_date(d.submitted_at, 1, "working_days", schedule_for_field("Hộ tịch"))
    assert d.due_at is not None and d.due_at == expected


def test_without_the_province_s_time_there_is_no_due_date(client, catalogue_db: str,  # type: ignore[no-untyped-def]
                                                          no_offer_time: None) -> None:
    d = file_birth(client, catalogue_db)
    assert d.due_at is None  # "1" is never taken for one working day
    page = text_of(client.get(f"/thu-tuc/{CODE}").text)
    assert "1 (không rõ đơn vị)" in page and "Thời hạn do tỉnh quy định" not in page
    assert "không ghi đơn vị: nơi tiếp nhận cho biết ngày hẹn trả kết quả" in page
    assert "dự kiến có kết quả" not in page
    assert client.get(f"/api/v1/procedures/{CODE}").json()["processing_time"] is None


def test_long_names_take_at_most_three_lines_on_phones(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/thu-tuc", params={"q": "cấp giấy chứng nhận"})
    assert r.status_code == 200
    names = re.findall(r'<a href="/thu-tuc/[^"]+" title="([^"]+)"><span class="name">([^<]+)</span></a>', r.text)
    assert names and all(title == name for title, name in names)  # the whole name: title and accessible name
    assert max(len(name) for _, name in names) > 120  # long ones are there
    css = client.get("/static/app.css").text
    rule = re.search(r"@media \(max-width:40rem\)\{\.results \.name\{([^}]+)\}\}", css)
    assert rule is not None and "-webkit-line-clamp:3" in rule.group(1) and "overflow:hidden" in rule.group(1)
    # the procedure page shows the whole name in its heading, never clamped
    code = re.search(r'<a href="/thu-tuc/([^"]+)" title=', r.text)
    assert code is not None
    heading = re.search(r"<h1>([^<]+)</h1>", client.get(f"/thu-tuc/{code.group(1)}").text)
    assert heading is not None and heading.group(1) == names[0][1]
