"""Digitisation records (issue 14, point 4) of each kind of component, on every channel: scanned at the counter
(who, when, which unit, pages), uploaded online by the applicant, reused from the wallet, from another dossier's
documents or from an issued result (each with its origin), not kept; the paper's validity date; and the figures
they are the only source of, which never count a component without a file as digitised.

There is no source of the kind ``national`` (taken from the national data store) in the code yet: nothing
writes it; the figures count such a record as reused, as the last test shows with a record written by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.calendar.engine import TZ
from domain.db import Database
from domain.dossiers.filing import add_to_wallet, attach, ensure_form, submit
from domain.dossiers.models import DigitisationRecord, Dossier, DossierResult, WalletDocument
from domain.errors import InvalidInput
from domain.intake import digitisation
from domain.intake.counter import digitisation_records, mark_not_kept, receive_intake, set_validity
from tests import factories
from tests.helpers import ADDRESS

FIELDS = {"applicant_cccd": "072090001234", "applicant_phone": "0912345678", "applicant_address": ADDRESS,
          "request": "Đề nghị giải quyết"}
BIRTH = "1.001193"  # đăng ký khai sinh: its proof of residence may be "seen, no copy kept" (copy_optional)
BIRTH_DATA = {"applicant_cccd": "072090001234", "applicant_phone": "0912345678", "applicant_address": ADDRESS,
              "relationship": "cha", "child_name": "Nguyễn Văn Bé", "child_birth_date": "2026-01-15",
              "child_gender": "nam", "child_ethnicity": "kinh", "child_nationality": "viet_nam",
              "birth_place": "Bệnh viện Đa khoa tỉnh", "hometown": "Tây Ninh", "commitment": True}


@pytest.fixture(scope="module")
def db(catalogue_db: str) -> Database:
    return Database(catalogue_db)


@pytest.fixture(scope="module")
def world(db: Database, client: Any, procedure: str) -> dict[str, Any]:
    unit = client.get(f"/api/v1/procedures/{procedure}").json()["offer"]["unit_code"]
    slots = db.run(lambda s: [d["slot"] for d in json.loads(ensure_form(s, procedure).schema)["documents"]
                              if d["required"]])
    assert slots, f"{procedure} has no required paper"
    return {"code": procedure, "unit": unit, "slots": slots, "officer": factories.receiver(db, unit)}


def record(db: Database, dossier_id: int, slot: str) -> DigitisationRecord:
    rec: DigitisationRecord | None = db.run(lambda s: s.scalar(select(DigitisationRecord).where(
        DigitisationRecord.dossier_id == dossier_id, DigitisationRecord.slot == slot)))
    assert rec is not None, f"no record for {slot}"
    return rec


def figures(db: Database, unit: str) -> digitisation.Figures:
    return db.run(lambda s: digitisation.figures(s, unit_code=unit))


def test_scanned_at_the_counter_says_who_when_where_and_how_many_pages(db: Database, world: dict[str, Any]) -> None:
    officer, first = world["officer"], world["slots"][0]
    before = figures(db, world["unit"])
    t0 = datetime.now(UTC)
    dossier_id = factories.intake_draft(db, officer, world["code"], data=FIELDS)

    def scan(s: Session) -> None:
        for slot in world["slots"]:
            attach(s, officer.id, dossier_id, slot, stored=factories.page(), intake_officer=True)
        attach(s, officer.id, dossier_id, first, stored=factories.page("trang 2.jpg"), intake_officer=True)

    db.run(scan)
    assert figures(db, world["unit"]) == before  # a draft's pages count for nothing yet
    db.run(lambda s: receive_intake(s, officer.id, dossier_id, amr="webauthn"))
    rec = record(db, dossier_id, first)
    assert (rec.kind, rec.pages, rec.by_user, rec.unit_code) == ("digitised", 2, officer.id, world["unit"])
    assert rec.document_id is not None and t0 <= rec.at.replace(tzinfo=rec.at.tzinfo or UTC) <= datetime.now(UTC)
    assert (rec.origin_dossier_id, rec.origin_result_id, rec.origin_ref, rec.valid_until) == (None, None, None, None)
    after = figures(db, world["unit"])
    assert after.components_digitised - before.components_digitised == len(world["slots"])
    assert (after.dossiers_digitised - before.dossiers_digitised, after.components_reused) == (
        1, before.components_reused)


def test_uploaded_online_by_the_applicant(db: Database, world: dict[str, Any]) -> None:
    citizen = factories.citizen(db)
    dossier_id = factories.draft(db, citizen, world["code"], data={"applicant_name": "Phạm Thị Dung", **FIELDS})
    for slot in world["slots"]:
        db.run(lambda s, slot=slot: attach(s, citizen.id, dossier_id, slot, stored=factories.page()))
    before = figures(db, world["unit"])
    db.run(lambda s: submit(s, citizen.id, dossier_id))
    rec = record(db, dossier_id, world["slots"][0])
    assert (rec.kind, rec.pages, rec.by_user, rec.unit_code) == ("digitised", 1, citizen.id, world["unit"])
    assert db.run(lambda s: s.get(Dossier, dossier_id).channel) == "online"
    assert figures(db, world["unit"]).components_digitised - before.components_digitised == len(world["slots"])


def _reusable(db: Database, owner: int, officer: int, code: str, slot: str) -> dict[str, int]:
    """Documents of ``owner``: one kept in the wallet alone, one of an earlier dossier, an issued result."""
    earlier = factories.draft(db, owner, code)

    def run(s: Session) -> dict[str, int]:
        kept = add_to_wallet(s, owner, factories.page("giay to trong vi.jpg"))
        shared = attach(s, owner, earlier, slot, stored=factories.page("giay to ho so cu.jpg")).id
        paper = factories.page("ket qua.pdf")
        result = DossierResult(public_id=f"dg{shared}", dossier_id=earlier, storage_key=paper.storage_key,
                               sha256=paper.sha256, content_type="application/pdf", size=1, title="Kết quả",
                               prepared_by=officer, prepared_at=datetime.now(UTC), issued_at=datetime.now(UTC))
        issued = WalletDocument(owner_id=owner, storage_key=paper.storage_key, sha256=paper.sha256,
                                content_type="application/pdf", size=1, display_name="Kết quả", kind="result",
                                pages=3, created_at=datetime.now(UTC))
        s.add_all([result, issued])
        s.flush()
        return {"wallet": kept.id, "dossier": shared, "result": issued.id, "earlier": earlier,
                "result_id": result.id}

    return db.run(run)


def test_reused_from_the_wallet_another_dossier_or_a_result_links_its_origin(db: Database,
                                                                            world: dict[str, Any]) -> None:
    officer, slot = world["officer"], world["slots"][0]
    citizen = factories.citizen(db)
    docs = _reusable(db, citizen.id, officer.id, world["code"], slot)
    before = figures(db, world["unit"])
    received = []
    for kind in ("wallet", "dossier", "result"):
        dossier_id = factories.intake_draft(db, officer, world["code"], person_id=citizen.id, data=FIELDS)

        def fill(s: Session, dossier_id: int = dossier_id, kind: str = kind) -> None:
            attach(s, officer.id, dossier_id, slot, document_id=docs[kind], intake_officer=True)
            for other in world["slots"][1:]:
                attach(s, officer.id, dossier_id, other, stored=factories.page(), intake_officer=True)
            receive_intake(s, officer.id, dossier_id, amr="webauthn")

        db.run(fill)
        received.append(dossier_id)
    wallet, dossier, result = (record(db, d, slot) for d in received)
    assert (wallet.kind, wallet.document_id, wallet.origin_dossier_id, wallet.origin_result_id) == (
        "wallet", docs["wallet"], None, None)
    assert (dossier.kind, dossier.document_id, dossier.origin_dossier_id) == ("dossier", docs["dossier"],
                                                                             docs["earlier"])
    assert (result.kind, result.document_id, result.origin_result_id, result.pages) == (
        "result", docs["result"], docs["result_id"], 3)
    assert {r.unit_code for r in (wallet, dossier, result)} == {world["unit"]}
    assert {r.by_user for r in (wallet, dossier, result)} == {officer.id}
    after = figures(db, world["unit"])
    assert (after.components_reused - before.components_reused, after.dossiers_reused - before.dossiers_reused) == (
        3, 3)
    # the other slots were scanned: digitised, and reuse is never counted as digitised
    assert after.components_digitised - before.components_digitised == 3 * (len(world["slots"]) - 1)


def test_seen_not_kept_has_no_file_and_is_never_digitised(db: Database) -> None:
    officer = factories.receiver(db, factories.FEE_UNIT)  # 1.001193 is receivable at every counter
    dossier_id = factories.intake_draft(db, officer, BIRTH, data=BIRTH_DATA)
    before = figures(db, factories.FEE_UNIT)

    def fill(s: Session) -> None:
        attach(s, officer.id, dossier_id, "giay_chung_sinh", stored=factories.page(), intake_officer=True)
        mark_not_kept(s, officer.id, dossier_id, "giay_to_cu_tru")
        receive_intake(s, officer.id, dossier_id, amr="webauthn")

    db.run(fill)
    rec = record(db, dossier_id, "giay_to_cu_tru")
    assert (rec.kind, rec.document_id, rec.pages, rec.by_user, rec.unit_code) == (
        "not_kept", None, 0, officer.id, factories.FEE_UNIT)
    after = figures(db, factories.FEE_UNIT)
    assert after.components_digitised - before.components_digitised == 1  # the birth certificate only
    assert after.components_reused == before.components_reused
    # a slot with neither a file nor "not kept" has no record at all
    assert {r.slot for r in db.run(lambda s: digitisation.records(s, dossier_id))} == {"giay_chung_sinh",
                                                                                       "giay_to_cu_tru"}


def test_the_validity_date_of_a_paper(db: Database, world: dict[str, Any]) -> None:
    officer, slot = world["officer"], world["slots"][0]
    dossier_id = factories.intake_draft(db, officer, world["code"], data=FIELDS)
    today = datetime.now(TZ).date()
    with pytest.raises(InvalidInput, match="chưa có giấy tờ"):
        db.run(lambda s: set_validity(s, officer.id, dossier_id, slot, today))
    db.run(lambda s: attach(s, officer.id, dossier_id, slot, stored=factories.page(), intake_officer=True))
    with pytest.raises(InvalidInput, match="hết hiệu lực"):
        db.run(lambda s: set_validity(s, officer.id, dossier_id, slot, today - timedelta(days=1)))
    with pytest.raises(InvalidInput, match="không tồn tại"):
        db.run(lambda s: set_validity(s, officer.id, dossier_id, "khong_co", today))
    until = today + timedelta(days=180)
    db.run(lambda s: set_validity(s, officer.id, dossier_id, slot, until))
    assert record(db, dossier_id, slot).valid_until == until
    db.run(lambda s: set_validity(s, officer.id, dossier_id, slot, None))  # none stated after all
    assert record(db, dossier_id, slot).valid_until is None
    db.run(lambda s: set_validity(s, officer.id, dossier_id, slot, until))

    def rest(s: Session) -> None:
        for other in world["slots"][1:]:
            attach(s, officer.id, dossier_id, other, stored=factories.page(), intake_officer=True)
        receive_intake(s, officer.id, dossier_id, amr="webauthn")

    db.run(rest)
    assert record(db, dossier_id, slot).valid_until == until  # kept through the receipt
    assert [(r.slot, r.valid_until) for r in db.run(lambda s: digitisation_records(s, officer.id, dossier_id))
            if r.slot == slot] == [(slot, until)]


def test_figures_count_only_records_with_a_file_of_filed_dossiers(db: Database, world: dict[str, Any]) -> None:
    unit = "000.31.01.H56"  # a unit of its own for these records written by hand
    officer = factories.receiver(db, world["unit"])
    filed, draft = (factories.received_intake(db, officer, world["code"]),
                    factories.intake_draft(db, officer, world["code"]))
    before = figures(db, unit)
    document = db.run(lambda s: s.scalar(select(DigitisationRecord.document_id).where(
        DigitisationRecord.dossier_id == filed).limit(1)))

    def write(s: Session) -> None:
        now = datetime.now(UTC)
        rows = [("national", filed, "x1", document, 1, "CSDLQG-DC:072090001234"),  # from the national data store
                ("digitised", filed, "x2", None, 1, None),  # no file: not digitised, whatever it says
                ("digitised", filed, "x3", document, 0, None),  # no page: not digitised either
                ("digitised", draft, "x4", document, 1, None)]  # a draft's: not filed
        s.add_all([DigitisationRecord(kind=k, dossier_id=d, slot=slot, document_id=doc, pages=pages, origin_ref=ref,
                                      unit_code=unit, at=now, valid_until=date(2030, 1, 1))
                   for k, d, slot, doc, pages, ref in rows])

    db.run(write)
    try:
        after = figures(db, unit)
        assert (after.components_digitised, after.dossiers_digitised) == (before.components_digitised,
                                                                          before.dossiers_digitised)
        assert (after.components_reused - before.components_reused,
                after.dossiers_reused - before.dossiers_reused) == (1, 1)
    finally:  # leave nothing behind: these rows were written by hand
        db.run(lambda s: s.execute(delete(DigitisationRecord).where(DigitisationRecord.unit_code == unit,
                                                                    DigitisationRecord.slot.like("x_"))))
