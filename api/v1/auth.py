"""JSON API of identity: register, sign in, tokens, me, sessions, one-time codes, organisations."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import ResponseHeader
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from api.web.providers import API_USER
from api.web.session import CLEAR_SITE_DATA, client_ip
from api.web.state import auth_of, settings_of
from auth import accounts as service
from auth.accounts import Client
from auth.tokens import Principal, TokenPair, rotate
from domain.db import Database
from domain.errors import DomainError, Unauthorized
from notifications.codes import deliver_code

log = logging.getLogger("motcua.auth")


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    full_name: str
    username: str
    password: str
    cccd: str | None = None


class LoginIn(msgspec.Struct):
    username: str
    password: str


class RefreshIn(msgspec.Struct):
    refresh_token: str


class TokensOut(msgspec.Struct):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class OrganisationOut(msgspec.Struct):
    id: int
    name: str
    tax_code: str
    role: str


class MeOut(msgspec.Struct):
    id: int
    username: str
    full_name: str
    kind: str
    phone: str | None
    email: str | None
    phone_verified: bool
    email_verified: bool
    cccd: str | None
    identity_level: int
    roles: list[str]
    amr: list[str]
    organisations: list[OrganisationOut]
    passkey_required: bool


class UserOut(msgspec.Struct):
    id: int
    username: str
    full_name: str
    kind: str


class SessionOut(msgspec.Struct):
    id: str
    created_at: datetime
    last_used_at: datetime
    amr: str
    user_agent: str
    ip: str
    current: bool


class CodeRequestIn(msgspec.Struct):
    channel: str  # phone | email


class CodeVerifyIn(msgspec.Struct):
    channel: str
    code: str


class OrganisationIn(msgspec.Struct):
    name: str
    tax_code: str


class InvitationIn(msgspec.Struct):
    username: str
    role: str = "staff"


class InvitationAcceptIn(msgspec.Struct, forbid_unknown_fields=True):
    code: str  # the one-time code sent to the invited phone or e-mail (POST .../invitations/{id}/code)


def tokens(pair: TokenPair) -> TokensOut:
    return TokensOut(access_token=pair.access_token, refresh_token=pair.refresh_token, token_type="Bearer",
                     expires_in=pair.expires_in)


def _client(request: Request[Any, Any, Any]) -> Client:
    return Client(ip=client_ip(request), user_agent=request.headers.get("user-agent", "")[:255])


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["identity"]

    @post("/register", status_code=HTTP_201_CREATED)
    async def register(self, request: Request[Any, Any, Any], db: Database, data: RegisterIn) -> UserOut:
        """Create a citizen account (identity level 1). The username is a mobile number or an e-mail."""
        user = await db.write(service.register, data.full_name, data.username, data.password,
                                                cfg=auth_of(request), client=_client(request), cccd=data.cccd)
        return UserOut(id=user.id, username=user.username, full_name=user.full_name, kind=user.kind)

    @post("/login", status_code=HTTP_200_OK)
    async def login(self, request: Request[Any, Any, Any], db: Database, data: LoginIn) -> TokensOut:
        """Sign in with a password → an access token (JWT, 10 min) and a refresh token."""
        result = await db.write(service.login, data.username, data.password,
                                                  cfg=auth_of(request), client=_client(request))
        if isinstance(result, Unauthorized):
            raise result
        return tokens(result)

    @post("/refresh", status_code=HTTP_200_OK)
    async def refresh(self, request: Request[Any, Any, Any], db: Database, data: RefreshIn) -> TokensOut:
        """Trade a refresh token for a new pair (rotation; replaying a used token ends the session)."""
        result = await db.write(rotate, data.refresh_token, cfg=auth_of(request), ip=client_ip(request),
                                lifetimes=settings_of(request).sessions)
        if isinstance(result, Unauthorized):
            raise result
        return tokens(result)

    @post("/logout", status_code=HTTP_204_NO_CONTENT, dependencies={"me": API_USER},
          response_headers=[ResponseHeader(name="Clear-Site-Data", value=CLEAR_SITE_DATA,
                                           description="a browser drops this site's caches and storage")])
    async def logout(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> None:
        """End this session: its access and refresh tokens stop working at once."""
        await db.write(service.logout, me.session_id, user_id=me.user_id, ip=client_ip(request))

    @post("/codes", status_code=HTTP_202_ACCEPTED, dependencies={"me": API_USER})
    async def request_code(
        self, request: Request[Any, Any, Any], db: Database, data: CodeRequestIn, me: Principal
    ) -> dict[str, str]:
        """Send a one-time code (10 minutes, single use) to prove the phone number or e-mail is yours."""
        row, code = await db.write(service.request_code, me.user_id, data.channel,
                                                     cfg=auth_of(request), client=_client(request))
        await deliver_code(request.app, row, code)
        return {"status": "sent", "channel": data.channel}

    @post("/codes/verify", status_code=HTTP_200_OK, dependencies={"me": API_USER})
    async def verify_code(
        self, request: Request[Any, Any, Any], db: Database, data: CodeVerifyIn, me: Principal
    ) -> dict[str, str]:
        """Check a one-time code; the phone number or e-mail becomes verified."""
        error = await db.write(service.verify_code, me.user_id, data.channel, data.code,
                                                 cfg=auth_of(request), ip=client_ip(request))
        if error is not None:
            raise error
        return {"status": "verified", "channel": data.channel}


async def me_out(request: Request[Any, Any, Any], me: Principal) -> MeOut:
    def load(session: Any) -> MeOut:
        user = service.get_user(session, me.user_id)
        orgs = service.my_organisations(session, user.id)
        return MeOut(
            id=user.id, username=user.username, full_name=user.full_name, kind=user.kind, phone=user.phone,
            email=user.email, phone_verified=user.phone_verified_at is not None,
            email_verified=user.email_verified_at is not None, cccd=user.cccd, identity_level=user.identity_level,
            roles=list(me.roles), amr=list(me.amr),
            organisations=[OrganisationOut(id=o.id, name=o.name, tax_code=o.tax_code, role=r) for o, r in orgs],
            passkey_required=service.needs_passkey_enrolment(session, user),
        )

    db: Database = request.app.state.db
    return await db.read(load)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["identity"]
    dependencies = {"me": API_USER}

    @get("")
    async def me(self, request: Request[Any, Any, Any], me: Principal) -> MeOut:
        """Who I am: profile, roles, organisations, how I signed in."""
        return await me_out(request, me)

    @get("/sessions")
    async def sessions(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> list[SessionOut]:
        """My active sessions (devices)."""
        rows = await db.read(service.list_sessions, me.user_id)
        return [SessionOut(id=s.id, created_at=s.created_at, last_used_at=s.last_used_at, amr=s.amr,
                           user_agent=s.user_agent, ip=s.ip, current=s.id == me.session_id) for s in rows]

    @delete("/sessions/{session_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def end_session(self, request: Request[Any, Any, Any], db: Database, me: Principal, session_id: str) -> None:
        """End one of my sessions (sign that device out)."""
        await db.write(service.end_session, me.user_id, session_id, ip=client_ip(request))

    @get("/organisations")
    async def organisations(
        self, request: Request[Any, Any, Any], db: Database, me: Principal
    ) -> list[OrganisationOut]:
        rows = await db.read(service.my_organisations, me.user_id)
        return [OrganisationOut(id=o.id, name=o.name, tax_code=o.tax_code, role=r) for o, r in rows]

    @post("/organisations", status_code=HTTP_201_CREATED)
    async def create_organisation(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                                  data: OrganisationIn) -> OrganisationOut:
        """Create a business/organisation account (tax code checked), owned by me."""
        org = await db.write(service.create_organisation, me.user_id, data.name, data.tax_code)
        return OrganisationOut(id=org.id, name=org.name, tax_code=org.tax_code, role="owner")

    @post("/organisations/{org_id:int}/invitations", status_code=HTTP_201_CREATED)
    async def invite(self, request: Request[Any, Any, Any], db: Database, me: Principal, org_id: int,
                     data: InvitationIn) -> dict[str, Any]:
        """Invite a person (by phone or e-mail) as owner or staff."""
        inv = await db.write(service.invite, org_id, me.user_id, data.username, data.role)
        return {"id": inv.id, "username": inv.username, "role": inv.role, "expires_at": inv.expires_at}

    @post("/invitations/{invitation_id:int}/code", status_code=HTTP_202_ACCEPTED)
    async def invitation_code(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, invitation_id: int
    ) -> dict[str, str]:
        """Send a one-time code (10 minutes, single use) to the invited phone or e-mail: accepting needs it."""
        row, code, org = await db.write(service.request_invitation_code, invitation_id, me.user_id,
                                        cfg=auth_of(request), client=_client(request))
        channel = service.invitation_channel(row.destination)
        await deliver_code(request.app, row, code, channel=channel, event="code.invitation",
                           values={"organisation": org.name})
        return {"status": "sent", "channel": channel}

    @post("/invitations/{invitation_id:int}/accept", status_code=HTTP_200_OK)
    async def accept(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, invitation_id: int,
        data: InvitationAcceptIn,
    ) -> dict[str, Any]:
        """Join the organisation with the code sent to the invited phone or e-mail."""
        m = await db.write(service.accept_invitation, invitation_id, me.user_id, data.code, cfg=auth_of(request),
                           ip=client_ip(request))
        if isinstance(m, DomainError):
            raise m
        return {"organisation_id": m.organisation_id, "role": m.role}


ROUTES = [AuthController, MeController]
