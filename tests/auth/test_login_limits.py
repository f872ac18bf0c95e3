"""Security review finding 4: the per-account sign-in limit counts the account, not the spelling; its lock
grows with each lock (a guesser slows down, the holder is kept out briefly) and never stops a passkey."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auth import ratelimit
from auth.accounts import login_subject
from domain.db import Database
from tests.helpers import PASSWORD, add_passkey, login, passkey_sign_in, register
from tests.softauthn import SoftAuthenticator

WRONG = "sai mật khẩu rồi"


@pytest.fixture(autouse=True)
def _no_cookies(client: Any) -> None:
    client.cookies.clear()


def spellings(phone: str) -> list[str]:
    """0977000111 → the forms people type: +84…, with spaces, with dashes, with dots."""
    rest = phone[1:]
    return [
        f"+84{rest}",
        f"+84 {rest[:2]} {rest[2:5]} {rest[5:]}",
        f"{phone[:4]} {phone[4:7]} {phone[7:]}",
        f"{phone[:4]}-{phone[4:7]}-{phone[7:]}",
        f"{phone[:4]}.{phone[4:7]}.{phone[7:]}",
        phone,
    ]


def attempt(client: Any, username: str, password: str = WRONG, ip: str = "10.9.9.8") -> Any:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password},
                       headers={"X-Forwarded-For": ip})


def test_the_spellings_of_one_number_share_one_subject() -> None:
    assert len({login_subject(s) for s in spellings("0977000111")}) == 1
    assert login_subject("  An@Example.VN ") == login_subject("an@example.vn")
    assert login_subject("not an identifier") == "not an identifier"


def test_other_spellings_do_not_escape_the_lock(client: Any) -> None:
    phone = register(client)
    forms = spellings(phone)
    statuses = [attempt(client, forms[i % len(forms)]).status_code for i in range(5)]
    assert statuses == [401] * 5
    for form in forms:  # every spelling is locked now …
        assert attempt(client, form).status_code == 429
    r = attempt(client, forms[0], PASSWORD)  # … even with the right password under another spelling
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_a_locked_officer_still_signs_in_with_a_passkey(client: Any) -> None:
    phone = register(client)
    auth = SoftAuthenticator()
    add_passkey(client, login(client, phone), auth)
    for _ in range(6):
        attempt(client, phone)
    assert attempt(client, phone, PASSWORD).status_code == 429
    client.cookies.clear()
    r = passkey_sign_in(client, auth)
    assert r.status_code == 200, r.text


def test_the_lock_grows_with_each_lock_up_to_the_cap(database_url: str) -> None:
    db = Database(database_url)
    limit = ratelimit.Limit(f"t-backoff-{datetime.now(UTC).timestamp()}", 2, timedelta(days=1),
                            timedelta(minutes=1), backoff_cap=timedelta(minutes=8))
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert db.run(lambda s: ratelimit.hit(s, limit, "x", now, factor=1)) is None
    blocks = []
    for _ in range(6):  # once locked, every further failure in the window locks again, for longer
        wait = db.run(lambda s, at=now: ratelimit.hit(s, limit, "x", at, factor=1))
        assert wait
        assert db.run(lambda s, at=now: ratelimit.retry_after(s, limit, "x", at)) == wait + 1
        blocks.append(wait)
        now += timedelta(seconds=wait + 1)  # the lock is over: the guesser goes on
    assert blocks == [60, 120, 240, 480, 480, 480]
    db.run(lambda s: ratelimit.reset(s, limit, "x"))  # the holder signed in: back to the short lock
    waits = db.run(lambda s: [ratelimit.hit(s, limit, "x", now, factor=1), ratelimit.hit(s, limit, "x", now, factor=1)])
    assert waits == [None, 60]


def test_strikes_are_forgotten_after_a_day(database_url: str) -> None:
    db = Database(database_url)
    limit = ratelimit.Limit(f"t-forget-{datetime.now(UTC).timestamp()}", 1, timedelta(days=2),
                            timedelta(minutes=1), backoff_cap=timedelta(hours=1))
    t0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert db.run(lambda s: ratelimit.hit(s, limit, "y", t0, factor=1)) == 60
    assert db.run(lambda s: ratelimit.hit(s, limit, "y", t0 + timedelta(minutes=2), factor=1)) == 120
    later = t0 + ratelimit.STRIKE_MEMORY + timedelta(minutes=5)
    assert db.run(lambda s: ratelimit.hit(s, limit, "y", later, factor=1)) == 60
