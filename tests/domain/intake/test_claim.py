"""The claim core (domain.intake.claim): which counter dossiers an account may claim, the one refusal for all
the rest (its reason audited), and what a claim moves: the owner, the CCCD when the account has none, the
dossier's pages and results; never the person's other dossiers, never its status."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.accounts.models import User
from domain.catalog.models import Offering
from domain.db import Database
from domain.dossiers.models import Dossier, DossierDocument, DossierHistory, WalletDocument
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.intake.claim import REFUSED, ClaimTarget, complete_claim, mask, pending_claim, start_claim
from domain.intake.persons import Applicant
from tests import factories
from tests.factories import Person
from tests.helpers import audit, new_phone
from tests.helpers import new_cccd as cccd


@pytest.fixture(scope="module")
def db(catalogue_db: str) -> Database:
    return Database(catalogue_db)


@pytest.fixture(scope="module")
def officer(db: Database, procedure: str) -> Person:
    deciding = db.run(lambda s: str(s.get(Offering, procedure).unit_code))
    return factories.receiver(db, deciding, ("receiver", "processor"))


def received(db: Database, officer: Person, procedure: str, number: str | None,
             phone: str | None = None) -> tuple[int, str, int]:
    applicant = Applicant(full_name="Trịnh Văn Tám", cccd=number, phone=phone or new_phone())
    dossier_id = factories.received_intake(db, officer, procedure, applicant=applicant)
    d = db.run(lambda s: s.get(Dossier, dossier_id))
    return dossier_id, str(d.code), int(d.owner_id)


def start(db: Database, user_id: int, code: str, number: str) -> ClaimTarget | NotFound:
    return db.run(lambda s: start_claim(s, user_id, code, number, ip="192.0.2.1"))


def test_masks_show_only_enough_to_recognise() -> None:
    assert mask("phone", "+84912345678") == "09******78"
    assert mask("email", "an.nguyen@example.com") == "a***@example.com"


def test_a_claim_moves_the_owner_the_cccd_and_the_pages(db: Database, officer: Person, procedure: str) -> None:
    number = cccd()
    dossier_id, code, person_id = received(db, officer, procedure, number, phone="0912345678")
    other_id, _other_code, _ = received(db, officer, procedure, number)  # the same person, another dossier
    me = factories.citizen(db)
    target = start(db, me.id, code, number)
    assert isinstance(target, ClaimTarget)
    assert (target.dossier_id, target.channel, target.destination, target.masked) == (
        dossier_id, "phone", "+84912345678", "09******78")
    history_before = db.run(lambda s: len(s.scalars(select(DossierHistory).where(
        DossierHistory.dossier_id == dossier_id)).all()))
    db.run(lambda s: complete_claim(s, me.id, target, ip="192.0.2.1"))

    d, person, account = db.run(lambda s: (s.get(Dossier, dossier_id), s.get(User, person_id), s.get(User, me.id)))
    assert d.owner_id == me.id and d.status == "received"
    assert (person.kind, person.cccd, person.claimed_by, account.cccd) == ("person", None, me.id, number)
    pages = db.run(lambda s: s.scalars(select(WalletDocument.owner_id).join(
        DossierDocument, DossierDocument.document_id == WalletDocument.id).where(
        DossierDocument.dossier_id == dossier_id)).all())
    assert pages and set(pages) == {me.id}
    assert db.run(lambda s: s.get(Dossier, other_id).owner_id) == person_id  # not moved silently
    assert db.run(lambda s: len(s.scalars(select(DossierHistory).where(
        DossierHistory.dossier_id == dossier_id)).all())) == history_before  # ownership, not a state change
    [row] = audit(db, "dossier.claimed", me.id)
    assert row["person"] == person_id and row["documents"] == len(pages)

    # the other dossier of that person: claimable into this account only, by the CCCD now on it
    again = start(db, me.id, _other_code, number)
    assert isinstance(again, ClaimTarget) and again.dossier_id == other_id
    stranger = factories.citizen(db)
    refused = start(db, stranger.id, _other_code, number)
    assert isinstance(refused, NotFound) and refused.detail == REFUSED
    assert [r["reason"] for r in audit(db, "dossier.claim_refused", stranger.id)] == ["claimed_by_another"]


def test_the_refusals_are_one_and_their_reasons_are_audited(db: Database, officer: Person, procedure: str) -> None:
    number = cccd()
    _id, code, _ = received(db, officer, procedure, number)
    _none_id, no_cccd_code, _ = received(db, officer, procedure, None)
    me = factories.citizen(db)
    answers = [start(db, me.id, code, cccd()), start(db, me.id, "KHONG-CO-MA", number),
               start(db, me.id, no_cccd_code, number)]
    assert all(isinstance(a, NotFound) and a.detail == REFUSED for a in answers)
    assert [r["reason"] for r in audit(db, "dossier.claim_refused", me.id)] == [
        "wrong_cccd", "unknown_code", "wrong_cccd"]
    with pytest.raises(InvalidInput, match="12 chữ số"):
        start(db, me.id, code, "0790")
    with pytest.raises(InvalidInput, match="mã hồ sơ"):
        start(db, me.id, "  ", number)
    with pytest.raises(Forbidden):
        start(db, officer.id, code, number)


def test_the_pending_claim_needs_a_code_asked_for_it(db: Database, officer: Person, procedure: str) -> None:
    number = cccd()
    dossier_id, code, _ = received(db, officer, procedure, number)
    me = factories.citizen(db)
    never = db.run(lambda s: pending_claim(s, me.id, code, lambda _id: False))
    assert isinstance(never, NotFound)
    asked = db.run(lambda s: pending_claim(s, me.id, code, lambda d_id: d_id == dossier_id))
    assert isinstance(asked, ClaimTarget) and asked.dossier_id == dossier_id
    db.run(lambda s: complete_claim(s, me.id, asked))
    with pytest.raises(Conflict):
        db.run(lambda s: pending_claim(s, me.id, code, lambda _id: True))
    with pytest.raises(Conflict):
        start(db, me.id, code, number)


def test_an_account_with_its_own_cccd_keeps_it(db: Database, officer: Person, procedure: str) -> None:
    number = cccd()
    _id, code, person_id = received(db, officer, procedure, number)
    me = factories.citizen(db)
    own = cccd()
    db.run(lambda s: setattr(s.get(User, me.id), "cccd", own))
    with pytest.raises(InvalidInput, match="khác số CCCD của tài khoản"):
        start(db, me.id, code, number)
    refused = start(db, me.id, code, own)  # its own CCCD is not the person record's
    assert isinstance(refused, NotFound)
    assert db.run(lambda s: s.get(User, person_id).cccd) == number
