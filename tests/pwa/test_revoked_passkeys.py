"""Security review finding 12 on the account page: a removed passkey is shown as revoked, not as active."""

from __future__ import annotations

import re
from typing import Any

from domain.accounts.models import Passkey
from domain.db import Database
from tests.helpers import PASSWORD, page_csrf, page_post, signed_in
from tests.softauthn import SoftAuthenticator


def test_the_account_page_lists_a_removed_passkey_as_revoked(page_client: Any, client: Any,
                                                            database_url: str) -> None:
    username, _ = signed_in(client)
    token = page_csrf(page_client)
    assert page_client.post("/dang-nhap", data={"_csrf_token": token, "username": username, "password": PASSWORD},
                            follow_redirects=False).status_code == 303
    auth = SoftAuthenticator()
    token = page_csrf(page_client, "/tai-khoan")
    options = page_post(page_client, "/tai-khoan/passkeys/options", token)
    added = page_post(page_client, "/tai-khoan/passkeys/verify?name=Khoá cũ", token, auth.create(options.json()))
    assert added.status_code == 200, added.text
    passkey_id = added.json()["id"]
    options = page_post(page_client, "/tai-khoan/xac-thuc-lai/options", token)
    assert page_post(page_client, "/tai-khoan/xac-thuc-lai/verify", token, auth.get(options.json())).status_code == 200
    page = page_client.get("/tai-khoan").text
    assert f"/tai-khoan/passkeys/{passkey_id}/xoa" in page and "Passkey đã thu hồi" not in page

    removed = page_client.post(f"/tai-khoan/passkeys/{passkey_id}/xoa", data={"_csrf_token": token},
                               follow_redirects=False)
    assert removed.status_code == 303, removed.text
    page = page_client.get("/tai-khoan").text
    assert f"/tai-khoan/passkeys/{passkey_id}/xoa" not in page  # no longer managed as an active passkey
    revoked = re.search(r"<ul[^>]*data-revoked-passkeys>(.*?)</ul>", page, re.S)
    assert revoked and "Khoá cũ" in revoked.group(1) and "thu hồi ngày" in revoked.group(1)
    assert "Chưa có passkey nào." in page
    row = Database(database_url).read_sync(lambda s: s.get(Passkey, passkey_id))
    assert row is not None and row.revoked_at is not None and row.public_key  # kept for ever
