"""JSON API of claiming a dossier received at a counter into the signed-in account (issue 14).

``POST /api/v1/dossiers/claim {code, cccd}`` sends a one-time code to the phone (or e-mail) recorded on the
dossier; ``POST /api/v1/dossiers/claim/verify {code, otp}`` moves the dossier into the account. What may be
claimed: ``domain.intake.claim``; the code and the limits: ``api.web.claim``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.datastructures import CacheControlHeader
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from api.v1.dossiers import DossierOut, holder_out
from api.web import claim as web_claim
from api.web.providers import API_USER
from auth.tokens import Principal
from domain.db import Database
from domain.dossiers import filing

NO_STORE = CacheControlHeader(no_store=True)


class ClaimIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(max_length=60)]  # the dossier code printed on the receipt
    cccd: Annotated[str, msgspec.Meta(max_length=20)]  # the applicant's CCCD, as on the dossier


class ClaimVerifyIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(max_length=60)]  # the same dossier code
    otp: Annotated[str, msgspec.Meta(max_length=12)]  # the 6-digit code sent to the dossier's phone or e-mail


class ClaimSentOut(msgspec.Struct):
    dossier_code: str
    channel: str  # phone | email
    destination: str  # masked: 09******78, a***@example.com
    expires_at: datetime


class ClaimController(Controller):
    path = "/api/v1/dossiers/claim"
    tags = ["filing"]
    dependencies = {"me": API_USER}

    @post("", status_code=HTTP_202_ACCEPTED, cache_control=NO_STORE)
    async def claim(self, request: Request[Any, Any, Any], me: Principal, data: ClaimIn) -> ClaimSentOut:
        """Claim a dossier filed at a counter for you (no account then): its code and your CCCD. A 6-digit code
        goes to the phone (or e-mail) recorded on the dossier, valid 10 minutes. A wrong code or CCCD, or a
        dossier that cannot be claimed, answer the same 404. Rate limited per address, per account and per
        dossier code (429 with ``Retry-After``)."""
        sent = await web_claim.request_claim(request, me.user_id, data.code, data.cccd)
        return ClaimSentOut(dossier_code=sent.dossier_code, channel=sent.channel, destination=sent.destination,
                            expires_at=sent.expires_at)

    @post("/verify", status_code=HTTP_200_OK, cache_control=NO_STORE)
    async def verify(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                     data: ClaimVerifyIn) -> DossierOut:
        """The code sent by ``POST /api/v1/dossiers/claim`` (5 tries, once): the dossier moves into your account
        and is answered as ``GET /api/v1/dossiers/{id}`` does."""
        dossier_id = await web_claim.verify_claim(request, me.user_id, data.code, data.otp)
        return await db.read(lambda s: holder_out(request, s, filing.get_dossier(s, me.user_id, dossier_id)))


ROUTES = [ClaimController]
