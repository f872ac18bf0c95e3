"""The back office over HTTP, for the tests of several areas: officers created with the CLI who work in
passkey sessions, a module's setting (a procedure with a short form, its unit, a receiver, an approver and
an officer of another unit), a dossier filed with its form, and an action posted with the dossier's version."""

from __future__ import annotations

from typing import Any

import pytest

from api.cli import main as cli
from tests.helpers import HANDMADE, PASSWORD, bearer, enrol_staff, fill, new_phone, signed_in
from tests.softauthn import SoftAuthenticator


def officer(client: Any, role: str, unit: str) -> tuple[dict[str, Any], SoftAuthenticator]:
    username = new_phone()
    assert cli(["create-user", "--role", role, "--username", username, "--password", PASSWORD, "--unit", unit,
                "--full-name", f"Cán bộ {role}"]) == 0
    auth = SoftAuthenticator()
    return enrol_staff(client, username, auth), auth  # officers work in passkey sessions


def short_form_procedure(client: Any) -> tuple[str, str]:
    """A commune-level online procedure with the catalogue's default form and one to three documents, and
    the unit that receives it."""
    items = client.get("/api/v1/procedures", params={"online": "true", "level": "commune", "page_size": 100}).json()
    code: str = next(i["code"] for i in items["items"] if i["code"] not in HANDMADE and 1 <= len(
        client.get(f"/api/v1/procedures/{i['code']}/form").json()["documents"]) <= 3)
    unit: str = client.get(f"/api/v1/procedures/{code}").json()["offer"]["unit_code"]
    return code, unit


@pytest.fixture(scope="module")
def setting(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    code, unit = short_form_procedure(client)
    receiver, _ = officer(client, "officer", unit)
    approver, approver_auth = officer(client, "approver", unit)
    other_unit, _ = officer(client, "officer", "000.00.13.H56")
    return {"code": code, "unit": unit, "receiver": receiver, "approver": approver, "approver_auth": approver_auth,
            "stranger": other_unit}


def filed(client: Any, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    _, citizen = signed_in(client)
    form = client.get(f"/api/v1/procedures/{code}/form").json()
    d = client.post("/api/v1/dossiers", headers=bearer(citizen), json={"procedure_code": code}).json()
    fill(client, citizen, d["id"], form)
    assert client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(citizen)).status_code == 200
    return citizen, client.get(f"/api/v1/dossiers/{d['id']}", headers=bearer(citizen)).json()


def act(client: Any, tokens: dict[str, Any], dossier: dict[str, Any], action: str, **body: Any) -> Any:
    return client.post(f"/api/v1/officer/dossiers/{dossier['id']}/actions/{action}", headers=bearer(tokens),
                       json={"version": dossier["version"], **body})
