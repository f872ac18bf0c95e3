"""Spreadsheet-safe exports: one CSV writer and one cell rule for every CSV and XLSX the system hands out.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
spreadsheet programs as a formula (CSV/formula injection: a dossier title like ``=HYPERLINK(…)`` typed
by a citizen would run on an officer's machine). Such a cell gets a leading apostrophe, which makes it
text. Numbers, dates and our own headers are left as they are.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value to write in a spreadsheet cell: text that would start a formula is made text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _same(value: Any) -> Any:
    return value


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
             render: Callable[[Any], Any] = _same) -> str:
    """CSV with a BOM (spreadsheet programs then read Vietnamese correctly), one header row; every text
    cell made safe, other values written as ``render`` makes them (numbers and dates are not text the
    user typed, so a negative amount stays a number)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(v) if isinstance(v, str) else render(v) for v in row])
    return "\ufeff" + buf.getvalue()


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
              render: Callable[[Any], Any] = _same) -> bytes:
    return csv_text(columns, rows, render=render).encode()
