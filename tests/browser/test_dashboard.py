"""The public dashboard on a phone (390×844), as a person uses it: choose a period and a unit, read the
key figures, the charts (by their accessible names) and the same numbers in tables; axe finds nothing."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from tests.browser.pages import check_axe
from tests.domain.stats.world import make_world, story

UNIT = "000.99.05.H56"
MONDAY = date(2025, 3, 3)  # the same eight dossiers as tests/domain/stats/test_stats.py, one week-day layout earlier


@pytest.fixture(scope="module")
def march(live_server: str, catalogue_db: str) -> dict[str, int]:
    """Built before the browser starts (Playwright keeps an event loop running in this thread)."""
    return story(make_world(catalogue_db, UNIT), MONDAY)


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"the page scrolls sideways ({width}px)"


def test_dashboard_on_a_phone(march: dict[str, int], phone: Any) -> None:
    phone.goto(f"/thong-ke?period=month&year=2025&month=3&unit={UNIT}")
    assert phone.get_by_role("heading", level=1, name="Thống kê dịch vụ công").is_visible()
    figures = phone.locator("dl.facts")
    assert re.search(r"Hồ sơ tiếp nhận\s*8", figures.inner_text())
    assert "80,0\u00a0%" in figures.inner_text()  # settled on time: 4 of 5
    assert "trung vị 5,5, 90% trong 9,5 ngày làm việc" in figures.inner_text()
    received = phone.get_by_role("img", name="Hồ sơ tiếp nhận theo kênh")
    assert received.is_visible()
    assert "8 hồ sơ: trực tuyến 6 (75,0\u00a0%)" in received.locator("desc").text_content()
    results = phone.get_by_role("img", name="Kết quả giải quyết so với hạn")
    box = results.bounding_box()
    assert box is not None and box["width"] <= 390
    # the same numbers as a table, for screen readers and for copying
    section = phone.get_by_role("region", name="Kết quả giải quyết so với hạn")
    section.get_by_text("Bảng số liệu").click()
    table = section.get_by_role("table")
    assert table.is_visible()
    assert table.get_by_role("row", name=re.compile(r"^17\/03\/2025")).inner_text().split() == [
        "17/03/2025",
        "0",
        "0",
        "1",
    ]
    total = table.get_by_role("row", name=re.compile("^Cộng")).inner_text().split()
    assert total == ["Cộng", "2", "2", "1"]
    _no_sideways_scroll(phone)
    check_axe(phone)


def test_choosing_the_period_and_english(march: dict[str, int], phone: Any) -> None:
    phone.goto(f"/thong-ke?unit={UNIT}")
    phone.get_by_text("Chọn kỳ, đơn vị, lĩnh vực").click()
    phone.get_by_label("Kỳ báo cáo").select_option("quarter")
    phone.get_by_label("Năm", exact=True).select_option("2025")
    phone.get_by_label("Quý (kỳ theo quý)").select_option("1")
    phone.get_by_role("button", name="Xem số liệu").click()
    phone.wait_for_url(re.compile(r"period=quarter"))
    assert "01/01/2025 – 31/03/2025" in phone.locator("main").inner_text()
    months = phone.get_by_role("region", name="Hồ sơ tiếp nhận theo kênh")
    months.get_by_text("Bảng số liệu").click()
    assert months.get_by_role("row", name=re.compile(r"^03\/2025")).inner_text().split() == ["03/2025", "6", "1", "1"]
    check_axe(phone)
    phone.goto(f"/thong-ke?period=month&year=2025&month=3&unit={UNIT}&lang=en")
    assert phone.get_by_role("heading", level=1, name="Public service statistics").is_visible()
    assert phone.get_by_role("img", name="Dossiers received by channel").is_visible()
    _no_sideways_scroll(phone)
    check_axe(phone)
    phone.goto("/thong-ke?period=custom&from=2026-05-01&to=2026-01-01&lang=vi")
    assert phone.get_by_role("alert").is_visible()
    check_axe(phone)
