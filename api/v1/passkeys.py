"""JSON API of passkeys: enrol, sign in, step-up, and my passkeys (list, rename, delete).

Options endpoints answer the standard ``PublicKeyCredentialCreationOptionsJSON`` /
``PublicKeyCredentialRequestOptionsJSON`` object itself; verify endpoints take the browser's
``credential.toJSON()`` as the whole body (at most 64 KB).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from api.v1.auth import TokensOut, tokens
from api.web.passkeys import MAX_BODY, read_credential
from api.web.providers import API_USER
from api.web.session import client_ip
from api.web.state import auth_of
from auth import passkeys
from auth.tokens import Principal
from domain.accounts import enrolment
from domain.accounts.models import Passkey
from domain.db import Database
from domain.errors import DomainError


class PasskeyOut(msgspec.Struct):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool
    transports: list[str]
    aaguid: str


class RenameIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class RegistrationOptionsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Optional body: the one-time enrolment code of an officer adding a first passkey."""

    enrolment_code: str | None = None


class StepUpOut(msgspec.Struct):
    status: str
    valid_for: int


def passkey_out(p: Passkey) -> PasskeyOut:
    return PasskeyOut(id=p.id, name=p.name, created_at=p.created_at, last_used_at=p.last_used_at,
                      backed_up=p.backed_up, transports=[t for t in p.transports.split(",") if t], aaguid=p.aaguid)


def _agent(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("user-agent", "")[:255]


def _amr(me: Principal) -> str:
    return me.amr[0] if me.amr else ""


class PasskeyAuthController(Controller):
    path = "/api/v1/auth"
    tags = ["identity"]

    @post("/passkeys/registration/options", status_code=HTTP_200_OK, dependencies={"me": API_USER})
    async def registration_options(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                                   data: RegistrationOptionsIn | None = None) -> dict[str, Any]:
        """PublicKeyCredentialCreationOptionsJSON to add a passkey to my account (5 minutes, single use).

        With passkeys already: a fresh step-up first (``/api/v1/auth/step-up``). An officer or admin without
        any: the one-time ``enrolment_code`` a unit admin (or the system admin) issued."""
        result = await db.write(
            passkeys.add_passkey_options, me.user_id, session_id=me.session_id, cfg=auth_of(request),
            enrolment_code=data.enrolment_code if data else None, ip=client_ip(request))
        if isinstance(result, DomainError):
            raise result
        return result

    @post("/passkeys/registration/verify", status_code=HTTP_201_CREATED, request_max_body_size=MAX_BODY,
          dependencies={"me": API_USER})
    async def registration_verify(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                                  name: str | None = None) -> PasskeyOut:
        """Body: the browser's RegistrationResponseJSON (credential.toJSON()). Optional ?name= for the passkey."""
        data = await read_credential(request)
        result = await db.write(passkeys.verify_registration, me.user_id, data, cfg=auth_of(request), name=name,
                                                  ip=client_ip(request), authenticated=_amr(me))
        if isinstance(result, passkeys.PasskeyError):
            raise result
        return passkey_out(result)

    @post("/passkeys/authentication/options", status_code=HTTP_200_OK)
    async def authentication_options(self, request: Request[Any, Any, Any], db: Database) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptionsJSON to sign in with a passkey alone (discoverable credential)."""
        return await db.write(
            passkeys.authentication_options, None, "authenticate", None, cfg=auth_of(request), ip=client_ip(request))

    @post("/passkeys/authentication/verify", status_code=HTTP_200_OK, request_max_body_size=MAX_BODY)
    async def authentication_verify(self, request: Request[Any, Any, Any], db: Database) -> TokensOut:
        """Body: the browser's AuthenticationResponseJSON → the same token pair as a password sign-in."""
        data = await read_credential(request)
        result = await db.write(passkeys.verify_authentication, data, cfg=auth_of(request), ip=client_ip(request),
                                                  user_agent=_agent(request))
        if isinstance(result, passkeys.PasskeyError):
            raise result
        return tokens(result)

    @post("/step-up/options", status_code=HTTP_200_OK, dependencies={"me": API_USER})
    async def step_up_options(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptionsJSON for a fresh assertion with one of my passkeys."""
        return await db.write(
            passkeys.step_up_options, me.session_id, me.user_id, cfg=auth_of(request))

    @post("/step-up/verify", status_code=HTTP_200_OK, request_max_body_size=MAX_BODY,
          dependencies={"me": API_USER})
    async def step_up_verify(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> StepUpOut:
        """Body: AuthenticationResponseJSON. Sensitive actions are allowed for 5 minutes in this session."""
        data = await read_credential(request)
        error = await db.write(passkeys.step_up, me.session_id, me.user_id, data, cfg=auth_of(request),
                                                 ip=client_ip(request))
        if error is not None:
            raise error
        return StepUpOut(status="ok", valid_for=int(passkeys.STEP_UP_WINDOW.total_seconds()))


class MyPasskeysController(Controller):
    path = "/api/v1/me/passkeys"
    tags = ["identity"]
    dependencies = {"me": API_USER}

    @get("")
    async def list_passkeys(self, request: Request[Any, Any, Any], db: Database, me: Principal) -> list[PasskeyOut]:
        """My passkeys."""
        rows = await db.read(passkeys.list_passkeys, me.user_id)
        return [passkey_out(p) for p in rows]

    @patch("/{passkey_id:int}")
    async def rename(self, request: Request[Any, Any, Any], db: Database, me: Principal, passkey_id: int,
                     data: RenameIn) -> PasskeyOut:
        """Rename one of my passkeys."""
        p = await db.write(passkeys.rename_passkey, me.user_id, passkey_id, data.name,
                                             ip=client_ip(request))
        return passkey_out(p)

    @delete("/{passkey_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def remove(self, request: Request[Any, Any, Any], db: Database, me: Principal, passkey_id: int) -> None:
        """Delete one of my passkeys (never the last way to sign in; officers keep at least one)."""
        await db.write(passkeys.delete_passkey, me.user_id, passkey_id, session_id=me.session_id,
                                         ip=client_ip(request),
                                         authenticated=_amr(me))


class EnrolmentCodeOut(msgspec.Struct):
    user_id: int
    code: str  # shown once: hand it over in person or by phone, never with the password
    expires_at: datetime


class EnrolmentController(Controller):
    path = "/api/v1/officer/users"
    tags = ["identity"]
    dependencies = {"me": API_USER}

    @post("/{user_id:int}/enrolment-code", status_code=HTTP_201_CREATED)
    async def enrolment_code(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, user_id: int
    ) -> EnrolmentCodeOut:
        """A one-time code (1 hour, single use) with which an officer of my unit enrols a first passkey.

        Unit admins issue for the officers of their units; the system admin for anyone (unit admins too).
        Someone else's account answers 404. The earlier unused code stops working."""
        issued = await db.write(enrolment.issue, user_id, issuer_id=me.user_id,
                                                  ip=client_ip(request), via="api")
        return EnrolmentCodeOut(user_id=issued.user_id, code=issued.code, expires_at=issued.expires_at)


ROUTES = [PasskeyAuthController, MyPasskeysController, EnrolmentController]
