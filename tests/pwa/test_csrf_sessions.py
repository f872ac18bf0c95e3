"""CSRF tokens tied to the session (issue 13, finding 14; ADR 0007): a token of one signed-in session is
refused in another, an anonymous token is refused once signed in, and sign-in brings a new token."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from api.app import create_app
from domain.db import Database
from tests.helpers import audit, csrf_of, register_on_page


def test_a_token_of_one_session_is_refused_in_another(page_client: Any, catalogue_db: str) -> None:
    register_on_page(page_client)
    mine = csrf_of(page_client.get("/tai-khoan").text)
    with TestClient(create_app(), base_url="http://localhost:8000") as other:
        register_on_page(other)
        refused = other.post("/dang-xuat", data={"_csrf_token": mine}, follow_redirects=False)
        assert refused.status_code == 403 and "phiên đăng nhập" in refused.text
        assert other.get("/tai-khoan", follow_redirects=False).status_code == 200  # still signed in
        me = other.get("/api/v1/me", headers={"Authorization": "Bearer " + other.cookies["motcua_at"]}).json()
        assert audit(Database(catalogue_db), "csrf.refused", me["id"])  # a signed-in caller's refusal is audited
        own = csrf_of(other.get("/tai-khoan").text)
        assert other.post("/dang-xuat", data={"_csrf_token": own}, follow_redirects=False).status_code == 303


def test_an_anonymous_token_is_refused_once_signed_in_and_sign_in_brings_a_new_one(page_client: Any) -> None:
    c = page_client
    anonymous = csrf_of(c.get("/dang-ky").text)
    register_on_page(c)
    signed_in = csrf_of(c.get("/tai-khoan").text)
    assert signed_in != anonymous
    refused = c.post("/dang-xuat", data={"_csrf_token": anonymous}, follow_redirects=False)
    assert refused.status_code == 403
    assert c.post("/dang-xuat", data={"_csrf_token": signed_in}, follow_redirects=False).status_code == 303
    # signed out: the session's token is no good either; the anonymous page has a new one
    assert c.post("/dang-nhap", data={"_csrf_token": signed_in, "username": "x", "password": "y"}).status_code == 403
    assert c.post("/dang-nhap", data={"_csrf_token": csrf_of(c.get("/dang-nhap").text), "username": "0912000000",
                                      "password": "y"}).status_code == 401


def test_a_token_without_its_cookie_or_forged_is_refused(page_client: Any) -> None:
    c = page_client
    token = csrf_of(c.get("/dang-nhap").text)
    c.cookies.clear()  # another browser: the token is bound to the first one's CSRF cookie
    assert c.post("/dang-nhap", data={"_csrf_token": token, "username": "x", "password": "y"}).status_code == 403
    token = csrf_of(c.get("/dang-nhap").text)
    nonce, mac = token.split(".")
    forged = f"{nonce}.{mac[::-1]}"
    assert c.post("/dang-nhap", data={"_csrf_token": forged, "username": "x", "password": "y"}).status_code == 403
    assert c.post("/dang-nhap", headers={"x-csrftoken": token}, data={"username": "0912000000",
                                                                       "password": "y"}).status_code == 401
