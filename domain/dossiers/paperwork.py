"""The forms of Circular 03/2025/TT-VPCP a dossier has been issued, read from its history.

Every event that produces a form says so in the transition table (``Transition.form``, see
:data:`domain.workflow.FORMS`); its history row is the record of the form being issued: 01 receipt and
appointment, 02 request to complete (once per request), 03 refusal, 04 apology and extension, 05 notice of
stopping. The control sheet (06) is one sheet that follows the dossier from its first hand-off and is
listed once, at that moment. The logbook (07) is a unit's, not a dossier's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.dossiers.models import DossierHistory
from domain.workflow import FORM_OF_EVENT, FORMS

CONTROL_SHEET = "06"


@dataclass(frozen=True)
class IssuedForm:
    number: str  # "01" … "06"
    name: str  # the form's name in the circular
    issued_at: datetime
    event: str  # the event that issued it


def issued_forms(session: Session, dossier_id: int) -> list[IssuedForm]:
    """The forms issued for a dossier, oldest first (the control sheet once, at its first hand-off)."""
    rows = session.execute(
        select(DossierHistory.event, DossierHistory.at)
        .where(DossierHistory.dossier_id == dossier_id, DossierHistory.event.in_(sorted(FORM_OF_EVENT)))
        .order_by(DossierHistory.id)).all()
    out: list[IssuedForm] = []
    for event, at in rows:
        number = FORM_OF_EVENT[event]
        if number is None or (number == CONTROL_SHEET and any(f.number == CONTROL_SHEET for f in out)):
            continue
        out.append(IssuedForm(number, FORMS[number], at, event))
    return out
