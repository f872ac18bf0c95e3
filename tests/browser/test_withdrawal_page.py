"""The applicant withdraws a dossier on a phone, in a real Chromium: the dossier's page offers it (before
intake: at once), with a reason, and lists the forms the office sent; axe finds nothing on the page with the
form open; no horizontal scroll. The dossier is filed through the JSON API to keep it short."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.pages import check_axe, label, shot
from tests.helpers import HANDMADE, PASSWORD, bearer, fill, login, register

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def filed(live_server: str) -> dict[str, Any]:
    with httpx.Client(base_url=live_server, timeout=30) as api:
        items = api.get("/api/v1/procedures", params={"online": "true", "level": "commune",
                                                      "page_size": 100}).json()["items"]
        code = next(i["code"] for i in items if i["code"] not in HANDMADE and 1 <= len(
            api.get(f"/api/v1/procedures/{i['code']}/form").json()["documents"]) <= 3)
        username = register(api, full_name="Lâm Thị Rút")
        tokens = login(api, username)
        d = api.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": code}).json()
        fill(api, tokens, d["id"], api.get(f"/api/v1/procedures/{code}/form").json())
        assert api.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(tokens)).status_code == 200
        return {"username": username, "id": d["id"], "tokens": tokens}


def test_withdrawing_on_a_phone(phone: Any, live_server: str, filed: dict[str, Any]) -> None:
    page = phone
    page.goto(f"/dang-nhap?next=/ho-so/{filed['id']}")
    label(page, "Số điện thoại hoặc email").fill(filed["username"])
    label(page, "Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/ho-so/{filed['id']}$"))
    page.get_by_text("Rút hồ sơ", exact=True).click()
    expect(label(page, "Lý do rút hồ sơ")).to_be_visible()
    check_axe(page, "the dossier page with the withdrawal form open")
    shot(page, "withdraw-open")
    label(page, "Lý do rút hồ sơ").fill("Nộp nhầm thủ tục")
    page.get_by_role("button", name="Rút hồ sơ ngay").click()
    expect(page).to_have_url(re.compile(rf"/ho-so/{filed['id']}$"))
    expect(page.get_by_text("Đã rút hồ sơ")).to_be_visible()
    expect(page.get_by_role("button", name="Rút hồ sơ ngay")).to_have_count(0)
    with httpx.Client(base_url=live_server, timeout=30) as api:
        d = api.get(f"/api/v1/dossiers/{filed['id']}", headers=bearer(filed["tokens"])).json()
    assert (d["status"], d["national_status"]) == ("withdrawn", 7)
