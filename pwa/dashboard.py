"""Pages of the statistics: the public dashboard, the rating form, the officers' reports page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect
from markupsafe import Markup
from sqlalchemy import select

from api.web.session import page_user
from domain.catalog.models import Procedure
from domain.dossiers.filing import get_dossier
from domain.errors import DomainError, InvalidInput
from domain.stats import ratings, reports
from domain.stats.rollups import CRITERIA
from domain.stats.summary import (
    PERIOD_KINDS,
    Summary,
    SummaryQuery,
    filter_choices,
    period_of,
    summary,
    today_local,
)
from pwa import svg
from pwa.i18n import translations
from pwa.render import render, request_language

COLOURS = {"online": "#1d4ed8", "in_person": "#9b1c1c", "postal": "#6b7280",
           "early": "#0f5132", "on_time": "#2563eb", "late": "#b45309",
           "full": "#0f5132", "partial": "#b45309", "in_person_only": "#6b7280"}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def N_(message: str) -> str:
    """Mark a message for translation (translated where shown)."""
    return message


CRITERIA_LABELS = {"timeliness": N_("Thời gian giải quyết so với giấy hẹn"),
                   "attitude": N_("Thái độ, tinh thần phục vụ của cán bộ"),
                   "clarity": N_("Hướng dẫn, thủ tục rõ ràng, dễ hiểu"),
                   "ease": N_("Nộp hồ sơ, nhận kết quả thuận tiện")}
SCALE_LABELS = {1: N_("Rất không hài lòng"), 2: N_("Không hài lòng"), 3: N_("Bình thường"), 4: N_("Hài lòng"),
                5: N_("Rất hài lòng")}
REPORT_LABELS = {"dossiers": N_("Danh sách hồ sơ"), "logbook": N_("Sổ theo dõi hồ sơ (mẫu 07)"),
                 "payments": N_("Thanh toán trực tuyến"), "late": N_("Hồ sơ trễ hạn và thư xin lỗi")}


# --- number formats ---------------------------------------------------------------------------------
class Formats:
    """Numbers the way each language writes them (vi: 1.234,5 — en: 1,234.5)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def num(self, value: float | int | None) -> str:
        if value is None:
            return "—"
        text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
        return text.translate(str.maketrans(",.", ".,")) if self.lang == "vi" else text

    def dec(self, value: float | None, places: int = 1) -> str:
        if value is None:
            return "—"
        text = f"{value:,.{places}f}"
        return text.translate(str.maketrans(",.", ".,")) if self.lang == "vi" else text

    def pct(self, share: float | None) -> str:
        if share is None:
            return "—"
        text = self.dec(share * 100, 1)
        return f"{text}\u00a0%" if self.lang == "vi" else f"{text}%"

    def change(self, percent: float | None) -> str:
        if percent is None:
            return "—"
        sign = "+" if percent > 0 else ("−" if percent < 0 else "")
        text = self.dec(abs(percent), 1)
        return f"{sign}{text}\u00a0%" if self.lang == "vi" else f"{sign}{text}%"

    def short(self, label: str, granularity: str) -> str:
        if granularity == "day":
            return str(int(label[8:10]))
        if granularity == "month":
            month = int(label[5:7])
            return f"T{month}" if self.lang == "vi" else MONTHS_EN[month - 1]
        return label

    def long(self, label: str, granularity: str) -> str:
        if granularity == "day":
            d = date.fromisoformat(label)
            return d.strftime("%d/%m/%Y")
        if granularity == "month":
            return f"{int(label[5:7]):02d}/{label[:4]}"
        return label


# --- the dashboard ---------------------------------------------------------------------------------
def _int(raw: str | None, name: str, low: int, high: int) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 4 or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} không hợp lệ.", field=name)
    return int(raw)


def _day(raw: str | None, name: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise InvalidInput("Ngày không hợp lệ (yyyy-mm-dd).", field=name) from None


def parse_filters(params: Any, today: date) -> tuple[dict[str, Any], SummaryQuery]:
    """The dashboard's query string → what the form shows and the summary to compute."""
    kind = params.get("period") or "year"
    form: dict[str, Any] = {"period": kind if kind in PERIOD_KINDS else "year", "year": params.get("year") or "",
                            "month": params.get("month") or "", "quarter": params.get("quarter") or "",
                            "from": params.get("from") or "", "to": params.get("to") or "",
                            "unit": params.get("unit") or "", "field": params.get("field") or ""}
    start, end = period_of(kind, year=_int(params.get("year"), "year", 1, 9999),
                           month=_int(params.get("month"), "month", 1, 12),
                           quarter=_int(params.get("quarter"), "quarter", 1, 4),
                           start=_day(params.get("from"), "from"), end=_day(params.get("to"), "to"), today=today)
    if kind != "custom" and start <= today < end:
        end = today  # the current month, quarter or year: to date (and compared with the same dates before)
    form["year"] = form["year"] or str(start.year)
    unit = (params.get("unit") or "").strip()[:32] or None
    field = (params.get("field") or "").strip()[:255] or None
    return form, SummaryQuery(start, end, unit, field)


def timeliness(_: Callable[[str], str], rows: Sequence[Any]) -> list[svg.Series]:
    """Early, on time and late, one series each, over rows that count them (periods or units)."""
    return [svg.Series(_("Trước hạn"), [r.early for r in rows], COLOURS["early"]),
            svg.Series(_("Đúng hạn"), [r.on_time for r in rows], COLOURS["on_time"]),
            svg.Series(_("Trễ hạn"), [r.late for r in rows], COLOURS["late"])]


def charts(s: Summary, lang: str) -> dict[str, Markup]:
    """The charts of a summary, titled and described in the page's language."""
    _ = translations(lang).gettext
    f = Formats(lang)
    g = s.period.granularity
    labels = [p.label for p in s.series]
    r = s.received
    received = svg.column_chart(
        "ch-received", _("Hồ sơ tiếp nhận theo kênh"),
        _("%(total)s hồ sơ: trực tuyến %(online)s (%(share)s), trực tiếp %(direct)s, bưu chính %(postal)s.") % {
            "total": f.num(r.total), "online": f.num(r.online), "share": f.pct(r.share_online),
            "direct": f.num(r.in_person), "postal": f.num(r.postal)},
        labels, [svg.Series(_("Trực tuyến"), [p.online for p in s.series], COLOURS["online"]),
                 svg.Series(_("Trực tiếp"), [p.in_person for p in s.series], COLOURS["in_person"]),
                 svg.Series(_("Bưu chính"), [p.postal for p in s.series], COLOURS["postal"])],
        short=lambda label: f.short(label, g))
    res = s.results
    results = svg.column_chart(
        "ch-results", _("Kết quả giải quyết so với hạn"),
        _("%(settled)s kết quả: trước hạn %(early)s, đúng hạn %(on_time)s, trễ hạn %(late)s; "
          "đúng hạn (kể cả trước hạn) %(share)s.") % {
            "settled": f.num(res.settled), "early": f.num(res.early), "on_time": f.num(res.on_time),
            "late": f.num(res.late), "share": f.pct(res.share_on_time)},
        labels, timeliness(_, s.series),
        short=lambda label: f.short(label, g))
    units = [u for u in s.by_unit if u.early + u.on_time + u.late > 0]
    by_unit = svg.share_bars(
        "ch-units", _("Tỷ lệ đúng hạn theo đơn vị"),
        "; ".join(f"{u.name}: {f.pct(u.share_on_time)}" for u in units) or _("Chưa có kết quả."),
        [u.name for u in units], timeliness(_, units),
        notes=[f.pct(u.share_on_time) for u in units])
    p = s.procedures
    offer = svg.share_bars(
        "ch-offer", _("Thủ tục cung cấp trực tuyến"),
        _("%(offered)s thủ tục: toàn trình %(full)s (%(share)s), một phần %(partial)s, trực tiếp %(direct)s.") % {
            "offered": f.num(p.offered), "full": f.num(p.full_online), "share": f.pct(p.share_full_online),
            "partial": f.num(p.partial_online), "direct": f.num(p.in_person)},
        [_("Thủ tục đang cung cấp")],
        [svg.Series(_("Toàn trình"), [p.full_online], COLOURS["full"]),
         svg.Series(_("Một phần"), [p.partial_online], COLOURS["partial"]),
         svg.Series(_("Trực tiếp"), [p.in_person], COLOURS["in_person_only"])],
        notes=[f.pct(p.share_full_online)])
    sat = s.satisfaction
    satisfaction = svg.score_bars(
        "ch-satisfaction", _("Mức độ hài lòng theo tiêu chí (thang 1–5)"),
        "; ".join(f"{_(CRITERIA_LABELS[c])}: {f.dec(sat.criteria.get(c), 2)}" for c in CRITERIA)
        if sat.ratings else _("Chưa có đánh giá."),
        [_(CRITERIA_LABELS[c]) for c in CRITERIA], [sat.criteria.get(c) for c in CRITERIA],
        fmt=lambda v: f.dec(v, 2))
    return {"received": received, "results": results, "units": by_unit, "offer": offer, "satisfaction": satisfaction}


@get("/thong-ke", include_in_schema=False)
async def dashboard(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The public dashboard: no sign-in; the figures of a period, a unit, a field."""
    lang = request_language(request)
    db = request.app.state.db
    units, fields = await db.read(filter_choices)
    today = today_local()
    error: DomainError | None = None
    s: Summary | None = None
    form: dict[str, Any] = {"period": "year", "year": str(today.year), "month": "", "quarter": "", "from": "",
                            "to": "", "unit": "", "field": ""}
    try:
        form, query = parse_filters(request.query_params, today)
        s = await db.read(summary, query)
    except DomainError as exc:
        error = exc
    f = Formats(lang)
    context = {"s": s, "error": error, "form": form, "units": units, "fields": fields, "f": f,
               "charts": charts(s, lang) if s else {}, "criteria": CRITERIA, "criteria_labels": CRITERIA_LABELS,
               "years": list(range(today.year, today.year - 11, -1)), "kinds": PERIOD_KINDS}
    return render(request, "dashboard/index.html", context, status=error.status if error else 200)


# --- rating a returned dossier ------------------------------------------------------------------------
def _rating_context(session: Any, user_id: int, dossier_id: int) -> dict[str, Any]:
    d = get_dossier(session, user_id, dossier_id)
    name = session.scalar(select(Procedure.name).where(Procedure.code == d.procedure_code))
    return {"d": d, "procedure_name": name or d.procedure_code, "rating": ratings.rating_of(session, d.id),
            "can_rate": ratings.can_rate(d)}


def _rating_page(request: Request[Any, Any, Any], ctx: dict[str, Any], *, values: dict[str, str] | None = None,
                 error: DomainError | None = None, thanks: bool = False) -> Response[bytes]:
    return render(request, "dashboard/rating.html", {
        **ctx, "criteria": CRITERIA, "criteria_labels": CRITERIA_LABELS, "scale": SCALE_LABELS,
        "values": values or {}, "error": error, "thanks": thanks, "max_comment": ratings.MAX_COMMENT},
        status=error.status if error else 200)


@get("/ho-so/{dossier_id:int}/danh-gia", include_in_schema=False)
async def rating_form(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    ctx = await request.app.state.db.read(_rating_context, me.user_id, dossier_id)
    return _rating_page(request, ctx, thanks=request.query_params.get("xong") == "1")


@post("/ho-so/{dossier_id:int}/danh-gia", include_in_schema=False)
async def rate(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in (*CRITERIA, "comment")}
    try:
        await request.app.state.db.write(ratings.rate, me.user_id, dossier_id,
                                         {c: values[c] or None for c in CRITERIA}, values["comment"])
    except DomainError as exc:
        ctx = await request.app.state.db.read(_rating_context, me.user_id, dossier_id)
        return _rating_page(request, ctx, values=values, error=exc)
    return Redirect(f"/ho-so/{dossier_id}/danh-gia?xong=1", status_code=303)


# --- officers' reports -----------------------------------------------------------------------------------
def _reports_context(session: Any, user_id: int, unit: str | None, start: date, end: date) -> dict[str, Any]:
    choices = reports.unit_choices(session, user_id)
    codes = [u.code for u in choices]
    chosen = unit if unit in codes else (codes[0] if codes else None)
    comments = ratings.unit_comments(session, user_id, chosen, start, end, limit=100) if chosen else []
    return {"units": choices, "unit": chosen, "comments": comments}


@get("/can-bo/bao-cao", include_in_schema=False)
async def reports_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Reports of one of the officer's units for a period, and the citizens' comments."""
    me = page_user(request)
    qp = request.query_params
    today = today_local()
    error: DomainError | None = None
    try:
        start = _day(qp.get("from"), "from") or today.replace(day=1)
        end = _day(qp.get("to"), "to") or today
        reports.check_period(start, end)
    except DomainError as exc:
        error, start, end = exc, today.replace(day=1), today
    ctx = await request.app.state.db.read(_reports_context, me.user_id, qp.get("unit"), start, end)
    return render(request, "dashboard/reports.html", {
        **ctx, "start": start, "end": end, "error": error, "kinds": reports.KINDS, "labels": REPORT_LABELS,
        "criteria": CRITERIA, "criteria_labels": CRITERIA_LABELS, "f": Formats(request_language(request)),
        "yesterday": today - timedelta(days=1)}, status=error.status if error else 200)


@get("/can-bo/bao-cao/tai-ve", include_in_schema=False)
async def report_file(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    qp = request.query_params
    start, end = _day(qp.get("from"), "from"), _day(qp.get("to"), "to")
    if start is None or end is None:
        raise InvalidInput("Hãy chọn khoảng thời gian.", field="from")
    fmt = qp.get("format") or "csv"
    if fmt not in reports.FORMATS:
        raise InvalidInput("format: csv hoặc xlsx", field="format")
    rep = await request.app.state.db.read(reports.report, me.user_id, qp.get("kind") or "", (qp.get("unit") or "")[:32],
                                          start, end)
    body, media_type, name = reports.render(rep, fmt)
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                          "Cache-Control": "private, no-store"})


ROUTES = [dashboard, rating_form, rate, reports_page, report_file]
