"""Claiming a counter dossier into an account over the JSON API (issue 14): the dossier's code and the
applicant's CCCD send a one-time code to the phone recorded on the dossier; the code moves the dossier into
the signed-in account. Every refusal about the dossier is the same 404; limits per address, account and code."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web import claim as web_claim
from auth import ratelimit
from domain.accounts.models import OneTimeCode, RateCounter, User
from domain.catalog.models import Offering
from domain.db import Database
from domain.dossiers.models import Dossier
from domain.intake.claim import REFUSED
from domain.intake.persons import Applicant, ensure_person
from domain.outbox.models import Delivery, Notification
from tests import factories
from tests.factories import Person
from tests.helpers import audit, is_problem, new_cccd, new_phone

CLAIM, VERIFY = "/api/v1/dossiers/claim", "/api/v1/dossiers/claim/verify"


@pytest.fixture(scope="module")
def officer(db: Database, procedure: str) -> Person:
    """A receiver (and processor) of the unit that decides the procedure."""
    deciding = db.run(lambda s: str(s.get(Offering, procedure).unit_code))
    return factories.receiver(db, deciding, ("receiver", "processor"))


class Counter:
    """A dossier received at the counter for a person record: its id, code, the person's CCCD and phone."""

    def __init__(self, db: Database, officer: Person, procedure: str, *, phone: str | None = "",
                 email: str | None = None, cccd: str | None = "") -> None:
        self.cccd: str = new_cccd() if cccd == "" else cccd or ""  # "": none recorded
        self.phone: str = new_phone() if phone == "" else phone or ""
        applicant = Applicant(full_name="Võ Thị Bảy", cccd=self.cccd or None, phone=self.phone or None, email=email)
        self.id = factories.received_intake(db, officer, procedure, applicant=applicant)
        self.code: str = db.run(lambda s: s.get(Dossier, self.id).code)
        self.person: int = db.run(lambda s: s.get(Dossier, self.id).owner_id)


@pytest.fixture
def counter(db: Database, officer: Person, procedure: str) -> Counter:
    return Counter(db, officer, procedure)


def claim(client: Any, who: Person, code: str, cccd: str) -> Any:
    return client.post(CLAIM, headers=who.headers, json={"code": code, "cccd": cccd})


def verify(client: Any, who: Person, code: str, otp: str) -> Any:
    return client.post(VERIFY, headers=who.headers, json={"code": code, "otp": otp})


def otp_of(db: Database, user_id: int) -> str:
    n = db.run(lambda s: s.scalars(select(Notification).where(
        Notification.user_id == user_id, Notification.event == "code.claim").order_by(Notification.id.desc())).first())
    assert n is not None
    return str(json.loads(n.context)["code"])


def other(otp: str) -> str:
    return f"{(int(otp) + 1) % 10**6:06d}"


def owner_of(db: Database, dossier_id: int) -> int:
    return int(db.run(lambda s: s.get(Dossier, dossier_id).owner_id))


def test_the_applicant_claims_a_counter_dossier(client: Any, db: Database, counter: Counter) -> None:
    me = factories.citizen(db)
    r = claim(client, me, f" {counter.code.lower()} ", counter.cccd)
    assert r.status_code == 202, r.text
    body = r.json()
    local = "0" + counter.phone[1:]
    assert body["destination"] == local[:2] + "******" + local[-2:] and body["channel"] == "phone"
    assert body["dossier_code"] == counter.code and "no-store" in r.headers["cache-control"]
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC) + timedelta(minutes=9)
    otp = otp_of(db, me.id)
    sms = db.run(lambda s: s.scalars(select(Delivery).join(Notification, Notification.id == Delivery.notification_id)
                                     .where(Notification.user_id == me.id, Notification.event == "code.claim")).one())
    assert (sms.channel, sms.destination) == ("sms", "+84" + counter.phone[1:])  # the dossier's phone, not mine
    assert client.get(f"/api/v1/dossiers/{counter.id}", headers=me.headers).status_code == 404  # not yet

    ok = verify(client, me, counter.code, otp)
    assert ok.status_code == 200, ok.text
    assert ok.json()["id"] == counter.id and ok.json()["code"] == counter.code and ok.json()["channel"] == "counter"
    assert ok.json()["lookup_check"]  # the holder's view, as GET /api/v1/dossiers/{id}
    assert ok.json() == client.get(f"/api/v1/dossiers/{counter.id}", headers=me.headers).json()
    assert counter.id in [d["id"] for d in client.get("/api/v1/dossiers", headers=me.headers).json()]
    assert owner_of(db, counter.id) == me.id
    person, account = db.run(lambda s: (s.get(User, counter.person), s.get(User, me.id)))
    assert (person.kind, person.claimed_by, person.cccd, account.cccd) == ("person", me.id, None, counter.cccd)
    [claimed] = audit(db, "dossier.claimed", me.id)
    assert claimed["person"] == counter.person and claimed["cccd_moved"] is True
    assert db.run(lambda s: s.scalars(select(Notification).where(
        Notification.user_id == me.id, Notification.event == "dossier.claimed")).one()).dossier_id == counter.id
    assert [e["reason"] for e in audit(db, "dossier.claim_refused", me.id)] == []


def test_a_later_counter_intake_with_that_cccd_finds_the_account(client: Any, db: Database, officer: Person,
                                                                 counter: Counter) -> None:
    me = factories.citizen(db)
    assert claim(client, me, counter.code, counter.cccd).status_code == 202
    assert verify(client, me, counter.code, otp_of(db, me.id)).status_code == 200
    found = db.run(lambda s: ensure_person(s, officer.id, Applicant(full_name="Võ Thị Bảy", cccd=counter.cccd)).id)
    assert found == me.id


def test_refusals_about_the_dossier_are_one_answer(client: Any, db: Database, officer: Person, procedure: str,
                                                   counter: Counter) -> None:
    me = factories.citizen(db)
    someone = factories.citizen(db)
    online = factories.submitted(db, someone)
    online_code = db.run(lambda s: s.get(Dossier, online).code)
    no_contact = Counter(db, officer, procedure, phone=None)
    tries = [(counter.code, new_cccd()),  # wrong CCCD
             ("000.00.00.H56-991231-9999", counter.cccd),  # wrong code
             (online_code, new_cccd()),  # another account's dossier
             (no_contact.code, no_contact.cccd)]  # nowhere to send the code
    answers = [claim(client, me, code, cccd) for code, cccd in tries]
    for r in answers:
        is_problem(r, 404)
        assert r.json()["detail"] == REFUSED
    assert len({(r.status_code, r.text) for r in answers}) == 1
    assert [e["reason"] for e in audit(db, "dossier.claim_refused", me.id)] == [
        "wrong_cccd", "unknown_code", "not_a_person_record", "no_contact"]
    assert db.run(lambda s: s.scalars(select(OneTimeCode).where(OneTimeCode.user_id == me.id)).all()) == []
    assert owner_of(db, counter.id) == counter.person and owner_of(db, online) == someone.id


def test_bad_input_is_said_plainly(client: Any, db: Database, officer: Person, counter: Counter) -> None:
    me = factories.citizen(db)
    is_problem(claim(client, me, counter.code, "12345"), 400, "12 chữ số")
    is_problem(claim(client, me, "", counter.cccd), 400, "mã hồ sơ")
    r = client.post(CLAIM, headers=me.headers, json={"code": counter.code})
    assert r.status_code == 400
    assert client.post(CLAIM, json={"code": counter.code, "cccd": counter.cccd}).status_code == 401
    is_problem(claim(client, officer, counter.code, counter.cccd), 403, "công dân")
    assert audit(db, "dossier.claim_refused", me.id) == []


def test_an_account_with_another_cccd_is_refused(client: Any, db: Database, counter: Counter) -> None:
    me = factories.citizen(db)
    db.run(lambda s: setattr(s.get(User, me.id), "cccd", new_cccd()))
    is_problem(claim(client, me, counter.code, counter.cccd), 400, "khác số CCCD của tài khoản")
    assert owner_of(db, counter.id) == counter.person


def test_five_wrong_codes_end_it_an_old_code_and_reuse_do_not_work(client: Any, db: Database,
                                                                    counter: Counter) -> None:
    me = factories.citizen(db)
    assert claim(client, me, counter.code, counter.cccd).status_code == 202
    otp = otp_of(db, me.id)
    for _ in range(5):
        is_problem(verify(client, me, counter.code, other(otp)), 400, "không đúng")
    is_problem(verify(client, me, counter.code, otp), 400, "hết hạn")  # five tries end the code
    assert owner_of(db, counter.id) == counter.person
    assert claim(client, me, counter.code, counter.cccd).status_code == 202  # a new code
    fresh = otp_of(db, me.id)
    if fresh != otp:
        is_problem(verify(client, me, counter.code, otp), 400)  # the old one was superseded
    assert verify(client, me, counter.code, fresh).status_code == 200
    is_problem(verify(client, me, counter.code, fresh), 409, "đã có trong tài khoản")  # once
    is_problem(claim(client, me, counter.code, counter.cccd), 409, "đã có trong tài khoản")
    reasons = [e["reason"] for e in audit(db, "dossier.claim_code_refused", me.id)]
    assert reasons[:6] == ["wrong"] * 5 + ["none_or_expired"]


def test_an_expired_code_does_not_work(client: Any, db: Database, counter: Counter) -> None:
    me = factories.citizen(db)
    assert claim(client, me, counter.code, counter.cccd).status_code == 202
    otp = otp_of(db, me.id)

    def expire(s: Session) -> None:
        for row in s.scalars(select(OneTimeCode).where(OneTimeCode.user_id == me.id)):
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)

    db.run(expire)
    is_problem(verify(client, me, counter.code, otp), 400, "hết hạn")
    assert owner_of(db, counter.id) == counter.person


def test_a_code_claims_only_its_dossier(client: Any, db: Database, officer: Person, procedure: str,
                                        counter: Counter) -> None:
    me = factories.citizen(db)
    second = Counter(db, officer, procedure, phone=counter.phone)
    assert claim(client, me, counter.code, counter.cccd).status_code == 202
    otp = otp_of(db, me.id)
    is_problem(verify(client, me, second.code, otp), 404)  # a CCCD was never proved for it
    assert owner_of(db, second.id) == second.person


def test_a_second_account_cannot_claim_after_the_first(client: Any, db: Database, officer: Person, procedure: str,
                                                        counter: Counter) -> None:
    first, second = factories.citizen(db), factories.citizen(db)
    assert claim(client, first, counter.code, counter.cccd).status_code == 202
    assert claim(client, second, counter.code, counter.cccd).status_code == 202  # both were given a code
    second_otp = otp_of(db, second.id)
    assert verify(client, first, counter.code, otp_of(db, first.id)).status_code == 200
    is_problem(verify(client, second, counter.code, second_otp), 404)
    is_problem(claim(client, second, counter.code, counter.cccd), 404)
    assert owner_of(db, counter.id) == first.id
    # the person's other dossiers are not moved; each is claimed on its own, into the first account only
    more = Counter(db, officer, procedure, cccd=None)
    db.run(lambda s: setattr(s.get(Dossier, more.id), "owner_id", counter.person))
    assert owner_of(db, more.id) == counter.person
    is_problem(claim(client, second, more.code, counter.cccd), 404)
    assert claim(client, first, more.code, counter.cccd).status_code == 202
    assert verify(client, first, more.code, otp_of(db, first.id)).status_code == 200
    assert owner_of(db, more.id) == first.id
    assert [e["reason"] for e in audit(db, "dossier.claim_refused", second.id)] == [
        "not_a_person_record", "not_a_person_record", "claimed_by_another"]


def test_an_e_mail_contact_gets_the_code_when_there_is_no_phone(client: Any, db: Database, officer: Person,
                                                                 procedure: str) -> None:
    d = Counter(db, officer, procedure, phone=None, email="bay.vo@example.com")
    me = factories.citizen(db)
    r = claim(client, me, d.code, d.cccd)
    if r.status_code == 202:  # e-mail codes need an SMTP server here (enqueue_code: no channel, no code)
        assert (r.json()["channel"], r.json()["destination"]) == ("email", "b***@example.com")


@pytest.fixture
def locks(db: Database) -> Iterator[list[tuple[ratelimit.Limit, str]]]:
    """The limits a test crossed, forgotten afterwards so no lock is left for the others."""
    crossed: list[tuple[ratelimit.Limit, str]] = []
    yield crossed
    def forget(s: Session) -> None:
        for limit, key in crossed:
            ratelimit.reset(s, limit, key)

    db.run(forget)


def test_refused_claims_are_limited_per_account(client: Any, db: Database, counter: Counter,
                                                locks: list[tuple[ratelimit.Limit, str]]) -> None:
    me = factories.citizen(db)
    locks.append((web_claim.CLAIM_MISS_ACCOUNT, str(me.id)))
    for _ in range(5):
        is_problem(claim(client, me, counter.code, new_cccd()), 404)
    locks.append((web_claim.CLAIM_MISS_CODE, counter.code))
    r = claim(client, me, counter.code, counter.cccd)  # even the right CCCD, while locked
    is_problem(r, 429, "quá nhiều lần")
    assert int(r.headers["retry-after"]) > 0
    [limited] = audit(db, "claim.limited", me.id)[:1]
    assert limited["limit"] in ("claim-miss-account", "claim-miss-code")
    assert len(audit(db, "dossier.claim_refused", me.id)) == 5  # the refusal while locked writes nothing


def test_refused_claims_are_limited_per_dossier_code(client: Any, db: Database, counter: Counter,
                                                     locks: list[tuple[ratelimit.Limit, str]]) -> None:
    locks.append((web_claim.CLAIM_MISS_CODE, counter.code))
    for _ in range(5):  # five accounts, one wrong CCCD each
        is_problem(claim(client, factories.citizen(db), counter.code, new_cccd()), 404)
    holder = factories.citizen(db)
    is_problem(claim(client, holder, counter.code, counter.cccd), 429, "tạm thời bị khoá")
    assert owner_of(db, counter.id) == counter.person


def test_claims_are_limited_per_address(client: Any, db: Database, counter: Counter,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    address = f"203.0.113.{random.randrange(1, 250)}"
    monkeypatch.setattr(web_claim, "client_ip", lambda request: address)
    key = f"{web_claim.CLAIM_CLIENT.name}:{address}"
    db.run(lambda s: s.merge(RateCounter(key=key, window_start=datetime.now(UTC), count=10**6,
                                         blocked_until=datetime.now(UTC) + timedelta(minutes=5))))
    try:
        me = factories.citizen(db)
        r = claim(client, me, counter.code, counter.cccd)
        is_problem(r, 429, "quá nhiều lần")
        assert 0 < int(r.headers["retry-after"]) <= 301
        is_problem(verify(client, me, counter.code, "123456"), 429)
    finally:
        db.run(lambda s: ratelimit.reset(s, web_claim.CLAIM_CLIENT, address))
    assert owner_of(db, counter.id) == counter.person
