"""Digitisation records: what became of each component document (a form's slot) of a dossier, on every channel.

One record per dossier and slot (``digitisation_records``), written as pages are attached, detached or
marked "original seen, no copy kept", and finalised when the dossier is filed (``submit``) or received
at a counter (``receive_at_counter``):

* ``digitised`` — scanned or uploaded for this dossier (by whom, when, which unit: the receiving unit,
  how many pages);
* ``wallet`` — a document the applicant's wallet held already, reused;
* ``dossier`` — a document that came with another dossier (``origin_dossier_id``), reused;
* ``result`` — a result issued earlier (a wallet document of kind result: ``origin_result_id``), reused;
* ``national`` — taken from the national data store (``origin_ref``); no source writes it yet;
* ``not_kept`` — the officer saw the original and kept no copy, where the form allows it.

A record with a file may carry the paper's validity date (``valid_until``: :func:`set_validity`, entered by the
receiving officer who checked the paper; an expired one is refused).

A required slot with no file and no record is simply not digitised. These records are the ONLY source of
the "digitised" and "reused" figures (:func:`figures`), and only records with a file count: never inflated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, distinct, func, select
from sqlalchemy.orm import Session

from domain.catalog.models import Procedure
from domain.dossiers.models import DigitisationRecord, Dossier, DossierDocument, DossierResult, WalletDocument
from domain.errors import InvalidInput

KINDS = ("digitised", "wallet", "dossier", "result", "national", "not_kept")
REUSED = ("wallet", "dossier", "result", "national")


def _now() -> datetime:
    return datetime.now(UTC)


def record_of(session: Session, dossier_id: int, slot: str) -> DigitisationRecord | None:
    return session.scalar(select(DigitisationRecord).where(DigitisationRecord.dossier_id == dossier_id,
                                                           DigitisationRecord.slot == slot))


def _pages(doc: WalletDocument) -> int:
    return doc.pages or 1


def origin_of(session: Session, d: Dossier, doc: WalletDocument, *, uploaded: bool) -> dict[str, Any]:
    """Where a page put into a slot comes from: scanned now, or reused (an issued result, another dossier's
    document, the wallet)."""
    if uploaded:
        return {"kind": "digitised"}
    if doc.kind == "result":
        result_id = session.scalar(select(DossierResult.id).where(
            DossierResult.sha256 == doc.sha256, DossierResult.storage_key == doc.storage_key)
            .order_by(DossierResult.id).limit(1))
        return {"kind": "result", "origin_result_id": result_id}
    other = session.scalar(select(DossierDocument.dossier_id).where(
        DossierDocument.document_id == doc.id, DossierDocument.dossier_id != d.id)
        .order_by(DossierDocument.dossier_id).limit(1))
    if other is not None:
        return {"kind": "dossier", "origin_dossier_id": other}
    return {"kind": "wallet"}


def note_attached(session: Session, d: Dossier, slot: str, doc: WalletDocument, *, by_user: int,
                  uploaded: bool, unit_code: str | None = None) -> DigitisationRecord:
    """A page went into ``slot``: the slot's record says where its first page came from and counts the pages."""
    rec = record_of(session, d.id, slot)
    if rec is None or rec.kind == "not_kept":
        origin = origin_of(session, d, doc, uploaded=uploaded)
        if rec is None:
            rec = DigitisationRecord(dossier_id=d.id, slot=slot, kind=origin["kind"], pages=0)
            session.add(rec)
        rec.kind = origin["kind"]
        rec.origin_result_id = origin.get("origin_result_id")
        rec.origin_dossier_id = origin.get("origin_dossier_id")
        rec.document_id, rec.by_user, rec.unit_code, rec.at = doc.id, by_user, unit_code, _now()
        rec.pages = 0
    rec.pages += _pages(doc)
    session.flush()
    return rec


def note_detached(session: Session, d: Dossier, slot: str) -> None:
    """A page left ``slot``: its record counts what is left, and goes with the last page."""
    rec = record_of(session, d.id, slot)
    if rec is None:
        return
    left = session.execute(select(DossierDocument, WalletDocument)
                           .join(WalletDocument, WalletDocument.id == DossierDocument.document_id)
                           .where(DossierDocument.dossier_id == d.id, DossierDocument.slot == slot)
                           .order_by(DossierDocument.position, DossierDocument.id)).all()
    if not left:
        session.delete(rec)
    else:
        rec.pages = sum(_pages(wd) for _dd, wd in left)
        if rec.document_id not in {wd.id for _dd, wd in left}:
            rec.document_id = left[0][1].id
    session.flush()


def note_not_kept(session: Session, d: Dossier, slot: str, *, by_user: int, unit_code: str) -> DigitisationRecord:
    rec = record_of(session, d.id, slot)
    if rec is None:
        rec = DigitisationRecord(dossier_id=d.id, slot=slot, kind="not_kept", pages=0)
        session.add(rec)
    rec.kind, rec.document_id, rec.pages = "not_kept", None, 0
    rec.origin_dossier_id = rec.origin_result_id = None
    rec.by_user, rec.unit_code, rec.at = by_user, unit_code, _now()
    session.flush()
    return rec


def finalise(session: Session, d: Dossier, *, by_user: int | None, slots: list[str]) -> list[DigitisationRecord]:
    """At filing or receipt: every slot of the form with pages has its record (pages counted again, the unit
    the receiving unit); records of slots no longer in the form, or without a file and not "not kept", go."""
    pages: dict[str, list[WalletDocument]] = {}
    for dd, wd in session.execute(select(DossierDocument, WalletDocument)
                                  .join(WalletDocument, WalletDocument.id == DossierDocument.document_id)
                                  .where(DossierDocument.dossier_id == d.id)
                                  .order_by(DossierDocument.slot, DossierDocument.position, DossierDocument.id)):
        pages.setdefault(dd.slot, []).append(wd)
    records = {r.slot: r for r in session.scalars(select(DigitisationRecord)
                                                  .where(DigitisationRecord.dossier_id == d.id))}
    for slot, old in records.items():
        if slot not in slots or (slot not in pages and old.kind != "not_kept"):
            session.delete(old)
    now = _now()
    kept: list[DigitisationRecord] = []
    for slot in slots:
        rec: DigitisationRecord | None = records.get(slot)
        docs = pages.get(slot)
        if docs:
            if rec is None or rec.kind == "not_kept":
                rec = rec or DigitisationRecord(dossier_id=d.id, slot=slot, pages=0)
                # pages nobody recorded as they came: copied with a cloned dossier, or attached before records
                rec.kind, rec.origin_dossier_id = ("dossier", d.cloned_from) if d.cloned_from else ("digitised", None)
                rec.by_user, rec.at = by_user, now
                session.add(rec)
            rec.pages = sum(_pages(wd) for wd in docs)
            if rec.document_id not in {wd.id for wd in docs}:
                rec.document_id = docs[0].id
        elif rec is None or rec.kind != "not_kept":
            continue
        rec.unit_code = d.receiving_unit_code
        kept.append(rec)
    session.flush()
    return kept


def set_validity(session: Session, d: Dossier, slot: str, valid_until: date | None, *,
                 today: date) -> DigitisationRecord:
    """The validity date of the paper in ``slot`` (``None``: none stated). Only a slot holding a file has one, and
    a paper whose validity has passed is refused (it is not accepted at the counter)."""
    rec = record_of(session, d.id, slot)
    if rec is None or rec.document_id is None:
        raise InvalidInput("Ô này chưa có giấy tờ: hãy quét hoặc chọn giấy tờ trước khi ghi thời hạn hiệu lực.",
                           field="slot")
    if valid_until is not None and valid_until < today:
        raise InvalidInput(f"Giấy tờ đã hết hiệu lực từ ngày {valid_until:%d/%m/%Y}; không tiếp nhận giấy tờ hết "
                           "hạn.", field="valid_until")
    rec.valid_until = valid_until
    session.flush()
    return rec


def replace_document(session: Session, dossier_id: int, slot: str, document_id: int, pages: int) -> None:
    """The slot's pages became one merged document (receipt at a counter)."""
    rec = record_of(session, dossier_id, slot)
    if rec is not None:
        rec.document_id, rec.pages = document_id, pages


def records(session: Session, dossier_id: int) -> list[DigitisationRecord]:
    return list(session.scalars(select(DigitisationRecord).where(DigitisationRecord.dossier_id == dossier_id)
                                .order_by(DigitisationRecord.slot)))


def drop_all(session: Session, dossier_id: int) -> None:
    session.execute(delete(DigitisationRecord).where(DigitisationRecord.dossier_id == dossier_id))


@dataclass(frozen=True)
class Figures:
    """Components (slots) and dossiers digitised here or reused, counted from records with a file only."""

    components_digitised: int
    components_reused: int
    dossiers_digitised: int
    dossiers_reused: int


def figures(session: Session, *, unit_code: str | None = None, start: datetime | None = None,
            end: datetime | None = None, field_slug: str | None = None) -> Figures:
    """The "digitised" and "reused" figures of a unit (receiving unit) and period (when recorded): only records
    that have a file (``document_id``) and pages count, and only those of filed dossiers (not drafts)."""
    def count(kinds: tuple[str, ...], what: Any) -> int:
        query = (select(what).select_from(DigitisationRecord)
                 .join(Dossier, Dossier.id == DigitisationRecord.dossier_id)
                 .where(DigitisationRecord.kind.in_(kinds), DigitisationRecord.document_id.is_not(None),
                        DigitisationRecord.pages > 0, Dossier.submitted_at.is_not(None)))
        if unit_code is not None:
            query = query.where(DigitisationRecord.unit_code == unit_code)
        if field_slug is not None:
            query = query.join(Procedure, Procedure.code == Dossier.procedure_code).where(
                Procedure.field_slug == field_slug)
        if start is not None:
            query = query.where(DigitisationRecord.at >= start)
        if end is not None:
            query = query.where(DigitisationRecord.at < end)
        return int(session.scalar(query) or 0)

    return Figures(components_digitised=count(("digitised",), func.count(DigitisationRecord.id)),
                   components_reused=count(REUSED, func.count(DigitisationRecord.id)),
                   dossiers_digitised=count(("digitised",), func.count(distinct(DigitisationRecord.dossier_id))),
                   dossiers_reused=count(REUSED, func.count(distinct(DigitisationRecord.dossier_id))))
