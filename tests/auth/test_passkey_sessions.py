"""Security review finding 1: a stolen password does not take over an officer.

Back-office routes need a session signed in with a passkey; a password-only officer session may only enrol
a first passkey, and only with a one-time enrolment code issued through another channel; adding or removing
a passkey needs a fresh step-up; every change is told to the holder; issuing and using codes is audited."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from api.cli import main as cli
from domain.accounts.models import OneTimeCode
from domain.accounts.users import find_user
from domain.db import Database
from domain.outbox.models import Notification
from tests.api.backoffice import act, filed, setting  # noqa: F401  (the fixture)
from tests.helpers import (
    PASSWORD,
    REG_OPTIONS,
    REG_VERIFY,
    add_passkey,
    age_step_up,
    audit,
    bearer,
    credential_post,
    csrf_of,
    enrol_staff,
    enrolment_code,
    is_problem,
    login,
    new_phone,
    signed_in,
    step_up,
)
from tests.softauthn import SoftAuthenticator

UNIT = "000.00.12.H56"
OTHER_UNIT = "000.00.13.H56"


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


def staff(role: str, unit: str | None = UNIT, *, unit_admin: bool = False) -> str:
    username = new_phone()
    args = ["create-user", "--role", role, "--username", username, "--password", PASSWORD]
    if unit:
        args += ["--unit", unit]
    assert cli(args + (["--unit-admin"] if unit_admin else [])) == 0
    return username


def user_id(db: Database, username: str) -> int:
    user = db.run(lambda s: find_user(s, username))
    assert user is not None
    return int(user.id)


def test_the_stolen_password_attack_of_the_review_fails(client: Any, setting: dict[str, Any], db: Database) -> None:  # noqa: F811
    """Password-only session of an approver who has a passkey: no second passkey, no approval, no removal."""
    username = staff("approver", setting["unit"])
    auth = SoftAuthenticator()
    real = enrol_staff(client, username, auth)  # the approver's own passkey session
    stolen = login(client, username)  # the thief has only the password
    thief_key = SoftAuthenticator()
    is_problem(client.post(REG_OPTIONS, headers=bearer(stolen)), 403, "xác thực lại")  # no second passkey
    is_problem(client.post(REG_OPTIONS, headers=bearer(stolen), json={"enrolment_code": "ABCD-EFGH-JKLM"}), 403)
    assert client.get("/api/v1/officer/queue", headers=bearer(stolen)).status_code == 403
    _, d = filed(client, setting["code"])
    r = act(client, stolen, d, "receive")
    assert r.status_code == 403 and "passkey" in r.json()["detail"]
    assert client.post(f"/api/v1/officer/dossiers/{d['id']}/actions/approve/options", headers=bearer(stolen),
                       json={"version": d["version"]}).status_code == 403
    mine = client.get("/api/v1/me/passkeys", headers=bearer(real)).json()
    assert client.delete(f"/api/v1/me/passkeys/{mine[0]['id']}", headers=bearer(stolen)).status_code == 403
    assert len(client.get("/api/v1/me/passkeys", headers=bearer(real)).json()) == 1
    assert thief_key.credentials == {}
    assert client.get("/api/v1/officer/queue", headers=bearer(real)).status_code == 200  # the real one works on
    refused = audit(db, "auth.passkey_session_refused", user_id(db, username))
    assert refused and {r["path"] for r in refused} >= {"/api/v1/officer/queue"}  # the thief's tries are on record
    assert all(r["method"] in ("GET", "POST") for r in refused)


def test_a_first_passkey_needs_the_enrolment_code(client: Any, db: Database) -> None:
    username = staff("officer")
    tokens = login(client, username)
    uid = user_id(db, username)
    is_problem(client.post(REG_OPTIONS, headers=bearer(tokens)), 403, "mã đăng ký")
    code = enrolment_code(username)
    is_problem(client.post(REG_OPTIONS, headers=bearer(tokens), json={"enrolment_code": "WRONG-CODE-XX"}), 400,
               "không đúng")
    r = client.post(REG_OPTIONS, headers=bearer(tokens), json={"enrolment_code": code.lower().replace("-", " ")})
    assert r.status_code == 200, r.text  # typed as read out: lower case, spaces
    is_problem(client.post(REG_OPTIONS, headers=bearer(tokens), json={"enrolment_code": code}), 400, "hết hạn")
    auth = SoftAuthenticator()
    assert credential_post(client, REG_VERIFY, auth.create(r.json()), **bearer(tokens)).status_code == 201
    assert [e["via"] for e in audit(db, "auth.enrolment_code_issued", None) if e.get("via") == "cli"]
    assert audit(db, "auth.enrolment_code_used", uid) and audit(db, "auth.enrolment_code_refused", uid)


def test_an_expired_or_guessed_code_is_dead(client: Any, db: Database) -> None:
    username = staff("officer")
    tokens = login(client, username)
    code = enrolment_code(username)
    uid = user_id(db, username)
    db.run(lambda s: s.execute(update(OneTimeCode).where(OneTimeCode.user_id == uid, OneTimeCode.channel == "enrol")
                               .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))))
    is_problem(client.post(REG_OPTIONS, headers=bearer(tokens), json={"enrolment_code": code}), 400, "hết hạn")
    code = enrolment_code(username)
    for _ in range(5):
        client.post(REG_OPTIONS, headers=bearer(tokens), json={"enrolment_code": "AAAA-BBBB-CCCC"})
    is_problem(client.post(REG_OPTIONS, headers=bearer(tokens), json={"enrolment_code": code}), 400, "hết hạn")


def test_who_may_issue_codes(client: Any, db: Database) -> None:
    unit_admin = enrol_staff(client, staff("officer", unit_admin=True), SoftAuthenticator())
    officer = staff("officer")
    elsewhere = staff("officer", OTHER_UNIT)
    other_admin = staff("officer", unit_admin=True)
    url = "/api/v1/officer/users/{}/enrolment-code"
    r = client.post(url.format(user_id(db, officer)), headers=bearer(unit_admin))
    assert r.status_code == 201 and len(r.json()["code"]) == 14, r.text
    tokens = login(client, officer)
    assert (
        client.post(REG_OPTIONS, headers=bearer(tokens), json={"enrolment_code": r.json()["code"]}).status_code == 200
    )
    for target in (elsewhere, other_admin):  # another unit's officer, another unit admin: not yours (404)
        assert client.post(url.format(user_id(db, target)), headers=bearer(unit_admin)).status_code == 404
    _, citizen = signed_in(client)
    assert client.post(url.format(user_id(db, officer)), headers=bearer(citizen)).status_code == 404
    password_only = login(client, staff("officer", unit_admin=True))
    assert client.post(url.format(user_id(db, officer)), headers=bearer(password_only)).status_code == 403
    admin = enrol_staff(client, staff("admin", None), SoftAuthenticator())
    assert client.post(url.format(user_id(db, other_admin)), headers=bearer(admin)).status_code == 201


def test_adding_and_removing_need_a_fresh_step_up_and_the_holder_is_told(client: Any, db: Database) -> None:
    username = staff("officer")
    auth = SoftAuthenticator()
    tokens = enrol_staff(client, username, auth)
    uid = user_id(db, username)
    age_step_up(db, tokens)
    is_problem(client.post(REG_OPTIONS, headers=bearer(tokens)), 403, "xác thực lại")
    step_up(client, tokens, auth)
    second = add_passkey(client, tokens, auth)
    age_step_up(db, tokens)
    is_problem(client.delete(f"/api/v1/me/passkeys/{second['id']}", headers=bearer(tokens)), 403, "xác thực lại")
    step_up(client, tokens, auth)
    assert client.delete(f"/api/v1/me/passkeys/{second['id']}", headers=bearer(tokens)).status_code == 204
    mine = client.get("/api/v1/me/passkeys", headers=bearer(tokens)).json()
    is_problem(client.delete(f"/api/v1/me/passkeys/{mine[0]['id']}", headers=bearer(tokens)), 409, "ít nhất")
    events = db.run(lambda s: [n.event for n in s.scalars(select(Notification).where(Notification.user_id == uid))])
    assert events.count("account.passkey_added") == 2 and events.count("account.passkey_removed") == 1
    inbox = client.get("/api/v1/notifications", headers=bearer(tokens)).json()
    assert "Khóa truy cập" in str(inbox)


def test_pages_send_a_password_officer_to_a_passkey_sign_in(page_client: Any, client: Any) -> None:
    username = staff("officer")
    enrol_staff(client, username, SoftAuthenticator())
    page = page_client.get("/dang-nhap")
    r = page_client.post("/dang-nhap", data={"_csrf_token": csrf_of(page.text), "username": username,
                                             "password": PASSWORD, "next": "/can-bo"}, follow_redirects=False)
    assert r.status_code == 303
    back_office = page_client.get("/can-bo/ho-so/1", follow_redirects=False)
    assert back_office.status_code == 303
    assert back_office.headers["location"] == "/dang-nhap?passkey=1&next=%2Fcan-bo%2Fho-so%2F1"
    assert page_client.get("/quan-tri/dich-vu", follow_redirects=False).status_code == 303
