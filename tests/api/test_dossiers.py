"""Filing over the JSON API: forms, drafts, uploads, submission, idempotency, scope, clone, lookup."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from api.cli import main as cli
from domain.db import Database
from domain.dossiers import filing as service
from domain.dossiers.models import Dossier, IdempotencyKey
from domain.errors import Conflict
from tests.api.backoffice import officer
from tests.api.payments_world import UNIT, filed
from tests.helpers import PASSWORD, bearer, enrol_staff, fill, is_problem, jpeg, new_phone, signed_in
from tests.softauthn import SoftAuthenticator


def test_form_shape(client, procedure: str) -> None:  # type: ignore[no-untyped-def]
    form = client.get(f"/api/v1/procedures/{procedure}/form").json()
    assert form["revision"] >= 1 and form["fields"] and form["documents"]
    assert {"name", "type", "label", "required"} <= set(form["fields"][0])
    assert {"slot", "name", "required"} <= set(form["documents"][0])
    assert client.get("/api/v1/procedures/9.999999/form").status_code == 404


def test_file_a_dossier_end_to_end(client, procedure: str) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    form = client.get(f"/api/v1/procedures/{procedure}/form").json()
    created = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure})
    assert created.status_code == 201, created.text
    d = created.json()
    assert d["status"] == "draft" and d["code"] is None and d["data"]["applicant_name"] == "Nguyễn Văn An"
    # an incomplete dossier is refused with the list of what is missing
    early = client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(tokens))
    assert early.status_code == 400 and early.headers["content-type"].startswith("application/problem+json")
    fill(client, tokens, d["id"], form)
    sub = client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(tokens))
    assert sub.status_code == 200, sub.text
    body = sub.json()
    unit = client.get(f"/api/v1/procedures/{procedure}").json()["offer"]["unit_code"]
    assert re.fullmatch(re.escape(unit) + r"-\d{6}-\d{4}", body["code"])
    assert body["status"] == "submitted"
    # a double tap: the same answer, no second dossier, no second code
    again = client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(tokens))
    assert again.status_code == 200 and again.json()["code"] == body["code"]
    # filed dossiers are no longer editable
    assert client.patch(f"/api/v1/dossiers/{d['id']}", headers=bearer(tokens),
                        json={"data": {"request": "x"}}).status_code == 409
    history = client.get(f"/api/v1/dossiers/{d['id']}/history", headers=bearer(tokens)).json()
    assert [h["event"] for h in history] == ["submit"]
    mine = client.get("/api/v1/dossiers", headers=bearer(tokens)).json()
    assert [m["code"] for m in mine] == [body["code"]]
    # public lookup: by the code alone the status (tests/api/test_lookup.py), never personal data
    look = client.get(f"/api/v1/lookup/{body['code']}")
    assert look.status_code == 200
    assert "Phạm Thị Dung" not in look.text and "072090001234" not in look.text
    assert look.json()["status"] == "submitted"
    assert client.get("/api/v1/lookup/000.00.00.H56-260101-9999").status_code == 404


def test_idempotency_key(client, procedure: str) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    form = client.get(f"/api/v1/procedures/{procedure}/form").json()
    d = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    fill(client, tokens, d["id"], form)
    h = {**bearer(tokens), "Idempotency-Key": "abc-123"}
    first = client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=h)
    second = client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=h)
    assert first.status_code == second.status_code == 200 and first.json()["code"] == second.json()["code"]
    too_long = client.post(
        f"/api/v1/dossiers/{d['id']}/submit", headers={**bearer(tokens), "Idempotency-Key": "k" * 129}
    )
    assert too_long.status_code == 400  # checked before anything else, even for a dossier already filed


def test_idempotency_key_another_body_then_expiry(catalogue_db: str) -> None:
    """Same key, same body → the stored row; another body → 409; a key past its 24 h → as good as new."""
    db = Database(catalogue_db)
    assert db.run(service.remember, 987654, "test:1", "k-1", {"a": 1}) is None
    again = db.run(service.remember, 987654, "test:1", "k-1", {"a": 1})
    assert again is not None and again.request_hash == service.request_hash({"a": 1})
    with pytest.raises(Conflict):
        db.run(service.remember, 987654, "test:1", "k-1", {"a": 2})
    db.run(lambda s: s.execute(update(IdempotencyKey).where(IdempotencyKey.key == "k-1").values(
        created_at=service._now() - service.IDEMPOTENCY_TTL - timedelta(minutes=1))))
    assert db.run(service.remember, 987654, "test:1", "k-1", {"a": 2}) is None  # expired: taken anew
    assert db.run(service.remember, 987654, "test:1", "k-1", {"a": 2}) is not None
    with pytest.raises(Conflict):
        db.run(service.remember, 987654, "test:1", "k-1", {"a": 1})


def test_someone_elses_dossier_and_document_are_404(client, procedure: str) -> None:  # type: ignore[no-untyped-def]
    _, owner = signed_in(client)
    _, stranger = signed_in(client)
    d = client.post("/api/v1/dossiers", headers=bearer(owner), json={"procedure_code": procedure}).json()
    slot = client.get(f"/api/v1/procedures/{procedure}/form").json()["documents"][0]["slot"]
    doc = client.post(f"/api/v1/dossiers/{d['id']}/documents", headers=bearer(owner), data={"slot": slot},
                      files={"file": ("a.jpg", jpeg(), "image/jpeg")}).json()
    for method, url in [("get", f"/api/v1/dossiers/{d['id']}"), ("post", f"/api/v1/dossiers/{d['id']}/submit"),
                        ("post", f"/api/v1/dossiers/{d['id']}/clone"),
                        ("get", f"/api/v1/documents/{doc['id']}/content")]:
        r = getattr(client, method)(url, headers=bearer(stranger))
        assert r.status_code == 404, (url, r.status_code)
    r = client.patch(f"/api/v1/dossiers/{d['id']}", headers=bearer(stranger), json={"data": {"request": "x"}})
    assert r.status_code == 404
    content = client.get(f"/api/v1/documents/{doc['id']}/content", headers=bearer(owner))
    assert content.status_code == 200 and content.content[:3] == b"\xff\xd8\xff"
    assert content.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("name", "payload", "ctype"), [
    ("evil.jpg", b"%PDF-1.4\n<</JavaScript (app.alert(1))>>\n%%EOF", "image/jpeg"),
    ("notes.png", b"just some text, not an image", "image/png"),
    ("../../etc/passwd", b"root:x:0:0", "text/plain"),
    ("cut.jpg", None, "image/jpeg"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(client: Any, procedure: str, name: str, payload: bytes | None,
                                                        ctype: str) -> None:
    _, tokens = signed_in(client)
    d = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    slot = client.get(f"/api/v1/procedures/{procedure}/form").json()["documents"][0]["slot"]
    data = payload if payload is not None else jpeg()[:2000]
    r = client.post(f"/api/v1/dossiers/{d['id']}/documents", headers=bearer(tokens), data={"slot": slot},
                    files={"file": (name, data, ctype)})
    assert r.status_code in (400, 415), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/api/v1/dossiers/{d['id']}", headers=bearer(tokens)).json()["documents"] == []
    assert client.get("/api/v1/documents", headers=bearer(tokens)).json() == []


def test_upload_to_unknown_slot(client, procedure: str) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    d = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    r = client.post(f"/api/v1/dossiers/{d['id']}/documents", headers=bearer(tokens), data={"slot": "zz"},
                    files={"file": ("a.jpg", jpeg(), "image/jpeg")})
    assert r.status_code == 400 and r.json()["field"] == "slot"


def test_wallet_reuse_and_clone(client, procedure: str) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    form = client.get(f"/api/v1/procedures/{procedure}/form").json()
    d = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    fill(client, tokens, d["id"], form)
    client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(tokens))
    wallet = client.get("/api/v1/documents", headers=bearer(tokens)).json()
    assert wallet, "uploads land in the wallet"
    clone = client.post(f"/api/v1/dossiers/{d['id']}/clone", headers=bearer(tokens))
    assert clone.status_code == 201
    copy = clone.json()["dossier"]
    assert copy["status"] == "draft" and copy["code"] is None
    assert copy["data"]["applicant_cccd"] == "072090001234" and len(copy["documents"]) >= 1
    # attach from the wallet into a new draft, without uploading again
    fresh = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    r = client.post(f"/api/v1/dossiers/{fresh['id']}/documents/from-wallet", headers=bearer(tokens),
                    json={"slot": form["documents"][0]["slot"], "document_id": wallet[0]["id"]})
    assert r.status_code == 201 and r.json()["sha256"] == wallet[0]["sha256"]


def test_procedure_not_offered_online(client) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    r = client.get("/api/v1/procedures", params={"level": "ministry", "page_size": 100}).json()
    code = next(i["code"] for i in r["items"] if not i["offered"])
    bad = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": code})
    assert bad.status_code == 400 and bad.json()["field"] == "procedure_code"


def test_draft_saves_invalid_values_but_submit_refuses_them(client, procedure: str) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    d = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    r = client.patch(f"/api/v1/dossiers/{d['id']}", headers=bearer(tokens),
                     json={"data": {"applicant_cccd": "12ab", "unknown_field": "x"}, "version": d["version"]})
    assert r.status_code == 200 and r.json()["data"]["applicant_cccd"] == "12ab"
    assert "unknown_field" not in r.json()["data"]
    stale = client.patch(f"/api/v1/dossiers/{d['id']}", headers=bearer(tokens),
                         json={"data": {"request": "y"}, "version": d["version"]})
    assert stale.status_code == 409
    sub = client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(tokens))
    assert sub.status_code == 400 and "CCCD" in sub.text


def test_unauthenticated(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/dossiers").status_code == 401
    assert client.post("/api/v1/dossiers", json={"procedure_code": "1.001193"}).status_code == 401


def test_unused_drafts_warned_then_deleted(client, procedure: str, database_url: str) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    old = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    older = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": procedure}).json()
    db = Database(database_url)
    now = datetime.now(UTC)
    db.run(
        lambda s: s.execute(update(Dossier).where(Dossier.id == old["id"]).values(updated_at=now - timedelta(days=25)))
    )
    db.run(
        lambda s: s.execute(
            update(Dossier).where(Dossier.id == older["id"]).values(updated_at=now - timedelta(days=31))
        )
    )
    assert cli(["expire-drafts", "--days", "30", "--warn-days", "7"]) == 0
    assert client.get(f"/api/v1/dossiers/{older['id']}", headers=bearer(tokens)).status_code == 404
    assert client.get(f"/api/v1/dossiers/{old['id']}", headers=bearer(tokens)).status_code == 200
    inbox = client.get("/api/v1/notifications", headers=bearer(tokens)).json()
    assert "xoá" in str(inbox)


def test_identity_level_two_and_admin_form_edit(client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    _, citizen = signed_in(client)
    me = client.get("/api/v1/me", headers=bearer(citizen)).json()
    filed(client, Database(database_url), citizen)  # the citizen has a dossier at the officer's unit
    off, _ = officer(client, "officer", UNIT)
    r = client.post(f"/api/v1/officer/users/{me['id']}/verify-identity", headers=bearer(off),
                    json={"cccd": "079203000123", "reason": "Đối chiếu CCCD bản gốc tại quầy"})
    assert r.status_code == 200 and r.json()["identity_level"] == 2
    assert client.post(f"/api/v1/officer/users/{me['id']}/verify-identity", headers=bearer(citizen),
                       json={"cccd": "079203000123", "reason": "x"}).status_code == 404  # not an officer
    form = client.get("/api/v1/procedures/1.001612/form").json()
    username = new_phone()
    assert cli(["create-user", "--role", "admin", "--username", username, "--password", PASSWORD]) == 0
    tokens = enrol_staff(client, username, SoftAuthenticator())
    edited = {"steps": form["steps"], "fields": form["fields"][:-1], "documents": form["documents"]}
    r = client.post("/api/v1/admin/procedures/1.001612/form", headers=bearer(tokens), json=edited)
    assert r.status_code == 201 and r.json()["revision"] == form["revision"] + 1
    assert client.get("/api/v1/procedures/1.001612/form").json()["revision"] == form["revision"] + 1
    bad = client.post("/api/v1/admin/procedures/1.001612/form", headers=bearer(tokens),
                      json={"steps": [], "fields": [{"name": "X"}], "documents": []})
    assert bad.status_code == 400
    assert (
        client.post("/api/v1/admin/procedures/1.001612/form", headers=bearer(citizen), json=edited).status_code == 403
    )


def test_an_id_no_column_can_hold_is_404(client) -> None:  # type: ignore[no-untyped-def]
    """Regression (schemathesis): an id in the path beyond a database integer answered 500 (SQLite's
    OverflowError, PostgreSQL's int4 range); no object has it, so it is 404 on the API and on pages."""
    _, tokens = signed_in(client)
    for path in ("/api/v1/dossiers/297434548449666112811958272", "/api/v1/me/invitations/2147483648/accept",
                 "/api/v1/payments/9223372036854775808"):
        r = client.request("POST" if path.endswith("accept") else "GET", path, headers=bearer(tokens),
                           json={"code": "123456"})
        is_problem(r, 404)
    page = client.get("/ho-so/99999999999999999999999", headers={"cookie": f"motcua_at={tokens['access_token']}"})
    assert page.status_code == 404
