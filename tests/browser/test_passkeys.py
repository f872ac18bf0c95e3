"""Passkeys in a real Chromium on a 390×844 phone, with a CDP virtual authenticator (ctap2, internal,
resident key, user verification): register, add a passkey, sign out, sign in with the passkey alone (no
username typed), step up before signing the other devices out, and the refusals (no step-up, no passkey on
the device, a passkey the site no longer knows).

Chromium adds a key of its own to ``clientDataJSON`` ("other_keys_can_be_added_here"): it is decoded and
parsed as JSON here, never compared as text.

Chromium's virtual authenticator answers a conditional (autofill) request at once, as if the person had
picked the passkey in the username field's suggestions. The button journey therefore runs in a context
where ``isConditionalMediationAvailable()`` answers false (as in a browser without passkey autofill), and
the autofill sign-in has a test of its own.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    NO_AUTOFILL,
    PASSWORD,
    Authenticator,
    b64url,
    check_axe,
    client_data,
    label,
    register,
    unique_phone,
    watch_errors,
)

pytestmark = pytest.mark.browser

STEP_UP_REQUIRED = "Vui lòng xác thực lại bằng khóa truy cập để tiếp tục (step-up required)."
REVOKED = "Khóa truy cập này đã bị thu hồi, không dùng được nữa (revoked passkey)."
# NotAllowedError: WebAuthn does not tell the page why (cancelled, or no passkey on the device: privacy)
NO_PASSKEY_ON_DEVICE = "Đã huỷ."


def check_client_data(credential_json: dict[str, Any], kind: str, origin: str) -> None:
    data = client_data(credential_json)
    assert data["type"] == kind
    assert data["origin"] == origin
    assert data.get("crossOrigin", False) is False and "topOrigin" not in data
    assert len(b64url(data["challenge"])) == 64  # 32 random bytes || SHA-256(binding)


def status(page: Any) -> Any:
    return page.locator("[data-passkey-status]")


def sessions(page: Any) -> Any:
    return page.get_by_role("region", name="Phiên đăng nhập").locator("li")


def sign_in_with_password(page: Any, username: str) -> None:
    page.goto("/dang-nhap")
    label(page, "Số điện thoại hoặc email").fill(username)
    label(page, "Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tai-khoan$"))


def sign_out(page: Any) -> None:
    page.goto("/tai-khoan")
    page.get_by_role("button", name="Đăng xuất", exact=True).last.click()  # the page's own, after the list
    expect(page).to_have_url(re.compile(r"/$"))
    # not through /tai-khoan: its redirect lands on the sign-in page, where passkey autofill may sign in again
    expect(page.get_by_role("navigation", name="Tài khoản và ngôn ngữ")
           .get_by_role("link", name="Đăng nhập", exact=True)).to_be_visible()


def expect_signed_out(page: Any) -> None:
    """The account page sends to the sign-in page (only where autofill cannot sign in by itself)."""
    page.goto("/tai-khoan")
    expect(page).to_have_url(re.compile(r"/dang-nhap\?next=(%2F|/)tai-khoan$"))


def add_passkey(page: Any, origin: str) -> dict[str, Any]:
    """Press "Thêm passkey" on the account page; the RegistrationResponseJSON the page sent."""
    page.goto("/tai-khoan")
    expect(page.get_by_text("Chưa có passkey nào.")).to_be_visible()
    with page.expect_request(re.compile(r"/tai-khoan/passkeys/verify(\?|$)")) as sent:
        page.get_by_role("button", name="Thêm passkey", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tai-khoan\?ok=passkey$"))
    expect(page.get_by_role("status").filter(has_text="Đã thêm passkey.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Xoá passkey "))).to_have_count(1)
    expect(page.get_by_text("Chưa có passkey nào.")).to_have_count(0)
    credential: dict[str, Any] = sent.value.post_data_json
    check_client_data(credential, "webauthn.create", origin)
    return credential


def passkey_sign_in(page: Any, origin: str) -> dict[str, Any]:
    """Press "Đăng nhập bằng passkey" on the sign-in page, nothing typed; the assertion the page sent."""
    page.goto("/dang-nhap")
    expect(label(page, "Số điện thoại hoặc email")).to_have_value("")
    with page.expect_request(re.compile(r"/dang-nhap/passkey/verify(\?|$)")) as sent:
        page.get_by_role("button", name="Đăng nhập bằng passkey", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tai-khoan$"))
    expect(page.get_by_role("heading", level=1, name="Tài khoản", exact=True)).to_be_visible()
    assertion: dict[str, Any] = sent.value.post_data_json
    check_client_data(assertion, "webauthn.get", origin)
    return assertion


def username_shown(page: Any) -> str:
    """The account's user name as the account page shows it (phone numbers are stored as +84…)."""
    return str(page.locator("dl.facts dt:text-is('Tên đăng nhập') + dd").inner_text()).strip()


def test_register_passkey_sign_in_and_step_up(new_context: Any, live_server: str) -> None:
    origin = live_server
    ctx = new_context()
    ctx.add_init_script(NO_AUTOFILL)
    page = ctx.new_page()
    errors = watch_errors(page)
    authenticator = Authenticator(page)

    # register with a password, then add a passkey on the account page
    phone_number = unique_phone()
    register(page, "Trần Thị Khoá", phone_number)
    credential = add_passkey(page, origin)
    username = username_shown(page)
    stored = authenticator.credentials()
    assert len(stored) == 1, stored
    assert stored[0]["isResidentCredential"] is True
    assert stored[0]["rpId"] == urlsplit(origin).hostname == "localhost"
    assert stored[0]["userName"] == username
    assert b64url(credential["rawId"]) == base64.b64decode(stored[0]["credentialId"])
    check_axe(page, "the account page with a passkey")

    # sign out, then sign in with the passkey alone
    sign_out(page)
    assertion = passkey_sign_in(page, origin)
    assert assertion["id"] == credential["id"]
    assert b64url(assertion["response"]["userHandle"]) == base64.b64decode(stored[0]["userHandle"])
    expect(sessions(page)).to_have_count(1)
    expect(sessions(page).first).to_contain_text(re.compile(r"Thiết bị này\s*· passkey"))
    assert authenticator.credentials()[0]["signCount"] > stored[0]["signCount"]

    # a second device signs in with the password: ending the other sessions needs a step-up first
    other_ctx = new_context()
    other_ctx.add_init_script(NO_AUTOFILL)  # it gets the passkey too, below
    other = other_ctx.new_page()
    other_errors = watch_errors(other)
    sign_in_with_password(other, phone_number)
    expect(sessions(other)).to_have_count(2)
    expect(sessions(other).filter(has_text="Thiết bị này")).to_contain_text("mật khẩu")
    with other.expect_response(re.compile(r"/tai-khoan/dang-xuat-thiet-bi-khac$")) as answer:
        other.get_by_role("button", name="Đăng xuất khỏi mọi thiết bị khác", exact=True).click()
    assert answer.value.status == 403
    expect(other.get_by_role("alert")).to_have_text(STEP_UP_REQUIRED)
    expect(sessions(other)).to_have_count(2)
    page.reload()
    expect(page).to_have_url(re.compile(r"/tai-khoan$"))  # the passkey session is still signed in
    expect(sessions(page)).to_have_count(2)
    check_axe(page, "the account page with two sessions")

    # the passkey device steps up, and the form it sits in goes on to sign the other device out
    with page.expect_response(re.compile(r"/tai-khoan/xac-thuc-lai/verify$")) as answer:
        page.get_by_role("button", name="Xác thực lại bằng passkey", exact=True).click()
    assert answer.value.ok  # (its body is gone: the page has moved on to the sign-out)
    expect(page).to_have_url(re.compile(r"/tai-khoan\?ok=others$"))
    expect(page.get_by_role("status").filter(has_text="Đã đăng xuất khỏi các thiết bị khác.")).to_be_visible()
    expect(sessions(page)).to_have_count(1)
    expect_signed_out(other)  # on its next page load

    # the same passkey, synced to the second device: a password session is refused, steps up, then succeeds
    sign_in_with_password(other, phone_number)
    other_authenticator = Authenticator(other)
    other_authenticator.add(authenticator.credentials()[0])
    other.get_by_role("button", name="Đăng xuất khỏi mọi thiết bị khác", exact=True).click()
    expect(other.get_by_role("alert")).to_have_text(STEP_UP_REQUIRED)
    other.get_by_role("button", name="Xác thực lại bằng passkey", exact=True).click()
    expect(other.get_by_role("status").filter(has_text="Đã đăng xuất khỏi các thiết bị khác.")).to_be_visible()
    expect_signed_out(page)

    # no passkey left on the device: the browser's refusal in the status line under the button, still signed out
    authenticator.clear()
    assert authenticator.credentials() == []
    page.goto("/dang-nhap")
    page.get_by_role("button", name="Đăng nhập bằng passkey", exact=True).click()
    expect(status(page)).to_have_text(NO_PASSKEY_ON_DEVICE)
    expect(page).to_have_url(re.compile(r"/dang-nhap$"))
    expect(page.get_by_role("button", name="Đăng nhập bằng passkey", exact=True)).to_be_enabled()
    check_axe(page, "the sign-in page after a refused passkey")
    expect_signed_out(page)
    assert errors == [] and other_errors == []


def test_autofill_sign_in_and_a_passkey_the_site_forgot(new_context: Any, live_server: str) -> None:
    """Passkey autofill (conditional mediation): on the sign-in page, picking the passkey signs in; a passkey
    removed from the account (revoked) but still on the device is refused with the server's message."""
    page = new_context().new_page()
    errors = watch_errors(page)
    Authenticator(page)
    register(page, "Lê Văn Tự Điền", unique_phone())
    add_passkey(page, live_server)
    sign_out(page)

    with page.expect_request(re.compile(r"/dang-nhap/passkey/verify(\?|$)")) as sent:
        # the virtual authenticator "picks" the passkey offered in the username field, maybe before "load"
        page.goto("/dang-nhap", wait_until="commit")
    expect(page).to_have_url(re.compile(r"/tai-khoan$"))
    check_client_data(sent.value.post_data_json, "webauthn.get", live_server)
    expect(sessions(page).first).to_contain_text(re.compile(r"Thiết bị này\s*· passkey"))

    page.get_by_role("button", name=re.compile(r"^Xoá passkey ")).click()
    expect(page.get_by_role("status").filter(has_text="Đã xoá passkey.")).to_be_visible()
    sign_out(page)
    with page.expect_response(re.compile(r"/dang-nhap/passkey/verify(\?|$)")) as answer:
        page.goto("/dang-nhap")
    assert answer.value.status == 400
    expect(status(page)).to_have_text(REVOKED)  # removed = revoked, its key kept (finding 12)
    expect(page).to_have_url(re.compile(r"/dang-nhap$"))
    page.goto("/")
    expect(page.get_by_role("navigation", name="Tài khoản và ngôn ngữ")
           .get_by_role("link", name="Đăng nhập", exact=True)).to_be_visible()
    assert errors == []


@pytest.mark.parametrize("path", ["/dang-nhap", "/dang-ky"])
def test_axe_signed_out(phone: Any, path: str) -> None:
    phone.goto(path)
    expect(phone.locator("main h1")).to_be_visible()
    if path == "/dang-nhap":  # the passkey button is shown (the script ran) before axe looks
        expect(phone.get_by_role("button", name="Đăng nhập bằng passkey", exact=True)).to_be_visible()
    check_axe(phone, path)
