"""Test fixtures: a real database built by the real migrations, once per test session.

``MOTCUA_TEST_DB=sqlite`` (default) uses a temporary SQLite file; ``MOTCUA_TEST_DB=postgresql``
creates a throw-away database on the PostgreSQL server named by ``MOTCUA_TEST_PG_URL``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import TestClient

from api.app import create_app
from domain.catalog.offer import apply_config, read_config
from domain.catalog.procedures import import_normalised, read_bundle
from domain.db import Database
from domain.migrate import upgrade
from tests.helpers import settings_from_env, settings_now

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("MOTCUA_TEST_DB", "sqlite")
os.environ.setdefault("MOTCUA_ENV", "test")  # cheap argon2 parameters, codes in the log
PG_URL = os.environ.get("MOTCUA_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def pytest_report_header(config: pytest.Config) -> str:
    return f"motcua database backend: {BACKEND}"


async def _pg_admin(sql: str) -> None:
    dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def make_database_url(tmp: Path) -> tuple[str, str | None]:
    if BACKEND == "sqlite":
        return f"sqlite:///{tmp / 'test.db'}", None
    if BACKEND != "postgresql":
        raise RuntimeError("MOTCUA_TEST_DB must be sqlite or postgresql")
    name = f"motcua_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    return PG_URL.rsplit("/", 1)[0] + "/" + name, name


def drop_database(name: str | None) -> None:
    if name:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment of the app under test: test mode, its own var dir and database."""
    tmp = tmp_path_factory.mktemp("motcua")
    url, pg_name = make_database_url(tmp)
    values = {
        "MOTCUA_ENV": "test",
        "DATABASE_URL": url,
        "MOTCUA_VAR_DIR": str(tmp / "var"),
        "PUBLIC_URL": "http://localhost:8000",
        "MOTCUA_PROVINCE_CONFIG": str(ROOT / "config" / "province.toml"),
        "MOTCUA_CLIENT_LIMIT_FACTOR": "1000",  # every test client shares one address; tested on its own
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    settings_from_env()
    yield values
    for key, old in saved.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old
    drop_database(pg_name)


@pytest.fixture(scope="session")
def database_url(env: dict[str, str]) -> str:
    upgrade(env["DATABASE_URL"])
    return env["DATABASE_URL"]


@pytest.fixture(scope="session")
def catalogue_db(database_url: str) -> str:
    """The migrated database with the bundled catalogue and the demo province's offer loaded."""
    db = Database(database_url)
    db.run(lambda s: import_normalised(s, read_bundle()))
    db = Database(database_url)
    db.run(apply_config, read_config(settings_now().web.province_config))
    return database_url


@pytest.fixture(scope="session")
def client(catalogue_db: str):  # type: ignore[no-untyped-def]
    """One HTTP test client (one event loop) for the session, talking to the real app."""
    with TestClient(create_app(), base_url="http://localhost:8000") as c:
        yield c


@pytest.fixture
def page_client(catalogue_db: str):  # type: ignore[no-untyped-def]
    """A client with its own cookie jar, like one browser (pages use cookies and CSRF tokens)."""
    with TestClient(create_app(), base_url="http://localhost:8000") as c:
        yield c


@pytest.fixture(autouse=True)
def _fresh_cookies(request: pytest.FixtureRequest) -> None:
    """The session-wide client is shared: start every test without another test's cookies."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").cookies.clear()
