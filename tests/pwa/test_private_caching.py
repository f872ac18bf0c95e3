"""Security review finding 9: private answers are never stored — not by the HTTP cache, not by the
service worker — and signing out clears what the browser kept."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    bearer,
    csrf_of,
    jpeg,
    procedure,  # noqa: F401  (the fixture)
    register_on_page,
    signed_in,
)

SW = Path(__file__).resolve().parents[2] / "pwa" / "static" / "sw.js"


def test_signed_in_pages_and_api_answers_are_no_store(page_client: Any, client: Any) -> None:
    register_on_page(page_client)
    for path in ("/tai-khoan", "/ho-so", "/thong-bao", "/vi-giay-to", "/to-chuc", "/"):
        r = page_client.get(path)
        assert r.status_code == 200, path
        assert "no-store" in r.headers["cache-control"], path
    _, tokens = signed_in(client)
    client.cookies.clear()
    for path in ("/api/v1/me", "/api/v1/dossiers"):
        r = client.get(path, headers=bearer(tokens))
        assert r.status_code == 200 and "no-store" in r.headers["cache-control"], path


def test_anonymous_public_pages_may_be_revalidated(client: Any) -> None:
    client.cookies.clear()
    for path in ("/", "/thu-tuc", "/linh-vuc"):
        assert client.get(path).headers["cache-control"] == "no-cache", path


def test_documents_are_private_no_store(client: Any, procedure: str) -> None:  # noqa: F811
    _, owner = signed_in(client)
    d = client.post("/api/v1/dossiers", headers=bearer(owner), json={"procedure_code": procedure}).json()
    slot = client.get(f"/api/v1/procedures/{procedure}/form").json()["documents"][0]["slot"]
    doc = client.post(f"/api/v1/dossiers/{d['id']}/documents", headers=bearer(owner), data={"slot": slot},
                      files={"file": ("cccd.jpg", jpeg(), "image/jpeg")}).json()
    r = client.get(f"/api/v1/documents/{doc['id']}/content", headers=bearer(owner))
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"


def test_sign_out_clears_site_data(page_client: Any, client: Any) -> None:
    register_on_page(page_client)
    account = page_client.get("/tai-khoan")
    out = page_client.post("/dang-xuat", data={"_csrf_token": csrf_of(account.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["clear-site-data"] == '"cache", "storage"'
    _, tokens = signed_in(client)
    client.cookies.clear()
    r = client.post("/api/v1/auth/logout", headers=bearer(tokens))
    assert r.status_code == 204 and r.headers["clear-site-data"] == '"cache", "storage"'
    spec = client.get("/schema/openapi.json").json()
    assert "Clear-Site-Data" in spec["paths"]["/api/v1/auth/logout"]["post"]["responses"]["204"]["headers"]


def _sw_regex(name: str) -> re.Pattern[str]:
    match = re.search(rf"const {name} = /(.+)/;", SW.read_text(encoding="utf-8"))
    assert match, name
    return re.compile(match.group(1).replace("\\/", "/"))


@pytest.mark.parametrize(("path", "kept"), [
    ("/", True), ("/offline", True), ("/thu-tuc", True), ("/thu-tuc/1.000894", True), ("/linh-vuc/ho-tich", True),
    ("/thong-ke", True), ("/static/app.css", True), ("/manifest.webmanifest", True), ("/favicon.ico", True),
    ("/api/v1/procedures", True), ("/api/v1/fields/x", True),
    ("/thong-bao", False), ("/thanh-toan/12", False), ("/vi-giay-to", False), ("/tai-lieu/5", False),
    ("/to-chuc/3", False), ("/tai-khoan", False), ("/ho-so/1", False), ("/can-bo", False), ("/tra-cuu", False),
    ("/bien-lai/abc", False), ("/xac-minh/abc", False), ("/api/v1/me", False), ("/thu-tucx", False),
    ("/dang-nhap", False),
])
def test_the_service_worker_keeps_public_paths_only(path: str, kept: bool) -> None:
    public, api = _sw_regex("PUBLIC"), _sw_regex("API_SWR")
    assert bool(public.search(path) or api.search(path)) is kept
    assert "const storable = (p) => PUBLIC.test(p) || API_SWR.test(p);" in SW.read_text(encoding="utf-8")
