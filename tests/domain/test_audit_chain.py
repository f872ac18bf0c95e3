"""Security review finding 12: the audit chain is keyed, so a rewrite of the database is detected.

Whoever can write the database can edit a row and recompute every later hash; with plain SHA-256 (the
old chain) or with any key but the deployment's, ``motcua verify-audit`` names the edited row.
Rows written before the chain was keyed still verify the old way, as a prefix sealed by a keyed row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from api.cli import main
from domain.audit import (
    CHAIN_KEYED,
    CHAIN_UNKEYED,
    GENESIS,
    AuditEvent,
    AuditKeyMissing,
    _digest,
    keyed_digest,
    record,
    verify_chain,
)
from domain.db import Database
from domain.migrate import upgrade
from domain.settings import DEV_SECRET, SettingsError, derive_audit_key, load_settings
from tests.conftest import drop_database, make_database_url
from tests.helpers import settings_now

Digest = Callable[[str, datetime, str, int | None, str, str, str, str], str]
PRODUCTION = {"MOTCUA_ENV": "production", "SECRET_KEY": "s" * 40, "PUBLIC_URL": "https://dvc.example.gov.vn"}


def _plain(prev: str, at: datetime, event: str, actor: int | None, subject: str, ip: str, amr: str,
           detail: str) -> str:
    return _digest(prev, at, event, actor, subject, ip, amr, detail)


def _with_key(key: bytes) -> Digest:
    def digest(prev: str, at: datetime, event: str, actor: int | None, subject: str, ip: str, amr: str,
               detail: str) -> str:
        return keyed_digest(key, prev, at, event, actor, subject, ip, amr, detail)
    return digest


def _rows(session: Session, first: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.id >= first).order_by(AuditEvent.id)))


def _rewrite(session: Session, victim: int, digest: Digest, chain: int | None = None) -> None:
    """What someone with write access to the database does: edit a row, recompute every later hash."""
    before = session.scalar(select(AuditEvent.hash).where(AuditEvent.id < victim).order_by(AuditEvent.id.desc())
                            .limit(1)) or GENESIS
    for row in _rows(session, victim):
        detail = '{"n": 999}' if row.id == victim else row.detail
        new = digest(before, row.at, row.event, row.actor_id, row.subject, row.ip, row.authenticated, detail)
        session.execute(update(AuditEvent).where(AuditEvent.id == row.id).values(
            detail=detail, prev_hash=before, hash=new, chain=row.chain if chain is None else chain))
        before = new


@pytest.fixture
def written(database_url: str) -> Iterator[tuple[Database, int]]:
    """Five fresh rows; afterwards the chain from the first of them is put back as it was."""
    db = Database(database_url, audit_key=settings_now().audit.key)
    ids = db.run(lambda s: [record(s, "test.keyed", subject=f"x:{i}", n=i).id for i in range(5)])
    saved = db.read_sync(lambda s: [(r.id, r.detail, r.prev_hash, r.hash, r.chain) for r in _rows(s, ids[0])])
    try:
        yield db, ids[2]
    finally:
        def put_back(session: Session) -> None:
            for row_id, detail, prev, hash_, chain in saved:
                session.execute(update(AuditEvent).where(AuditEvent.id == row_id).values(
                    detail=detail, prev_hash=prev, hash=hash_, chain=chain))
        db.run(put_back)
        assert db.read_sync(verify_chain).broken_at is None


def test_every_row_is_keyed_with_the_deployments_key(written: tuple[Database, int]) -> None:
    db, victim = written
    row = db.read_sync(lambda s: s.get(AuditEvent, victim))
    assert row is not None and row.chain == CHAIN_KEYED
    key = settings_now().audit.key
    assert row.hash == keyed_digest(key, row.prev_hash, row.at, row.event, row.actor_id, row.subject, row.ip,
                                    row.authenticated, row.detail)
    assert row.hash != _digest(row.prev_hash, row.at, row.event, row.actor_id, row.subject, row.ip,
                               row.authenticated, row.detail)
    assert key.hex() not in json.dumps(db.read_sync(lambda s: [r.detail for r in _rows(s, 1)]))


@pytest.mark.parametrize("how", ["plain sha-256", "plain sha-256 marked unkeyed", "a wrong key"])
def test_verify_audit_detects_a_rewrite(written: tuple[Database, int], how: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    db, victim = written
    assert main(["verify-audit"]) == 0
    digest = _with_key(b"k" * 32) if how == "a wrong key" else _plain
    db.run(_rewrite, victim, digest, CHAIN_UNKEYED if "unkeyed" in how else None)
    capsys.readouterr()
    assert main(["verify-audit"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at row {victim}:" in out
    report = db.read_sync(verify_chain)
    assert report.broken_at == victim
    assert ("unkeyed row after keyed rows" if "unkeyed" in how else "keyed hash") in report.reason


def test_the_right_key_is_needed_to_verify(written: tuple[Database, int]) -> None:
    db, _ = written
    first = db.read_sync(lambda s: s.scalar(select(func.min(AuditEvent.id))))
    assert db.read_sync(verify_chain, settings_now().audit.key).broken_at is None
    assert db.read_sync(verify_chain, b"another key of 32 bytes or more!!").broken_at == first


def test_no_key_no_audit_row(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import domain.audit  # noqa: PLC0415

    monkeypatch.setattr(domain.audit, "_process_key", None)
    with pytest.raises(AuditKeyMissing):
        Database(database_url).run(lambda s: record(s, "test.unkeyed"))


# --- the rows written before the chain was keyed ---------------------------------------------------------
LEGACY_INSERT = ("INSERT INTO audit_events (at, event, actor_id, subject, ip, authenticated, detail, prev_hash, hash) "
                 "VALUES (:at, :event, NULL, :subject, '', '', :detail, :prev, :hash)")


def _legacy_rows(session: Session, n: int) -> None:
    """Rows as the unkeyed chain wrote them (before migration 0060)."""
    prev = GENESIS
    for i in range(n):
        at = datetime(2026, 11, 1, 8, i, tzinfo=UTC)
        detail = json.dumps({"n": i})
        digest = _digest(prev, at, "test.legacy", None, f"x:{i}", "", "", detail)
        stored = at.strftime("%Y-%m-%d %H:%M:%S.%f") if session.get_bind().dialect.name == "sqlite" else at
        session.execute(text(LEGACY_INSERT), {"at": stored, "event": "test.legacy", "subject": f"x:{i}",
                                              "detail": detail, "prev": prev, "hash": digest})
        prev = digest


@pytest.fixture
def before_the_key(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to 0050 (the unkeyed chain) with three rows, then to the head."""
    url, name = make_database_url(tmp_path)
    try:
        upgrade(url, "0050")
        Database(url).run(_legacy_rows, 3)
        upgrade(url)
        yield url
    finally:
        drop_database(name)


def test_rows_from_before_the_key_verify_once_sealed(before_the_key: str) -> None:
    db = Database(before_the_key, audit_key=settings_now().audit.key)
    assert db.read_sync(lambda s: [r.chain for r in _rows(s, 1)]) == [CHAIN_UNKEYED] * 3
    unsealed = db.read_sync(verify_chain)
    assert unsealed.broken_at == 3 and "not sealed" in unsealed.reason
    db.run(lambda s: record(s, "test.after"))  # the first keyed row seals them
    report = db.read_sync(verify_chain)
    assert (report.broken_at, report.checked, report.unkeyed) == (None, 4, 3)
    # an edit of an old row re-chained with plain SHA-256 breaks the seal
    db.run(_rewrite, 2, _plain)
    assert db.read_sync(verify_chain).broken_at == 4
    # the whole log rewritten into the unkeyed form: nothing keyed seals it
    db.run(_rewrite, 1, _plain, CHAIN_UNKEYED)
    report = db.read_sync(verify_chain)
    assert report.broken_at == 4 and "not sealed" in report.reason


# --- the key itself ---------------------------------------------------------------------------------
def test_dev_key_is_derived_from_the_secret_key() -> None:
    dev = load_settings({})
    assert dev.audit.key == derive_audit_key(DEV_SECRET) == hmac.new(DEV_SECRET.encode(), b"motcua audit chain v1",
                                                                     hashlib.sha256).digest()
    assert load_settings({"MOTCUA_AUDIT_KEY": "given"}).audit.key == b"given"
    assert dev.audit.key.hex() not in repr(dev) and str(dev.audit.key) not in repr(dev)


@pytest.mark.parametrize(("value", "message"), [
    (None, "MOTCUA_AUDIT_KEY is not set"),
    ("short", "at least 32 bytes"),
    ("s" * 40, "must not be SECRET_KEY"),
])
def test_production_needs_its_own_audit_key(value: str | None, message: str) -> None:
    env: dict[str, Any] = dict(PRODUCTION)
    if value is not None:
        env["MOTCUA_AUDIT_KEY"] = value
    with pytest.raises(SettingsError, match=message):
        load_settings(env)
    assert load_settings({**PRODUCTION, "MOTCUA_AUDIT_KEY": "a" * 32}).audit.key == b"a" * 32
