"""Factories for the usual records, built through the core (a ``Session`` and the domain's own functions),
not through HTTP: a test that checks the back office need not click through registration and filing first.

Each factory takes the test's :class:`domain.db.Database` and commits what it builds in one transaction,
the way a request would. Records get fresh names (phone numbers), so tests never collide.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from auth import accounts
from auth.tokens import start_session
from domain.accounts.models import Passkey
from domain.db import Database
from domain.dossiers.filing import StoredFile, attach, create_draft, ensure_form, next_code
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier, DossierResult
from domain.intake.counter import IntakeCommand, receive_intake, start_intake
from domain.intake.persons import Applicant
from domain.payments.gateways.base import Notice
from domain.payments.operations import apply_notice, create_payment
from domain.workflow import Actor
from tests.helpers import ADDRESS, PASSWORD, auth_cfg, enrol_staff, new_phone, payment_context
from tests.softauthn import SoftAuthenticator

FEE_CODE, FEE_UNIT = "1.004222", "000.31.11.H56"  # đăng ký thường trú: 10.000 ₫ online, at this unit


@dataclass(frozen=True)
class Person:
    """An account the factories made: its id, username and the token pair of one of its sessions."""

    id: int
    username: str
    tokens: dict[str, Any]
    auth: SoftAuthenticator | None = None  # an officer's passkey, when enrolled over HTTP

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


def _tokens(s: Session, user: Any, amr: str) -> dict[str, Any]:
    pair = start_session(s, user, amr, cfg=auth_cfg())
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token, "token_type": pair.token_type,
            "expires_in": pair.expires_in, "session_id": pair.session_id}


def citizen(db: Database, full_name: str = "Nguyễn Văn An", password: str = PASSWORD) -> Person:
    """A citizen's account, signed in with the password (an ``amr`` pwd session)."""
    username = new_phone()

    def run(s: Session) -> Person:
        user = accounts.create_user(s, "citizen", username, password, full_name=full_name, cfg=auth_cfg())
        return Person(int(user.id), username, _tokens(s, user, "pwd"))

    return db.run(run)


def officer(db: Database, unit: str, roles: tuple[str, ...] = ("receiver",), *, client: Any = None,
            full_name: str = "Trần Thu Ngân", password: str = PASSWORD) -> Person:
    """An officer of ``unit`` with ``roles``. The back office wants a passkey session of an account with a
    passkey: with ``client``, the officer enrols one (:func:`tests.helpers.enrol_staff`, a software
    authenticator kept in ``Person.auth``) and works in that session; without, the session is a passkey
    (``amr`` webauthn) session started in the core, for tests below the HTTP layer."""
    username = new_phone()

    def run(s: Session) -> Person:
        user = accounts.create_user(s, "officer", username, password, full_name=full_name, cfg=auth_cfg())
        for role in roles:
            accounts.grant_officer_role(s, user, unit, role)
        return Person(int(user.id), username, {} if client is not None else passkey_session(s, user))

    person = db.run(run)
    if client is None:
        return person
    auth = SoftAuthenticator()
    return Person(person.id, username, enrol_staff(client, username, auth, password), auth)


def passkey_session(s: Session, user: Any) -> dict[str, Any]:
    """The token pair of a new passkey session of ``user``, started in the core (no assertion checked)."""
    return _tokens(s, user, "webauthn")


def draft(db: Database, owner: Person | int, procedure_code: str = FEE_CODE,
          data: dict[str, Any] | None = None) -> int:
    """A draft of ``procedure_code`` owned by ``owner``; answers its id."""
    owner_id = owner if isinstance(owner, int) else owner.id
    return db.run(lambda s: int(create_draft(s, owner_id, procedure_code, data=data).id))


def submitted(db: Database, owner: Person | int, procedure_code: str = FEE_CODE) -> int:
    """A draft filed through the workflow's ``submit`` event, with its code (the form's contents do not
    matter here); answers the dossier's id."""
    dossier_id = draft(db, owner, procedure_code)
    submit(db, dossier_id)
    return dossier_id


def submit(db: Database, dossier_id: int) -> None:
    """File a draft as it is through the workflow's ``submit`` event, giving it its code."""

    def run(s: Session) -> None:
        d = s.get(Dossier, dossier_id)
        assert d is not None
        fire(s, d, "submit", actor_id=d.owner_id, actors={Actor.APPLICANT})
        d.code, d.submitted_at = next_code(s, d.unit_code, datetime.now(UTC)), datetime.now(UTC)

    db.run(run)


def result_issued(db: Database, owner: Person | int, *, return_method: str = "post",
                  return_address: str | None = "12 Lê Lợi, Phường Tân Ninh, Tây Ninh",
                  postal_fee_vnd: int | None = None, procedure_code: str = FEE_CODE) -> int:
    """A filed dossier that went through the workflow's events to ``result_issued`` (received, processed,
    approved, its result document prepared and issued), with how the applicant wants the result back;
    answers its id. Officers acting on it need a role at :data:`FEE_UNIT`."""
    dossier_id = submitted(db, owner, procedure_code)

    def run(s: Session) -> None:
        d = s.get(Dossier, dossier_id)
        assert d is not None
        d.return_method, d.return_address, d.postal_fee_vnd = return_method, return_address, postal_fee_vnd
        now = datetime.now(UTC)
        d.received_at = now
        fire(s, d, "receive", actor_id=None, actors={Actor.RECEIVER})
        decide_and_issue(s, d, digest="0" * 64, now=now)

    db.run(run)
    return dossier_id


def decide_and_issue(s: Session, d: Dossier, *, actor_id: int | None = None, prepared_by: int | None = None,
                     title: str = "Kết quả", digest: str | None = None, now: datetime | None = None) -> None:
    """The deciding unit's work on a received dossier, through the workflow's events: assigned, processed,
    approved, its result (a one-byte PDF, ``title``, prepared by ``prepared_by``, by default the owner) prepared
    and issued, the dossier finished. ``actor_id`` is who fires the events (None: the system)."""
    for event, actor in (("assign", Actor.RECEIVER), ("propose", Actor.PROCESSOR), ("approve", Actor.APPROVER),
                         ("issue_result", Actor.PROCESSOR)):
        fire(s, d, event, actor_id=actor_id, actors={actor})
    now, digest = now or datetime.now(UTC), digest or secrets.token_hex(32)
    s.add(DossierResult(public_id=secrets.token_urlsafe(12), dossier_id=d.id, storage_key=f"{digest[:2]}/{digest}",
                        sha256=digest, content_type="application/pdf", size=1, title=title,
                        prepared_by=d.owner_id if prepared_by is None else prepared_by, prepared_at=now,
                        issued_at=now))
    d.finished_at = now


def paid_payment(db: Database, owner: Person | int, dossier_id: int | None = None, gateway: str = "sandbox") -> int:
    """A payment of a submitted dossier's fee (a new one of :data:`FEE_CODE` when ``dossier_id`` is None),
    confirmed by the gateway's success message; answers the payment's id. ``gateway`` must be enabled."""
    owner_id = owner if isinstance(owner, int) else owner.id
    dossier_id = dossier_id if dossier_id is not None else submitted(db, owner_id)
    ctx = payment_context()
    view = db.run(lambda s: create_payment(s, owner_id, dossier_id, gateway, ctx=ctx))
    notice = Notice(reference=view["reference"], outcome="success", amount_vnd=view["amount_vnd"], signature_ok=True,
                    gateway_txn="FACTORY1", paid_at=datetime.now(UTC))
    db.run(lambda s: apply_notice(s, gateway, notice, kind="callback", ctx=ctx))
    return int(view["id"])


# --- counter intake -------------------------------------------------------------------------------------
def receiver(db: Database, unit: str, roles: tuple[str, ...] = ("receiver",), *,
             full_name: str = "Lê Thị Tiếp Nhận") -> Person:
    """An officer of ``unit`` with ``roles`` (a receiver by default), with a passkey on record and a passkey
    session started in the core: enough for the back office's JSON API and the core's use cases."""
    username = new_phone()

    def run(s: Session) -> Person:
        user = accounts.create_user(s, "officer", username, PASSWORD, full_name=full_name, cfg=auth_cfg())
        for role in roles:
            accounts.grant_officer_role(s, user, unit, role)
        s.add(Passkey(user_id=user.id, credential_id=f"factory-{uuid.uuid4().hex}", public_key=b"-",
                      name="factory", created_at=datetime.now(UTC)))
        s.flush()
        return Person(int(user.id), username, passkey_session(s, user))

    return db.run(run)


def intake_draft(db: Database, officer: Person, procedure_code: str, *, applicant: Applicant | None = None,
                 **command: Any) -> int:
    """An intake draft entered by ``officer`` (a receiver) for ``applicant`` (a new person record by default);
    ``command`` sets the other fields of :class:`domain.intake.counter.IntakeCommand`. Answers its id."""
    if applicant is None and "person_id" not in command and "organisation_tax_code" not in command:
        applicant = Applicant(full_name="Võ Thị Bảy", phone="0987000111")
    cmd = IntakeCommand(procedure_code=procedure_code, applicant=applicant, **command)
    return db.run(lambda s: int(start_intake(s, officer.id, cmd).id))


def page(name: str = "trang.jpg") -> StoredFile:
    """A scanned page as the upload pipeline would store it (no file behind the key: nothing reads it)."""
    digest = uuid.uuid4().hex * 2
    return StoredFile(storage_key=f"{digest[:2]}/{digest}", sha256=digest, content_type="image/jpeg", size=1000,
                      display_name=name, width=1200, height=900, pages=1)


def received_intake(db: Database, officer: Person, procedure_code: str, **command: Any) -> int:
    """An intake received at ``officer``'s counter: the usual fields answered, a page in every required slot."""
    dossier_id = intake_draft(db, officer, procedure_code, **{"data": {
        "applicant_cccd": "072090001234", "applicant_phone": "0912345678", "applicant_address": ADDRESS,
        "request": "Đề nghị giải quyết"}, **command})

    def run(s: Session) -> None:
        for slot in json.loads(ensure_form(s, procedure_code).schema).get("documents", []):
            if slot.get("required"):
                attach(s, officer.id, dossier_id, slot["slot"], stored=page(), intake_officer=True)
        receive_intake(s, officer.id, dossier_id, amr="webauthn")

    db.run(run)
    return dossier_id
