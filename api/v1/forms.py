"""JSON API of the forms of Circular 03/2025 a dossier was issued: the list with their numbers and the PDF of
each (text, fonts embedded), for the applicant and for the officers of the units that hold the dossier."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import CacheControlHeader
from sqlalchemy.orm import Session

from api.web import forms as web_forms
from api.web.providers import API_USER
from auth.tokens import Principal
from domain.db import Database
from domain.dossiers import backoffice
from domain.dossiers.filing import get_dossier
from domain.forms import access
from domain.forms.issue import display_number
from domain.workflow import FORMS

NO_STORE = CacheControlHeader(no_store=True)  # a person's dossier: never kept by any cache


class FormOut(msgspec.Struct):
    id: int
    form: str  # "01" … "06" (Circular 03/2025/TT-VPCP, Annex I)
    name: str
    number: str  # "12/TN": the issuing unit's number of the year
    unit_code: str  # the issuing unit
    issued_at: datetime
    pdf_url: str


def _list(session: Session, dossier_id: int, base: str) -> list[FormOut]:
    return [FormOut(id=r.id, form=r.form, name=FORMS[r.form], number=display_number(r), unit_code=r.unit_code,
                    issued_at=r.issued_at, pdf_url=f"{base}/{dossier_id}/forms/{r.id}/form.pdf")
            for r in access.issued(session, dossier_id)]


def mine(session: Session, user_id: int, dossier_id: int) -> list[FormOut]:
    return _list(session, get_dossier(session, user_id, dossier_id).id, "/api/v1/dossiers")


def held(session: Session, user_id: int, dossier_id: int) -> list[FormOut]:
    d = backoffice.get_for_officer(session, backoffice.officer(session, user_id), dossier_id)
    return _list(session, d.id, "/api/v1/officer/dossiers")


class DossierFormController(Controller):
    path = "/api/v1/dossiers/{dossier_id:int}/forms"
    tags = ["filing"]
    dependencies = {"me": API_USER}

    @get("", cache_control=NO_STORE)
    async def forms(self, db: Database, me: Principal, dossier_id: int) -> list[FormOut]:
        """The forms issued for my dossier, oldest first (404 when it is not mine)."""
        return await db.read(mine, me.user_id, dossier_id)

    @get("/{form_id:int}/form.pdf", media_type="application/pdf")
    async def pdf(self, request: Request[Any, Any, Any], me: Principal, dossier_id: int,
                  form_id: int) -> Response[bytes]:
        """One issued form of my dossier as PDF (A4, Vietnamese fonts embedded); the first download also puts it
        in my wallet."""
        return await web_forms.pdf_response(request, lambda s: access.for_applicant(s, me.user_id, dossier_id, form_id))


class OfficerFormController(Controller):
    path = "/api/v1/officer/dossiers/{dossier_id:int}/forms"
    tags = ["back office"]
    dependencies = {"me": API_USER}

    @get("", cache_control=NO_STORE)
    async def forms(self, db: Database, me: Principal, dossier_id: int) -> list[FormOut]:
        """The forms issued for a dossier my units hold, oldest first."""
        return await db.read(held, me.user_id, dossier_id)

    @get("/{form_id:int}/form.pdf", media_type="application/pdf")
    async def pdf(self, request: Request[Any, Any, Any], me: Principal, dossier_id: int,
                  form_id: int) -> Response[bytes]:
        """One issued form of a dossier my units hold, as PDF (the control sheet as the history is now)."""
        return await web_forms.pdf_response(request, lambda s: access.for_officer(s, me.user_id, dossier_id, form_id))


ROUTES: list[Any] = [DossierFormController, OfficerFormController]
