"""A citizen's journey through the catalogue in a real Chromium on a phone: search (with and without
JavaScript), read a procedure, accessibility (axe-core), offline reading, language switch, touch targets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import axe_check, format_violations

pytestmark = pytest.mark.browser

QUERY = "dang ky khai sinh"  # no diacritics, as typed on a phone without a Vietnamese keyboard
BIRTH = "Thủ tục đăng ký khai sinh"
BIRTH_CODE = "1.001193"
MARRIAGE_CODE = "1.000894"  # never visited before going offline
NBSP = "\u00a0"


def fees_table(page: Any) -> Any:
    return page.get_by_role("table", name="Thời hạn giải quyết và phí, lệ phí theo hình thức nộp")


def check_birth_detail(page: Any) -> None:
    expect(page).to_have_url(re.compile(rf"/thu-tuc/{re.escape(BIRTH_CODE)}$"))
    expect(page.get_by_role("heading", level=1, name=BIRTH, exact=True)).to_be_visible()
    table = fees_table(page)
    expect(table.get_by_role("cell", name="Miễn phí").first).to_be_visible()
    # a time limit in the "Thời hạn" column (second column) of the first channel
    limit = table.locator("tbody tr").first.locator("td").first
    expect(limit).to_have_text(re.compile(r"\d"))
    expect(limit).not_to_have_text("Không có thông tin")


def test_search_with_enter_then_detail(phone: Any) -> None:
    phone.goto("/")
    box = phone.get_by_label("Tìm thủ tục")
    box.fill(QUERY)
    box.press("Enter")
    # the full results page (a real form submission), not only the live results on the home page
    expect(phone.get_by_role("heading", level=1, name="Tìm thủ tục")).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/thu-tuc\?q=dang\+ky\+khai\+sinh"))
    phone.get_by_role("link", name=BIRTH, exact=True).click()
    check_birth_detail(phone)

    phone.goto("/thu-tuc/1.004222")
    table = fees_table(phone)
    expect(table.get_by_role("cell", name=f"10.000{NBSP}₫").first).to_be_visible()
    expect(table.get_by_role("cell", name="7 ngày làm việc").first).to_be_visible()


def test_live_results_while_typing(phone: Any) -> None:
    phone.goto("/")
    phone.get_by_label("Tìm thủ tục").fill(QUERY)  # no Enter: htmx asks for the partial
    live = phone.locator("#results")
    link = live.get_by_role("link", name=BIRTH, exact=True)
    expect(link).to_be_visible()
    expect(phone.get_by_role("heading", level=1, name="Thủ tục hành chính trực tuyến")).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/thu-tuc\?q=dang(\+|%20)ky(\+|%20)khai"))  # hx-push-url
    link.click()
    check_birth_detail(phone)


def test_search_without_javascript(new_context: Any) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/")
    page.get_by_label("Tìm thủ tục").fill(QUERY)
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Tìm thủ tục")).to_be_visible()
    expect(page.locator(f'a[href="/thu-tuc/{BIRTH_CODE}"]')).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"\d+ thủ tục"))


@pytest.mark.parametrize("path", [
    "/", "/thu-tuc?q=dang+ky+khai+sinh", f"/thu-tuc/{BIRTH_CODE}", "/thu-tuc/1.004222", "/linh-vuc",
    "/?lang=en",
])
def test_axe_no_violations(phone: Any, path: str) -> None:
    phone.goto(path)
    expect(phone.locator("main h1")).to_be_visible()
    violations = axe_check(phone)
    assert not violations, f"axe: {len(violations)} violation(s) on {path}:\n{format_violations(violations)}"


def wait_controlled(page: Any) -> None:
    """Until the service worker is active and controls this page."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("!!navigator.serviceWorker.controller")


def wait_cached(page: Any, path: str) -> None:
    page.wait_for_function(
        "async (p) => !!(await caches.match(new URL(p, location.href).href))", arg=path, polling=50)


def test_offline_reading(phone: Any) -> None:
    context = phone.context
    phone.goto("/")
    wait_controlled(phone)
    phone.goto(f"/thu-tuc/{BIRTH_CODE}")
    expect(phone.get_by_role("heading", level=1, name=BIRTH, exact=True)).to_be_visible()
    wait_cached(phone, f"/thu-tuc/{BIRTH_CODE}")
    wait_cached(phone, "/offline")

    context.set_offline(True)
    try:
        phone.goto(f"/thu-tuc/{BIRTH_CODE}")
        expect(phone.get_by_role("heading", level=1, name=BIRTH, exact=True)).to_be_visible()
        phone.goto(f"/thu-tuc/{MARRIAGE_CODE}")
        expect(phone.get_by_role("heading", level=1, name="Bạn đang ngoại tuyến")).to_be_visible()
    finally:
        context.set_offline(False)


def test_english_switch_and_back(phone: Any) -> None:
    phone.goto(f"/thu-tuc/{BIRTH_CODE}")
    html = phone.locator("html")
    expect(html).to_have_attribute("lang", "vi")
    phone.get_by_role("link", name="English", exact=True).click()
    expect(html).to_have_attribute("lang", "en")
    expect(phone.get_by_role("heading", level=2, name="Time limit and fees")).to_be_visible()
    phone.get_by_role("link", name="Tiếng Việt", exact=True).click()
    expect(html).to_have_attribute("lang", "vi")
    expect(phone.get_by_role("heading", level=2, name="Thời hạn và phí")).to_be_visible()


def test_touch_targets_on_phone(phone: Any) -> None:
    phone.goto("/thu-tuc?q=dang+ky+khai+sinh")
    targets = {"search button": phone.get_by_role("button", name="Tìm", exact=True)}
    checkbox_labels = phone.locator("form.search label:has(input[type=checkbox])")
    expect(checkbox_labels).to_have_count(2)
    for i in range(checkbox_labels.count()):
        targets[f"checkbox label {i + 1}"] = checkbox_labels.nth(i)
    links = phone.locator("ol.results a")
    expect(links.first).to_be_visible()
    for i in range(min(links.count(), 5)):
        targets[f"result link {i + 1}"] = links.nth(i)
    small = {}
    for name, loc in targets.items():
        box = loc.bounding_box()
        assert box is not None, f"{name} is not visible"
        if box["height"] < 44:
            small[name] = round(box["height"], 1)
    assert not small, f"touch targets under 44 px high on a 390 px phone: {small}"
