"""JSON API of the catalogue: search, detail, fields."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from domain.catalog import procedures as service
from domain.catalog.procedures import SearchQuery
from domain.catalog.times import TIME_UNITS, processing_time_of
from domain.db import Database


class Duration(msgspec.Struct):
    value: float | None
    unit: str  # working_days | days | hours | months | unspecified (a number without a unit, or none)
    unit_known: bool = True  # false: `value` has no unit (shown "1 (không rõ đơn vị)"), no due date uses it


class ProcessingTime(msgspec.Struct):
    """The time due dates use: the national record's, or where it lacks one, the province's offer's."""

    value: float
    unit: str  # working_days | days | hours | months
    set_by: str  # national | province
    basis: str | None  # the legal basis the province cites (null for the national record's)


class Channel(msgspec.Struct):
    channel: str
    duration: Duration
    duration_text: str
    fee_vnd: int | None
    fee_kind: str
    fee_text: str
    description: str


class Document(msgspec.Struct):
    name: str
    template: str | None
    quantity: int | None
    copy_kind: str
    quantity_text: str
    group: str | None


class LegalBasis(msgspec.Struct):
    title: str
    number: str | None


class Result(msgspec.Struct):
    name: str
    code: str | None


class Offer(msgspec.Struct):
    mode: str
    unit_code: str
    unit_name: str
    local_fee_vnd: int | None
    local_fee_note: str | None


class ProcedureSummary(msgspec.Struct):
    code: str
    name: str
    field: str
    levels: list[str]
    offered: bool
    mode: str | None


class ProcedurePage(msgspec.Struct):
    items: list[ProcedureSummary]
    total: int
    page: int
    page_size: int


class ProcedureDetail(msgspec.Struct):
    code: str
    name: str
    field: str
    levels: list[str]
    kind: str
    decision: str
    who_may_file: list[str]
    audiences: list[str]
    agencies: dict[str, str | None]
    steps: str | None
    channels: list[Channel]
    documents: list[Document]
    legal_basis: list[LegalBasis]
    results: list[Result]
    conditions: str | None
    source_url: str | None
    needs_review: bool
    review_reasons: list[str]
    revision: int
    offer: Offer | None
    source: str = "Cổng Dịch vụ công Quốc gia (dichvucong.gov.vn)"
    processing_time: ProcessingTime | None = None


class FieldItem(msgspec.Struct):
    slug: str
    name: str
    procedure_count: int
    offered_count: int


def to_detail(view: service.ProcedureView) -> ProcedureDetail:
    data = {k: v for k, v in view.data.items() if k in ProcedureDetail.__struct_fields__}
    offer = None
    if view.offering is not None and view.unit is not None:
        offer = Offer(mode=view.offering.mode, unit_code=view.unit.code, unit_name=view.unit.name,
                      local_fee_vnd=view.offering.local_fee_vnd, local_fee_note=view.offering.local_fee_note)
    channels = [{**c, "duration": {**(c.get("duration") or {}),
                                   "unit_known": (c.get("duration") or {}).get("unit") in TIME_UNITS}}
                for c in data.get("channels") or []]
    time = processing_time_of(view.data, view.offering)
    processing_time = None if time is None else ProcessingTime(value=time.value, unit=time.unit,
                                                                set_by=time.set_by, basis=time.basis)
    return msgspec.convert({**data, "channels": channels, "revision": view.revision, "offer": offer,
                            "processing_time": processing_time}, ProcedureDetail, from_attributes=True)


class CatalogController(Controller):
    path = "/api/v1"
    tags = ["catalogue"]

    @get("/procedures")
    async def list_procedures(
        self,
        request: Request[Any, Any, Any],
        db: Database,
        q: Annotated[str, Parameter(description="words to find, diacritics and case ignored")] = "",
        field: Annotated[str | None, Parameter(description="field slug, see /api/v1/fields")] = None,
        level: Annotated[str | None, Parameter(description="ministry | province | commune | other")] = None,
        audience: Annotated[str | None, Parameter(description="citizen | business | organisation")] = None,
        offered: Annotated[bool, Parameter(description="only what this province offers")] = False,
        online: Annotated[bool, Parameter(description="only fully online (toàn trình) ones")] = False,
        page: Annotated[int, Parameter(ge=1, le=service.MAX_PAGE)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=service.MAX_PAGE_SIZE)] = 20,
    ) -> ProcedurePage:
        """Search and browse the national catalogue (ranked when `q` is given)."""
        query = SearchQuery(q=q, field=field, level=level, audience=audience, offered=offered,
                            online_only=online, page=page, page_size=page_size)
        if field:
            await db.read(service.field_name, field)  # unknown field → 404 problem
        result = await db.read_rows(service.search, query)
        return ProcedurePage(
            items=[ProcedureSummary(code=h.code, name=h.name, field=h.field, levels=h.levels,
                                    offered=h.mode is not None, mode=h.mode) for h in result.items],
            total=result.total, page=result.page, page_size=result.page_size,
        )

    @get("/procedures/{code:str}")
    async def get_procedure(self, request: Request[Any, Any, Any], db: Database, code: str) -> ProcedureDetail:
        """One procedure, normalised, with this province's offer."""
        view = await db.read(service.get_procedure, code)
        return to_detail(view)

    @get("/fields")
    async def list_fields(self, request: Request[Any, Any, Any], db: Database) -> list[FieldItem]:
        """Fields (lĩnh vực) with how many procedures each has and how many this province offers."""
        rows = await db.read(service.list_fields)
        return [FieldItem(slug=f.slug, name=f.name, procedure_count=f.procedure_count,
                          offered_count=f.offered_count) for f in rows]


ROUTES = [CatalogController]
