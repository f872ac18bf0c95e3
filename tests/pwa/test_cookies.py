"""Every cookie the app sets: `__Host-` prefixed with Secure cookies (production), plain names in dev (issue 13,
finding 14)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from domain.settings import Settings
from tests.helpers import csrf_of, register_on_page, settings_in_force, settings_now


def production_settings() -> Settings:
    """The test settings as a production deployment has them: env production, an https public address."""
    s = settings_now()
    return dataclasses.replace(s, web=dataclasses.replace(s.web, env="production", public_url="https://localhost:8000"))


@pytest.fixture
def production_client(catalogue_db: str) -> Iterator[Any]:
    with settings_in_force(settings_now()), TestClient(create_app(production_settings()),
                                                           base_url="https://localhost:8000") as c:
        yield c


def set_cookies(response: Any) -> dict[str, str]:
    """The Set-Cookie headers of a response, by cookie name."""
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def assert_host_cookie(header: str) -> None:
    attributes = [a.strip().lower() for a in header.split(";")[1:]]
    assert "secure" in attributes and "path=/" in attributes, header
    assert not any(a.startswith("domain") for a in attributes), header


def test_production_cookies_are_host_prefixed(production_client: Any) -> None:
    c = production_client
    page = c.get("/dang-ky")
    first = set_cookies(page)
    assert set(first) == {"__Host-motcua_csrf"}, first
    _, r = register_on_page(c)
    signed = set_cookies(r)
    assert {"__Host-motcua_at", "__Host-motcua_rt"} <= set(signed), signed
    assert not [name for name in signed if not name.startswith("__Host-")], signed
    for header in [*first.values(), *signed.values()]:
        assert_host_cookie(header)
        assert "httponly" in header.lower()
    account = c.get("/tai-khoan", follow_redirects=False)  # the prefixed cookies are the session
    assert account.status_code == 200 and "Lê Văn Cường" in account.text
    english = c.get("/tai-khoan?lang=en")
    assert list(set_cookies(english)) == ["__Host-lang"]
    assert_host_cookie(set_cookies(english)["__Host-lang"])
    out = c.post("/dang-xuat", data={"_csrf_token": csrf_of(account.text)}, follow_redirects=False)
    cleared = set_cookies(out)
    assert {"__Host-motcua_at", "__Host-motcua_rt"} <= set(cleared)
    assert all(name.startswith("__Host-") for name in cleared), cleared


def test_plain_cookie_names_are_refused_in_production(production_client: Any) -> None:
    """A cookie without the prefix (planted by a sibling subdomain) is not the session."""
    c = production_client
    register_on_page(c)
    at, rt = c.cookies.get("__Host-motcua_at"), c.cookies.get("__Host-motcua_rt")
    c.cookies.clear()
    c.cookies.set("motcua_at", at)
    c.cookies.set("motcua_rt", rt)
    r = c.get("/tai-khoan", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/dang-nhap")


def test_development_keeps_plain_names(page_client: Any) -> None:
    assert not settings_now().secure_cookies
    page = page_client.get("/dang-ky")
    assert set(set_cookies(page)) == {"motcua_csrf"}
    _, r = register_on_page(page_client)
    signed = set_cookies(r)
    assert {"motcua_at", "motcua_rt"} <= set(signed)
    assert all("secure" not in h.lower().split("; ") for h in signed.values())
    assert list(set_cookies(page_client.get("/?lang=en"))) == ["lang"]
