"""The invitation pages (finding 5): "Nhận lời mời" sends a code to the invited phone or e-mail, a form
takes it, and only the right code makes the person a member; every refusal is a Vietnamese message."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from domain.accounts.models import Membership
from domain.db import Database
from tests.auth.test_invitations import invite, organisation, other
from tests.helpers import PASSWORD, csrf_of, login, new_phone, register_on_page


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


def members(db: Database, org_id: int) -> list[int]:
    return db.run(lambda s: sorted(s.scalars(select(Membership.user_id).where(Membership.organisation_id == org_id))))


def test_accepting_on_the_page_needs_the_code(page_client: Any, client: Any, db: Database,
                                              caplog: pytest.LogCaptureFixture) -> None:
    owner_name = new_phone()
    client.post("/api/v1/auth/register", json={"full_name": "Chủ Doanh Nghiệp", "username": owner_name,
                                               "password": PASSWORD})
    owner = login(client, owner_name)
    username, _ = register_on_page(page_client)
    org_id = organisation(client, owner, "HTX Rau sạch Đà Lạt")
    inv_id = invite(client, owner, org_id, username, role="owner")
    before = members(db, org_id)
    account = page_client.get("/tai-khoan")
    assert f"/tai-khoan/loi-moi/{inv_id}/ma" in account.text and "HTX Rau sạch Đà Lạt" in account.text
    token = csrf_of(account.text)
    no_code = page_client.post(f"/tai-khoan/loi-moi/{inv_id}/nhan", data={"_csrf_token": token})
    assert no_code.status_code == 400 and "Cần nhập mã xác nhận" in no_code.text
    with caplog.at_level(logging.WARNING, logger="motcua.codes"):
        sent = page_client.post(f"/tai-khoan/loi-moi/{inv_id}/ma", data={"_csrf_token": token})
    assert sent.status_code == 200 and "Chúng tôi đã gửi mã 6 số" in sent.text
    assert f'action="/tai-khoan/loi-moi/{inv_id}/nhan"' in sent.text and 'name="code"' in sent.text
    code = caplog.records[-1].getMessage().rsplit(": ", 1)[1]
    assert code not in sent.text  # the code goes to the phone, never into the page
    wrong = page_client.post(f"/tai-khoan/loi-moi/{inv_id}/nhan", data={"_csrf_token": token, "code": other(code)})
    assert wrong.status_code == 400 and "Mã không đúng." in wrong.text and 'aria-invalid="true"' in wrong.text
    assert members(db, org_id) == before
    ok = page_client.post(f"/tai-khoan/loi-moi/{inv_id}/nhan", data={"_csrf_token": token, "code": code},
                          follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/tai-khoan?ok=joined"
    assert len(members(db, org_id)) == len(before) + 1
    again = page_client.post(f"/tai-khoan/loi-moi/{inv_id}/ma", data={"_csrf_token": token})
    assert again.status_code == 404 and "Không tìm thấy lời mời." in again.text


def test_a_code_to_an_email_invitation_says_email(page_client: Any, client: Any,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    owner_name = new_phone()
    client.post("/api/v1/auth/register", json={"full_name": "Chủ Doanh Nghiệp", "username": owner_name,
                                               "password": PASSWORD})
    owner = login(client, owner_name)
    email = f"nhanvien.{new_phone()}@example.vn"
    register_on_page(page_client, email)
    inv_id = invite(client, owner, organisation(client, owner), email, role="staff")
    token = csrf_of(page_client.get("/tai-khoan").text)
    with caplog.at_level(logging.WARNING, logger="motcua.codes"):
        sent = page_client.post(f"/tai-khoan/loi-moi/{inv_id}/ma", data={"_csrf_token": token})
    assert sent.status_code == 200 and "xác nhận email được mời" in sent.text and email in sent.text
    assert f"via email ({email})" in caplog.records[-1].getMessage()
