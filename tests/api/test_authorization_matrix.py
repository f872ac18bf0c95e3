"""The authorization matrix (issue 13): every route of the app's own route table × ten kinds of caller,
with the answer each must get (the table is ``tests/api/authorization_matrix.py``).

A route without a row fails :func:`test_every_route_has_a_row` (so no new route ships unreviewed), and a row
whose route is gone fails it too. The principals and the objects the paths name are made once for the
module; a row of an unsafe method gets fresh objects (its requests must not change what later rows see).
Each request carries an empty body (or the row's minimal one): what is checked is who gets past the
door, not what the handler does with good input.

``MOTCUA_MATRIX_DUMP=FILE`` writes the observed answers as table rows to FILE instead of asserting (to
review and paste when routes change), and to FILE.where each answer's redirect target or error body.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth import accounts
from auth.tokens import start_session
from domain.accounts.models import Invitation, Membership, Organisation, Passkey, User
from domain.catalog.models import Offering, Procedure
from domain.db import Database
from domain.dossiers.models import Dossier
from domain.outbox.models import Notification
from domain.payments.models import Payment
from tests import factories
from tests.api.authorization_matrix import EXCLUDED, MATRIX, PRINCIPALS, Row, key_of
from tests.factories import FEE_CODE, FEE_UNIT, Person
from tests.helpers import (
    PASSWORD,
    add_passkey,
    auth_cfg,
    bearer,
    enrol_staff,
    jpeg,
    login,
    new_phone,
    step_up,
    tax_code,
)
from tests.softauthn import SoftAuthenticator

OTHER_UNIT = "000.31.01.H56"  # unit Y: not FEE_UNIT (unit X, where citizen A's dossiers go)
MISSING = 987654  # an id no object has
DUMP = os.environ.get("MOTCUA_MATRIX_DUMP")
PARAM = re.compile(r"\{(\w+):(\w+)\}")


def app_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path template) the app answers, HEAD and OPTIONS aside (Litestar adds them)."""
    return {(method, route.path) for route in app.routes if isinstance(route, HTTPRoute)
            for method in route.methods if method not in ("HEAD", "OPTIONS")}


def test_every_route_has_a_row(client) -> None:  # type: ignore[no-untyped-def]
    routes = app_routes(client.app) - set(EXCLUDED)
    rows = {key_of(r) for r in MATRIX}
    missing = sorted(routes - rows, key=lambda k: (k[1], k[0]))
    gone = sorted(rows - routes, key=lambda k: (k[1], k[0]))
    assert not missing, ("routes without a row in tests/api/authorization_matrix.py (add one per route, the "
                         "expected status for each of " + " ".join(PRINCIPALS) + "):\n" +
                         "\n".join(f'    row("{m} {p}", "..."),' for m, p in missing))
    assert not gone, "rows of routes that no longer exist (remove them):\n" + "\n".join(f"    {m} {p}" for m, p in gone)
    assert len(rows) == len(MATRIX), "two rows for one route"
    assert not set(EXCLUDED) - app_routes(client.app), "an excluded route no longer exists"


@dataclass
class World:
    """The callers and the objects: shared ones, and makers of fresh ones for unsafe rows."""

    client: Any
    db: Database
    people: dict[str, Person]
    tokens: dict[str, dict[str, Any] | None]  # principal → the session its requests carry (None: anonymous)
    shared: dict[str, Any] = field(default_factory=dict)
    csrf: dict[str, tuple[str, str]] = field(default_factory=dict)  # principal → (cookie, token)
    csrf_for: dict[str, Any] = field(default_factory=dict)  # principal → the session its CSRF token is for

    # --- objects ---------------------------------------------------------------------------------
    def draft_with_document(self) -> tuple[int, int, int]:
        """A draft of citizen A with one uploaded page: (dossier, attachment, document)."""
        a, tokens = self.people["citizen_a"], self.tokens["citizen_a"]
        assert tokens is not None
        dossier_id = factories.draft(self.db, a, FEE_CODE)
        form = self.client.get(f"/api/v1/procedures/{FEE_CODE}/form").json()
        slot = form["documents"][0]["slot"]
        up = self.client.post(f"/api/v1/dossiers/{dossier_id}/documents", headers=bearer(tokens), data={"slot": slot},
                              files={"file": ("trang.jpg", jpeg((400, 300)), "image/jpeg")})
        assert up.status_code == 201, up.text
        attached = self.client.get(f"/api/v1/dossiers/{dossier_id}", headers=bearer(tokens)).json()["documents"]
        return dossier_id, int(attached[0]["id"]), int(up.json()["id"])

    def paid(self) -> tuple[int, int, str]:
        """A submitted dossier of citizen A (unit X) with its fee paid: (dossier, payment, reference)."""
        dossier_id = factories.submitted(self.db, self.people["citizen_a"])
        payment_id = factories.paid_payment(self.db, self.people["citizen_a"], dossier_id)
        reference = self.db.run(lambda s: s.get(Payment, payment_id).reference)
        return dossier_id, payment_id, str(reference)

    def organisation(self) -> int:
        """An organisation: org_admin its owner, org_member its staff."""
        def run(s: Session) -> int:
            o = Organisation(name="Công ty TNHH Ma Trận", tax_code=tax_code(), created_at=datetime.now(UTC))
            s.add(o)
            s.flush()
            s.add_all([Membership(organisation_id=o.id, user_id=self.people[who].id, role=role,
                                  created_at=datetime.now(UTC))
                       for who, role in (("org_admin", "owner"), ("org_member", "staff"))])
            return int(o.id)

        return self.db.run(run)

    def session_of_a(self) -> str:
        a = self.people["citizen_a"]
        return str(self.db.run(lambda s: start_session(s, s.get(User, a.id), "pwd", cfg=auth_cfg()).session_id))

    def invitation_for_b(self) -> int:
        def run(s: Session) -> int:
            username = s.get(User, self.people["citizen_b"].id).username  # type: ignore[union-attr]
            inv = Invitation(organisation_id=self.shared["org_id"], username=username,
                             role="staff", invited_by=self.people["org_admin"].id, created_at=datetime.now(UTC),
                             expires_at=datetime.now(UTC) + timedelta(days=7))
            s.add(inv)
            s.flush()
            return int(inv.id)

        return self.db.run(run)

    def passkey_of_officer_x(self) -> int:
        """Another passkey of officer X (the one the session signed in with stays)."""
        auth, tokens = self.people["officer_x"].auth, self.tokens["officer_x"]
        assert auth is not None and tokens is not None
        step_up(self.client, tokens, auth)
        return int(add_passkey(self.client, tokens, SoftAuthenticator())["id"])

    def objects(self, row: Row) -> dict[str, Any]:
        """The values of the row's path parameters: shared ones, or fresh ones for an unsafe method."""
        if not row.fresh:
            return self.shared
        values = dict(self.shared)
        names_only = {n for n, _ in PARAM.findall(row.path)}
        if row.draft or "attachment_id" in names_only:
            values["dossier_id"], values["attachment_id"], values["document_id"] = self.draft_with_document()
        elif names_only & {"dossier_id", "payment_id", "reference"}:
            values["dossier_id"], values["payment_id"], values["reference"] = self.paid()
        if "org_id" in names_only:
            values["org_id"] = self.organisation()
        if "invitation_id" in names_only:
            values["invitation_id"] = self.invitation_for_b()
        if "session_id" in names_only:
            values["session_id"] = self.session_of_a()
        if "passkey_id" in names_only:
            values["passkey_id"] = self.passkey_of_officer_x()
        return values

    # --- requests --------------------------------------------------------------------------------
    def page_csrf(self, who: str) -> tuple[str, str]:
        """The CSRF cookie and token a page gives this caller (forms and page scripts send them back)."""
        if who not in self.csrf or self.tokens[who] is not self.csrf_for.get(who):
            self.csrf_for[who] = self.tokens[who]
            self.client.cookies.clear()
            # a page every caller sees without a redirect: the token is bound to the caller's session (ADR 0007)
            r = self.client.get("/dang-ky", headers=self._cookie_header(who), follow_redirects=False)
            token = re.search(r'<meta name="csrf-token" content="([^"]+)">', r.text)
            assert token, "the sign-in page has no CSRF token"
            self.csrf[who] = (r.cookies.get("motcua_csrf") or self.client.cookies.get("motcua_csrf"), token.group(1))
        return self.csrf[who]

    def _cookie_header(self, who: str, extra: str = "") -> dict[str, str]:
        tokens = self.tokens[who]
        parts = [f"motcua_at={tokens['access_token']}"] if tokens else []
        if extra:
            parts.append(extra)
        return {"cookie": "; ".join(parts)} if parts else {}

    def own_session(self, who: str) -> dict[str, Any] | None:
        """A new session of the caller, like the one its requests carry (for rows that end the session)."""
        if self.tokens[who] is None:
            return None
        person = self.people["officer_x" if who == "officer_x_pwd" else who]
        amr = "pwd" if who == "officer_x_pwd" or who.startswith(("citizen", "org_")) else "webauthn"
        pair = self.db.run(lambda s: start_session(s, s.get(User, person.id), amr, cfg=auth_cfg()))
        return {"access_token": pair.access_token}

    def send(self, row: Row, who: str, values: dict[str, Any]) -> Any:
        if row.signs_out:
            saved = self.tokens[who]
            self.tokens[who] = self.own_session(who)
            try:
                return self._send(row, who, values)
            finally:
                self.tokens[who] = saved
                self.csrf.pop(who, None)
        return self._send(row, who, values)

    def _send(self, row: Row, who: str, values: dict[str, Any]) -> Any:
        values = values | _filled(row.params or {}, values)
        query = row.query.format(**values)
        path = PARAM.sub(lambda m: str(values[m.group(1)]), row.path) + (f"?{query}" if query else "")
        self.client.cookies.clear()
        tokens = self.tokens[who]
        headers: dict[str, str]
        if row.path.startswith("/api/"):
            headers = bearer(tokens) if tokens else {}
        else:
            headers = {"accept": "text/html"}
            if row.method == "GET":
                headers |= self._cookie_header(who)
            else:
                cookie, token = self.page_csrf(who)
                headers |= self._cookie_header(who, f"motcua_csrf={cookie}") | {"x-csrftoken": token}
        kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
        if row.method != "GET":
            body = _filled(row.body, values) if row.body is not None else {}
            kwargs["json" if row.path.startswith("/api/") else "data"] = body
        return self.client.request(row.method, path, **kwargs)


def _filled(body: Any, values: dict[str, Any]) -> Any:
    """The row's body with ``"{name}"`` strings replaced by the object's id (``"{phone}"``: a new number)."""
    if isinstance(body, dict):
        return {k: _filled(v, values) for k, v in body.items()}
    if isinstance(body, str) and body.startswith("{") and body.endswith("}"):
        return new_phone() if body == "{phone}" else values[body[1:-1]]
    return body


def _principals(client: Any, db: Database) -> tuple[dict[str, Person], dict[str, dict[str, Any] | None]]:
    people = {name: factories.citizen(db) for name in ("citizen_a", "citizen_b", "org_member", "org_admin")}
    people["officer_x"] = factories.officer(db, FEE_UNIT, ("receiver", "processor", "accountant"), client=client)
    people["officer_y"] = factories.officer(db, OTHER_UNIT, ("receiver", "processor", "accountant", "unit_admin"),
                                            client=client)
    people["approver"] = factories.officer(db, FEE_UNIT, ("approver",), client=client)
    username = new_phone()
    admin_id = db.run(lambda s: int(accounts.create_user(s, "admin", username, PASSWORD,
                                                         full_name="Quản Trị Hệ Thống", cfg=auth_cfg()).id))
    auth = SoftAuthenticator()
    people["admin"] = Person(admin_id, username, enrol_staff(client, username, auth), auth)
    tokens: dict[str, dict[str, Any] | None] = {"anon": None}
    for name in PRINCIPALS[1:]:
        tokens[name] = people["officer_x"].tokens if name == "officer_x" else (
            login(client, people["officer_x"].username) if name == "officer_x_pwd" else people[name].tokens)
    return people, tokens


@pytest.fixture(scope="module")
def world(client, catalogue_db: str) -> Iterator[World]:  # type: ignore[no-untyped-def]
    db = Database(catalogue_db)
    people, tokens = _principals(client, db)
    w = World(client, db, people, tokens)

    w.shared["org_id"] = w.organisation()
    w.shared["member_id"] = people["org_member"].id
    dossier_id, payment_id, reference = w.paid()
    w.shared.update(dossier_id=dossier_id, payment_id=payment_id, reference=reference)
    w.shared["code"] = FEE_CODE  # a procedure (the lookup's code is a dossier's: its rows say so)
    w.shared["spare_code"] = db.run(lambda s: s.scalar(select(Procedure.code).where(
        Procedure.code.not_in(select(Offering.procedure_code))).order_by(Procedure.code.desc()).limit(1)))
    w.shared["dossier_code"] = db.run(lambda s: s.get(Dossier, dossier_id).code)
    _draft, w.shared["attachment_id"], w.shared["document_id"] = w.draft_with_document()
    w.shared["session_id"] = w.session_of_a()
    w.shared["invitation_id"] = w.invitation_for_b()
    w.shared["passkey_id"] = db.run(lambda s: int(s.scalar(select(Passkey.id).where(
        Passkey.user_id == people["officer_x"].id).limit(1))))
    w.shared["user_id"] = people["citizen_a"].id
    w.shared["notification_id"] = db.run(lambda s: s.scalar(select(Notification.id).where(
        Notification.user_id == people["citizen_a"].id).limit(1))) or MISSING
    w.shared.update(refund_id=MISSING, result_id=MISSING, delivery_id=MISSING, sub_id=MISSING, public_id="khong-co",
                    action="note", decision="approve", kind="dossiers", gateway="sandbox",
                    event="dossier.submitted", path="openapi.json")
    yield w
    client.cookies.clear()


def _observed(world: World, row: Row) -> dict[str, int]:
    values = world.objects(row)
    answers = {who: world.send(row, who, values) for who in PRINCIPALS}
    got = {who: r.status_code for who, r in answers.items()}
    if DUMP:
        with open(DUMP + ".where", "a", encoding="utf-8") as out:
            out.write(f"{row.method} {row.path}: " + " | ".join(
                f"{who} {r.status_code} {r.headers.get('location', '')} {r.text[:80] if r.status_code >= 400 else ''}"
                for who, r in answers.items()) + "\n")
    if row.signs_out:  # "sign out my other devices" ended the sessions the other rows use: new ones
        world.tokens = {who: world.own_session(who) for who in PRINCIPALS}
    return got


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r.method} {r.path}" for r in MATRIX])
def test_route(world: World, row: Row) -> None:
    got = _observed(world, row)
    if DUMP:
        with open(DUMP, "a", encoding="utf-8") as out:
            out.write(row.source(got) + "\n")
        return
    wrong = {who: (row.expect[who], got[who]) for who in PRINCIPALS if got[who] != row.expect[who]}
    assert not wrong, f"{row.method} {row.path}: " + ", ".join(
        f"{who} expected {exp} got {act}" for who, (exp, act) in wrong.items())

