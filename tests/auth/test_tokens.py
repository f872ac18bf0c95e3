"""Verified access tokens are remembered, never trusted beyond what a fresh verification would allow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, tzinfo

import jwt
import pytest

from auth import tokens
from auth.config import AuthSettings
from domain.errors import Unauthorized
from tests.helpers import auth_cfg


@pytest.fixture
def cfg(env: dict[str, str]) -> AuthSettings:  # what the app under test hands auth
    return auth_cfg()


@pytest.fixture
def token(cfg: AuthSettings) -> Iterator[str]:
    kid = tokens._current_kid(cfg)
    now = int(time.time())
    claims = {"iss": cfg.public_url, "aud": tokens.AUDIENCE, "sub": "1", "typ": "access", "sid": "s1",
              "exp": now + 60, "iat": now}
    yield jwt.encode(claims, tokens._keys(cfg)[kid], algorithm="HS256", headers={"kid": kid})


def test_a_remembered_token_still_expires(token: str, cfg: AuthSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert tokens.decode_access(token, cfg=cfg)["sub"] == "1" and token in tokens._VERIFIED
    later = time.time() + 120

    class Later(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Later:
            return cls.fromtimestamp(later, tz)

    monkeypatch.setattr(tokens, "datetime", Later)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.decode_access(token, cfg=cfg)


def test_a_remembered_token_dies_with_its_key(token: str, cfg: AuthSettings) -> None:
    tokens.decode_access(token, cfg=cfg)
    rotated = replace(cfg, secret_key="another secret key of at least 32 characters")
    with pytest.raises(Unauthorized, match="unknown key"):
        tokens.decode_access(token, cfg=rotated)


def test_a_remembered_token_belongs_to_its_issuer(token: str, cfg: AuthSettings) -> None:
    tokens.decode_access(token, cfg=cfg)
    moved = replace(cfg, public_url="https://dichvucong.example.vn")
    with pytest.raises(Unauthorized, match="issuer"):
        tokens.decode_access(token, cfg=moved)
