"""Statistics over HTTP: the public summary (JSON and dashboard page) and its bad input, the rating of a
returned dossier (API and page), officers' reports (CSV, XLSX) and comments."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from api.cli import main as cli
from tests.domain.stats.world import act, approve, file, make_world
from tests.helpers import PASSWORD, Person, bearer, meta_csrf, new_phone, page_client, register

UNIT = "000.99.04.H56"


# --- the public summary --------------------------------------------------------------------------------
def test_summary_json_and_its_documentation(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/stats/summary", params={"from": "2026-01-01", "to": "2026-03-31"})
    assert r.status_code == 200 and "public" in r.headers["cache-control"]
    body = r.json()
    for key in ("procedures", "received", "growth", "results", "processing_time", "payments", "authentication",
                "satisfaction", "by_unit", "by_field", "series"):
        assert key in body
    assert body["period"]["first_day"] == "2026-01-01" and body["period"]["granularity"] == "month"
    assert [p["label"] for p in body["series"]] == ["2026-01", "2026-02", "2026-03"]
    assert body["procedures"]["offered"] >= 1000 and 0 < body["procedures"]["share_full_online"] <= 1
    default = client.get("/api/v1/stats/summary").json()  # this year to date
    assert default["period"]["first_day"].endswith("-01-01")
    schema = client.get("/schema/openapi.json").json()
    operation = schema["paths"]["/api/v1/stats/summary"]["get"]
    assert "share_on_time" in operation["description"] and "toàn trình" in operation["description"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "unit", "field"}


@pytest.mark.parametrize("params, status", [
    ({"from": "2026-03-01", "to": "2026-01-01"}, 400),  # inverted
    ({"from": "1900-01-01", "to": "2026-01-01"}, 400),  # absurd
    ({"from": "2000-01-01", "to": "2099-12-31"}, 400),  # a hundred years
    ({"from": "2026-01-01", "to": "2999-01-01"}, 400),
    ({"from": "yesterday"}, 400),
    ({"from": "2026-02-30"}, 400),
    ({"unit": "999.99.99.X99"}, 404),
    ({"field": "khong-co-linh-vuc-nay"}, 404),
    ({"unit": "x" * 40}, 400),
    ({"field": "' OR 1=1 --"}, 404),
])
def test_bad_input_is_a_clear_4xx(client, params: dict[str, str], status: int) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/stats/summary", params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["detail"]


def test_an_empty_period_is_zeros(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/stats/summary", params={"from": "2091-01-01", "to": "2091-01-31"}).json()
    assert body["received"]["total"] == 0 and body["results"]["share_on_time"] is None
    assert len(body["series"]) == 31 and body["by_unit"] == []


def test_dashboard_page(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/thong-ke")
    assert page.status_code == 200 and "Thống kê dịch vụ công" in page.text
    assert page.text.count('role="img"') == 5 and "<title id=\"ch-received-t\">" in page.text
    assert "style=" not in page.text.split("<main", 1)[1]  # the CSP allows no inline style
    en = client.get("/thong-ke", params={"lang": "en", "period": "quarter", "year": "2025", "quarter": "2"})
    assert en.status_code == 200 and "Public service statistics" in en.text and "01/04/2025" in en.text
    client.get("/thong-ke", params={"lang": "vi"})
    for params, status in (({"period": "custom", "from": "2026-05-01", "to": "2026-04-01"}, 400),
                           ({"period": "custom", "from": "2000-01-01", "to": "2100-12-31"}, 400),
                           ({"period": "week"}, 400), ({"period": "year", "year": "abc"}, 400),
                           ({"period": "month", "month": "13"}, 400), ({"unit": "999.99.99.X99"}, 404),
                           ({"field": "khong-co"}, 404)):
        r = client.get("/thong-ke", params=params)
        assert r.status_code == status and 'role="alert"' in r.text, params
    month = client.get("/thong-ke", params={"period": "month", "year": "2025", "month": "2"})
    assert month.status_code == 200 and "28/02/2025" in month.text


def test_footer_links_to_the_dashboard(client) -> None:  # type: ignore[no-untyped-def]
    assert 'href="/thong-ke"' in client.get("/").text


# --- ratings and reports ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def setting(client, catalogue_db: str) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    citizen_name = register(client)
    citizen_tokens = client.post("/api/v1/auth/login", json={"username": citizen_name, "password": PASSWORD}).json()
    citizen_id = client.get("/api/v1/me", headers=bearer(citizen_tokens)).json()["id"]
    w = make_world(catalogue_db, UNIT, citizen_id=citizen_id)
    officer_name = new_phone()
    assert cli(["create-user", "--role", "officer", "--username", officer_name, "--password", PASSWORD, "--unit", UNIT,
                "--full-name", "Cán bộ báo cáo"]) == 0
    stranger_name = new_phone()
    assert cli(["create-user", "--role", "officer", "--username", stranger_name, "--password", PASSWORD, "--unit",
                "000.00.13.H56", "--full-name", "Cán bộ đơn vị khác"]) == 0
    now = datetime.now(UTC) - timedelta(days=3)

    def returned(s, minutes: int) -> int:  # type: ignore[no-untyped-def]
        d = file(s, w, now + timedelta(minutes=minutes), fee=30_000)
        act(s, w, d, "receive", now + timedelta(minutes=minutes + 5))
        act(s, w, d, "assign", now + timedelta(minutes=minutes + 10), to_user=w.officer)
        approve(s, w, d, now + timedelta(hours=3, minutes=minutes))
        act(s, w, d, "issue_result", now + timedelta(hours=4, minutes=minutes))
        act(s, w, d, "return_result", now + timedelta(hours=5, minutes=minutes))
        return d.id

    def open_one(s) -> int:  # type: ignore[no-untyped-def]
        return file(s, w, now + timedelta(hours=1)).id

    ids = [w.db.run(returned, k) for k in (0, 1)]
    pending = w.db.run(open_one)
    with page_client() as c1, page_client() as c2, page_client() as c3:
        yield {"w": w, "citizen": citizen_tokens, "returned": ids, "open": pending, "day": now.date(),
               "officer": Person(client, c1, officer_name, passkey=True),
               "stranger": Person(client, c2, stranger_name, passkey=True),
               "citizen_page": Person(client, c3, citizen_name, passkey=False)}


def test_rating_over_the_api(client, setting: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(setting["citizen"])
    first = setting["returned"][0]
    state = client.get(f"/api/v1/dossiers/{first}/rating", headers=headers).json()
    assert state["can_rate"] is True and state["rating"] is None
    assert [c["name"] for c in state["criteria"]] == ["timeliness", "attitude", "clarity", "ease"]
    bad = client.post(f"/api/v1/dossiers/{first}/rating", headers=headers,
                      json={"scores": {"timeliness": 9, "attitude": 5, "clarity": 5, "ease": 5}})
    assert bad.status_code == 400 and bad.json()["field"] == "timeliness"
    good = client.post(f"/api/v1/dossiers/{first}/rating", headers=headers,
                       json={"scores": {"timeliness": 5, "attitude": 4, "clarity": 4, "ease": 5},
                             "comment": "Nhanh, đúng hẹn."})
    assert good.status_code == 201, good.text
    again = client.post(f"/api/v1/dossiers/{first}/rating", headers=headers,
                        json={"scores": {"timeliness": 1, "attitude": 1, "clarity": 1, "ease": 1}})
    assert again.status_code == 409
    assert client.get(f"/api/v1/dossiers/{first}/rating", headers=headers).json()["rating"]["scores"]["ease"] == 5
    early = client.post(f"/api/v1/dossiers/{setting['open']}/rating", headers=headers,
                        json={"scores": {"timeliness": 5, "attitude": 5, "clarity": 5, "ease": 5}})
    assert early.status_code == 409  # not returned yet
    officer_headers = bearer(setting["officer"].tokens)
    assert client.get(f"/api/v1/dossiers/{first}/rating", headers=officer_headers).status_code == 404
    assert client.get(f"/api/v1/dossiers/{first}/rating").status_code == 401
    # public only in aggregate: the unit's figures count it, the comment is nowhere in them
    day = setting["day"]
    summary = client.get("/api/v1/stats/summary", params={"from": str(day - timedelta(days=1)),
                                                          "to": str(day + timedelta(days=5)), "unit": UNIT}).json()
    assert summary["satisfaction"]["ratings"] >= 1 and "Nhanh" not in str(summary)


def test_rating_on_the_page(setting: dict[str, Any]) -> None:
    person: Person = setting["citizen_page"]
    second = setting["returned"][1]
    status = person.get(f"/ho-so/{second}")
    assert f'href="/ho-so/{second}/danh-gia"' in status.text
    form = person.get(f"/ho-so/{second}/danh-gia")
    assert form.status_code == 200 and 'type="radio"' in form.text and "<legend>" in form.text
    token = meta_csrf(form.text)
    missing = person.page.post(f"/ho-so/{second}/danh-gia", data={"_csrf_token": token, "timeliness": "5"},
                               follow_redirects=False)
    assert missing.status_code == 400 and 'role="alert"' in missing.text
    done = person.page.post(f"/ho-so/{second}/danh-gia", data={
        "_csrf_token": token, "timeliness": "4", "attitude": "5", "clarity": "3", "ease": "4",
        "comment": "Cần hướng dẫn rõ hơn."}, follow_redirects=False)
    assert done.status_code == 303
    thanks = person.get(done.headers["location"])
    assert "Cảm ơn bạn đã đánh giá" in thanks.text and "Cần hướng dẫn rõ hơn." in thanks.text
    assert 'type="radio"' not in thanks.text  # once per dossier
    open_page = person.get(f"/ho-so/{setting['open']}/danh-gia")
    assert "sau khi đã nhận kết quả" in open_page.text and 'type="radio"' not in open_page.text


def test_officer_reports_and_comments(client, setting: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(setting["officer"].tokens)
    day = setting["day"]
    period = {"unit": UNIT, "from": str(day - timedelta(days=1)), "to": str(date.today() + timedelta(days=1))}
    csv = client.get("/api/v1/officer/reports/dossiers", params={**period, "format": "csv"}, headers=headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode()) and "attachment" in csv.headers["content-disposition"]
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("Mã hồ sơ") and len(lines) == 1 + 3
    for kind, rows in (("dossiers", 3), ("logbook", 3), ("payments", 0), ("late", 0)):
        x = client.get(f"/api/v1/officer/reports/{kind}", params={**period, "format": "xlsx"}, headers=headers)
        assert x.status_code == 200, (kind, x.text)
        assert x.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = load_workbook(io.BytesIO(x.content)).active
        assert sheet is not None
        assert sheet.max_row == 2 + rows, kind
    assert client.get("/api/v1/officer/reports/secret", params=period, headers=headers).status_code == 404
    assert client.get("/api/v1/officer/reports/dossiers", params={**period, "format": "pdf"},
                      headers=headers).status_code == 400
    assert client.get("/api/v1/officer/reports/dossiers", params={**period, "from": "2020-01-01", "to": "2019-01-01"},
                      headers=headers).status_code == 400
    stranger = bearer(setting["stranger"].tokens)
    assert client.get("/api/v1/officer/reports/dossiers", params=period, headers=stranger).status_code == 404
    assert client.get("/api/v1/officer/reports/dossiers", params=period).status_code == 401
    comments = client.get("/api/v1/officer/ratings", params=period, headers=headers)
    assert comments.status_code == 200
    assert any(c["comment"] == "Nhanh, đúng hẹn." for c in comments.json())
    assert client.get("/api/v1/officer/ratings", params=period, headers=stranger).status_code == 404
    # the page: choose a unit and a period, download, read the comments
    page = setting["officer"].get("/can-bo/bao-cao", params=period)
    assert page.status_code == 200 and "Nhanh, đúng hẹn." in page.text and "tai-ve?kind=logbook" in page.text
    download = setting["officer"].get("/can-bo/bao-cao/tai-ve", params={**period, "kind": "late", "format": "csv"})
    assert download.status_code == 200 and download.content.decode("utf-8-sig").startswith("Mã hồ sơ")
    other = setting["stranger"].get("/can-bo/bao-cao", params=period)
    assert other.status_code == 200 and "Nhanh, đúng hẹn." not in other.text


def test_reports_need_an_officer(setting: dict[str, Any]) -> None:
    citizen = setting["citizen_page"]
    assert citizen.get("/can-bo/bao-cao").status_code == 403
    today = date.today()
    r = citizen.get("/can-bo/bao-cao/tai-ve", params={"kind": "dossiers", "unit": UNIT, "from": str(today),
                                                      "to": str(today)})
    assert r.status_code == 403

