"""Passkeys on the core (auth.passkeys), with a software authenticator and the real database."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from auth import accounts as service
from auth import passkeys, ratelimit
from auth.passkeys import PasskeyError, StepUpRequired
from auth.tokens import TokenPair, start_session
from domain.accounts.models import AuthSession, Passkey, WebAuthnChallenge
from domain.audit import AuditEvent
from domain.db import Database
from domain.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from tests.helpers import PASSWORD, auth_cfg, new_phone
from tests.softauthn import SoftAuthenticator, b64u, unb64u

ORIGIN = "http://localhost:8000"


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


def new_user(db: Database, kind: str = "citizen", password: bool = True) -> int:
    return db.run(lambda s: service.create_user(s, kind, new_phone(), PASSWORD if password else None,
                                                full_name="Nguyễn Văn An", cfg=auth_cfg()).id)


def enrol(db: Database, user_id: int, auth: SoftAuthenticator, **kw: Any) -> Passkey:
    options = db.run(passkeys.registration_options, user_id, cfg=auth_cfg())
    result = db.run(passkeys.verify_registration, user_id, auth.create(options, **kw), name="Điện thoại", ip="10.0.0.1",
                    cfg=auth_cfg())
    assert isinstance(result, Passkey), result
    return result


def enrolled(db: Database) -> tuple[int, SoftAuthenticator]:
    """A citizen with one passkey, and the authenticator holding it."""
    user, auth = new_user(db), SoftAuthenticator()
    enrol(db, user, auth)
    return user, auth


def sign_in(db: Database, auth: SoftAuthenticator, **kw: Any) -> TokenPair | PasskeyError:
    options = db.run(passkeys.authentication_options, cfg=auth_cfg())
    return db.run(passkeys.verify_authentication, auth.get(options, **kw), ip="10.0.0.2", user_agent="pytest",
                  cfg=auth_cfg())


def events(db: Database, event: str, actor_id: int) -> list[dict[str, Any]]:
    rows = db.run(lambda s: list(s.scalars(select(AuditEvent).where(AuditEvent.event == event,
                                                                   AuditEvent.actor_id == actor_id))))
    return [{"subject": r.subject, "authenticated": r.authenticated, **json.loads(r.detail)} for r in rows]


def refused(result: object, reason: str) -> None:
    assert isinstance(result, PasskeyError), result
    assert result.reason == reason, (result.reason, result.detail)
    assert result.status in (400, 403) and result.detail


# --- registration -----------------------------------------------------------------------------
def test_registration_options_follow_the_issue(db: Database) -> None:
    citizen, officer = new_user(db), new_user(db, "officer")
    o = db.run(passkeys.registration_options, citizen, cfg=auth_cfg())
    assert o["rp"] == {"name": "Dịch vụ công", "id": "localhost"}
    assert o["authenticatorSelection"]["residentKey"] == "required"
    assert o["authenticatorSelection"]["userVerification"] == "preferred"
    assert o["attestation"] == "none" and o["timeout"] == 300_000
    assert o["excludeCredentials"] == []
    assert unb64u(o["user"]["id"]) == passkeys.user_handle(citizen)
    row = db.run(lambda s: s.scalar(select(WebAuthnChallenge).where(WebAuthnChallenge.challenge == o["challenge"])))
    assert row.purpose == "register" and row.user_id == citizen and row.used_at is None
    assert timedelta(minutes=4) < row.expires_at.replace(tzinfo=UTC) - datetime.now(UTC) <= timedelta(minutes=5)
    assert db.run(passkeys.registration_options, officer,
                  cfg=auth_cfg())["authenticatorSelection"]["userVerification"] == "required"

    auth = SoftAuthenticator()
    pk = enrol(db, citizen, auth)
    again = db.run(passkeys.registration_options, citizen, cfg=auth_cfg())
    assert [c["id"] for c in again["excludeCredentials"]] == [pk.credential_id]
    added = events(db, "auth.passkey_added", citizen)
    assert added and added[-1]["subject"] == f"passkey:{pk.id}" and added[-1]["name"] == "Điện thoại"


def test_register_then_sign_in_with_passkey_alone(db: Database) -> None:
    user = new_user(db)
    auth = SoftAuthenticator()
    pk = enrol(db, user, auth, backed_up=True)
    assert pk.backed_up and pk.transports == "internal,hybrid" and pk.sign_count == 0
    options = db.run(passkeys.authentication_options, cfg=auth_cfg())
    assert options["allowCredentials"] == [] and options["rpId"] == "localhost"
    pair = db.run(passkeys.verify_authentication, auth.get(options), ip="10.0.0.2", user_agent="pytest", cfg=auth_cfg())
    assert isinstance(pair, TokenPair)
    s = db.run(lambda s: s.get(AuthSession, pair.session_id))
    assert s.user_id == user and s.amr == "webauthn" and s.step_up_at is not None
    stored = db.run(lambda s: s.get(Passkey, pk.id))
    assert stored.sign_count == 1 and stored.last_used_at is not None
    ok = events(db, "auth.login_ok", user)
    assert ok[-1]["authenticated"] == "webauthn" and ok[-1]["subject"] == f"session:{pair.session_id}"


def test_registration_refusals(db: Database) -> None:
    user, other = new_user(db), new_user(db)
    auth = SoftAuthenticator()
    options = db.run(passkeys.registration_options, user, cfg=auth_cfg())
    refused(db.run(passkeys.verify_registration, user, auth.create(options, origin="https://evil.example"),
                   cfg=auth_cfg()), "origin")
    options = db.run(passkeys.registration_options, user, cfg=auth_cfg())
    refused(db.run(passkeys.verify_registration, user, auth.create(options, rp_id="evil.example"),
                   cfg=auth_cfg()), "rp_id")
    options = db.run(passkeys.registration_options, user, cfg=auth_cfg())
    refused(db.run(passkeys.verify_registration, user, auth.create(options, up=False), cfg=auth_cfg()), "user_presence")
    options = db.run(passkeys.registration_options, user, cfg=auth_cfg())  # another user's challenge
    refused(db.run(passkeys.verify_registration, other, auth.create(options), cfg=auth_cfg()), "challenge_mismatch")
    options = db.run(passkeys.registration_options, user, cfg=auth_cfg())
    response = auth.create(options)
    assert isinstance(db.run(passkeys.verify_registration, user, response, cfg=auth_cfg()), Passkey)
    refused(db.run(passkeys.verify_registration, user, response, cfg=auth_cfg()), "challenge_used")
    failed = events(db, "auth.passkey_add_failed", user)
    assert [f["reason"] for f in failed] == ["origin", "rp_id", "user_presence", "challenge_used"]


def test_credential_ids_are_unique_and_bounded(db: Database) -> None:
    alice, bob = new_user(db), new_user(db)
    auth = SoftAuthenticator()
    same = b"\x01" * 16
    options = db.run(passkeys.registration_options, alice, cfg=auth_cfg())
    assert isinstance(db.run(passkeys.verify_registration, alice, auth.create(options, credential_id=same),
                             cfg=auth_cfg()), Passkey)
    options = db.run(passkeys.registration_options, bob, cfg=auth_cfg())
    refused(db.run(passkeys.verify_registration, bob, auth.create(options, credential_id=same),
                   cfg=auth_cfg()), "already_registered")
    options = db.run(passkeys.registration_options, bob, cfg=auth_cfg())
    refused(db.run(passkeys.verify_registration, bob, auth.create(options, credential_id=b"\x02" * 800),
                   cfg=auth_cfg()),
            "credential_id")


def test_two_processes_cannot_both_spend_a_challenge(database_url: str, db: Database) -> None:
    """The same assertion sent to two app processes at once: exactly one sign-in."""
    auth = SoftAuthenticator()
    enrol(db, new_user(db), auth)
    assertion = auth.get(db.run(passkeys.authentication_options, cfg=auth_cfg()))
    barrier = threading.Barrier(2)

    def attempt() -> object:
        process = Database(database_url)  # its own engine, like another process
        barrier.wait()
        return process.run(passkeys.verify_authentication, assertion, cfg=auth_cfg())

    with ThreadPoolExecutor(2) as pool:
        results = [f.result() for f in [pool.submit(attempt) for _ in range(2)]]
    assert sum(isinstance(r, TokenPair) for r in results) == 1
    assert [r.reason for r in results if isinstance(r, PasskeyError)] == ["challenge_used"]


def test_officer_needs_user_verification(db: Database) -> None:
    officer = new_user(db, "officer")
    auth = SoftAuthenticator()
    options = db.run(passkeys.registration_options, officer, cfg=auth_cfg())
    refused(db.run(passkeys.verify_registration, officer, auth.create(options, uv=False),
                   cfg=auth_cfg()), "user_verification")
    enrol(db, officer, auth)
    refused(sign_in(db, auth, uv=False), "user_verification")
    assert isinstance(sign_in(db, auth), TokenPair)
    citizen_auth = SoftAuthenticator()
    enrol(db, new_user(db), citizen_auth, uv=False)  # citizens: UV preferred, not required
    assert isinstance(sign_in(db, citizen_auth, uv=False), TokenPair)
    refused(sign_in(db, citizen_auth, up=False), "user_presence")  # UP always


# --- sign-in attacks --------------------------------------------------------------------------
def test_wrong_origin_rp_id_and_cross_origin(db: Database) -> None:
    user, auth = enrolled(db)
    refused(sign_in(db, auth, origin="https://localhost.evil.example"), "origin")
    refused(sign_in(db, auth, origin="http://localhost:8001"), "origin")
    refused(sign_in(db, auth, rp_id="evil.example"), "rp_id")
    refused(sign_in(db, auth, client_extra={"crossOrigin": True}), "cross_origin")
    assert [e["reason"] for e in events(db, "auth.login_failed", user)][-4:] == \
        ["origin", "origin", "rp_id", "cross_origin"]
    assert isinstance(sign_in(db, auth), TokenPair)


def test_reused_challenge_and_replayed_assertion(db: Database) -> None:
    user, auth = enrolled(db)
    options = db.run(passkeys.authentication_options, cfg=auth_cfg())
    assertion = auth.get(options)
    assert isinstance(db.run(passkeys.verify_authentication, assertion, cfg=auth_cfg()), TokenPair)
    # the same answer again
    refused(db.run(passkeys.verify_authentication, assertion, cfg=auth_cfg()), "challenge_used")
    # the same counter under a fresh challenge (a replayed or cloned authenticator)
    cred = next(iter(auth.credentials.values()))
    refused(sign_in(db, auth, counter=cred.sign_count), "counter")
    assert events(db, "auth.passkey_counter_regressed", user)[-1]["received"] == 1


def test_counter_going_backwards_is_refused_and_recorded(db: Database) -> None:
    user = new_user(db)
    auth = SoftAuthenticator()
    pk = enrol(db, user, auth)
    assert isinstance(sign_in(db, auth, counter=10), TokenPair)
    refused(sign_in(db, auth, counter=7), "counter")
    alarm = events(db, "auth.passkey_counter_regressed", user)
    assert alarm[-1] == {"subject": f"passkey:{pk.id}", "authenticated": "", "stored": 10, "received": 7,
                         "purpose": "authenticate"}
    assert db.run(lambda s: s.get(Passkey, pk.id)).sign_count == 10
    assert isinstance(sign_in(db, auth, counter=11), TokenPair)


def test_zero_counters_are_fine(db: Database) -> None:
    """Synced passkeys always say 0: nothing to compare, nothing refused."""
    auth = SoftAuthenticator(counting=False)
    enrol(db, new_user(db), auth)
    assert isinstance(sign_in(db, auth), TokenPair)
    assert isinstance(sign_in(db, auth), TokenPair)


def test_expired_unknown_and_misused_challenges(db: Database) -> None:
    user, auth = enrolled(db)
    options = db.run(passkeys.authentication_options, cfg=auth_cfg())
    db.run(lambda s: s.execute(update(WebAuthnChallenge).where(WebAuthnChallenge.challenge == options["challenge"])
                               .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))))
    refused(db.run(passkeys.verify_authentication, auth.get(options), cfg=auth_cfg()), "challenge_expired")
    refused(db.run(passkeys.verify_authentication, auth.get({**options, "challenge": b64u(b"x" * 64)}), cfg=auth_cfg()),
            "unknown_challenge")
    session_id = db.run(lambda s: start_session(s, service.get_user(s, user), "pwd", cfg=auth_cfg())).session_id
    step_up = db.run(passkeys.step_up_options, session_id, user,
                     cfg=auth_cfg())  # a step-up challenge is not a sign-in one
    refused(db.run(passkeys.verify_authentication, auth.get(step_up), cfg=auth_cfg()), "challenge_mismatch")


def test_expired_challenges_are_purged(db: Database) -> None:
    old = db.run(passkeys.authentication_options, cfg=auth_cfg())["challenge"]
    db.run(lambda s: s.execute(update(WebAuthnChallenge).where(WebAuthnChallenge.challenge == old)
                               .values(expires_at=datetime.now(UTC) - timedelta(hours=1))))
    db.run(passkeys.authentication_options, cfg=auth_cfg())
    assert db.run(lambda s: s.scalar(select(WebAuthnChallenge.id).where(WebAuthnChallenge.challenge == old))) is None


def test_unknown_credential_user_handle_and_disabled_account(db: Database) -> None:
    user, auth = enrolled(db)
    stranger = SoftAuthenticator()
    stranger.create(db.run(passkeys.registration_options, user, cfg=auth_cfg()))  # made, never verified: unknown here
    refused(sign_in(db, stranger), "unknown_credential")
    refused(sign_in(db, auth, user_handle=passkeys.user_handle(user + 1)), "wrong_user")
    db.run(service.set_disabled, user, True, actor=user)
    result = sign_in(db, auth)
    refused(result, "disabled")
    assert result.status == 403  # type: ignore[union-attr]


@pytest.mark.parametrize("body", [
    "", "null", "[]", "{}", '{"id": 1}', '{"id": "x", "response": []}', '{"id": "x", "response": {}}',
    '{"id": "x", "response": {"clientDataJSON": "!!!"}}', '{"id": "x", "response": {"clientDataJSON": "e30"}}',
    "[" * 5000 + "]" * 5000,
])
def test_malformed_input_is_a_clean_refusal(db: Database, body: str) -> None:
    with pytest.raises(PasskeyError) as exc:
        db.run(passkeys.verify_authentication, body, cfg=auth_cfg())
    assert exc.value.reason == "malformed" and exc.value.status == 400


def test_hostile_fields_after_a_valid_challenge(db: Database) -> None:
    """Broken fields next to a real challenge: refused (and recorded), never an exception."""
    auth = SoftAuthenticator()
    enrol(db, new_user(db), auth)
    for damage in ({"signature": "AAAA"}, {"authenticatorData": "AA"}, {"userHandle": 5},
                   {"signature": b64u(b"\x30" * 72)}):
        options = db.run(passkeys.authentication_options, cfg=auth_cfg())
        assertion = auth.get(options)
        assertion["response"].update(damage)
        result = db.run(passkeys.verify_authentication, assertion, cfg=auth_cfg())
        assert isinstance(result, PasskeyError), damage


def test_sign_in_failures_are_limited(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passkeys, "SIGNIN_FAILURES", ratelimit.Limit(
        "t-passkey", 3, timedelta(minutes=15), timedelta(minutes=15)))
    auth = SoftAuthenticator()
    enrol(db, new_user(db), auth)
    ip = f"203.0.113.{datetime.now().microsecond % 250}"
    bogus = auth.get({"challenge": b64u(b"y" * 64), "rpId": "localhost"})
    for _ in range(3):
        refused(db.run(passkeys.verify_authentication, bogus, ip=ip, cfg=auth_cfg()), "unknown_challenge")
    with pytest.raises(TooManyRequests):
        db.run(passkeys.verify_authentication, bogus, ip=ip, cfg=auth_cfg())
    with pytest.raises(TooManyRequests):
        db.run(passkeys.authentication_options, ip=ip, cfg=auth_cfg())


# --- managing ---------------------------------------------------------------------------------
def test_list_rename_delete(db: Database) -> None:
    user, other = new_user(db), new_user(db)
    auth = SoftAuthenticator()
    first, second = enrol(db, user, auth), enrol(db, user, auth)
    assert [p.id for p in db.run(passkeys.list_passkeys, user)] == [first.id, second.id]
    renamed = db.run(passkeys.rename_passkey, user, first.id, "  Máy   tính\u0000 cơ quan ")
    assert renamed.name == "Máy tính cơ quan"
    with pytest.raises(InvalidInput):
        db.run(passkeys.rename_passkey, user, first.id, " \t ")
    assert len(db.run(passkeys.rename_passkey, user, first.id, "x" * 500).name) == 100
    with pytest.raises(NotFound):
        db.run(passkeys.rename_passkey, other, first.id, "mine now")
    with pytest.raises(NotFound):
        db.run(passkeys.delete_passkey, other, first.id)
    db.run(passkeys.delete_passkey, user, first.id, ip="10.0.0.9")
    db.run(passkeys.delete_passkey, user, second.id)  # the password remains a way in
    assert db.run(passkeys.list_passkeys, user) == []
    assert [e["subject"] for e in events(db, "auth.passkey_removed", user)] == \
        [f"passkey:{first.id}", f"passkey:{second.id}"]


def test_cannot_delete_the_last_way_to_sign_in(db: Database) -> None:
    passwordless = new_user(db, password=False)
    auth = SoftAuthenticator()
    a, b = enrol(db, passwordless, auth), enrol(db, passwordless, auth)
    db.run(passkeys.delete_passkey, passwordless, a.id)
    with pytest.raises(Conflict):
        db.run(passkeys.delete_passkey, passwordless, b.id)
    officer = new_user(db, "officer")  # has a password, yet must keep a passkey
    only = enrol(db, officer, auth)
    with pytest.raises(Conflict):
        db.run(passkeys.delete_passkey, officer, only.id)
    spare = enrol(db, officer, auth)
    db.run(passkeys.delete_passkey, officer, only.id)
    assert [p.id for p in db.run(passkeys.list_passkeys, officer)] == [spare.id]


# --- step-up ----------------------------------------------------------------------------------
def test_step_up_and_its_window(db: Database) -> None:
    user = new_user(db)
    auth = SoftAuthenticator()
    pk = enrol(db, user, auth)
    session_id = db.run(lambda s: start_session(s, service.get_user(s, user), "pwd", cfg=auth_cfg())).session_id
    with pytest.raises(StepUpRequired) as exc:
        db.run(passkeys.require_step_up, session_id)
    assert exc.value.status == 403 and exc.value.title == "Step-up required"
    options = db.run(passkeys.step_up_options, session_id, user, cfg=auth_cfg())
    assert [c["id"] for c in options["allowCredentials"]] == [pk.credential_id]
    assert db.run(passkeys.step_up, session_id, user, auth.get(options), ip="10.0.0.3", cfg=auth_cfg()) is None
    db.run(passkeys.require_step_up, session_id)  # passes
    assert events(db, "auth.step_up_ok", user)[-1]["subject"] == f"session:{session_id}"
    db.run(lambda s: s.execute(update(AuthSession).where(AuthSession.id == session_id)
                               .values(step_up_at=datetime.now(UTC) - timedelta(minutes=5, seconds=5))))
    with pytest.raises(StepUpRequired):
        db.run(passkeys.require_step_up, session_id)


def test_step_up_challenge_is_bound_to_user_and_session(db: Database) -> None:
    user, other = new_user(db), new_user(db)
    auth, other_auth = SoftAuthenticator(), SoftAuthenticator()
    enrol(db, user, auth)
    enrol(db, other, other_auth)
    mine = db.run(lambda s: start_session(s, service.get_user(s, user), "pwd", cfg=auth_cfg())).session_id
    second = db.run(lambda s: start_session(s, service.get_user(s, user), "pwd", cfg=auth_cfg())).session_id
    theirs = db.run(lambda s: start_session(s, service.get_user(s, other), "pwd", cfg=auth_cfg())).session_id
    options = db.run(passkeys.step_up_options, mine, user, cfg=auth_cfg())
    # other session
    refused(db.run(passkeys.step_up, second, user, auth.get(options), cfg=auth_cfg()), "binding_mismatch")
    options = db.run(passkeys.step_up_options, mine, user, cfg=auth_cfg())
    refused(db.run(passkeys.step_up, theirs, other, other_auth.get({**options, "allowCredentials": []}),
                   cfg=auth_cfg()),
            "challenge_mismatch")  # my challenge, used by someone else
    options = db.run(passkeys.step_up_options, theirs, other, cfg=auth_cfg())  # their challenge, my passkey
    refused(db.run(passkeys.step_up, theirs, other, auth.get({**options, "allowCredentials": []}), cfg=auth_cfg()),
            "wrong_user")
    assert events(db, "auth.step_up_failed", user)[-1]["reason"] == "binding_mismatch"
    no_passkey = new_user(db)
    bare = db.run(lambda s: start_session(s, service.get_user(s, no_passkey), "pwd", cfg=auth_cfg())).session_id
    with pytest.raises(PasskeyError):
        db.run(passkeys.step_up_options, bare, no_passkey, cfg=auth_cfg())


# --- bound assertions and their evidence ------------------------------------------------------
DECISION = {"dossier": 42, "version": 3, "decision": "approve", "result_sha256": "ab" * 32}


def test_bound_assertion_and_evidence(db: Database) -> None:
    officer = new_user(db, "officer")
    auth = SoftAuthenticator()
    pk = enrol(db, officer, auth)
    options = db.run(passkeys.bound_assertion_options, officer, purpose="decision", binding=DECISION, cfg=auth_cfg())
    assert options["userVerification"] == "required"
    evidence = db.run(passkeys.verify_bound_assertion, officer, auth.get(options), purpose="decision",
                      binding=dict(reversed(DECISION.items())), cfg=auth_cfg())  # same binding, other key order
    assert isinstance(evidence, dict), evidence
    assert evidence["passkey_id"] == pk.id and evidence["credential_id"] == pk.credential_id
    assert evidence["binding"] == DECISION and evidence["user_verified"] is True
    assert json.loads(json.dumps(evidence)) == evidence  # storable as JSON
    assert db.run(passkeys.reverify_evidence, evidence)
    assert db.run(passkeys.reverify_evidence, evidence, DECISION)
    assert not db.run(passkeys.reverify_evidence, evidence, {**DECISION, "decision": "reject"})

    for field in ("signature", "authenticator_data", "client_data_json"):
        raw = bytearray(unb64u(evidence[field]))
        raw[len(raw) // 2] ^= 0x01
        assert not db.run(passkeys.reverify_evidence, {**evidence, field: b64u(bytes(raw))}), field
    assert not db.run(passkeys.reverify_evidence, {**evidence, "binding": {**DECISION, "version": 4}})
    assert not db.run(passkeys.reverify_evidence, {**evidence, "passkey_id": pk.id + 1})
    assert not db.run(passkeys.reverify_evidence, {"nonsense": True})


def test_bound_assertion_with_the_wrong_binding_is_refused(db: Database) -> None:
    officer = new_user(db, "officer")
    auth = SoftAuthenticator()
    enrol(db, officer, auth)
    options = db.run(passkeys.bound_assertion_options, officer, purpose="decision", binding=DECISION, cfg=auth_cfg())
    result = db.run(passkeys.verify_bound_assertion, officer, auth.get(options), purpose="decision",
                    binding={**DECISION, "decision": "reject"}, cfg=auth_cfg())
    refused(result, "binding_mismatch")
    assert events(db, "auth.assertion_failed", officer)[-1]["reason"] == "binding_mismatch"
    options = db.run(passkeys.bound_assertion_options, officer, purpose="decision", binding=DECISION, cfg=auth_cfg())
    refused(db.run(passkeys.verify_bound_assertion, officer, auth.get(options), purpose="payment", binding=DECISION,
                   cfg=auth_cfg()),
            "challenge_mismatch")
