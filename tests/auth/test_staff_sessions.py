"""Officers' and admins' sessions end after 30 minutes without a request and 12 hours after sign-in
(configurable); citizens keep 14 days idle and 30 days at most (issue 13, finding 14). The clock is moved by
ageing the session's rows, as age_step_up does."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auth import accounts
from auth.tokens import rotate
from domain.accounts.models import AuthSession
from domain.db import Database
from domain.errors import Unauthorized
from domain.settings import SessionSettings, load_settings
from tests import factories
from tests.helpers import PASSWORD, age_session, audit, auth_cfg, bearer, new_phone, page_passkey_login, session_id_of

UNIT = "000.00.13.H56"
REFRESH = "/api/v1/auth/refresh"


@pytest.fixture
def db(catalogue_db: str) -> Database:
    return Database(catalogue_db)


def session_row(db: Database, sid: str) -> AuthSession:
    row: AuthSession | None = db.run(lambda s: s.get(AuthSession, sid))
    assert row is not None
    return row


def test_an_idle_officer_session_is_refused_and_cannot_be_refreshed(client: Any, db: Database) -> None:
    officer = factories.officer(db, UNIT)
    sid = session_id_of(officer.tokens)
    assert client.get("/api/v1/me", headers=officer.headers).status_code == 200
    age_session(db, sid, idle=timedelta(minutes=31))
    me = client.get("/api/v1/me", headers=officer.headers)
    assert me.status_code == 401 and "hết hạn" in me.json()["detail"]
    r = client.post(REFRESH, json={"refresh_token": officer.tokens["refresh_token"]})
    assert r.status_code == 401 and "cán bộ" in r.json()["detail"]
    row = session_row(db, sid)
    assert row.revoked_at is not None and row.revoke_reason == "staff_expired"
    assert audit(db, "auth.session_expired", officer.id)


def test_an_admin_session_ends_twelve_hours_after_sign_in_even_when_active(client: Any, db: Database) -> None:
    tokens = db.run(lambda s: factories.passkey_session(s, accounts.create_user(s, "admin", new_phone(), PASSWORD,
                                                                                  full_name="Hồ Quản Trị",
                                                                                  cfg=auth_cfg())))
    sid = session_id_of(tokens)
    assert client.get("/api/v1/me", headers=bearer(tokens)).status_code == 200
    age_session(db, sid, idle=timedelta(minutes=1), age=timedelta(hours=12, minutes=1))
    assert client.get("/api/v1/me", headers=bearer(tokens)).status_code == 401
    assert client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_requests_keep_an_officer_session_alive(client: Any, db: Database) -> None:
    officer = factories.officer(db, UNIT)
    sid = session_id_of(officer.tokens)
    age_session(db, sid, idle=timedelta(minutes=25), age=timedelta(hours=2))
    assert client.get("/api/v1/me", headers=officer.headers).status_code == 200  # moves last_used_at on
    last_used = session_row(db, sid).last_used_at
    assert last_used.replace(tzinfo=UTC) > datetime.now(UTC) - timedelta(minutes=10)
    age_session(db, sid, idle=timedelta(minutes=29))
    r = client.post(REFRESH, json={"refresh_token": officer.tokens["refresh_token"]})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/me", headers=bearer(r.json())).status_code == 200


def test_citizens_keep_their_lifetimes(client: Any, db: Database) -> None:
    citizen = factories.citizen(db)
    sid = session_id_of(citizen.tokens)
    age_session(db, sid, idle=timedelta(days=2), age=timedelta(days=3))
    assert client.get("/api/v1/me", headers=citizen.headers).status_code == 200
    r = client.post(REFRESH, json={"refresh_token": citizen.tokens["refresh_token"]})
    assert r.status_code == 200, r.text
    age_session(db, sid, idle=timedelta(days=15))
    assert client.post(REFRESH, json={"refresh_token": r.json()["refresh_token"]}).status_code == 401


def test_the_lifetimes_are_configurable(db: Database) -> None:
    settings = load_settings({"MOTCUA_STAFF_IDLE_MINUTES": "5", "MOTCUA_STAFF_MAX_HOURS": "8"})
    assert settings.sessions == SessionSettings(staff_idle=timedelta(minutes=5), staff_max=timedelta(hours=8))
    assert load_settings({}).sessions == SessionSettings(timedelta(minutes=30), timedelta(hours=12))
    officer = factories.officer(db, UNIT)
    age_session(db, session_id_of(officer.tokens), idle=timedelta(minutes=6))
    refused = db.run(rotate, officer.tokens["refresh_token"], cfg=auth_cfg(), lifetimes=settings.sessions)
    assert isinstance(refused, Unauthorized)
    other = factories.officer(db, UNIT)
    age_session(db, session_id_of(other.tokens), idle=timedelta(minutes=6))
    longer = dataclasses.replace(settings.sessions, staff_idle=timedelta(minutes=10))
    assert not isinstance(db.run(rotate, other.tokens["refresh_token"], cfg=auth_cfg(), lifetimes=longer), Unauthorized)


def test_an_idle_officer_page_session_signs_in_again_and_comes_back(page_client: Any, client: Any,
                                                                   db: Database) -> None:
    officer = factories.officer(db, UNIT, client=client)
    assert officer.auth is not None
    page_passkey_login(page_client, officer.auth, next_="/can-bo")
    assert page_client.get("/can-bo", follow_redirects=False).status_code == 200
    sid = next(s.id for s in db.run(lambda s: list(s.query(AuthSession).filter_by(user_id=officer.id)))
               if s.amr == "webauthn" and s.revoked_at is None and s.id != session_id_of(officer.tokens))
    age_session(db, sid, idle=timedelta(minutes=31))
    r = page_client.get("/can-bo?tab=moi", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dang-nhap?next=/can-bo%3Ftab%3Dmoi"
    assert session_row(db, sid).revoked_at is not None
    page_passkey_login(page_client, officer.auth, next_="/can-bo?tab=moi")
    assert page_client.get("/can-bo", follow_redirects=False).status_code == 200
