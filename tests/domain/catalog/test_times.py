"""A procedure's processing time: a number without a unit is no time; the province's offer fills the gap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from domain.calendar.due import processing_time
from domain.catalog.times import ProcessingTime, check_offer_time, national_time, processing_time_of
from domain.errors import InvalidInput


def record(*durations: tuple[str, Any, str]) -> dict[str, Any]:
    return {"channels": [{"channel": ch, "duration": {"value": v, "unit": u}} for ch, v, u in durations]}


@dataclass
class Offer:
    processing_time_value: float | None = None
    processing_time_unit: str | None = None
    processing_time_basis: str | None = None


BIRTH = record(("online", 1, "unspecified"), ("postal", 1, "unspecified"), ("in_person", 1, "unspecified"))
STATED = Offer(1, "working_days", "khoản 2 Điều 16 Luật Hộ tịch")


def test_a_number_without_a_unit_is_no_time() -> None:
    assert national_time(BIRTH) is None and processing_time(BIRTH) is None
    assert processing_time_of(BIRTH, None) is None and processing_time_of(BIRTH, Offer()) is None


def test_the_online_channel_first_then_in_person_then_post() -> None:
    data = record(("postal", 9, "days"), ("in_person", 3, "working_days"), ("online", 2, "unspecified"))
    assert national_time(data) == (3.0, "working_days")
    assert national_time(record(("postal", 4, "hours"))) == (4.0, "hours")
    assert national_time(record(("online", 0, "days"), ("in_person", True, "days"))) is None


def test_the_offer_applies_only_where_the_record_lacks_a_time() -> None:
    assert processing_time_of(BIRTH, STATED) == ProcessingTime(1.0, "working_days", "province",
                                                              "khoản 2 Điều 16 Luật Hộ tịch")
    own = record(("online", 5, "working_days"))
    assert processing_time_of(own, STATED) == ProcessingTime(5.0, "working_days", "national")


def test_a_good_offer_time() -> None:
    assert check_offer_time("p.toml", "1.001193", {"value": 1.5, "unit": "days", "basis": " Điều 3 "}) == (
        1.5, "days", "Điều 3")


@pytest.mark.parametrize(("raw", "message"), [
    (5, "processing_time must be a table"),
    ({"value": 5, "unit": "working_days", "basis": "x", "note": "y"}, "unknown key 'note'"),
    ({"value": 0, "unit": "working_days", "basis": "x"}, r"processing_time\.value must be a positive number"),
    ({"value": -2, "unit": "working_days", "basis": "x"}, r"processing_time\.value must be a positive number"),
    ({"value": "5", "unit": "working_days", "basis": "x"}, r"processing_time\.value must be a positive number"),
    ({"value": True, "unit": "working_days", "basis": "x"}, r"processing_time\.value must be a positive number"),
    ({"value": float("nan"), "unit": "days", "basis": "x"}, r"processing_time\.value must be a positive number"),
    ({"value": 5000, "unit": "days", "basis": "x"}, r"processing_time\.value must be a positive number"),
    ({"value": 5, "unit": "weeks", "basis": "x"}, r"processing_time\.unit 'weeks' is unknown"),
    ({"value": 5, "unit": "unspecified", "basis": "x"}, r"processing_time\.unit 'unspecified' is unknown"),
    ({"value": 5, "basis": "x"}, r"processing_time\.unit None is unknown"),
    ({"value": 5, "unit": "days"}, r"processing_time\.basis is required"),
    ({"value": 5, "unit": "days", "basis": "  "}, r"processing_time\.basis is required"),
    ({"value": 5, "unit": "days", "basis": "x" * 501}, r"processing_time\.basis is longer"),
])
def test_bad_offer_times_name_the_procedure_and_the_field(raw: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        check_offer_time("p.toml", "1.001193", raw)
    assert "p.toml: procedure 1.001193: processing_time" in caught.value.detail
