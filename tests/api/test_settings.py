"""Settings: defaults, validation, and fail-fast in production."""

from __future__ import annotations

import os

import pytest

from api.cli import main
from domain.settings import (
    DEV_SECRET,
    SettingsError,
    load_settings,
    normalise_database_url,
)
from tests.helpers import settings_now, use_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("MOTCUA_ENV", "PORT", "DATABASE_URL", "SECRET_KEY", "PUBLIC_URL", "MOTCUA_VAR_DIR"):
        monkeypatch.delenv(key, raising=False)
    s = load_settings(os.environ)
    assert s.env == "dev" and s.web.port == 8000
    assert s.database.url.startswith("sqlite:///") and s.database.url.endswith("var/motcua.db")
    assert s.public_url == "http://localhost:8000"
    assert s.web.secret_key == DEV_SECRET  # fixed: every dev process agrees, never random


def test_public_url_follows_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.setenv("PORT", "8123")
    assert load_settings(os.environ).public_url == "http://localhost:8123"


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_bad_port(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    monkeypatch.setenv("PORT", port)
    with pytest.raises(SettingsError, match="PORT"):
        load_settings(os.environ)


@pytest.mark.parametrize("megabytes", ["0", "2001", "lots"])
def test_upload_quota_outside_what_the_counter_holds(monkeypatch: pytest.MonkeyPatch, megabytes: str) -> None:
    """The day's bytes are counted in a 32-bit column: a quota above 2000 MB could not be enforced as set."""
    monkeypatch.setenv("MOTCUA_UPLOAD_QUOTA_MB", megabytes)
    with pytest.raises(SettingsError, match="MOTCUA_UPLOAD_QUOTA_MB"):
        load_settings(os.environ)


def test_unknown_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_ENV", "staging")
    with pytest.raises(SettingsError, match="MOTCUA_ENV"):
        load_settings(os.environ)


def test_production_without_secret_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PUBLIC_URL", "https://dvc.example.gov.vn")
    with pytest.raises(SettingsError, match="SECRET_KEY is not set"):
        load_settings(os.environ)


def test_production_with_short_secret_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("PUBLIC_URL", "https://dvc.example.gov.vn")
    with pytest.raises(SettingsError, match="at least 32"):
        load_settings(os.environ)


def test_production_needs_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        load_settings(os.environ)


@pytest.mark.parametrize("url", ["http://dvc.example.gov.vn", "dvc.example.gov.vn", "ftp://dvc.example.gov.vn"])
def test_production_refuses_a_public_url_that_is_not_https(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Security review finding 16."""
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_URL", url)
    with pytest.raises(SettingsError, match="https://"):
        load_settings(os.environ)


def test_production_refuses_a_short_previous_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Security review finding 16: the old key still signs while keys rotate, so it must be as strong."""
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://dvc.example.gov.vn")
    monkeypatch.setenv("MOTCUA_AUDIT_KEY", "a" * 40)
    monkeypatch.setenv("SECRET_KEY_PREVIOUS", "old-and-short")
    with pytest.raises(SettingsError, match="SECRET_KEY_PREVIOUS"):
        load_settings(os.environ)
    monkeypatch.setenv("SECRET_KEY_PREVIOUS", "y" * 40)
    assert load_settings(os.environ).web.previous_secret_key == "y" * 40


def test_production_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://dvc.example.gov.vn/")
    monkeypatch.setenv("MOTCUA_AUDIT_KEY", "a" * 40)
    s = load_settings(os.environ)
    assert s.is_production and s.secure_cookies and s.public_url == "https://dvc.example.gov.vn"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_urls(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_unsupported_database() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        normalise_database_url("mysql://u@h/db")


def test_cli_refuses_production_without_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = settings_now()  # the test's, before the environment turns production
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    try:
        assert main(["migrate"]) == 2  # the CLI reads the environment itself, as a new process would
    finally:
        use_settings(before)
    assert "SECRET_KEY is not set" in capsys.readouterr().err
