"""Controls docs/security.md names for ASVS 5.0 that no other test showed: headers on every answer, HSTS in
production, escaping, the API's indifference to cookies, unknown fields, what the server refuses to serve,
the last-resort error answer, disabling an account, the demo accounts in production, the password fields."""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from api import cli
from api.app import create_app
from api.web.errors import error_handlers
from auth.accounts import set_disabled
from domain.db import Database
from tests import factories
from tests.helpers import (
    PASSWORD,
    bearer,
    jpeg,
    new_phone,
    register_on_page,
    settings_in_force,
    settings_now,
    signed_in,
)
from tests.pwa.test_cookies import production_settings

PROBLEM = "application/problem+json"


@pytest.fixture
def production_client(catalogue_db: str) -> Iterator[Any]:
    with settings_in_force(settings_now()), TestClient(create_app(production_settings()),
                                                           base_url="https://localhost:8000") as c:
        yield c


def test_a_page_escapes_what_the_user_typed(client: Any) -> None:
    r = client.get("/thu-tuc", params={"q": '"><script>alert(1)</script>'})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;alert(1)" in r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(("path", "kind"), [("/", "text/html"), ("/thu-tuc/1.001193", "text/html"),
                                            ("/static/app.css", "text/css"), ("/sw.js", "text/javascript"),
                                            ("/khong-co-trang-nay", "text/html")])
def test_text_answers_name_their_charset_once(client: Any, path: str, kind: str) -> None:
    assert client.get(path).headers["content-type"] == f"{kind}; charset=utf-8", path


def test_the_pages_content_security_policy(client: Any) -> None:
    policy = client.get("/").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'" and directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize("path", ["/", "/static/app.css", "/api/v1/procedures", "/khong-co-trang-nay",
                                  "/api/v1/khong-co"])
def test_every_answer_has_nosniff_and_a_referrer_policy(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff", path
    assert r.headers["referrer-policy"] == "same-origin", path


def test_production_sends_hsts_for_a_year_with_subdomains(production_client: Any, client: Any) -> None:
    for path in ("/", "/api/v1/procedures", "/static/app.css"):
        assert production_client.get(path).headers["strict-transport-security"] == \
            "max-age=31536000; includeSubDomains", path
    assert "strict-transport-security" not in client.get("/").headers  # http://localhost in dev and test


def test_the_api_ignores_the_pages_cookies(page_client: Any) -> None:
    """A page session (cookies) is no credential on the JSON API: a cross-site form cannot use it there."""
    register_on_page(page_client)
    assert page_client.get("/tai-khoan", follow_redirects=False).status_code == 200
    r = page_client.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)


def test_a_field_the_action_does_not_take_is_refused(client: Any) -> None:
    body = {"full_name": "Trần Thị Bình", "username": new_phone(), "password": PASSWORD, "kind": "admin"}
    r = client.post("/api/v1/auth/register", json=body)
    assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize("path", ["/.git/config", "/.git/HEAD", "/static/", "/static/../README.md",
                                  "/static/%2e%2e/pyproject.toml", "/static/.gitignore", "/pyproject.toml"])
def test_no_repository_file_and_no_listing_is_served(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code)
    assert "[project]" not in r.text and "[core]" not in r.text


def test_trace_is_not_supported(client: Any) -> None:
    assert client.request("TRACE", "/").status_code == 405
    assert client.request("TRACE", "/api/v1/procedures").status_code == 405


def test_debug_is_off() -> None:
    assert create_app().debug is False


def test_an_unexpected_error_is_logged_and_answered_generically(caplog: pytest.LogCaptureFixture) -> None:
    """The last-resort handler of the error map: the trace goes to the log, the caller gets a plain message."""

    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret detail: postgresql://motcua:hunter2@db/motcua")

    logger = logging.getLogger("motcua")
    logger.addHandler(caplog.handler)  # Litestar's logging setup keeps the app's logger off the root
    try:
        with TestClient(Litestar([boom], exception_handlers=error_handlers())) as c:
            r = c.get("/boom")
    finally:
        logger.removeHandler(caplog.handler)
    assert r.status_code == 500 and r.headers["content-type"].startswith(PROBLEM)
    assert "hunter2" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    assert r.json()["detail"] == "Hệ thống gặp sự cố và đã ghi lại. Vui lòng thử lại sau."
    assert any("unhandled error on GET /boom" in m.getMessage() and m.exc_info for m in caplog.records)


def test_disabling_an_account_ends_its_sessions(client: Any, database_url: str) -> None:
    db = Database(database_url)
    person = factories.citizen(db)
    assert client.get("/api/v1/me", headers=person.headers).status_code == 200
    db.run(set_disabled, person.id, True, actor=person.id)
    assert client.get("/api/v1/me", headers=person.headers).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": person.tokens["refresh_token"]}).status_code \
        == 401


def test_production_never_gets_the_demo_accounts(monkeypatch: pytest.MonkeyPatch, database_url: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_settings", production_settings())
    made: list[Any] = []
    monkeypatch.setattr(cli, "cmd_create_user", made.append)
    assert cli.cmd_demo_users(argparse.Namespace()) == 2
    assert made == [] and "never created in production" in capsys.readouterr().err


def test_the_password_fields_are_masked_and_managers_welcome(client: Any) -> None:
    for path, autocomplete in (("/dang-nhap", "current-password"), ("/dang-ky", "new-password")):
        html = client.get(path).text
        field = re.search(r'<input id="f-password"[^>]*>', html)
        assert field, path
        assert 'type="password"' in field.group(0) and f'autocomplete="{autocomplete}"' in field.group(0)
        assert "onpaste" not in html and "maxlength" not in field.group(0)


def test_a_documents_file_name_is_encoded_in_its_header(client: Any, procedure: str) -> None:
    _, tokens = signed_in(client)
    d = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    slot = client.get(f"/api/v1/procedures/{procedure}/form").json()["documents"][0]["slot"]
    hostile = 'giấy "tờ"; filename=evil.html <b>.jpg'
    doc = client.post(f"/api/v1/dossiers/{d['id']}/documents", headers=bearer(tokens), data={"slot": slot},
                      files={"file": (hostile, jpeg(), "image/jpeg")}).json()
    content = client.get(f"/api/v1/documents/{doc['id']}/content", headers=bearer(tokens))
    disposition = content.headers["content-disposition"]
    assert re.fullmatch(r"inline; filename\*=UTF-8''[A-Za-z0-9%._~-]+", disposition), disposition
    assert disposition.endswith(".jpg") and content.headers["content-type"] == "image/jpeg"
