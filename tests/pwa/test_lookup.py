"""The lookup page and the receipt (security review finding 11): the receipt prints the check value and its
QR link carries it; the page asks for it and shows the procedure only with it."""

from __future__ import annotations

import random
import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from api.web import lookup as web_lookup
from auth import ratelimit
from auth.accounts import find_user
from domain.db import Database
from domain.dossiers import filing as service
from domain.dossiers.models import Dossier
from tests.factories import submitted
from tests.helpers import register_on_page, settings_now


def my_filed_dossier(c: Any, catalogue_db: str) -> tuple[int, str]:
    username, _ = register_on_page(c)
    db = Database(catalogue_db)
    user = db.run(find_user, username)
    assert user is not None
    dossier_id = submitted(db, int(user.id))
    code = db.run(lambda s: s.get(Dossier, dossier_id).code)
    assert isinstance(code, str)
    return dossier_id, code


def test_the_receipt_prints_the_check_value_and_its_qr_link_carries_it(page_client: Any, catalogue_db: str) -> None:
    dossier_id, code = my_filed_dossier(page_client, catalogue_db)
    check = service.check_value(settings_now().web.secret_key, code)
    r = page_client.get(f"/ho-so/{dossier_id}/bien-nhan")
    assert r.status_code == 200, r.text
    assert "Mã kiểm tra" in r.text and f'<b class="check-value">{check}</b>' in r.text
    link = re.search(r'<a href="([^"]*/tra-cuu\?[^"]*)"', r.text)
    assert link, "no lookup link on the receipt"
    query = parse_qs(urlsplit(unescape(link.group(1))).query)
    assert query == {"ma": [code], "kiem-tra": [check]}
    # the link opens the whole answer, to anyone (signed out here), and no cache keeps it
    page_client.cookies.clear()
    page = page_client.get(f"/tra-cuu?{urlsplit(unescape(link.group(1))).query}")
    assert page.status_code == 200 and "Đăng ký thường trú" in page.text and "Nơi tiếp nhận" in page.text
    assert "no-store" in page.headers["cache-control"]  # the detailed answer is kept by no cache


def test_the_page_shows_status_and_date_only_by_the_code(page_client: Any, catalogue_db: str) -> None:
    _, code = my_filed_dossier(page_client, catalogue_db)
    r = page_client.get("/tra-cuu", params={"ma": code})
    assert r.status_code == 200
    assert 'name="kiem-tra"' in r.text and "Đã nộp, chờ tiếp nhận" in r.text
    assert "Đăng ký thường trú" not in r.text and "Nơi tiếp nhận" not in r.text
    wrong = page_client.get("/tra-cuu", params={"ma": code, "kiem-tra": "ABCD2345"})
    assert wrong.status_code == 404 and "mã kiểm tra" in wrong.text and "Đăng ký thường trú" not in wrong.text


def test_a_locked_code_is_a_vietnamese_429_page(page_client: Any, catalogue_db: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _, code = my_filed_dossier(page_client, catalogue_db)
    address = [""]
    monkeypatch.setattr(web_lookup, "client_ip", lambda request: address[0])
    for i in range(ratelimit.LOOKUP_CHECK_CODE.max_count):
        address[0] = f"192.0.2.{random.randrange(1, 250)}"
        assert page_client.get("/tra-cuu", params={"ma": code, "kiem-tra": f"ABCD234{i + 2}"}).status_code == 404
    r = page_client.get("/tra-cuu", params={"ma": code, "kiem-tra": "ABCD2345"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "tạm thời bị khoá" in r.text and 'role="alert"' in r.text
