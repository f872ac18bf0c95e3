"""Identity over HTTP: registration, sign-in, tokens and the attacks on them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auth import ratelimit
from auth.tokens import _keys
from domain.db import Database
from tests.helpers import PASSWORD, age_refresh_tokens, bearer, login, new_phone, register, signed_in, tax_code

PROBLEM = "application/problem+json"


def test_register_login_me(client) -> None:  # type: ignore[no-untyped-def]
    username = register(client, full_name="Trần Thị Bình")
    tokens = login(client, username)
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer" and 0 < tokens["expires_in"] <= 15 * 60
    me = client.get("/api/v1/me", headers=bearer(tokens)).json()
    assert me["full_name"] == "Trần Thị Bình" and me["username"] == "+84" + username[1:]
    assert me["kind"] == "citizen" and me["identity_level"] == 1 and me["amr"] == ["pwd"]


def test_access_token_claims(client) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    header = jwt.get_unverified_header(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert header["alg"] == "HS256" and header["kid"]
    for claim in ("iss", "aud", "sub", "typ", "exp", "iat", "auth_time", "amr", "roles", "sid"):
        assert claim in claims
    assert claims["typ"] == "access" and claims["amr"] == ["pwd"] and claims["exp"] - claims["iat"] <= 900


def test_register_duplicate_and_bad_input(client) -> None:  # type: ignore[no-untyped-def]
    username = register(client)
    r = client.post("/api/v1/auth/register", json={"full_name": "X Y", "username": username, "password": PASSWORD})
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM)
    for body, field in [
        ({"full_name": "An", "username": "abc", "password": PASSWORD}, "username"),
        ({"full_name": "An Nguyen", "username": new_phone(), "password": "12345678"}, "password"),
        ({"full_name": "An Nguyen", "username": new_phone(), "password": "short"}, "password"),
        ({"full_name": "A", "username": new_phone(), "password": PASSWORD}, "full_name"),
        ({"full_name": "An Nguyen", "username": new_phone(), "password": PASSWORD, "cccd": "12"}, "cccd"),
    ]:
        r = client.post("/api/v1/auth/register", json=body)
        assert r.status_code == 400, r.text
        assert r.json().get("field") == field


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"username": 1}', b"{" * 5000])
def test_malformed_bodies_are_4xx(client, body: bytes) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/login", content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith(PROBLEM)


def test_oversized_body_is_413(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/register", content=b'{"x":"' + b"a" * 2_000_000 + b'"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_wrong_password_does_not_reveal_account(client) -> None:  # type: ignore[no-untyped-def]
    username = register(client)
    wrong = client.post("/api/v1/auth/login", json={"username": username, "password": "sai mật khẩu rồi"})
    unknown = client.post("/api/v1/auth/login", json={"username": new_phone(), "password": "sai mật khẩu rồi"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_refresh_rotation_and_replay_revokes_family(client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    _, first = signed_in(client)
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
    age_refresh_tokens(database_url, first["refresh_token"])  # past the grace of two tabs at once
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    # the whole family is gone: the newest refresh token and its access token too
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 401


def test_logout_ends_tokens(client) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(tokens)).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_sessions_list_and_end(client) -> None:  # type: ignore[no-untyped-def]
    username, one = signed_in(client)
    two = login(client, username)
    sessions = client.get("/api/v1/me/sessions", headers=bearer(one)).json()
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
    other = next(s for s in sessions if not s["current"])
    assert client.delete(f"/api/v1/me/sessions/{other['id']}", headers=bearer(one)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(two)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(one)).status_code == 200
    # someone else's session id is simply not found
    _, stranger = signed_in(client)
    mine = client.get("/api/v1/me/sessions", headers=bearer(one)).json()[0]["id"]
    assert client.delete(f"/api/v1/me/sessions/{mine}", headers=bearer(stranger)).status_code == 404


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_jwt_attacks(client) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    good = tokens["access_token"]
    header = jwt.get_unverified_header(good)
    claims = jwt.decode(good, options={"verify_signature": False})
    head, body, sig = good.split(".")
    attacks = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': header['kid']})}.{body}.",
        "tampered payload": f"{head}.{_b64({**claims, 'roles': ['admin']})}.{sig}",
        "tampered signature": f"{head}.{body}.{sig[:-4]}AAAA",
        "wrong key": jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": header["kid"]}),
        "expired": None,
        "wrong audience": None,
        "refresh used as access": None,
        "garbage": "not.a.jwt",
    }
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacks["RS256 instead of HS256"] = jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"]})
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # HS/RS confusion: HMAC signed with the public key bytes (pyjwt refuses to do it, so build it by hand)
    confused_head = _b64({"alg": "HS256", "typ": "JWT", "kid": header["kid"]})
    mac = hmac.new(public_pem, f"{confused_head}.{body}".encode(), hashlib.sha256).digest()
    attacks["HS/RS confusion"] = f"{confused_head}.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    real_key = _keys(client.app.state.auth)[header["kid"]]
    attacks["expired"] = jwt.encode({**claims, "exp": int(time.time()) - 60, "iat": int(time.time()) - 700},
                                    real_key, algorithm="HS256", headers={"kid": header["kid"]})
    attacks["wrong audience"] = jwt.encode({**claims, "aud": "someone-else"}, real_key, algorithm="HS256",
                                           headers={"kid": header["kid"]})
    attacks["refresh used as access"] = tokens["refresh_token"]
    attacks["wrong typ"] = jwt.encode({**claims, "typ": "refresh"}, real_key, algorithm="HS256",
                                      headers={"kid": header["kid"]})
    for name, token in attacks.items():
        r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert r.headers["content-type"].startswith(PROBLEM), name
    assert client.get("/api/v1/me", headers=bearer(tokens)).status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_login_rate_limited_per_account(client) -> None:  # type: ignore[no-untyped-def]
    username = register(client)
    statuses = [client.post("/api/v1/auth/login", json={"username": username, "password": "sai mật khẩu rồi"},
                            headers={"X-Forwarded-For": "10.9.9.9"}).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0  # even the right password waits


def test_one_time_code_verifies_phone(client, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    with caplog.at_level(logging.WARNING, logger="motcua.codes"):
        r = client.post("/api/v1/auth/codes", json={"channel": "phone"}, headers=bearer(tokens))
    assert r.status_code == 202
    code = caplog.records[-1].getMessage().rsplit(": ", 1)[1]
    assert len(code) == 6 and code.isdigit()
    wrong = client.post(
        "/api/v1/auth/codes/verify",
        json={"channel": "phone", "code": "000000" if code != "000000" else "111111"},
        headers=bearer(tokens),
    )
    assert wrong.status_code == 400
    ok = client.post("/api/v1/auth/codes/verify", json={"channel": "phone", "code": code}, headers=bearer(tokens))
    assert ok.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(tokens)).json()["phone_verified"] is True
    again = client.post("/api/v1/auth/codes/verify", json={"channel": "phone", "code": code}, headers=bearer(tokens))
    assert again.status_code == 400  # single use
    no_email = client.post("/api/v1/auth/codes", json={"channel": "email"}, headers=bearer(tokens))
    assert no_email.status_code == 400


def test_code_requests_limited(client) -> None:  # type: ignore[no-untyped-def]
    _, tokens = signed_in(client)
    statuses = [client.post("/api/v1/auth/codes", json={"channel": "phone"}, headers=bearer(tokens)).status_code
                for _ in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_organisation_accounts(client, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    _, owner = signed_in(client)
    staff_name, staff = signed_in(client)
    bad = client.post("/api/v1/me/organisations", json={"name": "Công ty A", "tax_code": "0100109107"},
                      headers=bearer(owner))
    assert bad.status_code == 400 and bad.json()["field"] == "tax_code"
    tax = tax_code()  # a fresh valid tax code (the DB is shared by the test session)
    org = client.post("/api/v1/me/organisations", json={"name": "Công ty TNHH Bình An", "tax_code": tax},
                      headers=bearer(owner))
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    dup = client.post("/api/v1/me/organisations", json={"name": "Khác", "tax_code": tax}, headers=bearer(staff))
    assert dup.status_code == 409
    # staff cannot invite; owner can
    assert client.post(f"/api/v1/me/organisations/{org_id}/invitations", json={"username": new_phone()},
                       headers=bearer(staff)).status_code == 404
    inv = client.post(f"/api/v1/me/organisations/{org_id}/invitations", json={"username": staff_name, "role": "staff"},
                      headers=bearer(owner))
    assert inv.status_code == 201
    with caplog.at_level(logging.WARNING, logger="motcua.codes"):  # the code to the invited number
        sent = client.post(f"/api/v1/me/invitations/{inv.json()['id']}/code", headers=bearer(staff))
    assert sent.status_code == 202 and sent.json()["channel"] == "phone"
    code = caplog.records[-1].getMessage().rsplit(": ", 1)[1]
    acc = client.post(f"/api/v1/me/invitations/{inv.json()['id']}/accept", headers=bearer(staff),
                      json={"code": code})
    assert acc.status_code == 200 and acc.json()["role"] == "staff"
    staff_tokens = login(client, staff_name)
    orgs = client.get("/api/v1/me", headers=bearer(staff_tokens)).json()["organisations"]
    assert [(o["id"], o["role"]) for o in orgs] == [(org_id, "staff")]
    roles = jwt.decode(staff_tokens["access_token"], options={"verify_signature": False})["roles"]
    assert f"org_staff@{org_id}" in roles


def test_client_address_limit(database_url: str) -> None:
    """Per-address limits, checked on the core with the real factor of 1."""
    db = Database(database_url)
    ip = f"198.51.100.{int(time.time()) % 250}"

    def hammer(session):  # type: ignore[no-untyped-def]
        return [ratelimit.hit(session, ratelimit.Limit("t-login", 3, ratelimit.LOGIN_CLIENT.window,
                                                       ratelimit.LOGIN_CLIENT.block), ip, factor=1) for _ in range(4)]

    waits = db.run(hammer)
    assert waits[:2] == [None, None] and waits[2] and waits[3]
    retry = db.run(lambda s: ratelimit.retry_after(s, ratelimit.Limit("t-login", 3, ratelimit.LOGIN_CLIENT.window,
                                                                     ratelimit.LOGIN_CLIENT.block), ip))
    assert retry is not None and retry > 0
