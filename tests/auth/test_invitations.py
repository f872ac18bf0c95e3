"""Security review finding 5 (first half): an invitation to join an organisation is accepted only with a
one-time code sent to the invited phone or e-mail (the invitation's identifier, not whatever the account
says about itself): single use, 10 minutes, five tries, bound to that invitation, stored as a hash, audited.
Someone who registered the invitee's number without proving it cannot accept."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from auth.accounts import INVITATION_CODE
from domain.accounts.models import Membership, OneTimeCode, User
from domain.audit import AuditEvent
from domain.db import Database
from domain.outbox.models import Delivery, Notification
from tests.helpers import PROBLEM, bearer, login, new_phone, register, signed_in, tax_code
from tests.pushservice import notify_env


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


def organisation(client: Any, owner: dict[str, Any], name: str = "Công ty TNHH Bình An") -> int:
    r = client.post("/api/v1/me/organisations", json={"name": name, "tax_code": tax_code()}, headers=bearer(owner))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def invite(client: Any, owner: dict[str, Any], org_id: int, username: str, role: str = "owner") -> int:
    r = client.post(f"/api/v1/me/organisations/{org_id}/invitations", json={"username": username, "role": role},
                    headers=bearer(owner))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def send_code(client: Any, tokens: dict[str, Any], inv_id: int, caplog: pytest.LogCaptureFixture) -> str:
    with caplog.at_level(logging.WARNING, logger="motcua.codes"):
        r = client.post(f"/api/v1/me/invitations/{inv_id}/code", headers=bearer(tokens))
    assert r.status_code == 202, r.text
    message = caplog.records[-1].getMessage()
    return message.rsplit(": ", 1)[1]


def accept(client: Any, tokens: dict[str, Any], inv_id: int, code: str | None) -> Any:
    body = {} if code is None else {"json": {"code": code}}
    return client.post(f"/api/v1/me/invitations/{inv_id}/accept", headers=bearer(tokens), **body)


def other(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def user_id(client: Any, tokens: dict[str, Any]) -> int:
    return int(client.get("/api/v1/me", headers=bearer(tokens)).json()["id"])


def members(db: Database, org_id: int) -> list[int]:
    return db.run(lambda s: sorted(s.scalars(select(Membership.user_id).where(Membership.organisation_id == org_id))))


def audit_events(db: Database, actor: int, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    rows = db.run(lambda s: list(s.scalars(select(AuditEvent).where(
        AuditEvent.actor_id == actor, AuditEvent.event.like(prefix + "%")).order_by(AuditEvent.id))))
    return [(r.event, json.loads(r.detail)) for r in rows]


def test_accepting_needs_the_code_sent_to_the_invited_phone(client: Any, db: Database,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    _, owner = signed_in(client)
    invitee_name, invitee = signed_in(client)
    org_id = organisation(client, owner)
    inv_id = invite(client, owner, org_id, invitee_name, role="staff")
    me = user_id(client, invitee)
    before = members(db, org_id)
    for refused in (accept(client, invitee, inv_id, None), accept(client, invitee, inv_id, ""),
                    accept(client, invitee, inv_id, "123456")):  # no body, empty, no code sent yet
        assert refused.status_code == 400 and refused.headers["content-type"].startswith(PROBLEM), refused.text
    code = send_code(client, invitee, inv_id, caplog)
    assert "+84" + invitee_name[1:] in caplog.records[-1].getMessage()  # to the invited number
    wrong = accept(client, invitee, inv_id, other(code))
    assert wrong.status_code == 400 and wrong.json()["field"] == "code"
    assert wrong.headers["content-type"].startswith(PROBLEM)
    assert members(db, org_id) == before  # nothing written
    ok = accept(client, invitee, inv_id, code)
    assert ok.status_code == 200 and ok.json() == {"organisation_id": org_id, "role": "staff"}
    assert me in members(db, org_id)
    assert accept(client, invitee, inv_id, code).status_code == 404  # used: the invitation is closed
    events = audit_events(db, me, "org.")
    assert [e for e, _ in events] == ["org.invitation_refused", "org.invitation_refused",
                                      "org.invitation_code_sent", "org.invitation_refused", "org.joined"]
    assert [d["reason"] for e, d in events if e == "org.invitation_refused"] == ["no_code", "none_or_expired",
                                                                                 "wrong"]
    assert events[-1][1]["proved"] == "phone"


def test_someone_who_registered_the_invitees_number_cannot_accept(client: Any, db: Database,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The attack of the review: register the invitee's phone (never proving it), then accept as owner."""
    _, owner = signed_in(client)
    victims_phone = new_phone()
    register(client, victims_phone)  # the attacker, with a number that is not theirs
    attacker = login(client, victims_phone)
    org_id = organisation(client, owner)
    inv_id = invite(client, owner, org_id, victims_phone, role="owner")
    before = members(db, org_id)
    code = send_code(client, attacker, inv_id, caplog)  # the code goes by SMS to the number's real holder
    attacker_id = user_id(client, attacker)
    note = db.run(lambda s: s.scalars(select(Notification).where(
        Notification.user_id == attacker_id, Notification.event == "code.invitation")).one())
    assert not note.inbox  # never shown in the account's inbox
    [delivery] = db.run(lambda s: list(s.scalars(select(Delivery).where(Delivery.notification_id == note.id))))
    assert (delivery.channel, delivery.destination) == ("sms", "+84" + victims_phone[1:])
    guesses = [accept(client, attacker, inv_id, f"{n:06d}").status_code
               for n in range(6) if f"{n:06d}" != code][:5]
    assert guesses == [400] * 5
    assert accept(client, attacker, inv_id, code).status_code == 400  # five tries end the code
    assert members(db, org_id) == before
    assert db.run(lambda s: s.get(User, attacker_id).phone_verified_at) is None


def test_a_verified_account_still_proves_the_identifier(client: Any, db: Database,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    _, owner = signed_in(client)
    name, invitee = signed_in(client)
    with caplog.at_level(logging.WARNING, logger="motcua.codes"):
        assert client.post("/api/v1/auth/codes", json={"channel": "phone"}, headers=bearer(invitee)).status_code == 202
    phone_code = caplog.records[-1].getMessage().rsplit(": ", 1)[1]
    assert client.post("/api/v1/auth/codes/verify", json={"channel": "phone", "code": phone_code},
                       headers=bearer(invitee)).status_code == 200
    org_id = organisation(client, owner)
    inv_id = invite(client, owner, org_id, name)
    assert accept(client, invitee, inv_id, phone_code).status_code == 400  # a verification code is not one
    assert accept(client, invitee, inv_id, None).status_code == 400
    code = send_code(client, invitee, inv_id, caplog)
    assert accept(client, invitee, inv_id, code).status_code == 200


def test_expired_code_and_another_invitations_code(client: Any, db: Database,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    _, owner = signed_in(client)
    name, invitee = signed_in(client)
    first = invite(client, owner, organisation(client, owner), name)
    second_org = organisation(client, owner, "HTX Rau sạch")
    second = invite(client, owner, second_org, name)
    code = send_code(client, invitee, first, caplog)
    assert accept(client, invitee, second, code).status_code == 400  # bound to the invitation it was sent for
    me = user_id(client, invitee)
    db.run(lambda s: s.execute(update(OneTimeCode).where(OneTimeCode.user_id == me)
                               .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))))
    expired = accept(client, invitee, first, code)
    assert expired.status_code == 400 and "hết hạn" in expired.json()["detail"]
    fresh = send_code(client, invitee, second, caplog)
    assert accept(client, invitee, second, fresh).status_code == 200
    assert me in members(db, second_org)


def test_the_code_is_stored_as_a_hash_for_the_invited_identifier(client: Any, db: Database,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    _, owner = signed_in(client)
    name, invitee = signed_in(client)
    inv_id = invite(client, owner, organisation(client, owner), name)
    code = send_code(client, invitee, inv_id, caplog)
    me = user_id(client, invitee)
    row = db.run(lambda s: s.scalars(select(OneTimeCode).where(OneTimeCode.user_id == me)).one())
    assert row.channel == INVITATION_CODE and row.destination == "+84" + name[1:]
    assert code not in (row.code_hash, row.destination) and len(row.code_hash) == 64
    assert row.expires_at - row.created_at <= timedelta(minutes=10)
    again = send_code(client, invitee, inv_id, caplog)  # a new code supersedes the old one
    if again != code:
        assert accept(client, invitee, inv_id, code).status_code == 400
    assert accept(client, invitee, inv_id, again).status_code == 200


def test_someone_elses_invitation_does_not_exist(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    _, owner = signed_in(client)
    name, _invitee = signed_in(client)
    _, stranger = signed_in(client)
    inv_id = invite(client, owner, organisation(client, owner), name)
    assert client.post(f"/api/v1/me/invitations/{inv_id}/code", headers=bearer(stranger)).status_code == 404
    assert accept(client, stranger, inv_id, "123456").status_code == 404


def test_openapi_describes_the_code_and_the_accept_body(client: Any) -> None:
    spec = client.get("/schema/openapi.json").json()
    paths = spec["paths"]
    assert "post" in paths["/api/v1/me/invitations/{invitation_id}/code"]
    body = paths["/api/v1/me/invitations/{invitation_id}/accept"]["post"]["requestBody"]
    assert body["required"] is True
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert spec["components"]["schemas"][ref]["required"] == ["code"]


def test_an_email_invitations_code_goes_to_the_invited_address(client: Any, db: Database,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    _, owner = signed_in(client)
    email = f"ke.toan.{new_phone()}@example.org"
    register(client, email)
    invitee = login(client, email)
    inv_id = invite(client, owner, organisation(client, owner, "Công ty Cổ phần Hạ Long"), email, role="staff")
    with notify_env(MOTCUA_SMTP_HOST="127.0.0.1", MOTCUA_SMTP_PORT="2525", MOTCUA_MAIL_FROM="tb@example.org"):
        code = send_code(client, invitee, inv_id, caplog)
    me = user_id(client, invitee)
    note = db.run(lambda s: s.scalars(select(Notification).where(
        Notification.user_id == me, Notification.event == "code.invitation")).one())
    assert not note.inbox and "Công ty Cổ phần Hạ Long" in note.context
    [delivery] = db.run(lambda s: list(s.scalars(select(Delivery).where(Delivery.notification_id == note.id))))
    assert (delivery.channel, delivery.destination) == ("email", email)
    assert accept(client, invitee, inv_id, code).status_code == 200
