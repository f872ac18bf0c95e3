"""The schema comes only from migrations: one head, and the migrated database matches the models."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, pool

from domain.db import Database
from domain.migrate import heads, include_object, upgrade
from domain.models import metadata


def test_single_head() -> None:
    assert len(heads()) == 1


def _diff(sync_conn: Connection) -> list[Any]:
    ctx = MigrationContext.configure(sync_conn, opts={"include_object": include_object, "compare_type": True})
    diff: list[Any] = compare_metadata(ctx, metadata)
    return diff


def test_migrations_match_models(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, poolclass=pool.NullPool)
        with engine.connect() as conn:
            diff = _diff(conn)
        engine.dispose()
    else:
        db = Database(database_url)

        async def run() -> list[Any]:
            assert db.async_engine is not None
            async with db.async_engine.connect() as conn:
                result = await conn.run_sync(_diff)
            await db.dispose()
            return result

        diff = asyncio.run(run())
    assert diff == []


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade(database_url)  # already at head: nothing to do, no error
