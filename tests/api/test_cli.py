"""`make run`'s set-up on a fresh database: `motcua setup` in dev, demo history included."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from domain.db import Database
from domain.dossiers.models import Dossier
from tests.conftest import ROOT, drop_database, make_database_url


def test_setup_builds_a_fresh_database_with_demo_history(tmp_path: Path) -> None:
    url, pg_name = make_database_url(tmp_path)
    try:
        env = {**os.environ, "MOTCUA_ENV": "dev", "DATABASE_URL": url, "MOTCUA_VAR_DIR": str(tmp_path / "var"),
               "MOTCUA_DEMO_DOSSIERS": "40", "SECRET_KEY": "test-setup-secret-key-0123456789abcdef"}
        env.pop("PUBLIC_URL", None)
        done = subprocess.run([sys.executable, "-m", "api.cli", "setup"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "demo history: 40 dossiers" in done.stdout

        db = Database(url)
        assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(Dossier))) == 40
        again = subprocess.run([sys.executable, "-m", "api.cli", "setup"], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=600)
        assert again.returncode == 0, again.stdout + again.stderr  # idempotent: no second history
        assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(Dossier))) == 40
        if db.async_engine is not None:
            asyncio.run(db.dispose())
    finally:
        drop_database(pg_name)
