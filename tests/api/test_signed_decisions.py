"""Security review finding 12: decisions that cannot be rewritten.

A passkey is revoked, never deleted: it signs nothing more, its public key stays on record, and the
decisions it signed before still verify against that key. A key carried inside the evidence is never
trusted. What a passkey signs includes the reason, so a reason changed in the database fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update

from api.cli import main as cli
from domain.accounts.models import Passkey
from domain.db import Database
from domain.dossiers.models import Decision
from tests.api.backoffice import officer, short_form_procedure
from tests.helpers import (
    add_passkey,
    audit,
    bearer,
    credential_post,
    fill,
    passkey_sign_in,
    signed_in,
    step_up,
)
from tests.softauthn import b64u, unb64u


@pytest.fixture(scope="module")
def office(client: Any) -> dict[str, Any]:
    code, unit = short_form_procedure(client)
    receiver, _ = officer(client, "officer", unit)
    approver, auth = officer(client, "approver", unit)
    return {"code": code, "receiver": receiver, "approver": approver, "auth": auth,
            "approver_id": client.get("/api/v1/me", headers=bearer(approver)).json()["id"],
            "receiver_id": client.get("/api/v1/me", headers=bearer(receiver)).json()["id"]}


def _act(client: Any, tokens: dict[str, Any], d: dict[str, Any], action: str, **body: Any) -> Any:
    return client.post(f"/api/v1/officer/dossiers/{d['id']}/actions/{action}", headers=bearer(tokens),
                       json={"version": d["version"], **body})


def awaiting(client: Any, o: dict[str, Any], decision: str) -> dict[str, Any]:
    """A dossier filed, received, processed and proposed for ``decision``."""
    _, citizen = signed_in(client)
    form = client.get(f"/api/v1/procedures/{o['code']}/form").json()
    d = client.post("/api/v1/dossiers", headers=bearer(citizen), json={"procedure_code": o["code"]}).json()
    fill(client, citizen, d["id"], form)
    assert client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(citizen)).status_code == 200
    d = client.get(f"/api/v1/officer/dossiers/{d['id']}", headers=bearer(o["receiver"])).json()
    d = _act(client, o["receiver"], d, "receive").json()
    d = _act(client, o["receiver"], d, "assign", to_user=o["receiver_id"], reason="Xử lý").json()
    if decision == "approve":
        made = client.post(f"/api/v1/officer/dossiers/{d['id']}/result", headers=bearer(o["receiver"]),
                           json={"generate": True})
        assert made.status_code == 201, made.text
        d = client.get(f"/api/v1/officer/dossiers/{d['id']}", headers=bearer(o["receiver"])).json()
    r = _act(client, o["receiver"], d, "propose", decision=decision, reason="Đề xuất")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def sign(client: Any, o: dict[str, Any], d: dict[str, Any], action: str, reason: str, *,
         signed_reason: str | None = None, credential: Any = None) -> Any:
    """What officer.js does: options for (dossier, version, decision, result, reason), the passkey, the decision."""
    options = client.post(f"/api/v1/officer/dossiers/{d['id']}/actions/{action}/options",
                          headers=bearer(o["approver"]), json={"reason": reason if signed_reason is None
                                                               else signed_reason})
    assert options.status_code == 200, options.text
    return _act(client, o["approver"], d, action, reason=reason,
                assertion=o["auth"].get(options.json(), credential=credential))


def check(client: Any, o: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"/api/v1/dossiers/{d['id']}/decision/verify", headers=bearer(o["receiver"]))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    yield Database(database_url)


def _decision(db: Database, dossier_id: int) -> Decision:
    found = db.read_sync(lambda s: s.scalars(select(Decision).where(Decision.dossier_id == dossier_id)).one())
    assert isinstance(found, Decision)
    return found


# --- 3. the reason is signed ---------------------------------------------------------------------------
def test_a_rejections_reason_is_signed(client: Any, office: dict[str, Any], db: Database) -> None:
    d = awaiting(client, office, "reject")
    # options without a reason: a rejection needs one, asked before the passkey is
    bare = client.post(f"/api/v1/officer/dossiers/{d['id']}/actions/reject/options", headers=bearer(office["approver"]))
    assert bare.status_code == 400 and bare.json()["field"] == "reason"
    # the passkey signed one reason, another is sent with the decision: refused
    other = sign(client, office, d, "reject", "Hồ sơ đầy đủ", signed_reason="Thiếu giấy tờ")
    assert other.status_code == 400 and "binding" in other.json()["detail"]
    done = sign(client, office, d, "reject", "  Thiếu giấy tờ theo quy định  ")
    assert done.status_code == 200, done.text
    dec = _decision(db, d["id"])
    assert dec.reason == "Thiếu giấy tờ theo quy định"
    assert json.loads(dec.evidence)["binding"]["reason"] == dec.reason
    assert check(client, office, d)["valid"] is True
    assert check(client, office, d)["decisions"][0]["reason_signed"] is True
    # someone who can write the database changes the reason: the decision no longer verifies
    db.run(lambda s: s.execute(update(Decision).where(Decision.id == dec.id).values(reason="Đủ điều kiện")))
    assert check(client, office, d)["valid"] is False
    assert cli(["verify-decision", str(d["id"])]) == 1
    db.run(lambda s: s.execute(update(Decision).where(Decision.id == dec.id).values(reason=dec.reason)))
    assert check(client, office, d)["valid"] is True
    assert cli(["verify-decision", str(d["id"])]) == 0


def test_an_approvals_note_is_signed_too(client: Any, office: dict[str, Any], db: Database) -> None:
    d = awaiting(client, office, "approve")
    assert sign(client, office, d, "approve", "Đồng ý").status_code == 200
    dec = _decision(db, d["id"])
    assert check(client, office, d)["valid"] is True
    db.run(lambda s: s.execute(update(Decision).where(Decision.id == dec.id).values(reason="")))
    assert check(client, office, d)["valid"] is False
    db.run(lambda s: s.execute(update(Decision).where(Decision.id == dec.id).values(reason=dec.reason)))


# --- 2. revoked, never deleted; verified against the key on record ------------------------------------------
def _attacker_forgery(evidence: dict[str, Any], *, same_credential: bool) -> dict[str, Any]:
    """Evidence re-signed with an attacker's key, that key carried inside (the old fallback trusted it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
    data = unb64u(evidence["authenticator_data"]) + hashlib.sha256(unb64u(evidence["client_data_json"])).digest()
    forged = {**evidence, "signature": b64u(key.sign(data, ec.ECDSA(hashes.SHA256()))),
              "public_key": base64.b64encode(cose).decode()}
    if not same_credential:
        forged.update(credential_id=b64u(secrets.token_bytes(16)), passkey_id=2**31 - 1)
    return forged


def test_forged_evidence_with_the_attackers_key_inside_is_invalid(client: Any, office: dict[str, Any],
                                                                  db: Database) -> None:
    d = awaiting(client, office, "reject")
    assert sign(client, office, d, "reject", "Không đủ điều kiện").status_code == 200
    dec = _decision(db, d["id"])
    evidence = json.loads(dec.evidence)
    assert "public_key" not in evidence  # nothing to trust is kept with the evidence
    for same in (False, True):
        forged = json.dumps(_attacker_forgery(evidence, same_credential=same))
        db.run(lambda s, f=forged: s.execute(update(Decision).where(Decision.id == dec.id).values(evidence=f)))
        assert check(client, office, d)["valid"] is False, same
    db.run(lambda s: s.execute(update(Decision).where(Decision.id == dec.id).values(evidence=dec.evidence)))
    assert check(client, office, d)["valid"] is True


def test_a_revoked_passkey_signs_nothing_but_its_decisions_still_verify(client: Any, office: dict[str, Any],
                                                                      db: Database) -> None:
    approver, auth = office["approver"], office["auth"]
    first = next(iter(auth.credentials.values()))  # the passkey enrolled first
    step_up(client, approver, auth)
    add_passkey(client, approver, auth)  # officers keep at least one: a second, to revoke the first
    mine = client.get("/api/v1/me/passkeys", headers=bearer(approver)).json()
    first_id = db.read_sync(lambda s: s.scalar(select(Passkey.id).where(Passkey.credential_id == first.id)))
    assert first_id in [p["id"] for p in mine] and len(mine) >= 2
    d = awaiting(client, office, "reject")
    assert sign(client, office, d, "reject", "Không đủ điều kiện", credential=first).status_code == 200
    dec = _decision(db, d["id"])
    key = db.read_sync(lambda s: s.get(Passkey, first_id).public_key)

    step_up(client, approver, auth)
    removed = client.delete(f"/api/v1/me/passkeys/{first_id}", headers=bearer(approver))
    assert removed.status_code in (200, 204), removed.text
    row = db.read_sync(lambda s: s.get(Passkey, first_id))
    assert row is not None and row.revoked_at is not None and row.public_key == key  # kept, revoked
    assert audit(db, "auth.passkey_removed", office["approver_id"])[-1]["revoked"] is True
    # not listed as active; a second removal finds nothing to remove
    assert first_id not in [p["id"] for p in client.get("/api/v1/me/passkeys", headers=bearer(approver)).json()]
    assert client.delete(f"/api/v1/me/passkeys/{first_id}", headers=bearer(approver)).status_code == 404
    # the decision it signed before still verifies, against the key on record
    assert check(client, office, d)["valid"] is True
    assert cli(["verify-decision", str(d["id"])]) == 0
    # it signs nothing more: no sign-in, no decision
    refused = passkey_sign_in(client, auth, credential=first)
    assert refused.status_code == 400 and "revoked" in refused.json()["detail"]
    assert audit(db, "auth.login_failed", office["approver_id"])[-1]["reason"] == "revoked"
    options = client.post("/api/v1/auth/step-up/options", headers=bearer(approver)).json()
    assert first.id not in [c["id"] for c in options["allowCredentials"]]
    stepped = credential_post(client, "/api/v1/auth/step-up/verify", auth.get(options, credential=first),
                              **bearer(approver))
    assert stepped.status_code == 400 and "revoked" in stepped.json()["detail"]
    other = awaiting(client, office, "reject")
    late = sign(client, office, other, "reject", "Không đủ điều kiện", credential=first)
    assert late.status_code == 400 and "revoked" in late.json()["detail"]
    assert check(client, office, other)["decisions"] == []
    # a passkey revoked before the moment of a decision cannot have signed it
    revoked_at = row.revoked_at
    db.run(lambda s: s.execute(update(Passkey).where(Passkey.id == first_id).values(
        revoked_at=dec.created_at - timedelta(seconds=1))))
    assert check(client, office, d)["valid"] is False
    db.run(lambda s: s.execute(update(Passkey).where(Passkey.id == first_id).values(revoked_at=revoked_at)))
    assert check(client, office, d)["valid"] is True
    # its credential id stays taken: a new registration excludes it too
    step_up(client, approver, auth)
    options = client.post("/api/v1/auth/passkeys/registration/options", headers=bearer(approver))
    assert options.status_code == 200, options.text
    assert first.id in [c["id"] for c in options.json()["excludeCredentials"]]
