"""Admin pages: the province's offer (which procedures, where, how online, local fees)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web.session import page_user
from auth import accounts
from domain.catalog import offer
from domain.catalog import procedures as service
from domain.catalog.models import Offering, OfferVersion, Unit
from domain.catalog.procedures import SearchQuery
from domain.errors import DomainError, InvalidInput
from pwa.render import render


def _offer_context(session: Session, user_id: int, q: str, page: int) -> dict[str, Any]:
    accounts.require_admin(session, user_id)
    results = service.search(session, SearchQuery(q=q, page=page, page_size=20))
    versions = list(session.scalars(select(OfferVersion).order_by(OfferVersion.id.desc()).limit(5)))
    units = list(session.scalars(select(Unit).where(Unit.active).order_by(Unit.level, Unit.name)))
    return {"results": results, "versions": versions, "units": units, "q": q}


@get("/quan-tri/dich-vu", include_in_schema=False)
async def offer_list(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    q = (request.query_params.get("q") or "")[:200]
    page = request.query_params.get("page") or "1"
    ctx = await request.app.state.db.read(
        _offer_context, me.user_id, q, int(page) if page.isdigit() and len(page) < 6 else 1
    )
    return render(request, "admin/offer.html", ctx)


def _edit_context(session: Session, user_id: int, code: str) -> dict[str, Any]:
    accounts.require_admin(session, user_id)
    view = service.get_procedure(session, code)
    units = list(session.scalars(select(Unit).where(Unit.active).order_by(Unit.level, Unit.name)))
    return {"p": view.data, "offering": view.offering, "units": units}


@get("/quan-tri/dich-vu/{code:str}", include_in_schema=False)
async def offer_edit(request: Request[Any, Any, Any], code: str) -> Response[Any]:
    me = page_user(request)
    ctx = await request.app.state.db.read(_edit_context, me.user_id, code)
    return render(request, "admin/offer_edit.html", {**ctx, "error": None, "saved": request.query_params.get("ok")})


@post("/quan-tri/dich-vu/{code:str}", include_in_schema=False)
async def offer_save(request: Request[Any, Any, Any], code: str) -> Response[Any]:
    me = page_user(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    db = request.app.state.db

    def save(session: Session) -> Offering | None:
        accounts.require_admin(session, me.user_id)
        mode = form.get("mode") or None
        fee_raw = form.get("local_fee_vnd", "").replace(".", "").replace(",", "").strip()
        if fee_raw and not fee_raw.isdigit():
            raise InvalidInput("Lệ phí địa phương phải là số tiền (đồng), ví dụ 50000.", field="local_fee_vnd")
        return offer.set_offering(
            session, code, unit=form.get("unit") or None, mode=None if mode == "none" else mode,
            local_fee_vnd=int(fee_raw) if fee_raw else None, local_fee_note=form.get("local_fee_note") or None,
            actor=str(me.user_id),
        )

    try:
        await db.write(save)
    except DomainError as exc:
        ctx = await db.read(_edit_context, me.user_id, code)
        return render(request, "admin/offer_edit.html", {**ctx, "error": exc, "saved": None}, status=exc.status)
    return Redirect(f"/quan-tri/dich-vu/{code}?ok=1", status_code=303)


ROUTES = [offer_list, offer_edit, offer_save]
