"""Verified access tokens are remembered, never trusted beyond what a fresh verification would allow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, tzinfo

import jwt
import pytest

from auth import tokens
from domain.errors import Unauthorized
from tests.helpers import settings_in_force, settings_now, use_settings


@pytest.fixture
def token(env: dict[str, str]) -> Iterator[str]:  # the app's settings
    kid = tokens._current_kid()
    now = int(time.time())
    before = settings_now()
    claims = {"iss": before.public_url, "aud": tokens.AUDIENCE, "sub": "1", "typ": "access", "sid": "s1",
              "exp": now + 60, "iat": now}
    yield jwt.encode(claims, tokens._keys()[kid], algorithm="HS256", headers={"kid": kid})
    use_settings(before)


def test_a_remembered_token_still_expires(token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert tokens.decode_access(token)["sub"] == "1" and token in tokens._VERIFIED
    later = time.time() + 120

    class Later(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Later:
            return cls.fromtimestamp(later, tz)

    monkeypatch.setattr(tokens, "datetime", Later)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.decode_access(token)


def test_a_remembered_token_dies_with_its_key(token: str) -> None:
    tokens.decode_access(token)
    now = settings_now()
    rotated = replace(now, web=replace(now.web, secret_key="another secret key of at least 32 characters"))
    with settings_in_force(rotated), pytest.raises(Unauthorized, match="unknown key"):
        tokens.decode_access(token)


def test_a_remembered_token_belongs_to_its_issuer(token: str) -> None:
    tokens.decode_access(token)
    now = settings_now()
    moved = replace(now, web=replace(now.web, public_url="https://dichvucong.example.vn"))
    with settings_in_force(moved), pytest.raises(Unauthorized, match="issuer"):
        tokens.decode_access(token)
