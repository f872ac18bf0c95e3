"""Issuing the forms of Circular 03/2025/TT-VPCP: one generic workflow effect for every transition whose
``form`` is set (:data:`domain.workflow.FORM_OF_EVENT`), the numbering, who may read an issued form, and the
applicant's copy in the wallet.

In the event's transaction the form gets its number (``Số: 12/TN-STP``: the issuing unit's series of the
local year, one statement on ``form_counters``, never reused: a rolled-back number is not seen by anybody)
and its row, and the applicant an inbox item linking to it. What it says (code, dates, appointment) is taken
from the dossier just before commit (:func:`complete_at_commit`), since the use case may still set the code
or the due date after firing. The PDF is not made in the transaction (ADR 0008): it is rendered and stored
on its first download, and only then put in the applicant's wallet (:func:`domain.forms.access.record_pdf`).

The control sheet (06) is issued once, at the dossier's first hand-off, and always shows the history as it
is now (it follows the dossier). The logbook (07) is a unit's, not a dossier's
(:func:`domain.dossiers.backoffice.logbook`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.calendar.engine import TZ
from domain.db import SessionSql
from domain.dossiers.models import Dossier
from domain.forms.models import IssuedForm
from domain.outbox import enqueue as outbox
from domain.workflow import FORM_OF_EVENT, FORMS

if TYPE_CHECKING:
    from domain.dossiers.effects import Fired

CONTROL_SHEET = "06"
# the symbol after the number, per form: Số: 12/TN-STP
SYMBOLS = {"01": "TN", "02": "BS", "03": "TC", "04": "XL", "05": "TB", "06": "KS"}
PENDING = "forms.pending"  # session.info: the forms issued in this transaction, completed at commit


def next_seq(session: Session, unit_code: str, year: int) -> int:
    """The unit's next number of the year: one statement that takes the counter's row lock (as dossier codes)."""
    (number,), = SessionSql(session).run(
        "INSERT INTO form_counters (unit_code, year, last) VALUES (:unit_code, :year, 1) "
        "ON CONFLICT (unit_code, year) DO UPDATE SET last = form_counters.last + 1 RETURNING last",
        {"unit_code": unit_code, "year": year})
    return int(number)


def issuing_unit(d: Dossier, form: str, before: str) -> str:
    """Who issues it: the receiving point for the receipt, a refusal, the control sheet and a supplement asked
    at intake; the deciding unit (or the unit it was routed to) for the others."""
    if form in ("01", "03", CONTROL_SHEET) or (form == "02" and before == "submitted"):
        return d.receiving_unit_code
    return d.handling_unit or d.unit_code


def issue(f: Fired) -> None:
    """The workflow effect: the event's form, numbered, kept with the dossier, the applicant told."""
    form = FORM_OF_EVENT.get(f.event)
    if form is None:
        return
    session, d = f.session, f.dossier
    if form == CONTROL_SHEET and session.scalar(select(IssuedForm.id).where(
            IssuedForm.dossier_id == d.id, IssuedForm.form == CONTROL_SHEET).limit(1)) is not None:
        return
    unit = issuing_unit(d, form, f.before)
    year = f.now.astimezone(TZ).year
    data: dict[str, Any] = {"reason": f.reason, "detail": f.detail,
                            "due_before": d.due_at.isoformat() if d.due_at else None}
    row = IssuedForm(dossier_id=d.id, form=form, event=f.event, unit_code=unit, year=year,
                     seq=next_seq(session, unit, year), issued_at=f.now, actor_id=f.actor_id,
                     data=json.dumps(data, ensure_ascii=False, default=str))
    session.add(row)
    session.info.setdefault(PENDING, []).append((row, d))
    if d.owner_id is not None and not f.internal:
        outbox.enqueue(session, d.owner_id, "dossier.form_issued",
                       {"form_number": form, "form_name": FORMS[form], "number": display_number(row)},
                       dossier_id=d.id)


def complete_at_commit(session: Session) -> None:
    """``before_commit``: what each form issued in the transaction says, from the dossier as it is now."""
    for row, d in session.info.pop(PENDING, []):
        data = json.loads(row.data)
        data.update(code=d.code, received_at=d.received_at.isoformat() if d.received_at else None,
                    submitted_at=d.submitted_at.isoformat() if d.submitted_at else None,
                    due_at=d.due_at.isoformat() if d.due_at else None, status=d.status)
        row.data = json.dumps(data, ensure_ascii=False, default=str)


def forget_on_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def display_number(row: IssuedForm, unit_symbol: str = "") -> str:
    """``12/TN`` (``01/TN`` below ten, as documents are numbered) or, with the unit's symbol, ``12/TN-STP``."""
    return f"{row.seq:02d}/{SYMBOLS[row.form]}" + (f"-{unit_symbol}" if unit_symbol else "")
