"""Reports for officers and leaders, per unit and period, as CSV and XLSX.

* ``dossiers``: every dossier the unit received in the period, with its dates, result and timeliness;
* ``logbook``: the logbook (form 07, Circular 03/2025/TT-VPCP) — :func:`domain.dossiers.backoffice.logbook`;
* ``payments``: fees paid (or tried) online for the unit's dossiers, with the e-receipt numbers;
* ``late``: late results and rescheduled dossiers with their apology letters (form 04).

Officers read the units they hold a role in; system administrators (the province's leaders' staff)
read every unit. A report is bounded: five years at most and :data:`MAX_ROWS` rows.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from domain import exports
from domain.accounts.models import User
from domain.calendar.engine import TZ
from domain.catalog.models import Procedure, Unit
from domain.dossiers import backoffice
from domain.dossiers.models import Apology, Dossier
from domain.errors import InvalidInput, NotFound
from domain.payments.models import Payment, Receipt
from domain.stats import rollups
from domain.stats.models import StatsFact
from domain.workflow import STATE_NAMES_VI, State, national_status_label

KINDS = ("dossiers", "logbook", "payments", "late")
FORMATS = ("csv", "xlsx")
MAX_ROWS = 100_000
MAX_DAYS = 366 * 5
TITLES = {"dossiers": "Danh sách hồ sơ", "logbook": "Sổ theo dõi hồ sơ (mẫu 07)",
          "payments": "Thanh toán trực tuyến", "late": "Hồ sơ trễ hạn và thư xin lỗi"}
FILE_NAMES = {"dossiers": "ho-so", "logbook": "so-theo-doi", "payments": "thanh-toan", "late": "tre-han"}
CHANNEL_VI = {"online": "Trực tuyến", "in_person": "Trực tiếp", "postal": "Bưu chính"}
LATENESS_VI = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Trễ hạn"}
PAYMENT_VI = {"created": "Đã tạo", "started": "Đang chờ thanh toán", "submitted": "Đang chờ xác nhận",
              "success": "Đã thanh toán", "failed": "Không thành công", "cancelled": "Đã huỷ",
              "expired": "Hết hạn", "error": "Lỗi cổng"}


@dataclass
class Report:
    kind: str
    title: str
    unit: str
    unit_name: str
    start: date
    end: date
    columns: list[str]
    rows: list[list[Any]]

    @property
    def filename(self) -> str:
        safe = "".join(ch for ch in self.unit if ch.isalnum() or ch in ".-")
        return f"{FILE_NAMES[self.kind]}-{safe}-{self.start}-{self.end}"


def check_unit(session: Session, user_id: int, unit: str) -> Unit:
    """The unit, if this officer holds a role in it (or is a system administrator); else 404."""
    off = backoffice.officer(session, user_id)
    user = session.get(User, user_id)
    row = session.get(Unit, (unit or "")[:32])
    if row is None or (unit not in off.units and (user is None or user.kind != "admin")):
        raise NotFound("Không tìm thấy đơn vị.", field="unit")
    return row


def check_period(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise InvalidInput("Ngày kết thúc phải sau ngày bắt đầu.", field="to")
    if (end - start).days > MAX_DAYS:
        raise InvalidInput("Khoảng thời gian tối đa là 5 năm.", field="from")
    return datetime.combine(start, time(0), TZ), datetime.combine(end + timedelta(days=1), time(0), TZ)


def _bounded(session: Session, count_query: Any) -> None:
    if (session.scalar(count_query) or 0) > MAX_ROWS:
        raise InvalidInput(f"Báo cáo quá {MAX_ROWS:,} dòng; hãy chọn khoảng thời gian ngắn hơn.".replace(",", "."),
                           field="from")


def _local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TZ)


def _applicant(data: str) -> str:
    try:
        return str(json.loads(data or "{}").get("applicant_name", ""))
    except ValueError:
        return ""


DOSSIER_COLUMNS = ["Mã hồ sơ", "Mã thủ tục", "Tên thủ tục", "Lĩnh vực", "Kênh nộp", "Người nộp", "Ngày nộp",
                   "Ngày tiếp nhận", "Hạn giải quyết", "Hạn mới (thư xin lỗi)", "Ngày có kết quả", "Trạng thái",
                   "Trạng thái (mã Cổng Dịch vụ công quốc gia)", "Kết quả so với hạn",
                   "Thời gian xử lý (ngày làm việc)", "Yêu cầu bổ sung", "Phí, lệ phí (đồng)",
                   "Đã thanh toán trực tuyến"]


def _dossiers(session: Session, unit: str, lo: datetime, hi: datetime) -> list[list[Any]]:
    where = (Dossier.unit_code == unit, Dossier.submitted_at >= lo, Dossier.submitted_at < hi)
    _bounded(session, select(func.count()).select_from(Dossier).where(*where))
    rows = session.execute(
        select(Dossier, Procedure.name, Procedure.field, StatsFact.proc_centidays,
               StatsFact.paid_online)
        .join(Procedure, Procedure.code == Dossier.procedure_code)
        .outerjoin(StatsFact, StatsFact.dossier_id == Dossier.id).where(*where)
        .order_by(Dossier.submitted_at, Dossier.id))
    out = []
    for d, name, fld, centidays, paid in rows:
        rescheduled = d.due_at if d.original_due_at and d.due_at and d.due_at != d.original_due_at else None
        out.append([d.code or "", d.procedure_code, name, fld, CHANNEL_VI[rollups.stats_channel(d.channel)],
                    _applicant(d.data), _local(d.submitted_at), _local(d.received_at),
                    _local(d.original_due_at or d.due_at), _local(rescheduled), _local(d.finished_at),
                    STATE_NAMES_VI[State(d.status)], national_status_label(d.status),
                    LATENESS_VI.get(d.lateness or "", ""),
                    round(centidays / 100, 2) if centidays is not None else None, d.supplement_count,
                    d.fee_vnd, "Có" if paid else ""])
    return out


PAYMENT_COLUMNS = ["Mã thanh toán", "Mã hồ sơ", "Nội dung thu", "Số tiền (đồng)", "Cổng thanh toán", "Trạng thái",
                   "Thời điểm tạo", "Thời điểm thanh toán", "Mã giao dịch", "Ký hiệu biên lai", "Số biên lai"]


def _payments(session: Session, unit: str, lo: datetime, hi: datetime) -> list[list[Any]]:
    where = (Payment.unit_code == unit, Payment.created_at >= lo, Payment.created_at < hi)
    _bounded(session, select(func.count()).select_from(Payment).where(*where))
    rows = session.execute(
        select(Payment, Dossier.code, Receipt.series, Receipt.number).join(Dossier, Dossier.id == Payment.dossier_id)
        .outerjoin(Receipt, Receipt.payment_id == Payment.id).where(*where).order_by(Payment.created_at, Payment.id))
    return [[p.reference, code or "", p.fee_name, p.amount_vnd, p.gateway, PAYMENT_VI.get(p.status, p.status),
             _local(p.created_at), _local(p.paid_at), p.gateway_txn or "", series or "",
             f"{number:07d}" if number is not None else ""] for p, code, series, number in rows]


LATE_COLUMNS = ["Mã hồ sơ", "Tên thủ tục", "Người nộp", "Ngày tiếp nhận", "Hạn giải quyết ban đầu",
                "Ngày có kết quả", "Kết quả so với hạn", "Ngày thư xin lỗi", "Lý do (thư xin lỗi, mẫu 04)",
                "Hạn cũ", "Hạn mới", "Cán bộ ký thư"]


def _late(session: Session, unit: str, lo: datetime, hi: datetime) -> list[list[Any]]:
    apologised = select(Apology.dossier_id).where(Apology.at >= lo, Apology.at < hi)
    where = (Dossier.unit_code == unit, or_(
        (Dossier.lateness == "late") & (Dossier.finished_at >= lo) & (Dossier.finished_at < hi),
        Dossier.id.in_(apologised)))
    _bounded(session, select(func.count()).select_from(Dossier).where(*where))
    signer = aliased(User)
    rows = session.execute(
        select(Dossier, Procedure.name, Apology, signer.full_name)
        .join(Procedure, Procedure.code == Dossier.procedure_code)
        .outerjoin(Apology, Apology.dossier_id == Dossier.id).outerjoin(signer, signer.id == Apology.by)
        .where(*where).order_by(Dossier.received_at, Dossier.id, Apology.at))
    out = []
    for d, name, apology, by in rows:
        out.append(
            [
                d.code or "",
                name,
                _applicant(d.data),
                _local(d.received_at),
                _local(d.original_due_at),
                _local(d.finished_at),
                LATENESS_VI.get(d.lateness or "", ""),
                _local(apology.at) if apology else None,
                apology.reason if apology else "Chưa có thư xin lỗi",
                _local(apology.old_due_at) if apology else None,
                _local(apology.new_due_at) if apology else None,
                (by or "") if apology else "",
            ]
        )
    return out


def report(session: Session, user_id: int, kind: str, unit: str, start: date, end: date) -> Report:
    if kind not in KINDS:
        raise NotFound(f"Không có báo cáo {kind!r}; có: {', '.join(KINDS)}.", field="kind")
    lo, hi = check_period(start, end)
    if kind == "logbook":  # form 07, exactly as the back office keeps it (its own scope check)
        rows: list[list[Any]] = [list(r) for r in backoffice.logbook(session, user_id, unit, start, end)]
        if len(rows) > MAX_ROWS:
            raise InvalidInput("Báo cáo quá dài; hãy chọn khoảng thời gian ngắn hơn.", field="from")
        u = session.get(Unit, unit)
        return Report(kind, TITLES[kind], unit, u.name if u else unit, start, end,
                      list(backoffice.LOGBOOK_COLUMNS), rows)
    u = check_unit(session, user_id, unit)
    if kind == "dossiers":
        columns, rows = DOSSIER_COLUMNS, _dossiers(session, unit, lo, hi)
    elif kind == "payments":
        columns, rows = PAYMENT_COLUMNS, _payments(session, unit, lo, hi)
    else:
        columns, rows = LATE_COLUMNS, _late(session, unit, lo, hi)
    return Report(kind, TITLES[kind], unit, u.name, start, end, list(columns), rows)


# --- writers ---------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def to_csv(rep: Report) -> bytes:
    """UTF-8 with a BOM (spreadsheets then read Vietnamese correctly), one header row, safe cells."""
    return exports.csv_bytes(rep.columns, rep.rows, render=_text)


def to_xlsx(rep: Report) -> bytes:
    """One sheet: a title line, the header (bold, frozen), the rows; dates as dates, numbers as numbers."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=rep.title[:31].replace("/", "-"))
    widths = [max(10, min(60, len(c) + 2)) for c in rep.columns]
    for i, w in enumerate(widths):
        ws.column_dimensions[_column_letter(i)].width = w
    ws.freeze_panes = "A3"
    title = WriteOnlyCell(ws, value=f"{rep.title} — {rep.unit_name} ({rep.unit}), "
                                    f"{rep.start:%d/%m/%Y}–{rep.end:%d/%m/%Y}")
    title.font = Font(bold=True, size=12)
    ws.append([title])
    header = []
    for name in rep.columns:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for row in rep.rows:
        cells: list[Any] = []
        for v in row:
            if isinstance(v, datetime):
                cell = WriteOnlyCell(ws, value=v.replace(tzinfo=None))
                cell.number_format = "dd/mm/yyyy hh:mm"
                cells.append(cell)
            elif isinstance(v, str):
                cells.append(exports.safe_cell(v))
            else:
                cells.append(v)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _column_letter(index: int) -> str:
    letter: str = get_column_letter(index + 1)
    return letter


def render(rep: Report, fmt: str) -> tuple[bytes, str, str]:
    """(body, media type, file name) of a report in CSV or XLSX."""
    if fmt == "csv":
        return to_csv(rep), "text/csv", f"{rep.filename}.csv"
    if fmt == "xlsx":
        return (to_xlsx(rep), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                f"{rep.filename}.xlsx")
    raise InvalidInput(f"Định dạng phải là một trong: {', '.join(FORMATS)}.", field="format")


def unit_choices(session: Session, user_id: int) -> Sequence[Unit]:
    """The units whose reports this officer may read."""
    off = backoffice.officer(session, user_id)
    user = session.get(User, user_id)
    query = select(Unit).order_by(Unit.code)
    if user is None or user.kind != "admin":
        query = query.where(Unit.code.in_(list(off.units) or ["-"]))
    return list(session.scalars(query))
