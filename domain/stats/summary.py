"""The public figures of a period (optionally one receiving unit and/or one field), from the roll-ups.

Whole months are read from ``stats_monthly``, the days of partial months (and every day of a period
of up to 62 days, which is charted by day) from ``stats_daily``; the totals from the aggregate rows
(unit ``*`` and/or field ``*``), the breakdowns from the rows of each unit or field. A summary reads a
few thousand small rows at most, whatever the number of dossiers. Nothing here scans ``dossiers``.

Definitions (also in the API's OpenAPI description, :data:`DEFINITIONS`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from domain.calendar.engine import TZ
from domain.catalog.models import Field, Offering, Procedure, Unit
from domain.errors import InvalidInput, NotFound
from domain.intake.digitisation import Figures, figures
from domain.stats.models import (
    MEASURES,
    StatsDaily,
    StatsDailyDuration,
    StatsMonthly,
    StatsMonthlyDuration,
)
from domain.stats.rollups import ALL, CRITERIA, OVERFLOW_BUCKET

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
MAX_DAYS = 3700  # about ten years: longer periods are refused (400)
DAILY_SERIES_MAX_DAYS = 62
MONTHLY_SERIES_MAX_DAYS = 1100
PERIOD_KINDS = ("month", "quarter", "year", "custom")

DEFINITIONS = """\
Figures for the period [from, to] (local days, Asia/Ho_Chi_Minh, both included), optionally for one
receiving unit (`unit`, e.g. 000.00.12.H56) and/or one field (`field`, the slug of /api/v1/fields).
They come from incremental daily roll-ups, updated in the same transaction as every state change.

* **procedures**: procedures this province offers now (unit/field filters apply): `full_online` —
  fully online (*toàn trình*: filed, paid and answered online); `partial_online` — filed online, some
  step in person; `in_person` — not online. `share_full_online` = full / offered; `share_online` =
  (full + partial) / offered.
* **received**: dossiers filed in the period, counted on the day they were submitted, by channel
  (`online` through this portal; `in_person` at the counter; `postal`). `share_online` = online / total.
* **growth**: the same figures for the same dates one year earlier and the change in percent
  ((now − then) / then × 100; null when there was nothing then).
* **results**: dossiers that reached a result in the period (result issued, or a decision not to
  grant), counted on the day of the result. `early` (at least one working day before the due day),
  `on_time` (on the due day), `late` (after the due moment) compare the result with the due date in force
  at that moment — the rescheduled one when an apology with a new date (form 04) was issued.
  `share_on_time` = (early + on_time) / (early + on_time + late); `unclassified`: results of procedures
  without a stated processing time. `rescheduled`: results that had at least one apology;
  `late_with_apology`: late results that had one. `refused_at_intake`, `withdrawn` (on the day they
  ended) and `supplement_requested` (of the dossiers received in the period) complete the picture.
* **processing_time**: working days from receipt to result, the time the clock stood still for a
  supplement excluded (the working-day calendar: weekends, public holidays, announced swaps). `median`
  and `p90` are nearest-rank percentiles, rounded up to the half day (whole days beyond 10, null
  beyond 200); `mean` is exact.
* **payments**: of the dossiers received in the period whose fee is above zero (`fee_due`), those paid
  through an online payment gateway (`paid_online`); `share` = paid_online / fee_due.
* **authentication**: transactions on dossiers (every recorded action: submission, intake, decision…,
  one audit-log row each, counted on its day) and those made by an electronically authenticated person
  (signed in with a password or a passkey); `share` = authenticated / transactions.
* **satisfaction**: ratings given in the period by citizens whose result was returned (once per
  dossier; criteria on a 1–5 scale): `score` = mean of all criteria, `criteria` = mean per criterion,
  `satisfied_share` = share of ratings whose mean is 4 or more. Comments are never public.
* **by_unit**, **by_field**: received and results per receiving unit and per field;
  **series**: received by channel and results per day (periods up to 62 days), month (up to about
  three years) or year.
* **digitisation**: document components (slots) of filed dossiers recorded in the period, counted from
  the digitisation records only: `components_digitised` (scanned or uploaded here, with a file and its
  pages), `components_reused` (taken from the applicant's wallet, another dossier's documents or result,
  or the national data store), and the dossiers that have at least one of each. A component seen but not
  kept, or without a file, is never counted.

Shares are fractions between 0 and 1 (null when the denominator is 0). An inverted period, dates
outside 2000–2100 or a period longer than ten years answer 400; an unknown unit or field answers 404.
"""


# --- the query --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SummaryQuery:
    start: date
    end: date
    unit: str | None = None
    field: str | None = None

    def validate(self) -> SummaryQuery:
        if not (EARLIEST <= self.start <= LATEST and EARLIEST <= self.end <= LATEST):
            raise InvalidInput("Ngày phải trong khoảng 2000–2100.", field="from")
        if self.end < self.start:
            raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", field="to")
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise InvalidInput("Khoảng thời gian tối đa là 10 năm.", field="from")
        for name, value in (("unit", self.unit), ("field", self.field)):
            if value is not None and (len(value) > 255 or not value.strip()):
                raise InvalidInput(f"{name} không hợp lệ.", field=name)
        return self


def today_local() -> date:
    return datetime.now(TZ).date()


def last_day_of_month(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def period_of(kind: str, *, year: int | None = None, month: int | None = None, quarter: int | None = None,
              start: date | None = None, end: date | None = None, today: date | None = None) -> tuple[date, date]:
    """The days of a month, quarter or year (the current one by default), or a custom range."""
    today = today or today_local()
    if kind not in PERIOD_KINDS:
        raise InvalidInput(f"Kỳ thống kê phải là một trong: {', '.join(PERIOD_KINDS)}.", field="period")
    y = year if year is not None else today.year
    if not EARLIEST.year <= y <= LATEST.year:
        raise InvalidInput("Năm phải trong khoảng 2000–2100.", field="year")
    if kind == "year":
        return date(y, 1, 1), date(y, 12, 31)
    if kind == "quarter":
        q = quarter if quarter is not None else (today.month - 1) // 3 + 1
        if not 1 <= q <= 4:
            raise InvalidInput("Quý từ 1 đến 4.", field="quarter")
        return date(y, 3 * q - 2, 1), last_day_of_month(y, 3 * q)
    if kind == "month":
        m = month if month is not None else today.month
        if not 1 <= m <= 12:
            raise InvalidInput("Tháng từ 1 đến 12.", field="month")
        return date(y, m, 1), last_day_of_month(y, m)
    if start is None or end is None:
        raise InvalidInput("Hãy chọn ngày bắt đầu và ngày kết thúc.", field="from")
    return start, end


def _shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- results ----------------------------------------------------------------------------------------
def share(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def change(now: int, then: int) -> float | None:
    return round((now - then) / then * 100, 1) if then else None


@dataclass
class Procedures:
    offered: int
    full_online: int
    partial_online: int
    in_person: int
    share_full_online: float | None
    share_online: float | None


@dataclass
class Received:
    total: int
    online: int
    in_person: int
    postal: int
    share_online: float | None


@dataclass
class Growth:
    previous_from: date
    previous_to: date
    previous_total: int
    previous_online: int
    total_change_percent: float | None
    online_change_percent: float | None


@dataclass
class Results:
    settled: int
    early: int
    on_time: int
    late: int
    unclassified: int
    share_on_time: float | None
    rescheduled: int
    late_with_apology: int
    refused_at_intake: int
    withdrawn: int
    supplement_requested: int


@dataclass
class ProcessingTime:
    count: int
    median_days: float | None
    p90_days: float | None
    mean_days: float | None


@dataclass
class Payments:
    fee_due: int
    paid_online: int
    share: float | None


@dataclass
class Authentication:
    transactions: int
    authenticated: int
    share: float | None


@dataclass
class Satisfaction:
    ratings: int
    score: float | None
    satisfied_share: float | None
    criteria: dict[str, float | None]


@dataclass
class Breakdown:
    code: str
    name: str
    received: int
    settled: int
    early: int
    on_time: int
    late: int
    share_on_time: float | None


@dataclass
class SeriesPoint:
    label: str
    start: date
    end: date
    online: int
    in_person: int
    postal: int
    settled: int
    early: int
    on_time: int
    late: int


@dataclass
class Period:
    first_day: date
    last_day: date
    days: int
    unit: str | None
    unit_name: str | None
    field: str | None
    field_name: str | None
    granularity: str  # day | month | year


@dataclass
class Summary:
    period: Period
    procedures: Procedures
    received: Received
    growth: Growth
    results: Results
    processing_time: ProcessingTime
    payments: Payments
    authentication: Authentication
    satisfaction: Satisfaction
    by_unit: list[Breakdown]
    by_field: list[Breakdown]
    series: list[SeriesPoint]
    digitisation: Figures
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def empty(self) -> bool:
        return self.received.total == 0 and self.results.settled == 0 and self.satisfaction.ratings == 0


# --- reading roll-ups ---------------------------------------------------------------------------------
Totals = dict[str, int]


def _segments(start: date, end: date, daily_only: bool) -> list[tuple[str, date, date]]:
    """("day", lo, hi) ranges read from the daily table and ("month", lo, hi) from the monthly one."""
    if daily_only:
        return [("day", start, end)]
    first = start if start.day == 1 else last_day_of_month(start.year, start.month) + timedelta(days=1)
    last_end = end if end == last_day_of_month(end.year, end.month) else end.replace(day=1) - timedelta(days=1)
    if first > last_end:
        return [("day", start, end)]
    out = [("month", first, last_end.replace(day=1))]
    if start < first:
        out.append(("day", start, first - timedelta(days=1)))
    if last_end < end:
        out.append(("day", last_end + timedelta(days=1), end))
    return out


def _tables(kind: str) -> tuple[Any, Any, Any]:
    if kind == "day":
        return StatsDaily.__table__, StatsDaily.__table__.c.day, StatsDailyDuration.__table__
    return StatsMonthly.__table__, StatsMonthly.__table__.c.month, StatsMonthlyDuration.__table__


BREAKDOWN = ("filed_online", "filed_in_person", "filed_postal", "settled", "early", "on_time", "late")


def _source(start: date, end: date, daily_only: bool, cols: Sequence[str], unit: str | None,
            field: str | None) -> Any:
    """The roll-up rows of a period as one subquery (d, u, f, measures…): days and whole months.

    ``unit``/``field``: that code (``ALL`` for the aggregate rows), or None for each real one."""
    parts = []
    for kind, lo, hi in _segments(start, end, daily_only):
        table, day_col, _ = _tables(kind)
        stmt = select(day_col.label("d"), table.c.unit_code.label("u"), table.c.field_slug.label("f"),
                      *[table.c[m].label(m) for m in cols]).where(day_col >= lo, day_col <= hi)
        stmt = stmt.where(table.c.unit_code == unit if unit is not None else table.c.unit_code != ALL)
        stmt = stmt.where(table.c.field_slug == field if field is not None else table.c.field_slug != ALL)
        parts.append(stmt)
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("rollup")


def _sums(session: Session, src: Any, cols: Sequence[str], by: str | None = None) -> dict[Any, Totals]:
    """Sums of ``cols`` over the source, grouped by one key column (or one total under None)."""
    sums = [func.coalesce(func.sum(src.c[m]), 0) for m in cols]
    stmt = select(src.c[by], *sums).group_by(src.c[by]) if by else select(literal(None), *sums)
    return {row[0]: dict(zip(cols, (int(v) for v in row[1:]), strict=True)) for row in session.execute(stmt)}


def _histogram(session: Session, q: SummaryQuery, start: date, end: date) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for kind, lo, hi in _segments(start, end, False):
        _, _, table = _tables(kind)
        day_col = table.c.day if kind == "day" else table.c.month
        stmt = select(table.c.half_days, func.sum(table.c.n)).where(
            day_col >= lo, day_col <= hi, table.c.unit_code == (q.unit or ALL), table.c.field_slug == (q.field or ALL))
        for half, n in session.execute(stmt.group_by(table.c.half_days)):
            out[int(half)] += int(n or 0)
    return out


def percentile(histogram: dict[int, int], p: float) -> float | None:
    """Nearest-rank percentile of a half-day histogram: the upper bound of the bucket holding rank ⌈pN⌉."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for half in sorted(histogram):
        seen += histogram[half]
        if seen >= rank:
            return None if half == OVERFLOW_BUCKET else half / 2
    return None


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _add(into: Totals, values: Totals) -> None:
    for m, v in values.items():
        if v:
            into[m] = into.get(m, 0) + v


def _received(t: Totals) -> int:
    return t.get("filed_online", 0) + t.get("filed_in_person", 0) + t.get("filed_postal", 0)


def _breakdown(code: str, name: str, t: Totals) -> Breakdown:
    early, on_time, late = t.get("early", 0), t.get("on_time", 0), t.get("late", 0)
    return Breakdown(code=code, name=name, received=_received(t), settled=t.get("settled", 0), early=early,
                     on_time=on_time, late=late, share_on_time=share(early + on_time, early + on_time + late))


def _granularity(start: date, end: date) -> str:
    days = (end - start).days + 1
    if days <= DAILY_SERIES_MAX_DAYS:
        return "day"
    return "month" if days <= MONTHLY_SERIES_MAX_DAYS else "year"


def _buckets(start: date, end: date, granularity: str) -> list[tuple[str, date, date]]:
    out: list[tuple[str, date, date]] = []
    cursor = start
    for _ in range(MAX_DAYS + 1):
        if cursor > end:
            break
        if granularity == "day":
            hi, label = cursor, cursor.isoformat()
        elif granularity == "month":
            hi, label = min(end, last_day_of_month(cursor.year, cursor.month)), f"{cursor:%Y-%m}"
        else:
            hi, label = min(end, date(cursor.year, 12, 31)), f"{cursor.year}"
        out.append((label, cursor, hi))
        cursor = hi + timedelta(days=1)
    return out


def _bucket_label(day: date, granularity: str) -> str:
    if granularity == "day":
        return day.isoformat()
    return f"{day:%Y-%m}" if granularity == "month" else f"{day.year}"


def _check_filters(session: Session, q: SummaryQuery) -> tuple[str | None, str | None]:
    unit_name = field_name = None
    if q.unit is not None:
        unit_name = session.scalar(select(Unit.name).where(Unit.code == q.unit))
        if unit_name is None:
            raise NotFound(f"Không có đơn vị {q.unit!r}.", field="unit")
    if q.field is not None:
        field_name = session.scalar(select(Field.name).where(Field.slug == q.field))
        if field_name is None:
            raise NotFound(f"Không có lĩnh vực {q.field!r}.", field="field")
    return unit_name, field_name


def _procedures(session: Session, q: SummaryQuery) -> Procedures:
    stmt = select(Offering.mode, func.count()).join(Procedure, Procedure.code == Offering.procedure_code)
    if q.unit:
        stmt = stmt.where(Offering.unit_code == q.unit)
    if q.field:
        stmt = stmt.where(Procedure.field_slug == q.field)
    counts = {mode: int(n) for mode, n in session.execute(stmt.group_by(Offering.mode))}
    full, partial, in_person = counts.get("full", 0), counts.get("partial", 0), counts.get("in_person", 0)
    offered = full + partial + in_person
    return Procedures(offered=offered, full_online=full, partial_online=partial, in_person=in_person,
                      share_full_online=share(full, offered), share_online=share(full + partial, offered))


def _received_of(total: Totals) -> Received:
    online = total.get("filed_online", 0)
    return Received(total=_received(total), online=online, in_person=total.get("filed_in_person", 0),
                    postal=total.get("filed_postal", 0), share_online=share(online, _received(total)))


def _previous_year(session: Session, q: SummaryQuery, daily_only: bool, unit: str,
                   fld: str) -> tuple[date, date, Totals]:
    """The same period a year earlier and what was filed in it (nothing before :data:`EARLIEST`)."""
    prev_start, prev_end = _shift_year(q.start, -1), _shift_year(q.end, -1)
    if prev_start < EARLIEST:
        return prev_start, prev_end, {}
    filed = ("filed_online", "filed_in_person", "filed_postal")
    return prev_start, prev_end, _sums(session, _source(prev_start, prev_end, daily_only, filed, unit, fld),
                                       filed).get(None, {})


def _growth_of(received: Received, prev_start: date, prev_end: date, previous: Totals) -> Growth:
    return Growth(previous_from=prev_start, previous_to=prev_end, previous_total=_received(previous),
                  previous_online=previous.get("filed_online", 0),
                  total_change_percent=change(received.total, _received(previous)),
                  online_change_percent=change(received.online, previous.get("filed_online", 0)))


def _results_of(total: Totals) -> Results:
    early, on_time, late = total.get("early", 0), total.get("on_time", 0), total.get("late", 0)
    return Results(settled=total.get("settled", 0), early=early, on_time=on_time, late=late,
                   unclassified=total.get("settled", 0) - early - on_time - late,
                   share_on_time=share(early + on_time, early + on_time + late),
                   rescheduled=total.get("rescheduled", 0), late_with_apology=total.get("late_apology", 0),
                   refused_at_intake=total.get("refused", 0), withdrawn=total.get("withdrawn", 0),
                   supplement_requested=total.get("supplement", 0))


def _processing_of(total: Totals, histogram: dict[int, int]) -> ProcessingTime:
    count = total.get("proc_count", 0)
    return ProcessingTime(count=count, median_days=percentile(histogram, 0.5), p90_days=percentile(histogram, 0.9),
                          mean_days=round(total.get("proc_centidays", 0) / count / 100, 2) if count else None)


def _satisfaction_of(total: Totals) -> Satisfaction:
    ratings = total.get("ratings", 0)
    criteria = {c: (round(total.get(f"r_{c}", 0) / ratings, 2) if ratings else None) for c in CRITERIA}
    points = sum(total.get(f"r_{c}", 0) for c in CRITERIA)
    return Satisfaction(ratings=ratings, score=round(points / (ratings * len(CRITERIA)), 2) if ratings else None,
                        satisfied_share=share(total.get("rating_satisfied", 0), ratings), criteria=criteria)


def _payments_of(total: Totals) -> Payments:
    return Payments(fee_due=total.get("fee_due", 0), paid_online=total.get("paid_online", 0),
                    share=share(total.get("paid_online", 0), total.get("fee_due", 0)))


def _authentication_of(total: Totals) -> Authentication:
    return Authentication(transactions=total.get("tx", 0), authenticated=total.get("tx_auth", 0),
                          share=share(total.get("tx_auth", 0), total.get("tx", 0)))


def _ranked(rows: list[Breakdown]) -> list[Breakdown]:
    """Most received first, then most settled, then by code."""
    return sorted(rows, key=lambda b: (-b.received, -b.settled, b.code))


def _by_unit(session: Session, units: dict[Any, Totals]) -> list[Breakdown]:
    names = dict(session.execute(select(Unit.code, Unit.name)).all())
    return _ranked([_breakdown(code, names.get(code, code), t) for code, t in units.items()])


def _by_field(session: Session, fields: dict[Any, Totals]) -> list[Breakdown]:
    names = dict(session.execute(select(Field.slug, Field.name).where(Field.slug.in_(list(fields) or [""])))
                 .all()) if fields else {}
    return _ranked([_breakdown(slug, names.get(slug, slug or "—"), t) for slug, t in fields.items()])


def _series(session: Session, src: Any, q: SummaryQuery, granularity: str) -> list[SeriesPoint]:
    """The period bucket by bucket (day, month or quarter), empty buckets included."""
    by_bucket: dict[str, Totals] = defaultdict(dict)
    for day, values in _sums(session, src, BREAKDOWN, "d").items():
        _add(by_bucket[_bucket_label(_as_date(day), granularity)], values)
    series = []
    for label, lo, hi in _buckets(q.start, q.end, granularity):
        t = by_bucket.get(label, {})
        series.append(SeriesPoint(label=label, start=lo, end=hi, online=t.get("filed_online", 0),
                                  in_person=t.get("filed_in_person", 0), postal=t.get("filed_postal", 0),
                                  settled=t.get("settled", 0), early=t.get("early", 0), on_time=t.get("on_time", 0),
                                  late=t.get("late", 0)))
    return series


def _digitisation(session: Session, q: SummaryQuery) -> Figures:
    """Components digitised or reused in the period, from the digitisation records only (a component without a
    file is never counted)."""
    return figures(session, unit_code=q.unit, field_slug=q.field, start=datetime.combine(q.start, time.min, TZ),
                   end=datetime.combine(q.end + timedelta(days=1), time.min, TZ))


def summary(session: Session, q: SummaryQuery) -> Summary:
    """Every figure of the dashboard for one period (see :data:`DEFINITIONS`)."""
    q = q.validate()
    unit_name, field_name = _check_filters(session, q)
    granularity = _granularity(q.start, q.end)
    daily_only = granularity == "day"
    unit, fld = q.unit or ALL, q.field or ALL  # the aggregate rows that answer this question
    src = _source(q.start, q.end, daily_only, MEASURES, unit, fld)
    total = _sums(session, src, MEASURES).get(None, {})
    units = _sums(session, _source(q.start, q.end, daily_only, BREAKDOWN, q.unit, fld), BREAKDOWN, "u")
    fields = _sums(session, _source(q.start, q.end, daily_only, BREAKDOWN, unit, q.field), BREAKDOWN, "f")
    received = _received_of(total)
    return Summary(
        period=Period(first_day=q.start, last_day=q.end, days=(q.end - q.start).days + 1, unit=q.unit,
                      unit_name=unit_name, field=q.field, field_name=field_name, granularity=granularity),
        procedures=_procedures(session, q),
        received=received,
        growth=_growth_of(received, *_previous_year(session, q, daily_only, unit, fld)),
        results=_results_of(total),
        processing_time=_processing_of(total, _histogram(session, q, q.start, q.end)),
        payments=_payments_of(total),
        authentication=_authentication_of(total),
        satisfaction=_satisfaction_of(total),
        by_unit=_by_unit(session, units),
        by_field=_by_field(session, fields),
        series=_series(session, src, q, granularity),
        digitisation=_digitisation(session, q),
    )


def filter_choices(session: Session) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Units and fields to choose from on the dashboard: the units, and fields this province offers."""
    units = [(c, n) for c, n in session.execute(select(Unit.code, Unit.name).where(Unit.active.is_(True))
                                                 .order_by(Unit.code))]
    fields = [(s, n) for s, n in session.execute(select(Field.slug, Field.name).where(Field.offered_count > 0)
                                                  .order_by(Field.name))]
    return units, fields
