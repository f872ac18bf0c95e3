"""Counter intake on a tablet ("Tiếp nhận trực tiếp", ``/can-bo/tiep-nhan``): a receiving officer finds or records
the applicant (or reads the chip CCCD card's QR with the camera), picks a procedure the unit may receive, fills the
citizen's form, scans each document slot's pages with the camera or takes them from a scanner or the applicant's
wallet, receives the dossier at once and prints the receipt (form 01).

Plain forms posting and redirecting work without JavaScript; ``/static/intake.js`` previews the photos chosen and
prints. The back office's guard lets only passkey sessions in; who holds a draft is the core's query
(``domain.intake``: the receivers of its receiving unit, 404 for anybody else).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web.postal import postal_fee
from api.web.session import page_user
from api.web.state import settings_of, storage_of
from api.web.uploads import UPLOAD_MAX_BODY, store_upload, stream_document, streamed_form
from domain.accounts.identifiers import validate_tax_code
from domain.accounts.models import Organisation, User
from domain.calendar.engine import TZ
from domain.catalog.models import Procedure, Unit
from domain.documents.processing import PDF_TYPE
from domain.dossiers import filing as service
from domain.dossiers import forms
from domain.dossiers.models import DigitisationRecord, PostalItem, WalletDocument
from domain.errors import DomainError, InvalidInput, NotFound
from domain.intake import cccd_qr, counter, pages, persons
from domain.intake import receipt as intake_receipt
from domain.intake.receivers import receiver_units
from pwa.filing import form_to_data, provinces, qr_svg, wards_of
from pwa.render import is_htmx, render

BASE = "/can-bo/tiep-nhan"
NO_STORE = {"Cache-Control": "private, no-store"}  # personal data on a shared tablet
APPLICANT_FIELDS = ("full_name", "cccd", "birth_date", "sex", "phone", "email", "address", "old_id_number")
QR_MAX_BODY = 21 * 1024 * 1024
MAX_SCANS = 20  # pages sent at once into one slot


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _page(request: Request[Any, Any, Any], template: str, ctx: dict[str, Any], status: int = 200) -> Response[Any]:
    return render(request, template, ctx, status=status, headers=NO_STORE)


# --- 1. the applicant ----------------------------------------------------------------------------
def _units(session: Session, officer_id: int) -> list[tuple[str, str]]:
    codes = receiver_units(session, officer_id)  # 403 for an officer who receives nowhere
    names = {c: n for c, n in session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes)))}
    return [(c, names.get(c, c)) for c in codes]


def _search(qp: Any) -> dict[str, str]:
    return {k: " ".join((qp.get(k) or "").split())[:120] for k in ("cccd", "phone", "name", "tax_code")}


async def _start_page(request: Request[Any, Any, Any], officer_id: int, *, person: dict[str, str] | None = None,
                      error: DomainError | None = None, hits: list[persons.PersonHit] | None = None,
                      qr_read: bool = False, status: int = 200) -> Response[Any]:
    db = request.app.state.db
    units = await db.read(_units, officer_id)
    search = _search(request.query_params)
    search_error = None
    if hits is None and any(search.values()):
        try:
            hits = await db.write(persons.find_persons, officer_id, **{k: v or None for k, v in search.items()})
        except InvalidInput as exc:
            search_error, status = exc, 400
    return _page(request, "intake/start.html",
                 {"units": units, "search": search, "hits": hits, "search_error": search_error,
                  "person": person or {}, "error": error, "qr_read": qr_read, "today": date.today().isoformat()},
                 status=status)


@get(BASE, include_in_schema=False)
async def start(request: Request[Any, Any, Any]) -> Response[Any]:
    """Step 1: find the applicant (CCCD, phone, name, tax code), read a chip card's QR, or record a new person."""
    me = page_user(request)
    return await _start_page(request, me.user_id)


def _known(session: Session, officer_id: int, cccd: str) -> list[persons.PersonHit]:
    return persons.find_persons(session, officer_id, cccd=cccd)


@post(f"{BASE}/doc-qr", include_in_schema=False, request_max_body_size=QR_MAX_BODY)
async def read_qr(request: Request[Any, Any, Any]) -> Response[Any]:
    """A photo of the chip CCCD card (camera or file): its QR fills the person form; a CCCD already known shows
    that person to choose (entering it again links to them too: never a duplicate)."""
    me = page_user(request)
    await request.app.state.db.read(_units, me.user_id)
    try:
        async with streamed_form(request, max_files=1, max_fields=4, user_id=me.user_id) as form:
            files = [f for f in form.files_of("file") if f.size]
            if not files:
                raise InvalidInput("Chưa chọn ảnh chụp mã QR trên thẻ căn cước.", field="file")
            data = await asyncio.to_thread(files[0].path.read_bytes)
        card = await asyncio.to_thread(cccd_qr.decode_image, data)
    except DomainError as exc:
        return await _start_page(request, me.user_id, error=exc, status=exc.status)
    person = {"full_name": card.full_name, "cccd": card.cccd, "birth_date": card.birth_date.isoformat(),
              "sex": card.sex, "address": card.address, "old_id_number": card.old_id}
    hits = await request.app.state.db.write(_known, me.user_id, card.cccd)
    return await _start_page(request, me.user_id, person=person, hits=hits or None, qr_read=True)


# --- 2. the procedure and the channel --------------------------------------------------------------
@dataclass
class Who:
    """The applicant carried from step 1 to step 2 (hidden fields): one of the three."""

    person_id: int | None = None
    tax_code: str | None = None
    applicant: persons.Applicant | None = None
    raw: dict[str, str] = field(default_factory=dict)  # the new person's fields as typed

    @classmethod
    def of(cls, form: dict[str, str]) -> Who:
        pid = form.get("person_id", "").strip()
        if pid:
            if not pid.isdigit() or len(pid) > 12:
                raise InvalidInput("Không tìm thấy người nộp này.", field="person_id")
            return cls(person_id=int(pid))
        tax = form.get("organisation_tax_code", "").strip()
        if tax:
            return cls(tax_code=validate_tax_code(tax))
        raw = {k: form.get(f"a_{k}", "").strip() for k in APPLICANT_FIELDS}
        if not raw["full_name"]:
            raise InvalidInput("Hãy nhập họ tên người nộp (hoặc tìm và chọn người đã có).", field="a_full_name")
        try:
            birth = date.fromisoformat(raw["birth_date"]) if raw["birth_date"] else None
        except ValueError:
            raise InvalidInput("Ngày sinh không hợp lệ.", field="a_birth_date") from None
        if raw["sex"] not in ("", "nam", "nu"):
            raise InvalidInput("Giới tính là Nam hoặc Nữ.", field="a_sex")
        sex: Literal["nam", "nu"] | None = "nam" if raw["sex"] == "nam" else "nu" if raw["sex"] == "nu" else None
        applicant = persons.Applicant(full_name=raw["full_name"], cccd=raw["cccd"] or None, birth_date=birth,
                                      sex=sex, phone=raw["phone"] or None, email=raw["email"] or None,
                                      address=raw["address"] or None, old_id_number=raw["old_id_number"] or None)
        persons.check_applicant(applicant)
        return cls(applicant=applicant, raw=raw)

    def hidden(self) -> dict[str, str]:
        if self.person_id is not None:
            return {"person_id": str(self.person_id)}
        if self.tax_code is not None:
            return {"organisation_tax_code": self.tax_code}
        return {f"a_{k}": v for k, v in self.raw.items() if v}


def _who_label(session: Session, who: Who) -> str:
    if who.person_id is not None:
        user = session.get(User, who.person_id)
        if user is None or user.kind not in persons.APPLICANT_KINDS or user.disabled_at is not None:
            raise InvalidInput("Không tìm thấy người nộp này.", field="person_id")
        return f"{user.full_name}" + (f" · CCCD {user.cccd}" if user.cccd else "")
    if who.tax_code is not None:
        org = session.scalar(select(Organisation).where(Organisation.tax_code == who.tax_code))
        if org is None:
            raise InvalidInput("Không tìm thấy tổ chức có mã số thuế này trên hệ thống; hãy nhập người nộp là cá "
                               "nhân đại diện.", field="organisation_tax_code")
        return f"{org.name} · MST {org.tax_code}"
    assert who.applicant is not None
    return who.applicant.full_name + (f" · CCCD {who.applicant.cccd}" if who.applicant.cccd else "")


def _picker(session: Session, officer_id: int, who: Who, q: str, unit: str | None) -> dict[str, Any]:
    units = _units(session, officer_id)
    wanted = unit if unit in {c for c, _ in units} else None
    rows = counter.receivable_procedures(session, officer_id, q=q, limit=40,
                                         receiving_unit=wanted or (units[0][0] if len(units) == 1 else None))
    return {"who_label": _who_label(session, who), "procedures": rows, "units": units}


async def _picker_page(request: Request[Any, Any, Any], officer_id: int, who: Who, form: dict[str, str], *,
                       error: DomainError | None = None, status: int = 200) -> Response[Any]:
    q = " ".join(form.get("q", "").split())[:100]
    ctx = await request.app.state.db.read(_picker, officer_id, who, q, form.get("receiving_unit") or None)
    return _page(request, "intake/procedure.html",
                 {**ctx, "hidden": who.hidden(), "q": q, "sent": form, "error": error,
                  "today": datetime.now(UTC).astimezone(TZ).date().isoformat()}, status=status)


@post(f"{BASE}/thu-tuc", include_in_schema=False)
async def pick_procedure(request: Request[Any, Any, Any]) -> Response[Any]:
    """Step 2: the applicant chosen (or typed), search the procedures this unit may receive (its own first,
    those received for another unit marked), choose the channel (counter or post)."""
    me = page_user(request)
    form = await _form(request)
    try:
        who = Who.of(form)
        return await _picker_page(request, me.user_id, who, form)
    except InvalidInput as exc:
        person = {k: form.get(f"a_{k}", "") for k in APPLICANT_FIELDS}
        return await _start_page(request, me.user_id, person=person, error=exc, status=exc.status)


def _arrived(raw: str) -> datetime:
    """The day a postal dossier arrived (a date input): that day's start in Vietnam, or now for today."""
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput("Hãy nhập ngày hồ sơ đến (ngày/tháng/năm).", field="postal.received_at") from None
    now = datetime.now(UTC)
    if day == now.astimezone(TZ).date():
        return now
    return datetime(day.year, day.month, day.day, tzinfo=TZ)


def _command(who: Who, form: dict[str, str]) -> counter.IntakeCommand:
    channel = form.get("channel") or "counter"
    if channel not in ("counter", "postal"):
        raise InvalidInput("Hãy chọn hồ sơ nộp trực tiếp hay đến qua bưu chính.", field="channel")
    code = form.get("procedure_code", "").strip()
    if not code:
        raise InvalidInput("Hãy chọn thủ tục.", field="procedure_code")
    postal = counter.PostalIn(waybill=form.get("waybill", "").strip(), received_at=_arrived(form.get("arrived", "")),
                              sender=form.get("sender", "").strip()) if channel == "postal" else None
    return counter.IntakeCommand(procedure_code=code, channel="postal" if channel == "postal" else "counter",
                                 applicant=who.applicant, person_id=who.person_id,
                                 organisation_tax_code=who.tax_code, receiving_unit=form.get("receiving_unit") or None,
                                 postal=postal)


@post(f"{BASE}/bat-dau", include_in_schema=False)
async def begin(request: Request[Any, Any, Any]) -> Response[Any]:
    """Start the intake draft (a CCCD already known links to that person) and go to the workspace."""
    me = page_user(request)
    form = await _form(request)
    try:
        who = Who.of(form)
    except InvalidInput as exc:
        person = {k: form.get(f"a_{k}", "") for k in APPLICANT_FIELDS}
        return await _start_page(request, me.user_id, person=person, error=exc, status=exc.status)
    try:
        cmd = _command(who, form)
        d = await request.app.state.db.write(counter.start_intake, me.user_id, cmd)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _picker_page(request, me.user_id, who, form, error=exc, status=exc.status)
    return Redirect(f"{BASE}/{d.id}", status_code=303)


# --- 3. the workspace: form left, documents right ------------------------------------------------
def _workspace(session: Session, officer_id: int, dossier_id: int) -> dict[str, Any]:
    d = counter.intake_draft(session, officer_id, dossier_id)
    schema = service.schema_of(session, d)
    proc = session.scalar(select(Procedure.name).where(Procedure.code == d.procedure_code)) or d.procedure_code
    units = {c: n for c, n in session.execute(select(Unit.code, Unit.name).where(
        Unit.code.in_({d.unit_code, d.receiving_unit_code})))}
    by_slot: dict[str, list[Any]] = {}
    for dd, wd in sorted(service.dossier_documents(session, d.id), key=lambda r: (r[0].position, r[0].id)):
        by_slot.setdefault(dd.slot, []).append((dd, wd))
    not_kept = set(session.scalars(select(DigitisationRecord.slot).where(
        DigitisationRecord.dossier_id == d.id, DigitisationRecord.kind == "not_kept")))
    owner = session.get(User, d.owner_id)
    wallet: list[WalletDocument] = []
    if owner is not None and owner.kind == "citizen":  # an account's wallet (a person record has none)
        wallet = list(session.scalars(service.visible_documents(session, owner.id)
                                      .order_by(WalletDocument.id.desc()).limit(50)))
    postal = session.scalar(select(PostalItem).where(PostalItem.dossier_id == d.id, PostalItem.direction == "in"))
    return {"d": d, "schema": schema, "data": json.loads(d.data), "procedure_name": proc,
            "deciding_name": units.get(d.unit_code, d.unit_code),
            "receiving_name": units.get(d.receiving_unit_code, d.receiving_unit_code),
            "pages": by_slot, "not_kept": not_kept, "owner": owner, "wallet": wallet, "postal": postal}


def _province_code(request: Request[Any, Any, Any]) -> int:
    name = getattr(request.app.state, "province_name", "")
    return next((p.code.value for p in provinces() if p.name == name), 1)


async def _workspace_page(request: Request[Any, Any, Any], officer_id: int, dossier_id: int, *,
                          errors: dict[str, str] | None = None, error: DomainError | None = None,
                          sent: dict[str, str] | None = None, status: int = 200) -> Response[Any]:
    ctx = await request.app.state.db.read(_workspace, officer_id, dossier_id)
    return _page(request, "intake/workspace.html",
                 {**ctx, "errors": errors or {}, "error": error, "sent": sent or {},
                  "ok": request.query_params.get("ok"), "provinces": provinces(), "wards_of": wards_of,
                  "default_province": _province_code(request)}, status=status)


async def _received_already(request: Request[Any, Any, Any], officer_id: int, dossier_id: int,
                            exc: NotFound) -> Response[Any]:
    """A draft that is no longer one because this unit has just received it (a second tap on "Tiếp nhận hồ sơ",
    the back button): its receipt; anything else stays 404."""
    try:
        await request.app.state.db.read(counter.received_intake, officer_id, dossier_id)
    except DomainError:
        raise exc from None
    return Redirect(f"{BASE}/{dossier_id}/bien-nhan", status_code=303)


@get(f"{BASE}/{{dossier_id:int}}", include_in_schema=False)
async def workspace(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """The intake draft: its form, how the result comes back, and each document slot's pages."""
    me = page_user(request)
    try:
        return await _workspace_page(request, me.user_id, dossier_id)
    except NotFound as exc:
        return await _received_already(request, me.user_id, dossier_id, exc)


def _refusal(exc: DomainError) -> dict[str, str]:
    """The errors by field of a refusal (a form's FormErrors, or one field's)."""
    if isinstance(exc, forms.FormErrors):
        return dict(exc.errors)
    return {exc.field: exc.detail} if exc.field else {}


async def _save(request: Request[Any, Any, Any], officer_id: int, dossier_id: int, form: dict[str, str]) -> None:
    """The form data (the citizen's form and validation) and the return method, as sent."""
    db = request.app.state.db
    await _held(request, officer_id, dossier_id)  # an empty form changes nothing, but only a holder gets this far
    data = form_to_data({k: v for k, v in form.items() if k not in ("return_method", "return_address")})
    add_row = form.get("_add")
    if add_row:  # "add a row" of a repeating group, without JavaScript
        data.setdefault(add_row, [])
    if data:
        await db.write(counter.update_intake, officer_id, dossier_id, data)
    method = form.get("return_method")
    if method:
        address = form.get("return_address")
        fee = await postal_fee(settings_of(request).postal, address) if method == "post" and address else None
        await db.write(pages.choose_intake_return, officer_id, dossier_id, method, address, postal_fee_vnd=fee)


@post(f"{BASE}/{{dossier_id:int}}/luu", include_in_schema=False)
async def save(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    me = page_user(request)
    form = await _form(request)
    try:
        await _save(request, me.user_id, dossier_id, form)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _workspace_page(request, me.user_id, dossier_id, errors=_refusal(exc), error=exc, sent=form,
                                     status=exc.status)
    if is_htmx(request):  # the autosave of the form as it is typed (a scan then loses nothing)
        d = await request.app.state.db.read(counter.intake_draft, me.user_id, dossier_id)
        return render(request, "filing/saved.html", {"d": d}, headers=NO_STORE)
    extra = f"&them={form['_add']}" if form.get("_add") else ""
    return Redirect(f"{BASE}/{dossier_id}?ok=luu{extra}", status_code=303)


@post(f"{BASE}/{{dossier_id:int}}/tiep-nhan", include_in_schema=False)
async def receive(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """"Tiếp nhận hồ sơ": save what was sent, merge each slot's pages into one PDF and receive the dossier at once
    (its code and appointment date); then the receipt."""
    me = page_user(request)
    form = await _form(request)
    try:
        await _save(request, me.user_id, dossier_id, form)
        await counter.receive_with_merge(request.app.state.db, storage_of(request), me.user_id, dossier_id,
                                         amr=",".join(me.amr), then=lambda _s, d: d.id)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            return await _received_already(request, me.user_id, dossier_id, exc)
        return await _workspace_page(request, me.user_id, dossier_id, errors=_refusal(exc), error=exc, sent=form,
                                     status=exc.status)
    return Redirect(f"{BASE}/{dossier_id}/bien-nhan", status_code=303)


# --- documents ---------------------------------------------------------------------------------
async def _scans(request: Request[Any, Any, Any], officer_id: int) -> tuple[str, list[service.StoredFile]]:
    """The slot and the pages of a multipart form (camera photos or scanner files), each through the upload
    pipeline (sniffed, metadata stripped, re-encoded, stored)."""
    async with streamed_form(request, max_files=MAX_SCANS, max_fields=6, user_id=officer_id) as form:
        slot = (form.get("slot") or "").strip()
        files = [f for f in form.files_of("file") if f.size]
        if not files:
            raise InvalidInput("Chưa chụp hoặc chọn trang nào.", field="file")
        return slot, [await store_upload(request, f) for f in files]


def _attach_all(session: Session, officer_id: int, dossier_id: int, slot: str,
                stored: list[service.StoredFile]) -> None:
    for one in stored:
        service.attach(session, officer_id, dossier_id, slot, stored=one, intake_officer=True)


async def _doc_refused(request: Request[Any, Any, Any], officer_id: int, dossier_id: int,
                       exc: DomainError) -> Response[Any]:
    if isinstance(exc, NotFound):
        raise exc
    return await _workspace_page(request, officer_id, dossier_id, error=exc, status=exc.status)


def _back(dossier_id: int, slot: str) -> Redirect:
    return Redirect(f"{BASE}/{dossier_id}#slot-{slot}", status_code=303)


async def _held(request: Request[Any, Any, Any], officer_id: int, dossier_id: int) -> None:
    """404 before the body is read for a draft this officer does not hold."""
    await request.app.state.db.read(counter.intake_draft, officer_id, dossier_id)


@post(f"{BASE}/{{dossier_id:int}}/giay-to", include_in_schema=False, request_max_body_size=UPLOAD_MAX_BODY)
async def add_pages(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """Pages into a slot: several camera photos at once, or files from a document scanner (CSRF token in the
    query string: it is checked before the body)."""
    me = page_user(request)
    await _held(request, me.user_id, dossier_id)
    try:
        slot, stored = await _scans(request, me.user_id)
        await request.app.state.db.write(_attach_all, me.user_id, dossier_id, slot, stored)
    except DomainError as exc:
        return await _doc_refused(request, me.user_id, dossier_id, exc)
    return _back(dossier_id, slot)


def _page_slot(session: Session, officer_id: int, dossier_id: int, page_id: int) -> tuple[str, WalletDocument]:
    d = counter.intake_draft(session, officer_id, dossier_id)
    for dd, wd in service.dossier_documents(session, d.id):
        if dd.id == page_id:
            return dd.slot, wd
    raise NotFound("Không tìm thấy trang này trong hồ sơ.")


@get(f"{BASE}/{{dossier_id:int}}/trang/{{page_id:int}}", include_in_schema=False)
async def page_file(request: Request[Any, Any, Any], dossier_id: int, page_id: int) -> Response[Any]:
    """One page of the draft (the preview), for the officers who hold it."""
    me = page_user(request)
    _slot, doc = await request.app.state.db.read(_page_slot, me.user_id, dossier_id, page_id)
    return stream_document(request, doc)


@post(f"{BASE}/{{dossier_id:int}}/trang/{{page_id:int}}/{{how:str}}", include_in_schema=False)
async def arrange(request: Request[Any, Any, Any], dossier_id: int, page_id: int, how: str) -> Response[Any]:
    """Move a page up (``len``) or down (``xuong``), or take it out (``bo``)."""
    me = page_user(request)
    db = request.app.state.db
    if how not in ("len", "xuong", "bo"):
        raise NotFound("Không có thao tác này.")
    slot, _doc = await db.read(_page_slot, me.user_id, dossier_id, page_id)
    if how == "bo":
        await db.write(service.detach, me.user_id, dossier_id, page_id, intake_officer=True)
    else:
        await db.write(pages.move_page, me.user_id, dossier_id, page_id, "up" if how == "len" else "down")
    return _back(dossier_id, slot)


@post(f"{BASE}/{{dossier_id:int}}/trang/{{page_id:int}}/chup-lai", include_in_schema=False,
      request_max_body_size=UPLOAD_MAX_BODY)
async def retake(request: Request[Any, Any, Any], dossier_id: int, page_id: int) -> Response[Any]:
    """Retake a page: the new photo takes its place."""
    me = page_user(request)
    db = request.app.state.db
    slot, _doc = await db.read(_page_slot, me.user_id, dossier_id, page_id)
    try:
        _sent, stored = await _scans(request, me.user_id)
        await db.write(pages.replace_page, me.user_id, dossier_id, page_id, stored[0])
    except DomainError as exc:
        return await _doc_refused(request, me.user_id, dossier_id, exc)
    return _back(dossier_id, slot)


@post(f"{BASE}/{{dossier_id:int}}/giay-to/vi", include_in_schema=False)
async def from_wallet(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """A document from the applicant's wallet (an account's) into a slot."""
    me = page_user(request)
    form = await _form(request)
    slot, doc_id = form.get("slot", ""), form.get("document_id", "")
    try:
        if not doc_id.isdigit() or len(doc_id) > 12:
            raise InvalidInput("Chưa chọn giấy tờ trong kho giấy tờ của công dân.", field="document_id")
        await request.app.state.db.write(service.attach, me.user_id, dossier_id, slot, document_id=int(doc_id),
                                         intake_officer=True)
    except DomainError as exc:
        return await _doc_refused(request, me.user_id, dossier_id, exc)
    return _back(dossier_id, slot)


@post(f"{BASE}/{{dossier_id:int}}/giay-to/{{slot:str}}/khong-luu", include_in_schema=False)
async def not_kept(request: Request[Any, Any, Any], dossier_id: int, slot: str) -> Response[Any]:
    """"Đã xem bản chính, không lưu bản sao", where the form allows it for the slot."""
    me = page_user(request)
    try:
        await request.app.state.db.write(counter.mark_not_kept, me.user_id, dossier_id, slot)
    except DomainError as exc:
        return await _doc_refused(request, me.user_id, dossier_id, exc)
    return _back(dossier_id, slot)


# --- 4. the receipt (form 01) -----------------------------------------------------------------------
def _lookup_url(request: Request[Any, Any, Any], code: str) -> tuple[str, str]:
    settings = settings_of(request)
    check = service.check_value(settings.web.secret_key, code)
    return f"{settings.public_url}/tra-cuu?{urlencode({'ma': code, 'kiem-tra': check})}", check


@get(f"{BASE}/{{dossier_id:int}}/bien-nhan", include_in_schema=False)
async def receipt(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """The receipt of a dossier this unit received: print it on A4 from the tablet, or download the PDF."""
    me = page_user(request)
    r = await request.app.state.db.read(intake_receipt.receipt_of, me.user_id, dossier_id)
    url, check = _lookup_url(request, r.code)
    return _page(request, "intake/receipt.html", {"r": r, "qr": qr_svg(url), "lookup_url": url, "check": check})


@get(f"{BASE}/{{dossier_id:int}}/bien-nhan.pdf", include_in_schema=False)
async def receipt_pdf(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """The same receipt as PDF (the API's receipt.pdf)."""
    me = page_user(request)
    r = await request.app.state.db.read(intake_receipt.receipt_of, me.user_id, dossier_id)
    pdf = await asyncio.to_thread(intake_receipt.receipt_pdf, r, _lookup_url(request, r.code)[0])
    return Response(pdf, media_type=PDF_TYPE,
                    headers={"Content-Disposition": f'inline; filename="bien-nhan-{r.code}.pdf"', **NO_STORE})


ROUTES: list[Any] = [start, read_qr, pick_procedure, begin, workspace, save, receive, add_pages, page_file, retake,
                     arrange, from_wallet, not_kept, receipt, receipt_pdf]
