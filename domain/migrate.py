"""Run Alembic migrations programmatically (the CLI, `make run` and tests all use this)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent
# Search structures live outside the models, made per dialect by migrations only (FTS5 table and a
# covering index on SQLite, tsvector column and its GIN index on PostgreSQL).
SEARCH_ONLY = {"procedure_search", "search_vector", "ix_procedures_search_vector", "ix_procedures_listing"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """What Alembic compares with the models: everything but the search structures."""
    return not (name in SEARCH_ONLY or (name or "").startswith("procedure_search_"))


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def heads(database_url: str = "sqlite://") -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
