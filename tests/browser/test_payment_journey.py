"""A citizen pays a fee in a real Chromium on a 390×844 phone: from the dossier's page to the pay page
(amount, choice of gateway), on to the sandbox gateway, back with "paid", then the e-receipt. A second
test leaves the status page open while the gateway's callback arrives: the page updates itself (htmx)."""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

from domain.db import Database
from domain.dossiers.filing import next_code
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier
from domain.payments.gateways.sandbox import SandboxGateway
from domain.settings import load_payment_settings
from domain.workflow import Actor
from tests.browser.pages import check_axe, register, shot, unique_phone

pytestmark = pytest.mark.browser

CODE = "1.004222"  # đăng ký thường trú: 10.000 ₫ online
AMOUNT = "10.000\u00a0₫"


def file_directly(database_url: str, dossier_id: int) -> None:
    """File the draft through the workflow (the form itself is tested elsewhere). On its own thread:
    Playwright keeps an event loop running in this one."""
    def run(s: Any) -> None:
        d = s.get(Dossier, dossier_id)
        fire(s, d, "submit", actor_id=d.owner_id, actors={Actor.APPLICANT})
        d.code, d.submitted_at, d.fee_vnd = next_code(s, d.unit_code, datetime.now(UTC)), datetime.now(UTC), 10_000

    errors: list[BaseException] = []

    def target() -> None:
        try:
            Database(database_url).run(run)
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if errors:
        raise errors[0]


def filed_dossier(page: Any, catalogue_db: str, name: str) -> int:
    register(page, name, unique_phone())
    page.goto(f"/thu-tuc/{CODE}")
    page.get_by_role("button", name="Nộp hồ sơ trực tuyến").click()
    expect(page).to_have_url(re.compile(r"/ho-so/\d+$"))
    dossier_id = int(page.url.rsplit("/", 1)[1])
    file_directly(catalogue_db, dossier_id)
    return dossier_id


def to_sandbox(page: Any, dossier_id: int) -> None:
    page.goto(f"/ho-so/{dossier_id}")
    fee = page.get_by_role("region", name="Phí, lệ phí")
    pay_link = fee.get_by_role("link", name=f"Thanh toán lệ phí {AMOUNT}")
    expect(pay_link).to_be_visible()  # loaded by htmx from the payment summary
    pay_link.click()
    expect(page.get_by_role("heading", level=1, name="Thanh toán lệ phí")).to_be_visible()
    expect(page.locator("b.amount")).to_have_text(AMOUNT)
    choice = page.get_by_role("group", name="Chọn cách thanh toán")
    expect(choice.get_by_role("radio", name="Cổng thử nghiệm (sandbox)")).to_be_checked()
    check_axe(page, "the pay page")
    shot(page, "pay-1-pay-page")
    page.get_by_role("button", name=f"Thanh toán {AMOUNT}").click()
    expect(page.get_by_role("heading", level=1, name="Cổng thanh toán thử nghiệm")).to_be_visible()
    expect(page.get_by_text(AMOUNT)).to_be_visible()


def test_pay_on_the_sandbox_and_see_the_receipt(phone: Any, catalogue_db: str) -> None:
    page = phone
    dossier_id = filed_dossier(page, catalogue_db, "Phạm Thị Lan")
    to_sandbox(page, dossier_id)
    check_axe(page, "the sandbox gateway")
    shot(page, "pay-2-sandbox")
    page.get_by_role("button", name="Thanh toán thành công").click()
    # back from the gateway: "paid", the receipt one tap away
    expect(page).to_have_url(re.compile(r"/thanh-toan/\d+$"))
    expect(page.get_by_role("status").filter(has_text="Đã thanh toán")).to_be_visible()
    check_axe(page, "the payment status")
    shot(page, "pay-3-paid")
    page.get_by_role("link", name="Xem biên lai").click()
    receipt = page.locator("article.e-receipt")
    expect(receipt.get_by_role("heading", level=1, name="Biên lai thu phí, lệ phí")).to_be_visible()
    expect(receipt).to_contain_text("Phạm Thị Lan")
    expect(receipt).to_contain_text(AMOUNT)
    expect(receipt.locator("figure.qr svg title")).to_have_text("Mã QR kiểm tra biên lai")
    check_axe(page, "the receipt")
    shot(page, "pay-4-receipt")
    # the receipt's QR leads to the public check, with the payer's name masked
    verify = receipt.locator("figure.qr a").get_attribute("href")
    page.goto(urlsplit(verify).path)
    expect(page.get_by_role("heading", level=1, name="Kiểm tra biên lai")).to_be_visible()
    expect(page.locator("main")).to_contain_text("P*** T** Lan")
    # the dossier's page now says it is paid; the receipt copy is in the wallet
    page.goto(f"/ho-so/{dossier_id}")
    expect(page.get_by_role("region", name="Phí, lệ phí")).to_contain_text("Đã thanh toán")
    page.goto("/vi-giay-to")
    expect(page.get_by_role("link", name=re.compile(r"^Biên lai BL\d{2}E-\d{7}"))).to_be_visible()


def test_status_page_updates_itself_when_the_callback_arrives(phone: Any, catalogue_db: str, live_server: str) -> None:
    page = phone
    dossier_id = filed_dossier(page, catalogue_db, "Võ Minh Tâm")
    to_sandbox(page, dossier_id)
    request = dict(parse_qsl(urlsplit(page.url).query))
    # the payer leaves the gateway's page open elsewhere and looks at the dossier's payment
    page.goto(f"/ho-so/{dossier_id}/thanh-toan")
    page.get_by_role("link", name="Tiếp tục giao dịch").click()
    status = page.get_by_role("status").filter(has_text=re.compile("Đang chờ thanh toán|Đã thanh toán"))
    expect(status).to_have_text("Đang chờ thanh toán")
    url_before = page.url
    # the gateway's server-to-server callback, signed like the sandbox signs it
    gw = SandboxGateway(load_payment_settings(os.environ).sandbox_secret)
    body = json.dumps({"ref": request["ref"], "outcome": "success", "amount": request["amount"], "txn": "SBXLIVE1",
                       "paid_at": datetime.now(UTC).strftime("%Y%m%d%H%M%S")}).encode()
    answer = page.request.post(f"{live_server}/api/v1/payments/callbacks/sandbox", data=body,
                               headers={"content-type": "application/json",
                                        "x-sandbox-signature": "sha256=" + gw.sign(body)})
    assert answer.ok and answer.json()["status"] == "success", answer.text()
    expect(status).to_have_text("Đã thanh toán", timeout=15_000)  # htmx polling, no reload
    assert page.url == url_before
    expect(page.get_by_role("link", name="Xem biên lai")).to_be_visible()
    shot(page, "pay-5-updated-by-polling")
