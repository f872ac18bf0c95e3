"""Security review finding 3: raising an account to identity level 2 (and writing its CCCD) is for a
counter officer of a unit where the person has a filed dossier, or the system admin; after a fresh step-up;
with a reason; audited. Anyone else: 404. A CCCD of another account: 409 that names nobody."""
from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import select

from domain.accounts.models import User
from domain.audit import AuditEvent
from domain.db import Database
from tests.api.backoffice import officer
from tests.api.payments_world import UNIT, filed
from tests.helpers import PASSWORD, age_step_up, bearer, enrol_staff, new_phone, signed_in, step_up
from tests.softauthn import SoftAuthenticator

URL = "/api/v1/officer/users/{}/verify-identity"


def cccd() -> str:
    return "079" + "".join(secrets.choice("0123456789") for _ in range(9))


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


def citizen_with_dossier(client: Any, db: Database) -> tuple[dict[str, Any], int]:
    _, tokens = signed_in(client)
    filed(client, db, tokens)
    return tokens, int(client.get("/api/v1/me", headers=bearer(tokens)).json()["id"])


def verify(client: Any, tokens: dict[str, Any], user_id: int, number: str, reason: str = "Đối chiếu CCCD gốc") -> Any:
    return client.post(URL.format(user_id), headers=bearer(tokens), json={"cccd": number, "reason": reason})


def test_only_a_counter_officer_of_a_unit_with_the_persons_dossier(client: Any, db: Database) -> None:
    _, person = citizen_with_dossier(client, db)
    _, stranger_citizen = signed_in(client)
    stranger_id = int(client.get("/api/v1/me", headers=bearer(stranger_citizen)).json()["id"])
    here, _ = officer(client, "officer", UNIT)
    elsewhere, _ = officer(client, "officer", "000.00.13.H56")
    approver, _ = officer(client, "approver", UNIT)  # not a counter role
    assert verify(client, elsewhere, person, cccd()).status_code == 404
    assert verify(client, approver, person, cccd()).status_code == 404
    assert verify(client, here, stranger_id, cccd()).status_code == 404  # no dossier here
    assert verify(client, here, person, cccd()).status_code == 200


def test_no_raising_an_officer_or_the_admin(client: Any, db: Database) -> None:
    here, _ = officer(client, "officer", UNIT)
    admin_name = new_phone()
    from api.cli import main as cli  # noqa: PLC0415

    assert cli(["create-user", "--role", "admin", "--username", admin_name, "--password", PASSWORD]) == 0
    admin = enrol_staff(client, admin_name, SoftAuthenticator())
    admin_id = int(client.get("/api/v1/me", headers=bearer(admin)).json()["id"])
    assert verify(client, here, admin_id, cccd()).status_code == 404
    assert verify(client, admin, admin_id, cccd()).status_code == 404


def test_a_fresh_step_up_and_a_reason(client: Any, db: Database) -> None:
    _, person = citizen_with_dossier(client, db)
    here, _ = officer(client, "officer", UNIT)
    assert verify(client, here, person, cccd(), reason="   ").status_code == 400
    age_step_up(db, here)
    r = verify(client, here, person, cccd())
    assert r.status_code == 403 and r.json()["title"] == "Step-up required"


def test_someone_elses_cccd_is_a_409_that_names_nobody(client: Any, db: Database) -> None:
    _, first = citizen_with_dossier(client, db)
    _, second = citizen_with_dossier(client, db)
    here, _ = officer(client, "officer", UNIT)
    officer_id = int(client.get("/api/v1/me", headers=bearer(here)).json()["id"])
    number = cccd()
    assert verify(client, here, first, number).status_code == 200
    r = verify(client, here, second, number)
    assert r.status_code == 409
    assert str(first) not in r.text and "tài khoản khác" not in r.text
    assert db.run(lambda s: s.get(User, second).identity_level) == 1
    events = db.run(lambda s: [(e.event, e.detail) for e in s.scalars(select(AuditEvent).where(
        AuditEvent.actor_id == officer_id, AuditEvent.event.like("account.identity_%")))])
    assert [e for e, _ in events] == ["account.identity_verified", "account.identity_refused"]
    assert "Đối chiếu CCCD gốc" in events[0][1]


def test_the_system_admin_may_verify_anyone_filed_or_not(client: Any, db: Database) -> None:
    from api.cli import main as cli  # noqa: PLC0415

    _, person = signed_in(client)
    person_id = int(client.get("/api/v1/me", headers=bearer(person)).json()["id"])
    name = new_phone()
    assert cli(["create-user", "--role", "admin", "--username", name, "--password", PASSWORD]) == 0
    auth = SoftAuthenticator()
    admin = enrol_staff(client, name, auth)
    age_step_up(db, admin)
    assert verify(client, admin, person_id, cccd()).status_code == 403  # step-up first
    step_up(client, admin, auth)
    assert verify(client, admin, person_id, cccd()).status_code == 200
