"""Every CSV/XLSX the system hands out goes through domain.exports: text that would start a formula is text."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from domain import exports
from domain.payments import reconcile


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_starts_become_text(start: str) -> None:
    assert exports.safe_cell(start + "1+1") == "'" + start + "1+1"


def test_other_values_are_left_alone() -> None:
    assert exports.safe_cell("Nguyễn Văn A") == "Nguyễn Văn A"
    assert exports.safe_cell(-5) == -5 and exports.safe_cell(None) is None
    assert exports.safe_cell("a=b") == "a=b"


def test_csv_has_a_bom_a_header_and_safe_cells_but_numbers_stay_numbers() -> None:
    data = exports.csv_bytes(["Tên", "Số tiền", "Ngày"], [["=cmd|' /C calc'!A0", -50000, date(2026, 1, 2)]],
                             render=lambda v: v.strftime("%d/%m/%Y") if isinstance(v, date) else v)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["Tên", "Số tiền", "Ngày"], ["'=cmd|' /C calc'!A0", "-50000", "02/01/2026"]]


def test_reconciliation_csv_uses_the_same_rule() -> None:
    text = reconcile.to_csv([{k: "@SUM(A1)" for k in reconcile.COLUMNS}])
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert all(c == "'@SUM(A1)" for c in rows[1])
