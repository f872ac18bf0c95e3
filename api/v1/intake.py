"""JSON API of counter and postal intake (issue 14): a receiving officer, or a kiosk / another counter system
acting as one, enters a dossier, attaches its pages through the usual document endpoints and receives it.

Every route is under ``/api/v1/officer/``: the back office's guard lets only passkey sessions of staff in.
Who may do what is the core's query (``domain.intake``): an intake draft is held by the receivers of its
receiving unit; anybody else gets 404.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.datastructures import CacheControlHeader
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.orm import Session

from api.v1.dossiers import DocumentOut, DossierOut, document_out, dossier_out
from api.web.providers import API_USER
from api.web.state import settings_of, storage_of
from auth.tokens import Principal
from domain.db import Database
from domain.documents.processing import PDF_TYPE
from domain.dossiers.filing import check_value
from domain.dossiers.models import Dossier
from domain.intake import counter, persons
from domain.intake import receipt as intake_receipt
from domain.workflow import STATE_NAMES_VI, State

NO_STORE = CacheControlHeader(no_store=True)


class ReceiveOut(msgspec.Struct):
    id: int
    code: str
    status: str
    status_name: str
    due_date: datetime | None
    fee_vnd: int | None
    lookup_check: str  # printed on the receipt; the QR carries it
    receipt_url: str  # form 01 as PDF


class IntakePatchIn(msgspec.Struct, forbid_unknown_fields=True):
    data: dict[str, Any]
    version: int | None = None  # the draft's version as last read (409 when it has moved on)


class ValidityIn(msgspec.Struct, forbid_unknown_fields=True):
    valid_until: date | None  # the paper's validity date as printed on it; null: none stated


class DigitisationOut(msgspec.Struct):
    """What became of one component document (slot): digitised here, reused (with its origin), or not kept."""

    slot: str
    kind: str  # digitised | wallet | dossier | result | national | not_kept
    pages: int
    document_id: int | None
    origin_dossier_id: int | None
    origin_result_id: int | None
    origin_ref: str | None
    by_user: int | None
    unit_code: str | None
    at: datetime
    valid_until: date | None


def digitisation_out(r: Any) -> DigitisationOut:
    return DigitisationOut(slot=r.slot, kind=r.kind, pages=r.pages, document_id=r.document_id,
                           origin_dossier_id=r.origin_dossier_id, origin_result_id=r.origin_result_id,
                           origin_ref=r.origin_ref, by_user=r.by_user, unit_code=r.unit_code, at=r.at,
                           valid_until=r.valid_until)


class ReceivableOut(msgspec.Struct):
    code: str
    name: str
    deciding_unit: str
    deciding_unit_name: str
    cross_area: bool  # received here for another unit


def receipt_path(dossier_id: int) -> str:
    return f"/api/v1/officer/intake/{dossier_id}/receipt.pdf"


class IntakeController(Controller):
    path = "/api/v1/officer"
    tags = ["intake"]
    dependencies = {"me": API_USER}

    @get("/persons", cache_control=NO_STORE)
    async def persons(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                      cccd: Annotated[str | None, Parameter(max_length=12)] = None,
                      phone: Annotated[str | None, Parameter(max_length=20)] = None,
                      name: Annotated[str | None, Parameter(max_length=120)] = None,
                      tax_code: Annotated[str | None, Parameter(max_length=14)] = None,
                      limit: Annotated[int, Parameter(ge=1, le=50)] = 20) -> list[persons.PersonHit]:
        """Find an applicant by CCCD, phone or name (accounts and person records) or an organisation by tax code:
        receivers only; every look-up is audited."""
        return await db.write(persons.find_persons, me.user_id, cccd=cccd, phone=phone, name=name,
                              tax_code=tax_code, limit=limit)

    @get("/intake/procedures")
    async def procedures(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                         q: Annotated[str, Parameter(max_length=100)] = "",
                         limit: Annotated[int, Parameter(ge=1, le=100)] = 30) -> list[ReceivableOut]:
        """The procedures my units may receive: their own first, then those received for another unit."""
        rows = await db.read(counter.receivable_procedures, me.user_id, q=q, limit=limit)
        return [ReceivableOut(code=r.code, name=r.name, deciding_unit=r.deciding_unit,
                              deciding_unit_name=r.deciding_unit_name, cross_area=r.cross_area) for r in rows]

    @post("/intake", status_code=HTTP_201_CREATED)
    async def start(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                    data: counter.IntakeCommand) -> DossierOut:
        """Start an intake draft (channel counter or postal) for an applicant (`applicant`, `person_id` or
        `organisation_tax_code`); documents then go through `POST /api/v1/dossiers/{id}/documents`."""
        return await db.write(lambda s: dossier_out(s, counter.start_intake(s, me.user_id, data), officer=True))

    @get("/intake/{dossier_id:int}", cache_control=NO_STORE)
    async def read(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int) -> DossierOut:
        """An intake draft I hold."""
        return await db.read(lambda s: dossier_out(s, counter.intake_draft(s, me.user_id, dossier_id), officer=True))

    @patch("/intake/{dossier_id:int}")
    async def update(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int,
                     data: IntakePatchIn) -> DossierOut:
        """Save form data of an intake draft (partial; the same validation as a citizen's draft)."""
        def run(session: Session) -> DossierOut:
            d = counter.update_intake(session, me.user_id, dossier_id, data.data, expected_version=data.version)
            return dossier_out(session, d, officer=True)

        return await db.write(run)

    @post("/intake/{dossier_id:int}/documents/{slot:str}/not-kept", status_code=HTTP_200_OK)
    async def not_kept(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int,
                       slot: str) -> DossierOut:
        """“Original seen, no copy kept” for a slot whose form allows it (`copy_optional`)."""
        def run(session: Session) -> DossierOut:
            counter.mark_not_kept(session, me.user_id, dossier_id, slot)
            return dossier_out(session, counter.intake_draft(session, me.user_id, dossier_id), officer=True)

        return await db.write(run)

    @put("/intake/{dossier_id:int}/documents/{slot:str}/validity")
    async def validity(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int,
                       slot: str, data: ValidityIn) -> list[DigitisationOut]:
        """The validity date of the paper in a slot (read on the paper; an expired one is refused); answers the
        draft's digitisation records."""
        def run(session: Session) -> list[DigitisationOut]:
            counter.set_validity(session, me.user_id, dossier_id, slot, data.valid_until)
            return [digitisation_out(r) for r in counter.digitisation_records(session, me.user_id, dossier_id)]

        return await db.write(run)

    @get("/intake/{dossier_id:int}/wallet", cache_control=NO_STORE)
    async def wallet(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                     dossier_id: int) -> list[DocumentOut]:
        """The applicant's wallet (an account's; a person record has none): documents to reuse with
        `POST /api/v1/dossiers/{id}/documents/from-wallet` instead of scanning them again."""
        return await db.read(lambda s: [document_out(doc) for doc in counter.applicant_wallet(
            s, me.user_id, dossier_id)])

    @get("/intake/{dossier_id:int}/digitisation", cache_control=NO_STORE)
    async def digitisation(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                           dossier_id: int) -> list[DigitisationOut]:
        """The digitisation records of an intake draft I hold or of a dossier my unit received: one per slot."""
        return await db.read(lambda s: [digitisation_out(r) for r in counter.digitisation_records(
            s, me.user_id, dossier_id)])

    @post("/intake/{dossier_id:int}/receive", status_code=HTTP_200_OK)
    async def receive(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                      dossier_id: int) -> ReceiveOut:
        """Receive the intake draft at once: the pages of each slot merged into one PDF, its code, appointment date
        and fee; the receipt (form 01) as PDF."""
        def answer(session: Session, d: Dossier) -> ReceiveOut:
            assert d.code is not None
            return ReceiveOut(id=d.id, code=d.code, status=d.status, status_name=STATE_NAMES_VI[State(d.status)],
                              due_date=d.due_at, fee_vnd=d.fee_vnd,
                              lookup_check=check_value(settings_of(request).web.secret_key, d.code),
                              receipt_url=receipt_path(d.id))

        return await counter.receive_with_merge(db, storage_of(request), me.user_id, dossier_id,
                                                amr=",".join(me.amr), then=answer)

    @get("/intake/{dossier_id:int}/receipt.pdf", cache_control=NO_STORE)
    async def receipt(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                      dossier_id: int) -> Response[bytes]:
        """The receipt (form 01, giấy tiếp nhận hồ sơ và hẹn trả kết quả) of a dossier my unit received, with the
        QR code of the public lookup."""
        receipt = await db.read(intake_receipt.receipt_of, me.user_id, dossier_id)
        settings = settings_of(request)
        check = check_value(settings.web.secret_key, receipt.code)
        url = f"{settings.public_url}/tra-cuu?{urlencode({'ma': receipt.code, 'kiem-tra': check})}"
        pdf = await asyncio.to_thread(intake_receipt.receipt_pdf, receipt, url)
        return Response(pdf, media_type=PDF_TYPE,
                        headers={"Content-Disposition": f'inline; filename="bien-nhan-{receipt.code}.pdf"'})


ROUTES = [IntakeController]
