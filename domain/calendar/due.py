"""Due dates of dossiers: the calendar engine applied to a procedure's processing time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from domain.calendar.engine import UNITS, Pause, schedule_for_field
from domain.calendar.store import load_calendar
from domain.catalog.facts import procedure_facts


def processing_time(procedure_data: dict) -> tuple[float, str] | None:  # type: ignore[type-arg]
    """The online channel's processing time, else the in-person one's, as (amount, unit)."""
    durations = {c.get("channel"): c.get("duration") or {} for c in procedure_data.get("channels") or []}
    for channel in ("online", "in_person", "postal"):
        duration = durations.get(channel) or {}
        value, unit = duration.get("value"), duration.get("unit")
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
                and value > 0 and unit in UNITS:
            return float(value), unit
    return None


def due_for_procedure(session: Session, procedure_code: str, received_at: datetime,
                      pauses: Sequence[Pause] = ()) -> datetime | None:
    """When a dossier of this procedure received at ``received_at`` is due (None when unknown)."""
    proc = procedure_facts(session, procedure_code)
    if proc is None:
        return None
    time_limit = processing_time(proc.record)
    if time_limit is None:
        return None
    amount, unit = time_limit
    return load_calendar(session).due_date(received_at, amount, unit, schedule_for_field(proc.field), pauses)
