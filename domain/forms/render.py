"""One view of an issued form for both the printable page and the PDF: the header of an administrative
document (issuing unit above its parent, the number, the country's motto, place and date), the title, the
fields the form needs, the signature block and the QR code of the public lookup.

The PDF is text (fpdf2) with the Noto Serif fonts embedded and subset, so it prints and reads the same
everywhere and its Vietnamese can be searched and copied. Rendering is CPU work: call :func:`pdf_of` from a
worker thread, never inside a database transaction (ADR 0008, ADR 0016).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import segno
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session
from vietnam_provinces import Province, ProvinceCode, Ward, WardCode

from domain.accounts.models import User
from domain.calendar.engine import TZ
from domain.catalog.models import Procedure, Unit
from domain.catalog.offer import current_province
from domain.dossiers.filing import dossier_documents, schema_of
from domain.dossiers.models import DigitisationRecord, Dossier, Handoff
from domain.forms.issue import CONTROL_SHEET, display_number
from domain.forms.models import IssuedForm
from domain.workflow import FORMS

MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
RETURNS = {"counter": "Tại nơi nộp hồ sơ", "online": "Trực tuyến (kết quả điện tử)", "post": "Qua bưu chính"}
# Debian's fonts-noto-core (make browser-deps), or DejaVu as a fallback; the first family found is used
FONT_DIRS = ("/usr/share/fonts/truetype/noto", "/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/dejavu",
             "/usr/local/share/fonts")
FAMILIES = (("NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf", "NotoSerif-Italic.ttf"),
            ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf"))
SIGNERS = {"01": "CÔNG CHỨC TIẾP NHẬN HỒ SƠ", "02": "CÔNG CHỨC TIẾP NHẬN HỒ SƠ", "03": "CÔNG CHỨC TIẾP NHẬN HỒ SƠ",
           "04": "THỦ TRƯỞNG CƠ QUAN", "05": "THỦ TRƯỞNG CƠ QUAN", "06": "CÔNG CHỨC TIẾP NHẬN HỒ SƠ"}
PLACE_MARKERS = re.compile(r"\s(?:tỉnh|thành phố|Tỉnh|Thành phố|Phường|Xã|Đặc khu|phường|xã|đặc khu)\s")
SKIP_WORDS = {"và", "của"}


class FontMissing(RuntimeError):
    """No font with Vietnamese glyphs was found: the PDF cannot be made."""


@cache
def fonts() -> tuple[Path, Path, Path]:
    """Regular, bold and italic TTF files of the first family found in :data:`FONT_DIRS`."""
    for family in FAMILIES:
        for folder in FONT_DIRS:
            paths = tuple(Path(folder) / name for name in family)
            if all(p.is_file() for p in paths):
                return paths  # type: ignore[return-value]
    raise FontMissing("Không tìm thấy phông chữ tiếng Việt (Noto Serif) để in biểu mẫu: cài gói fonts-noto-core "
                      "(make browser-deps), hoặc fonts-dejavu-core.")


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    widths: tuple[int, ...]


@dataclass(frozen=True)
class FormView:
    """What an issued form says, ready to print (the page) or to draw (the PDF)."""

    id: int
    dossier_id: int
    form: str  # "01" … "06"
    name: str  # the form's name in the circular
    code: str
    parent: str  # the issuing unit's parent, in capitals ("" when it has none)
    unit: str  # the issuing unit, in capitals
    number: str  # "Số: 12/TN-STP"
    place_date: str  # "Tây Ninh, ngày 04 tháng 12 năm 2026"
    title: str  # in capitals
    addressee: str  # "Kính gửi: …" ("" for the receipt and the control sheet)
    fields: list[tuple[str, str]]
    items_title: str = ""
    items: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    table: Table | None = None
    signer_title: str = ""
    signer_name: str = ""
    lookup_url: str = ""
    issued_at: datetime = datetime(2025, 1, 1, tzinfo=UTC)
    motto: tuple[str, str] = MOTTO

    @property
    def file_name(self) -> str:
        return f"mau-{self.form}-{self.number.removeprefix('Số: ').replace('/', '-')}.pdf"


# --- the header ------------------------------------------------------------------------------------
def unit_symbol(name: str) -> str:
    """The unit's short symbol after the number: UBND, STP (Sở Tư pháp), CA (Công an), TTPVHCC …"""
    base = PLACE_MARKERS.split(f" {name} ", maxsplit=1)[0].strip()
    if base.upper().startswith(("UBND", "ỦY BAN NHÂN DÂN", "UỶ BAN NHÂN DÂN")):
        return "UBND"
    words = [w for w in base.split() if w and w.lower() not in SKIP_WORDS]
    return "".join(w[0].upper() for w in words) or "UB"


def place_of(unit: Unit | None, province_name: str) -> str:
    """Where the unit is: its commune for a commune's unit, else the province (from the province config)."""
    province = re.sub(r"^(Tỉnh|Thành phố)\s+", "", province_name.strip())
    if unit is not None and unit.level == "commune":
        m = re.search(r"(?:Phường|Xã|Đặc khu)\s+(.+)$", unit.name)
        if m:
            return m.group(1).strip()
    if unit is not None:
        m = re.search(r"(?:tỉnh|thành phố)\s+(.+)$", unit.name)
        if m:
            return m.group(1).strip()
    return province or (unit.name if unit else "")


def date_line(place: str, at: datetime) -> str:
    local = at.astimezone(TZ)
    return f"{place}, ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def _local(raw: str | None, fmt: str = "%d/%m/%Y") -> str:
    return datetime.fromisoformat(raw).astimezone(TZ).strftime(fmt) if raw else "—"


def address_text(value: Any) -> str:
    """A form's address (street, ward, province codes) as one line."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return ""
    parts = [str(value.get("street") or "").strip()]
    with contextlib.suppress(ValueError, TypeError):
        parts.append(Ward.from_code(WardCode(int(value.get("ward") or 0))).name)
    with contextlib.suppress(ValueError, TypeError):
        parts.append(Province.from_code(ProvinceCode(int(value.get("province") or 0))).name)
    return ", ".join(p for p in parts if p)


# --- the body of each form ---------------------------------------------------------------------------
@dataclass
class _Facts:
    session: Session
    row: IssuedForm
    d: Dossier
    data: dict[str, Any]
    form_data: dict[str, Any]
    procedure: str
    applicant: str
    unit_name: str

    @property
    def base(self) -> list[tuple[str, str]]:
        return [("Mã hồ sơ", self.data.get("code") or self.d.code or "—"), ("Thủ tục hành chính", self.procedure),
                ("Người nộp hồ sơ", self.applicant)]


def _documents(session: Session, d: Dossier) -> list[str]:
    names = {s["slot"]: s["name"] for s in schema_of(session, d).get("documents", [])}
    pages: dict[str, int] = {}
    for dd, wd in dossier_documents(session, d.id):
        pages[dd.slot] = pages.get(dd.slot, 0) + (wd.pages or 1)
    not_kept = set(session.scalars(select(DigitisationRecord.slot).where(
        DigitisationRecord.dossier_id == d.id, DigitisationRecord.kind == "not_kept")))
    return [f"{name}: " + ("đã xem bản chính, không lưu bản sao" if slot in not_kept else f"{pages[slot]} trang")
            for slot, name in names.items() if slot in pages or slot in not_kept]


def _receipt(f: _Facts) -> dict[str, Any]:
    d, data = f.d, f.data
    contact = [("Địa chỉ", address_text(f.form_data.get("applicant_address"))),
               ("Số điện thoại", str(f.form_data.get("applicant_phone") or d.contact_phone or ""))]
    returns = RETURNS.get(d.return_method, d.return_method) + (
        f": {d.return_address}" if d.return_method == "post" and d.return_address else "")
    fee = f"{d.fee_vnd:,} đồng".replace(",", ".") if d.fee_vnd else "Không"
    return {"fields": [*f.base, *[c for c in contact if c[1]],
                       ("Thời điểm tiếp nhận", _local(data.get("received_at"), "%H giờ %M, ngày %d/%m/%Y")),
                       ("Ngày hẹn trả kết quả", _local(data.get("due_at"))),
                       ("Hình thức nhận kết quả", returns), ("Lệ phí", fee)],
            "items_title": "Giấy tờ đã nhận", "items": _documents(f.session, d),
            "paragraphs": ["Khi đến nhận kết quả, người nộp mang theo giấy tiếp nhận này; tra cứu tình trạng hồ sơ "
                           "bằng mã QR hoặc mã hồ sơ."]}


def _supplement(f: _Facts) -> dict[str, Any]:
    missing = [str(m) for m in (json.loads(f.row.data).get("detail") or {}).get("missing", [])]
    return {"fields": [*f.base, ("Ngày nộp", _local(f.data.get("submitted_at") or f.data.get("received_at")))],
            "items_title": "Nội dung yêu cầu bổ sung, hoàn thiện", "items": missing or [f.data.get("reason") or "—"],
            "paragraphs": [f"Lý do: {f.data['reason']}" if f.data.get("reason") and missing else "",
                           "Thời gian bổ sung, hoàn thiện hồ sơ không tính vào thời hạn giải quyết. Đề nghị ông/bà "
                           "bổ sung một lần đầy đủ các nội dung trên."]}


def _refusal(f: _Facts) -> dict[str, Any]:
    return {"fields": [*f.base, ("Ngày nộp", _local(f.data.get("submitted_at")))],
            "items_title": "Lý do từ chối tiếp nhận", "items": [f.data.get("reason") or "—"],
            "paragraphs": ["Cơ quan xin thông báo để ông/bà được biết và thực hiện."]}


def _apology(f: _Facts) -> dict[str, Any]:
    new_due = str((f.data.get("detail") or {}).get("new_due_date") or f.data.get("due_at") or "")
    return {"fields": [*f.base, ("Ngày hẹn trả kết quả trước đây", _local(f.data.get("due_before"))),
                       ("Ngày hẹn trả kết quả mới", _local(new_due or None))],
            "items_title": "Lý do chậm giải quyết", "items": [f.data.get("reason") or "—"],
            "paragraphs": [f"{f.unit_name} xin lỗi ông/bà vì hồ sơ chưa được giải quyết đúng hẹn và đề nghị gia hạn "
                           "thời gian giải quyết đến ngày hẹn mới nêu trên. Mong ông/bà thông cảm."]}


def _stopping(f: _Facts) -> dict[str, Any]:
    return {"fields": [*f.base, ("Ngày tiếp nhận", _local(f.data.get("received_at"))),
                       ("Dừng giải quyết từ", _local(f.row.issued_at.isoformat(), "%H giờ %M, ngày %d/%m/%Y"))],
            "items_title": "Lý do dừng giải quyết", "items": [f.data.get("reason") or "—"],
            "paragraphs": ["Thời gian dừng giải quyết không tính vào thời hạn giải quyết hồ sơ."]}


def _outcome(due: datetime | None, end: datetime | None, now: datetime) -> str:
    if due is None:
        return "—"
    if end is None:
        return "Quá hạn, đang xử lý" if now > due else "Đang xử lý"
    return "Đúng hạn" if end <= due else "Trễ hạn"


def _control_sheet(f: _Facts) -> dict[str, Any]:
    """Form 06 from the history as it is now: every hand-off, from, to, when, the step's deadline, on time or late."""
    session, d = f.session, f.d
    handoffs = list(session.scalars(select(Handoff).where(Handoff.dossier_id == d.id).order_by(Handoff.at,
                                                                                                 Handoff.id)))
    ids = {h.from_user for h in handoffs} | {h.to_user for h in handoffs}
    people = {u.id: u.full_name for u in session.scalars(select(User).where(User.id.in_([i for i in ids if i])))}
    units = {u.code: u.name for u in session.scalars(select(Unit).where(
        Unit.code.in_({h.from_unit for h in handoffs} | {h.to_unit for h in handoffs} | {d.receiving_unit_code})))}

    def who(unit: str, user: int | None) -> str:
        return units.get(unit, unit) + (f" ({people[user]})" if user in people else "")

    fmt = "%H:%M %d/%m/%Y"
    now = datetime.now(UTC)
    rows: list[tuple[str, ...]] = []
    if d.received_at:
        rows.append(("1", f"Người nộp: {f.applicant}", units.get(d.receiving_unit_code, d.receiving_unit_code),
                     d.received_at.astimezone(TZ).strftime(fmt),
                     d.due_at.astimezone(TZ).strftime(fmt) if d.due_at else "—", "Đã tiếp nhận"))
    for i, h in enumerate(handoffs):
        later = [x.at for x in handoffs[i + 1:] if x.kind in ("assign", "route")]
        end = h.answered_at if h.kind == "consult" else (later[0] if later else d.finished_at)
        rows.append((str(len(rows) + 1), who(h.from_unit, h.from_user), who(h.to_unit, h.to_user),
                     h.at.astimezone(TZ).strftime(fmt), h.step_due_at.astimezone(TZ).strftime(fmt)
                     if h.step_due_at else "—", _outcome(h.step_due_at, end, now)))
    return {"fields": [*f.base, ("Ngày hẹn trả kết quả", d.due_at.astimezone(TZ).strftime("%d/%m/%Y")
                                 if d.due_at else "—")],
            "table": Table(("STT", "Bên giao", "Bên nhận", "Thời điểm giao", "Hạn xử lý của bước", "Kết quả"), rows,
                           (10, 42, 42, 27, 27, 27))}


BODIES = {"01": _receipt, "02": _supplement, "03": _refusal, "04": _apology, "05": _stopping,
          CONTROL_SHEET: _control_sheet}


def view_of(session: Session, row: IssuedForm, *, lookup_url: str = "") -> FormView:
    """What the issued form says (the control sheet: the history as it is now)."""
    d = session.get(Dossier, row.dossier_id)
    assert d is not None
    data: dict[str, Any] = json.loads(row.data)
    unit = session.get(Unit, row.unit_code)
    parent = session.get(Unit, unit.parent_code) if unit is not None and unit.parent_code else None
    province = current_province(session)
    form_data = json.loads(d.data)
    owner = session.get(User, d.owner_id)
    applicant = str(form_data.get("applicant_name") or (owner.full_name if owner else "") or "—")
    proc = session.scalar(select(Procedure.name).where(Procedure.code == d.procedure_code)) or d.procedure_code
    unit_name = unit.name if unit is not None else row.unit_code
    actor = session.get(User, row.actor_id) if row.actor_id else None
    facts = _Facts(session, row, d, data, form_data, proc, applicant, unit_name)
    body = BODIES[row.form](facts)
    body["paragraphs"] = [p for p in body.get("paragraphs", []) if p]
    return FormView(
        id=row.id, dossier_id=d.id, form=row.form, name=FORMS[row.form], code=data.get("code") or d.code or "",
        parent=parent.name.upper() if parent else "", unit=unit_name.upper(),
        number=f"Số: {display_number(row, unit_symbol(unit_name))}",
        place_date=date_line(place_of(unit, province.name if province else ""), row.issued_at),
        title=FORMS[row.form].upper(), addressee="" if row.form in ("01", CONTROL_SHEET) else f"Kính gửi: {applicant}",
        signer_title=SIGNERS[row.form], signer_name=actor.full_name if actor else "", lookup_url=lookup_url,
        issued_at=row.issued_at, **body)


# --- the PDF -------------------------------------------------------------------------------------------
def _header(pdf: FPDF, v: FormView) -> None:
    top, left_w = pdf.get_y(), 72.0
    x0 = pdf.l_margin
    pdf.set_font("serif", "", 11)
    if v.parent:
        pdf.multi_cell(left_w, 5, v.parent, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("serif", "B", 11)
    pdf.multi_cell(left_w, 5, v.unit, align="C", new_x="LMARGIN", new_y="NEXT")
    y = pdf.get_y() + 0.5
    pdf.line(x0 + left_w / 2 - 12, y, x0 + left_w / 2 + 12, y)
    pdf.set_y(y + 2)
    pdf.set_font("serif", "", 12)
    pdf.cell(left_w, 6, v.number, align="C", new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()
    right_x, right_w = x0 + left_w + 2, pdf.w - pdf.r_margin - (x0 + left_w + 2)
    pdf.set_xy(right_x, top)
    pdf.set_font("serif", "B", 11)
    pdf.cell(right_w, 5, v.motto[0], align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("serif", "B", 12)
    pdf.cell(right_w, 6, v.motto[1], align="C", new_x="LEFT", new_y="NEXT")
    width = pdf.get_string_width(v.motto[1])
    y = pdf.get_y() + 0.3
    pdf.line(right_x + (right_w - width) / 2, y, right_x + (right_w + width) / 2, y)
    pdf.set_xy(right_x, y + 2.5)
    pdf.set_font("serif", "I", 12)
    pdf.cell(right_w, 6, v.place_date, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)


def _body(pdf: FPDF, v: FormView) -> None:
    pdf.set_font("serif", "B", 14)
    pdf.multi_cell(0, 7, v.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("serif", "", 12)
    if v.addressee:
        pdf.cell(0, 7, v.addressee, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    for label, value in v.fields:
        pdf.set_font("serif", "B", 12)
        pdf.write(6.5, f"{label}: ")
        pdf.set_font("serif", "", 12)
        pdf.write(6.5, value or "—")
        pdf.ln(6.5)
    if v.items_title:
        pdf.set_font("serif", "B", 12)
        pdf.cell(0, 7, f"{v.items_title}:", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("serif", "", 12)
        for i, item in enumerate(v.items or ["—"], start=1):
            pdf.multi_cell(0, 6.5, f"{i}. {item}", new_x="LMARGIN", new_y="NEXT")
    if v.table is not None:
        pdf.ln(2)
        pdf.set_font("serif", "", 9.5)
        with pdf.table(col_widths=v.table.widths, line_height=4.8, text_align="LEFT",
                       headings_style=_bold_heading()) as table:
            for values in (v.table.columns, *v.table.rows):
                r = table.row()
                for text in values:
                    r.cell(text)
    pdf.set_font("serif", "", 12)
    for p in v.paragraphs:
        pdf.ln(1)
        pdf.multi_cell(0, 6.5, p, new_x="LMARGIN", new_y="NEXT")


def _bold_heading() -> Any:
    from fpdf.fonts import FontFace  # noqa: PLC0415  (only the table's heading needs it)
    return FontFace(emphasis="BOLD")


def _signature(pdf: FPDF, v: FormView) -> None:
    pdf.ln(6)
    if pdf.get_y() > pdf.h - 60:
        pdf.add_page()
    top = pdf.get_y()
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    if v.lookup_url:
        qr = io.BytesIO()
        segno.make(v.lookup_url, error="m").save(qr, kind="png", scale=4, border=1)
        qr.seek(0)
        pdf.image(qr, x=pdf.l_margin, y=top, w=28)
        pdf.set_xy(pdf.l_margin, top + 29)
        pdf.set_font("serif", "I", 8.5)
        pdf.multi_cell(half - 6, 4, f"Tra cứu hồ sơ: {v.lookup_url}", new_x="LMARGIN", new_y="NEXT")
    x = pdf.l_margin + half
    pdf.set_xy(x, top)
    pdf.set_font("serif", "B", 12)
    pdf.multi_cell(half, 6, v.signer_title, align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("serif", "I", 11)
    pdf.cell(half, 6, "(Ký, ghi rõ họ tên)", align="C", new_x="LEFT", new_y="NEXT")
    pdf.ln(18)
    pdf.set_x(x)
    pdf.set_font("serif", "B", 12)
    pdf.cell(half, 6, v.signer_name, align="C", new_x="LMARGIN", new_y="NEXT")


def pdf_of(v: FormView) -> bytes:
    """The form as an A4 PDF with its fonts embedded (subset); the same bytes for the same form."""
    regular, bold, italic = fonts()
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 15, 15)
    pdf.set_auto_page_break(True, 15)
    pdf.add_font("serif", "", str(regular))
    pdf.add_font("serif", "B", str(bold))
    pdf.add_font("serif", "I", str(italic))
    pdf.set_creation_date(v.issued_at)
    pdf.set_title(f"Mẫu số {v.form}: {v.name} ({v.code})")
    pdf.set_author(v.unit)
    pdf.set_lang("vi")
    pdf.add_page()
    _header(pdf, v)
    _body(pdf, v)
    _signature(pdf, v)
    return bytes(pdf.output())
