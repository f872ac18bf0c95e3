"""Uploads are checked from the headers before the body is read (issue 13, finding 15): the CSRF token and
the caller, a too large Content-Length, the account's daily quota; the public verification page has its own
size limit and a per-address limit. A refused request leaves nothing on disk or in storage."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from auth.ratelimit import VERIFY_CLIENT, reset
from domain.db import Database
from domain.settings import MB, UploadSettings, load_settings
from tests.helpers import audit, csrf_of, jpeg, register_on_page, settings_in_force, settings_now

BOUNDARY = "motcua-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(fields: dict[str, str], file: bytes, name: str = "a.jpg") -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + file + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class Body:
    """A request body that records whether the app read any of it."""

    def __init__(self, content: bytes) -> None:
        self.content, self.consumed = content, False

    def __iter__(self) -> Iterator[bytes]:
        self.consumed = True
        yield self.content


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if p.is_file()} if path.exists() else set()


def disk() -> set[Path]:
    """Every file in the scratch directory and the local storage."""
    s = settings_now()
    return files_under(s.web.var_dir / "uploads") | files_under(Path(s.storage.local_dir))


def send(c: Any, url: str, body: bytes, *, length: int | None = None,
         headers: dict[str, str] | None = None) -> tuple[Any, Body]:
    stream = Body(body)
    r = c.post(url, content=stream, headers={"content-type": MULTIPART, "content-length": str(length or len(body)),
                                             **(headers or {})}, follow_redirects=False)
    return r, stream


def draft_of(c: Any) -> tuple[int, str, str]:
    """A signed-in citizen's new draft, the upload form's CSRF token (in its action, as the page has it) and
    the form's slot."""
    detail = c.get("/thu-tuc/1.004194")
    start = c.post("/ho-so", data={"_csrf_token": csrf_of(detail.text), "procedure_code": "1.004194"},
                   follow_redirects=False)
    dossier_id = int(start.headers["location"].rsplit("/", 1)[1])
    for step in range(1, 8):
        html = c.get(f"/ho-so/{dossier_id}?buoc={step}").text
        match = re.search(r'action="/ho-so/\d+/giay-to\?_csrf_token=([^"]+)".*?name="slot" value="([^"]+)"', html,
                          re.S)
        if match:
            return dossier_id, match.group(1), match.group(2)
    raise AssertionError("no upload form")


def test_a_forged_csrf_upload_is_refused_before_the_body(page_client: Any) -> None:
    c = page_client
    register_on_page(c)
    dossier_id, token, slot = draft_of(c)
    before = disk()
    body = multipart({"slot": slot}, jpeg())
    for headers in ({}, {"x-csrftoken": token[::-1]}):
        r, stream = send(c, f"/ho-so/{dossier_id}/giay-to", body, headers=headers)
        assert r.status_code == 403 and not stream.consumed
    r, stream = send(c, f"/ho-so/{dossier_id}/giay-to?_csrf_token=forged.token", body)
    assert r.status_code == 403 and not stream.consumed
    # the officers' result upload and the bank statement import: the same check, before the body
    for url in ("/can-bo/ho-so/1/ket-qua?xem=tat-ca", "/can-bo/thanh-toan/sao-ke"):
        r, stream = send(c, url, body)
        assert r.status_code == 403 and not stream.consumed
    assert disk() == before
    ok, stream = send(c, f"/ho-so/{dossier_id}/giay-to?_csrf_token={token}", body)
    assert ok.status_code == 303 and stream.consumed, re.findall(r"alert[^<]*<p>([^<]*)", ok.text)


def test_an_anonymous_upload_is_sent_to_sign_in_before_the_body(page_client: Any) -> None:
    c = page_client
    token = csrf_of(c.get("/dang-nhap").text)
    before = disk()
    r, stream = send(c, f"/ho-so/1/giay-to?_csrf_token={token}", multipart({"slot": "d1"}, jpeg()))
    assert r.status_code == 303 and r.headers["location"].startswith("/dang-nhap") and not stream.consumed
    assert disk() == before


def test_a_content_length_above_the_limit_is_refused_before_the_body(page_client: Any, client: Any) -> None:
    c = page_client
    register_on_page(c)
    dossier_id, token, _ = draft_of(c)
    r, stream = send(c, f"/ho-so/{dossier_id}/giay-to?_csrf_token={token}", b"x" * 100, length=30 * MB)
    assert r.status_code == 413 and not stream.consumed and "quá lớn" in r.text


@pytest.fixture
def small_quota(catalogue_db: str) -> Iterator[tuple[Any, int]]:
    body = multipart({"slot": "d1"}, jpeg())
    quota = len(body) + 1000
    s = settings_now()
    quoted = dataclasses.replace(s, uploads=dataclasses.replace(s.uploads, daily_quota_bytes=quota))
    with settings_in_force(s), TestClient(create_app(quoted), base_url="http://localhost:8000") as c:
        yield c, quota


def test_each_account_has_a_daily_upload_quota(small_quota: tuple[Any, int], catalogue_db: str) -> None:
    c, _ = small_quota
    register_on_page(c)
    dossier_id, token, slot = draft_of(c)
    body = multipart({"slot": slot}, jpeg())
    first, _ = send(c, f"/ho-so/{dossier_id}/giay-to?_csrf_token={token}", body)
    assert first.status_code == 303
    before = disk()
    second, stream = send(c, f"/ho-so/{dossier_id}/giay-to?_csrf_token={token}", body)
    assert second.status_code == 429 and not stream.consumed and "hạn mức" in second.text
    assert int(second.headers["retry-after"]) > 0
    assert disk() == before
    me = c.get("/api/v1/me", headers={"Authorization": "Bearer " + c.cookies["motcua_at"]}).json()
    assert audit(Database(catalogue_db), "upload.quota_exceeded", me["id"])
    # the API shares the quota: the same account's bearer token is refused too, as problem details
    api = c.post(f"/api/v1/dossiers/{dossier_id}/documents", content=body,
                 headers={"content-type": MULTIPART, "Authorization": "Bearer " + c.cookies["motcua_at"]})
    assert api.status_code == 429 and api.headers["content-type"].startswith("application/problem+json")


def test_the_quota_and_the_verify_limit_are_configurable() -> None:
    assert load_settings({}).uploads == UploadSettings(daily_quota_bytes=200 * MB, verify_max_bytes=10 * MB)
    s = load_settings({"MOTCUA_UPLOAD_QUOTA_MB": "50", "MOTCUA_VERIFY_MAX_MB": "5"})
    assert s.uploads == UploadSettings(daily_quota_bytes=50 * MB, verify_max_bytes=5 * MB)


def test_the_public_verify_upload_has_a_size_limit(client: Any) -> None:
    r, stream = send(client, "/xac-minh/khong-co-ma-nay", b"x" * 100, length=11 * MB)
    assert r.status_code == 413 and not stream.consumed and "10 MB" in r.text


@pytest.fixture
def one_per_address(catalogue_db: str) -> Iterator[Any]:
    """An app whose per-address limits are the real ones (the test settings multiply them by 1000)."""
    db = Database(catalogue_db)
    s = settings_now()
    strict = dataclasses.replace(s, limits=dataclasses.replace(s.limits, client_limit_factor=1))
    db.run(reset, VERIFY_CLIENT, "testclient")
    try:
        with settings_in_force(s), TestClient(create_app(strict), base_url="http://localhost:8000") as c:
            yield c
    finally:
        db.run(reset, VERIFY_CLIENT, "testclient")


def test_anonymous_verify_uploads_are_limited_per_address(one_per_address: Any, catalogue_db: str) -> None:
    c = one_per_address
    body = multipart({}, b"%PDF-1.4 not a result")
    statuses = [send(c, "/xac-minh/khong-co-ma-nay", body)[0].status_code for _ in range(VERIFY_CLIENT.max_count)]
    assert statuses[:-1] == [404] * (VERIFY_CLIENT.max_count - 1) and statuses[-1] == 429
    r, stream = send(c, "/xac-minh/khong-co-ma-nay", body)
    assert r.status_code == 429 and not stream.consumed and "quá nhiều" in r.text and int(r.headers["retry-after"]) > 0
    assert audit(Database(catalogue_db), "verify.rate_limited", None)
