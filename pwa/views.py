"""Citizen pages of the catalogue: home, search results, procedure detail, fields, offline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import ValidationException

from domain.calendar.due import expected_date
from domain.calendar.engine import TZ
from domain.calendar.store import load_calendar
from domain.catalog import procedures as service
from domain.catalog.procedures import SearchQuery
from domain.catalog.times import processing_time_of
from pwa.render import is_htmx, render


def _int_param(request: Request[Any, Any, Any], name: str, default: int) -> int:
    raw = request.query_params.get(name) or ""
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 6:
        raise ValidationException(f"{name} phải là số nguyên từ 1 đến {service.MAX_PAGE}.",
                                  extra=[{"key": name, "message": "not a valid page number"}])
    return int(raw)


def _query(request: Request[Any, Any, Any]) -> SearchQuery:
    p = request.query_params
    return SearchQuery(
        q=p.get("q") or "",
        field=p.get("field") or None,
        level=p.get("level") or None,
        audience=p.get("audience") or None,
        offered=p.get("offered") == "1",
        online_only=p.get("online") == "1",
        page=_int_param(request, "page", 1),
        page_size=20,
    ).validate()


# Browsing the catalogue sets no cookie: these pages post nothing, so they need no CSRF token (the
# procedure page, with its "file online" form, gets one). It also spares every anonymous visit the
# token and its Set-Cookie header (bench/README.md).
BROWSE: dict[str, Any] = {"include_in_schema": False, "exclude_from_csrf": True}


@get("/", **BROWSE)
async def home(request: Request[Any, Any, Any]) -> Response[bytes]:
    db = request.app.state.db
    fields = await db.read(service.list_fields)
    top = sorted((f for f in fields if f.offered_count), key=lambda f: -f.offered_count)[:8]
    return render(request, "home.html", {"fields": top, "total": sum(f.procedure_count for f in fields),
                                         "offered": sum(f.offered_count for f in fields)})


@get("/thu-tuc", **BROWSE)
async def results(request: Request[Any, Any, Any]) -> Response[bytes]:
    db = request.app.state.db
    query = _query(request)
    field_name = await db.read(service.field_name, query.field) if query.field else None
    page = await db.read_rows(service.search, query)
    context = {"q": query.q, "sq": query, "page": page, "field_name": field_name,
               "pages": (page.total + page.page_size - 1) // page.page_size}
    template = "partials/results.html" if is_htmx(request) else "results.html"
    return render(request, template, context)


@get("/thu-tuc/{code:str}", include_in_schema=False)
async def procedure(request: Request[Any, Any, Any], code: str) -> Response[bytes]:
    db = request.app.state.db
    view = await db.read(service.get_procedure, code)
    expected = None  # "file now → result expected by": only where this province takes the dossier
    time = processing_time_of(view.data, view.offering)  # the record's, else the province's offer's
    if view.offering is not None:
        expected = expected_date(await db.read(load_calendar), time, view.data.get("field"), datetime.now(TZ))
    return render(request, "procedure.html", {"p": view.data, "view": view, "expected_result": expected,
                                              "time": time})


@get("/linh-vuc", **BROWSE)
async def fields(request: Request[Any, Any, Any]) -> Response[bytes]:
    rows = await request.app.state.db.read(service.list_fields)
    return render(request, "fields.html", {"fields": rows})


@get("/offline", **BROWSE)
async def offline(request: Request[Any, Any, Any]) -> Response[bytes]:
    return render(request, "offline.html")


ROUTES = [home, results, procedure, fields, offline]
