"""Security review finding 5 (second half): registering with a CCCD that is already on another account
answers exactly like a success, creates the account without that CCCD, tells the real holder (inbox and
e-mail through the outbox) and leaves an audit row. The answer never says the number is taken."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from sqlalchemy import select

from auth import accounts
from domain.accounts.models import User
from domain.audit import AuditEvent
from domain.db import Database
from domain.outbox import templates
from domain.outbox.models import Delivery, Notification
from tests.helpers import PASSWORD, auth_cfg, csrf_of, new_phone
from tests.pushservice import make_user, notify_env

REGISTER = "/api/v1/auth/register"
VARYING = {"id", "username", "full_name"}  # what is the new account's own: everything else must match
STABLE_HEADERS = {"content-type", "content-length", "cache-control"}


def cccd() -> str:
    return "079" + "".join(secrets.choice("0123456789") for _ in range(9))


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


def user_by_name(db: Database, username: str) -> User:
    phone = "+84" + username[1:]
    user: User | None = db.run(lambda s: s.scalar(select(User).where(User.username == phone)))
    assert user is not None
    return user


def register(client: Any, number: str, full_name: str = "Nguyễn Văn An") -> tuple[str, Any]:
    username = new_phone()
    r = client.post(REGISTER, json={"full_name": full_name, "username": username, "password": PASSWORD,
                                    "cccd": number})
    return username, r


def notes_of(db: Database, user_id: int) -> list[Notification]:
    return db.run(lambda s: list(s.scalars(select(Notification).where(Notification.user_id == user_id))))


def test_a_taken_cccd_answers_like_a_fresh_one(client: Any, db: Database) -> None:
    number = cccd()
    holder_name, first = register(client, number, "Trần Thị Bình")
    assert first.status_code == 201, first.text
    attacker_name, taken = register(client, number, "Lê Văn Cường")
    fresh_name, fresh = register(client, cccd(), "Phạm Văn Dũng")
    assert taken.status_code == fresh.status_code == 201, taken.text
    strip = {k: v for k, v in taken.json().items() if k not in VARYING}
    assert strip == {k: v for k, v in fresh.json().items() if k not in VARYING}
    assert set(taken.json()) == set(fresh.json())
    assert set(taken.headers) == set(fresh.headers)
    for header in STABLE_HEADERS & set(fresh.headers):
        if header != "content-length":
            assert taken.headers[header] == fresh.headers[header], header
    assert "CCCD" not in taken.text and number not in taken.text
    holder, attacker, other = (user_by_name(db, n) for n in (holder_name, attacker_name, fresh_name))
    assert holder.cccd == number  # the real holder keeps it
    assert attacker.cccd is None  # the new account is made without it
    assert other.cccd is not None


def test_the_holder_is_told_and_the_refusal_audited(client: Any, db: Database) -> None:
    number = cccd()
    holder_name, _ = register(client, number)
    attacker_name, r = register(client, number)
    assert r.status_code == 201
    holder, attacker = user_by_name(db, holder_name), user_by_name(db, attacker_name)
    [note] = [n for n in notes_of(db, holder.id) if n.event == "account.cccd_claimed"]
    assert note.inbox  # in the holder's inbox (and by e-mail when their address is verified)
    assert number not in note.context and attacker_name not in note.context
    assert not [n for n in notes_of(db, attacker.id) if n.event == "account.cccd_claimed"]
    rows = db.run(lambda s: list(s.scalars(select(AuditEvent).where(
        AuditEvent.event == "account.cccd_refused", AuditEvent.subject == f"user:{holder.id}"))))
    assert len(rows) == 1 and rows[0].actor_id == attacker.id
    assert json.loads(rows[0].detail)["reason"] == "cccd_taken" and number not in rows[0].detail


def test_the_holders_notice_goes_to_inbox_and_email_in_both_languages() -> None:
    tpl = templates.get("account.cccd_claimed")
    assert "email" in tpl.channels and not tpl.sensitive and tpl.audience == "system"
    vi, en = (templates.preview("account.cccd_claimed", lang) for lang in ("vi", "en"))
    assert "CCCD" in vi.body and "ID" in en.body


def test_a_bad_cccd_is_still_a_400(client: Any) -> None:
    _, r = register(client, "12")
    assert r.status_code == 400 and r.json()["field"] == "cccd"


def test_the_register_page_answers_alike(page_client: Any, db: Database) -> None:
    number = cccd()

    def submit(full_name: str, value: str) -> tuple[str, Any]:
        page_client.cookies.clear()
        page = page_client.get("/dang-ky")
        username = new_phone()
        r = page_client.post("/dang-ky", data={"_csrf_token": csrf_of(page.text), "full_name": full_name,
                                               "username": username, "password": PASSWORD, "cccd": value},
                             follow_redirects=False)
        return username, r

    holder_name, first = submit("Trần Thị Bình", number)
    attacker_name, taken = submit("Lê Văn Cường", number)
    _, fresh = submit("Phạm Văn Dũng", cccd())
    assert first.status_code == taken.status_code == fresh.status_code == 303
    assert taken.headers["location"] == fresh.headers["location"] == "/tai-khoan/xac-minh"
    assert taken.text == fresh.text
    assert user_by_name(db, attacker_name).cccd is None and user_by_name(db, holder_name).cccd == number


def test_the_holder_gets_an_email_when_their_address_is_verified(db: Database) -> None:
    """Through the outbox: an e-mail delivery to the holder's verified address (SMTP configured)."""
    holder_email = f"chu.the.{secrets.token_hex(4)}@example.org"
    number = cccd()
    with notify_env(MOTCUA_SMTP_HOST="127.0.0.1", MOTCUA_SMTP_PORT="2525", MOTCUA_MAIL_FROM="tb@example.org"):
        holder_id = db.run(lambda s: make_user(s, email=holder_email, verified_email=True))
        db.run(lambda s: setattr(s.get(User, holder_id), "cccd", number))
        db.run(lambda s: accounts.register(s, "Lê Văn Cường", new_phone(), PASSWORD, cccd=number,
                                           client=accounts.Client(ip="192.0.2.55"), cfg=auth_cfg()))
        rows = db.run(lambda s: list(s.execute(select(Delivery.channel, Delivery.destination).join(
            Notification, Notification.id == Delivery.notification_id).where(
            Notification.user_id == holder_id, Notification.event == "account.cccd_claimed"))))
    assert ("email", holder_email) in [tuple(r) for r in rows]
