"""JSON API of filing: forms, drafts, documents, submission, cloning, wallet, public lookup."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.orm import Session

from api.web.lookup import public_lookup
from api.web.passkey_session import is_staff, signed_in_with_passkey
from api.web.postal import postal_fee
from api.web.providers import API_USER
from api.web.state import settings_of
from api.web.uploads import receive_upload, stream_document
from auth.tokens import Principal
from domain.db import Database
from domain.dossiers import filing as service
from domain.dossiers.models import Dossier, FormRevision, WalletDocument
from domain.dossiers.paperwork import issued_forms
from domain.errors import InvalidInput
from domain.forms.access import issued as issued_rows
from domain.postal import sent_by_post
from domain.postal.returns import check_return, choose_return
from domain.workflow import STATE_NAMES_VI, State, national_status


class FormOut(msgspec.Struct):
    procedure_code: str
    revision: int
    steps: list[str]
    fields: list[dict[str, Any]]
    documents: list[dict[str, Any]]


class DocumentOut(msgspec.Struct):
    id: int
    content_type: str
    size: int
    sha256: str
    name: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    kind: str = "upload"
    created_at: datetime | None = None


class AttachedOut(msgspec.Struct):
    id: int  # the attachment (page) id inside the dossier
    slot: str
    document: DocumentOut


class DossierOut(msgspec.Struct):
    id: int
    code: str | None
    procedure_code: str
    status: str
    status_name: str
    version: int
    form_revision: int
    organisation_id: int | None
    unit_code: str
    data: dict[str, Any]
    documents: list[AttachedOut]
    fee_vnd: int | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    due_date: datetime | None
    # the check value printed on the receipt (the public lookup's `check`): for the holder of a filed dossier,
    # null for a draft and in the back office
    lookup_check: str | None = None
    # how the result comes back (counter | online | post), the postal address and fee, the waybill once sent
    return_method: str = "online"
    return_address: str | None = None
    postal_fee_vnd: int | None = None
    postal: PostalOut | None = None
    # how it came in (counter | online | post) and where it was received (the deciding unit is unit_code)
    channel: str = "online"
    receiving_unit: str | None = None
    # the national public service portal's status code of the state (1–10; null for a draft)
    national_status: int | None = None
    # the forms of Circular 03/2025/TT-VPCP issued so far, oldest first
    forms: list[IssuedFormOut] = msgspec.field(default_factory=list)


class IssuedFormOut(msgspec.Struct):
    """A form issued for the dossier: its number (01–06), name and when; `url` where it can be read (null
    where it is not rendered as a document yet)."""

    number: str
    name: str
    issued_at: datetime
    url: str | None = None


class PostalOut(msgspec.Struct):
    """The result sent by post: the waybill the applicant can track, when it left and when it was delivered."""

    waybill: str
    sent_at: datetime
    delivered_at: datetime | None
    delivery_source: str | None  # officer | operator


class DossierSummary(msgspec.Struct):
    id: int
    code: str | None
    procedure_code: str
    procedure_name: str
    status: str
    status_name: str
    updated_at: datetime
    due_date: datetime | None


class CreateIn(msgspec.Struct):
    procedure_code: str
    organisation_id: int | None = None
    data: dict[str, Any] | None = None


class PatchIn(msgspec.Struct):
    """Form data (partial) and/or how the result comes back: `return_method` counter | online | post (post needs
    `return_address`; its postal fee is quoted and stored in `postal_fee_vnd`, paid with the fees)."""

    data: dict[str, Any] | None = None
    version: int | None = None
    return_method: Literal["counter", "online", "post"] | None = None
    return_address: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class FromWalletIn(msgspec.Struct):
    slot: str
    document_id: int


class WithdrawIn(msgspec.Struct):
    reason: str
    version: int | None = None


class SubmitOut(msgspec.Struct):
    id: int
    code: str
    status: str
    due_date: datetime | None
    fee_vnd: int | None
    lookup_check: str  # the receipt's check value: the public lookup with it shows procedure, unit and dates


class CloneOut(msgspec.Struct):
    dossier: DossierOut
    dropped_fields: list[str]


class HistoryOut(msgspec.Struct):
    at: datetime
    event: str
    from_status: str
    to_status: str
    reason: str


def intake_officer(me: Principal) -> bool:
    """A receiving officer may put documents into an intake draft they hold, from a passkey session only
    (these routes are outside the back office's guard)."""
    return is_staff(me) and signed_in_with_passkey(me)


def document_out(doc: Any) -> DocumentOut:
    return DocumentOut(id=doc.id, content_type=doc.content_type, size=doc.size, sha256=doc.sha256,
                       name=doc.display_name, width=doc.width, height=doc.height, pages=doc.pages, kind=doc.kind,
                       created_at=doc.created_at)


def lookup_check(request: Request[Any, Any, Any], code: str | None) -> str | None:
    """The receipt's check value of a filed dossier (see domain.dossiers.filing.check_value)."""
    return service.check_value(settings_of(request).web.secret_key, code) if code else None


def holder_out(request: Request[Any, Any, Any], session: Session, d: Dossier) -> DossierOut:
    """The dossier as its holder sees it: with the receipt's check value once it has a code."""
    return msgspec.structs.replace(dossier_out(session, d), lookup_check=lookup_check(request, d.code))


def form_url(d: Dossier, number: str, *, officer: bool, form_id: int | None = None) -> str | None:
    """Where an issued form can be read: its PDF (``api/v1/forms.py``) once it has its numbered row; for a
    form issued before the rows were kept, the holder's receipt page or the counter's PDF (01) and the officer's
    dossier page (06)."""
    if form_id is not None:
        return f"/api/v1/{'officer/' if officer else ''}dossiers/{d.id}/forms/{form_id}/form.pdf"
    if number == "01":
        if not officer:
            return f"/ho-so/{d.id}/bien-nhan"
        return f"/api/v1/officer/intake/{d.id}/receipt.pdf" if d.channel in ("counter", "post") else None
    if number == "06" and officer:
        return f"/can-bo/ho-so/{d.id}"
    return None


def forms_out(session: Session, d: Dossier, *, officer: bool) -> list[IssuedFormOut]:
    rows: dict[str, list[int]] = {}
    for row in issued_rows(session, d.id):  # the numbered rows, in the order the history issued them
        rows.setdefault(row.form, []).append(row.id)
    return [IssuedFormOut(number=f.number, name=f.name, issued_at=f.issued_at,
                          url=form_url(d, f.number, officer=officer,
                                       form_id=rows[f.number].pop(0) if rows.get(f.number) else None))
            for f in issued_forms(session, d.id)]


def dossier_out(session: Session, d: Dossier, *, officer: bool = False) -> DossierOut:
    """The dossier as the API gives it; ``officer``: links of its forms for the back office."""
    form = session.get(FormRevision, d.form_revision_id)
    return DossierOut(
        id=d.id, code=d.code, procedure_code=d.procedure_code, status=d.status,
        status_name=STATE_NAMES_VI[State(d.status)], version=d.version, form_revision=form.revision if form else 0,
        organisation_id=d.organisation_id, unit_code=d.unit_code, data=json.loads(d.data),
        documents=[AttachedOut(id=dd.id, slot=dd.slot, document=document_out(wd))
                   for dd, wd in service.dossier_documents(session, d.id)],
        fee_vnd=d.fee_vnd, created_at=d.created_at, updated_at=d.updated_at, submitted_at=d.submitted_at,
        due_date=d.due_at, return_method=d.return_method, return_address=d.return_address,
        postal_fee_vnd=d.postal_fee_vnd, postal=postal_out(session, d), channel=d.channel,
        receiving_unit=d.receiving_unit_code, national_status=national_status(d.status),
        forms=forms_out(session, d, officer=officer),
    )


def postal_out(session: Session, d: Dossier) -> PostalOut | None:
    item = sent_by_post(session, d.id)
    return None if item is None else PostalOut(waybill=item.waybill, sent_at=item.at, delivered_at=item.delivered_at,
                                               delivery_source=item.delivery_source)


class FormController(Controller):
    path = "/api/v1/procedures"
    tags = ["filing"]

    @get("/{code:str}/form")
    async def form(self, request: Request[Any, Any, Any], db: Database, code: str) -> FormOut:
        """The current form revision of a procedure: fields and document slots, for any client to fill."""
        form = await db.read(service.current_form, code)
        if form is None or form.source == "default":
            form = await db.write(service.ensure_form, code)
        schema = json.loads(form.schema)
        return FormOut(procedure_code=code, revision=form.revision, steps=schema.get("steps", []),
                       fields=schema["fields"], documents=schema.get("documents", []))


class DossierController(Controller):
    path = "/api/v1/dossiers"
    tags = ["filing"]
    dependencies = {"me": API_USER}

    @get("")
    async def mine(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> list[DossierSummary]:
        """My dossiers and my organisations', drafts included, newest first."""
        rows = await db.read(service.my_dossiers, me.user_id)
        return [DossierSummary(id=d.id, code=d.code, procedure_code=d.procedure_code, procedure_name=name,
                               status=d.status, status_name=STATE_NAMES_VI[State(d.status)],
                               updated_at=d.updated_at, due_date=d.due_at) for d, name in rows]

    @post("", status_code=HTTP_201_CREATED)
    async def create(self, request: Request[Any, Any, Any], db: Database, me: Principal, data: CreateIn) -> DossierOut:
        """Start a draft of a procedure this province offers online."""
        def run(session: Session) -> DossierOut:
            d = service.create_draft(session, me.user_id, data.procedure_code, organisation_id=data.organisation_id,
                                     data=data.data)
            return holder_out(request, session, d)

        return await db.write(run)

    @get("/{dossier_id:int}")
    async def read(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int) -> DossierOut:
        return await db.read(
            lambda s: holder_out(request, s, service.get_dossier(s, me.user_id, dossier_id)))

    @patch("/{dossier_id:int}")
    async def update(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int,
                     data: PatchIn) -> DossierOut:
        """Save form data (partial: the given fields replace the stored ones) and/or the return method (a draft's:
        counter, online, or post with an address; the postal fee is quoted for the address)."""
        if data.data is None and data.return_method is None:
            raise InvalidInput("Không có gì để lưu (data, return_method).", field="data")
        fee: int | None = None
        if data.return_method is not None:
            method, address = check_return(data.return_method, data.return_address)
            fee = await postal_fee(settings_of(request).postal, address) if address else None

        def run(session: Session) -> DossierOut:
            version = data.version
            if data.data is not None:
                d = service.update_draft(session, me.user_id, dossier_id, data.data, expected_version=version)
                version = None
            if data.return_method is not None:
                d = choose_return(session, me.user_id, dossier_id, method, address, postal_fee_vnd=fee,
                                  expected_version=version)
            return holder_out(request, session, d)

        return await db.write(run)

    @delete("/{dossier_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def remove(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int) -> None:
        """Delete a draft (a filed dossier can only be withdrawn)."""
        await db.write(service.delete_draft, me.user_id, dossier_id)

    @post("/{dossier_id:int}/documents", status_code=HTTP_201_CREATED, request_max_body_size=21 * 1024 * 1024)
    async def upload(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int
    ) -> DocumentOut:
        """Upload one page into a slot: multipart `slot` and `file` (JPEG, PNG, WebP, HEIC or PDF, ≤ 20 MB). A
        receiving officer (passkey session) does the same for an intake draft they hold."""
        slot, stored = await receive_upload(request, user_id=me.user_id)
        doc = await db.write(service.attach, me.user_id, dossier_id, slot, stored=stored,
                             intake_officer=intake_officer(me))
        return document_out(doc)

    @post("/{dossier_id:int}/documents/from-wallet", status_code=HTTP_201_CREATED)
    async def from_wallet(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int,
                          data: FromWalletIn) -> DocumentOut:
        """Attach a document already in my (or my organisation's) wallet, without uploading again."""
        doc = await db.write(service.attach, me.user_id, dossier_id, data.slot, document_id=data.document_id,
                             intake_officer=intake_officer(me))
        return document_out(doc)

    @delete("/{dossier_id:int}/documents/{attachment_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def detach(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int, attachment_id: int
    ) -> None:
        await db.write(service.detach, me.user_id, dossier_id, attachment_id, intake_officer=intake_officer(me))

    @post("/{dossier_id:int}/submit", status_code=HTTP_200_OK)
    async def submit(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int) -> SubmitOut:
        """File the dossier: checks fields, documents and identity level; gives the code and due date.
        Idempotent: repeating it (double tap, retry, same `Idempotency-Key`) answers the same."""
        key = request.headers.get("idempotency-key", "")

        def run(session: Session) -> SubmitOut:
            d = service.submit(session, me.user_id, dossier_id, key=key, amr=",".join(me.amr))
            assert d.code is not None
            return SubmitOut(id=d.id, code=d.code, status=d.status, due_date=d.due_at, fee_vnd=d.fee_vnd,
                             lookup_check=service.check_value(settings_of(request).web.secret_key, d.code))

        return await db.write(run)

    @post("/{dossier_id:int}/withdraw", status_code=HTTP_200_OK)
    async def withdraw(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int,
                       data: WithdrawIn) -> DossierOut:
        def run(session: Session) -> DossierOut:
            return holder_out(request, session, service.withdraw(session, me.user_id, dossier_id, data.reason,
                                                                 expected_version=data.version,
                                                                 amr=",".join(me.amr)))

        return await db.write(run)

    @post("/{dossier_id:int}/clone", status_code=HTTP_201_CREATED)
    async def clone(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int) -> CloneOut:
        """File again: a new draft on the current form revision with this dossier's data and documents."""
        def run(session: Session) -> CloneOut:
            draft, dropped = service.clone(session, me.user_id, dossier_id)
            return CloneOut(dossier=dossier_out(session, draft), dropped_fields=dropped)

        return await db.write(run)

    @get("/{dossier_id:int}/history")
    async def history(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int
    ) -> list[HistoryOut]:
        def run(session: Session) -> list[HistoryOut]:
            d = service.get_dossier(session, me.user_id, dossier_id)
            return [HistoryOut(at=h.at, event=h.event, from_status=h.from_status, to_status=h.to_status,
                               reason=h.reason) for h in service.history(session, d.id)]

        return await db.read(run)


class DocumentController(Controller):
    path = "/api/v1/documents"
    tags = ["filing"]
    dependencies = {"me": API_USER}

    @get("")
    async def wallet(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> list[DocumentOut]:
        """My document wallet (and my organisations'): uploads and issued results."""
        def run(session: Session) -> list[DocumentOut]:
            rows = session.scalars(service.visible_documents(session, me.user_id)
                                   .order_by(WalletDocument.created_at.desc()).limit(500))
            return [document_out(d) for d in rows]

        return await db.read(run)

    @get("/{document_id:int}/content")
    async def content(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, document_id: int
    ) -> Response[Any]:
        """The file itself (streamed)."""
        doc = await db.read(service.get_document, me.user_id, document_id)
        return stream_document(request, doc)


class LookupController(Controller):
    path = "/api/v1/lookup"
    tags = ["filing"]

    @get("/{code:str}", cache_control=CacheControlHeader(no_store=True))
    async def lookup(
        self, request: Request[Any, Any, Any], code: str,
        check: Annotated[str | None, Parameter(
            max_length=40, description="The check value printed on the dossier's receipt (and carried by its QR link).",
        )] = None,
    ) -> service.LookupOut:
        """Public status of a dossier by its code: the status and the appointment date only. With the receipt's
        check value (``check``) also the procedure, the receiving unit and the dates (``checked`` is true);
        never personal data. An unknown code and a wrong check value answer the same 404. Rate limited per
        client address, and per code for wrong check values (429 with ``Retry-After``)."""
        return await public_lookup(request, code, check)


ROUTES = [FormController, DossierController, DocumentController, LookupController]
