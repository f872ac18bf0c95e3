"""A procedure's processing time: the national record's, or where it lacks one, the province's offer's.

The national record gives a time per channel (online, in person, by post). Some records give a number
without a unit (1.001193 says "1"): such a time is shown as it is ("1 (không rõ đơn vị)") but never
counts as working days in a due date. The province's offer may state the time with its unit and legal
basis (``processing_time = {value = 1, unit = "working_days", basis = "…"}`` in ``config/province.toml``);
it applies only where the record lacks a usable time (no channel with a positive value and a known unit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from domain.errors import InvalidInput

# Units a due date can be computed in (the calendar engine's, without "unspecified").
TIME_UNITS = ("working_days", "days", "hours", "months")
CHANNEL_ORDER = ("online", "in_person", "postal")
MAX_VALUE = 1000  # no procedure takes longer than this in any unit; larger is a typo
MAX_BASIS = 500  # characters of the legal basis

SetBy = Literal["national", "province"]


@dataclass(frozen=True)
class ProcessingTime:
    value: float
    unit: str  # one of TIME_UNITS
    set_by: SetBy
    basis: str | None = None  # the legal basis the province cites (None for the national record's)


def _usable(value: object, unit: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            and value > 0 and unit in TIME_UNITS)


def national_time(record: Mapping[str, Any]) -> tuple[float, str] | None:
    """The online channel's time, else the in-person one's, else the postal one's, as (value, unit);
    None when no channel states a positive value with a known unit."""
    durations = {c.get("channel"): c.get("duration") or {} for c in record.get("channels") or []}
    for channel in CHANNEL_ORDER:
        duration = durations.get(channel) or {}
        value, unit = duration.get("value"), duration.get("unit")
        if isinstance(value, int | float) and _usable(value, unit):
            return float(value), str(unit)
    return None


def offer_time(value: float | None, unit: str | None, basis: str | None) -> ProcessingTime | None:
    """The offering's stored time (None when the offer states none)."""
    if value is None or not _usable(value, unit):
        return None
    return ProcessingTime(float(value), str(unit), "province", basis)


def processing_time_of(record: Mapping[str, Any], offering: Any | None) -> ProcessingTime | None:
    """The time a dossier of this procedure is due in: the record's, else the offering's, else None.

    ``offering`` is anything with ``processing_time_value``, ``_unit`` and ``_basis`` (an Offering row)."""
    national = national_time(record)
    if national is not None:
        return ProcessingTime(national[0], national[1], "national")
    if offering is None:
        return None
    return offer_time(offering.processing_time_value, offering.processing_time_unit,
                      offering.processing_time_basis)


def check_offer_time(where: str, code: str, raw: object) -> tuple[float, str, str]:
    """Validate an offer's ``processing_time`` table; returns (value, unit, basis) or raises InvalidInput
    with an operator-facing message naming the procedure and the field."""
    field = f"{where}: procedure {code}: processing_time"
    if not isinstance(raw, dict):
        raise InvalidInput(f'{field} must be a table, e.g. {{value = 5, unit = "working_days", basis = "…"}}')
    unknown = sorted(set(raw) - {"value", "unit", "basis"})
    if unknown:
        raise InvalidInput(f"{field}: unknown key {unknown[0]!r} (expected value, unit, basis)")
    value, unit, basis = raw.get("value"), raw.get("unit"), raw.get("basis")
    if not (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            and 0 < value <= MAX_VALUE):
        raise InvalidInput(f"{field}.value must be a positive number (at most {MAX_VALUE}), not {value!r}")
    if unit not in TIME_UNITS:
        raise InvalidInput(f"{field}.unit {unit!r} is unknown: use one of {', '.join(TIME_UNITS)}")
    if not isinstance(basis, str) or not basis.strip():
        raise InvalidInput(f"{field}.basis is required: the legal basis of the time (e.g. \"Điều 16 Luật Hộ tịch\")")
    if len(basis.strip()) > MAX_BASIS:
        raise InvalidInput(f"{field}.basis is longer than {MAX_BASIS} characters")
    return float(value), str(unit), basis.strip()
