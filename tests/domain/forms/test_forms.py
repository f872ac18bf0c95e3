"""Forms 01–06 of Circular 03/2025/TT-VPCP issued by the workflow's events for real dossiers: numbered per
unit and year, with the header of an administrative document and their fields; text PDFs with the fonts
embedded; the applicant's inbox and wallet; nobody else's."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, date, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.calendar.store import load_calendar
from domain.db import Database
from domain.documents.stored import StoredFile
from domain.dossiers import backoffice, commands
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier, WalletDocument
from domain.errors import NotFound
from domain.forms import access
from domain.forms.issue import next_seq
from domain.forms.models import IssuedForm
from domain.forms.render import MOTTO, FormView, pdf_of, unit_symbol, view_of
from domain.intake.receipt import receipt_of, receipt_pdf
from domain.outbox.models import Notification
from domain.workflow import Actor
from tests import factories
from tests.factories import FEE_UNIT


@pytest.fixture(scope="module")
def db(catalogue_db: str) -> Database:
    return Database(catalogue_db)


@pytest.fixture(scope="module")
def staff(db: Database) -> factories.Person:
    return factories.receiver(db, FEE_UNIT, ("receiver", "processor", "unit_admin"), full_name="Lê Thị Tiếp Nhận")


def _act(db: Database, staff: factories.Person, dossier_id: int, action: str, **body: Any) -> None:
    version = db.read_sync(lambda s: s.get(Dossier, dossier_id).version)
    db.run(lambda s: backoffice.act(s, staff.id, dossier_id, action,
                                    commands.decode(action, json.dumps({"version": version, **body}).encode())))


def _forms(db: Database, dossier_id: int) -> list[IssuedForm]:
    return db.read_sync(lambda s: list(s.scalars(select(IssuedForm).where(IssuedForm.dossier_id == dossier_id)
                                                 .order_by(IssuedForm.id))))


def _view(db: Database, row: IssuedForm) -> FormView:
    return db.read_sync(lambda s: view_of(s, row, lookup_url="https://dichvucong.example.gov.vn/tra-cuu?ma=X"))


def _next_working_day_after(db: Database, dossier_id: int) -> date:
    def run(s: Session) -> date:
        d = s.get(Dossier, dossier_id)
        assert d is not None and d.due_at is not None
        cal, day = load_calendar(s), d.due_at.date() + timedelta(days=1)
        while not cal.is_working_day(day):
            day += timedelta(days=1)
        return day
    return db.read_sync(run)


@pytest.fixture(scope="module")
def handled(db: Database, staff: factories.Person) -> tuple[factories.Person, int]:
    """A citizen's dossier received (01), assigned (06), apologised for (04) and stopped (05)."""
    owner = factories.citizen(db, full_name="Phạm Thị Hồng Nhung")
    dossier_id = factories.submitted(db, owner)
    _act(db, staff, dossier_id, "receive")
    _act(db, staff, dossier_id, "assign", to_user=staff.id, step_due_date=str(date.today() + timedelta(days=30)))
    _act(db, staff, dossier_id, "apologize", new_due_date=str(_next_working_day_after(db, dossier_id)),
         reason="Cần xác minh thêm tại nơi cư trú")

    def stop(s: Session) -> None:
        d = s.get(Dossier, dossier_id)
        assert d is not None
        fire(s, d, "stop", actor_id=staff.id, actors={Actor.PROCESSOR}, reason="Chờ kết luận của cơ quan điều tra")

    db.run(stop)
    return owner, dossier_id


def test_each_event_issues_its_form_numbered_in_the_units_series(db: Database, handled: tuple[Any, int]) -> None:
    _, dossier_id = handled
    rows = _forms(db, dossier_id)
    assert [r.form for r in rows] == ["01", "06", "04", "05"]
    assert {r.unit_code for r in rows} == {FEE_UNIT} and len({r.year for r in rows}) == 1
    seqs = [r.seq for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4  # one series for the unit's forms, never reused


def test_the_receipt_has_the_header_number_and_fields(db: Database, handled: tuple[Any, int]) -> None:
    _, dossier_id = handled
    row = _forms(db, dossier_id)[0]
    v = _view(db, row)
    d = db.read_sync(lambda s: s.get(Dossier, dossier_id))
    assert d is not None and d.code and d.due_at
    assert v.unit == "CÔNG AN PHƯỜNG TÂN NINH" and v.motto == MOTTO
    assert v.number == f"Số: {row.seq:02d}/TN-CA"
    local = row.issued_at.astimezone(UTC) + timedelta(hours=7)
    assert v.place_date == f"Tân Ninh, ngày {local:%d} tháng {local:%m} năm {local:%Y}"
    assert v.title == "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
    fields = dict(v.fields)
    assert fields["Mã hồ sơ"] == d.code and fields["Người nộp hồ sơ"] == "Phạm Thị Hồng Nhung"
    assert fields["Ngày hẹn trả kết quả"] != "—"  # the appointment set after the event fired, at commit
    assert v.signer_name == "Lê Thị Tiếp Nhận"


def test_the_apology_the_stop_and_the_control_sheet(db: Database, handled: tuple[Any, int]) -> None:
    _, dossier_id = handled
    _, sheet, apology, stop = _forms(db, dossier_id)
    a = _view(db, apology)
    assert a.number.endswith("/XL-CA") and a.addressee == "Kính gửi: Phạm Thị Hồng Nhung"
    fields = dict(a.fields)
    assert fields["Ngày hẹn trả kết quả mới"] != fields["Ngày hẹn trả kết quả trước đây"] != "—"
    assert a.items == ["Cần xác minh thêm tại nơi cư trú"]
    s = _view(db, stop)
    assert s.title == "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" and s.items == ["Chờ kết luận của cơ quan điều tra"]
    c = _view(db, sheet)
    assert c.table is not None and c.table.columns[1:3] == ("Bên giao", "Bên nhận")
    received, assigned = c.table.rows
    assert received[1] == "Người nộp: Phạm Thị Hồng Nhung" and received[2] == "Công an Phường Tân Ninh"
    assert assigned[2] == "Công an Phường Tân Ninh (Lê Thị Tiếp Nhận)" and assigned[5] == "Đang xử lý"


def test_a_supplement_request_and_a_refusal(db: Database, staff: factories.Person) -> None:
    owner = factories.citizen(db)
    asked, refused = factories.submitted(db, owner), factories.submitted(db, owner)
    _act(db, staff, asked, "request_supplement", missing=["Bản sao giấy khai sinh", "Ảnh 4x6"])
    _act(db, staff, refused, "refuse_intake", reason="Thủ tục không thuộc thẩm quyền của đơn vị")
    (row,), (no,) = _forms(db, asked), _forms(db, refused)
    v = _view(db, row)
    assert row.form == "02" and v.number.endswith("/BS-CA")
    assert v.items == ["Bản sao giấy khai sinh", "Ảnh 4x6"]
    r = _view(db, no)
    assert no.form == "03" and r.title == "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"
    assert r.items == ["Thủ tục không thuộc thẩm quyền của đơn vị"]


def _embedded_fonts(reader: PdfReader) -> int:
    """How many fonts of the PDF carry a TrueType file in their descriptor; every font must."""
    found = 0
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for ref in resources["/Font"].values():
            font: Any = ref.get_object()
            descriptor: Any = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor, font
            found += 1
    return found


def test_pdfs_open_carry_their_fonts_and_vietnamese_text(db: Database, handled: tuple[Any, int]) -> None:
    _, dossier_id = handled
    for row in _forms(db, dossier_id):
        v = _view(db, row)
        reader = PdfReader(io.BytesIO(pdf_of(v)))
        text = " ".join(p.extract_text() for p in reader.pages)
        for line in (*MOTTO, v.unit, v.number, v.place_date, v.code):
            assert line in text, (row.form, line)
        assert "Phạm Thị Hồng Nhung" in text
        assert _embedded_fonts(reader) >= 2, row.form  # regular and bold, each with its FontFile2


def test_numbers_per_unit_and_year_without_gaps_or_reuse(db: Database) -> None:
    a, b = f"T.{uuid.uuid4().hex[:10]}", f"T.{uuid.uuid4().hex[:10]}"

    def run(s: Session) -> list[int]:
        return [next_seq(s, a, 2026), next_seq(s, a, 2026), next_seq(s, b, 2026), next_seq(s, a, 2026),
                next_seq(s, a, 2027), next_seq(s, b, 2026)]

    assert db.run(run) == [1, 2, 1, 3, 1, 2]

    def rolled_back(s: Session) -> None:
        next_seq(s, a, 2026)
        raise RuntimeError("the use case fails")

    with pytest.raises(RuntimeError):
        db.run(rolled_back)
    assert db.run(lambda s: next_seq(s, a, 2026)) == 4  # a number given by a rolled-back transaction was never seen


def test_the_applicant_gets_an_inbox_item_and_the_pdf_in_the_wallet(db: Database, handled: tuple[Any, int]) -> None:
    owner, dossier_id = handled
    inbox = db.read_sync(lambda s: list(s.scalars(select(Notification).where(
        Notification.user_id == owner.id, Notification.event == "dossier.form_issued"))))
    assert len(inbox) == 4 and all(n.inbox and n.dossier_id == dossier_id for n in inbox)
    row = _forms(db, dossier_id)[0]
    pdf = pdf_of(_view(db, row))
    stored = StoredFile(storage_key=f"00/{uuid.uuid4().hex}", sha256=uuid.uuid4().hex * 2,
                        content_type="application/pdf", size=len(pdf), display_name="Mẫu 01.pdf", pages=1)
    doc_id = db.run(lambda s: access.record_pdf(s, row.id, stored))
    assert db.run(lambda s: access.record_pdf(s, row.id, stored)) == doc_id  # once
    doc = db.read_sync(lambda s: s.get(WalletDocument, doc_id))
    assert doc is not None and doc.owner_id == owner.id and doc.kind == "form"


def test_only_the_applicant_and_the_units_officers_read_it(db: Database, handled: tuple[Any, int],
                                                           staff: factories.Person) -> None:
    owner, dossier_id = handled
    row = _forms(db, dossier_id)[0]
    assert db.read_sync(lambda s: access.for_applicant(s, owner.id, dossier_id, row.id)[1].id) == row.id
    assert db.read_sync(lambda s: access.for_officer(s, staff.id, dossier_id, row.id)[1].id) == row.id
    other, stranger = factories.citizen(db), factories.receiver(db, "000.31.02.H56")
    with pytest.raises(NotFound):
        db.read_sync(lambda s: access.for_applicant(s, other.id, dossier_id, row.id))
    with pytest.raises(NotFound):
        db.read_sync(lambda s: access.for_officer(s, stranger.id, dossier_id, row.id))
    with pytest.raises(NotFound):  # a form of another dossier through this one
        db.read_sync(lambda s: access.for_applicant(s, owner.id, dossier_id, row.id + 10_000))


def test_unit_symbols() -> None:
    assert unit_symbol("UBND Phường Tân Ninh") == "UBND"
    assert unit_symbol("Sở Tư pháp tỉnh Tây Ninh") == "STP"
    assert unit_symbol("Trung tâm Phục vụ hành chính công tỉnh Tây Ninh") == "TTPVHCC"
    assert unit_symbol("Sở Nông nghiệp và Môi trường tỉnh Tây Ninh") == "SNNMT"


def test_the_counter_receipt_is_form_01_with_its_number_and_fonts(db: Database, procedure: str, client: Any) -> None:
    here = factories.receiver(db, client.get(f"/api/v1/procedures/{procedure}").json()["offer"]["unit_code"])
    dossier_id = factories.received_intake(db, here, procedure)
    receipt = db.read_sync(lambda s: receipt_of(s, here.id, dossier_id))
    assert receipt.form is not None and receipt.form.form == "01" and "/TN-" in receipt.form.number
    reader = PdfReader(io.BytesIO(receipt_pdf(receipt, "https://dichvucong.example.gov.vn/tra-cuu?ma=X")))
    text = reader.pages[0].extract_text()
    assert receipt.form.number in text and MOTTO[0] in text and "Võ Thị Bảy" in text and receipt.code in text
    assert _embedded_fonts(reader) >= 2
