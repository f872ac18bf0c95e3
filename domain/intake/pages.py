"""The pages of an intake draft's slots as a receiving officer arranges them at the counter: move a page up or
down (``DossierDocument.position``), retake one (the new page takes the old one's place), and choose how the result
comes back.

Every call goes through :func:`domain.intake.counter.intake_draft` (the receivers of the draft's receiving unit
hold it; anybody else gets 404) and the usual attach / detach of ``domain.dossiers.filing`` (digitisation
records follow them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.audit import record
from domain.dossiers import filing
from domain.dossiers.models import Dossier, DossierDocument
from domain.errors import NotFound
from domain.intake import counter
from domain.postal.returns import check_return


def _slot_pages(session: Session, dossier_id: int, slot: str) -> list[DossierDocument]:
    return list(session.scalars(select(DossierDocument).where(
        DossierDocument.dossier_id == dossier_id, DossierDocument.slot == slot)
        .order_by(DossierDocument.position, DossierDocument.id)))


def _page(session: Session, d: Dossier, page_id: int) -> DossierDocument:
    row = session.get(DossierDocument, page_id)
    if row is None or row.dossier_id != d.id:
        raise NotFound("Không tìm thấy trang này trong hồ sơ.")
    return row


def move_page(session: Session, officer_id: int, dossier_id: int, page_id: int,
              direction: Literal["up", "down"]) -> None:
    """Move one page of a slot up or down; the slot's pages are numbered 0, 1, … again (no ties)."""
    d = counter.intake_draft(session, officer_id, dossier_id, lock=True)
    row = _page(session, d, page_id)
    pages = _slot_pages(session, d.id, row.slot)
    at = next(i for i, p in enumerate(pages) if p.id == row.id)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(pages):
        pages[at], pages[to] = pages[to], pages[at]
    for position, page in enumerate(pages):
        page.position = position
    d.version += 1
    d.updated_at = datetime.now(UTC)
    session.flush()


def replace_page(session: Session, officer_id: int, dossier_id: int, page_id: int,
                 stored: filing.StoredFile) -> None:
    """Retake a page: the new upload takes the old page's place in its slot."""
    d = counter.intake_draft(session, officer_id, dossier_id, lock=True)
    row = _page(session, d, page_id)
    slot, position = row.slot, row.position
    filing.detach(session, officer_id, d.id, row.id, intake_officer=True)
    filing.attach(session, officer_id, d.id, slot, stored=stored, intake_officer=True)
    pages = _slot_pages(session, d.id, slot)
    new = max(pages, key=lambda p: p.id)
    others = [p for p in pages if p.id != new.id]
    others.insert(min(position, len(others)), new)
    for i, page in enumerate(others):
        page.position = i
    session.flush()


def choose_intake_return(session: Session, officer_id: int, dossier_id: int, method: str, address: str | None, *,
                         postal_fee_vnd: int | None) -> Dossier:
    """How the applicant wants the result back (at the counter, online, by post to an address), on the draft."""
    method, address = check_return(method, address)
    d = counter.intake_draft(session, officer_id, dossier_id, lock=True)
    if (d.return_method, d.return_address) != (method, address):
        d.return_method, d.return_address = method, address
        d.postal_fee_vnd = postal_fee_vnd if method == "post" else None
        d.version += 1
        d.updated_at = datetime.now(UTC)
        record(session, "intake.return_method", actor_id=officer_id, subject=f"dossier:{d.id}", method=method)
    return d
