"""The working-day calendar on real Vietnamese dates (holidays 0.108 for VN, 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar.engine import (
    CIVIL_STATUS_SCHEDULE,
    DEFAULT_SCHEDULE,
    TZ,
    Calendar,
    Override,
    WorkSchedule,
    add_months,
    default_calendar,
    expected_result,
    parse_moment,
    schedule_for_field,
)

CAL = default_calendar()


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def end(y: int, m: int, d: int) -> datetime:
    return at(y, m, d, 17, 0)


# -- what the package gives for 2026 -----------------------------------------------------------------
@pytest.mark.parametrize("day", [
    date(2026, 1, 1),
    *(date(2026, 2, d) for d in range(16, 21)),  # Tết Bính Ngọ: 29 Tết (eve) .. mùng 4
    date(2026, 4, 27),  # Hùng Kings' day (10/3 lunar = Sunday 26/04), observed Monday
    date(2026, 4, 30), date(2026, 5, 1),
    date(2026, 8, 31),  # off in exchange for Saturday 22/08
    date(2026, 9, 1), date(2026, 9, 2),
    date(2026, 11, 24),  # Ngày Văn hóa Việt Nam, from 2026
])
def test_days_off_2026(day: date) -> None:
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, 13), date(2026, 2, 23), date(2026, 2, 24), date(2026, 4, 29),
                                 date(2026, 5, 4), date(2026, 8, 22), date(2026, 9, 3), date(2026, 8, 28)])
def test_working_days_2026(day: date) -> None:
    assert CAL.is_working_day(day)


def test_weekends_are_off_except_swaps() -> None:
    assert not CAL.is_working_day(date(2026, 8, 15))  # an ordinary Saturday
    assert not CAL.is_working_day(date(2026, 8, 23))  # the Sunday after the swapped Saturday
    assert CAL.is_working_day(date(2026, 8, 22))  # Saturday worked for Monday 31/08


def test_special_days_2026() -> None:
    days = {d.day: d for d in CAL.special_days(2026)}
    assert days[date(2026, 2, 17)].name == "Tết Nguyên Đán"
    assert days[date(2026, 8, 22)].working and days[date(2026, 8, 22)].source == "holidays"
    assert "22/08/2026" in days[date(2026, 8, 31)].name
    english = {d.day: d for d in CAL.special_days(2026, "en")}
    assert english[date(2026, 9, 2)].name == "National Day"
    assert date(2026, 8, 15) not in days  # plain weekends are not listed


# -- working days -------------------------------------------------------------------------------------
def test_tet_2026_three_working_days() -> None:
    # Friday 13/02 received; 16–20 Tết, 21–22 weekend; 23, 24, 25 are the three working days.
    assert CAL.due_date(at(2026, 2, 13), 3, "working_days") == end(2026, 2, 25)


def test_reunification_and_labour_day() -> None:
    assert CAL.due_date(at(2026, 4, 29), 1, "working_days") == end(2026, 5, 4)
    assert CAL.due_date(at(2026, 4, 24), 1, "working_days") == end(2026, 4, 28)  # Monday 27/04 observed


def test_national_day_2026_and_swapped_saturday() -> None:
    assert CAL.due_date(at(2026, 8, 21), 1, "working_days") == end(2026, 8, 22)  # Saturday worked
    assert CAL.due_date(at(2026, 8, 28), 1, "working_days") == end(2026, 9, 3)  # 29/08–02/09 off
    # 21, 22 (Saturday), 24, 25, 26, 27, 28, then 03/09
    assert CAL.due_date(at(2026, 8, 20), 7, "working_days") == end(2026, 8, 28)
    assert CAL.due_date(at(2026, 8, 20), 8, "working_days") == end(2026, 9, 3)
    assert CAL.add_working_days(at(2026, 8, 20), 8) == end(2026, 9, 3)


def test_zero_days_is_the_end_of_the_receipt_day() -> None:
    assert CAL.due_date(at(2026, 8, 20), 0, "working_days") == end(2026, 8, 20)


def test_fractional_working_days_round_up() -> None:
    assert CAL.due_date(at(2026, 8, 20), 0.5, "working_days") == end(2026, 8, 21)
    assert CAL.due_date(at(2026, 8, 20), 1.5, "working_days") == end(2026, 8, 22)


def test_unspecified_is_working_days() -> None:
    assert CAL.due_date(at(2026, 2, 13), 3, "unspecified") == end(2026, 2, 25)


# -- the receipt rule ---------------------------------------------------------------------------------
def test_friday_1530_after_civil_status_cutoff_counts_from_monday() -> None:
    friday = at(2026, 8, 14, 15, 30)
    assert CAL.effective_start(friday, CIVIL_STATUS_SCHEDULE) == at(2026, 8, 17, 7, 0)
    assert CAL.due_date(friday, 1, "working_days", CIVIL_STATUS_SCHEDULE) == end(2026, 8, 18)
    # the default cut-off is the end of the afternoon: 15:30 is still Friday
    assert CAL.effective_start(friday) == friday
    assert CAL.due_date(friday, 1, "working_days") == end(2026, 8, 17)


def test_cutoff_itself_counts_the_same_day() -> None:
    assert CAL.receipt_day(at(2026, 8, 14, 15, 0), CIVIL_STATUS_SCHEDULE) == date(2026, 8, 14)
    assert CAL.receipt_day(at(2026, 8, 14, 15, 1), CIVIL_STATUS_SCHEDULE) == date(2026, 8, 17)


def test_outside_work_hours_and_days_off() -> None:
    assert CAL.effective_start(at(2026, 8, 17, 6, 0)) == at(2026, 8, 17, 7, 0)  # before opening: same day
    assert CAL.effective_start(at(2026, 8, 17, 12, 0)) == at(2026, 8, 17, 13, 30)  # lunch
    assert CAL.effective_start(at(2026, 8, 17, 17, 0)) == at(2026, 8, 18, 7, 0)  # closed
    assert CAL.effective_start(at(2026, 8, 17, 22, 0)) == at(2026, 8, 18, 7, 0)
    assert CAL.effective_start(at(2026, 8, 15, 9, 0)) == at(2026, 8, 17, 7, 0)  # Saturday
    assert CAL.effective_start(at(2026, 8, 22, 9, 0)) == at(2026, 8, 22, 9, 0)  # swapped Saturday works
    assert CAL.effective_start(at(2026, 2, 17, 9, 0)) == at(2026, 2, 23, 7, 0)  # Tết


def test_saturday_receipt_counts_from_monday() -> None:
    assert CAL.due_date(at(2026, 8, 15), 1, "working_days") == end(2026, 8, 18)


def test_other_time_zones_are_converted() -> None:
    utc = datetime(2026, 2, 13, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
    assert CAL.due_date(utc, 3, "working_days") == end(2026, 2, 25)
    assert CAL.effective_start(datetime(2026, 8, 14, 8, 30, tzinfo=UTC), CIVIL_STATUS_SCHEDULE).date() == \
        date(2026, 8, 17)  # 15:30 local


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.due_date(datetime(2026, 2, 13, 10), 3, "working_days")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        CAL.due_date(at(2026, 2, 13), 3, "weeks")
    with pytest.raises(ValueError):
        CAL.due_date(at(2026, 2, 13), -1, "days")
    with pytest.raises(ValueError):
        CAL.due_date(at(2026, 2, 13), float("nan"), "days")


# -- calendar days and months -------------------------------------------------------------------------
def test_calendar_days_landing_on_sunday_move_to_monday() -> None:
    assert CAL.due_date(at(2026, 8, 3), 6, "days") == end(2026, 8, 10)  # Sunday 09/08 → Monday
    assert CAL.due_date(at(2026, 8, 3), 5, "days") == end(2026, 8, 10)  # Saturday 08/08 → Monday


def test_calendar_days_landing_on_holidays() -> None:
    assert CAL.due_date(at(2026, 8, 24), 7, "days") == end(2026, 9, 3)  # Monday 31/08 off → Thursday
    assert CAL.due_date(at(2026, 2, 6), 10, "days") == end(2026, 2, 23)  # 16/02 Tết → 23/02
    assert CAL.due_date(at(2026, 8, 3), 3, "days") == end(2026, 8, 6)  # a working day stays
    assert CAL.add_calendar_days(at(2026, 8, 3), 3) == end(2026, 8, 6)


def test_calendar_days_count_from_the_receipt_day() -> None:
    # received Friday after the civil-status cut-off → counts as Monday 17/08
    assert CAL.due_date(at(2026, 8, 14, 16, 0), 2, "days", CIVIL_STATUS_SCHEDULE) == end(2026, 8, 19)


def test_months() -> None:
    assert CAL.due_date(at(2026, 1, 30), 1, "months") == end(2026, 3, 2)  # 28/02 is a Saturday
    assert CAL.due_date(at(2026, 3, 31), 1, "months") == end(2026, 5, 4)  # 30/04, 01/05 off, weekend
    assert CAL.due_date(at(2026, 3, 10), 12, "months") == end(2027, 3, 10)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


# -- hours ----------------------------------------------------------------------------------------------
def test_hours_across_lunch() -> None:
    assert CAL.due_date(at(2026, 8, 10, 10, 0), 4, "hours") == at(2026, 8, 10, 16, 0)


def test_hours_overnight() -> None:
    assert CAL.due_date(at(2026, 8, 10, 16, 0), 4, "hours") == at(2026, 8, 11, 10, 0)
    assert CAL.add_working_hours(at(2026, 8, 10, 16, 0), 4) == at(2026, 8, 11, 10, 0)


def test_hours_ending_at_a_period_end_stay_there() -> None:
    assert CAL.due_date(at(2026, 8, 10, 7, 0), 4.5, "hours") == at(2026, 8, 10, 11, 30)
    assert CAL.due_date(at(2026, 8, 10, 7, 0), 8, "hours") == at(2026, 8, 10, 17, 0)
    assert CAL.due_date(at(2026, 8, 10, 7, 0), 9, "hours") == at(2026, 8, 11, 8, 0)


def test_hours_over_the_national_day() -> None:
    assert CAL.due_date(at(2026, 8, 28, 16, 0), 2, "hours") == at(2026, 9, 3, 8, 0)
    # Friday 1 h, Saturday 22/08 8 h, Monday 8 h, Tuesday 7 h: 16:00
    assert CAL.due_date(at(2026, 8, 21, 16, 0), 24, "hours") == at(2026, 8, 25, 16, 0)


def test_hours_after_the_cutoff() -> None:
    assert CAL.due_date(at(2026, 8, 14, 15, 30), 2, "hours", CIVIL_STATUS_SCHEDULE) == at(2026, 8, 17, 9, 0)


# -- pauses (supplement requests) -----------------------------------------------------------------------
RECEIVED = at(2026, 8, 3, 9, 0)  # Monday; 10 working days → Monday 17/08


def test_no_pause_baseline() -> None:
    assert CAL.due_date(RECEIVED, 10, "working_days") == end(2026, 8, 17)


def test_pause_of_whole_working_days_shifts_by_them() -> None:
    pause = (end(2026, 8, 4), at(2026, 8, 10, 7, 0))  # Wed, Thu, Fri not counted
    assert CAL.due_date_with_pauses(RECEIVED, 10, "working_days", [pause]) == end(2026, 8, 20)


def test_five_calendar_day_supplement_request() -> None:
    # Wed 05/08 09:00 → Mon 10/08 09:00: 24 working hours inside (Wednesday from 09:00, Thursday,
    # Friday, Monday until 09:00) = 3 working days → due 3 working days later
    pause = (at(2026, 8, 5, 9, 0), at(2026, 8, 10, 9, 0))
    assert CAL.due_date_with_pauses(RECEIVED, 10, "working_days", [pause]) == end(2026, 8, 20)


def test_pause_over_the_national_day_counts_only_working_days_inside() -> None:
    received = at(2026, 8, 20, 9, 0)  # 8 working days → Thursday 03/09
    pause = (at(2026, 8, 28, 7, 0), at(2026, 9, 3, 7, 0))  # Fri 28/08 only is a working day inside
    assert CAL.due_date_with_pauses(received, 8, "working_days", [pause]) == end(2026, 9, 4)


def test_open_pause_makes_the_due_date_unknown() -> None:
    assert CAL.due_date_with_pauses(RECEIVED, 10, "working_days", [(at(2026, 8, 5), None)]) is None
    assert CAL.due_date_with_pauses(RECEIVED, 4, "hours", [(at(2026, 8, 3, 10, 0), None)]) is None
    assert CAL.due_date_with_pauses(RECEIVED, 5, "days", [(at(2026, 8, 5), None)]) is None


def test_pause_after_the_deadline_changes_nothing() -> None:
    late = [(at(2026, 8, 18, 9, 0), None)]  # opened after the clock ran out
    assert CAL.due_date_with_pauses(RECEIVED, 10, "working_days", late) == end(2026, 8, 17)


def test_pause_before_receipt_is_ignored() -> None:
    early = [(at(2026, 7, 1), at(2026, 7, 20))]
    assert CAL.due_date_with_pauses(RECEIVED, 10, "working_days", early) == end(2026, 8, 17)


def test_several_and_overlapping_pauses() -> None:
    pauses = [(end(2026, 8, 4), at(2026, 8, 6, 7, 0)), (at(2026, 8, 5, 12, 0), at(2026, 8, 7, 7, 0))]
    # together: Wed 05 and Thu 06 not counted
    assert CAL.due_date_with_pauses(RECEIVED, 10, "working_days", pauses) == end(2026, 8, 19)


def test_a_partial_day_pause_rounds_up_to_the_end_of_the_day() -> None:
    pause = (at(2026, 8, 5, 9, 0), at(2026, 8, 5, 10, 0))  # one working hour
    assert CAL.due_date_with_pauses(RECEIVED, 10, "working_days", [pause]) == end(2026, 8, 18)


def test_resubmission_after_the_cutoff_resumes_next_working_day() -> None:
    received = at(2026, 8, 10, 9, 0)
    pause = (at(2026, 8, 10, 10, 0), at(2026, 8, 12, 15, 30))
    with_cutoff = CAL.due_date_with_pauses(received, 2, "hours", [pause], CIVIL_STATUS_SCHEDULE)
    assert with_cutoff == at(2026, 8, 13, 8, 0)  # 1 h before the pause, resumes Thursday 13/08 07:00
    assert CAL.due_date_with_pauses(received, 2, "hours", [pause]) == at(2026, 8, 12, 16, 30)
    same_day = CAL.due_date_with_pauses(received, 0, "working_days", [pause], CIVIL_STATUS_SCHEDULE)
    assert same_day == end(2026, 8, 13)
    assert CAL.due_date_with_pauses(received, 0, "working_days", [pause]) == end(2026, 8, 12)


def test_hours_with_a_pause() -> None:
    pause = (at(2026, 8, 10, 11, 0), at(2026, 8, 10, 14, 30))
    assert CAL.due_date_with_pauses(at(2026, 8, 10, 10, 0), 4, "hours", [pause]) == at(2026, 8, 11, 7, 30)


def test_calendar_days_with_a_pause() -> None:
    assert CAL.due_date(RECEIVED, 10, "days") == end(2026, 8, 13)
    pause = (at(2026, 8, 5, 9, 0), at(2026, 8, 10, 9, 0))  # exactly five days
    assert CAL.due_date_with_pauses(RECEIVED, 10, "days", [pause]) == end(2026, 8, 18)


def test_pause_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError):
        CAL.due_date_with_pauses(RECEIVED, 1, "days", [(at(2026, 8, 5), at(2026, 8, 4))])


# -- reports and lateness -------------------------------------------------------------------------------
def test_working_days_between() -> None:
    # Fri 13/02 10:00 → Wed 25/02 17:00: 5 h on Friday, then 23, 24, 25 (Tết not counted)
    assert CAL.working_days_between(at(2026, 2, 13), end(2026, 2, 25)) == pytest.approx(29 / 8)
    assert CAL.working_days_between(at(2026, 8, 17, 7, 0), end(2026, 8, 21)) == 5
    assert CAL.working_days_between(end(2026, 8, 21), at(2026, 8, 17, 7, 0)) == -5
    pause = (end(2026, 8, 17), at(2026, 8, 19, 7, 0))  # Tuesday not counted
    assert CAL.working_days_between(at(2026, 8, 17, 7, 0), end(2026, 8, 21), pauses=[pause]) == 4
    open_pause = (at(2026, 8, 20, 7, 0), None)
    assert CAL.working_days_between(at(2026, 8, 17, 7, 0), end(2026, 8, 21), pauses=[open_pause]) == 3


def test_classify() -> None:
    due = end(2026, 2, 25)
    assert CAL.classify(at(2026, 2, 24, 16, 0), due) == "early"
    assert CAL.classify(at(2026, 2, 25, 8, 0), due) == "on_time"
    assert CAL.classify(due, due) == "on_time"
    assert CAL.classify(due + timedelta(minutes=1), due) == "late"
    assert CAL.classify(at(2026, 3, 2), due) == "late"


def test_classify_across_days_off() -> None:
    due = end(2026, 2, 23)  # the Monday after Tết: the previous working day is Friday 13/02
    assert CAL.classify(at(2026, 2, 13, 16, 0), due) == "early"
    assert CAL.classify(at(2026, 2, 18, 9, 0), due) == "on_time"  # finished during Tết
    assert CAL.classify(at(2026, 2, 21, 9, 0), due) == "on_time"  # Saturday before


def test_classify_rescheduled_hours_deadline() -> None:
    due = at(2026, 8, 11, 10, 0)
    assert CAL.classify(at(2026, 8, 10, 16, 0), due) == "early"
    assert CAL.classify(at(2026, 8, 11, 9, 0), due) == "on_time"


# -- overrides -----------------------------------------------------------------------------------------
def test_overrides_win_over_the_package() -> None:
    cal = Calendar([Override(date(2026, 12, 31), False, "Thông báo số 1/TB"),  # an extra day off
                    Override(date(2026, 11, 24), True, "làm việc"),  # a package holiday cancelled
                    (date(2026, 12, 26), True, "làm bù")])  # a Saturday worked (tuple form)
    assert not cal.is_working_day(date(2026, 12, 31))
    assert cal.is_working_day(date(2026, 11, 24))
    assert cal.is_working_day(date(2026, 12, 26))
    assert CAL.is_working_day(date(2026, 12, 31))
    assert cal.due_date(at(2026, 12, 30), 1, "working_days") == end(2027, 1, 4)
    days = {d.day: d for d in cal.special_days(2026)}
    assert days[date(2026, 12, 31)].source == "override" and days[date(2026, 12, 31)].name == "Thông báo số 1/TB"
    assert days[date(2026, 11, 24)].working
    assert days[date(2026, 12, 26)].working


def test_override_confirming_the_week_is_not_listed() -> None:
    cal = Calendar([Override(date(2026, 12, 30), True, "")])
    assert date(2026, 12, 30) not in {d.day for d in cal.special_days(2026)}


def test_a_calendar_without_working_days_fails_loudly() -> None:
    start = date(2030, 1, 1)
    cal = Calendar([Override(start + timedelta(days=i), False, "") for i in range(4000)])
    with pytest.raises(ValueError):
        cal.next_working_day(start)
    with pytest.raises(ValueError):
        cal.due_date(at(2029, 12, 31, 9, 0), 10, "hours")


# -- schedules --------------------------------------------------------------------------------------------
def test_schedules() -> None:
    assert DEFAULT_SCHEDULE.day_length == timedelta(hours=8)
    assert DEFAULT_SCHEDULE.effective_cutoff == time(17, 0)
    assert schedule_for_field("Hộ tịch") is CIVIL_STATUS_SCHEDULE
    assert schedule_for_field("Đất đai") is DEFAULT_SCHEDULE
    with pytest.raises(ValueError):
        WorkSchedule(morning=(time(11), time(7)))
    with pytest.raises(ValueError):
        WorkSchedule(cutoff=time(20))


def test_a_unit_with_its_own_hours() -> None:
    saturday_office = WorkSchedule(morning=(time(7, 30), time(11, 30)), afternoon=(time(13, 0), time(16, 30)))
    assert saturday_office.day_length == timedelta(hours=7, minutes=30)
    assert CAL.due_date(at(2026, 8, 10, 16, 0), 1, "hours", saturday_office) == at(2026, 8, 11, 8, 0)
    assert CAL.due_date(at(2026, 8, 10), 1, "working_days", saturday_office) == at(2026, 8, 11, 16, 30)


def test_parse_moment() -> None:
    assert parse_moment("2026-02-13T10:00") == at(2026, 2, 13)
    assert parse_moment("2026-02-13T03:00Z") == at(2026, 2, 13)
    assert parse_moment("2026-02-13") == at(2026, 2, 13, 0, 0)


def test_expected_result() -> None:
    channels = [{"channel": "in_person", "duration": {"value": 5, "unit": "working_days"}},
                {"channel": "online", "duration": {"value": 3, "unit": "working_days"}}]
    assert expected_result(CAL, channels, "Đất đai", at(2026, 2, 13)) == date(2026, 2, 25)
    no_online = [channels[0], {"channel": "online", "duration": {"value": None, "unit": "unspecified"}}]
    assert expected_result(CAL, no_online, "Đất đai", at(2026, 2, 13)) == date(2026, 2, 27)
    assert expected_result(CAL, [{"channel": "online", "duration": {"value": None, "unit": "unspecified"}}],
                           None, at(2026, 2, 13)) is None
    assert expected_result(CAL, [], None, at(2026, 2, 13)) is None
    civil = [{"channel": "online", "duration": {"value": 1, "unit": "working_days"}}]
    assert expected_result(CAL, civil, "Hộ tịch", at(2026, 8, 14, 15, 30)) == date(2026, 8, 18)


# -- properties -----------------------------------------------------------------------------------------------
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2032, 12, 31),
                       timezones=st.just(TZ))
day_units = st.sampled_from(["working_days", "days", "months", "unspecified"])
schedules = st.sampled_from([DEFAULT_SCHEDULE, CIVIL_STATUS_SCHEDULE])


@settings(max_examples=300, deadline=None)
@given(moments, st.integers(0, 400), day_units, schedules)
def test_day_unit_due_dates_are_working_days_at_close(received: datetime, n: int, unit: str,
                                                      schedule: WorkSchedule) -> None:
    due = CAL.due_date(received, n if unit != "months" else n % 36, unit, schedule)
    assert due is not None
    assert CAL.is_working_day(due.date())
    assert due.timetz() == time(17, 0, tzinfo=TZ)
    assert due > received or n == 0


@settings(max_examples=300, deadline=None)
@given(moments, st.integers(0, 300))
def test_working_days_strictly_increase(received: datetime, n: int) -> None:
    first = CAL.add_working_days(received, n)
    second = CAL.add_working_days(received, n + 1)
    assert first < second
    assert CAL.working_days_between(first, second) == 1


@settings(max_examples=300, deadline=None)
@given(moments, st.floats(0, 2000, allow_nan=False), schedules)
def test_hours_are_exact_working_time(received: datetime, hours: float, schedule: WorkSchedule) -> None:
    due = CAL.add_working_hours(received, hours, schedule)
    counted = CAL.working_time(CAL.effective_start(received, schedule), due, schedule)
    assert abs(counted - timedelta(hours=hours)) <= timedelta(microseconds=1)


pauses_strategy = st.lists(
    st.tuples(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2033, 6, 30), timezones=st.just(TZ)),
              st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(moments, st.integers(0, 200), st.sampled_from(["working_days", "days", "hours", "months"]),
       pauses_strategy, schedules)
def test_pauses_never_make_the_due_date_earlier(received: datetime, n: int, unit: str,
                                                raw: list[tuple[datetime, timedelta]],
                                                schedule: WorkSchedule) -> None:
    amount = n if unit != "months" else n % 24
    pauses = [(s, s + d) for s, d in raw]
    plain = CAL.due_date(received, amount, unit, schedule)
    paused = CAL.due_date_with_pauses(received, amount, unit, pauses, schedule)
    assert plain is not None and paused is not None
    assert paused >= plain
    if unit != "hours":
        assert CAL.is_working_day(paused.date())


@settings(max_examples=200, deadline=None)
@given(moments, st.integers(0, 200))
def test_clock_agrees_with_day_counting(received: datetime, n: int) -> None:
    # a pause far in the future forces the clock path, which must match the fast path
    far = [(datetime(2040, 1, 1, tzinfo=TZ), datetime(2040, 2, 1, tzinfo=TZ))]
    assert CAL.due_date_with_pauses(received, n, "working_days", far) == CAL.due_date(received, n, "working_days")
