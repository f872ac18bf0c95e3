"""Time, always aware and in UTC: the one reading of "now" and of stored datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current moment, timezone-aware, in UTC."""
    return datetime.now(UTC)


def utc(dt: datetime) -> datetime:
    """A stored datetime as aware UTC (SQLite hands naive ones back; they were written in UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt
