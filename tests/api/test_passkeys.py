"""Passkeys over HTTP: the JSON API (bearer) and the pages' JSON twins (cookies + CSRF)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from auth import accounts as service
from auth.passkeys import StepUpRequired, require_step_up
from auth.tokens import start_session
from domain.accounts.models import AuthSession, Passkey, WebAuthnChallenge
from domain.db import Database
from pwa.passkey_routes import safe_next
from tests.helpers import (
    AUTH_OPTIONS,
    AUTH_VERIFY,
    PASSWORD,
    PROBLEM,
    REG_OPTIONS,
    REG_VERIFY,
    add_passkey,
    audit,
    auth_cfg,
    bearer,
    enrolment_code,
    is_problem,
    login,
    new_phone,
    page_csrf,
    page_post,
    passkey_sign_in,
    signed_in,
    step_up,
)
from tests.helpers import credential_post as post_json
from tests.softauthn import SoftAuthenticator


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


def me(client: Any, tokens: dict[str, Any]) -> dict[str, Any]:
    r = client.get("/api/v1/me", headers=bearer(tokens))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_add_passkey_then_sign_in_with_it_alone(client) -> None:  # type: ignore[no-untyped-def]
    username, tokens = signed_in(client)
    auth = SoftAuthenticator()
    options = client.post(REG_OPTIONS, headers=bearer(tokens))
    assert options.status_code == 200 and options.headers["content-type"].startswith("application/json")
    o = options.json()  # PublicKeyCredentialCreationOptionsJSON itself, no wrapper
    assert {"rp", "user", "challenge", "pubKeyCredParams", "timeout", "excludeCredentials",
            "authenticatorSelection", "attestation"} <= set(o)
    assert o["rp"]["id"] == "localhost" and o["user"]["name"] == "+84" + username[1:]
    created = post_json(client, REG_VERIFY + "?name=Điện%20thoại%20của%20tôi", auth.create(o), **bearer(tokens))
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Điện thoại của tôi" and "public_key" not in created.json()

    options = client.post(AUTH_OPTIONS)
    assert options.status_code == 200 and options.json()["allowCredentials"] == []
    r = post_json(client, AUTH_VERIFY, auth.get(options.json()))
    assert r.status_code == 200, r.text
    pair = r.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    who = me(client, pair)
    assert who["username"] == "+84" + username[1:] and who["amr"] == ["webauthn"]
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200


def test_registration_needs_a_bearer_token(client) -> None:  # type: ignore[no-untyped-def]
    is_problem(client.post(REG_OPTIONS), 401)
    is_problem(post_json(client, REG_VERIFY, {}), 401)
    is_problem(client.post("/api/v1/auth/step-up/options"), 401)
    is_problem(client.get("/api/v1/me/passkeys"), 401)


def test_wrong_origin_rp_id_reused_challenge_and_replay(client) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    auth = SoftAuthenticator()
    add_passkey(client, tokens, auth)
    is_problem(passkey_sign_in(client, auth, origin="https://dichvucong.evil.example"), 400, "origin")
    is_problem(passkey_sign_in(client, auth, rp_id="evil.example"), 400, "RP ID")
    options = client.post(AUTH_OPTIONS).json()
    assertion = auth.get(options)
    assert post_json(client, AUTH_VERIFY, assertion).status_code == 200
    is_problem(post_json(client, AUTH_VERIFY, assertion), 400, "challenge")  # same answer, used challenge
    cred = next(iter(auth.credentials.values()))
    is_problem(passkey_sign_in(client, auth, counter=cred.sign_count), 400, "counter")  # replay, fresh challenge
    step_up(client, tokens, auth)
    options = client.post(REG_OPTIONS, headers=bearer(tokens)).json()
    is_problem(post_json(client, REG_VERIFY, auth.create(options, origin="http://localhost:9999"), **bearer(tokens)),
               400, "origin")


def test_counter_going_backwards_is_refused_and_audited(client, db: Database) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    user_id = me(client, tokens)["id"]
    auth = SoftAuthenticator()
    add_passkey(client, tokens, auth)
    assert passkey_sign_in(client, auth, counter=50).status_code == 200
    is_problem(passkey_sign_in(client, auth, counter=49), 400, "counter")
    assert audit(db, "auth.passkey_counter_regressed", user_id)[-1]["received"] == 49
    assert audit(db, "auth.login_failed", user_id)[-1]["reason"] == "counter"


def test_officer_must_verify_the_user(client, db: Database) -> None:  # type: ignore[no-untyped-def]
    phone = new_phone()
    db.run(lambda s: service.create_user(s, "officer", phone, PASSWORD, full_name="Cán Bộ Một", cfg=auth_cfg()))
    tokens = login(client, phone)
    assert me(client, tokens)["passkey_required"] is True
    auth = SoftAuthenticator()
    is_problem(client.post(REG_OPTIONS, headers=bearer(tokens)), 403, "mã đăng ký")  # a password alone: no
    options = client.post(REG_OPTIONS, headers=bearer(tokens), json={"enrolment_code": enrolment_code(phone)}).json()
    assert options["authenticatorSelection"]["userVerification"] == "required"
    is_problem(post_json(client, REG_VERIFY, auth.create(options, uv=False), **bearer(tokens)), 400,
               "user verification")
    add_passkey(client, tokens, auth, enrolment_code=enrolment_code(phone))  # a code is spent once
    assert me(client, tokens)["passkey_required"] is False
    is_problem(passkey_sign_in(client, auth, uv=False), 400, "user verification")
    assert passkey_sign_in(client, auth).status_code == 200


def test_expired_and_other_users_challenges(client, db: Database) -> None:  # type: ignore[no-untyped-def]
    _, alice = signed_in(client)
    _, bob = signed_in(client)
    auth = SoftAuthenticator()
    options = client.post(REG_OPTIONS, headers=bearer(alice)).json()
    is_problem(post_json(client, REG_VERIFY, auth.create(options), **bearer(bob)), 400, "challenge")
    options = client.post(REG_OPTIONS, headers=bearer(alice)).json()
    db.run(lambda s: s.execute(update(WebAuthnChallenge).where(WebAuthnChallenge.challenge == options["challenge"])
                               .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))))
    is_problem(post_json(client, REG_VERIFY, auth.create(options), **bearer(alice)), 400, "hết hạn")


@pytest.mark.parametrize("url", [AUTH_VERIFY, REG_VERIFY, "/api/v1/auth/step-up/verify"])
@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b"null", b'{"id": 5}', b"\xff\xfe",
                                  b'{"id": "x", "response": {"clientDataJSON": "%%%"}}', b"[" * 20000])
def test_malformed_bodies_are_4xx(client, url: str, body: bytes) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client) if url != AUTH_VERIFY else (None, None)
    headers = {"content-type": "application/json", **(bearer(tokens) if tokens else {})}
    r = client.post(url, content=body, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith(PROBLEM)


def test_oversized_body_is_413(client) -> None:  # type: ignore[no-untyped-def]
    big = b'{"id": "' + b"a" * 100_000 + b'", "response": {}}'
    r = client.post(AUTH_VERIFY, content=big, headers={"content-type": "application/json"})
    is_problem(r, 413)


def test_list_rename_and_delete(client, db: Database) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    _, other = signed_in(client)
    auth = SoftAuthenticator()
    first = add_passkey(client, tokens, auth)
    step_up(client, tokens, auth)
    second = add_passkey(client, tokens, auth)
    listed = client.get("/api/v1/me/passkeys", headers=bearer(tokens)).json()
    assert [p["id"] for p in listed] == [first["id"], second["id"]]
    assert set(listed[0]) == {"id", "name", "created_at", "last_used_at", "backed_up", "transports", "aaguid"}
    r = client.patch(f"/api/v1/me/passkeys/{first['id']}", json={"name": "Khoá USB"}, headers=bearer(tokens))
    assert r.status_code == 200 and r.json()["name"] == "Khoá USB"
    is_problem(client.patch(f"/api/v1/me/passkeys/{first['id']}", json={"name": "x"}, headers=bearer(other)), 404)
    is_problem(client.patch(f"/api/v1/me/passkeys/{first['id']}", json={"name": "   "}, headers=bearer(tokens)), 400)
    is_problem(client.delete(f"/api/v1/me/passkeys/{first['id']}", headers=bearer(other)), 404)
    assert client.delete(f"/api/v1/me/passkeys/{first['id']}", headers=bearer(tokens)).status_code == 204
    assert [p["id"] for p in client.get("/api/v1/me/passkeys", headers=bearer(tokens)).json()] == [second["id"]]
    user_id = me(client, tokens)["id"]
    assert audit(db, "auth.passkey_removed", user_id)[-1]["name"] == "Khoá USB"
    assert len(audit(db, "auth.passkey_added", user_id)) == 2


def test_cannot_delete_the_last_way_to_sign_in(client, db: Database) -> None:  # type: ignore[no-untyped-def]
    def passwordless(session):  # type: ignore[no-untyped-def]
        user = service.create_user(session, "citizen", new_phone(), None, full_name="Phạm Thị Dung", cfg=auth_cfg())
        pair = start_session(session, user, "pwd", cfg=auth_cfg())
        return {"access_token": pair.access_token}

    tokens = db.run(passwordless)
    auth = SoftAuthenticator()
    a = add_passkey(client, tokens, auth)
    step_up(client, tokens, auth)
    b = add_passkey(client, tokens, auth)
    assert client.delete(f"/api/v1/me/passkeys/{a['id']}", headers=bearer(tokens)).status_code == 204
    is_problem(client.delete(f"/api/v1/me/passkeys/{b['id']}", headers=bearer(tokens)), 409)
    assert passkey_sign_in(client, auth).status_code == 200


def test_step_up(client, db: Database) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    auth = SoftAuthenticator()
    pk = add_passkey(client, tokens, auth)
    sid = next(s["id"] for s in client.get("/api/v1/me/sessions", headers=bearer(tokens)).json() if s["current"])
    with pytest.raises(StepUpRequired):
        db.run(require_step_up, sid)
    options = client.post("/api/v1/auth/step-up/options", headers=bearer(tokens))
    assert options.status_code == 200 and len(options.json()["allowCredentials"]) == 1
    assert options.json()["allowCredentials"][0]["id"] == db.run(
        lambda s: s.scalar(select(Passkey.credential_id).where(Passkey.id == pk["id"])))
    r = post_json(client, "/api/v1/auth/step-up/verify", auth.get(options.json()), **bearer(tokens))
    assert r.status_code == 200 and r.json() == {"status": "ok", "valid_for": 300}
    db.run(require_step_up, sid)
    db.run(lambda s: s.execute(update(AuthSession).where(AuthSession.id == sid)
                               .values(step_up_at=datetime.now(UTC) - timedelta(minutes=6))))
    with pytest.raises(StepUpRequired):
        db.run(require_step_up, sid)
    stale = client.post("/api/v1/auth/step-up/options", headers=bearer(tokens)).json()
    is_problem(post_json(client, "/api/v1/auth/step-up/verify", auth.get(stale, origin="https://evil.example"),
                         **bearer(tokens)), 400, "origin")


# --- the pages' JSON twins (cookie session + CSRF) ----------------------------------------------
def test_pages_add_passkey_sign_in_and_step_up(page_client, client) -> None:  # type: ignore[no-untyped-def]
    username, _ = signed_in(client)
    token = page_csrf(page_client)
    r = page_client.post("/dang-nhap", data={"_csrf_token": token, "username": username, "password": PASSWORD},
                         follow_redirects=False)
    assert r.status_code == 303, r.text
    auth = SoftAuthenticator()
    token = page_csrf(page_client, "/tai-khoan")
    options = page_post(page_client, "/tai-khoan/passkeys/options", token)
    assert options.status_code == 200, options.text
    added = page_post(page_client, "/tai-khoan/passkeys/verify?name=Laptop", token, auth.create(options.json()))
    assert added.status_code == 200 and added.json()["name"] == "Laptop"

    options = page_post(page_client, "/tai-khoan/xac-thuc-lai/options", token)
    assert options.status_code == 200 and options.json()["allowCredentials"]
    stepped = page_post(page_client, "/tai-khoan/xac-thuc-lai/verify", token, auth.get(options.json()))
    assert stepped.status_code == 200 and stepped.json()["status"] == "ok"

    for name in ("motcua_at", "motcua_rt"):  # sign out locally, keep the CSRF cookie
        page_client.cookies.delete(name)
    token = page_csrf(page_client)  # the signed-in session's token is not good without it: a new one
    options = page_post(page_client, "/dang-nhap/passkey/options", token)
    assert options.status_code == 200 and options.json()["allowCredentials"] == []
    signed = page_post(page_client, "/dang-nhap/passkey/verify?next=/to-chuc", token, auth.get(options.json()))
    assert signed.status_code == 200 and signed.json() == {"redirect": "/to-chuc"}
    cookies = signed.headers.get_list("set-cookie")
    assert any(c.startswith("motcua_at=") and "HttpOnly" in c for c in cookies)
    assert page_client.get("/tai-khoan", follow_redirects=False).status_code == 200


def test_pages_refuse_without_csrf_or_session_and_keep_redirects_local(page_client) -> None:  # type: ignore[no-untyped-def]
    token = page_csrf(page_client)
    r = page_client.post("/dang-nhap/passkey/options", json={})
    assert r.status_code == 403  # no X-CSRFToken header
    r = page_post(page_client, "/tai-khoan/passkeys/options", token)
    assert r.status_code == 401 and r.headers["content-type"].startswith(PROBLEM)
    r = page_post(page_client, "/dang-nhap/passkey/verify", token, {"id": "x"})
    assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM)
    assert safe_next("/ho-so/12?x=1") == "/ho-so/12?x=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil.example", "", None, "/a\nb"):
        assert safe_next(bad) == "/tai-khoan"


def test_passkeys_script_is_served_and_small(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/static/passkeys.js", headers={"accept-encoding": "identity"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert len(r.content) < 4096
    for needle in (
        "parseCreationOptionsFromJSON",
        "parseRequestOptionsFromJSON",
        "toJSON",
        "isConditionalMediationAvailable",
        'mediation: "conditional"',
        "data-passkey-status",
        "X-CSRFToken",
        "documentElement.lang",
    ):
        assert needle in r.text, needle
