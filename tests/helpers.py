"""Small helpers shared by HTTP tests: accounts and sessions over the API, staff passkeys, the pages' forms
and CSRF tokens, filling a draft. Records built through the core instead of HTTP: ``tests/factories.py``."""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import json
import os
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from PIL import Image
from sqlalchemy import select, update

from api.app import create_app
from auth.config import AuthSettings
from auth.tokens import REFRESH_GRACE, _hash
from domain.accounts.models import AuthSession, RefreshToken
from domain.audit import AuditEvent
from domain.db import Database
from domain.documents.storage import storage_for
from domain.payments.context import PaymentContext
from domain.settings import Settings, configure_core, load_settings
from tests.softauthn import SoftAuthenticator

PASSWORD = "một câu mật khẩu dài"
PROBLEM = "application/problem+json"


def new_phone() -> str:
    return "09" + "".join(secrets.choice("0123456789") for _ in range(8))


def new_cccd() -> str:
    """A fresh CCCD number (a province code 001–096, then nine digits): CCCDs are unique, like phones."""
    return f"{secrets.randbelow(96) + 1:03d}" + "".join(secrets.choice("0123456789") for _ in range(9))


def tax_code() -> str:
    """A fresh valid 10-digit tax code (its check digit right): organisations are unique by it."""
    while True:
        first9 = f"{secrets.randbelow(9 * 10**8) + 10**8:09d}"
        check = 10 - sum(int(d) * w for d, w in zip(first9, (31, 29, 23, 19, 17, 13, 7, 5, 3), strict=True)) % 11
        if check < 10:
            return first9 + str(check)


def register(client: Any, username: str | None = None, password: str = PASSWORD,
             full_name: str = "Nguyễn Văn An") -> str:
    username = username or new_phone()
    r = client.post("/api/v1/auth/register", json={"full_name": full_name, "username": username,
                                                   "password": password})
    assert r.status_code == 201, r.text
    return username


def login(client: Any, username: str, password: str = PASSWORD) -> dict[str, Any]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def signed_in(client: Any) -> tuple[str, dict[str, Any]]:
    username = register(client)
    return username, login(client, username)


# --- staff: officers and admins act only from passkey sessions (enrolled with a one-time code) ---------
REG_OPTIONS, REG_VERIFY = "/api/v1/auth/passkeys/registration/options", "/api/v1/auth/passkeys/registration/verify"
AUTH_OPTIONS, AUTH_VERIFY = (
    "/api/v1/auth/passkeys/authentication/options",
    "/api/v1/auth/passkeys/authentication/verify",
)


def credential_post(client: Any, url: str, body: Any, **headers: str) -> Any:
    """Send a credential the way the browser does: its toJSON() as the whole body."""
    return client.post(url, content=json.dumps(body).encode(), headers={"content-type": "application/json", **headers})


def enrolment_code(username: str) -> str:
    """What a unit admin hands over: `motcua enrolment-code USERNAME`'s output."""
    from api.cli import main as cli  # noqa: PLC0415  (the CLI builds the app's settings: only when asked)

    def run() -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cli(["enrolment-code", username]) == 0
        return out.getvalue().strip()

    # in a thread of its own: the CLI runs its own event loop, and a browser test's thread has one running
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def passkey_session(client: Any, auth: Any) -> dict[str, Any]:
    """Sign in with the passkey alone: the token pair of a passkey (``amr`` webauthn) session."""
    options = client.post(AUTH_OPTIONS)
    assert options.status_code == 200, options.text
    r = credential_post(client, AUTH_VERIFY, auth.get(options.json()))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def enrol_staff(client: Any, username: str, auth: Any, password: str = PASSWORD) -> dict[str, Any]:
    """An officer's or admin's first day: password, the enrolment code, a first passkey, then the passkey
    session they work in. Returns that session's tokens."""
    tokens = login(client, username, password)
    options = client.post(REG_OPTIONS, headers=bearer(tokens), json={"enrolment_code": enrolment_code(username)})
    assert options.status_code == 200, options.text
    r = credential_post(client, REG_VERIFY, auth.create(options.json()), **bearer(tokens))
    assert r.status_code == 201, r.text
    return passkey_session(client, auth)


def _claims(tokens: dict[str, Any]) -> dict[str, Any]:
    import jwt  # noqa: PLC0415  (only the staff helpers read a token's claims)

    claims: dict[str, Any] = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    return claims


def session_id_of(tokens: dict[str, Any]) -> str:
    return str(_claims(tokens)["sid"])


def user_id_of(tokens: dict[str, Any]) -> int:
    return int(_claims(tokens)["sub"])


def age_step_up(db: Any, tokens: dict[str, Any]) -> None:
    """Make the session's last passkey assertion older than the step-up window (signed in a while ago)."""
    sid = session_id_of(tokens)
    db.run(lambda s: s.execute(update(AuthSession).where(AuthSession.id == sid)
                               .values(step_up_at=datetime.now(UTC) - timedelta(minutes=10))))


def age_session(db: Any, session_id: str, *, idle: timedelta | None = None, age: timedelta | None = None) -> None:
    """Move a session back in time: last used ``idle`` ago, and/or signed in ``age`` ago."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {}
    if idle is not None:
        values["last_used_at"] = now - idle
    if age is not None:
        values["created_at"] = values["auth_time"] = now - age
    db.run(lambda s: s.execute(update(AuthSession).where(AuthSession.id == session_id).values(**values)))


def page_passkey_login(c: Any, auth: Any, next_: str = "/tai-khoan") -> None:
    """Sign a browser (a page client with its own cookies) in with a passkey, as passkeys.js does."""
    headers = {"content-type": "application/json", "accept": "application/json",
               "x-csrftoken": page_csrf(c, "/dang-nhap")}
    options = c.post("/dang-nhap/passkey/options", content=b"{}", headers=headers)
    assert options.status_code == 200, options.text
    r = c.post(f"/dang-nhap/passkey/verify?next={next_}", content=json.dumps(auth.get(options.json())).encode(),
               headers=headers)
    assert r.status_code == 200, r.text


def use_settings(settings: Settings) -> Settings:
    """What a composition root does with the settings it read: configure the core's process-wide parts
    (audit key, outbox channels), as ``api.app.create_app`` does; auth is handed its part (``auth_cfg``)."""
    configure_core(settings)
    return settings


def settings_from_env() -> Settings:
    """What a composition root does at start-up: read the environment once and configure with it. Tests
    that change a variable call this to stand for a restart of the process."""
    return use_settings(load_settings(os.environ))


def settings_now() -> Settings:
    """The settings a process started now would read (the test's environment); nothing is configured."""
    return load_settings(os.environ)


def auth_cfg() -> AuthSettings:
    """What the app under test hands auth's functions (``api.web.state.auth_of``), built the same way from
    the test's environment: a test calling auth below the HTTP layer passes it as ``cfg``."""
    return AuthSettings.of(load_settings(os.environ))


def payment_context() -> PaymentContext:
    """What the app hands the payment use cases, built the same way from the test's environment (the
    same public address, the same storage directory)."""
    settings = load_settings(os.environ)
    return PaymentContext.of(settings, storage_for(settings.storage))


@contextlib.contextmanager
def settings_in_force(settings: Settings) -> Iterator[Settings]:
    """Configure with ``settings`` for a block, then with the environment's again."""
    before = settings_now()
    use_settings(settings)
    try:
        yield settings
    finally:
        use_settings(before)


# --- pages: forms with a CSRF token (cookies), and the pages' JSON twins -------------------------------
def csrf_of(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "form without a CSRF token"
    return match.group(1)


def register_on_page(c, username: str | None = None, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    username = username or new_phone()
    page = c.get("/dang-ky")
    r = c.post("/dang-ky", data={"_csrf_token": csrf_of(page.text), "full_name": "Lê Văn Cường",
                                 "username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return username, r


def meta_csrf(html: str) -> str:
    """The page's CSRF token (every page has it in a meta tag, for htmx and scripts)."""
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, "page without a CSRF token"
    return match.group(1)


def page_csrf(c: Any, path: str = "/dang-nhap") -> str:
    return meta_csrf(c.get(path).text)


def page_post(c: Any, url: str, token: str, body: Any = None) -> Any:
    return c.post(url, content=json.dumps(body or {}).encode(),
                  headers={"content-type": "application/json", "accept": "application/json", "x-csrftoken": token})


# --- filing ------------------------------------------------------------------------------------------
# hand-made forms of the demo province (the others use the catalogue's default form)
HANDMADE = {"1.001193", "1.000894", "1.004222", "1.004194", "3.000333", "1.001612", "1.013225", "2.000815"}
ADDRESS = {"province": 80, "ward": 25459, "street": "12 Đường 30/4"}


def jpeg(size: tuple[int, int] = (1200, 900)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


@pytest.fixture(scope="module")
def procedure(client) -> str:  # type: ignore[no-untyped-def]
    """A fully-online procedure of the demo province that uses the default (catalogue) form."""
    items = client.get("/api/v1/procedures", params={"online": "true", "level": "commune", "page_size": 100}).json()
    for item in items["items"]:
        if item["code"] in HANDMADE:
            continue
        form = client.get(f"/api/v1/procedures/{item['code']}/form").json()
        if 1 <= len(form["documents"]) <= 4:
            code: str = item["code"]
            return code
    raise AssertionError("no suitable procedure")


def fill(client: Any, tokens: dict[str, Any], dossier_id: int, form: dict[str, Any], *,
         name: str = "Phạm Thị Dung", cccd: str = "072090001234") -> dict[str, Any]:
    """Answer a draft's usual fields and attach a photo to every required slot; the draft as answered."""
    r = client.patch(f"/api/v1/dossiers/{dossier_id}", headers=bearer(tokens), json={"data": {
        "applicant_name": name, "applicant_cccd": cccd, "applicant_phone": "0912345678",
        "applicant_address": ADDRESS, "request": "Đề nghị giải quyết"}})
    assert r.status_code == 200, r.text
    for slot in form["documents"]:
        if slot["required"]:
            up = client.post(f"/api/v1/dossiers/{dossier_id}/documents", headers=bearer(tokens),
                             data={"slot": slot["slot"]}, files={"file": ("anh chup.jpg", jpeg(), "image/jpeg")})
            assert up.status_code == 201, up.text
    body: dict[str, Any] = r.json()
    return body


# --- passkeys over the JSON API ----------------------------------------------------------------------
def add_passkey(client: Any, tokens: dict[str, Any], auth: SoftAuthenticator, *, enrolment_code: str | None = None,
                **kw: Any) -> dict[str, Any]:
    """Add a passkey from this session: a first one (an officer's with the enrolment code), or another one
    right after a step-up (:func:`step_up`)."""
    body = {"enrolment_code": enrolment_code} if enrolment_code else None
    options = client.post(REG_OPTIONS, headers=bearer(tokens), json=body)
    assert options.status_code == 200, options.text
    r = credential_post(client, REG_VERIFY, auth.create(options.json(), **kw), **bearer(tokens))
    assert r.status_code == 201, r.text
    added: dict[str, Any] = r.json()
    return added


def step_up(client: Any, tokens: dict[str, Any], auth: SoftAuthenticator) -> None:
    """A fresh assertion with an existing passkey in this session (adding or removing a passkey needs it)."""
    options = client.post("/api/v1/auth/step-up/options", headers=bearer(tokens))
    assert options.status_code == 200, options.text
    r = credential_post(client, "/api/v1/auth/step-up/verify", auth.get(options.json()), **bearer(tokens))
    assert r.status_code == 200, r.text


def passkey_sign_in(client: Any, auth: SoftAuthenticator, **kw: Any) -> Any:
    options = client.post(AUTH_OPTIONS)
    assert options.status_code == 200, options.text
    return credential_post(client, AUTH_VERIFY, auth.get(options.json(), **kw))


def is_problem(r: Any, status: int, word: str = "") -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["detail"]
    assert word.lower() in body["detail"].lower(), body["detail"]


def audit(db: Database, event: str, actor_id: int | None) -> list[dict[str, Any]]:
    rows = db.run(lambda s: list(s.scalars(select(AuditEvent).where(AuditEvent.event == event,
                                                                   AuditEvent.actor_id == actor_id))))
    return [json.loads(r.detail) for r in rows]


# --- tokens -------------------------------------------------------------------------------------------
def age_refresh_tokens(database_url: str, refresh_token: str) -> None:
    """Move a used refresh token's rotation back past the grace."""
    Database(database_url).run(lambda s: s.execute(
        update(RefreshToken).where(RefreshToken.token_hash == _hash(refresh_token))
        .values(used_at=datetime.now(UTC) - REFRESH_GRACE - timedelta(seconds=1))))


# --- people at a browser without JavaScript (a cookie jar of their own) who also have API tokens ----------
def page_client() -> TestClient:  # type: ignore[type-arg]
    return TestClient(create_app(), base_url="http://localhost:8000")


def sign_in_on_page(c: Any, username: str, next_: str = "/can-bo") -> Any:
    page = c.get("/dang-nhap")
    return c.post("/dang-nhap", data={"_csrf_token": csrf_of(page.text), "username": username,
                                      "password": PASSWORD, "next": next_}, follow_redirects=False)


class Person:
    """Someone at a browser (own cookie jar) who also has API tokens and, for officers, a passkey."""

    def __init__(self, client: Any, page: Any, username: str, passkey: bool) -> None:
        self.username = username
        self.auth = SoftAuthenticator()
        self.page = page
        if passkey:  # officers work in passkey sessions, on the API and on the pages
            self.tokens = enrol_staff(client, username, self.auth)
            token = page_csrf(page, "/dang-nhap")
            options = page_post(page, "/dang-nhap/passkey/options", token)
            assert options.status_code == 200, options.text
            r = page_post(page, "/dang-nhap/passkey/verify?next=/can-bo", token, self.auth.get(options.json()))
            assert r.status_code == 200, r.text
        else:
            self.tokens = login(client, username)
            assert sign_in_on_page(page, username).status_code == 303
        self.id = client.get("/api/v1/me", headers=bearer(self.tokens)).json()["id"]

    def get(self, url: str, **kw: Any) -> Any:
        return self.page.get(url, **kw)

    def form(self, url: str, data: dict[str, Any], page_url: str | None = None, **kw: Any) -> Any:
        """Post a form the way the browser does: with the CSRF token of the page it is on."""
        token = meta_csrf(self.page.get(page_url or "/can-bo").text)
        return self.page.post(url, data={"_csrf_token": token, **data}, follow_redirects=False, **kw)
