"""Security review finding 2: officer payment functions need a payment role (a unit's accountant or unit
admin) in a passkey session, never touch a draft, take a reason for a fee override (audited), and a
VietQR transfer confirmed by hand above the four-eyes amount needs a second officer."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from domain.audit import AuditEvent
from domain.db import Database
from tests import factories
from tests.api.payments_world import CODE, filed, gateways_client, officer, pay
from tests.helpers import bearer, is_problem, login, signed_in

pytestmark = pytest.mark.usefixtures("gateways_on")  # every gateway on, against the local stand-in


@pytest.fixture(scope="module")
def client(gateways_on: None, catalogue_db: str) -> Iterator[Any]:
    """This module's app: built with every gateway on."""
    with gateways_client() as c:
        yield c

STATEMENT = "Ngày giao dịch;Số tiền ghi có;Nội dung;Mã giao dịch\n26/11/2026;10.000;X;FT1\n"


def routes(dossier_id: int, payment_id: int, fee: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("get", f"/api/v1/officer/dossiers/{dossier_id}/payments", {}),
        ("put", f"/api/v1/officer/dossiers/{dossier_id}/fee", {"json": {"amount_vnd": fee, "reason": "NQ 1"}}),
        ("post", f"/api/v1/officer/payments/{payment_id}/confirm", {"json": {"amount_vnd": 1, "bank_ref": "FT9"}}),
        ("post", "/api/v1/officer/payments/bank-statement",
         {"content": STATEMENT.encode(), "headers": {"content-type": "text/csv"}}),
    ]


def call(client: Any, tokens: dict[str, Any], method: str, url: str, kw: dict[str, Any]) -> Any:
    headers = {**bearer(tokens), **kw.pop("headers", {})}
    return getattr(client, method)(url, headers=headers, **kw)


def test_an_officer_without_a_payment_role_handles_no_money(client: Any, db: Database) -> None:
    _, citizen = signed_in(client)
    receiver, _ = officer(client, db, roles=("receiver", "processor"))
    accountant, _ = officer(client, db, roles=("accountant",))
    dossier_id = filed(client, db, citizen)
    p = pay(client, citizen, dossier_id, "vietqr").json()
    for method, url, kw in routes(dossier_id, p["id"], p["amount_vnd"]):
        r = call(client, receiver, method, url, dict(kw))
        assert r.status_code == 404, (url, r.status_code, r.text)
        r = call(client, accountant, method, url, dict(kw))
        assert r.status_code in (200, 201), (url, r.status_code, r.text)
    r = client.get("/api/v1/officer/payments/reconciliation", headers=bearer(receiver))
    assert r.status_code == 404
    assert client.get("/api/v1/officer/payments/reconciliation", headers=bearer(accountant)).status_code == 200


def test_a_password_session_of_an_accountant_is_refused(client: Any, db: Database) -> None:
    from domain.accounts.models import User  # noqa: PLC0415

    accountant, user_id = officer(client, db)
    username = db.run(lambda s: s.get(User, user_id).username)
    password = login(client, username)
    r = client.get("/api/v1/officer/payments/reconciliation", headers=bearer(password))
    assert r.status_code == 403 and "passkey" in r.json()["detail"]


def test_drafts_are_not_an_officers_business(client: Any, db: Database) -> None:
    _, citizen = signed_in(client)
    accountant, _ = officer(client, db)
    r = client.post("/api/v1/dossiers", headers=bearer(citizen), json={"procedure_code": CODE})
    assert r.status_code == 201, r.text  # the payments tests' procedure: no other test edits its form
    draft = r.json()
    assert client.put(f"/api/v1/officer/dossiers/{draft['id']}/fee", headers=bearer(accountant),
                      json={"amount_vnd": 5_000, "reason": "NQ 1"}).status_code == 404
    assert client.get(f"/api/v1/officer/dossiers/{draft['id']}/payments",
                      headers=bearer(accountant)).status_code == 404


def test_a_fee_override_takes_a_reason_and_is_audited(client: Any, db: Database) -> None:
    _, citizen = signed_in(client)
    accountant, accountant_id = officer(client, db)
    dossier_id = filed(client, db, citizen)
    url = f"/api/v1/officer/dossiers/{dossier_id}/fee"
    assert client.put(url, headers=bearer(accountant), json={"amount_vnd": 5_000}).status_code == 400
    assert client.put(url, headers=bearer(accountant), json={"amount_vnd": 5_000, "reason": "  "}).status_code == 400
    assert client.put(url, headers=bearer(accountant),
                      json={"amount_vnd": 5_000, "reason": "NQ 07/2026/NQ-HĐND"}).status_code == 200
    rows = db.run(lambda s: list(s.scalars(select(AuditEvent).where(
        AuditEvent.event == "payment.fee_assessed", AuditEvent.subject == f"dossier:{dossier_id}"))))
    assert len(rows) == 1 and rows[0].actor_id == accountant_id and "NQ 07/2026" in rows[0].detail


def test_a_large_transfer_confirmed_by_hand_needs_a_second_officer(client: Any, db: Database) -> None:
    _, citizen = signed_in(client)
    first, _ = officer(client, db)
    second, _ = officer(client, db)
    dossier_id = filed(client, db, citizen)
    amount = 3_000_000  # above the default four-eyes amount (2,000,000 đồng)
    assert client.put(f"/api/v1/officer/dossiers/{dossier_id}/fee", headers=bearer(first),
                      json={"amount_vnd": amount, "reason": "NQ 07/2026/NQ-HĐND"}).status_code == 200
    p = pay(client, citizen, dossier_id, "vietqr").json()
    url = f"/api/v1/officer/payments/{p['id']}/confirm"
    body = {"amount_vnd": amount, "bank_ref": "FT777"}
    r = client.post(url, headers=bearer(first), json=body)
    assert r.json() == {"result": "pending_second", "status": "started"}
    again = client.post(url, headers=bearer(first), json=body)  # the same officer twice is not four eyes
    assert again.status_code == 409
    other_ref = client.post(url, headers=bearer(second), json={**body, "bank_ref": "FT778"})
    assert other_ref.json()["result"] == "pending_second"  # a different claim: it waits for its own second
    done = client.post(url, headers=bearer(first), json={**body, "bank_ref": "FT778"})
    assert done.json() == {"result": "confirmed", "status": "success"}


@pytest.mark.parametrize("amount", [10_000])
def test_a_small_transfer_needs_one_officer(client: Any, db: Database, amount: int) -> None:
    _, citizen = signed_in(client)
    accountant, _ = officer(client, db)
    dossier_id = filed(client, db, citizen)
    p = pay(client, citizen, dossier_id, "vietqr").json()
    r = client.post(f"/api/v1/officer/payments/{p['id']}/confirm", headers=bearer(accountant),
                    json={"amount_vnd": p["amount_vnd"], "bank_ref": "FT1"})
    assert r.json() == {"result": "confirmed", "status": "success"}


def test_reconciliation_of_a_day_out_of_range_is_400(client, catalogue_db: str) -> None:  # type: ignore[no-untyped-def]
    """Regression (schemathesis): day=0001-01-01 (its midnight in Vietnam is before year 1 in UTC) was a 500."""
    accountant = factories.officer(Database(catalogue_db), factories.FEE_UNIT, ("accountant",), client=client)
    r = client.get("/api/v1/officer/payments/reconciliation", params={"day": "0001-01-01"},
                   headers=bearer(accountant.tokens))
    is_problem(r, 400)
    assert r.json()["field"] == "day"
