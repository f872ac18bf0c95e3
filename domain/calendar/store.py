"""The admin-editable calendar table and the database side of the working-day calendar.

``calendar_overrides`` holds the government's announcements the ``holidays`` package does not know yet
(a swapped working Saturday, an extra day off): one row a day, winning over the package.
:func:`load_calendar` builds the :class:`~domain.calendar.engine.Calendar` every due date is computed with.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.calendar.engine import Calendar, Override
from domain.db import Base, SessionReader, UTCDateTime, read_date
from domain.errors import InvalidInput

NOTE_MAX = 255


class CalendarOverride(Base):
    """One day whose status an administrator set: off (``working`` false) or working."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(NOTE_MAX), default="")  # e.g. the announcement's number
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when this version was written


# One calendar per process, rebuilt only when the table's content changes. The table holds a few
# dozen rows, so reading them all is as cheap as any change marker, and always right.
_cache_lock = threading.Lock()
_cache: tuple[tuple[tuple[date, bool, str], ...], Calendar] | None = None


def load_calendar(session: Session) -> Calendar:
    """The calendar: the ``holidays`` package for Vietnam plus this table's overrides."""
    global _cache
    rows = tuple(
        (read_date(day), bool(working), note or "")
        for day, working, note in SessionReader(session).rows(
            "SELECT day, working, note FROM calendar_overrides ORDER BY day", {})
    )
    with _cache_lock:
        if _cache is not None and _cache[0] == rows:
            return _cache[1]
        calendar = Calendar([Override(day, working, note) for day, working, note in rows])
        _cache = (rows, calendar)
        return calendar


def list_overrides(session: Session, year: int | None = None) -> list[CalendarOverride]:
    query = select(CalendarOverride).order_by(CalendarOverride.day)
    if year is not None:
        query = query.where(CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))
    return list(session.scalars(query))


def set_override(session: Session, day: date, working: bool, note: str = "",
                 created_by: int | None = None) -> CalendarOverride:
    """Declare ``day`` a working day or a day off (replacing any earlier decision for that day)."""
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"Ghi chú tối đa {NOTE_MAX} ký tự.", field="note")
    row = session.get(CalendarOverride, day)
    if row is None:
        row = CalendarOverride(day=day)
        session.add(row)
    row.working, row.note, row.created_by = working, note, created_by
    row.created_at = datetime.now(UTC)
    session.flush()
    return row


def remove_override(session: Session, day: date) -> bool:
    """Give ``day`` back to the package's calendar; False when there was no override."""
    result = session.execute(delete(CalendarOverride).where(CalendarOverride.day == day))
    return bool(getattr(result, "rowcount", 0))
