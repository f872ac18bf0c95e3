"""Notifications over HTTP: the inbox API, preferences, push subscriptions (and their bad input), the
VAPID key, the admins' failed list and previews, and the pages (inbox, header count, settings)."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from auth import accounts as service
from domain.db import Database
from domain.errors import InvalidInput
from domain.outbox.enqueue import enqueue
from notifications.channels.webpush import check_subscription, public_key_of
from tests import factories
from tests.helpers import PASSWORD, auth_cfg, bearer, enrol_staff, login, page_passkey_login, register, signed_in
from tests.pushservice import PushService, b64e, notify_env
from tests.softauthn import SoftAuthenticator

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def notify(catalogue_db: str) -> Iterator[Any]:
    with notify_env() as settings:
        yield settings


@pytest.fixture(scope="module")
def client(notify: Any) -> Iterator[Any]:
    """This module's app, built (as at start-up) with Web Push configured: an app keeps its settings."""
    with TestClient(create_app(), base_url="http://localhost:8000") as c:
        yield c


@pytest.fixture(scope="module")
def push() -> Iterator[PushService]:
    with PushService() as ps:
        yield ps


def me_id(client: Any, tokens: dict[str, Any]) -> int:
    return int(client.get("/api/v1/me", headers=bearer(tokens)).json()["id"])


def notify_user(database_url: str, user_id: int, n: int = 1, event: str = "dossier.received") -> list[int]:
    def run(session: Any) -> list[int]:
        ids = []
        for i in range(n):
            note = enqueue(session, user_id, event, {"dossier_code": f"000.00.12.H56-260217-{i:04d}",
                                                     "procedure_name": "Đăng ký khai sinh", "due_date": "20/02/2026"})
            assert note is not None
            ids.append(note.id)
        return ids

    return Database(database_url).run(run)


# --- VAPID key and subscriptions ---------------------------------------------------------------
def test_vapid_public_key(client: Any, notify: Any) -> None:
    r = client.get("/api/v1/push/vapid-public-key")
    assert r.status_code == 200 and r.json() == {"public_key": public_key_of(notify.vapid_private_key)}
    with notify_env(MOTCUA_VAPID_PRIVATE_KEY=""), TestClient(create_app(), base_url="http://localhost:8000") as client:
        r = client.get("/api/v1/push/vapid-public-key")
        assert r.status_code == 503 and r.headers["content-type"].startswith(PROBLEM)


def test_subscribe_list_and_unsubscribe(client: Any, notify: Any, push: PushService) -> None:
    _, tokens = signed_in(client)
    sub = push.subscribe()
    body = {**sub.as_json(), "lang": "en"}
    r = client.post("/api/v1/push/subscriptions", headers=bearer(tokens), json=body)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["endpoint"] == sub.endpoint and first["lang"] == "en"
    again = client.post("/api/v1/push/subscriptions", headers=bearer(tokens), json=body)
    assert again.status_code == 201 and again.json()["id"] == first["id"]  # one row per device
    listed = client.get("/api/v1/push/subscriptions", headers=bearer(tokens)).json()
    assert [s["id"] for s in listed] == [first["id"]]

    _, other = signed_in(client)  # someone else cannot remove it
    assert client.delete(f"/api/v1/push/subscriptions/{first['id']}", headers=bearer(other)).status_code == 404
    assert client.delete(f"/api/v1/push/subscriptions/{first['id']}", headers=bearer(tokens)).status_code == 204
    assert client.get("/api/v1/push/subscriptions", headers=bearer(tokens)).json() == []

    client.post("/api/v1/push/subscriptions", headers=bearer(tokens), json=body)
    r = client.delete("/api/v1/push/subscriptions", headers=bearer(tokens), params={"endpoint": sub.endpoint})
    assert r.status_code == 204
    r = client.delete("/api/v1/push/subscriptions", headers=bearer(tokens), params={"endpoint": sub.endpoint})
    assert r.status_code == 404


def test_subscriptions_need_a_bearer_token(client: Any, notify: Any, push: PushService) -> None:
    r = client.post("/api/v1/push/subscriptions", json=push.subscribe().as_json())
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize(("change", "field"), [
    ({"endpoint": "not a url"}, "endpoint"),
    ({"endpoint": "ftp://127.0.0.1/push/x"}, "endpoint"),
    ({"endpoint": "https://user:secret@127.0.0.1/push/x"}, "endpoint"),
    ({"endpoint": "https:///push/x"}, "endpoint"),
    ({"endpoint": "https://10.0.0.8/push/x"}, "endpoint"),
    ({"endpoint": "https://192.168.1.1/push/x"}, "endpoint"),
    ({"endpoint": "https://169.254.169.254/latest/meta-data"}, "endpoint"),
    ({"endpoint": "https://[fd00::1]/push"}, "endpoint"),
    ({"endpoint": "https://[::ffff:10.0.0.1]/push"}, "endpoint"),
    ({"endpoint": "https://127.0.0.1/" + "a" * 2100}, "endpoint"),
    ({"keys": {"p256dh": "not-a-key", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys"),
    ({"keys": {"p256dh": b64e(b"\x04" + b"\x01" * 64), "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys.p256dh"),
    ({"keys": {"p256dh": None, "auth": "x"}}, None),
    ({"keys": {}}, None),
])
def test_bad_subscriptions_are_refused(client: Any, notify: Any, push: PushService, change: dict[str, Any],
                                       field: str | None) -> None:
    _, tokens = signed_in(client)
    body = {**push.subscribe().as_json(), **change}
    r = client.post("/api/v1/push/subscriptions", headers=bearer(tokens), json=body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    if field:
        assert r.json()["field"] == field
    assert client.get("/api/v1/push/subscriptions", headers=bearer(tokens)).json() == []


async def test_http_endpoints_only_in_dev_and_test(notify: Any, push: PushService) -> None:
    sub = push.subscribe()
    keys = sub.as_json()["keys"]
    ok = await check_subscription(sub.endpoint, keys["p256dh"], keys["auth"], notify)
    assert ok.endpoint == sub.endpoint  # http://127.0.0.1 in tests: loopback allowed by setting
    production = dataclasses.replace(notify, env="production", allow_loopback=False)
    with pytest.raises(InvalidInput, match="https"):
        await check_subscription(sub.endpoint, keys["p256dh"], keys["auth"], production)
    with pytest.raises(InvalidInput, match="private"):
        await check_subscription(sub.endpoint.replace("http://", "https://"), keys["p256dh"], keys["auth"],
                                 production)
    no_loopback = dataclasses.replace(notify, allow_loopback=False)
    with pytest.raises(InvalidInput):
        await check_subscription(f"http://localhost:{push.port}/push/x", keys["p256dh"], keys["auth"], no_loopback)


# --- inbox -------------------------------------------------------------------------------------
def test_inbox_newest_first_with_unread_count(client: Any, notify: Any, catalogue_db: str) -> None:
    _, tokens = signed_in(client)
    uid = me_id(client, tokens)
    ids = notify_user(catalogue_db, uid, 3)
    r = client.get("/api/v1/notifications", headers=bearer(tokens))
    assert r.status_code == 200
    body = r.json()
    assert body["unread"] == 3 and [i["id"] for i in body["items"]] == ids[::-1]
    top = body["items"][0]
    assert top["title"] == "Hồ sơ 000.00.12.H56-260217-0002 đã được tiếp nhận" and not top["read"]
    assert "20/02/2026" in top["body"] and top["event"] == "dossier.received"
    english = client.get("/api/v1/notifications", headers=bearer(tokens), params={"lang": "en"}).json()
    assert english["items"][0]["title"] == "Dossier 000.00.12.H56-260217-0002 received"

    page = client.get("/api/v1/notifications", headers=bearer(tokens), params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_before"] == ids[1]
    rest = client.get("/api/v1/notifications", headers=bearer(tokens), params={"before": page["next_before"]}).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]]

    r = client.post(f"/api/v1/notifications/{ids[0]}/read", headers=bearer(tokens))
    assert r.status_code == 200 and r.json() == {"unread": 2}
    assert client.post(f"/api/v1/notifications/{ids[0]}/read", headers=bearer(tokens)).json() == {"unread": 2}
    _, other = signed_in(client)
    assert client.post(f"/api/v1/notifications/{ids[1]}/read", headers=bearer(other)).status_code == 404
    assert client.get("/api/v1/notifications", headers=bearer(other)).json()["items"] == []
    assert client.post("/api/v1/notifications/read-all", headers=bearer(tokens)).json() == {"unread": 0}
    assert client.get("/api/v1/notifications", headers=bearer(tokens)).json()["unread"] == 0


def test_inbox_bad_paging_and_no_token(client: Any, notify: Any) -> None:
    _, tokens = signed_in(client)
    for params in ({"limit": "0"}, {"limit": "1000"}, {"before": "x"}, {"lang": "fr"}):
        r = client.get("/api/v1/notifications", headers=bearer(tokens), params=params)
        assert r.status_code == 400, params
    assert client.get("/api/v1/notifications").status_code == 401


def test_codes_are_not_in_the_inbox(client: Any, notify: Any, caplog: pytest.LogCaptureFixture) -> None:
    _, tokens = signed_in(client)
    with caplog.at_level(logging.WARNING, logger="motcua.codes"):
        r = client.post("/api/v1/auth/codes", headers=bearer(tokens), json={"channel": "phone"})
    assert r.status_code == 202
    assert caplog.records[-1].getMessage().startswith("one-time code for user")
    assert client.get("/api/v1/notifications", headers=bearer(tokens)).json() == {
        "items": [], "unread": 0, "next_before": None}


# --- preferences -------------------------------------------------------------------------------
def test_preferences(client: Any, notify: Any) -> None:
    _, tokens = signed_in(client)
    prefs = client.get("/api/v1/notifications/preferences", headers=bearer(tokens)).json()
    events = {e["event"]: e["channels"] for e in prefs["events"]}
    assert prefs["inbox"] is True and prefs["lang"] == "vi"
    assert events["dossier.received"] == {"webpush": True, "email": True, "sms": False}
    assert "officer.assigned" not in events and "code.phone" not in events  # not for citizens / not a choice
    r = client.put("/api/v1/notifications/preferences", headers=bearer(tokens), json={
        "lang": "en", "choices": [{"event": "dossier.received", "channel": "sms", "enabled": True},
                                  {"event": "dossier.received", "channel": "webpush", "enabled": False}]})
    assert r.status_code == 200, r.text
    events = {e["event"]: e["channels"] for e in r.json()["events"]}
    assert events["dossier.received"] == {"webpush": False, "email": True, "sms": True} and r.json()["lang"] == "en"
    for bad in ({"choices": [{"event": "code.phone", "channel": "sms", "enabled": False}]},
                {"choices": [{"event": "dossier.received", "channel": "inbox", "enabled": False}]},
                {"choices": [{"event": "dossier.returned", "channel": "sms", "enabled": True}]},
                {"lang": "fr"}, {"unknown": 1}):
        assert client.put("/api/v1/notifications/preferences", headers=bearer(tokens), json=bad).status_code == 400


# --- admin -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def admin_tokens(client: Any, catalogue_db: str) -> dict[str, Any]:
    username = f"admin-{datetime.now(UTC).timestamp():.0f}@example.org"
    Database(catalogue_db).run(lambda s: service.create_user(s, "admin", username, PASSWORD, full_name="Quản Trị Viên",
                                                             cfg=auth_cfg()))
    auth = SoftAuthenticator()
    tokens = enrol_staff(client, username, auth)  # admins work in passkey sessions
    ADMIN_AUTH[tokens["access_token"]] = auth
    return tokens


ADMIN_AUTH: dict[str, SoftAuthenticator] = {}


def test_admin_failed_list_and_preview(client: Any, notify: Any, admin_tokens: dict[str, Any]) -> None:
    r = client.get("/api/v1/admin/notifications/failed", headers=bearer(admin_tokens))
    assert r.status_code == 200 and set(r.json()) == {"items", "total"}
    templates = client.get("/api/v1/admin/notifications/templates", headers=bearer(admin_tokens)).json()
    assert {"dossier.received", "code.phone", "officer.reminder"} <= {t["event"] for t in templates}
    r = client.get("/api/v1/admin/notifications/templates/dossier.apology/preview", headers=bearer(admin_tokens),
                   params={"lang": "vi", "new_due_date": "03/03/2026"})
    assert r.status_code == 200
    p = r.json()
    assert "03/03/2026" in p["title"] and p["subject"] and "xin lỗi" in p["body"].lower() and p["url"] == "/ho-so/1"
    assert client.get("/api/v1/admin/notifications/templates/nope/preview",
                      headers=bearer(admin_tokens)).status_code == 404
    _, citizen = signed_in(client)
    assert client.get("/api/v1/admin/notifications/failed", headers=bearer(citizen)).status_code == 403
    assert client.get("/api/v1/admin/notifications/templates", headers=bearer(citizen)).status_code == 403


# --- pages -------------------------------------------------------------------------------------
def page_login(c: Any, username: str) -> None:
    page = c.get("/dang-nhap")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    r = c.post("/dang-nhap", data={"_csrf_token": token.group(1), "username": username, "password": PASSWORD},
               follow_redirects=False)
    assert r.status_code == 303


def test_pages_inbox_header_count_and_open(page_client: Any, client: Any, notify: Any, catalogue_db: str) -> None:
    assert page_client.get("/thong-bao", follow_redirects=False).status_code == 303  # sign in first
    username = register(client)
    tokens = login(client, username)
    ids = notify_user(catalogue_db, me_id(client, tokens), 2)
    page_login(page_client, username)
    home = page_client.get("/")
    assert re.search(r'href="/thong-bao" aria-label="Thông báo: 2 chưa đọc">Thông báo <span class="badge"', home.text)
    inbox = page_client.get("/thong-bao")
    assert inbox.status_code == 200 and "Bạn có 2 thông báo chưa đọc." in inbox.text
    assert inbox.text.index("260217-0001") < inbox.text.index("260217-0000")  # newest first
    r = page_client.get(f"/thong-bao/{ids[0]}/mo", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/thong-bao"  # no dossier: back to the inbox
    assert "Bạn có 1 thông báo chưa đọc." in page_client.get("/thong-bao").text
    assert page_client.get(f"/thong-bao/{ids[0] + 100000}/mo").status_code == 404
    english = page_client.get("/thong-bao?lang=en")
    assert "You have 1 unread notification" in english.text or "1" in english.text


def test_settings_page_saves_and_device_subscription_needs_csrf(page_client: Any, client: Any, notify: Any,
                                                                push: PushService) -> None:
    username = register(client)
    page_login(page_client, username)
    page = page_client.get("/thong-bao/cai-dat")
    assert page.status_code == 200 and "data-push" in page.text and "/static/push.js" in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    r = page_client.post("/thong-bao/cai-dat", data={"_csrf_token": token.group(1), "dossier.received:webpush": "1",
                                                     "dossier.received:sms": "1", "lang": "en"},
                         follow_redirects=False)
    assert r.status_code == 303
    saved = page_client.get("/thong-bao/cai-dat").text
    assert 'name="dossier.received:sms" value="1" id=' in saved and re.search(
        r'name="dossier.received:sms" value="1" id="[^"]+" checked', saved)
    assert not re.search(r'name="dossier.received:email" value="1" id="[^"]+" checked', saved)
    body = {**push.subscribe().as_json(), "lang": "vi"}
    assert page_client.post("/thong-bao/thiet-bi", json=body).status_code == 403  # no CSRF token
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', saved)
    assert csrf
    r = page_client.post("/thong-bao/thiet-bi", json=body, headers={"X-CSRFToken": csrf.group(1)})
    assert r.status_code == 201, r.text
    r = page_client.post("/thong-bao/thiet-bi", json={**body, "endpoint": "https://10.0.0.1/x"},
                         headers={"X-CSRFToken": csrf.group(1)})
    assert r.status_code == 400
    r = page_client.post("/thong-bao/thiet-bi/huy", json={"endpoint": body["endpoint"]},
                         headers={"X-CSRFToken": csrf.group(1)})
    assert r.status_code == 204


def test_admin_pages(page_client: Any, client: Any, notify: Any, admin_tokens: dict[str, Any]) -> None:
    username = register(client)
    page_login(page_client, username)
    assert page_client.get("/quan-tri/thong-bao").status_code == 403
    assert page_client.get("/quan-tri/thong-bao/mau/dossier.received").status_code == 403
    page_client.cookies.clear()
    page_passkey_login(page_client, ADMIN_AUTH[admin_tokens["access_token"]])
    page = page_client.get("/quan-tri/thong-bao")
    assert page.status_code == 200 and "/quan-tri/thong-bao/mau/dossier.received" in page.text
    preview = page_client.get("/quan-tri/thong-bao/mau/dossier.supplement_requested", params={"reason": "Ảnh mờ"})
    assert preview.status_code == 200
    assert "Cơ quan đề nghị bổ sung: Ảnh mờ." in preview.text and "The office asks you to add: Ảnh mờ." in preview.text


def test_inbox_times_carry_their_zone(client, catalogue_db: str) -> None:  # type: ignore[no-untyped-def]
    """Regression (schemathesis): on SQLite the inbox's ``created_at`` came back without a zone, which is no
    RFC 3339 ``date-time`` (the OpenAPI document's format)."""
    db = Database(catalogue_db)
    citizen = factories.citizen(db)
    factories.submitted(db, citizen)
    items = client.get("/api/v1/notifications", headers=citizen.headers).json()["items"]
    assert items
    for item in items:
        assert datetime.fromisoformat(item["created_at"]).tzinfo is not None, item["created_at"]
