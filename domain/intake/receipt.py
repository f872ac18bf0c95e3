"""The receipt of a dossier received at the counter or from the post (form 01, giấy tiếp nhận hồ sơ và hẹn trả
kết quả): what both skins print, for the receivers of the unit that received it (404 for anybody else). Its PDF is
form 01 as issued (:mod:`domain.forms`: numbered, header, fonts embedded) once the dossier has it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.calendar.engine import TZ
from domain.catalog.models import Procedure, Unit
from domain.dossiers.filing import dossier_documents, schema_of
from domain.dossiers.models import DigitisationRecord
from domain.forms.access import issued
from domain.forms.render import FormView, pdf_of, view_of
from domain.intake import counter
from domain.results import render_result_pdf

RETURNS = {"counter": "Tại nơi nộp hồ sơ", "online": "Trực tuyến (kết quả điện tử)", "post": "Qua bưu chính"}


class ReceivedDocument(msgspec.Struct):
    slot: str
    name: str
    pages: int  # 0: original seen, no copy kept
    not_kept: bool = False


class Receipt(msgspec.Struct):
    id: int
    code: str
    unit_name: str
    procedure_code: str
    procedure_name: str
    applicant: str
    channel: str
    received_at: datetime
    due_date: date | None
    return_method: str
    return_text: str  # Vietnamese, as printed
    return_address: str | None
    fee_vnd: int | None
    documents: list[ReceivedDocument]
    form: FormView | None = None  # form 01 as issued (its number, header and fields), when the dossier has it

    @property
    def lines(self) -> list[str]:
        """The lines printed under the heading of the PDF receipt."""
        due = f"Ngày hẹn trả kết quả: {self.due_date:%d/%m/%Y}" if self.due_date else "Ngày hẹn trả kết quả: —"
        returns = self.return_text + (f": {self.return_address}" if self.return_method == "post" else "")
        fee = f"Lệ phí: {self.fee_vnd:,} đồng".replace(",", ".") if self.fee_vnd else "Lệ phí: không"
        docs = [f"- {d.name}: " + ("đã xem bản chính, không lưu bản sao" if d.not_kept else f"{d.pages} trang")
                for d in self.documents]
        return [due, f"Hình thức nhận kết quả: {returns}", fee, *(["Giấy tờ đã nhận:", *docs] if docs else [])]


def receipt_of(session: Session, officer_id: int, dossier_id: int) -> Receipt:
    """Form 01 of a dossier one of this receiver's units received."""
    d = counter.received_intake(session, officer_id, dossier_id)
    proc = session.scalar(select(Procedure).where(Procedure.code == d.procedure_code))
    unit = session.get(Unit, d.receiving_unit_code)
    names = {s["slot"]: s["name"] for s in schema_of(session, d).get("documents", [])}
    pages: dict[str, int] = {}
    for dd, wd in dossier_documents(session, d.id):
        pages[dd.slot] = pages.get(dd.slot, 0) + (wd.pages or 1)
    not_kept = set(session.scalars(select(DigitisationRecord.slot).where(
        DigitisationRecord.dossier_id == d.id, DigitisationRecord.kind == "not_kept")))
    documents = [ReceivedDocument(slot=slot, name=name, pages=pages.get(slot, 0), not_kept=slot in not_kept)
                 for slot, name in names.items() if slot in pages or slot in not_kept]
    assert d.code is not None and d.received_at is not None
    issued_01 = next((row for row in issued(session, d.id) if row.form == "01"), None)
    return Receipt(id=d.id, code=d.code, unit_name=unit.name if unit else d.receiving_unit_code,
                   procedure_code=d.procedure_code, procedure_name=proc.name if proc else d.procedure_code,
                   applicant=str(json.loads(d.data).get("applicant_name", "")), channel=d.channel,
                   received_at=d.received_at, due_date=d.due_at.astimezone(TZ).date() if d.due_at else None,
                   return_method=d.return_method, return_text=RETURNS[d.return_method],
                   return_address=d.return_address, fee_vnd=d.fee_vnd, documents=documents,
                   form=view_of(session, issued_01) if issued_01 is not None else None)


def receipt_pdf(receipt: Receipt, lookup_url: str) -> bytes:
    """Form 01 as PDF, with the QR code of the public lookup (CPU work: call it from a worker thread): the issued
    form's text PDF, or, for a dossier received before forms were issued, the drawn receipt."""
    if receipt.form is not None:
        return pdf_of(replace(receipt.form, lookup_url=lookup_url))
    return render_result_pdf(unit_name=receipt.unit_name, title="Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                             procedure_name=receipt.procedure_name, dossier_code=receipt.code,
                             applicant=receipt.applicant, issued_on=receipt.received_at, verify_url=lookup_url,
                             lines=receipt.lines)
