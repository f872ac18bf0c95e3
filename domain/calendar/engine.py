"""The working-day calendar: one engine for every due date (framework-free, no database).

Everything is computed in Vietnam's time zone (``Asia/Ho_Chi_Minh``, UTC+7, no daylight saving).
Inputs must be timezone-aware datetimes (any zone: they are converted); outputs are aware datetimes
in that zone.

Days off
    Saturdays and Sundays; the public holidays of the ``holidays`` package for Vietnam (Tết and the
    Hùng Kings' day by the lunar calendar, 1/1, 30/4, 1/5, 2/9 and its adjacent day, the substitute
    days when a holiday falls on a weekend) and the government's announced swaps it carries (a
    weekday off "thay cho" a Saturday worked: the package marks the Saturday as a working day).
    On top, **overrides** ``(day, working, note)`` — the admin-editable table
    (:mod:`domain.calendar.store`) for announcements the package does not know yet — win over
    everything.

Work hours and the cut-off (:class:`WorkSchedule`)
    Work hours are 07:00–11:30 and 13:30–17:00 unless a unit's schedule says otherwise. A dossier
    *counts from* its **effective receipt moment**: the first working moment at or after it was
    received, except that one received later than the cut-off (default: the end of the afternoon;
    15:00 for civil-status procedures, :data:`CIVIL_STATUS_SCHEDULE`) or on a day off counts from the
    start of the next working day. Received before 07:00 or at lunch on a working day, before the
    cut-off, it counts from the same day. The day of that moment is the **receipt day** ``D``.

What a due date is, per unit
    ``working_days`` (and ``unspecified``, which the catalogue uses for a number without a unit:
    treated as working days)
        ``N`` working days are due at the **end (17:00) of the N-th working day after D** — the
        Vietnamese practice: received on Friday 13/02/2026 with 3 working days, Tết off on 16–20/02,
        the dossier is due on Wednesday 25/02/2026 at 17:00. ``0`` means the end of ``D`` itself.
        A fractional number is rounded up to the next whole working day (the result is always the
        end of a working day).
    ``days`` (calendar days)
        ``D + N`` calendar days; when that day is a day off, the next working day. Due at 17:00.
    ``months``
        ``D + N`` calendar months (the 31st becomes the month's last day), then as for ``days``;
        a fractional part counts 30 days a month.
    ``hours``
        Working hours only, counted from the effective receipt moment; the result is that exact
        moment (a deadline that runs out at 11:30 sharp is 11:30, not 13:30).

Pauses (the clock stopped by a supplement request until the citizen resubmits)
    Each unit is a *clock* with a budget: working units count working time (``N`` days are ``N`` full
    working days of the schedule, starting at the end of ``D``), calendar units count all time
    (``N`` × 24 h starting at midnight after ``D``). Time inside a pause does not count: the clock
    stops at the pause's start and resumes at its end — for working units at the effective receipt
    moment of the resubmission (so resubmitting after the cut-off resumes the next working day).
    A day-unit result is then rounded up to the end of its working day (a calendar-day result landing
    on a day off moves to the next working day). A pause still open before the budget runs out makes
    the due date unknown: ``None``. Pauses never make a due date earlier.

Reports and lateness
    :meth:`Calendar.working_days_between` is the working time between two moments (minus pauses) in
    working days, fractional by the hour (8 h = 1 day with the default schedule).
    :meth:`Calendar.classify` compares a finish with a (possibly rescheduled) due moment: ``late``
    when after it; ``early`` when finished on or before the last working day *before* the due day
    (at least one working day ahead); otherwise ``on_time`` (on the due day, or on a day off just
    before it).
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import holidays

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DurationUnit = Literal["working_days", "days", "hours", "months", "unspecified"]
UNITS: tuple[str, ...] = get_args(DurationUnit)
Lateness = Literal["early", "on_time", "late"]
Pause = tuple[datetime, datetime | None]
# The package's lunar data (and so its holidays) covers these years; outside, only weekends are off.
FIRST_YEAR, LAST_YEAR = 1995, 2100
_SEARCH_LIMIT = 3700  # days looked ahead for a working day before giving up (a broken override table)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkSchedule:
    """A unit's work hours (two periods a day) and its reception cut-off.

    The defaults are the state administration's hours (hard-coded here rather than in the settings:
    a unit that differs passes its own schedule). ``cutoff`` ``None`` means the end of the afternoon.
    """

    morning: tuple[time, time] = (time(7, 0), time(11, 30))
    afternoon: tuple[time, time] = (time(13, 30), time(17, 0))
    cutoff: time | None = None

    def __post_init__(self) -> None:
        (m0, m1), (a0, a1) = self.morning, self.afternoon
        if not (m0 < m1 <= a0 < a1):
            raise ValueError("work hours must be two ordered, non-overlapping periods")
        if self.cutoff is not None and not (m0 <= self.cutoff <= a1):
            raise ValueError("the cut-off must fall within the working day")
        if any(t.tzinfo is not None for t in (m0, m1, a0, a1)):
            raise ValueError("work hours are local wall-clock times, without a time zone")

    @property
    def effective_cutoff(self) -> time:
        return self.cutoff if self.cutoff is not None else self.afternoon[1]

    @property
    def periods(self) -> tuple[tuple[time, time], tuple[time, time]]:
        return (self.morning, self.afternoon)

    @property
    def day_length(self) -> timedelta:
        return sum((_span(s, e) for s, e in self.periods), timedelta())

    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, self.morning[0], TZ)

    def end_of(self, day: date) -> datetime:
        return datetime.combine(day, self.afternoon[1], TZ)


def _span(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


DEFAULT_SCHEDULE = WorkSchedule()
# Civil status (hộ tịch): dossiers received after 15:00 count from the next working day.
CIVIL_STATUS_SCHEDULE = WorkSchedule(cutoff=time(15, 0))
_FIELD_SCHEDULES = {"Hộ tịch": CIVIL_STATUS_SCHEDULE}


def schedule_for_field(field_name: str | None) -> WorkSchedule:
    """The schedule a procedure's field (lĩnh vực) implies: the civil-status cut-off, else the default."""
    return _FIELD_SCHEDULES.get((field_name or "").strip(), DEFAULT_SCHEDULE)


@dataclass(frozen=True)
class Override:
    """One admin decision about a day: off (``working=False``) or working, whatever the package says."""

    day: date
    working: bool
    note: str = ""


@dataclass(frozen=True)
class DayInfo:
    """A day that is not an ordinary weekday/weekend: a day off, or a weekend day worked."""

    day: date
    working: bool
    name: str
    source: Literal["holidays", "override"]


@dataclass(frozen=True)
class _Year:
    days_off: dict[date, str]
    weekend_workdays: frozenset[date]


@lru_cache(maxsize=256)
def _package_year(year: int, language: str = "vi") -> _Year:
    """The package's Vietnam calendar for one year (immutable, shared by every Calendar)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return _Year({}, frozenset())
    vn = holidays.country_holidays("VN", years=year, language=language)
    days_off = {d: str(name) for d, name in vn.items() if d.year == year}
    workdays = frozenset(d for d in getattr(vn, "weekend_workdays", ()) if d.year == year)
    return _Year(days_off, workdays)


def local(moment: datetime) -> datetime:
    """``moment`` in Vietnam's time zone; naive datetimes are refused (be explicit about zones)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(TZ)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months; a day the target month lacks becomes its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _stdlib_calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _normalise_pauses(pauses: Iterable[Pause]) -> list[tuple[datetime, datetime | None]]:
    out: list[tuple[datetime, datetime | None]] = []
    for start, end in pauses:
        s = local(start)
        e = local(end) if end is not None else None
        if e is not None and e < s:
            raise ValueError("a pause cannot end before it starts")
        out.append((s, e))
    out.sort(key=lambda p: p[0])
    return out


@dataclass
class Calendar:
    """Vietnam's working days (package + overrides) and every computation built on them."""

    overrides: Sequence[Override | tuple[date, bool, str]] = ()
    _overrides: dict[date, Override] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        merged: dict[date, Override] = {}
        for item in self.overrides:
            o = item if isinstance(item, Override) else Override(item[0], bool(item[1]), item[2])
            merged[o.day] = o
        self._overrides = merged

    # -- days ------------------------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override.working
        year = _package_year(day.year)
        if day in year.days_off:
            return False
        if day.weekday() >= 5:
            return day in year.weekend_workdays
        return True

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.working_day_on_or_after(day + _DAY)

    def working_day_on_or_after(self, day: date) -> date:
        for _ in range(_SEARCH_LIMIT):
            if self.is_working_day(day):
                return day
            day += _DAY
        raise ValueError("no working day within ten years: check the calendar overrides")

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        day -= _DAY
        for _ in range(_SEARCH_LIMIT):
            if self.is_working_day(day):
                return day
            day -= _DAY
        raise ValueError("no working day within ten years: check the calendar overrides")

    def add_working_day_count(self, day: date, n: int) -> date:
        """The n-th working day after ``day`` (``day`` itself when n is 0)."""
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def day_info(self, day: date, language: str = "vi") -> DayInfo | None:
        """Why ``day`` is special (holiday, override, weekend worked), or None for an ordinary day."""
        override = self._overrides.get(day)
        if override is not None:
            return DayInfo(day, override.working, override.note or _default_note(override.working, language),
                           "override")
        year = _package_year(day.year, _package_language(language))
        if day in year.days_off:
            return DayInfo(day, False, year.days_off[day], "holidays")
        if day in year.weekend_workdays:
            return DayInfo(day, True, _default_note(True, language), "holidays")
        return None

    def special_days(self, year: int, language: str = "vi") -> list[DayInfo]:
        """Every day of ``year`` off besides plain weekends, and every weekend day worked."""
        package = _package_year(year, _package_language(language))
        days = {*package.days_off, *package.weekend_workdays, *(d for d in self._overrides if d.year == year)}
        out = []
        for day in sorted(days):
            info = self.day_info(day, language)
            if info is None:
                continue
            ordinary = self.is_working_day(day) == (day.weekday() < 5)
            if ordinary and info.source == "override" and day not in package.days_off \
                    and day not in package.weekend_workdays:
                continue  # an override confirming what the week already says
            out.append(info)
        return out

    # -- moments ---------------------------------------------------------------------------------
    def _periods(self, day: date, schedule: WorkSchedule) -> list[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, s, TZ), datetime.combine(day, e, TZ)) for s, e in schedule.periods]

    def next_working_moment(self, moment: datetime, schedule: WorkSchedule = DEFAULT_SCHEDULE) -> datetime:
        """The first moment at or after ``moment`` inside work hours (a period's end is outside)."""
        t = local(moment)
        day = t.date()
        for _ in range(_SEARCH_LIMIT):
            for start, end in self._periods(day, schedule):
                if t < end:
                    return max(t, start)
            day += _DAY
        raise ValueError("no working day within ten years: check the calendar overrides")

    def effective_start(self, received_at: datetime, schedule: WorkSchedule = DEFAULT_SCHEDULE) -> datetime:
        """The moment a dossier received at ``received_at`` counts from (cut-off and days off applied)."""
        t = local(received_at)
        if self.is_working_day(t.date()) and t.time() <= schedule.effective_cutoff:
            return self.next_working_moment(t, schedule)
        return schedule.start_of(self.next_working_day(t.date()))

    def receipt_day(self, received_at: datetime, schedule: WorkSchedule = DEFAULT_SCHEDULE) -> date:
        """The working day a dossier counts as received on (``D`` in the module's rules)."""
        return self.effective_start(received_at, schedule).date()

    def working_time(self, a: datetime, b: datetime, schedule: WorkSchedule = DEFAULT_SCHEDULE) -> timedelta:
        """Work hours between two moments (zero when ``b`` is not after ``a``)."""
        a, b = local(a), local(b)
        total = timedelta()
        if b <= a:
            return total
        day = a.date()
        full = schedule.day_length
        while day <= b.date():
            periods = self._periods(day, schedule)
            if periods and a <= periods[0][0] and periods[-1][1] <= b:
                total += full
            else:
                for start, end in periods:
                    lo, hi = max(start, a), min(end, b)
                    if hi > lo:
                        total += hi - lo
            day += _DAY
        return total

    def _advance_working(self, moment: datetime, budget: timedelta, schedule: WorkSchedule) -> datetime:
        """The moment ``budget`` of work hours after ``moment`` (ending exactly on a period's end)."""
        t = local(moment)
        if budget <= timedelta():
            return t
        day, full, idle = t.date(), schedule.day_length, 0
        while True:
            periods = self._periods(day, schedule)
            idle = 0 if periods else idle + 1
            if idle > _SEARCH_LIMIT:
                raise ValueError("no working day within ten years: check the calendar overrides")
            if periods and t <= periods[0][0] and budget > full:
                budget -= full  # a whole working day, skipped in one step
            else:
                for start, end in periods:
                    if end <= t:
                        continue
                    s = max(start, t)
                    if budget <= end - s:
                        return s + budget
                    budget -= end - s
            day += _DAY
            t = max(t, datetime.combine(day, time(0), TZ))

    def _run_clock(self, start: datetime, budget: timedelta, pauses: Sequence[Pause], working: bool,
                   schedule: WorkSchedule) -> datetime | None:
        """When ``budget`` (work hours, or all hours) runs out from ``start``, pauses not counting."""
        t, remaining = start, budget
        for p_start, p_end in _normalise_pauses(pauses):
            if p_end is not None and p_end <= t:
                continue
            if p_start > t:
                available = self.working_time(t, p_start, schedule) if working else p_start - t
                if available >= remaining:
                    break
                remaining -= available
            if p_end is None:
                return None
            t = self.effective_start(p_end, schedule) if working else max(t, p_end)
        return self._advance_working(t, remaining, schedule) if working else t + remaining

    # -- due dates -------------------------------------------------------------------------------
    def due_date(self, received_at: datetime, amount: float, unit: str,
                 schedule: WorkSchedule = DEFAULT_SCHEDULE, pauses: Sequence[Pause] = ()) -> datetime | None:
        """When a dossier received at ``received_at`` is due; None while a pause is still open.

        See the module docstring for the rules of each unit.
        """
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")
        if not math.isfinite(amount) or amount < 0:
            raise ValueError("the amount must be a finite, non-negative number")
        start = self.effective_start(received_at, schedule)
        receipt_day = start.date()
        if unit == "hours":
            return self._run_clock(start, timedelta(hours=amount), pauses, True, schedule)
        if unit in ("working_days", "unspecified"):
            days = math.ceil(amount)
            if not pauses:  # fast path, same result as the clock below
                return schedule.end_of(self.add_working_day_count(receipt_day, days))
            end = self._run_clock(schedule.end_of(receipt_day), schedule.day_length * days, pauses, True,
                                  schedule)
            return None if end is None else schedule.end_of(self.working_day_on_or_after(end.date()))
        if unit == "months":
            whole = math.floor(amount)
            target = add_months(receipt_day, whole) + timedelta(days=round((amount - whole) * 30))
            calendar_days = (target - receipt_day).days
        else:
            calendar_days = math.ceil(amount)
        midnight = datetime.combine(receipt_day + _DAY, time(0), TZ)
        end = self._run_clock(midnight, timedelta(days=calendar_days), pauses, False, schedule)
        if end is None:
            return None
        last_day = end.date() if end.time() != time(0) else end.date() - _DAY
        return schedule.end_of(self.working_day_on_or_after(last_day))

    def due_date_with_pauses(self, received_at: datetime, amount: float, unit: str, pauses: Sequence[Pause],
                             schedule: WorkSchedule = DEFAULT_SCHEDULE) -> datetime | None:
        """:meth:`due_date` with the clock stopped during ``pauses`` ((start, end or None if open))."""
        return self.due_date(received_at, amount, unit, schedule, pauses)

    def add_working_days(self, start: datetime, n: float, schedule: WorkSchedule = DEFAULT_SCHEDULE) -> datetime:
        return _known(self.due_date(start, n, "working_days", schedule))

    def add_calendar_days(self, start: datetime, n: float, schedule: WorkSchedule = DEFAULT_SCHEDULE) -> datetime:
        return _known(self.due_date(start, n, "days", schedule))

    def add_working_hours(self, start: datetime, hours: float,
                          schedule: WorkSchedule = DEFAULT_SCHEDULE) -> datetime:
        return _known(self.due_date(start, hours, "hours", schedule))

    # -- reports ---------------------------------------------------------------------------------
    def working_days_between(self, a: datetime, b: datetime, schedule: WorkSchedule = DEFAULT_SCHEDULE,
                             pauses: Sequence[Pause] = ()) -> float:
        """Working time from ``a`` to ``b`` in working days (fractional), time inside pauses excluded.

        Negative when ``b`` is before ``a``. An open pause runs to ``b``.
        """
        if local(b) < local(a):
            return -self.working_days_between(b, a, schedule, pauses)
        total = self.working_time(a, b, schedule)
        covered_until = local(a)
        for p_start, p_end in _normalise_pauses(pauses):
            lo = max(p_start, covered_until)
            hi = min(p_end if p_end is not None else local(b), local(b))
            if hi > lo:
                total -= self.working_time(lo, hi, schedule)
                covered_until = hi
        return total / schedule.day_length

    def classify(self, finished_at: datetime, due_at: datetime) -> Lateness:
        """``late`` after ``due_at``; ``early`` at least one working day before the due day; else on time."""
        finished, due = local(finished_at), local(due_at)
        if finished > due:
            return "late"
        if finished.date() <= self.previous_working_day(due.date()):
            return "early"
        return "on_time"


def _known(value: datetime | None) -> datetime:
    assert value is not None  # only an open pause gives None, and these helpers take none
    return value


def _package_language(language: str) -> str:
    return "en_US" if language.startswith("en") else "vi"


def _default_note(working: bool, language: str) -> str:
    if language.startswith("en"):
        return "Make-up working day" if working else "Day off"
    return "Ngày làm việc bù" if working else "Ngày nghỉ"


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date-time (or date: its 00:00); without an offset it is Vietnam's local time."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=TZ)
    return value.astimezone(TZ)


_default_lock = threading.Lock()
_default: Calendar | None = None


def default_calendar() -> Calendar:
    """The package's calendar without overrides (tests, scripts; the app uses ``load_calendar``)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Calendar()
        return _default


def expected_result(calendar: Calendar, channels: Iterable[Mapping[str, Any]], field_name: str | None,
                    now: datetime) -> date | None:
    """The day a dossier filed ``now`` should have its result, from a procedure's channels.

    The online channel's processing time, else the in-person one's; None when neither is known.
    """
    durations = {c.get("channel"): c.get("duration") or {} for c in channels}
    for channel in ("online", "in_person"):
        duration = durations.get(channel) or {}
        value, unit = duration.get("value"), duration.get("unit")
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 and unit in UNITS:
            due = calendar.due_date(now, float(value), unit, schedule_for_field(field_name))
            return due.date() if due is not None else None
    return None
