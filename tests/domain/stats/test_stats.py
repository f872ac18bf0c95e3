"""Statistics: figures against hand-computed fixtures, roll-ups equal to a full recount (property test),
and the pure parts (histogram buckets, percentiles, periods, the memoised calendar).

Each test world lives in a receiving unit of its own (``000.99.xx.H56``), so the dossiers other test
files create never enter its figures: the summary is asked for that unit.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.audit import AuditEvent
from domain.calendar.engine import CIVIL_STATUS_SCHEDULE, DEFAULT_SCHEDULE, TZ, Calendar
from domain.db import Database
from domain.dossiers import backoffice
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier
from domain.errors import Conflict, DomainError, InvalidInput, NotFound
from domain.stats import ratings, reports, rollups
from domain.stats.reports import Report, to_csv
from domain.stats.rollups import MemoCalendar, bucket
from domain.stats.summary import SummaryQuery, percentile, period_of, summary
from domain.workflow import Actor
from tests.domain.stats.world import World, act, approve, file, make_world, pay, resubmit, story

UNIT = "000.99.01.H56"
PROP_UNIT = "000.99.02.H56"


# --- hand-computed figures ---------------------------------------------------------------------------
MONDAY = date(2030, 3, 4)


@pytest.fixture(scope="module")
def march(catalogue_db: str) -> tuple[World, dict[str, int]]:
    w = make_world(catalogue_db, UNIT)
    cal = Calendar()
    assert all(cal.is_working_day(MONDAY + timedelta(days=k)) for k in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 14))
    assert not any(cal.is_working_day(MONDAY + timedelta(days=k)) for k in (5, 6, 12, 13))
    return w, story(w, MONDAY)


def test_summary_matches_hand_computed_figures(march: tuple[World, dict[str, int]]) -> None:
    w, ids = march
    s = w.db.read_sync(summary, SummaryQuery(date(2030, 3, 1), date(2030, 3, 31), unit=UNIT))
    assert s.period.granularity == "day" and len(s.series) == 31
    # received by channel: D1, D3, D4, D5, D7, D8 online; D2 at the counter; D6 by post
    r = s.received
    assert (r.total, r.online, r.in_person, r.postal, r.share_online) == (8, 6, 1, 1, 0.75)
    assert s.growth.previous_total == 0 and s.growth.total_change_percent is None
    # results against the due date in force: D1 and D5 early, D2 on its due day, D4 on the date its apology
    # set (late against the first one), D3 late even against the new date
    res = s.results
    assert (res.settled, res.early, res.on_time, res.late, res.unclassified) == (5, 2, 2, 1, 0)
    assert res.share_on_time == 0.8
    assert (res.rescheduled, res.late_with_apology) == (2, 1)
    assert (res.refused_at_intake, res.withdrawn, res.supplement_requested) == (1, 1, 1)
    # processing time in working days (8 h a day) from the first receipt to the result (5 working days:
    # received Mon → due next Mon 17:00; received Tue → due next Tue; the apology moved D3 and D4 to next Fri):
    #   D1 Mon 09:00 → Wed 10:30: 6 + 8 + 3.5 = 17.5 h = 2.1875 (bucket 2.5)
    #   D2 Mon 09:00 → next Mon 15:00: 6 + 32 + 6 = 44 h = 5.5
    #   D3 Tue 09:00 → Mon of week 3 10:30: 6 + 24 + 40 + 3.5 = 73.5 h = 9.1875 (bucket 9.5)
    #   D4 Tue 09:00 → next Fri 10:30: 6 + 24 + 32 + 3.5 = 65.5 h = 8.1875 (bucket 8.5)
    #   D5 Mon 09:00 → next Wed 10:30 = 6 + 32 + 16 + 3.5 = 57.5 h, minus the supplement pause Tue 09:00 →
    #      next Mon 09:00 (6 + 24 + 2 = 32 h) = 25.5 h = 3.1875 (bucket 3.5)
    t = s.processing_time
    assert t.count == 5
    assert t.median_days == 5.5 and t.p90_days == 9.5  # nearest rank: 3rd and 5th of five
    assert t.mean_days == round((219 + 550 + 919 + 819 + 319) / 500, 2)
    assert (s.payments.fee_due, s.payments.paid_online, s.payments.share) == (2, 1, 0.5)
    sat = s.satisfaction
    assert (sat.ratings, sat.score, sat.satisfied_share) == (2, 3.75, 0.5)
    assert sat.criteria == {"timeliness": 4.0, "attitude": 4.0, "clarity": 3.5, "ease": 3.5}
    assert [(u.code, u.received, u.settled, u.early, u.on_time, u.late, u.share_on_time) for u in s.by_unit] == \
        [(UNIT, 8, 5, 2, 2, 1, 0.8)]
    assert len(s.by_field) == 1 and s.by_field[0].received == 8
    day = {p.label: p for p in s.series}
    first = day[MONDAY.isoformat()]
    assert (first.online, first.in_person, first.postal) == (2, 1, 1)  # D1, D5; D2; D6
    assert day[(MONDAY + timedelta(days=14)).isoformat()].late == 1  # D3's result
    assert day[(MONDAY + timedelta(days=9)).isoformat()].early == 1  # D5
    assert day[(MONDAY + timedelta(days=11)).isoformat()].on_time == 1  # D4
    # the month from the monthly table equals the days: a partial-month period reads daily rows
    s2 = w.db.read_sync(summary, SummaryQuery(date(2030, 2, 20), date(2030, 4, 10), unit=UNIT))
    assert (s2.received.total, s2.results.settled, s2.processing_time.median_days) == (8, 5, 5.5)
    s3 = w.db.read_sync(summary, SummaryQuery(date(2030, 1, 1), date(2030, 12, 31), unit=UNIT))
    assert s3.period.granularity == "month" and (s3.received.total, s3.results.late) == (8, 1)


def test_lateness_and_pause_recorded_on_the_dossiers(march: tuple[World, dict[str, int]]) -> None:
    w, ids = march

    def load(s: Session) -> dict[str, Any]:
        return {k: (d.lateness, d.due_at.astimezone(TZ).date() if d.due_at else None, d.supplement_count)
                for k, d in ((k, s.get(Dossier, v)) for k, v in ids.items()) if d is not None}

    got = w.db.read_sync(load)
    assert got["d1"][0] == "early" and got["d2"][0] == "on_time"
    assert got["d3"] == ("late", MONDAY + timedelta(days=11), 0)  # the rescheduled date
    assert got["d4"] == ("on_time", MONDAY + timedelta(days=11), 0)
    assert got["d5"] == ("early", MONDAY + timedelta(days=14), 1)  # due again from the second receipt


def test_transactions_counted_like_the_audit_log(march: tuple[World, dict[str, int]]) -> None:
    """tx / tx_auth equal the audit rows of the unit's dossiers (counted on the day they were written)."""
    w, ids = march

    def audit(s: Session) -> tuple[int, int, date, date]:
        subjects = [f"dossier:{i}" for i in s.scalars(select(Dossier.id).where(Dossier.unit_code == UNIT))]
        base = select(func.count()).select_from(AuditEvent).where(AuditEvent.subject.in_(subjects),
                                                                 AuditEvent.event.like("dossier.%"))
        first, last = s.execute(select(func.min(AuditEvent.at), func.max(AuditEvent.at))
                                .where(AuditEvent.subject.in_(subjects))).one()
        return (s.scalar(base) or 0, s.scalar(base.where(AuditEvent.authenticated != "")) or 0,
                rollups.local_day(first), rollups.local_day(last))

    total, authenticated, first, last = w.db.read_sync(audit)
    s = w.db.read_sync(summary, SummaryQuery(first, last, unit=UNIT))
    assert (s.authentication.transactions, s.authentication.authenticated) == (total, authenticated)
    assert 0 < authenticated < total  # D2 was filed at the counter, without electronic authentication


def test_rollups_equal_a_full_recount(march: tuple[World, dict[str, int]]) -> None:
    w, _ = march
    assert w.db.read_sync(rollups.differences, unit_code=UNIT) == []


def test_rating_rules(march: tuple[World, dict[str, int]]) -> None:
    w, ids = march
    with pytest.raises(Conflict):  # once per dossier
        w.db.run(ratings.rate, w.citizen, ids["d1"], {"timeliness": 1, "attitude": 1, "clarity": 1, "ease": 1})
    with pytest.raises(Conflict):  # only after the result was returned
        w.db.run(ratings.rate, w.citizen, ids["d8"], {"timeliness": 5, "attitude": 5, "clarity": 5, "ease": 5})
    with pytest.raises(InvalidInput):
        w.db.run(ratings.rate, w.citizen, ids["d3"], {"timeliness": 6, "attitude": 5, "clarity": 5, "ease": 5})
    with pytest.raises(InvalidInput):
        w.db.run(ratings.rate, w.citizen, ids["d3"], {"timeliness": 5, "attitude": 5, "clarity": 5})
    with pytest.raises(NotFound):  # someone else's dossier reads as not found
        w.db.run(ratings.rate, w.officer, ids["d3"], {"timeliness": 5, "attitude": 5, "clarity": 5, "ease": 5})
    comments = w.db.read_sync(ratings.unit_comments, w.officer, UNIT, date(2030, 3, 1), date(2030, 3, 31))
    assert [c.comment for c in comments] == ["", "Cán bộ hướng dẫn tận tình."]
    assert comments[1].scores == {"timeliness": 5, "attitude": 5, "clarity": 4, "ease": 4}


def test_reports(march: tuple[World, dict[str, int]]) -> None:
    w, ids = march
    start, end = date(2030, 3, 1), date(2030, 3, 31)
    rep = w.db.read_sync(reports.report, w.officer, "dossiers", UNIT, start, end)
    assert len(rep.rows) == 8 and rep.columns[0] == "Mã hồ sơ"
    late = w.db.read_sync(reports.report, w.officer, "late", UNIT, start, end)
    codes = {row[0] for row in late.rows}
    assert len(codes) == 2 and all(row[8] == "Cần xác minh thêm." for row in late.rows)  # D3 and D4's letters
    payments = w.db.read_sync(reports.report, w.officer, "payments", UNIT, start, end)
    assert len(payments.rows) == 1 and payments.rows[0][3] == 50_000
    logbook = w.db.read_sync(reports.report, w.officer, "logbook", UNIT, start, end)
    assert len(logbook.rows) == 8 and logbook.columns == list(backoffice.LOGBOOK_COLUMNS)
    body = reports.to_csv(rep)
    assert body.startswith("\ufeff".encode()) and "Mã hồ sơ" in body.decode()
    book = load_workbook(io.BytesIO(reports.to_xlsx(rep)))
    sheet = book.active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][0] == "Mã hồ sơ" and len(values) == 2 + 8
    assert isinstance(values[2][6], datetime)  # dates stay dates
    with pytest.raises(NotFound):
        w.db.read_sync(reports.report, w.officer, "dossiers", "000.00.12.H56", start, end)  # not their unit
    with pytest.raises(InvalidInput):
        w.db.read_sync(reports.report, w.officer, "dossiers", UNIT, end, start)
    with pytest.raises(InvalidInput):
        w.db.read_sync(reports.report, w.officer, "dossiers", UNIT, date(2000, 1, 1), date(2030, 1, 1))
    with pytest.raises(NotFound):
        w.db.read_sync(reports.report, w.officer, "secrets", UNIT, start, end)


def test_formula_injection_is_neutralised() -> None:
    rep = Report("dossiers", "t", UNIT, "u", date(2030, 1, 1), date(2030, 1, 2), ["a"], [["=HYPERLINK(\"x\")"]])
    assert "'=HYPERLINK" in to_csv(rep).decode()


# --- property: roll-ups equal a recount after random changes -------------------------------------------
ACTIONS = ("receive", "request_supplement", "resubmit", "refuse_intake", "assign", "apologize", "approve",
           "issue_result", "return_result", "withdraw", "pay", "rate", "channel", "file")
STEP = st.tuples(st.integers(0, 5), st.sampled_from(ACTIONS), st.integers(1, 40), st.booleans())


@pytest.fixture(scope="module")
def prop_world(catalogue_db: str) -> World:
    return make_world(catalogue_db, PROP_UNIT)


def _apply(  # noqa: C901  (one branch per action of the random walk)
    s: Session, w: World, ids: list[int], index: int, action: str, hours: int, clock: dict[int, datetime]
) -> None:
    cal = Calendar()
    if action == "file" or not ids:
        at = datetime(2031, 6, 2, 8, tzinfo=TZ) + timedelta(hours=hours * 7)
        d = file(s, w, at, fee=20_000 if hours % 2 else None, channel=("online", "in_person", "postal")[hours % 3])
        ids.append(d.id)
        clock[d.id] = at
        return
    did = ids[index % len(ids)]
    found = s.get(Dossier, did)
    assert found is not None
    d = found
    at = clock[did] = clock[did] + timedelta(hours=hours)
    if action == "resubmit":
        resubmit(s, w, d, at)
    elif action == "approve":
        approve(s, w, d, at)
    elif action == "withdraw":
        fire(s, d, "withdraw", actor_id=w.citizen, actors={Actor.APPLICANT}, reason="Rút", now=at, amr="pwd")
        d.finished_at = at
    elif action == "pay":
        if d.fee_vnd:
            pay(s, d, at)
    elif action == "rate":
        ratings.rate(s, w.citizen, did, {"timeliness": 1 + hours % 5, "attitude": 5, "clarity": 3, "ease": 4},
                     now=at)
    elif action == "channel":
        rollups.set_channel(s, did, ("online", "in_person", "postal")[hours % 3])
    else:
        payload: dict[str, Any] = {}
        if action == "request_supplement":
            payload = {"missing": ["Giấy tờ"]}
        elif action in ("refuse_intake", "apologize"):
            payload = {"reason": "Lý do"}
        elif action == "assign":
            payload = {"to_user": w.officer}
        if action == "apologize":
            base = (d.due_at or at).astimezone(TZ).date()
            payload["new_due_date"] = cal.add_working_day_count(base, 1 + hours % 4).isoformat()
        act(s, w, d, action, at, **payload)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=3, max_size=18))
def test_rollups_equal_recount_after_random_changes(prop_world: World, steps: list[tuple[int, str, int, bool]]) -> None:
    w = prop_world
    ids: list[int] = []
    clock: dict[int, datetime] = {}
    batch: list[tuple[int, str, int]] = []

    def run(s: Session, todo: list[tuple[int, str, int]]) -> None:
        for index, action, hours in todo:
            try:
                with s.begin_nested():  # a refused action leaves the rest of the transaction as it was
                    _apply(s, w, ids, index, action, hours, clock)
            except DomainError:
                pass

    for index, action, hours, commit in steps:
        batch.append((index, action, hours))
        if commit:
            w.db.run(run, batch)
            batch = []
    if batch:
        w.db.run(run, batch)
    assert w.db.read_sync(rollups.differences, unit_code=PROP_UNIT) == []


# --- pure parts ------------------------------------------------------------------------------------------
def test_buckets_and_percentiles() -> None:
    assert [bucket(c) for c in (0, 1, 50, 51, 219, 1000, 1001, 1099, 20000, 20001)] == \
        [0, 1, 1, 2, 5, 20, 22, 22, 400, rollups.OVERFLOW_BUCKET]
    assert percentile({}, 0.5) is None
    assert percentile({5: 1, 11: 1, 19: 1, 13: 1, 7: 1}, 0.5) == 5.5
    assert percentile({5: 1, 11: 1, 19: 1, 13: 1, 7: 1}, 0.9) == 9.5
    assert percentile({2: 9, rollups.OVERFLOW_BUCKET: 1}, 0.9) == 1.0
    assert percentile({2: 9, rollups.OVERFLOW_BUCKET: 1}, 1.0) is None  # beyond 200 days: not a number


def test_periods_and_bad_input() -> None:
    today = date(2026, 5, 17)
    assert period_of("month", today=today) == (date(2026, 5, 1), date(2026, 5, 31))
    assert period_of("quarter", quarter=1, year=2024, today=today) == (date(2024, 1, 1), date(2024, 3, 31))
    assert period_of("year", year=2025, today=today) == (date(2025, 1, 1), date(2025, 12, 31))
    assert period_of("month", month=2, year=2028, today=today) == (date(2028, 2, 1), date(2028, 2, 29))
    for kind, kw in (("week", {}), ("month", {"month": 13}), ("quarter", {"quarter": 0}), ("year", {"year": 1900}),
                     ("custom", {"start": date(2026, 1, 1)})):
        with pytest.raises(InvalidInput):
            period_of(kind, today=today, **kw)
    for start, end in ((date(2026, 2, 1), date(2026, 1, 1)), (date(1990, 1, 1), date(2026, 1, 1)),
                       (date(2000, 1, 1), date(2099, 12, 31)), (date(2026, 1, 1), date(2101, 1, 1))):
        with pytest.raises(InvalidInput):
            SummaryQuery(start, end).validate()
    SummaryQuery(date(2020, 1, 1), date(2029, 12, 31)).validate()  # ten years is fine


def test_unknown_unit_or_field_is_404(catalogue_db: str) -> None:
    db = Database(catalogue_db)
    for q in (SummaryQuery(date(2026, 1, 1), date(2026, 1, 31), unit="999.99.99.X99"),
              SummaryQuery(date(2026, 1, 1), date(2026, 1, 31), field="khong-co")):
        with pytest.raises(NotFound):
            db.read_sync(summary, q)


def test_an_empty_future_period_is_zeros(catalogue_db: str) -> None:
    s = Database(catalogue_db).read_sync(summary, SummaryQuery(date(2099, 1, 1), date(2099, 3, 31)))
    assert s.received.total == 0 and s.results.share_on_time is None and s.processing_time.median_days is None
    assert len(s.series) == 3 and s.empty


@settings(max_examples=300, deadline=None)
@given(a=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)),
       minutes=st.integers(-2000, 600_000), civil=st.booleans())
def test_memo_calendar_counts_working_time_like_the_calendar(a: datetime, minutes: int, civil: bool) -> None:
    schedule = CIVIL_STATUS_SCHEDULE if civil else DEFAULT_SCHEDULE
    start = a.replace(tzinfo=TZ)
    end = start + timedelta(minutes=minutes)
    assert MemoCalendar().working_time(start, end, schedule) == Calendar().working_time(start, end, schedule)
    assert MemoCalendar().working_days_between(start, end, schedule) == \
        Calendar().working_days_between(start, end, schedule)
