"""The calendar's JSON API, the admin table behind it, and the procedure page's expected date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from domain.calendar.engine import TZ, default_calendar, expected_result
from domain.calendar.store import (
    CalendarOverride,
    list_overrides,
    load_calendar,
    remove_override,
    set_override,
)
from domain.db import Database

PROBLEM = "application/problem+json"


def due(client: Any, **params: str) -> dict[str, Any]:
    r = client.get("/api/v1/calendar/due-date", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_due_date_tet_2026(client) -> None:  # type: ignore[no-untyped-def]
    body = due(client, start="2026-02-13T10:00:00+07:00", amount="3", unit="working_days")
    assert body == {"due_date": "2026-02-25T17:00:00+07:00", "unit": "working_days", "amount": 3.0,
                    "counts_from": "2026-02-13T10:00:00+07:00"}


def test_naive_start_is_vietnam_time_and_utc_is_converted(client) -> None:  # type: ignore[no-untyped-def]
    assert due(client, start="2026-02-13T10:00", amount="3")["due_date"] == "2026-02-25T17:00:00+07:00"
    assert due(client, start="2026-02-13T03:00:00Z", amount="3")["due_date"] == "2026-02-25T17:00:00+07:00"


def test_swapped_saturday_and_national_day(client) -> None:  # type: ignore[no-untyped-def]
    assert due(client, start="2026-08-21T10:00", amount="1")["due_date"] == "2026-08-22T17:00:00+07:00"
    assert due(client, start="2026-08-28T10:00", amount="1")["due_date"] == "2026-09-03T17:00:00+07:00"
    assert due(client, start="2026-08-24T10:00", amount="7", unit="days")["due_date"] == \
        "2026-09-03T17:00:00+07:00"


def test_hours_and_cutoff(client) -> None:  # type: ignore[no-untyped-def]
    assert due(client, start="2026-08-10T10:00", amount="4", unit="hours")["due_date"] == \
        "2026-08-10T16:00:00+07:00"
    body = due(client, start="2026-08-14T15:30", amount="1", cutoff="15:00")
    assert body["counts_from"] == "2026-08-17T07:00:00+07:00"
    assert body["due_date"] == "2026-08-18T17:00:00+07:00"


@pytest.mark.parametrize("params", [
    {"amount": "3"},  # no start
    {"start": "", "amount": "3"},
    {"start": "13/02/2026", "amount": "3"},
    {"start": "2026-02-30T10:00", "amount": "3"},
    {"start": "1999-12-31T10:00", "amount": "3"},
    {"start": "2026-02-13T10:00"},  # no amount
    {"start": "2026-02-13T10:00", "amount": "abc"},
    {"start": "2026-02-13T10:00", "amount": "0"},
    {"start": "2026-02-13T10:00", "amount": "-2"},
    {"start": "2026-02-13T10:00", "amount": "nan"},
    {"start": "2026-02-13T10:00", "amount": "3651"},
    {"start": "2026-02-13T10:00", "amount": "10001", "unit": "hours"},
    {"start": "2026-02-13T10:00", "amount": "121", "unit": "months"},
    {"start": "2026-02-13T10:00", "amount": "3", "unit": "weeks"},
    {"start": "2026-02-13T10:00", "amount": "3", "cutoff": "25:00"},
    {"start": "2026-02-13T10:00", "amount": "3", "cutoff": "20:00"},
])
def test_bad_input_is_400_problem(client, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/calendar/due-date", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == 400 and body["title"] == "Invalid input" and body["detail"]


def test_hours_limit_is_larger(client) -> None:  # type: ignore[no-untyped-def]
    assert due(client, start="2026-02-13T10:00", amount="10000", unit="hours")["due_date"].startswith("2031-")


def test_days_off_2026(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/calendar/days-off", params={"year": "2026"})
    assert r.status_code == 200, r.text
    body = r.json()
    off = {d["date"]: d for d in body["days_off"]}
    assert body["year"] == 2026
    assert {f"2026-02-{d}" for d in range(16, 21)} <= set(off)
    assert {"2026-04-30", "2026-05-01", "2026-08-31", "2026-09-01", "2026-09-02"} <= set(off)
    assert off["2026-02-17"] == {"date": "2026-02-17", "name": "Tết Nguyên Đán", "source": "holidays"}
    assert [d["date"] for d in body["extra_working_days"]] == ["2026-08-22"]
    english = client.get("/api/v1/calendar/days-off", params={"year": "2026", "lang": "en"}).json()
    assert {d["date"]: d["name"] for d in english["days_off"]}["2026-09-02"] == "National Day"


@pytest.mark.parametrize("year", ["", "1999", "2101", "abc", "2026.5"])
def test_days_off_bad_year(client, year: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/calendar/days-off", params={"year": year} if year else {})
    assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM)


def test_overrides_table_feeds_the_api(client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    day = date(2099, 12, 31)  # Thursday, far from any other test's dates
    start = "2099-12-30T10:00"
    assert due(client, start=start, amount="1")["due_date"] == "2099-12-31T17:00:00+07:00"
    Database(database_url).run(set_override, day, False, "Thông báo nghỉ thêm (thử nghiệm)")
    try:
        assert due(client, start=start, amount="1")["due_date"] == "2100-01-04T17:00:00+07:00"
        body = client.get("/api/v1/calendar/days-off", params={"year": "2099"}).json()
        assert {"date": "2099-12-31", "name": "Thông báo nghỉ thêm (thử nghiệm)", "source": "override"} \
            in body["days_off"]
        # replacing the decision is seen at once (the cache follows the table's content)
        Database(database_url).run(set_override, day, True, "đổi lại")
        assert due(client, start=start, amount="1")["due_date"] == "2099-12-31T17:00:00+07:00"
        rows = Database(database_url).run(list_overrides, 2099)
        assert [(r.day, r.working, r.note) for r in rows] == [(day, True, "đổi lại")]
        assert isinstance(rows[0], CalendarOverride) and rows[0].created_at is not None
    finally:
        assert Database(database_url).run(remove_override, day) is True
    assert due(client, start=start, amount="1")["due_date"] == "2099-12-31T17:00:00+07:00"
    assert Database(database_url).run(remove_override, day) is False


def test_load_calendar_is_cached_until_the_table_changes(database_url: str) -> None:
    db = Database(database_url)
    first = db.run(load_calendar)
    assert db.run(load_calendar) is first
    day = date(2099, 11, 2)
    db.run(set_override, day, False, "")
    try:
        second = db.run(load_calendar)
        assert second is not first and not second.is_working_day(day)
    finally:
        db.run(remove_override, day)
    assert db.run(load_calendar).is_working_day(day)


def test_procedure_page_shows_the_expected_result_date(client) -> None:  # type: ignore[no-untyped-def]
    detail = client.get("/api/v1/procedures/1.001193").json()  # khai sinh: offered, 1 (working) day
    assert detail["offer"] is not None

    def expected() -> str:
        day = expected_result(default_calendar(), detail["channels"], detail["field"], datetime.now(TZ))
        assert day is not None
        return day.strftime("%d/%m/%Y")

    before = expected()
    html = client.get("/thu-tuc/1.001193").text
    assert any(f"Nộp ngay → dự kiến có kết quả ngày {d}" in html for d in (before, expected()))
    english = client.get("/thu-tuc/1.001193", params={"lang": "en"}).text
    assert "File now → result expected by " in english


def test_no_expected_date_where_the_province_does_not_take_the_dossier(client) -> None:  # type: ignore[no-untyped-def]
    items = client.get("/api/v1/procedures", params={"page_size": 100}).json()["items"]
    code = next(i["code"] for i in items if not i["offered"])
    assert "dự kiến có kết quả" not in client.get(f"/thu-tuc/{code}").text
