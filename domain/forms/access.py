"""Who may read an issued form (the applicant of the dossier, the officers of the units that hold it; 404 for
anybody else), and its PDF kept with it and given to the applicant's wallet once made."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.documents.stored import StoredFile
from domain.dossiers import backoffice
from domain.dossiers.filing import add_to_wallet, get_dossier
from domain.dossiers.models import Dossier
from domain.errors import NotFound
from domain.forms.issue import CONTROL_SHEET
from domain.forms.models import IssuedForm

NOT_FOUND = "Không tìm thấy biểu mẫu này của hồ sơ."

def issued(session: Session, dossier_id: int) -> list[IssuedForm]:
    """The forms issued for a dossier, oldest first."""
    return list(session.scalars(select(IssuedForm).where(IssuedForm.dossier_id == dossier_id)
                                .order_by(IssuedForm.id)))


def _one(session: Session, dossier_id: int, form_id: int) -> IssuedForm:
    row = session.get(IssuedForm, form_id)
    if row is None or row.dossier_id != dossier_id:
        raise NotFound(NOT_FOUND)
    return row


def for_applicant(session: Session, user_id: int, dossier_id: int, form_id: int) -> tuple[Dossier, IssuedForm]:
    """An issued form of one of the applicant's dossiers (404 for anybody else)."""
    d = get_dossier(session, user_id, dossier_id)
    return d, _one(session, d.id, form_id)


def for_officer(session: Session, user_id: int, dossier_id: int, form_id: int) -> tuple[Dossier, IssuedForm]:
    """An issued form of a dossier this officer's units hold (404 for anybody else)."""
    d = backoffice.get_for_officer(session, backoffice.officer(session, user_id), dossier_id)
    return d, _one(session, d.id, form_id)


def is_stored(row: IssuedForm) -> bool:
    """Whether its PDF is kept as it was issued (the control sheet is not: it follows the dossier)."""
    return row.form != CONTROL_SHEET


def record_pdf(session: Session, form_id: int, stored: StoredFile) -> int | None:
    """The form's PDF, just stored: kept with the form and put in the applicant's wallet (kind ``form``), once.
    Answers the wallet document's id."""
    row = session.get(IssuedForm, form_id, with_for_update=True)
    if row is None:
        raise NotFound(NOT_FOUND)
    if row.storage_key is not None:
        return row.wallet_document_id
    d = session.get(Dossier, row.dossier_id)
    assert d is not None
    row.storage_key = stored.storage_key
    doc = add_to_wallet(session, d.owner_id, stored, organisation_id=d.organisation_id, kind="form")
    row.wallet_document_id = doc.id
    return int(doc.id)
