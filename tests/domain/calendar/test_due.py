"""Due dates from a procedure's processing time: the record's, else the province's offer's, else none."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from domain.calendar.due import due_for_procedure
from domain.calendar.engine import schedule_for_field
from domain.calendar.store import load_calendar
from domain.catalog.facts import procedure_facts
from domain.catalog.models import Offering
from domain.db import Database

RECEIVED = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)  # a Tuesday, 09:30 in Vietnam


def test_the_record_s_own_time(catalogue_db: str) -> None:
    db = Database(catalogue_db)
    calendar = db.read_sync(load_calendar)
    due = db.read_sync(due_for_procedure, "1.004222", RECEIVED)  # 7 working days in the national record
    facts = db.read_sync(procedure_facts, "1.004222")
    assert facts is not None
    assert due is not None and due == calendar.due_date(RECEIVED, 7, "working_days", schedule_for_field(facts.field))


def test_the_offer_s_time_where_the_record_has_no_unit_and_none_without_it(catalogue_db: str) -> None:
    db = Database(catalogue_db)
    calendar = db.read_sync(load_calendar)
    due = db.read_sync(due_for_procedure, "1.001193", RECEIVED)  # "1" without a unit; the offer: 1 working day
    assert due is not None and due == calendar.due_date(RECEIVED, 1, "working_days", schedule_for_field("Hộ tịch"))
    saved = db.read_sync(lambda s: s.get(Offering, "1.001193"))
    assert saved is not None
    values = {"processing_time_value": saved.processing_time_value, "processing_time_unit": saved.processing_time_unit,
              "processing_time_basis": saved.processing_time_basis}
    db.run(lambda s: s.execute(update(Offering).where(Offering.procedure_code == "1.001193").values(
        processing_time_value=None, processing_time_unit=None, processing_time_basis=None)))
    try:
        assert db.read_sync(due_for_procedure, "1.001193", RECEIVED) is None
    finally:
        db.run(lambda s: s.execute(update(Offering).where(Offering.procedure_code == "1.001193").values(**values)))
    assert db.read_sync(due_for_procedure, "1.001193", RECEIVED) == due
    assert db.read_sync(due_for_procedure, "9.999999", RECEIVED) is None
