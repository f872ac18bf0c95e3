"""Security review finding 11: dossier codes can be guessed, so the public lookup shows by the code alone only
the status and the appointment date; the check value printed on the receipt shows the rest. Limits per
address (every lookup, and again every miss) and per code (wrong check values, from any address)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from api.web import lookup as web_lookup
from auth import ratelimit
from domain.audit import AuditEvent
from domain.db import Database
from domain.dossiers import filing as service
from domain.dossiers.models import Dossier
from domain.settings import LimitSettings
from tests.factories import citizen, submitted
from tests.helpers import bearer, fill, is_problem, settings_now, signed_in

HIDDEN = ("procedure_code", "procedure_name", "receiving_unit", "submitted_at", "received_at", "finished_at")


def filed_code(catalogue_db: str) -> str:
    db = Database(catalogue_db)
    dossier_id = submitted(db, citizen(db))
    code = db.run(lambda s: s.get(Dossier, dossier_id).code)
    assert isinstance(code, str)
    return code


def check_of(code: str) -> str:
    return service.check_value(settings_now().web.secret_key, code)


def limited(catalogue_db: str, **where: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.event == "lookup.limited")
    for column, value in where.items():
        query = query.where(getattr(AuditEvent, column) == value)
    return Database(catalogue_db).run(lambda s: list(s.scalars(query)))


@pytest.fixture
def addresses(monkeypatch: pytest.MonkeyPatch, catalogue_db: str) -> Iterator[list[str]]:
    """The client address each lookup comes from: the last one set (the test client has one address only)."""
    chosen = [f"198.51.100.{random.randrange(1, 250)}"]
    monkeypatch.setattr(web_lookup, "client_ip", lambda request: chosen[-1])
    yield chosen

    def forget(s: Session) -> None:  # leave no lock behind for the other tests
        for address in chosen:
            for limit in (ratelimit.LOOKUP_CLIENT, ratelimit.LOOKUP_MISS_CLIENT):
                ratelimit.reset(s, limit, address)

    Database(catalogue_db).run(forget)


def test_the_code_alone_shows_the_status_and_the_appointment_date_only(client: Any, catalogue_db: str) -> None:
    code = filed_code(catalogue_db)
    r = client.get(f"/api/v1/lookup/{code}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"code", "status", "status_name", "due_date", "checked"}
    assert body["code"] == code and body["status"] == "submitted" and body["checked"] is False
    assert "Đăng ký thường trú" not in r.text  # the procedure (1.004222) is not named


def test_the_check_value_shows_the_rest(client: Any, catalogue_db: str) -> None:
    code = filed_code(catalogue_db)
    check = check_of(code)
    for typed in (check, check.lower(), f"{check[:4]}-{check[4:]}"):
        r = client.get(f"/api/v1/lookup/{code}", params={"check": typed})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["checked"] is True and body["procedure_code"] == "1.004222"
        assert set(HIDDEN) <= set(body) and body["procedure_name"] and body["receiving_unit"]
        assert "Nguyễn Văn An" not in r.text  # still no personal data
        assert "no-store" in r.headers["cache-control"]  # the detailed answer is kept by no cache


def test_a_wrong_check_value_answers_like_an_unknown_code(client: Any, catalogue_db: str,
                                                          addresses: list[str]) -> None:
    code = filed_code(catalogue_db)
    wrong = client.get(f"/api/v1/lookup/{code}", params={"check": "ABCD2345"})
    unknown = client.get("/api/v1/lookup/000.00.00.H56-260101-9999", params={"check": check_of(code)})
    is_problem(wrong, 404)
    is_problem(unknown, 404)
    assert wrong.json()["detail"] == unknown.json()["detail"] == service.WRONG_CHECK
    is_problem(client.get(f"/api/v1/lookup/{code}", params={"check": "A" * 41}), 400)


def test_wrong_check_values_lock_the_code_whatever_the_address(client: Any, catalogue_db: str,
                                                               addresses: list[str]) -> None:
    code = filed_code(catalogue_db)
    for i in range(ratelimit.LOOKUP_CHECK_CODE.max_count):
        addresses.append(f"203.0.113.{10 + i}")  # one guess from each address: no address limit is near
        is_problem(client.get(f"/api/v1/lookup/{code}", params={"check": f"ABCD234{i + 2}"}), 404)
    addresses.append("203.0.113.99")
    locked = client.get(f"/api/v1/lookup/{code}", params={"check": check_of(code)})  # even the right one
    is_problem(locked, 429, "mã kiểm tra sai")
    assert int(locked.headers["Retry-After"]) > 0
    # the code alone still shows the status and the date to its holder
    assert client.get(f"/api/v1/lookup/{code}").status_code == 200
    # one audit row for the lock, none for the refusals while it lasts
    assert client.get(f"/api/v1/lookup/{code}", params={"check": "ABCD2345"}).status_code == 429
    rows = limited(catalogue_db, subject=f"dossier-code:{code}")
    assert len(rows) == 1 and '"lookup-check-code"' in rows[0].detail


def test_an_unknown_code_locks_as_a_known_one(client: Any, catalogue_db: str, addresses: list[str]) -> None:
    code = f"000.00.00.H56-260101-{random.randrange(10**4):04d}x"
    for i in range(ratelimit.LOOKUP_CHECK_CODE.max_count):
        addresses.append(f"203.0.114.{10 + i}")
        is_problem(client.get(f"/api/v1/lookup/{code}", params={"check": "ABCD2345"}), 404)
    is_problem(client.get(f"/api/v1/lookup/{code}", params={"check": "ABCD2345"}), 429)


def test_enumeration_from_one_address_meets_429_quickly(client: Any, catalogue_db: str,
                                                        addresses: list[str]) -> None:
    code = filed_code(catalogue_db)
    per_address = replace(settings_now(), limits=LimitSettings(client_limit_factor=1))
    rng = random.Random(11)
    # an app keeps the settings it was built with (the limits are per address here)
    with TestClient(create_app(per_address), base_url="http://localhost:8000") as c:
        # a correct code without its check value: no procedure, no unit
        found = c.get(f"/api/v1/lookup/{code}").json()
        assert not set(HIDDEN) & set(found)
        answers = [c.get(f"/api/v1/lookup/000.99.99.H56-26{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
                              f"-{rng.randrange(1, 10**4):04d}") for _ in range(15)]
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 404, 429}
    first = statuses.index(429)
    assert first <= ratelimit.LOOKUP_MISS_CLIENT.max_count
    assert all(s == 429 for s in statuses[first:])
    is_problem(answers[first], 429, "Tra cứu quá nhiều lần")
    assert int(answers[first].headers["Retry-After"]) > 0
    assert len(limited(catalogue_db, ip=addresses[-1])) == 1


def test_openapi_names_the_check_and_the_optional_fields(client: Any) -> None:
    spec = client.get("/schema/openapi.json").json()
    op = spec["paths"]["/api/v1/lookup/{code}"]["get"]
    assert [p for p in op["parameters"] if p["name"] == "check" and p["in"] == "query" and not p.get("required")]
    schema = spec["components"]["schemas"]["LookupOut"]
    assert set(schema["required"]) == {"code", "status", "status_name", "due_date", "checked"}
    assert set(HIDDEN) <= set(schema["properties"])


def test_the_api_receipt_carries_the_check_value(client: Any, procedure: str) -> None:
    _, tokens = signed_in(client)
    form = client.get(f"/api/v1/procedures/{procedure}/form").json()
    d = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    assert d["lookup_check"] is None  # a draft has no code yet
    fill(client, tokens, d["id"], form)
    sub = client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(tokens)).json()
    assert sub["lookup_check"] == check_of(sub["code"])
    again = client.get(f"/api/v1/dossiers/{d['id']}", headers=bearer(tokens)).json()
    assert again["lookup_check"] == sub["lookup_check"]
    look = client.get(f"/api/v1/lookup/{sub['code']}", params={"check": sub["lookup_check"]}).json()
    assert look["checked"] is True and look["procedure_code"] == procedure
