"""Filing pages: start a dossier, fill it step by step (autosaved), attach photos, submit, receipt,
my dossiers, file again, the wallet, and the public lookup. Plain forms first; htmx and
``/static/upload.js`` improve them when JavaScript runs."""

from __future__ import annotations

import io
import json
import re
from typing import Any
from urllib.parse import urlencode

import segno
from litestar import Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.orm import Session
from vietnam_provinces import Province, ProvinceCode, Ward

from api.web.lookup import public_lookup
from api.web.postal import postal_fee
from api.web.session import page_principal, page_user
from api.web.state import settings_of
from api.web.uploads import UPLOAD_MAX_BODY, receive_upload, stream_document
from domain.catalog.procedures import get_procedure
from domain.dossiers import filing as service
from domain.dossiers import forms
from domain.dossiers.models import Dossier
from domain.dossiers.paperwork import issued_forms
from domain.errors import DomainError, InvalidInput, TooManyRequests
from domain.postal import sent_by_post
from domain.postal.returns import check_return, choose_return
from domain.workflow import STATE_NAMES_VI, State
from pwa.render import is_htmx, render

KEY = re.compile(r"^([a-z][a-z0-9_]*)(?:\[(\d{1,2})\]\[([a-z][a-z0-9_]*)\])?(?:\.(province|ward|street))?$")


def provinces() -> list[Province]:
    return sorted(Province.iter_all(), key=lambda p: p.name)


def wards_of(code: int | str | None) -> list[Ward]:
    try:
        return sorted(Ward.iter_by_province(ProvinceCode(int(code or 0))), key=lambda w: w.name)
    except (ValueError, TypeError):
        return []


def form_to_data(form: dict[str, str]) -> dict[str, Any]:
    """`name`, `addr.ward`, `group[0][sub]` (and `group[0][sub].ward`) → nested data."""
    data: dict[str, Any] = {}
    for key, value in form.items():
        match = KEY.match(key)
        if not match or key.startswith("_"):
            continue
        name, index, sub, part = match.groups()
        if index is None:
            if part:
                data.setdefault(name, {})[part] = value
            else:
                data[name] = value
            continue
        rows = data.setdefault(name, {})
        row = rows.setdefault(int(index), {})
        if part:
            row.setdefault(sub, {})[part] = value
        else:
            row[sub] = value
    for name, value in list(data.items()):
        if isinstance(value, dict) and value and all(isinstance(k, int) for k in value):
            data[name] = [value[i] for i in sorted(value) if any(str(v).strip() for v in value[i].values()
                                                                if not isinstance(v, dict))
                          or any(isinstance(v, dict) and any(v.values()) for v in value[i].values())]
    return data


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _load(session: Session, user_id: int, dossier_id: int) -> dict[str, Any]:
    d = service.get_dossier(session, user_id, dossier_id)
    schema = service.schema_of(session, d)
    view = get_procedure(session, d.procedure_code)
    return {"d": d, "schema": schema, "data": json.loads(d.data), "procedure": view.data, "unit": view.unit,
            "attachments": service.dossier_documents(session, d.id),
            "wallet": list(session.scalars(service.visible_documents(session, user_id).limit(50))),
            "state_name": STATE_NAMES_VI[State(d.status)], "history": service.history(session, d.id),
            "postal": sent_by_post(session, d.id), "withdrawal": service.withdrawal_event(d),
            "forms_issued": issued_forms(session, d.id)}


def _step_count(schema: dict[str, Any]) -> int:
    return len(schema.get("steps", [])) + 2  # + documents + review


def _shown_step(schema: dict[str, Any], step: int) -> int:
    """The step to show for ``step``: a step of the schema with no fields in it is skipped (the pages add
    their own documents step, so a schema's trailing "documents" step would be an empty form)."""
    with_fields = {f.get("step", 0) for f in schema.get("fields", [])}
    count = len(schema.get("steps", []))
    while step < count and step not in with_fields:
        step += 1
    return step


@post("/ho-so", include_in_schema=False)
async def start(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_principal(request)
    form = await _form(request)
    code = form.get("procedure_code", "")
    if me is None:
        return Redirect(f"/dang-nhap?next=/thu-tuc/{code}", status_code=303)
    org = form.get("organisation_id") or None
    d = await request.app.state.db.write(service.create_draft, me.user_id, code,
                                         organisation_id=int(org) if org and org.isdigit() else None)
    return Redirect(f"/ho-so/{d.id}", status_code=303)


@get("/ho-so", include_in_schema=False)
async def my_dossiers(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    rows = await request.app.state.db.read(service.my_dossiers, me.user_id)
    return render(request, "filing/list.html", {"rows": rows, "names": STATE_NAMES_VI, "State": State})


@get("/ho-so/{dossier_id:int}", include_in_schema=False)
async def dossier_page(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    ctx = await request.app.state.db.read(_load, me.user_id, dossier_id)
    d: Dossier = ctx["d"]
    if d.status not in service.EDITABLE:
        return render(request, "filing/status.html", ctx)
    steps = _step_count(ctx["schema"])
    raw = request.query_params.get("buoc") or "0"
    step = min(int(raw), steps - 1) if raw.isdigit() and len(raw) < 3 else 0
    shown = _shown_step(ctx["schema"], step)
    if shown != step:  # a step of the schema without fields (hand-made forms end with "Giấy tờ đính kèm")
        return Redirect(f"/ho-so/{dossier_id}?buoc={shown}", status_code=303)
    return render(request, "filing/step.html", {**ctx, "step": step, "steps": steps, "errors": {},
                                                "provinces": provinces(), "wards_of": wards_of,
                                                "default_province": _province_code(request),
                                                "notice": request.query_params.get("bo")})


def _province_code(request: Request[Any, Any, Any]) -> int:
    name = getattr(request.app.state, "province_name", "")
    return next((p.code.value for p in Province.iter_all() if p.name == name), 1)


@post("/ho-so/{dossier_id:int}/luu", include_in_schema=False)
async def save(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """Save the current step; htmx autosave answers a status line, a plain post goes to the next step."""
    me = page_user(request)
    form = await _form(request)
    data = form_to_data(form)
    add_row = form.get("_add")
    if add_row:  # "add a row" of a repeating group, without JavaScript
        data.setdefault(add_row, [])
    d = await request.app.state.db.write(service.update_draft, me.user_id, dossier_id, data)
    if is_htmx(request):
        return render(request, "filing/saved.html", {"d": d})
    step = form.get("_step", "0")
    target = int(step) if step.isdigit() else 0
    if form.get("_next"):
        target += 1
    extra = f"&them={add_row}" if add_row else ""
    return Redirect(f"/ho-so/{dossier_id}?buoc={target}{extra}", status_code=303)


@get("/dia-chi/phuong", include_in_schema=False)
async def wards(request: Request[Any, Any, Any]) -> Response[Any]:
    """The ward choices of a province (htmx swaps them in when the province changes)."""
    name = request.query_params.get("name") or ""
    if not KEY.match(name):
        raise InvalidInput("Tên trường không hợp lệ.", field="name")
    return render(request, "filing/wards.html", {"wards": wards_of(request.query_params.get(f"{name}.province")),
                                                 "name": name, "selected": None})


@post("/ho-so/{dossier_id:int}/giay-to", include_in_schema=False, request_max_body_size=UPLOAD_MAX_BODY)
async def upload(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """One page into a slot. The CSRF token came in the query string or a header (checked before the body),
    the caller is checked here, the size and the day's quota from the headers: then the body is read."""
    me = page_user(request)
    db = request.app.state.db
    try:
        slot, stored = await receive_upload(request, user_id=me.user_id)
        doc = await db.write(service.attach, me.user_id, dossier_id, slot, stored=stored)
    except DomainError as exc:
        if request.headers.get("accept", "").startswith("application/json"):
            raise
        ctx = await db.read(_load, me.user_id, dossier_id)
        steps = _step_count(ctx["schema"])
        return render(request, "filing/step.html", {**ctx, "step": steps - 2, "steps": steps, "errors": {},
                                                    "upload_error": exc, "provinces": provinces(),
                                                    "wards_of": wards_of, "default_province": _province_code(request),
                                                    "notice": None},
                      status=exc.status,
                      headers={"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None)
    if request.headers.get("accept", "").startswith("application/json"):
        return Response({"id": doc.id, "sha256": doc.sha256, "size": doc.size, "content_type": doc.content_type})
    return Redirect(f"/ho-so/{dossier_id}?buoc={await _docs_step(request, me.user_id, dossier_id)}", status_code=303)


async def _docs_step(request: Request[Any, Any, Any], user_id: int, dossier_id: int) -> int:
    ctx = await request.app.state.db.read(_load, user_id, dossier_id)
    return _step_count(ctx["schema"]) - 2


@post("/ho-so/{dossier_id:int}/giay-to/vi", include_in_schema=False)
async def attach_from_wallet(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    form = await _form(request)
    doc_id = form.get("document_id", "")
    if not doc_id.isdigit():
        raise InvalidInput("Chưa chọn giấy tờ.", field="document_id")
    await request.app.state.db.write(service.attach, me.user_id, dossier_id, form.get("slot", ""),
                                     document_id=int(doc_id))
    return Redirect(f"/ho-so/{dossier_id}?buoc={await _docs_step(request, me.user_id, dossier_id)}", status_code=303)


@post("/ho-so/{dossier_id:int}/giay-to/{attachment_id:int}/bo", include_in_schema=False)
async def detach(request: Request[Any, Any, Any], dossier_id: int, attachment_id: int) -> Response[Any]:
    me = page_user(request)
    await request.app.state.db.write(service.detach, me.user_id, dossier_id, attachment_id)
    return Redirect(f"/ho-so/{dossier_id}?buoc={await _docs_step(request, me.user_id, dossier_id)}", status_code=303)


@post("/ho-so/{dossier_id:int}/nop", include_in_schema=False)
async def submit(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    form = await _form(request)
    db = request.app.state.db
    try:
        await db.write(service.submit, me.user_id, dossier_id, key=form.get("_submit_key"), amr=",".join(me.amr))
    except forms.FormErrors as exc:
        ctx = await db.read(_load, me.user_id, dossier_id)
        steps = _step_count(ctx["schema"])
        return render(request, "filing/step.html", {**ctx, "step": steps - 1, "steps": steps, "errors": exc.errors,
                                                    "provinces": provinces(), "wards_of": wards_of,
                                                    "default_province": _province_code(request), "notice": None},
                      status=400)
    return Redirect(f"/ho-so/{dossier_id}/bien-nhan", status_code=303)


@post("/ho-so/{dossier_id:int}/nhan-ket-qua", include_in_schema=False)
async def choose_return_method(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """How the result comes back (a draft's choice): at the counter, online, or by post to an address (the
    postal fee is quoted and paid with the fees)."""
    me = page_user(request)
    form = await _form(request)
    db = request.app.state.db
    try:
        method, address = check_return(form.get("return_method", ""), form.get("return_address"))
        fee = await postal_fee(settings_of(request).postal, address) if address else None
        await db.write(choose_return, me.user_id, dossier_id, method, address, postal_fee_vnd=fee)
    except InvalidInput as exc:
        ctx = await db.read(_load, me.user_id, dossier_id)
        steps = _step_count(ctx["schema"])
        return render(request, "filing/step.html", {**ctx, "step": steps - 1, "steps": steps, "errors": {},
                                                    "provinces": provinces(), "wards_of": wards_of,
                                                    "default_province": _province_code(request), "notice": None,
                                                    "return_error": exc.detail, "sent": form}, status=400)
    steps = _step_count((await db.read(_load, me.user_id, dossier_id))["schema"])
    return Redirect(f"/ho-so/{dossier_id}?buoc={steps - 1}#nhan-ket-qua", status_code=303)


def qr_svg(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True,
                                     title="Mã QR tra cứu hồ sơ", nl=False)
    return buffer.getvalue().decode()


@get("/ho-so/{dossier_id:int}/bien-nhan", include_in_schema=False)
async def receipt(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """Receipt equivalent to form 01: code, time, documents, fee, appointment date, QR to the lookup."""
    me = page_user(request)
    ctx = await request.app.state.db.read(_load, me.user_id, dossier_id)
    d: Dossier = ctx["d"]
    if d.code is None:
        return Redirect(f"/ho-so/{dossier_id}", status_code=303)
    settings = settings_of(request)
    check = service.check_value(settings.web.secret_key, d.code)
    url = f"{settings.public_url}/tra-cuu?{urlencode({'ma': d.code, 'kiem-tra': check})}"
    return render(request, "filing/receipt.html", {**ctx, "qr": qr_svg(url), "lookup_url": url, "check": check})


@post("/ho-so/{dossier_id:int}/rut", include_in_schema=False)
async def withdraw(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """The applicant withdraws (before intake) or asks to withdraw (an officer then accepts), with a reason."""
    me = page_user(request)
    form = await _form(request)
    version = form.get("version", "")
    try:
        await request.app.state.db.write(service.withdraw, me.user_id, dossier_id, form.get("reason", ""),
                                         expected_version=int(version) if version.isdigit() else None,
                                         amr=",".join(me.amr))
    except DomainError as exc:
        ctx = await request.app.state.db.read(_load, me.user_id, dossier_id)
        return render(request, "filing/status.html", {**ctx, "withdraw_error": exc.detail},
                      status=exc.status if 400 <= exc.status < 500 else 400)
    return Redirect(f"/ho-so/{dossier_id}", status_code=303)


@post("/ho-so/{dossier_id:int}/nop-lai", include_in_schema=False)
async def file_again(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    draft, dropped = await request.app.state.db.write(service.clone, me.user_id, dossier_id)
    notice = f"&bo={','.join(dropped)[:300]}" if dropped else ""
    return Redirect(f"/ho-so/{draft.id}?buoc=0{notice}", status_code=303)


@post("/ho-so/{dossier_id:int}/xoa", include_in_schema=False)
async def delete_draft(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    await request.app.state.db.write(service.delete_draft, me.user_id, dossier_id)
    return Redirect("/ho-so", status_code=303)


@get("/vi-giay-to", include_in_schema=False)
async def wallet(request: Request[Any, Any, Any]) -> Response[Any]:
    me = page_user(request)
    docs = await request.app.state.db.read(lambda s: list(s.scalars(service.visible_documents(s, me.user_id))))
    return render(request, "filing/wallet.html", {"docs": docs})


@get("/tai-lieu/{document_id:int}", include_in_schema=False)
async def document_content(request: Request[Any, Any, Any], document_id: int) -> Response[Any]:
    me = page_user(request)
    doc = await request.app.state.db.read(service.get_document, me.user_id, document_id)
    return stream_document(request, doc)


@get("/tra-cuu", include_in_schema=False)
async def lookup_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The public lookup: by the code alone the status and the appointment date; with the receipt's check
    value (``kiem-tra``, in the receipt's QR link) the rest. Limits and refusals: api/web/lookup.py."""
    code = (request.query_params.get("ma") or "").strip()
    check = (request.query_params.get("kiem-tra") or "").strip()
    result, error = None, None
    if code:
        try:
            result = await public_lookup(request, code, check)
        except DomainError as exc:
            error = exc
    status = error.status if error else 200
    headers = {"Cache-Control": "no-store"}  # a detailed answer lives under its URL: no cache keeps any
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return render(request, "filing/lookup.html", {"code": code, "check": check, "result": result, "error": error},
                  status=status, headers=headers)


ROUTES = [start, my_dossiers, dossier_page, save, wards, upload, attach_from_wallet, detach, submit,
          choose_return_method, receipt, withdraw, file_again, delete_draft, wallet, document_content, lookup_page]
