"""The plain-SQL write path stays contained (docs/adr/0002-plain-sql-write-path.md).

``domain.db.SessionSql`` runs statements on the session's connection without the ORM: fast, but it
skips the ORM's bookkeeping (no flush first, rows it writes are not in the session). Only the busiest
write path (filing a dossier and what one state change writes: history, audit, outbox, statistics)
uses it. A new module that needs it is a design decision: add it below *and* to the ADR.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("api", "auth", "domain", "notifications", "pwa", "migrations", "bench", "tests")

# module → why it may write plain SQL
ALLOWED = {
    "domain.db": "defines it",
    "domain.audit": "the hash-chained audit row, written in nearly every transaction",
    "domain.dossiers.filing": "submitting a dossier: the idempotency key, the dossier code",
    "domain.dossiers.effects": "the history row of every state change",
    "domain.forms.issue": "the number of an issued form: one statement on its unit's counter, as the dossier code",
    "domain.outbox.enqueue": "the outbox rows, written in the event's transaction",
    "domain.stats.rollups": "the statistics facts and daily roll-ups kept by the workflow hooks",
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _uses_session_sql(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "SessionSql":
            return True
        if isinstance(node, ast.ClassDef) and node.name == "SessionSql":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "SessionSql":
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name == "SessionSql" for a in node.names):
            return True
    return False


def users_of_session_sql() -> set[str]:
    users = set()
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if _uses_session_sql(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                users.add(_module(path))
    return users


def test_only_the_listed_modules_use_the_plain_sql_write_path() -> None:
    unexpected = users_of_session_sql() - ALLOWED.keys()
    assert not unexpected, (
        f"{sorted(unexpected)} use domain.db.SessionSql, the plain-SQL write path. Use the ORM session, or, "
        "if this is the busiest write path, add the module to ALLOWED here and to docs/adr/0002")


def test_the_list_names_only_modules_that_use_it() -> None:
    stale = ALLOWED.keys() - users_of_session_sql()
    assert not stale, f"{sorted(stale)} no longer use SessionSql: remove them from ALLOWED (and docs/adr/0002)"


def test_the_scan_sees_a_use() -> None:
    assert _uses_session_sql(ast.parse("from domain.db import SessionSql"))
    assert _uses_session_sql(ast.parse("import domain.db as db\ndb.SessionSql(s).run('SELECT 1', {})"))
    assert not _uses_session_sql(ast.parse("'SessionSql in a string'"))
