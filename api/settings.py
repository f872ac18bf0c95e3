"""Settings: one dataclass per concern, read once from environment variables.

Tests set environment variables and call :func:`get_settings.cache_clear` before building the app.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "motcua-dev-only-secret-not-for-production"  # fixed, so every dev process agrees
ENVIRONMENTS = ("dev", "test", "production")


class SettingsError(RuntimeError):
    """A setting is missing or wrong; start-up must stop with this message."""


@dataclass(frozen=True)
class Settings:
    env: str
    port: int
    database_url: str
    secret_key: str
    public_url: str
    province_config: Path
    var_dir: Path
    storage_dir: Path
    client_limit_factor: int = 1  # multiplies per-client-address limits (CGNAT, tests)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.env == "production" or self.public_url.startswith("https://")


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and return the one driver per database we use.

    SQLite is served by the standard ``sqlite3`` driver (reads inline, writes on a thread: faster than
    aiosqlite here, bench/README.md); PostgreSQL by asyncpg.
    """
    if url.startswith(("sqlite+aiosqlite://", "sqlite+pysqlite://")):
        return "sqlite://" + url.split("://", 1)[1]
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://", "postgresql+psycopg2://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith(("sqlite://", "postgresql+asyncpg://")):
        return url
    raise SettingsError(
        "DATABASE_URL must be sqlite:///path/to/file.db or postgresql+asyncpg://user@host/db"
    )


def load_settings() -> Settings:
    env = os.environ.get("MOTCUA_ENV", "dev").strip() or "dev"
    if env not in ENVIRONMENTS:
        raise SettingsError(f"MOTCUA_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    port = _int("PORT", 8000, 1, 65535)
    var_dir = Path(os.environ.get("MOTCUA_VAR_DIR", str(ROOT / "var"))).resolve()
    database_url = normalise_database_url(
        os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{var_dir / 'motcua.db'}"
    )
    secret = os.environ.get("SECRET_KEY", "").strip()
    if env == "production":
        if not secret:
            raise SettingsError(
                "SECRET_KEY is not set. In production (MOTCUA_ENV=production) motcua refuses to start "
                "without it: generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
                "and set it for every process."
            )
        if len(secret) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 characters long in production")
        if not os.environ.get("PUBLIC_URL", "").strip():
            raise SettingsError("PUBLIC_URL is not set: passkeys and links need the public address, e.g. "
                                "https://dichvucong.example.gov.vn")
    public_url = (os.environ.get("PUBLIC_URL", "").strip() or f"http://localhost:{port}").rstrip("/")
    province_config = Path(
        os.environ.get("MOTCUA_PROVINCE_CONFIG", "").strip() or ROOT / "config" / "province.toml"
    )
    storage_dir = Path(os.environ.get("MOTCUA_STORAGE_DIR", str(var_dir / "files"))).resolve()
    return Settings(
        env=env,
        port=port,
        database_url=database_url,
        secret_key=secret or DEV_SECRET,
        public_url=public_url,
        province_config=province_config,
        var_dir=var_dir,
        storage_dir=storage_dir,
        client_limit_factor=_int("MOTCUA_CLIENT_LIMIT_FACTOR", 1, 1, 100_000),
    )


@functools.cache
def get_settings() -> Settings:
    return load_settings()
