"""The one-stop back office in a real Chromium on a 1024×768 tablet, with a CDP virtual authenticator per
officer: the receiver receives and assigns, the processor routes, generates the result and proposes, the
approver approves with a passkey (the assertion bound to the dossier), the receiver issues and returns the
result; the citizen, on a phone, finds it in the wallet and checks it on the QR code's public page.

Officers are made with the real CLI (``motcua create-user``) against the live server's database, and enrol
their passkeys on the real account page (officers must before anything else). The citizen files through the
JSON API with a bearer token, to keep the journey short.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from api.cli import main as cli
from tests.browser.conftest import TABLET
from tests.browser.pages import (
    NO_AUTOFILL,
    Authenticator,
    check_axe,
    client_data,
    label,
    watch_errors,
)
from tests.helpers import enrolment_code, new_phone

pytestmark = pytest.mark.browser

PASSWORD = "một câu mật khẩu dài"
HANDMADE = {"1.001193", "1.000894", "1.004222", "1.004194", "3.000333", "1.001612", "1.013225", "2.000815"}
OTHER_UNIT = "000.00.13.H56"
ADDRESS = {"province": 80, "ward": 25459, "street": "12 Đường 30/4"}
APPLICANT = "Hoàng Thị Tablet"
CCCD = "079301234567"


def photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (40, 120, 200)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


@pytest.fixture(scope="module")
def scene(live_server: str) -> dict[str, Any]:
    """Officers (CLI) and a citizen's submitted dossier (API), made before Chromium starts: on PostgreSQL
    the CLI runs its own event loop, which Playwright's would block."""
    with httpx.Client(base_url=live_server, timeout=30) as api:
        items = api.get("/api/v1/procedures", params={"online": "true", "level": "commune",
                                                      "page_size": 100}).json()["items"]
        code = next(i["code"] for i in items if i["code"] not in HANDMADE and 1 <= len(
            api.get(f"/api/v1/procedures/{i['code']}/form").json()["documents"]) <= 3)
        unit = api.get(f"/api/v1/procedures/{code}").json()["offer"]["unit_code"]
        staff = {}
        for key, role, unit_code, name in (("receiver", "officer", unit, "Nguyễn Văn Tiếp Nhận"),
                                           ("processor", "officer", unit, "Phạm Thị Xử Lý"),
                                           ("approver", "approver", unit, "Trần Văn Lãnh Đạo")):
            username = new_phone()
            assert cli(["create-user", "--role", role, "--username", username, "--password", PASSWORD,
                        "--unit", unit_code, "--full-name", name]) == 0
            staff[key] = {"username": username, "name": name}
        citizen = new_phone()
        r = api.post("/api/v1/auth/register", json={"full_name": APPLICANT, "username": citizen,
                                                     "password": PASSWORD})
        assert r.status_code == 201, r.text
        tokens = api.post("/api/v1/auth/login", json={"username": citizen, "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        form = api.get(f"/api/v1/procedures/{code}/form").json()
        d = api.post("/api/v1/dossiers", headers=auth, json={"procedure_code": code}).json()
        r = api.patch(f"/api/v1/dossiers/{d['id']}", headers=auth, json={"data": {
            "applicant_name": APPLICANT, "applicant_cccd": CCCD, "applicant_phone": "0912345678",
            "applicant_address": ADDRESS, "request": "Đề nghị xác nhận"}})
        assert r.status_code == 200, r.text
        for slot in form["documents"]:
            if slot["required"]:
                up = api.post(f"/api/v1/dossiers/{d['id']}/documents", headers=auth, data={"slot": slot["slot"]},
                              files={"file": ("anh-chup.jpg", photo(), "image/jpeg")})
                assert up.status_code == 201, up.text
        submitted = api.post(f"/api/v1/dossiers/{d['id']}/submit", headers=auth)
        assert submitted.status_code == 200, submitted.text
        return {"staff": staff, "citizen": citizen, "unit": unit, "dossier_id": d["id"],
                "code": submitted.json()["code"]}


def sign_in(page: Any, username: str, next_: str) -> None:
    page.goto(f"/dang-nhap?next={next_}")
    label(page, "Số điện thoại hoặc email").fill(username)
    label(page, "Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()


def officer(new_context: Callable[..., Any], person: dict[str, str]) -> tuple[Any, Authenticator]:
    """An officer's tablet: signs in with the password, is sent to enrol a passkey, enrols it with the
    one-time code the unit admin read out, then signs in with it (the back office needs a passkey session)."""
    ctx = new_context(**TABLET)
    ctx.add_init_script(NO_AUTOFILL)
    page = ctx.new_page()
    authenticator = Authenticator(page)
    sign_in(page, person["username"], "/can-bo")
    expect(page).to_have_url(re.compile(r"/tai-khoan\?enrol=1$"))
    expect(page.get_by_role("alert")).to_contain_text("Cán bộ phải đăng ký passkey")
    label(page, "Mã đăng ký passkey").fill(enrolment_code(person["username"]))
    page.get_by_role("button", name="Thêm passkey", exact=True).click()
    expect(page).to_have_url(re.compile(r"/dang-nhap\?passkey=1&next=%2Fcan-bo$"))
    expect(page.get_by_role("alert")).to_contain_text("đăng nhập bằng passkey")
    assert len(authenticator.credentials()) == 1
    page.get_by_role("button", name="Đăng nhập bằng passkey", exact=True).click()
    expect(page).to_have_url(re.compile(r"/can-bo$"))
    return page, authenticator


def pane(page: Any) -> Any:
    return page.get_by_role("region", name="Hồ sơ đang xem")


def queue(page: Any) -> Any:
    return page.locator("#queue")


def open_action(page: Any, summary: str) -> Any:
    """Open an action's disclosure in the dossier pane; its form."""
    details = pane(page).locator("details.action").filter(has=page.locator("summary", has_text=summary))
    details.locator("summary").click()
    return details


def expect_done(page: Any, dossier_id: int, action: str, label_text: str) -> None:
    expect(page).to_have_url(re.compile(rf"/can-bo/ho-so/{dossier_id}\?.*ok={action}$"))
    expect(pane(page).get_by_role("status").filter(has_text=f"Đã thực hiện: {label_text}.")).to_be_visible()


def test_officers_on_tablets_and_the_citizen_verifies(scene: dict[str, Any], new_context: Callable[..., Any],
                                                     live_server: str) -> None:
    staff, code, dossier_id = scene["staff"], scene["code"], scene["dossier_id"]

    # --- the receiver: the "new" queue, the dossier pane (htmx), receive, assign ------------------
    receiver, _ = officer(new_context, staff["receiver"])
    errors = watch_errors(receiver)
    receiver.goto("/can-bo")
    expect(receiver.get_by_role("heading", level=1)).to_have_text("Xử lý hồ sơ một cửa")
    tabs = receiver.get_by_role("navigation", name="Hàng đợi hồ sơ")
    expect(tabs.get_by_role("link")).to_have_text(["Mới", "Bổ sung", "Của tôi", "Sắp đến hạn", "Quá hạn", "Tất cả"])
    expect(tabs.get_by_role("link", name="Mới")).to_have_attribute("aria-current", "page")
    row = queue(receiver).get_by_role("link").filter(has_text=code)
    expect(row).to_contain_text(APPLICANT)
    expect(row).to_contain_text("Đã nộp, chờ tiếp nhận")
    # two panes side by side on the tablet
    queue_box, pane_box = queue(receiver).bounding_box(), receiver.locator("#pane").bounding_box()
    assert queue_box["x"] + queue_box["width"] <= pane_box["x"] and abs(queue_box["y"] - pane_box["y"]) < 5
    with receiver.expect_request(lambda r: r.url.endswith(f"/can-bo/ho-so/{dossier_id}?xem=moi")
                                 and r.headers.get("hx-request") == "true"):
        row.click()  # htmx loads the pane only and pushes the URL
    expect(receiver).to_have_url(re.compile(rf"/can-bo/ho-so/{dossier_id}\?xem=moi$"))
    expect(pane(receiver).get_by_role("heading", level=2)).to_have_text(f"Hồ sơ {code}")
    expect(pane(receiver).get_by_role("heading", level=2)).to_be_focused()
    expect(row).to_have_attribute("aria-current", "true")
    expect(pane(receiver)).to_contain_text(CCCD)
    expect(pane(receiver)).to_contain_text("Họ và tên người nộp")
    # a photo of the dossier, tapped: a dialog; tapped again: zoomed
    thumb = pane(receiver).locator("a[data-zoom]").first
    thumb.scroll_into_view_if_needed()
    expect(thumb.locator("img")).to_have_js_property("complete", True)
    assert thumb.locator("img").evaluate("i => i.naturalWidth") > 0
    thumb.click()
    dialog = receiver.locator("dialog#zoom")
    expect(dialog).to_be_visible()
    dialog.locator("img").click()
    expect(dialog).to_have_class(re.compile(r"\bzoomed\b"))
    dialog.get_by_role("button", name="Đóng").click()
    expect(dialog).to_be_hidden()
    for target in (44,):  # touch targets: the queue rows and the tabs
        assert row.bounding_box()["height"] >= target
        assert tabs.get_by_role("link", name="Tất cả").bounding_box()["height"] >= target
    check_axe(receiver, "the queue and the dossier pane (tablet)")
    pane(receiver).get_by_role("button", name="Tiếp nhận hồ sơ", exact=True).click()
    expect_done(receiver, dossier_id, "receive", "Tiếp nhận hồ sơ")
    form = open_action(receiver, "Phân công xử lý")
    form.get_by_label("Cán bộ xử lý").select_option(label=staff["processor"]["name"])
    form.get_by_role("button", name="Phân công", exact=True).click()
    expect_done(receiver, dossier_id, "assign", "Phân công xử lý")
    expect(pane(receiver)).to_contain_text("Đang giải quyết")
    # another tab: htmx swaps the queue only, the dossier stays
    expect(queue(receiver).get_by_role("link").filter(has_text=code)).to_have_count(0)  # no longer "new"
    tabs.get_by_role("link", name="Tất cả").click()
    expect(receiver).to_have_url(re.compile(rf"/can-bo/ho-so/{dossier_id}\?xem=tat-ca$"))
    expect(tabs.get_by_role("link", name="Tất cả")).to_have_attribute("aria-current", "page")
    expect(queue(receiver).get_by_role("link").filter(has_text=code)).to_contain_text("Đang giải quyết")
    expect(pane(receiver).get_by_role("heading", level=2)).to_have_text(f"Hồ sơ {code}")

    # --- the processor: "mine", route with a step deadline, generate the result, propose ----------
    processor, _ = officer(new_context, staff["processor"])
    errors += watch_errors(processor)
    processor.goto("/can-bo?xem=cua-toi")
    processor_row = queue(processor).get_by_role("link").filter(has_text=code)
    processor_row.click()
    expect(pane(processor).get_by_role("heading", level=2)).to_have_text(f"Hồ sơ {code}")
    # narrower (portrait): one pane at a time, with a way back to the queue
    processor.set_viewport_size({"width": 768, "height": 1024})
    expect(queue(processor)).to_be_hidden()
    expect(pane(processor).get_by_role("link", name="← Về hàng đợi")).to_be_visible()
    processor.set_viewport_size(TABLET["viewport"])
    expect(queue(processor)).to_be_visible()
    expect(pane(processor).get_by_role("link", name="← Về hàng đợi")).to_be_hidden()
    form = open_action(processor, "Chuyển xử lý")
    form.get_by_label("Đơn vị nhận").select_option(value=OTHER_UNIT)
    form.get_by_label("Nội dung chuyển").fill("Chuyển phòng chuyên môn thẩm định")
    form.get_by_label("Hạn của bước").fill("2030-01-04")
    form.get_by_role("button", name="Chuyển", exact=True).click()
    expect_done(processor, dossier_id, "route", "Chuyển xử lý")
    slips = pane(processor).get_by_role("region", name="Phiếu kiểm soát quá trình giải quyết hồ sơ (mẫu 06)")
    expect(slips).to_contain_text("Chuyển phòng chuyên môn thẩm định")
    expect(slips).to_contain_text("04/01/2030")
    open_action(processor, "Kết quả giải quyết").get_by_role("button", name="Tạo kết quả từ mẫu").click()
    expect_done(processor, dossier_id, "result", "Kết quả giải quyết")
    verify_url = pane(processor).locator("a[data-verify-url]").get_attribute("href")
    assert verify_url and verify_url.startswith(f"{live_server}/xac-minh/")
    form = open_action(processor, "Trình phê duyệt")
    expect(form.get_by_label("Giải quyết (cần có kết quả)")).to_be_checked()
    form.get_by_role("button", name="Trình lãnh đạo").click()
    expect_done(processor, dossier_id, "propose", "Trình phê duyệt")
    expect(pane(processor)).to_contain_text("Chờ lãnh đạo phê duyệt")

    # --- the approver: approves with a passkey bound to this dossier --------------------------
    approver, approver_key = officer(new_context, staff["approver"])
    errors += watch_errors(approver)
    approver.goto(f"/can-bo?xem=tat-ca&q={code}")
    queue(approver).get_by_role("link").filter(has_text=code).click()
    expect(pane(approver).get_by_role("heading", level=2)).to_have_text(f"Hồ sơ {code}")
    sign = pane(approver).get_by_role("button", name="Phê duyệt (ký bằng passkey)")
    count = approver_key.credentials()[0]["signCount"]
    with approver.expect_request(re.compile(rf"/can-bo/ho-so/{dossier_id}/ky/approve\?")) as sent:
        sign.click()
    body = sent.value.post_data_json
    assert set(body) == {"version", "reason", "assertion"}
    data = client_data(body["assertion"])
    assert data["type"] == "webauthn.get" and data["origin"] == live_server
    expect_done(approver, dossier_id, "approve", "Phê duyệt")
    expect(pane(approver)).to_contain_text("Đã phê duyệt")
    expect(pane(approver).get_by_role("region", name="Quyết định đã ký")).to_contain_text(staff["approver"]["name"])
    assert approver_key.credentials()[0]["signCount"] > count

    # --- the receiver issues and returns the result ----------------------------------------------
    receiver.goto(f"/can-bo/ho-so/{dossier_id}?xem=tat-ca")
    pane(receiver).get_by_role("button", name="Ban hành kết quả", exact=True).click()
    expect_done(receiver, dossier_id, "issue_result", "Ban hành kết quả")
    pane(receiver).get_by_role("button", name="Trả kết quả", exact=True).click()
    expect_done(receiver, dossier_id, "return_result", "Trả kết quả")
    expect(pane(receiver)).to_contain_text("Đã trả kết quả")
    history = pane(receiver).get_by_role("region", name="Quá trình xử lý")
    for step in ("Nộp hồ sơ", "Tiếp nhận hồ sơ", "Phân công xử lý", "Chuyển xử lý", "Trình phê duyệt", "Phê duyệt",
                 "Ban hành kết quả", "Trả kết quả"):
        expect(history).to_contain_text(step)

    # --- the citizen, on a phone: the result in the wallet, checked on the QR code's page -----------
    citizen = new_context().new_page()
    errors += watch_errors(citizen)
    sign_in(citizen, scene["citizen"], f"/ho-so/{dossier_id}")
    expect(citizen).to_have_url(re.compile(rf"/ho-so/{dossier_id}$"))
    expect(citizen.locator("main")).to_contain_text("Đã trả kết quả")
    citizen.goto("/vi-giay-to")
    result_link = citizen.get_by_role("link").filter(has_text=code)
    expect(result_link).to_have_count(1)
    downloaded = citizen.request.get(result_link.get_attribute("href"))
    assert downloaded.ok and downloaded.headers["content-type"] == "application/pdf"
    pdf = downloaded.body()
    assert pdf[:4] == b"%PDF"
    citizen.goto(verify_url)
    main = citizen.locator("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("Xác minh kết quả giải quyết")
    expect(main).to_contain_text("đã được ban hành")
    for private in (APPLICANT, CCCD, code):
        expect(main).not_to_contain_text(private)
    check_axe(citizen, "the public verify page (phone)")
    citizen.get_by_label("Tệp cần đối chiếu").set_input_files(
        {"name": "ket-qua.pdf", "mimeType": "application/pdf", "buffer": pdf})
    citizen.get_by_role("button", name="Đối chiếu", exact=True).click()
    expect(citizen.get_by_role("status").filter(has_text="Khớp")).to_contain_text("văn bản đã ban hành")
    check_axe(citizen, "the verify page with its answer (phone)")
    assert errors == []
