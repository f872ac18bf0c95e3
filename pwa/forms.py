"""Pages of the forms of Circular 03/2025: the applicant's (``/ho-so/{id}/bieu-mau``) and the officers' of the
units that hold the dossier (``/can-bo/ho-so/{id}/bieu-mau``): each issued form as a printable A4 page (only
the form prints) and its PDF; the unit's logbook (form 07) as XLSX beside today's CSV. Private: no-store."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get
from sqlalchemy.orm import Session

from api.web import forms as web_forms
from api.web.session import page_user
from domain.dossiers import backoffice
from domain.dossiers.filing import get_dossier
from domain.errors import InvalidInput
from domain.forms import access
from domain.forms.issue import display_number
from domain.forms.models import IssuedForm
from domain.stats import reports
from domain.workflow import FORMS
from pwa.filing import qr_svg
from pwa.render import render

OWN, OFFICE = "/ho-so/{dossier_id:int}/bieu-mau", "/can-bo/ho-so/{dossier_id:int}/bieu-mau"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _listing(session: Session, user_id: int, dossier_id: int, *, officer: bool = False) -> dict[str, Any]:
    d = backoffice.get_for_officer(session, backoffice.officer(session, user_id), dossier_id) if officer \
        else get_dossier(session, user_id, dossier_id)
    rows: list[IssuedForm] = access.issued(session, d.id)
    return {"d": d, "forms": [{"id": r.id, "form": r.form, "name": FORMS[r.form], "number": display_number(r),
                               "issued_at": r.issued_at} for r in rows]}


@get(OWN, include_in_schema=False)
async def own_forms(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """The forms issued for one of my dossiers, newest last, each to open, print or download."""
    me = page_user(request)
    ctx = await request.app.state.db.read(_listing, me.user_id, dossier_id)
    return render(request, "forms/list.html", {**ctx, "base": f"/ho-so/{dossier_id}/bieu-mau",
                                               "back": f"/ho-so/{dossier_id}"}, headers=web_forms.NO_STORE)


@get(OFFICE, include_in_schema=False)
async def office_forms(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """The forms issued for a dossier my units hold, to print for the applicant or download."""
    me = page_user(request)
    ctx = await request.app.state.db.read(_listing, me.user_id, dossier_id, officer=True)
    return render(request, "forms/list.html", {**ctx, "base": f"/can-bo/ho-so/{dossier_id}/bieu-mau",
                                               "back": f"/can-bo/ho-so/{dossier_id}"}, headers=web_forms.NO_STORE)


async def _page(request: Request[Any, Any, Any], load: web_forms.Loader, base: str, back: str) -> Response[Any]:
    view, _ = await web_forms.load_view(request, load)
    qr = qr_svg(view.lookup_url) if view.lookup_url else ""
    return render(request, "forms/form.html", {"v": view, "qr": qr, "pdf": f"{base}/{view.id}/mau.pdf", "back": back},
                  headers=web_forms.NO_STORE)


@get(f"{OWN}/{{form_id:int}}", include_in_schema=False)
async def own_form(request: Request[Any, Any, Any], dossier_id: int, form_id: int) -> Response[Any]:
    """One issued form of my dossier, ready to print on A4."""
    me = page_user(request)
    return await _page(request, lambda s: access.for_applicant(s, me.user_id, dossier_id, form_id),
                       f"/ho-so/{dossier_id}/bieu-mau", f"/ho-so/{dossier_id}/bieu-mau")


@get(f"{OWN}/{{form_id:int}}/mau.pdf", include_in_schema=False)
async def own_form_pdf(request: Request[Any, Any, Any], dossier_id: int, form_id: int) -> Response[Any]:
    """The same form as PDF (fonts embedded); the first download also puts it in my wallet."""
    me = page_user(request)
    return await web_forms.pdf_response(request, lambda s: access.for_applicant(s, me.user_id, dossier_id, form_id))


@get(f"{OFFICE}/{{form_id:int}}", include_in_schema=False)
async def office_form(request: Request[Any, Any, Any], dossier_id: int, form_id: int) -> Response[Any]:
    """An issued form of a dossier my units hold, to print for the applicant."""
    me = page_user(request)
    return await _page(request, lambda s: access.for_officer(s, me.user_id, dossier_id, form_id),
                       f"/can-bo/ho-so/{dossier_id}/bieu-mau", f"/can-bo/ho-so/{dossier_id}")


@get(f"{OFFICE}/{{form_id:int}}/mau.pdf", include_in_schema=False)
async def office_form_pdf(request: Request[Any, Any, Any], dossier_id: int, form_id: int) -> Response[Any]:
    me = page_user(request)
    return await web_forms.pdf_response(request, lambda s: access.for_officer(s, me.user_id, dossier_id, form_id))


def _day(raw: str | None, field: str) -> date:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        raise InvalidInput("Ngày không hợp lệ (yyyy-mm-dd).", field=field) from None


@get("/can-bo/so-theo-doi.xlsx", include_in_schema=False)
async def logbook_xlsx(request: Request[Any, Any, Any]) -> Response[Any]:
    """The logbook (form 07) of one of the officer's units for a period, as XLSX (the CSV's rows, the
    dashboard's report of kind ``logbook``)."""
    me = page_user(request)
    qp = request.query_params
    unit = (qp.get("unit") or "")[:32]
    start, end = _day(qp.get("from"), "from"), _day(qp.get("to"), "to")
    rep = await request.app.state.db.read(reports.report, me.user_id, "logbook", unit, start, end)
    safe = "".join(ch for ch in unit if ch.isalnum() or ch in ".-")
    body = reports.to_xlsx(rep)
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="so-theo-doi-{safe}-{start}-{end}.xlsx"', **web_forms.NO_STORE})


ROUTES: list[Any] = [own_forms, office_forms, own_form, own_form_pdf, office_form, office_form_pdf, logbook_xlsx]
