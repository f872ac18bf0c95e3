"""Web Push in a real Chromium: a citizen turns notifications on (permission asked only after the tap, with
the explanation on the page), the server keeps the subscription, a status change of their dossier goes
through the app's own notification worker (in-process, ``MOTCUA_EMBEDDED_WORKER=1``) to the local
RFC 8030 push service (VAPID checked, payload decrypted with the subscription's key), and the decrypted
message is handed to the service worker through CDP ``ServiceWorker.deliverPushMessage``: the
notification it shows is checked (Vietnamese text, dossier tag), a second copy of the same message is
not shown again, and a tap opens the dossier page and marks the notification read.

Chromium's real push service cannot be reached from here, so the page's ``PushManager`` hands out a
subscription of the local push service (its keys, as a browser would make them); everything after the
browser's subscribe call is the real path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from domain.accounts.models import User
from domain.db import Database
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier
from domain.workflow import Actor
from tests.browser.conftest import PHONE, serve_app
from tests.browser.pages import register
from tests.helpers import new_phone
from tests.pushservice import PushService, make_draft, notify_env

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]

FAKE_PUSH_MANAGER = """(sub) => {
  const key = (b64) => Uint8Array.from(atob(b64.replace(/-/g, "+").replace(/_/g, "/")
    + "=".repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0)).buffer;
  let current = null;
  const make = (options) => ({
    endpoint: sub.endpoint, expirationTime: null, options,
    getKey: (name) => key(sub.keys[name]),
    toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: sub.keys }),
    unsubscribe: () => { current = null; return Promise.resolve(true); },
  });
  PushManager.prototype.subscribe = function (options) {
    window.__subscribedWith = options;
    current = make(options);
    return Promise.resolve(current);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
}"""


@pytest.fixture(scope="module")
def push() -> Iterator[PushService]:
    with PushService() as ps:
        yield ps


@pytest.fixture(scope="module")
def push_server(catalogue_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under uvicorn with Web Push configured and the embedded notification worker on."""
    with notify_env(MOTCUA_WORKER_POLL_SECONDS="0.1"):
        log = tmp_path_factory.mktemp("push_server") / "uvicorn.log"
        with serve_app(log, MOTCUA_EMBEDDED_WORKER="1") as base:
            yield base


def poll(fn: Any, timeout: float = 10.0, page: Any = None) -> Any:
    """Until fn() is truthy; with a page, waiting through Playwright so its events (CDP) are handled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)
    raise AssertionError(f"not true within {timeout} s")


def test_push_notification_journey(browser: Any, push_server: str, push: PushService, catalogue_db: str) -> None:
    sub = push.subscribe()
    ctx = browser.new_context(**PHONE, locale="vi-VN", service_workers="allow", base_url=push_server)
    ctx.set_default_timeout(20_000)
    try:
        ctx.grant_permissions(["notifications"], origin=push_server)
        ctx.add_init_script(f"({FAKE_PUSH_MANAGER})({json.dumps(sub.as_json())})")
        page = ctx.new_page()

        phone = new_phone()
        register(page, "Trần Thị Hoa", phone)

        page.goto("/thong-bao/cai-dat")
        page.evaluate("navigator.serviceWorker.ready")
        section = page.get_by_role("region", name="Thông báo trên thiết bị này")
        expect(section).to_contain_text("Bật để nhận tin ngay trên màn hình khoá")  # the explanation
        expect(section.get_by_role("status")).to_have_text("Thiết bị này chưa bật thông báo.")
        assert page.evaluate("window.__subscribedWith") is None  # nothing asked before the tap
        section.get_by_role("button", name="Bật thông báo trên thiết bị này").click()
        expect(section.get_by_role("status")).to_have_text("Thiết bị này đã bật thông báo.")
        options = page.evaluate("({visible: window.__subscribedWith.userVisibleOnly, "
                                "key: window.__subscribedWith.applicationServerKey.length})")
        assert options == {"visible": True, "key": 65}
        expect(section.get_by_role("button", name="Tắt thông báo trên thiết bị này")).to_be_visible()

        # a status change of this citizen's dossier (a real workflow transition, committed elsewhere)
        db = Database(catalogue_db)

        def submit(session: Any) -> int:
            uid = session.scalar(select(User.id).where(User.phone == "+84" + phone[1:]))
            dossier_id = make_draft(session, uid)
            d = session.get(Dossier, dossier_id)
            fire(session, d, "submit", actor_id=uid, actors={Actor.APPLICANT})
            d.code = f"000.00.99.H56-260217-{dossier_id:04d}"
            return dossier_id

        started = time.monotonic()
        with ThreadPoolExecutor(1) as pool:  # PostgreSQL: asyncio.run, beside Playwright's running loop
            dossier_id = pool.submit(db.run, submit).result(timeout=30)
        assert push.wait_for(1, timeout=15, sub=sub), "the app's worker did not push"
        msg = push.messages(sub)[0]
        assert time.monotonic() - started < 5
        assert msg.claims["aud"] == push.origin and msg.headers["Topic"] == f"dossier-{dossier_id}"
        payload = msg.payload
        assert payload["url"] == f"/ho-so/{dossier_id}" and payload["lang"] == "vi"

        # the browser receives it: CDP hands the decrypted data to the service worker
        cdp = ctx.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        cdp.send("ServiceWorker.enable")
        reg = poll(lambda: next((r for r in registrations if r["scopeURL"] == push_server + "/"
                                 and not r.get("isDeleted")), None), page=page)
        deliver = {"origin": push_server, "registrationId": reg["registrationId"],
                   "data": msg.plaintext.decode()}
        cdp.send("ServiceWorker.deliverPushMessage", deliver)
        shown_js = ("navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.map((n) => "
                    "({title: n.title, body: n.body, tag: n.tag, lang: n.lang, data: n.data})))")
        shown = poll(lambda: page.evaluate(shown_js))
        assert len(shown) == 1
        n = shown[0]
        assert n["title"] == f"Đã nộp hồ sơ 000.00.99.H56-260217-{dossier_id:04d}"
        assert "đăng ký khai sinh" in n["body"].lower() and n["lang"] == "vi"
        assert n["tag"] == f"dossier-{dossier_id}" and n["data"]["id"] == payload["id"]

        # the same message again (at-least-once delivery): not shown a second time
        page.evaluate("navigator.serviceWorker.ready.then((r) => r.getNotifications())"
                      ".then((ns) => ns.forEach((n) => n.close()))")
        poll(lambda: page.evaluate(shown_js) == [])
        cdp.send("ServiceWorker.deliverPushMessage", deliver)
        page.wait_for_timeout(1000)  # give the service worker time to (not) show it
        assert page.evaluate(shown_js) == []

        # a tap opens the dossier page and marks the notification read
        page.goto("/thong-bao")
        expect(page.get_by_text("Bạn có 1 thông báo chưa đọc.")).to_be_visible()
        expect(page.get_by_role("link", name="Thông báo: 1 chưa đọc")).to_be_visible()  # the header count
        other = {**payload, "id": "second-" + payload["id"]}
        cdp.send("ServiceWorker.deliverPushMessage", {**deliver, "data": json.dumps(other)})
        poll(lambda: page.evaluate(shown_js))
        page.goto(f"/ho-so/{dossier_id}")
        page.evaluate("window.__beforeTap = true")  # gone once the tap has loaded the page anew
        sw = poll(lambda: next(iter(ctx.service_workers), None))
        with page.expect_response(lambda r: r.url.endswith(f"/ho-so/{dossier_id}")) as landed, \
                page.expect_response(lambda r: r.url.endswith(payload["open"])) as opened:
            sw.evaluate("self.registration.getNotifications().then(([n]) => self.dispatchEvent("
                        "new NotificationEvent('notificationclick', {notification: n})))")
        assert opened.value.status == 303  # /thong-bao/<id>/mo: marked read, then on to the dossier
        assert landed.value.status == 200

        def reloaded() -> bool:
            try:
                return bool(page.evaluate("window.__beforeTap !== true && document.readyState === 'complete'"))
            except Exception:  # the document is being replaced right now
                return False

        poll(reloaded, page=page)
        assert page.url.endswith(f"/ho-so/{dossier_id}")
        poll(lambda: sw.evaluate("self.registration.getNotifications().then((ns) => ns.length)") == 0,
             page=page)  # closed on tap
        page.goto("/thong-bao")
        expect(page.get_by_text("Bạn đã đọc hết thông báo.")).to_be_visible()
    finally:
        ctx.close()


def test_unsupported_browser_gets_a_plain_message(browser: Any, push_server: str) -> None:
    ctx = browser.new_context(**PHONE, locale="vi-VN", service_workers="allow", base_url=push_server)
    try:
        ctx.add_init_script("delete window.PushManager")  # a browser without the Push API
        page = ctx.new_page()
        phone = new_phone()
        register(page, "Lý Văn Nam", phone)
        page.goto("/thong-bao/cai-dat")
        status = page.get_by_role("region", name="Thông báo trên thiết bị này").get_by_role("status")
        expect(status).to_contain_text("không hỗ trợ thông báo đẩy")
    finally:
        ctx.close()


