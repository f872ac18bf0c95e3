"""Long procedure names on a 390 px phone: at most three lines in the search results, the whole name on
the procedure page; the province's processing time on 1.001193's page (issue 15 point 6)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import axe_check, format_violations

pytestmark = pytest.mark.browser

LONG = "/thu-tuc?q=c%E1%BA%A5p+gi%E1%BA%A5y+ch%E1%BB%A9ng+nh%E1%BA%ADn"  # "cấp giấy chứng nhận": long names

MEASURE = """els => els.map(e => {
  const s = getComputedStyle(e);
  return {height: e.getBoundingClientRect().height, line: parseFloat(s.lineHeight),
          clamped: e.scrollHeight > e.clientHeight + 1, name: e.closest('a').getAttribute('title')};
})"""


def test_long_names_take_at_most_three_lines_on_a_phone(phone: Any) -> None:
    phone.goto(LONG)
    names = phone.locator("ol.results .name")
    expect(names.first).to_be_visible()
    boxes = names.evaluate_all(MEASURE)
    assert boxes and all(b["height"] <= 3 * b["line"] + 1 for b in boxes), boxes
    clamped = [b for b in boxes if b["clamped"]]
    assert clamped, "no name long enough to be clamped on this page"
    # the link's accessible name is still the whole name
    whole = clamped[0]["name"]
    link = phone.get_by_role("link", name=whole, exact=True)
    expect(link).to_be_visible()
    violations = axe_check(phone)
    assert not violations, f"axe: {len(violations)} violation(s) on {LONG}:\n{format_violations(violations)}"
    # the procedure page: the whole name, not clamped
    link.click()
    heading = phone.get_by_role("heading", level=1, name=whole, exact=True)
    expect(heading).to_be_visible()
    h = heading.evaluate("e => ({height: e.getBoundingClientRect().height,"
                         " line: parseFloat(getComputedStyle(e).lineHeight),"
                         " clamped: e.scrollHeight > e.clientHeight + 1})")
    assert not h["clamped"] and h["height"] > 3 * h["line"], h


def test_wide_screens_show_the_whole_name(new_context: Any) -> None:
    page = new_context(viewport={"width": 1280, "height": 900}, is_mobile=False, has_touch=False,
                       device_scale_factor=1).new_page()
    page.goto(LONG)
    names = page.locator("ol.results .name")
    expect(names.first).to_be_visible()
    assert not [b for b in names.evaluate_all(MEASURE) if b["clamped"]]


def test_birth_registration_page_shows_the_province_s_time(phone: Any) -> None:
    phone.goto("/thu-tuc/1.001193")
    expect(phone.get_by_text("Thời hạn do tỉnh quy định: 1 ngày làm việc, căn cứ khoản 2 Điều 16 Luật Hộ tịch")
           ).to_be_visible()
    expect(phone.get_by_role("cell", name="1 (không rõ đơn vị)").first).to_be_visible()
    violations = axe_check(phone)
    assert not violations, f"axe: {len(violations)} violation(s):\n{format_violations(violations)}"
