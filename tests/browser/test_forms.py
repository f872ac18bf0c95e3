"""A citizen on a 390×844 phone opens the forms of their dossier (a request to complete, form 02): the list,
the form as an A4 page (axe clean, no sideways scrolling), printed (print media: only the form shows), and its
PDF (text, Vietnamese fonts embedded) downloaded."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from domain.db import Database
from domain.dossiers import backoffice, commands
from domain.dossiers.models import Dossier
from tests import factories
from tests.browser.pages import check_axe, label, off_the_loop, shot
from tests.factories import FEE_UNIT
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def case(catalogue_db: str) -> dict[str, Any]:
    return off_the_loop(lambda: _case(catalogue_db))


def _case(catalogue_db: str) -> dict[str, Any]:
    db = Database(catalogue_db)
    staff = factories.receiver(db, FEE_UNIT, ("receiver",))
    owner = factories.citizen(db, full_name="Ngô Thị Xuân")
    dossier_id = factories.submitted(db, owner)
    version = db.read_sync(lambda s: s.get(Dossier, dossier_id).version)
    db.run(lambda s: backoffice.act(s, staff.id, dossier_id, "request_supplement", commands.decode(
        "request_supplement", json.dumps({"version": version, "missing": ["Bản sao giấy khai sinh"]}).encode())))
    return {"username": owner.username, "dossier_id": dossier_id}


def test_a_citizen_reads_prints_and_downloads_a_form(phone: Any, case: dict[str, Any]) -> None:
    page, dossier_id = phone, case["dossier_id"]
    page.goto(f"/dang-nhap?next=/ho-so/{dossier_id}/bieu-mau")
    label(page, "Số điện thoại hoặc email").fill(case["username"])
    label(page, "Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Biểu mẫu của hồ sơ")
    check_axe(page, "the list of forms")
    page.get_by_role("link", name="Mẫu số 02: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ")
    expect(page.get_by_text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")).to_be_visible()
    expect(page.get_by_text("Kính gửi: Ngô Thị Xuân")).to_be_visible()
    check_axe(page, "a form")
    shot(page, "form-02")
    page.emulate_media(media="print")
    expect(page.locator("header.top, .top").first).to_be_hidden()
    expect(page.get_by_role("link", name="Tải bản PDF")).to_be_hidden()
    expect(page.locator("article.form-doc")).to_be_visible()
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải bản PDF").click(modifiers=["Alt"])
    reader = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "Ngô Thị Xuân" in reader.pages[0].extract_text()
