"""Identity pages as a browser without JavaScript uses them: forms, cookies, CSRF."""

from __future__ import annotations

import re

from api.cli import main
from tests.helpers import PASSWORD, csrf_of, new_phone, register_on_page, tax_code


def test_register_signs_in_with_httponly_cookies(page_client) -> None:  # type: ignore[no-untyped-def]
    _, r = register_on_page(page_client)
    assert r.headers["location"] == "/tai-khoan/xac-minh"
    cookies = r.headers.get_list("set-cookie")
    for name in ("motcua_at", "motcua_rt"):
        cookie = next(c for c in cookies if c.startswith(name + "="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/" in cookie
    account = page_client.get("/tai-khoan")
    assert account.status_code == 200 and "Lê Văn Cường" in account.text


def test_post_without_csrf_token_is_refused(page_client) -> None:  # type: ignore[no-untyped-def]
    page_client.get("/dang-ky")
    r = page_client.post("/dang-ky", data={"full_name": "Lê Văn Cường", "username": new_phone(),
                                           "password": PASSWORD})
    assert r.status_code == 403
    r2 = page_client.post("/dang-ky", data={"_csrf_token": "forged", "full_name": "Lê Văn Cường",
                                            "username": new_phone(), "password": PASSWORD})
    assert r2.status_code == 403


def test_register_errors_keep_input_and_say_why(page_client) -> None:  # type: ignore[no-untyped-def]
    page = page_client.get("/dang-ky")
    r = page_client.post("/dang-ky", data={"_csrf_token": csrf_of(page.text), "full_name": "Lê Văn Cường",
                                           "username": "0912", "password": PASSWORD})
    assert r.status_code == 400
    assert "Lê Văn Cường" in r.text and 'aria-invalid="true"' in r.text and "số điện thoại di động" in r.text
    assert PASSWORD not in r.text  # never echo a password


def test_login_logout_and_protected_pages(page_client) -> None:  # type: ignore[no-untyped-def]
    username, _ = register_on_page(page_client)
    page_client.cookies.clear()
    r = page_client.get("/tai-khoan", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/dang-nhap?next=")
    page = page_client.get("/dang-nhap?next=/to-chuc")
    bad = page_client.post("/dang-nhap", data={"_csrf_token": csrf_of(page.text), "username": username,
                                               "password": "sai mật khẩu rồi", "next": "/to-chuc"})
    assert bad.status_code == 401 and "không đúng" in bad.text
    ok = page_client.post("/dang-nhap", data={"_csrf_token": csrf_of(page.text), "username": username,
                                              "password": PASSWORD, "next": "/to-chuc"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/to-chuc"
    page = page_client.get("/dang-nhap")  # signed in now: the anonymous page's token is no longer good
    evil = page_client.post("/dang-nhap", data={"_csrf_token": csrf_of(page.text), "username": username,
                                                "password": PASSWORD, "next": "//evil.example"},
                            follow_redirects=False)
    assert evil.headers["location"] == "/tai-khoan"  # never an open redirect
    account = page_client.get("/tai-khoan")
    out = page_client.post("/dang-xuat", data={"_csrf_token": csrf_of(account.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert page_client.get("/tai-khoan", follow_redirects=False).status_code == 303


def test_expired_access_cookie_is_renewed_from_refresh_cookie(page_client) -> None:  # type: ignore[no-untyped-def]
    register_on_page(page_client)
    refresh = page_client.cookies.get("motcua_rt")
    page_client.cookies.delete("motcua_at")
    r = page_client.get("/tai-khoan")
    assert r.status_code == 200 and "Lê Văn Cường" in r.text
    assert page_client.cookies.get("motcua_rt") != refresh  # rotated


def test_end_other_session_and_step_up_required(page_client, client) -> None:  # type: ignore[no-untyped-def]
    username, _ = register_on_page(page_client)
    api = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}).json()
    page = page_client.get("/tai-khoan")
    assert page.text.count("/ket-thuc") == 2
    r = page_client.post("/tai-khoan/dang-xuat-thiet-bi-khac", data={"_csrf_token": csrf_of(page.text)})
    assert r.status_code == 403 and "passkey" in r.text.lower()  # step-up needed first
    other = re.findall(r'/tai-khoan/phien/([0-9a-f-]+)/ket-thuc', page.text)
    current = page_client.get("/api/v1/me/sessions", headers={"Authorization": f"Bearer {api['access_token']}"}).json()
    api_session = next(s["id"] for s in current if s["current"])
    assert api_session in other
    ended = page_client.post(f"/tai-khoan/phien/{api_session}/ket-thuc", data={"_csrf_token": csrf_of(page.text)},
                             follow_redirects=False)
    assert ended.status_code == 303
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {api['access_token']}"}).status_code == 401


def test_organisation_pages(page_client) -> None:  # type: ignore[no-untyped-def]
    register_on_page(page_client)
    page = page_client.get("/to-chuc")
    bad = page_client.post("/to-chuc", data={"_csrf_token": csrf_of(page.text), "name": "HTX Rau sạch",
                                             "tax_code": "123"})
    assert bad.status_code == 400 and "Mã số thuế" in bad.text
    ok = page_client.post("/to-chuc", data={"_csrf_token": csrf_of(page.text), "name": "HTX Rau sạch",
                                            "tax_code": tax_code()}, follow_redirects=False)
    assert ok.status_code == 303
    org_page = page_client.get(ok.headers["location"])
    assert "HTX Rau sạch" in org_page.text and "Mời thành viên" in org_page.text


def test_someone_elses_organisation_is_404(page_client, client) -> None:  # type: ignore[no-untyped-def]
    register_on_page(page_client)
    r = page_client.get("/to-chuc/999999")
    assert r.status_code == 404


def test_officer_is_sent_to_enrol_a_passkey(page_client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    username = new_phone()
    assert main(["create-user", "--role", "officer", "--username", username, "--password", PASSWORD,
                 "--unit", "000.00.12.H56", "--full-name", "Cán bộ Một Cửa"]) == 0
    page = page_client.get("/dang-nhap")
    r = page_client.post("/dang-nhap", data={"_csrf_token": csrf_of(page.text), "username": username,
                                             "password": PASSWORD, "next": "/tai-khoan"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tai-khoan?enrol=1"
    account = page_client.get("/tai-khoan")
    assert "phải đăng ký passkey" in account.text
    me = page_client.get("/api/v1/me", headers={"Authorization": "Bearer " + page_client.cookies["motcua_at"]})
    assert me.json()["passkey_required"] is True
    assert "receiver@000.00.12.H56" in me.json()["roles"]


def test_cli_create_user_and_unit(database_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["create-unit", "--code", "000.00.77.H56", "--name", "Sở Thử nghiệm", "--level", "province"]) == 0
    assert main(["create-user", "--role", "approver", "--username", new_phone(), "--password", PASSWORD,
                 "--unit", "000.00.77.H56"]) == 0
    assert main(["create-user", "--role", "officer", "--username", new_phone(), "--password", PASSWORD]) == 1
    assert main(["create-unit", "--code", "bad", "--name", "X", "--level", "province"]) == 1
    assert main(["create-user", "--role", "admin", "--username", new_phone(), "--password", "12345678"]) == 1
    out = capsys.readouterr()
    assert "ready" in out.out and "national format" in out.err
