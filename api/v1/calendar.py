"""JSON API of the working-day calendar: a due date, and a year's days off."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from domain.calendar.engine import DEFAULT_SCHEDULE, UNITS, WorkSchedule, parse_moment
from domain.calendar.store import load_calendar
from domain.db import Database
from domain.errors import InvalidInput

MAX_AMOUNT = 3650  # days (ten years)
MAX_HOURS = 10_000
MAX_MONTHS = 120
FIRST_YEAR, LAST_YEAR = 2000, 2100


class DueDate(msgspec.Struct):
    due_date: datetime
    unit: str
    amount: float
    counts_from: datetime  # the effective receipt moment (cut-off and days off applied)


class SpecialDay(msgspec.Struct):
    date: date
    name: str
    source: str  # holidays (the package) | override (the admin's table)


class DaysOff(msgspec.Struct):
    year: int
    days_off: list[SpecialDay]  # besides Saturdays and Sundays
    extra_working_days: list[SpecialDay]  # days worked that would be off (a Saturday swapped for a weekday)


def _start(raw: str | None) -> datetime:
    if not raw or not raw.strip():
        raise InvalidInput("Thiếu thời điểm bắt đầu (start): ngày giờ ISO 8601, ví dụ 2026-02-13T10:00+07:00.",
                           field="start")
    try:
        moment = parse_moment(raw)
    except ValueError:
        raise InvalidInput("Thời điểm bắt đầu (start) không phải ngày giờ ISO 8601: "
                           f"{raw[:64]!r}.", field="start") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise InvalidInput(f"Thời điểm bắt đầu (start) phải trong các năm {FIRST_YEAR} đến {LAST_YEAR}.", field="start")
    return moment


def _amount(raw: str | None, unit: str) -> float:
    try:
        amount = float(raw or "")
    except ValueError:
        raise InvalidInput("Thời hạn (amount) phải là một số.", field="amount") from None
    limit = {"hours": MAX_HOURS, "months": MAX_MONTHS}.get(unit, MAX_AMOUNT)
    if not 0 < amount <= limit:
        raise InvalidInput(f"Thời hạn (amount) phải lớn hơn 0 và tối đa {limit} với đơn vị {unit}.", field="amount")
    return amount


def _cutoff(raw: str | None) -> WorkSchedule:
    if not raw:
        return DEFAULT_SCHEDULE
    try:
        return WorkSchedule(cutoff=time.fromisoformat(raw))
    except ValueError:
        raise InvalidInput("Giờ chốt (cutoff) phải là một giờ trong giờ làm việc, ví dụ "
                           "15:00.", field="cutoff") from None


class CalendarController(Controller):
    path = "/api/v1/calendar"
    tags = ["calendar"]

    @get("/due-date")
    async def due_date(
        self,
        request: Request[Any, Any, Any],
        db: Database,
        start: Annotated[str | None, Parameter(
            description="when the dossier is received, ISO 8601; without an offset: Vietnam time")] = None,
        amount: Annotated[str | None, Parameter(description="processing time, > 0")] = None,
        unit: Annotated[str, Parameter(description="working_days | days | hours | months | unspecified")]
        = "working_days",
        cutoff: Annotated[str | None, Parameter(
            description="reception cut-off (HH:MM), e.g. 15:00 for civil status; default 17:00")] = None,
    ) -> DueDate:
        """When a dossier received at `start` is due (Vietnamese working days, holidays and swaps)."""
        if unit not in UNITS:
            raise InvalidInput(f"Đơn vị thời hạn (unit) phải là một trong: {', '.join(UNITS)}.", field="unit")
        received = _start(start)
        value = _amount(amount, unit)
        schedule = _cutoff(cutoff)
        calendar = await db.read(load_calendar)
        due = calendar.due_date(received, value, unit, schedule)
        assert due is not None  # None only while a pause is open, and none is given here
        return DueDate(due_date=due, unit=unit, amount=value,
                       counts_from=calendar.effective_start(received, schedule))

    @get("/days-off")
    async def days_off(
        self,
        request: Request[Any, Any, Any],
        db: Database,
        year: Annotated[str | None, Parameter(description=f"{FIRST_YEAR}..{LAST_YEAR}")] = None,
        lang: Annotated[str, Parameter(description="vi | en (names of the days)")] = "vi",
    ) -> DaysOff:
        """A year's days off besides weekends (public holidays, swaps, the admin's overrides)."""
        if not year or not year.strip().isdigit() or not FIRST_YEAR <= int(year) <= LAST_YEAR:
            raise InvalidInput(f"Năm (year) phải là số nguyên từ {FIRST_YEAR} đến {LAST_YEAR}.", field="year")
        number = int(year)
        calendar = await db.read(load_calendar)
        days = calendar.special_days(number, "en" if lang == "en" else "vi")
        return DaysOff(
            year=number,
            days_off=[SpecialDay(date=d.day, name=d.name, source=d.source) for d in days if not d.working],
            extra_working_days=[SpecialDay(date=d.day, name=d.name, source=d.source) for d in days
                                if d.working],
        )


ROUTES = [CalendarController]
