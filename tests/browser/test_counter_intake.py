"""Counter intake ("Tiếp nhận trực tiếp") in a real Chromium on a 1024×768 tablet: a receiving officer in a passkey
session registers a walk-in birth registration for a person without an account, fills the person from a photo of
the chip CCCD card's QR through the camera file chooser, scans two pages through the camera file chooser, receives
the dossier and prints the receipt; the dossier is then in the deciding unit's queue. Later the person claims it
into an account on a 390×844 phone ("Nhận hồ sơ đã nộp tại quầy"), the one-time code read from the outbox.

The QR photo is made with segno and the page photos with Pillow, here. The officer is made with the real CLI and
enrols a passkey on the real pages (``tests.browser.test_officer_journey.officer``).
"""

from __future__ import annotations

import io
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import segno
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from sqlalchemy import select

from api.cli import main as cli
from domain.accounts.models import User
from domain.db import Database
from domain.outbox.models import Notification
from tests.browser.conftest import TABLET
from tests.browser.pages import PASSWORD as CITIZEN_PASSWORD  # the one pages.register gives the citizen
from tests.browser.pages import SHOTS, check_axe, label, off_the_loop, register, shot, watch_errors
from tests.browser.test_officer_journey import PASSWORD, officer
from tests.helpers import new_cccd, new_phone

pytestmark = pytest.mark.browser

CODE = "1.001193"  # đăng ký khai sinh
NAME = "Đinh Thị Quầy"


def card_photo(cccd: str) -> bytes:
    """A phone photo of the front of a chip CCCD card: the QR code (segno) on a light card, JPEG."""
    text = f"{cccd}||{NAME}|02031995|Nữ|Tổ 4, ấp Trường Lưu, xã Trường Hòa, tỉnh Tây Ninh|10042021"
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=6, border=4)
    qr = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    card = Image.new("RGB", (qr.width + 420, qr.height + 120), (228, 236, 240))
    ImageDraw.Draw(card).text((qr.width + 80, 60), "CĂN CƯỚC CÔNG DÂN", fill=(160, 20, 20))
    card.paste(qr, (40, 60))
    out = io.BytesIO()
    card.save(out, "JPEG", quality=90)
    return out.getvalue()


def page_photo(shade: int) -> bytes:
    """A photographed paper page (the hospital's birth certificate), JPEG."""
    img = Image.new("RGB", (1240, 1754), (250, 250, 245))
    draw = ImageDraw.Draw(img)
    for y in range(200, 1600, 60):
        draw.line((120, y, 1120, y), fill=(shade, shade, shade), width=4)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def file_of(name: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


@pytest.fixture(scope="module")
def scene(live_server: str) -> dict[str, Any]:
    """The receiving officer of the unit that decides birth registrations (CLI), made before Chromium starts."""
    with httpx.Client(base_url=live_server, timeout=30) as api:
        unit = api.get(f"/api/v1/procedures/{CODE}").json()["offer"]["unit_code"]
    username = new_phone()
    assert cli(["create-user", "--role", "officer", "--username", username, "--password", PASSWORD,
                "--unit", unit, "--full-name", "Lâm Văn Tiếp Nhận"]) == 0
    return {"unit": unit, "receiver": {"username": username, "name": "Lâm Văn Tiếp Nhận"},
            "cccd": "079195" + "".join(secrets.choice("0123456789") for _ in range(6)), "phone": new_phone()}


def keep(page: Any, name: str) -> None:
    """A full-page screenshot when MOTCUA_SCREENSHOTS names a folder."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"counter-{name}.png"), full_page=True)


def two_panes(page: Any, left: str, right: str) -> None:
    """At 1024 px the two panes sit side by side, both within the screen's width."""
    a, b = page.locator(left).bounding_box(), page.locator(right).bounding_box()
    assert a and b and a["x"] + a["width"] <= b["x"] + 1 and b["x"] + b["width"] <= 1024, (a, b)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024


def big_enough(page: Any, selector: str) -> None:
    """Touch targets: every visible button and button-like link in ``selector`` is at least 44 px high."""
    small = page.evaluate("""(sel) => [...document.querySelectorAll(sel + ' button, ' + sel + ' a.button')]
        .filter(e => e.offsetParent !== null).map(e => [e.textContent.trim(), e.getBoundingClientRect().height])
        .filter(([, h]) => h < 44)""", selector)
    assert not small, f"touch targets under 44 px: {small}"


def test_a_walk_in_birth_registration_is_received_and_its_receipt_printed(
        scene: dict[str, Any], new_context: Callable[..., Any],
        catalogue_db: str) -> None:  # scene first: before Chromium starts
    page, _authenticator = officer(new_context, scene["receiver"])
    errors = watch_errors(page)

    # 1. the applicant: the card's QR read through the camera file chooser fills the person
    page.get_by_role("link", name="Tiếp nhận trực tiếp").click()
    expect(page).to_have_url(re.compile(r"/can-bo/tiep-nhan$"))
    check_axe(page, "the intake start page")
    camera = label(page, "Chụp mặt trước thẻ căn cước (mã QR)")
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
    camera.set_input_files(file_of("the-cccd.jpg", card_photo(scene["cccd"])))  # intake.js sends it at once
    expect(page.get_by_text("Đã điền thông tin từ mã QR trên CCCD")).to_be_visible()
    new_person = page.get_by_role("region", name="Người nộp mới (chưa có tài khoản)")
    expect(label(new_person, "Họ và tên")).to_have_value(NAME)
    expect(label(new_person, "Số CCCD")).to_have_value(scene["cccd"])
    expect(label(new_person, "Ngày sinh")).to_have_value("1995-03-02")
    expect(new_person.get_by_label("Nữ")).to_be_checked()
    check_axe(page, "the person filled from the QR")
    keep(page, "start")
    label(new_person, "Số điện thoại (nhận tin nhắn)").fill(scene["phone"])
    new_person.get_by_role("button", name="Tiếp tục: chọn thủ tục").click()

    # 2. the procedure: searched by its code, at the counter
    expect(page.get_by_role("heading", name="Chọn thủ tục")).to_be_visible()
    label(page, "Tìm thủ tục theo tên hoặc mã").fill(CODE)
    label(page, "Tìm thủ tục theo tên hoặc mã").press("Enter")
    choice = page.locator(f"input[name=procedure_code][value='{CODE}']")
    expect(choice).to_be_checked()
    expect(page.get_by_label("Nộp trực tiếp tại quầy")).to_be_checked()
    check_axe(page, "the procedure picker")
    page.get_by_role("button", name="Bắt đầu tiếp nhận").click()

    # 3. the workspace: form left, documents right; two pages through the camera file chooser
    expect(page).to_have_url(re.compile(r"/can-bo/tiep-nhan/\d+$"))
    dossier_id = int(page.url.rsplit("/", 1)[1])
    two_panes(page, ".intake-main", ".intake-side")
    big_enough(page, "main")
    slot = page.locator("#slot-giay_chung_sinh")
    scan = label(slot, "Chụp các trang bằng camera")
    assert scan.get_attribute("capture") == "environment" and scan.get_attribute("multiple") is not None
    scan.set_input_files([file_of("trang-1.jpg", page_photo(60)), file_of("trang-2.jpg", page_photo(120))])
    expect(slot.locator(".preview img")).to_have_count(2)  # previewed before they are sent
    slot.get_by_role("button", name="Thêm trang").click()
    expect(slot.locator(".pages .page")).to_have_count(2)
    expect(slot.get_by_role("img", name="Trang 2")).to_be_visible()
    expect(slot.get_by_role("button", name="Chuyển trang 2 lên")).to_be_enabled()
    check_axe(page, "the intake workspace")
    keep(page, "workspace")
    page.set_viewport_size({"width": 600, "height": 900})  # a narrow screen: one column, documents below the form
    main, side = page.locator(".intake-main").bounding_box(), page.locator(".intake-side").bounding_box()
    assert main and side and side["y"] >= main["y"] + main["height"] - 1, (main, side)
    assert page.evaluate("document.documentElement.scrollWidth") <= 600
    page.set_viewport_size(TABLET["viewport"])

    # the form: the applicant is filled from the person; the child and the commitment typed
    form = page.locator("#intake-form")
    expect(label(form, "Họ và tên người nộp")).to_have_value(NAME)
    expect(label(form, "Số CCCD")).to_have_value(scene["cccd"])
    label(form, "Số điện thoại").fill(scene["phone"])
    address = form.get_by_role("group", name=re.compile("^Địa chỉ liên hệ"))
    address.get_by_label("Phường, xã").select_option(index=1)
    label(address, "Số nhà, đường, thôn/ấp").fill("Tổ 4, ấp Trường Lưu")
    label(form, "Quan hệ với người được khai sinh").select_option("me")
    label(form, "Họ, chữ đệm và tên").fill("Nguyễn Minh Khang")
    label(form, "Ngày, tháng, năm sinh").fill("2026-11-28")
    label(form, "Giới tính").select_option("nam")
    label(form, "Dân tộc").select_option("kinh")
    label(form, "Quốc tịch").select_option("viet_nam")
    label(form, "Nơi sinh").fill("Bệnh viện Đa khoa tỉnh Tây Ninh")
    label(form, "Quê quán").fill("Tây Ninh")
    form.get_by_label(re.compile("Tôi cam đoan nội dung khai")).check()
    form.get_by_label("Tại nơi tiếp nhận hồ sơ").check()

    # 4. received at once; the receipt prints (print CSS: only the receipt, on A4) and downloads as PDF
    page.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    expect(page).to_have_url(re.compile(rf"/can-bo/tiep-nhan/{dossier_id}/bien-nhan$"))
    receipt = page.locator("article.receipt")
    expect(receipt.get_by_role("heading", name="Giấy tiếp nhận hồ sơ và hẹn trả kết quả")).to_be_visible()
    code = receipt.locator("dd b").first.inner_text()
    assert code.startswith(scene["unit"] + "-"), code  # the receiving unit's numbering
    expect(receipt).to_contain_text(NAME)
    expect(receipt).to_contain_text("2 trang")  # the two pages, merged into one PDF
    expect(receipt.locator("figure.qr svg")).to_be_visible()
    check_axe(page, "the receipt")
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    page.get_by_role("button", name="In biên nhận").click()
    assert page.evaluate("window.__printed") == 1
    pdf_link = page.get_by_role("link", name="Tải biên nhận (PDF)")
    page.emulate_media(media="print")
    expect(receipt).to_be_visible()
    expect(receipt.locator("figure.qr svg")).to_be_visible()
    for hidden in ("header.top", "footer.foot", ".receipt-tools"):
        expect(page.locator(hidden)).to_be_hidden()
    assert page.screenshot(full_page=True)[:4] == b"\x89PNG"
    keep(page, "receipt-print")
    page.emulate_media(media="screen")
    pdf = page.request.get(pdf_link.get_attribute("href") or "")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:4] == b"%PDF"

    # the dossier is in the deciding unit's queue, as received (this officer is a receiver there)
    page.goto(f"/can-bo?xem=tat-ca&q={code}")
    row = page.locator(".queue-list a", has_text=code)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Đã tiếp nhận")
    assert not errors, errors

    # 5. later: the person claims this dossier into an account on a 390×844 phone, with the
    # code, the CCCD and a one-time code sent to the phone recorded at the counter
    claim_on_a_phone(new_context, catalogue_db, code=code, cccd=scene["cccd"], phone=scene["phone"],
                     dossier_id=dossier_id)


def claim_code(database_url: str, username: str) -> str:
    """The one-time code the outbox holds for the account's claim (the SMS to the dossier's phone); read on a
    thread of its own: Playwright keeps an event loop running in this one."""
    def run(s: Any) -> str:
        user_id = s.scalar(select(User.id).where(User.username == "+84" + username[1:]))
        n = s.scalars(select(Notification).where(Notification.user_id == user_id, Notification.event == "code.claim")
                      .order_by(Notification.id.desc())).first()
        return str(json.loads(n.context)["code"])

    return off_the_loop(lambda: Database(database_url).run(run), timeout=30)


def claim_on_a_phone(new_context: Callable[..., Any], database_url: str, *, code: str, cccd: str, phone: str,
                     dossier_id: int) -> None:
    """"Nhận hồ sơ đã nộp tại quầy": signing in first brings the person back to the form; a wrong CCCD is the one
    refusal; the right one sends a code to the dossier's phone (shown masked); the code opens the dossier."""
    username = new_phone()
    register(new_context().new_page(), "Đinh Thị Quầy", username)  # the account, made some other day
    page = new_context().new_page()  # plain forms (tests/pwa/test_claim_pages.py posts them without any script)
    page.goto(f"/ho-so/nhan?ma={code}")
    expect(page).to_have_url(re.compile(r"/dang-nhap\?next="))
    label(page, "Số điện thoại hoặc email").fill(username)
    label(page, "Mật khẩu").fill(CITIZEN_PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ho-so/nhan\?ma="))  # back on the form, the code filled in
    expect(label(page, "Mã hồ sơ")).to_have_value(code)
    check_axe(page, "the claim form")
    shot(page, "claim-1-form")
    label(page, "Số CCCD của người nộp").fill(new_cccd())  # someone else's number first
    page.get_by_role("button", name="Gửi mã xác nhận").click()
    expect(page.get_by_role("alert")).to_contain_text("mã hồ sơ hoặc số CCCD không khớp")
    check_axe(page, "the claim form with its refusal")
    label(page, "Số CCCD của người nộp").fill(cccd)
    page.get_by_role("button", name="Gửi mã xác nhận").click()
    expect(page.get_by_text(f"{phone[:2]}******{phone[-2:]}", exact=False)).to_be_visible()
    assert phone not in page.content()
    check_axe(page, "the one-time code form")
    shot(page, "claim-2-code")
    label(page, "Mã xác nhận").fill(claim_code(database_url, username))
    page.get_by_role("button", name="Nhận hồ sơ về tài khoản").click()
    expect(page).to_have_url(re.compile(rf"/ho-so/{dossier_id}$"))
    expect(page.get_by_text(code).first).to_be_visible()
    check_axe(page, "the claimed dossier's page")
    shot(page, "claim-3-dossier")
    page.goto("/ho-so")
    expect(page.locator(f'a[href="/ho-so/{dossier_id}"]')).to_be_visible()
