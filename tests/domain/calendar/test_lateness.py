"""Lateness classes against the (possibly rescheduled) due date."""

from __future__ import annotations

from datetime import datetime

from domain.calendar.engine import TZ, default_calendar


def at(day: str, hm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TZ)


def test_classes() -> None:
    cal = default_calendar()
    due = at("2026-03-12", "17:00")  # Thursday
    assert cal.classify(at("2026-03-10"), due) == "early"
    assert cal.classify(at("2026-03-11", "16:59"), due) == "early"
    assert cal.classify(at("2026-03-12", "09:00"), due) == "on_time"
    assert cal.classify(at("2026-03-12", "17:00"), due) == "on_time"
    assert cal.classify(at("2026-03-12", "17:01"), due) == "late"
    assert cal.classify(at("2026-03-13"), due) == "late"


def test_rescheduled_date_counts() -> None:
    cal = default_calendar()
    original, rescheduled = at("2026-03-12", "17:00"), at("2026-03-19", "17:00")
    finished = at("2026-03-16")
    assert cal.classify(finished, original) == "late"
    assert cal.classify(finished, rescheduled) == "early"


def test_the_weekend_before_a_monday_deadline_is_on_time() -> None:
    cal = default_calendar()
    assert cal.classify(at("2026-03-14"), at("2026-03-16", "17:00")) == "on_time"  # Saturday before Monday
    assert cal.classify(at("2026-03-13"), at("2026-03-16", "17:00")) == "early"
