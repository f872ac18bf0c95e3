"""Due dates of dossiers: the calendar engine applied to a procedure's processing time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.calendar.engine import Calendar, Pause, schedule_for_field
from domain.calendar.store import load_calendar
from domain.catalog.facts import procedure_facts
from domain.catalog.times import ProcessingTime, national_time


def processing_time(procedure_data: Mapping[str, Any]) -> tuple[float, str] | None:
    """The national record's processing time as (amount, unit): the online channel's, else the in-person
    one's, else the postal one's. A number without a unit ("1") is no time: it never becomes working days."""
    return national_time(procedure_data)


def expected_date(calendar: Calendar, time: ProcessingTime | None, field_name: str | None,
                  now: datetime) -> date | None:
    """The day a dossier filed ``now`` should have its result (None without a usable time)."""
    if time is None:
        return None
    due = calendar.due_date(now, time.value, time.unit, schedule_for_field(field_name))
    return due.date() if due is not None else None


def due_for_procedure(session: Session, procedure_code: str, received_at: datetime,
                      pauses: Sequence[Pause] = ()) -> datetime | None:
    """When a dossier of this procedure received at ``received_at`` is due (None when unknown: the record
    has no usable time and the province's offer states none)."""
    proc = procedure_facts(session, procedure_code)
    if proc is None:
        return None
    time = proc.processing_time  # the record's, else the province's offer's
    if time is None:
        return None
    return load_calendar(session).due_date(received_at, time.value, time.unit, schedule_for_field(proc.field),
                                           pauses)
