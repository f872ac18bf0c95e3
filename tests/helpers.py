"""Small helpers shared by HTTP tests."""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import json
import os
import secrets
from collections.abc import Iterator
from typing import Any

from domain.settings import Settings, current_settings, install, load_settings

PASSWORD = "một câu mật khẩu dài"


def new_phone() -> str:
    return "09" + "".join(secrets.choice("0123456789") for _ in range(8))


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


def session_id_of(tokens: dict[str, Any]) -> str:
    import jwt  # noqa: PLC0415  (only the staff helpers read a token's claims)

    return str(jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"])


def age_step_up(db: Any, tokens: dict[str, Any]) -> None:
    """Make the session's last passkey assertion older than the step-up window (signed in a while ago)."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from sqlalchemy import update  # noqa: PLC0415

    from domain.accounts.models import AuthSession  # noqa: PLC0415

    sid = session_id_of(tokens)
    db.run(lambda s: s.execute(update(AuthSession).where(AuthSession.id == sid)
                               .values(step_up_at=datetime.now(UTC) - timedelta(minutes=10))))


def page_passkey_login(c: Any, auth: Any, next_: str = "/tai-khoan") -> None:
    """Sign a browser (a page client with its own cookies) in with a passkey, as passkeys.js does."""
    import re  # noqa: PLC0415

    html = c.get("/dang-nhap").text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, "the sign-in page has no CSRF token"
    headers = {"content-type": "application/json", "accept": "application/json", "x-csrftoken": match.group(1)}
    options = c.post("/dang-nhap/passkey/options", content=b"{}", headers=headers)
    assert options.status_code == 200, options.text
    r = c.post(f"/dang-nhap/passkey/verify?next={next_}", content=json.dumps(auth.get(options.json())).encode(),
               headers=headers)
    assert r.status_code == 200, r.text


def settings_from_env() -> Settings:
    """What a composition root does at start-up: read the environment once and install the value. Tests
    that change a variable call this to stand for a restart of the process."""
    return install(load_settings(os.environ))


@contextlib.contextmanager
def settings_in_force(settings: Settings) -> Iterator[Settings]:
    """Install ``settings`` for a block, then the ones in force before it."""
    before = current_settings()
    install(settings)
    try:
        yield settings
    finally:
        install(before)
