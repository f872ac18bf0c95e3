"""The audit chain is tamper-evident; the authenticated share can be counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from api.cli import main
from domain.audit import AuditEvent, authentication_share, record, verify_chain
from domain.db import Database


def test_chain_detects_tampering(database_url: str) -> None:
    db = Database(database_url)
    db.run(lambda s: [record(s, "test.event", actor_id=None, subject=f"x:{i}", n=i) for i in range(5)])
    assert db.run(verify_chain).broken_at is None
    victim = db.read_sync(lambda s: s.scalars(select(AuditEvent.id).where(AuditEvent.event == "test.event")
                                              .order_by(AuditEvent.id.desc()).limit(3)).all()[-1])
    db.run(lambda s: s.execute(update(AuditEvent).where(AuditEvent.id == victim).values(detail='{"n": 99}')))
    report = db.run(verify_chain)
    assert report.broken_at == victim and "content" in report.reason
    db.run(lambda s: s.execute(update(AuditEvent).where(AuditEvent.id == victim).values(detail='{"n": 2}')))
    assert db.run(verify_chain).broken_at is None


def test_cli_verify_audit(database_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["verify-audit"]) == 0
    assert "intact" in capsys.readouterr().out


def test_authentication_share(database_url: str) -> None:
    db = Database(database_url)
    start = datetime.now(UTC) - timedelta(seconds=1)
    db.run(lambda s: [record(s, "dossier.test", authenticated=amr) for amr in ("pwd", "webauthn", "")])
    share = db.read_sync(authentication_share, start, datetime.now(UTC) + timedelta(seconds=1), "dossier.test")
    assert (share.transactions, share.authenticated) == (3, 2)
