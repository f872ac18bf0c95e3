"""First-load bytes: a cold mobile Chromium (new context, empty cache, no service worker) loads a page;
every response's encoded transfer size (headers + compressed body) is summed.

* Page-level requests (HTML, CSS, JS, favicon, ...) come from the page's CDP session:
  ``Network.loadingFinished.encodedDataLength`` (bytes on the wire: headers + encoded body).
* Requests made by the service worker (its precache on install) are not seen by the page's CDP
  session; Playwright reports them on the context, with ``request.sizes()`` (headers + encoded body).
  The worker's own script (``/sw.js``) is reported with a zero body there, so its body is measured
  out of band with the same Accept-Encoding and flagged ``*``.
"""

from __future__ import annotations

import contextlib
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
QUIET_S = 1.5  # no new response for this long after network idle = the load is over
MAX_WAIT_S = 20.0


@dataclass
class Resource:
    url: str
    initiator: str  # page | sw
    status: int
    encoding: str
    headers_b: int
    body_b: int
    measured_out_of_band: bool = False

    @property
    def total(self) -> int:
        return self.headers_b + self.body_b


@dataclass
class FirstLoad:
    path: str
    resources: list[Resource] = field(default_factory=list)

    def total(self, initiator: str | None = None) -> int:
        return sum(r.total for r in self.resources if initiator is None or r.initiator == initiator)

    def body(self, initiator: str | None = None) -> int:
        return sum(r.body_b for r in self.resources if initiator is None or r.initiator == initiator)


def _out_of_band_body(url: str, accept_encoding: str) -> int:
    req = urllib.request.Request(url, headers={"Accept-Encoding": accept_encoding})
    with urllib.request.urlopen(req, timeout=10) as r:
        return len(r.read())


def measure(base: str, paths: list[str]) -> list[FirstLoad]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (Playwright only when first loads are measured)

    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            for path in paths:
                results.append(_one(browser, base, path))
        finally:
            browser.close()
    return results


def _one(browser: Any, base: str, path: str) -> FirstLoad:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True,
                                  has_touch=True, locale="vi-VN", service_workers="allow")
    result = FirstLoad(path)
    last_event = [time.monotonic()]
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        pending: dict[str, dict[str, Any]] = {}
        accept = ["gzip, deflate, br"]

        def will_send(e: dict[str, Any]) -> None:
            pending[e["requestId"]] = {"url": e["request"]["url"]}
            accept[0] = e["request"]["headers"].get("Accept-Encoding", accept[0])

        def received(e: dict[str, Any]) -> None:
            r = e["response"]
            info = pending.setdefault(e["requestId"], {"url": r["url"]})
            headers = {k.lower(): v for k, v in r.get("headers", {}).items()}
            info.update(status=r["status"], encoding=headers.get("content-encoding", "-"),
                        headers_b=int(r.get("encodedDataLength") or 0), from_sw=bool(r.get("fromServiceWorker")))

        def finished(e: dict[str, Any]) -> None:
            info = pending.pop(e["requestId"], None)
            last_event[0] = time.monotonic()
            if info is None or "status" not in info:
                return
            total = int(e["encodedDataLength"])
            if info["from_sw"]:  # answered by the worker: no bytes on the wire for the page
                return
            result.resources.append(Resource(info["url"], "page", info["status"], info["encoding"],
                                             info["headers_b"], max(0, total - info["headers_b"])))

        cdp.on("Network.requestWillBeSent", will_send)
        cdp.on("Network.responseReceived", received)
        cdp.on("Network.loadingFinished", finished)

        def sw_finished(request: Any) -> None:
            if request.service_worker is None:
                return
            last_event[0] = time.monotonic()
            response = request.response()
            sizes = request.sizes()
            body, oob = int(sizes["responseBodySize"]), False
            status = response.status if response else 0
            encoding = (response.headers.get("content-encoding", "-") if response else "-")
            if body == 0 and status == 200:
                body, oob = _out_of_band_body(request.url, accept[0]), True
            result.resources.append(Resource(request.url, "sw", status, encoding,
                                             int(sizes["responseHeadersSize"]), body, oob))

        context.on("requestfinished", sw_finished)
        page.goto(base + path, wait_until="networkidle", timeout=30_000)
        # the worker installs (and precaches) after the load: wait for it, bounded; a page without a
        # worker is measured all the same
        with contextlib.suppress(Exception):
            page.evaluate("""() => Promise.race([
                navigator.serviceWorker ? navigator.serviceWorker.ready.then(() => true) : false,
                new Promise((r) => setTimeout(() => r(false), 10000))])""")
        deadline = time.monotonic() + MAX_WAIT_S
        while time.monotonic() < deadline and time.monotonic() - last_event[0] < QUIET_S:
            page.wait_for_timeout(200)
    finally:
        context.close()
    return result
