"""A citizen files a birth registration (1.001193) in a real Chromium on a 390×844 phone: register, fill the
hand-made form step by step (htmx autosave), attach a real camera photo through the file chooser (downscaled
in the browser, upload progress), submit (twice, quickly), read the receipt, then look the dossier up signed
out. A second test attaches a photo with JavaScript off, through the plain multipart form."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.browser.pages import check_axe, label, register, shot, unique_phone

pytestmark = pytest.mark.browser

CODE = "1.001193"
BIRTH = "Thủ tục đăng ký khai sinh"
PHOTO_SIDE = (4000, 3000)  # a 12 MP phone photo, stored landscape with EXIF "rotate 90° clockwise"
ORIENTATION = 0x0112
SAVED = re.compile(r"Đã lưu nháp lúc \d{1,2}:\d{2}")
PROGRESS = re.compile(r"Đang tải lên… \d{1,3}%")
DOCS = "Giấy chứng sinh (hoặc văn bản của người làm chứng, giấy cam đoan về việc sinh)"
CHOOSE_FILE = "Hoặc chọn tệp (ảnh hoặc PDF, tối đa 20 MB)"
DDMMYYYY = re.compile(r"^\d{2}/\d{2}/\d{4}$")
SLOW = 20_000  # ms: decoding a 12 MP photo, processing an upload, filing; on a loaded CI machine

# Records, in sessionStorage (it survives the reload after the upload), what the upload form shows: the
# status line's texts and whether the progress bar was visible, at every change.
RECORD_UPLOAD = """(form) => {
  const bar = form.querySelector("progress"), status = form.querySelector(".upload-status");
  const seen = [];
  const log = () => {
    const entry = (bar.hidden ? "bar hidden" : "bar " + bar.value) + " | " + status.textContent;
    if (seen[seen.length - 1] === entry) return;
    seen.push(entry);
    sessionStorage.setItem("upload-seen", JSON.stringify(seen));
  };
  new MutationObserver(log).observe(form, {subtree: true, childList: true, characterData: true, attributes: true,
                                           attributeFilter: ["hidden", "value"]});
}"""


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ~3.7 MB JPEG, 4000×3000 px, EXIF orientation 6: displayed as a 3000×4000 portrait."""
    width, height = PHOTO_SIDE
    base = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 24)
    image = Image.merge("RGB", (Image.blend(base, noise, 0.5),
                                Image.blend(base.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise, 0.4),
                                Image.blend(base.transpose(Image.Transpose.ROTATE_180), noise, 0.3)))
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 200, 1800, 1400), fill=(240, 240, 230))
    draw.text((300, 300), "GIAY CHUNG SINH - BV DA KHOA TAY NINH", fill=(0, 0, 0))
    exif = image.getexif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "Test Camera"
    path = tmp_path_factory.mktemp("photo") / "IMG_20261120_0815.jpg"
    image.save(path, "JPEG", quality=90, exif=exif.tobytes())
    size = path.stat().st_size
    assert 3_000_000 <= size <= 5_000_000, size
    return path


def start_dossier(page: Any) -> str:
    """From the procedure page: "Nộp hồ sơ trực tuyến"; the URL of the new draft."""
    page.goto(f"/thu-tuc/{CODE}")
    expect(page.get_by_role("heading", level=1, name=BIRTH, exact=True)).to_be_visible()
    page.get_by_role("button", name="Nộp hồ sơ trực tuyến").click()
    expect(page).to_have_url(re.compile(r"/ho-so/\d+$"))
    return str(page.url)


def step_heading(page: Any, title: str) -> None:
    expect(page.get_by_role("heading", level=2, name=title, exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Các bước").locator("[aria-current=step]")).to_have_text(title)


def save_and_continue(page: Any) -> None:
    page.get_by_role("button", name="Lưu và tiếp tục").click()


def autosave(page: Any) -> Any:
    """Wait for the htmx autosave (``input changed delay:800ms, change``) that the next action starts. The
    page must be fully loaded first: an input typed before htmx has processed the form starts no autosave
    (a real user is never that fast, a test on a loaded machine can be)."""
    page.wait_for_function("() => document.readyState === 'complete' && window.htmx !== undefined",
                           timeout=SLOW)
    return page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/luu")
                                and r.request.headers.get("hx-request") == "true", timeout=SLOW)


def birth_slot(page: Any) -> Any:
    """The documents step's card of the required slot (its heading ends with "(bắt buộc)")."""
    return page.get_by_role("region", name=re.compile(rf"^{re.escape(DOCS)}"))


def dd_of(scope: Any, term: str) -> Any:
    """The <dd> after the <dt> with this text in a description list."""
    term_ = scope.locator("dt", has_text=re.compile(rf"^{re.escape(term)}$"))
    return term_.locator("xpath=following-sibling::dd[1]")


def test_file_birth_registration_on_phone(phone: Any, photo: Path) -> None:
    page = phone
    name, number = "Nguyễn Văn An", unique_phone()
    offer = page.request.get(f"/api/v1/procedures/{CODE}").json()["offer"]
    assert offer and offer["mode"] == "full", offer
    unit_code, unit_name = offer["unit_code"], offer["unit_name"]

    register(page, name, number)
    start_dossier(page)

    # --- step 1: the applicant, prefilled from the account ------------------------------------------
    step_heading(page, "Người nộp hồ sơ")
    expect(label(page, "Họ và tên người nộp")).to_have_value(name)
    expect(label(page, "Số điện thoại")).to_have_value(re.compile(rf"{number[1:]}$"))
    saved = page.get_by_role("status").filter(has_text=SAVED)
    expect(saved).to_have_count(0)
    with autosave(page):
        label(page, "Số CCCD").fill("072095001234")
    expect(page.locator("#saved")).to_have_text(SAVED)  # the htmx autosave's status line
    page.reload()
    expect(label(page, "Số CCCD")).to_have_value("072095001234")  # kept by the autosave alone
    label(page, "Email").fill("nguyenvanan@example.vn")
    province = label(page, "Tỉnh, thành phố")
    expect(province.locator("option:checked")).to_have_text("Tây Ninh")
    label(page, "Phường, xã").select_option(label="Phường Tân Ninh")
    label(page, "Số nhà, đường, thôn/ấp").fill("12 đường Cách Mạng Tháng Tám, khu phố 3")
    label(page, "Quan hệ với người được khai sinh").select_option(label="Cha")
    check_axe(page, "the applicant step")
    shot(page, "1-applicant")
    save_and_continue(page)

    # --- step 2: the child ----------------------------------------------------------------------------
    step_heading(page, "Người được khai sinh")
    label(page, "Họ, chữ đệm và tên").fill("Nguyễn Minh Khang")
    label(page, "Ngày, tháng, năm sinh").fill("2026-11-20")
    label(page, "Giới tính").select_option(label="Nam")
    label(page, "Dân tộc").select_option(label="Kinh")
    label(page, "Quốc tịch").select_option(label="Việt Nam")
    label(page, "Nơi sinh").fill("Bệnh viện Đa khoa tỉnh Tây Ninh")
    label(page, "Quê quán").fill("Xã Hảo Đước, tỉnh Tây Ninh")
    label(page, "Số Giấy chứng sinh").fill("00123/2026")
    shot(page, "2-child")
    save_and_continue(page)

    # --- step 3: the parents --------------------------------------------------------------------------
    step_heading(page, "Cha, mẹ")
    label(page, "Họ, chữ đệm và tên người mẹ").fill("Trần Thị Bích")
    label(page, "Ngày sinh của người mẹ").fill("1996-03-14")
    label(page, "Số định danh cá nhân của người mẹ").fill("072196004321")
    label(page, "Phường, xã").select_option(label="Phường Tân Ninh")
    label(page, "Số nhà, đường, thôn/ấp").fill("12 đường Cách Mạng Tháng Tám, khu phố 3")
    label(page, "Họ, chữ đệm và tên người cha").fill(name)
    label(page, "Ngày sinh của người cha").fill("1995-07-02")
    label(page, "Số định danh cá nhân của người cha").fill("072095001234")
    shot(page, "3-parents")
    save_and_continue(page)

    # --- step 4: copies and the commitment --------------------------------------------------------------
    step_heading(page, "Bản sao và cam đoan")
    copies = label(page, "Yêu cầu cấp bản sao Giấy khai sinh")
    with autosave(page):
        copies.check()
    with autosave(page):  # changed one's mind: the untick is saved too
        copies.uncheck()
    page.reload()
    expect(copies).not_to_be_checked()
    copies.check()
    label(page, "Số bản sao Giấy khai sinh").fill("2")
    page.get_by_label(re.compile(r"^\s*Tôi cam đoan nội dung khai trên đây là đúng sự thật")).check()
    shot(page, "4-commitment")
    save_and_continue(page)

    # --- documents: a real photo through the file chooser -------------------------------------------
    step_heading(page, "Giấy tờ")
    shot(page, "5-documents")
    check_axe(page, "the documents step")
    slot = birth_slot(page)
    form = slot.locator("form[data-upload]")
    form.evaluate(RECORD_UPLOAD)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")  # slow the upload so that its progress can be watched
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                  "uploadThroughput": 200 * 1024})
    with page.expect_file_chooser() as chooser:
        slot.get_by_text(CHOOSE_FILE).click()
    chooser.value.set_files(str(photo))  # the change submits the form (upload.js)
    expect(slot.locator("progress")).to_be_visible(timeout=SLOW)  # after the downscale
    expect(slot.get_by_role("status")).to_have_text(PROGRESS)
    shot(page, "6-uploading")
    listed = slot.get_by_role("link", name=photo.name)
    expect(listed).to_be_visible(timeout=SLOW)  # the page reloaded after "Đã tải lên."
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('upload-seen') || '[]')")
    assert any(PROGRESS.search(s) and not s.startswith("bar hidden") for s in seen), seen
    assert any(s.endswith("| Đã tải lên.") for s in seen), seen
    shot(page, "7-uploaded")
    size = re.search(r"(\d+) KB", slot.locator("li").first.inner_text())
    assert size, slot.locator("li").first.inner_text()
    size_kb = int(size.group(1))
    assert size_kb * 1024 < photo.stat().st_size / 3, (size_kb, photo.stat().st_size)
    # what the server stored: downscaled in the browser to ≤ 2000 px, the EXIF rotation applied
    stored = page.request.get(listed.get_attribute("href"))
    assert stored.ok and stored.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(stored.body())) as img:
        assert max(img.size) <= 2000 and img.height > img.width, img.size
        assert img.getexif().get(ORIENTATION, 1) == 1

    page.get_by_role("link", name="Tiếp tục", exact=True).click()

    # --- review and submit (twice, quickly) ---------------------------------------------------------
    step_heading(page, "Kiểm tra và nộp")
    expect(dd_of(page.locator("main .facts"), "Họ, chữ đệm và tên")).to_have_text("Nguyễn Minh Khang")
    expect(page.get_by_text("Giấy tờ đính kèm: 1")).to_be_visible()
    check_axe(page, "the review step")
    shot(page, "8-review")
    submits: list[str] = []
    page.on("request", lambda r: submits.append(r.url) if r.method == "POST" and r.url.endswith("/nop") else None)
    page.get_by_role("button", name="Nộp hồ sơ", exact=True).dblclick()  # a double tap

    # --- the receipt --------------------------------------------------------------------------------
    expect(page).to_have_url(re.compile(r"/ho-so/\d+/bien-nhan$"), timeout=SLOW)
    assert len(submits) == 1, submits  # the second tap is swallowed (data-submit-once in upload.js)
    receipt = page.locator("article.receipt")
    expect(receipt.get_by_role("heading", level=1, name="Biên nhận hồ sơ")).to_be_visible()
    code_pattern = re.compile(rf"^{re.escape(unit_code)}-\d{{6}}-\d{{4}}$")
    expect(dd_of(receipt, "Mã hồ sơ")).to_have_text(code_pattern)
    code = dd_of(receipt, "Mã hồ sơ").inner_text().strip()
    assert unit_code == "000.31.01.H56"  # the commune unit of the demo province (config/province.toml)
    expect(dd_of(receipt, "Ngày hẹn trả kết quả")).to_have_text(DDMMYYYY)
    expect(dd_of(receipt, "Nơi tiếp nhận")).to_have_text(unit_name)
    expect(dd_of(receipt, "Mã kiểm tra")).to_have_text(re.compile(r"^[2-9A-HJKMNP-Z]{8}$"))
    check = dd_of(receipt, "Mã kiểm tra").inner_text().strip()
    qr = receipt.locator("figure.qr svg")
    expect(qr).to_be_visible()
    expect(qr.locator("title")).to_have_text("Mã QR tra cứu hồ sơ")
    check_axe(page, "the receipt")
    shot(page, "9-receipt")

    page.goto("/ho-so")
    rows = page.locator("main ul.results > li")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(code)
    expect(rows.first).to_contain_text("Đã nộp, chờ tiếp nhận")

    # --- signed out: the public lookup --------------------------------------------------------------
    page.goto("/tai-khoan")
    page.locator("form[action='/dang-xuat']").get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/ho-so")
    expect(page).to_have_url(re.compile(r"/dang-nhap\?next="))
    page.goto("/tra-cuu")
    label(page, "Mã hồ sơ").fill(code)
    page.get_by_role("button", name="Tra cứu").click()
    result = page.get_by_role("region", name=code)
    expect(result).to_be_visible()
    expect(dd_of(result, "Trạng thái")).to_have_text("Đã nộp, chờ tiếp nhận")
    expect(dd_of(result, "Nơi tiếp nhận")).to_have_count(0)  # by the code alone: status and date only
    expect(dd_of(result, "Thủ tục")).to_have_count(0)
    label(page, "Mã kiểm tra").fill(check.lower())
    page.get_by_role("button", name="Tra cứu").click()
    result = page.get_by_role("region", name=code)
    expect(result).to_be_visible()
    expect(dd_of(result, "Trạng thái")).to_have_text("Đã nộp, chờ tiếp nhận")
    expect(dd_of(result, "Nơi tiếp nhận")).to_have_text(unit_name)
    expect(page.locator("body")).not_to_contain_text(name)
    for private in ("Nguyễn Minh Khang", "072095001234", number[1:]):  # the child, the CCCD, the phone
        expect(page.locator("body")).not_to_contain_text(private)
    check_axe(page, "the lookup result")
    shot(page, "10-lookup")


def test_attach_photo_without_javascript(new_context: Any, photo: Path) -> None:
    page = new_context(java_script_enabled=False).new_page()
    register(page, "Lê Thị Hoa", unique_phone())
    start_dossier(page)
    page.get_by_role("navigation", name="Các bước").get_by_role("link", name="Giấy tờ", exact=True).click()
    step_heading(page, "Giấy tờ")
    slot = birth_slot(page)
    label(slot, CHOOSE_FILE).set_input_files(str(photo))
    slot.get_by_role("button", name="Tải lên").click()
    expect(page).to_have_url(re.compile(r"/ho-so/\d+\?buoc=\d+$"), timeout=SLOW)
    listed = birth_slot(page).get_by_role("link", name=photo.name)
    expect(listed).to_be_visible()
    expect(birth_slot(page).locator("li").first).to_contain_text(re.compile(r"\d+ KB"))
    # the original went to the server as it was: re-encoded there, kept at 4000 px, EXIF rotation applied
    stored = page.request.get(listed.get_attribute("href"))
    assert stored.ok and stored.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(stored.body())) as img:
        assert img.size == (3000, 4000), img.size
    shot(page, "11-nojs-uploaded")
