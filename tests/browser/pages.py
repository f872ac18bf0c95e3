"""What the browser tests do on pages again and again: find a control by its label, check a page with axe,
register a citizen, fit the phone's screen, a CDP virtual authenticator and the credentials it sends."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

T = TypeVar("T")

PASSWORD = "mot cau de nho 2026"
SHOTS = os.environ.get("MOTCUA_SCREENSHOTS")  # e.g. /tmp/shots: a screenshot of every step
AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}
NO_AUTOFILL = "if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = " \
              "() => Promise.resolve(false);"


def unique_phone() -> str:
    return "09" + f"{time.time_ns() // 1000 % 10**8:08d}"


def label(scope: Any, text: str) -> Any:
    """The control labelled exactly ``text`` (a required field's label ends with an aria-hidden "*")."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(text)}(\s*\*)?\s*$"))


def axe_check(page: Any, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run axe-core (default rules: WCAG 2 A/AA and best practices) on the page; return the violations.

    ``page.evaluate`` injects axe through the DevTools protocol, so the app's CSP need not allow it.
    """
    results = Axe().run(page, options=options or {"resultTypes": ["violations"]})
    return list(results.response["violations"])


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v.get('impact')}): {v['help']} — {v.get('helpUrl', '')}")
        for node in v["nodes"]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def check_axe(page: Any, what: str = "") -> None:
    violations = axe_check(page)
    assert not violations, f"axe: {len(violations)} violation(s) on {what or 'the page'} ({page.url}):\n" + \
        format_violations(violations)


def shot(page: Any, name: str) -> None:
    """Check that the page fits the phone's width (no sideways scrolling); a full-page screenshot too when
    MOTCUA_SCREENSHOTS names a folder."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the phone's screen"
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def register(page: Any, name: str, username: str) -> None:
    """A citizen registers on /dang-ky with :data:`PASSWORD` and lands on the page that proves the number."""
    page.goto("/dang-ky")
    label(page, "Họ và tên").fill(name)
    label(page, "Số điện thoại hoặc email").fill(username)
    label(page, "Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng ký", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tai-khoan/xac-minh$"))


def watch_errors(page: Any) -> list[str]:
    """Uncaught exceptions and unhandled rejections in the page's scripts."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


class Authenticator:
    """A virtual authenticator on one page (CDP ``WebAuthn`` domain)."""

    def __init__(self, page: Any) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})["authenticatorId"]

    def credentials(self) -> list[dict[str, Any]]:
        return list(self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"])

    def add(self, credential: dict[str, Any]) -> None:
        """Import a credential (a passkey synced from another device)."""
        keep = ("credentialId", "isResidentCredential", "rpId", "privateKey", "userHandle", "signCount",
                "userName", "userDisplayName")
        self.cdp.send("WebAuthn.addCredential", {"authenticatorId": self.id,
                                                 "credential": {k: credential[k] for k in keep if k in credential}})

    def clear(self) -> None:
        self.cdp.send("WebAuthn.clearCredentials", {"authenticatorId": self.id})


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def client_data(credential_json: dict[str, Any]) -> dict[str, Any]:
    """The credential's clientDataJSON, decoded and parsed (Chromium adds keys: never compare as text)."""
    parsed: dict[str, Any] = json.loads(b64url(credential_json["response"]["clientDataJSON"]))
    return parsed


def off_the_loop(fn: Callable[[], T], *, timeout: float = 60) -> T:
    """Run ``fn`` (database set-up or reads through ``Database.run``) on a thread of its own: Playwright's sync
    API keeps an asyncio loop running in the test's thread, and PostgreSQL's driver needs a loop of its own."""
    out: list[T] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # handed back to the test's thread
            failed.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout)
    if failed:
        raise failed[0]
    assert out, f"{getattr(fn, '__name__', 'the set-up')} did not finish in {timeout:.0f} s"
    return out[0]
