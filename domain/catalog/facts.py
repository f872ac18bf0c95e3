"""What the filing path reads of a procedure (name, field, its record, the offer's time), in one plain query.

A submit needs a procedure's name (fee line, notification), its field (roll-ups, work-hour schedule) and
its record (fee rule, processing time). Through the ORM that was four queries and two JSON parses of a
~35 KB record per submit. Here it is one plain statement, and the parsed record is kept per process,
keyed by its text: a catalogue import that changes the record changes the key, so nothing is ever
stale, whichever process imported it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from domain.catalog.times import ProcessingTime, offer_time, processing_time_of
from domain.db import SessionReader, tx_state

_PARSED: dict[str, dict[str, Any]] = {}
_PARSED_MAX = 256  # procedures in use at once; the dict is emptied when full
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ProcedureFacts:
    code: str
    name: str
    field: str
    field_slug: str
    record: dict[str, Any]  # the parsed record (shared between requests: read it, never change it)
    offer_time: ProcessingTime | None = None  # the province's stated time, if its offer states one

    @property
    def processing_time(self) -> ProcessingTime | None:
        """The record's usable time, else the offer's (domain.catalog.times)."""
        national = processing_time_of(self.record, None)
        return national if national is not None else self.offer_time


def parsed_record(text: str) -> dict[str, Any]:
    """``json.loads`` of a procedure record, kept per process by its text."""
    record = _PARSED.get(text)
    if record is None:
        record = json.loads(text)
        with _LOCK:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[text] = record
    return record


def procedure_facts(session: Session, code: str) -> ProcedureFacts | None:
    """The procedure as the database has it (None when there is no such code); read once per
    transaction (fee, due date, roll-ups and notification of one submit ask for the same one)."""
    seen = tx_state(session).procedures  # an import in the same session is seen by its next transaction
    if code not in seen:
        rows = SessionReader(session).rows(
            "SELECT p.name, p.field, p.field_slug, p.data, o.processing_time_value, o.processing_time_unit,"
            " o.processing_time_basis FROM procedures p LEFT JOIN offerings o ON o.procedure_code = p.code"
            " WHERE p.code = :code", {"code": code})
        seen[code] = ProcedureFacts(code, rows[0][0], rows[0][1] or "", rows[0][2] or "",
                                    parsed_record(rows[0][3]),
                                    offer_time(rows[0][4], rows[0][5], rows[0][6])) if rows else None
    return seen[code]

