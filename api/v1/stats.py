"""JSON API of the statistics: the public summary, satisfaction ratings, officers' reports and comments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.orm import Session

from api.web.providers import API_USER
from auth.tokens import Principal
from domain.db import Database
from domain.dossiers.filing import get_dossier
from domain.errors import InvalidInput
from domain.stats import ratings, reports
from domain.stats.rollups import CRITERIA
from domain.stats.summary import DEFINITIONS, Summary, SummaryQuery, summary, today_local

CACHE = "public, max-age=60"


class StatsController(Controller):
    path = "/api/v1/stats"
    tags = ["statistics"]

    @get("/summary", summary="Public figures of a period", description=DEFINITIONS)
    async def summary(
        self,
        request: Request[Any, Any, Any],
        db: Database,
        from_: Annotated[date | None, Parameter(query="from", description="first day (yyyy-mm-dd); default: "
                                                "1 January of `to`'s year")] = None,
        to: Annotated[date | None, Parameter(description="last day, included (yyyy-mm-dd); default: today")] = None,
        unit: Annotated[str | None, Parameter(description="receiving unit code, e.g. 000.00.12.H56",
                                              max_length=32)] = None,
        field: Annotated[str | None, Parameter(description="field slug (see /api/v1/fields)", max_length=255)] = None,
    ) -> Response[Summary]:
        end = to or today_local()
        start = from_ or date(end.year, 1, 1)
        result = await db.read(summary, SummaryQuery(start, end, unit or None, field or None))
        return Response(result, headers={"Cache-Control": CACHE})


class Criterion(msgspec.Struct):
    name: str
    label: str


class RatingIn(msgspec.Struct):
    scores: dict[str, int]
    comment: str = ""


class RatingOut(msgspec.Struct):
    dossier_id: int
    scores: dict[str, int]
    comment: str
    created_at: datetime


class RatingState(msgspec.Struct):
    dossier_id: int
    can_rate: bool
    rating: RatingOut | None
    criteria: list[Criterion]
    scale: dict[int, str]


def _rating_out(r: Any) -> RatingOut:
    return RatingOut(dossier_id=r.dossier_id, scores={c: int(getattr(r, c)) for c in CRITERIA}, comment=r.comment,
                     created_at=r.created_at)


class RatingController(Controller):
    path = "/api/v1/dossiers/{dossier_id:int}/rating"
    tags = ["ratings"]
    dependencies = {"me": API_USER}

    @get("")
    async def read(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int) -> RatingState:
        """Whether this dossier can be rated now (its result was returned, not rated yet) and the rating."""
        def run(session: Session) -> RatingState:
            d = get_dossier(session, me.user_id, dossier_id)
            r = ratings.rating_of(session, d.id)
            return RatingState(dossier_id=d.id, can_rate=ratings.can_rate(d) and r is None,
                               rating=_rating_out(r) if r else None,
                               criteria=[Criterion(c, ratings.CRITERIA_VI[c]) for c in CRITERIA],
                               scale=ratings.SCALE_VI)

        return await db.read(run)

    @post("", status_code=HTTP_201_CREATED)
    async def rate(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int,
                   data: RatingIn) -> RatingOut:
        """Rate a returned dossier once: every criterion 1–5 (`timeliness`, `attitude`, `clarity`, `ease`),
        an optional comment (≤ 2000 characters). 409 before the result is returned or a second time."""
        r = await db.write(ratings.rate, me.user_id, dossier_id, data.scores, data.comment)
        return _rating_out(r)


class ReportController(Controller):
    path = "/api/v1/officer"
    tags = ["back office"]
    dependencies = {"me": API_USER}

    @get("/reports/{kind:str}")
    async def report(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, kind: str, unit: str,
        from_: Annotated[date, Parameter(query="from")], to: date,
        format: Annotated[str, Parameter(description="csv | xlsx")] = "csv",
    ) -> Response[bytes]:
        """A unit's report for a period as CSV (UTF-8 with BOM) or XLSX: `dossiers`, `logbook` (form 07),
        `payments`, `late` (late results and apology letters). Officers of the unit; admins any unit."""
        if format not in reports.FORMATS:
            raise InvalidInput("Định dạng (format) phải là csv hoặc xlsx.", field="format")
        rep = await db.read(reports.report, me.user_id, kind, unit, from_, to)
        body, media_type, name = reports.render(rep, format)
        return Response(body, media_type=media_type, headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})

    @get("/ratings")
    async def comments(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, unit: str,
        from_: Annotated[date, Parameter(query="from")], to: date,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 200,
    ) -> list[ratings.CommentOut]:
        """Ratings of a unit's dossiers in a period with the citizens' comments, newest first."""
        rows: list[ratings.CommentOut] = await db.read(ratings.unit_comments, me.user_id, unit,
                                                                         from_, to, limit=limit)
        return rows


ROUTES = [StatsController, RatingController, ReportController]
