"""The intake core: person records (a CCCD known links, never duplicates), receivers only, digitisation records
of each kind as pages are attached, and the figures they are the only source of."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounts.models import User
from domain.db import Database
from domain.dossiers.filing import add_to_wallet, attach, detach, ensure_form, submit
from domain.dossiers.models import DigitisationRecord, DossierDocument, DossierResult, WalletDocument
from domain.errors import Forbidden, InvalidInput
from domain.intake import digitisation
from domain.intake.counter import mark_not_kept
from domain.intake.persons import Applicant, ensure_person, find_persons
from tests import factories
from tests.factories import FEE_CODE, FEE_UNIT


@pytest.fixture(scope="module")
def db(catalogue_db: str) -> Database:
    return Database(catalogue_db)


@pytest.fixture(scope="module")
def officer(db: Database) -> factories.Person:
    return factories.receiver(db, FEE_UNIT)


def test_a_known_cccd_is_the_same_person(db: Database, officer: factories.Person) -> None:
    first = Applicant(full_name="Huỳnh Thị Năm", cccd="079300000555", phone="0933000555")
    again = Applicant(full_name="Huỳnh Thị Năm", cccd="079300000555", birth_date=date(1990, 5, 5), sex="nu")
    a = db.run(lambda s: ensure_person(s, officer.id, first).id)
    b = db.run(lambda s: ensure_person(s, officer.id, again).id)
    assert a == b
    person = db.run(lambda s: s.get(User, a))
    assert (person.kind, person.birth_date, person.sex, person.contact_phone) == ("person", date(1990, 5, 5), "nu",
                                                                                   "+84933000555")
    assert person.password_hash is None and person.phone is None  # no sign-in name: it never signs in
    hits = db.run(lambda s: find_persons(s, officer.id, phone="0933000555"))
    assert [(h.id, h.kind) for h in hits] == [(a, "person")]


def test_only_receivers_look_people_up(db: Database, officer: factories.Person) -> None:
    processor = factories.receiver(db, FEE_UNIT, ("processor",))
    with pytest.raises(Forbidden):
        db.run(lambda s: find_persons(s, processor.id, cccd="079300000555"))
    with pytest.raises(InvalidInput):
        db.run(lambda s: find_persons(s, officer.id))


def kinds(db: Database, dossier_id: int) -> dict[str, tuple[str, Any, Any, int]]:
    return {r.slot: (r.kind, r.origin_dossier_id, r.origin_result_id, r.pages) for r in db.run(
        lambda s: digitisation.records(s, dossier_id))}


def test_every_kind_of_component_has_its_record(db: Database, officer: factories.Person) -> None:
    citizen = factories.citizen(db)
    earlier = factories.draft(db, citizen, FEE_CODE)

    def setup(s: Session) -> tuple[int, int, int]:
        kept = add_to_wallet(s, citizen.id, factories.page("giay to cu.jpg"))
        shared = attach(s, citizen.id, earlier, "cho_o_hop_phap", stored=factories.page()).id
        result = factories.page("ket qua.pdf")
        s.add(DossierResult(public_id=f"r{shared}", dossier_id=earlier, storage_key=result.storage_key,
                            sha256=result.sha256, content_type="application/pdf", size=1, title="Kết quả",
                            prepared_by=officer.id, prepared_at=datetime.now(UTC)))
        issued = WalletDocument(owner_id=citizen.id, storage_key=result.storage_key, sha256=result.sha256,
                                content_type="application/pdf", size=1, display_name="Kết quả", kind="result",
                                created_at=datetime.now(UTC))
        s.add(issued)
        s.flush()
        return kept.id, shared, issued.id

    kept, shared, issued = db.run(setup)
    dossier_id = factories.intake_draft(db, officer, FEE_CODE, person_id=citizen.id)

    def scan(s: Session) -> None:
        attach(s, officer.id, dossier_id, "to_khai_ct01", stored=factories.page(), intake_officer=True)
        attach(s, officer.id, dossier_id, "to_khai_ct01", stored=factories.page(), intake_officer=True)
        attach(s, officer.id, dossier_id, "hop_dong_thue_muon", document_id=kept, intake_officer=True)
        attach(s, officer.id, dossier_id, "cho_o_hop_phap", document_id=shared, intake_officer=True)
        attach(s, officer.id, dossier_id, "xac_nhan_ubnd", document_id=issued, intake_officer=True)

    db.run(scan)
    result_id = db.run(lambda s: s.scalar(select(DossierResult.id).where(DossierResult.dossier_id == earlier)))
    assert kinds(db, dossier_id) == {"to_khai_ct01": ("digitised", None, None, 2),
                                     "hop_dong_thue_muon": ("wallet", None, None, 1),
                                     "cho_o_hop_phap": ("dossier", earlier, None, 1),
                                     "xac_nhan_ubnd": ("result", None, result_id, 1)}
    unit = db.run(lambda s: s.scalar(select(DigitisationRecord.unit_code).where(
        DigitisationRecord.dossier_id == dossier_id, DigitisationRecord.slot == "to_khai_ct01")))
    assert unit == FEE_UNIT  # digitised at the receiving unit
    # the officer's scans went to the applicant's wallet, not the officer's
    owners = db.run(lambda s: set(s.scalars(select(WalletDocument.owner_id).join(
        DossierDocument, DossierDocument.document_id == WalletDocument.id).where(
        DossierDocument.dossier_id == dossier_id))))
    assert owners == {citizen.id}
    # a slot whose last page goes has no record: it is not digitised
    page_id = db.run(lambda s: s.scalar(select(DossierDocument.id).where(
        DossierDocument.dossier_id == dossier_id, DossierDocument.slot == "xac_nhan_ubnd")))
    db.run(lambda s: detach(s, officer.id, dossier_id, page_id, intake_officer=True))
    assert "xac_nhan_ubnd" not in kinds(db, dossier_id)
    # "not kept" only where the form allows it
    with pytest.raises(InvalidInput, match="bản sao"):
        db.run(lambda s: mark_not_kept(s, officer.id, dossier_id, "giay_gioi_thieu"))


def test_the_figures_count_only_records_with_a_file(db: Database, officer: factories.Person, procedure: str,
                                                    client: Any) -> None:
    unit = client.get(f"/api/v1/procedures/{procedure}").json()["offer"]["unit_code"]
    here = factories.receiver(db, unit)
    before = db.run(lambda s: digitisation.figures(s, unit_code=unit))
    dossier_id = factories.received_intake(db, here, procedure)
    after = db.run(lambda s: digitisation.figures(s, unit_code=unit))
    slots = db.run(lambda s: s.scalar(select(func.count()).select_from(DigitisationRecord).where(
        DigitisationRecord.dossier_id == dossier_id)))
    assert slots >= 1
    assert after.components_digitised - before.components_digitised == slots
    assert after.dossiers_digitised - before.dossiers_digitised == 1
    assert after.components_reused == before.components_reused
    # an online filing gets its records at submit too; a draft's pages count for nothing until then
    citizen = factories.citizen(db)
    online = factories.draft(db, citizen, procedure, data={
        "applicant_name": "Phạm Thị Dung", "applicant_cccd": "072090001234", "applicant_phone": "0912345678",
        "applicant_address": {"province": 80, "ward": 25459, "street": "12 Đường 30/4"},
        "request": "Đề nghị giải quyết"})
    required = db.run(lambda s: [d["slot"] for d in json.loads(ensure_form(s, procedure).schema)["documents"]
                                 if d["required"]])
    for slot in required:
        db.run(lambda s, slot=slot: attach(s, citizen.id, online, slot, stored=factories.page()))
    assert db.run(lambda s: digitisation.figures(s, unit_code=unit)) == after
    db.run(lambda s: submit(s, citizen.id, online))
    assert [r.kind for r in db.run(lambda s: digitisation.records(s, online))] == ["digitised"] * len(required)
